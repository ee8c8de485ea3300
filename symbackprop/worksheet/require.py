"""The ``require:`` list of a worksheet: conditions every variant's numbers must meet.

A condition is a comparison of expressions of the language (``z1 > 0``, ``0 < p1 < 1``, with
``grad(name)`` for ∂L/∂name and ``A[i,j]``, ``grad(W)[i,j]`` for an entry of a matrix, from 1),
``integer(e, …)``, these joined by ``and``, ``or``, ``not``, or one of the forms in ``FORMS``.
It is read by walking Python's ``ast`` with a whitelist (the arithmetic parts by expr.py's own
walk): nothing is evaluated as Python. Whether a derivation meets a condition is decided in
classroom/conditions.py.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Union

import sympy as sp

from ..language import expr as E
from ..errors import ExpressionError
from .names import undefined
from .random_spec import Reader
from .yamlread import Scalar, Seq, YNode

GRAD = "grad"
FORMS = {
    "all answers integers": "every asked gradient is an integer (every entry of a matrix)",
    "all answers nonzero": "no asked gradient is 0 (no entry of a matrix)",
    "all values integers": "every forward value is an integer (every entry of a matrix)",
    "no kinks": "no ReLU, |x|, max or min sits exactly on its kink (no entry of relu's argument is 0)",
}
_ENTRY = re.compile(r"^(.*)\[(\d+),(\d+)\]$")  # the name an entry is bound to: A[1,2], grad(W)[1,2]
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


@dataclass(frozen=True)
class Compare:
    """``a op b op c …`` (each adjacent pair must hold)."""

    terms: tuple[E.Expr, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Integer:
    """``integer(e, …)``: every argument is an integer."""

    args: tuple[E.Expr, ...]


@dataclass(frozen=True)
class Logic:
    """``and`` / ``or`` of conditions, or ``not`` of one."""

    op: str
    items: tuple[Test, ...]


@dataclass(frozen=True)
class Form:
    """One of the whole-worksheet forms (``FORMS``)."""

    text: str


Test = Union[Compare, Integer, Logic, Form]


@dataclass(frozen=True)
class Constraint:
    """One entry of ``require:``, as written, with its line."""

    text: str
    test: Test
    line: int


def grad_name(name: str) -> str:
    """The name ``grad(name)`` is bound to when a condition is evaluated (never a worksheet name)."""
    return f"{GRAD}({name})"


def entry_name(name: str, row: int, column: int) -> str:
    """The name an entry (``A[1,2]``, ``grad(W)[1,2]``; from 1) is bound to (never a worksheet name)."""
    return f"{name}[{row},{column}]"


def split_entry(name: str) -> tuple[str, tuple[int, int] | None]:
    """A bound name and the entry it picks (from 1): ``grad(W)[1,2]`` is ``grad(W)``, (1, 2)."""
    found = _ENTRY.match(name)
    return (found.group(1), (int(found.group(2)), int(found.group(3)))) if found else (name, None)


def entries(name: str, value: sp.Expr | sp.MatrixBase) -> list[tuple[str, sp.Expr]]:
    """A value as named numbers: a number as itself, a matrix entry by entry, row by row
    (``A[1,1]``, ``A[1,2]``, …), the names conditions, the answer key and ``stress`` use."""
    if not isinstance(value, sp.MatrixBase):
        return [(name, value)]
    return [(entry_name(name, i + 1, j + 1), value[i, j]) for i in range(value.rows) for j in range(value.cols)]


def read_require(node: YNode | None, reader: Reader, known: set[str]) -> tuple[Constraint, ...]:
    """Read ``require:`` (a list of conditions, or one); ``known`` are the names of the graph."""
    if node is None or isinstance(node, Scalar) and node.kind == "null":
        return ()
    out = []
    for item in node.items if isinstance(node, Seq) else (node,):
        if not isinstance(item, Scalar) or item.kind != "str":
            raise reader.fail("require: expected a condition such as 'z1 > 0' (text)", item.line)
        try:
            test = parse(item.text)
        except ExpressionError as exc:
            raise reader.fail(f"require '{item.text.strip()}': {exc.message}", item.line) from None
        for name in _names(test):
            bare = split_entry(name)[0].removeprefix(GRAD + "(").removesuffix(")")
            if bare not in known:
                raise reader.fail(f"require '{item.text.strip()}': {undefined(bare, known)}", item.line)
        out.append(Constraint(item.text.strip(), test, item.line))
    return tuple(out)


def parse(text: str) -> Test:
    """One condition; refused syntax is an ExpressionError saying what."""
    form = " ".join(text.lower().split())
    if form in FORMS:
        return Form(form)
    try:
        node = E.syntax_tree(text)
    except ExpressionError as exc:
        if form.startswith(("all ", "no ")):
            raise ExpressionError("unknown form; the forms are: " + ", ".join(f"'{f}'" for f in FORMS)) from None
        raise exc
    return _test(node, text.strip())


def _test(node: ast.AST, source: str) -> Test:
    if isinstance(node, ast.Compare):
        ops = tuple(_COMPARE.get(type(op), "") for op in node.ops)
        if "" in ops:
            raise ExpressionError("only the comparisons < <= > >= == != are allowed")
        return Compare(tuple(_value(n, source) for n in [node.left, *node.comparators]), ops)
    if isinstance(node, ast.BoolOp):
        return Logic("and" if isinstance(node.op, ast.And) else "or", tuple(_test(v, source) for v in node.values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Logic("not", (_test(node.operand, source),))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "integer":
        if not node.args or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError("integer takes one or more expressions")
        return Integer(tuple(_value(a, source) for a in node.args))
    raise ExpressionError("a condition is a comparison (z1 > 0), integer(…), these joined by and, or, not, "
                          "or one of the forms " + ", ".join(f"'{f}'" for f in FORMS))


class _Grads(ast.NodeTransformer):
    """``grad(name)`` becomes the name ``grad(name)``, and an entry ``A[1,2]`` the name ``A[1,2]``,
    so expr.py's walk reads them as names."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id == GRAD:
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
                raise ExpressionError("grad takes one name: grad(w1)")
            return ast.Name(grad_name(node.args[0].id), ast.Load())
        return self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        value = self.visit(node.value)
        index = node.slice
        if not isinstance(value, ast.Name):
            raise ExpressionError("only a name or grad(name) has entries: A[1,2], grad(W1)[1,2]")
        if not (isinstance(index, ast.Tuple) and len(index.elts) == 2
                and all(isinstance(e, ast.Constant) and type(e.value) is int and e.value >= 1 for e in index.elts)):
            raise ExpressionError(f"an entry of {value.id} is {value.id}[row,column], two whole numbers counted "
                                  "from 1 (A[1,2])")
        return ast.Name(entry_name(value.id, *(e.value for e in index.elts)), ast.Load())


def _value(node: ast.AST, source: str) -> E.Expr:
    return E.convert(_Grads().visit(node), source)


def _names(test: Test) -> list[str]:
    if isinstance(test, Compare):
        return [n for t in test.terms for n in E.names(t)]
    if isinstance(test, Integer):
        return [n for t in test.args for n in E.names(t)]
    if isinstance(test, Logic):
        return [n for t in test.items for n in _names(t)]
    return []
