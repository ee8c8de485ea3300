"""Turning an expression tree into a SymPy expression, with names bound to symbols or numbers."""
from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from . import expr as E
from ..errors import EvaluationError, ExpressionError
from .ops import MATRIX_ARITIES, Conventions, build_binary, build_call


def evaluate(tree: E.Expr, env: Mapping[str, sp.Expr], conventions: Conventions) -> sp.Expr:
    """Build ``tree`` with each name replaced by ``env[name]``; domain errors raise EvaluationError."""
    if isinstance(tree, E.Num):
        return tree.value
    if isinstance(tree, E.Value):
        return tree.value
    if isinstance(tree, E.Name):
        try:
            return env[tree.id]
        except KeyError:
            raise ExpressionError(f"undefined name '{tree.id}'") from None
    if tree.op in MATRIX_ARITIES or tree.op == "@":
        what = "'@'" if tree.op == "@" else "'.T'" if tree.op == "transpose" else E.text(tree)
        raise ExpressionError(f"{what} needs matrices: give a matrix under given: as a YAML list, "
                              "such as X: [[1, 2], [0, -1]]")
    args = [evaluate(a, env, conventions) for a in tree.args]
    try:
        if tree.op == "neg":
            return -args[0]
        if tree.op in ("+", "-", "*", "/", "**"):
            return build_binary(tree.op, args[0], args[1])
        return build_call(tree.op, args, conventions)
    except (ZeroDivisionError, OverflowError, MemoryError) as exc:
        raise EvaluationError(f"cannot evaluate {tree.op}: {type(exc).__name__}") from None


def symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of a worksheet name: real, so that |x|' is sign(x)."""
    return sp.Symbol(name, real=True)
