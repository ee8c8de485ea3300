"""Matrices declared by their shape, without numbers (``X: {shape: [N, D_in]}``): reading a
declaration, and what a shapes-only worksheet may not have.

A dimension is a name (letters, digits and ``_``, not starting with a digit) or a positive
integer; equal names are the same dimension. ``one_hot: true`` says every row sums to 1.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import sympy as sp

from ..errors import WorksheetError
from ..language import expr as E
from .yamlread import Map, Scalar, Seq, YNode

DIM_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DECLARATION_KEYS = ("shape", "one_hot")
# The functions of the gradient formulas in NumPy notation (sheets/numpyformula.py): a name bound
# beside them must not hide one.
FORMULA_FUNCTIONS = ("sum", "exp", "log", "step")
Dim = str | int


class Reader(Protocol):
    def fail(self, message: str, line: int | None) -> WorksheetError: ...


class Declared(Protocol):
    """A given name as read.py reads it."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> object: ...
    @property
    def line(self) -> int: ...
    @property
    def shape(self) -> tuple[Dim, Dim] | None: ...


def read_declaration(node: Map, name: str, reader: Reader) -> tuple[tuple[Dim, Dim], bool]:
    """``name: {shape: [rows, columns], one_hot: true}``: the two dimensions and the one-hot flag."""
    where = f"given {name}"
    for key, line, _ in node.entries:
        if key not in DECLARATION_KEYS:
            raise reader.fail(f"{where}: unknown key '{key}' (a matrix declared by its shape has shape: [rows, "
                              "columns] and, for a target whose rows each sum to 1, one_hot: true)", line)
    shape = node.get("shape")
    if not isinstance(shape, Seq) or len(shape.items) != 2:
        raise reader.fail(f"{where}: expected shape: [rows, columns], two dimensions, each a name (N, D_in) or a "
                          "positive whole number", getattr(shape, "line", node.line))
    dims = tuple(_dim(item, where, reader) for item in shape.items)
    flag = node.get("one_hot")
    one_hot = False
    if flag is not None:
        if not isinstance(flag, Scalar) or flag.kind != "bool":
            raise reader.fail(f"{where}: one_hot: expected true or false", flag.line)
        one_hot = flag.text.strip().lower() in ("true", "yes", "on")
    return (dims[0], dims[1]), one_hot


def _dim(item: YNode, where: str, reader: Reader) -> Dim:
    if isinstance(item, Scalar) and item.kind == "int":
        text = item.text.strip()
        if text.isdigit() and int(text) > 0:
            return int(text)
    elif isinstance(item, Scalar) and item.kind == "str":
        text = item.text.strip()
        if DIM_RE.match(text) and not E.keyword_problem(text):
            if text in FORMULA_FUNCTIONS:
                raise reader.fail(f"{where}: the dimension '{text}' is a function of the gradient formulas "
                                  f"({', '.join(FORMULA_FUNCTIONS)}): choose another name", item.line)
            return text
    text = item.text if isinstance(item, Scalar) else "a list" if isinstance(item, Seq) else "a mapping"
    raise reader.fail(f"{where}: '{text}' is not a dimension: write a name (letters, digits and _, not starting "
                      "with a digit) or a positive whole number", item.line)


def check_shapes_only(given: Sequence[Declared], names: Sequence[tuple[str, int]], root: Map, reader: Reader) -> None:
    """A worksheet with a matrix declared by its shape has no numbers: no matrix or scalar given with
    numbers (scalars stay symbolic, ``lam: ~``), no ``edges:``, ``random:``, ``require:``,
    ``update:``, no loss left unspecified; and no dimension is also the name of a value."""
    first = next(g for g in given if g.shape is not None)
    for g in given:
        if g.value is not None:
            kind = "matrix" if isinstance(g.value, sp.MatrixBase) else "scalar"
            fix = f"write {g.name}: ~" if kind == "scalar" else f"declare it by its shape, {g.name}: {{shape: [rows, columns]}}"
            raise reader.fail(f"given {g.name}: a {kind} with numbers in a worksheet whose matrices are declared by "
                              f"their shapes (given {first.name} is): {fix}, or give every matrix its numbers", g.line)
    for key, line, value in root.entries:
        if key in ("edges", "random", "require", "update"):
            raise reader.fail(f"{key}: not available in a shapes-only worksheet (given {first.name} is declared by "
                              "its shape)", line)
        if key == "loss" and isinstance(value, Map):
            raise reader.fail("loss: a shapes-only worksheet needs a loss defined under nodes:", value.line)
    defined = dict(names)
    for g in given:
        for d in g.shape or ():
            if isinstance(d, str) and d in defined:
                raise reader.fail(f"given {g.name}: the dimension '{d}' is also the name of a value (line "
                                  f"{defined[d]}): choose another", g.line)
    for name, line in names:
        if name in FORMULA_FUNCTIONS:
            raise reader.fail(f"'{name}' is a function of the gradient formulas ({', '.join(FORMULA_FUNCTIONS)}): "
                              "in a shapes-only worksheet, choose another name", line)
