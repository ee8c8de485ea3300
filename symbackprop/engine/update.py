"""Gradient-descent steps after the backward pass: w ← w − η · ∂L/∂w, exact, and the loss after.

Each step is a whole derivation at the new numbers (``Derivation.again`` shares the symbolic
preparation), so a sheet can show the loss going down and the gradients of the next step; a
matrix worksheet updates whole matrices.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

import sympy as sp

from ..language.normal import normal_matrix
from ..language.ops import check_size
from .protocol import Derivation, ParamStep, UpdateStep

D = TypeVar("D", bound=Derivation)


def with_updates(d: D) -> D:
    """The derivation with the worksheet's ``update:`` steps taken (unchanged without one)."""
    u = d.worksheet.update
    if u is None:
        return d
    steps, current = [], d
    for number in range(1, u.steps + 1):
        values = {g.name: g.value for g in current.worksheet.given}
        params = tuple(ParamStep(n, values[n], current.gradient(n), _step(values[n], u.lr, current.gradient(n)))
                       for n in u.params)
        after = {ps.name: ps.after for ps in params}
        ws = replace(current.worksheet,
                     given=tuple(replace(g, value=after.get(g.name, g.value)) for g in current.worksheet.given))
        following = current.again(ws)
        steps.append(UpdateStep(number, params, current.forward[d.loss].value, following.forward[d.loss].value))
        current = following
    return replace(d, updates=tuple(steps))


def _step(value: sp.Expr | sp.ImmutableMatrix, lr: sp.Expr, gradient: sp.Expr | sp.ImmutableMatrix):
    """w − η ∂L/∂w, exact (entry by entry for a matrix)."""
    if isinstance(value, sp.MatrixBase):
        return normal_matrix(value - lr * gradient)
    return check_size(value - lr * gradient)
