"""Gradient-descent steps after the backward pass: w ← w − η · ∂L/∂w, exact, and the loss after.

Each step is a whole derivation at the new numbers (the symbolic preparation is shared), so a
sheet can show the loss going down and the gradients of the next step.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import sympy as sp

from .derive import Derivation, Prepared, derive, prepare
from ..matrix.derive import MatrixDerivation, derive_matrices
from ..language.normal import normal_matrix
from ..language.ops import _check_size


@dataclass(frozen=True)
class ParamStep:
    """One parameter in one step: its value, its gradient, and its value after the step."""

    name: str
    before: sp.Expr | sp.ImmutableMatrix
    gradient: sp.Expr | sp.ImmutableMatrix
    after: sp.Expr | sp.ImmutableMatrix


@dataclass(frozen=True)
class UpdateStep:
    """Step ``number``: every parameter updated, and the loss before and after."""

    number: int
    params: tuple[ParamStep, ...]
    loss_before: sp.Expr
    loss_after: sp.Expr


def with_updates(d: Derivation | MatrixDerivation, prepared: Prepared | None = None) -> Derivation | MatrixDerivation:
    """The derivation with the worksheet's ``update:`` steps taken (unchanged without one); a
    matrix worksheet updates whole matrices."""
    u = d.worksheet.update
    if u is None:
        return d
    again = derive_matrices if isinstance(d, MatrixDerivation) else partial(derive, prepared=prepared or prepare(d.worksheet))
    steps, current = [], d
    for number in range(1, u.steps + 1):
        values = {g.name: g.value for g in current.worksheet.given}
        params = tuple(ParamStep(n, values[n], current.gradient(n), _step(values[n], u.lr, current.gradient(n)))
                       for n in u.params)
        after = {ps.name: ps.after for ps in params}
        ws = replace(current.worksheet,
                     given=tuple(replace(g, value=after.get(g.name, g.value)) for g in current.worksheet.given))
        following = again(ws)
        steps.append(UpdateStep(number, params, current.forward[d.loss].value, following.forward[d.loss].value))
        current = following
    return replace(d, updates=tuple(steps))


def _step(value: sp.Expr | sp.ImmutableMatrix, lr: sp.Expr, gradient: sp.Expr | sp.ImmutableMatrix):
    """w − η ∂L/∂w, exact (entry by entry for a matrix)."""
    if isinstance(value, sp.MatrixBase):
        return normal_matrix(value - lr * gradient)
    return _check_size(value - lr * gradient)
