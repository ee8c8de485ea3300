"""A forward step as a hand works it: the definition with the numbers substituted, then with each
operand of the outermost operation evaluated (each term of a top-level sum), then the value.

The engine computes these trees once, so that a sheet only prints them."""
from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from ..language import expr as E
from ..language.evaluate import evaluate
from ..language.ops import Conventions


def substitute(tree: E.Expr, numbers: Mapping[str, sp.Expr]) -> E.Expr:
    """The tree with every name whose value is a number replaced by that number."""
    if isinstance(tree, E.Name) and tree.id in numbers:
        return E.Value(numbers[tree.id])
    if isinstance(tree, E.Apply):
        return E.Apply(tree.op, tuple(substitute(a, numbers) for a in tree.args))
    return tree


def one_step(tree: E.Expr, numbers: Mapping[str, sp.Expr], conventions: Conventions) -> E.Expr:
    """Evaluate each operand of the outermost operation (each term of a top-level sum)."""
    if not isinstance(tree, E.Apply):
        return tree
    if tree.op in ("+", "-"):
        left = one_step(tree.args[0], numbers, conventions) if _is_sum(tree.args[0]) \
            else _value_of(tree.args[0], numbers, conventions)
        right = _value_of(tree.args[1], numbers, conventions)
        if isinstance(right, E.Value) and right.value.could_extract_minus_sign():
            flipped = "-" if tree.op == "+" else "+"
            return E.Apply(flipped, (left, E.Value(-right.value)))
        return E.Apply(tree.op, (left, right))
    return E.Apply(tree.op, tuple(_value_of(a, numbers, conventions) for a in tree.args))


def _value_of(tree: E.Expr, numbers: Mapping[str, sp.Expr], conventions: Conventions) -> E.Expr:
    if isinstance(tree, E.Apply):
        return E.Value(evaluate(tree, numbers, conventions))
    return tree


def _is_sum(tree: E.Expr) -> bool:
    return isinstance(tree, E.Apply) and tree.op in ("+", "-")
