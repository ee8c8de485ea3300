"""Symbolic shapes: a shapes-only worksheet's dimensions (``N``, ``D_in``, or a number) as SymPy
expressions, and each operation's forward rule on shapes.

A dimension name is a positive integer symbol, so that the backward rules of matops.py, which
write 1/N or the matrix of ones of a shape, work unchanged; a number stays an Integer. Two
dimensions agree when they are the same name or the same number.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from ..errors import ExpressionError
from ..language.ops import AXIS_OPS
from .mexpr import ShapeError, broadcast

Shape = tuple[sp.Expr, sp.Expr]
SCALAR: Shape = (sp.S.One, sp.S.One)


def dim(d: str | int) -> sp.Expr:
    """A declared dimension: a name as a positive integer symbol, a number as an Integer."""
    return sp.Integer(d) if isinstance(d, int) else sp.Symbol(d, integer=True, positive=True)


def as_expr(x: int | sp.Expr) -> sp.Expr:
    """A shape's dimension or an exact number as SymPy: a Python int becomes an Integer (no text
    is ever parsed)."""
    return sp.Integer(x) if isinstance(x, int) else x


def dims_of(shape: Shape) -> list[str | int]:
    """A shape as the JSON lists it: names as text, numbers as integers."""
    return [int(d) if d.is_Integer else str(d) for d in shape]


@dataclass(frozen=True)
class Shaped:
    """A matrix known by its shape only; ``one_hot``: declared with every row summing to 1."""

    shape: Shape
    one_hot: bool = False

    @property
    def rows(self) -> sp.Expr:
        return self.shape[0]

    @property
    def cols(self) -> sp.Expr:
        return self.shape[1]


def _same(a: Shape, b: Shape, what: str) -> Shape:
    if a != b:
        raise ShapeError(what, (a, b), "must be the same shape")
    return a


def _number(a: Shape, what: str) -> None:
    if a != SCALAR:
        raise ShapeError(what, (a,), "is a matrix: it must be a number")


def _matmul(a: Shape, b: Shape) -> Shape:
    if a[1] != b[0]:
        raise ShapeError("@", (a, b), f"do not multiply: {a[1]} ≠ {b[0]}")
    return a[0], b[1]


def _binary(what: str) -> Callable[[Shape, Shape], Shape]:
    return lambda a, b: broadcast(a, b, what)


def _to_number(check: Callable[[Shape, Shape], object]) -> Callable[[Shape, Shape], Shape]:
    def rule(a: Shape, b: Shape) -> Shape:
        check(a, b)
        return SCALAR
    return rule


def _power(a: Shape, k: Shape) -> Shape:
    _number(k, "the exponent of A ** k")
    return a


def _same_shape(a: Shape) -> Shape:
    return a


# Each operation's shape from its operands' shapes, raising ShapeError as its numeric forward
# rule in matops.py does.
SHAPE_RULES: dict[str, Callable[..., Shape]] = {
    "+": _binary("+"), "-": _binary("-"), "*": _binary("*"), "/": _binary("/"),
    "**": _power,
    "@": _matmul,
    "transpose": lambda a: (a[1], a[0]),
    **{f: _same_shape for f in ("neg", "relu", "sigmoid", "tanh", "exp", "log", "sqrt", "softmax")},
    **{op: (lambda a: (sp.S.One, a[1])) if axis == 0 else (lambda a: (a[0], sp.S.One))
       for op, (_, axis) in AXIS_OPS.items()},
    "sum": lambda a: SCALAR,
    "mean": lambda a: SCALAR,
    "cross_entropy": _to_number(lambda p, y: _same(p, y, "cross_entropy(P, Y)")),
    "mse": _to_number(lambda z, t: _same(z, t, "mse(Z, T)")),
    "sse": _to_number(lambda z, t: _same(z, t, "sse(Z, T)")),
    "l2": _to_number(lambda w, lam: _number(lam, "the λ of l2(W, lam)")),
}


def shape_rule(op: str) -> Callable[..., Shape]:
    rule = SHAPE_RULES.get(op)
    if rule is None:
        raise ExpressionError(f"{op} is not available in a shapes-only worksheet")
    return rule
