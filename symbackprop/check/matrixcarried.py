"""The writer's matrix values, carried from line to line, and the right formula at them.

The reference for a claim is the worksheet's own formula (a node's definition, or the backward
formulas of matrix/derive.py: ``Xᵀ ∂L/∂Z``, ``P ⊙ (G − rowsum(G ⊙ P))``) computed with the values
the writer gave before, and the exact ones for the rest: a claim that agrees with it is right
(within the rounding carried) or, when one of those values was wrong, an error carried forward.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import sympy as sp

from ..matrix.derive import MatrixDerivation
from ..matrix.matops import Evaluator
from ..matrix.mexpr import value as formula_value
from .carried import Said
from .claims import Names, Quantity
from .matrixeval import Bound, Matrix, MValue, agree_m, exact_mvalue
from .numeric import Value, written
from .tree import Num


class Lookup(Mapping[str, Matrix]):
    """Forward values (``kind`` value) or gradients (``grad``) as a formula reads them: the writer's
    where they gave one (with ``right_only``, only a right one), else the worksheet's; it records
    which wrong values of the writer's were read."""

    def __init__(self, carried: MatrixCarried, kind: str, bound: Bound, right_only: bool, own: Quantity | None) -> None:
        self.carried, self.kind, self.bound, self.right_only, self.own = carried, kind, bound, right_only, own
        self.sources: set[Quantity] = set()

    def __getitem__(self, name: str) -> Matrix:
        q = Quantity(self.kind, name)
        said = self.carried.said.get(q) if q != self.own else None
        if said is not None and (said.right or not self.right_only):
            if not said.right:
                self.sources.add(q)
            return self.bound.matrix(said.value)
        d = self.carried.d
        return d.values[name] if self.kind == "value" else d.gradient_matrix(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.carried.d.values)

    def __len__(self) -> int:
        return len(self.carried.d.values)


class MatrixCarried:
    """What the writer has said so far, and the references a claim is compared with."""

    def __init__(self, names: Names, tolerance: sp.Rational) -> None:
        self.names = names
        self.tolerance = tolerance
        self.said: dict[Quantity, Said] = {}
        self.exact: dict[Quantity, MValue] = {}

    @property
    def d(self) -> MatrixDerivation:
        return self.names.derivation

    def truth_matrix(self, q: Quantity) -> Matrix:
        d = self.d
        if q.kind == "value":
            return d.values[q.name]
        if q.kind == "grad":
            return d.gradient_matrix(q.name)
        step = self.names.updated().updates[q.step - 1]
        after = next(p.after for p in step.params if p.name == q.name)
        return after if isinstance(after, sp.MatrixBase) else Matrix([[after]])

    def truth(self, q: Quantity) -> MValue:
        if q not in self.exact:
            self.exact[q] = exact_mvalue(self.truth_matrix(q))
        return self.exact[q]

    def given(self, q: Quantity) -> bool:
        return q.kind == "value" and self.d.graph.nodes[q.name].kind == "given"

    def remember(self, q: Quantity, value: MValue, line: int, right: bool) -> None:
        """A claim of the writer's, for the lines after; the exercise's own numbers stay its own."""
        if not self.given(q):
            self.said[q] = Said(value, line, right)  # type: ignore[arg-type]  # a matrix value

    def number(self, n: Num) -> Value:
        """A written number: exact, or the interval its rounding (or the tolerance) stands for."""
        if n.unit is None and not self.tolerance:
            return Value(n.value, written(n.value, None, sp.S.Zero))
        return Value(n.value, written(n.value, n.unit, self.tolerance), True)

    def known(self, q: Quantity, bound: Bound) -> Matrix:
        """A quantity as a written formula uses it: the writer's value when given, else the right one."""
        said = self.said.get(q)
        return bound.matrix(said.value) if said is not None else self.truth_matrix(q)

    def lookups(self, bound: Bound, right_only: bool, own: Quantity | None) -> tuple[Lookup, Lookup]:
        return Lookup(self, "value", bound, right_only, own), Lookup(self, "grad", bound, right_only, own)

    def references(self, q: Quantity, right_only: bool) -> tuple[list[MValue], list[Quantity]]:
        """The right formula for ``q`` at the writer's values (with ``right_only``, their right ones
        only), in each of its forms, and the writer's wrong values it used."""
        d = self.d
        bound = Bound()
        env, grads = self.lookups(bound, right_only, q)
        part = Evaluator(env, d.worksheet.conventions)  # type: ignore[arg-type]  # read with [] only
        found: list[Matrix] = []
        if q.kind == "value":
            node = next((n for n in d.worksheet.nodes if n.name == q.name), None)
            found = [part(node.expr)] if node is not None else [self.truth_matrix(q)]
        elif q.kind == "grad" and q.name in d.adjoints:
            adj = d.adjoints[q.name]
            total = None
            for t in adj.terms:
                v = formula_value(t.formula, env, grads, part)
                total = v if total is None else total + v
            found = [total] + ([formula_value(adj.fused, env, grads, part)] if adj.fused is not None else [])
        elif q.kind == "update" and q.step == 1:
            lr = d.worksheet.update.lr
            found = [d.values[q.name] - lr * grads[q.name]]
        else:
            found = [self.truth_matrix(q)]
        sources = sorted(env.sources | grads.sources, key=lambda x: x.label(d.loss))
        return [bound.value(Matrix(m)) for m in found], sources

    def matches(self, value: MValue) -> list[str]:
        """The quantities whose right value ``value`` is (a mix-up of names)."""
        d = self.d
        found = [f"d{d.loss}/d{n}" for n in d.backward_order if n != d.loss and
                 agree_m(value, self.truth(Quantity("grad", n)))]
        found += [n for n in d.graph.order if agree_m(value, self.truth(Quantity("value", n)))]
        return found[:4]
