"""A matrix worksheet written out in scalars: every entry a name of its own.

``Z: X @ W + b`` becomes ``Z_1_1: X_1_1*W_1_1 + X_1_2*W_2_1 + b_1_1`` and so on, a worksheet the
scalar engine solves. It shows one entry's chain rule (``solve --expand W[1,2]``), and the tests
check every matrix formula against it. How an entry's name is written (W_{12}) is the sheet's
business: the scalar worksheet keeps only the ``symbols`` of names it did not split.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import reduce

import sympy as sp

from ..language import expr as E
from ..language.ops import AXIS_OPS
from ..errors import SymbackpropError, WorksheetError
from ..engine.derive import Derivation, derive
from .derive import MatrixDerivation
from ..worksheet.read import Given, NodeDef, Worksheet

ENTRY_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*\[\s*(\d+)\s*(?:,\s*(\d+)\s*)?\]\s*$")


def entry_name(name: str, i: int, j: int) -> str:
    """The scalar name of entry (i, j), counted from 1."""
    return f"{name}_{i}_{j}"


def parse_entry(text: str, d: MatrixDerivation) -> tuple[str, int, int]:
    """``W[1,2]`` (row 1, column 2, from 1) or ``b[3]`` (entry 3 of a row vector) of a name of ``d``."""
    m = ENTRY_RE.match(text)
    if not m:
        raise SymbackpropError(f"'{text}' is not an entry: write NAME[i,j], such as W[1,2] (counted from 1)",
                               "--expand")
    name = m.group(1)
    if name not in d.values:
        raise SymbackpropError(f"'{name}' is not a name of the worksheet", "--expand")
    rows, cols = d.values[name].shape
    i, j = (1, int(m.group(2))) if m.group(3) is None and rows == 1 else (int(m.group(2)), int(m.group(3) or 1))
    if not (1 <= i <= rows and 1 <= j <= cols):
        raise SymbackpropError(f"{name} is {rows}×{cols}: there is no entry [{i},{j}]", "--expand")
    return name, i, j


class _Expander:
    """Writes each entry of a definition as a scalar expression tree."""

    def __init__(self, d: MatrixDerivation) -> None:
        self.d = d
        self.values = d.evaluator

    def shape(self, t: E.Expr) -> tuple[int, int]:
        return self.values(t).shape

    def at(self, t: E.Expr, i: int, j: int) -> E.Expr:
        """Entry (i, j) of ``t`` (from 0), broadcasting a dimension of size 1."""
        rows, cols = self.shape(t)
        i, j = (i if rows > 1 else 0), (j if cols > 1 else 0)
        if isinstance(t, E.Name):
            return t if (rows, cols) == (1, 1) else E.Name(entry_name(t.id, i + 1, j + 1))
        if isinstance(t, (E.Num, E.Value)):
            return t
        a = t.args
        if t.op in ("+", "-", "*", "/"):
            return E.Apply(t.op, (self.at(a[0], i, j), self.at(a[1], i, j)))
        if t.op == "**":
            return E.Apply("**", (self.at(a[0], i, j), a[1]))
        if t.op in ("neg", "relu", "sigmoid", "tanh", "exp", "log", "sqrt"):
            return E.Apply(t.op, (self.at(a[0], i, j),))
        if t.op in AXIS_OPS:  # entry j of the row of column sums (axis 0), entry i of the column (axis 1)
            function, axis = AXIS_OPS[t.op]
            rows, cols = self.shape(a[0])
            line = [self.at(a[0], k, j) for k in range(rows)] if axis == 0 else [self.at(a[0], i, k) for k in range(cols)]
            return _sum(line) if function == "sum" else _over(_sum(line), len(line))
        if t.op == "transpose":
            return self.at(a[0], j, i)
        if t.op == "@":
            return _sum([E.Apply("*", (self.at(a[0], i, k), self.at(a[1], k, j))) for k in range(self.shape(a[0])[1])])
        if t.op == "softmax":
            row = [E.Apply("exp", (self.at(a[0], i, k),)) for k in range(self.shape(a[0])[1])]
            return E.Apply("/", (row[j], _sum(row)))
        return self.reduction(t)

    def entries(self, t: E.Expr) -> list[tuple[int, int]]:
        rows, cols = self.shape(t)
        return [(i, j) for i in range(rows) for j in range(cols)]

    def reduction(self, t: E.Apply) -> E.Expr:
        """sum, mean and the losses: a number from whole matrices."""
        a = t.args
        every = self.entries(a[0])
        if t.op == "sum":
            return _sum([self.at(a[0], i, j) for i, j in every])
        if t.op == "mean":
            return E.Apply("/", (_sum([self.at(a[0], i, j) for i, j in every]), E.Num(sp.Integer(len(every)))))
        n = sp.Integer(self.shape(a[0])[0])
        if t.op == "cross_entropy":  # −y ln p / N, a term an entry
            return _signed([(-1, _over(E.Apply("*", (self.at(a[1], i, j), E.Apply("log", (self.at(a[0], i, j),)))), n))
                            for i, j in every])
        if t.op in ("mse", "sse"):  # (t − z)² / (2N), or (t − z)²
            return _signed([(1, _over(E.Apply("**", (E.Apply("-", (self.at(a[1], i, j), self.at(a[0], i, j))), _TWO)),
                                      2 * n if t.op == "mse" else 1)) for i, j in every])
        if t.op == "l2":  # λ/2 w², a term an entry
            half = E.Apply("/", (self.at(a[1], 0, 0), _TWO))
            return _signed([(1, E.Apply("*", (half, E.Apply("**", (self.at(a[0], i, j), _TWO))))) for i, j in every])
        raise AssertionError(t.op)


_TWO = E.Num(sp.Integer(2))


def _sum(terms: list[E.Expr]) -> E.Expr:
    return reduce(lambda x, y: E.Apply("+", (x, y)), terms)


def _over(t: E.Expr, n: int | sp.Integer) -> E.Expr:
    return t if n == 1 else E.Apply("/", (t, E.Num(sp.Integer(n))))


def _signed(terms: list[tuple[int, E.Expr]]) -> E.Expr:
    """A sum written term by term with its signs, so that a hand differentiates one term of it."""
    sign, first = terms[0]
    out = first if sign > 0 else E.Apply("neg", (first,))
    for sign, t in terms[1:]:
        out = E.Apply("+" if sign > 0 else "-", (out, t))
    return out


def scalar_worksheet(d: MatrixDerivation) -> Worksheet:
    """The worksheet of ``d`` with every matrix written out entry by entry."""
    ws = d.worksheet
    ex = _Expander(d)
    given, nodes, wrt = [], [], []
    taken = set(d.values)

    def split(name: str) -> list[tuple[str, int, int]]:
        m = d.values[name]
        if m.shape == (1, 1):
            return [(name, 0, 0)]
        out = [(entry_name(name, i + 1, j + 1), i, j) for i in range(m.rows) for j in range(m.cols)]
        for scalar, _, _ in out:
            if scalar in taken:
                raise WorksheetError(f"cannot write {name} in scalars: the name {scalar} is taken", ws.path)
        return out

    for g in ws.given:
        for scalar, i, j in split(g.name):
            given.append(Given(scalar, d.values[g.name][i, j], g.line))
    for n in ws.nodes:
        for scalar, i, j in split(n.name):
            tree = ex.at(n.expr, i, j)
            nodes.append(NodeDef(scalar, tree, n.text, n.line))
    for name in d.wrt:
        wrt.extend(s for s, _, _ in split(name))
    kept = [(n, t) for n, t in ws.symbols if d.values[n].shape == (1, 1)]
    return replace(ws, given=tuple(given), nodes=tuple(nodes), wrt=tuple(wrt), symbols=tuple(kept), update=None)


@dataclass(frozen=True)
class Expansion:
    """Some entries of a matrix derivation solved in scalars (``solve --expand W[1,2]``)."""

    derivation: Derivation  # the worksheet written in scalars, asked for those entries
    entries: tuple[tuple[str, int, int], ...]  # each entry's scalar name, row and column (1-based)
    matrices: MatrixDerivation  # the derivation whose entries these are (their names, their shapes)


def expand_entries(d: MatrixDerivation, entries: tuple[str, ...]) -> Expansion:
    """Solve the worksheet written in scalars for the entries named as ``W[1,2]``."""
    picked = [parse_entry(text, d) for text in entries]
    names = tuple(name if d.values[name].shape == (1, 1) else entry_name(name, i, j) for name, i, j in picked)
    return Expansion(derive(replace(scalar_worksheet(d), wrt=names)),
                     tuple((n, i, j) for n, (_, i, j) in zip(names, picked)), d)

