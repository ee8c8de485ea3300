"""What every derivation gives, scalar or in matrices: the one protocol that sheets, JSON, the
figure, the update steps and the API rely on, so that none of them asks which engine it has."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sympy as sp

from ..language import expr as E
from ..worksheet.read import Worksheet
from .graph import Graph


@dataclass(frozen=True)
class Forward:
    """A name's forward rule in its parents' symbols, its value (a number when known), and for a
    node with a number, its definition worked one step at a time (engine/worked.py)."""

    name: str
    rule: sp.Expr | None  # None for given names, edge-only nodes and matrix values
    value: sp.Expr
    substituted: E.Expr | None = None  # the definition with the numbers substituted
    one_step: E.Expr | None = None  # … and each operand of its outermost operation evaluated


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


@dataclass(frozen=True)
class Kink:
    """A step function evaluated exactly at its kink: which convention gave ``used``."""

    child: str
    name: str
    argument: sp.Expr
    used: sp.Expr


class Derivation(Protocol):
    """A worksheet solved: values forward, gradients backward, and the update steps after."""

    @property
    def worksheet(self) -> Worksheet: ...
    @property
    def graph(self) -> Graph: ...
    @property
    def wrt(self) -> tuple[str, ...]: ...
    @property
    def backward_order(self) -> tuple[str, ...]: ...
    @property
    def updates(self) -> tuple[UpdateStep, ...]: ...
    @property
    def kinks(self) -> tuple[Kink, ...]: ...
    @property
    def loss(self) -> str: ...
    @property
    def forward(self) -> Mapping[str, Forward]: ...
    @property
    def shapes(self) -> Mapping[str, tuple[int, int]]:
        """Each name's shape; empty in scalars."""

    def gradient(self, name: str) -> Any:
        """∂L/∂name: a number (or expression), or a matrix of the name's shape."""

    def chain_rule(self, name: str) -> tuple[Any, ...]:
        """The one-step chain rule of ∂L/∂name, one item per written form (empty when the loss does
        not depend on the name): a SymPy expression in scalars, formulas in matrices."""

    def again(self, ws: Worksheet) -> Derivation:
        """The same derivation at another worksheet's numbers (same graph): the update steps."""
