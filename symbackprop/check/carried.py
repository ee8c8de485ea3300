"""The writer's own values, carried from line to line, and the values a claim is compared with.

A line is computed with what the writer had at that point: each value they gave (exact as
written, and the interval its rounding stands for) and, for what they did not give, the exact
one. The right formula for a quantity at those values is the reference: a claim that agrees
with it is right (the rounding of earlier values carried into this line) or, when an earlier
value it used was wrong, an error carried forward (ECF).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy as sp

from ..engine.protocol import Derivation
from ..language.evaluate import symbol
from .claims import Names, Quantity, path_children, placeholder, truth
from .tree import Num
from .numeric import Span, Value, agree, enclose, exact_value, hull, written


@dataclass(frozen=True)
class Said:
    """A value the writer gave for a quantity, the line, and whether it was right."""

    value: Value
    line: int
    right: bool


class Carried:
    """What the writer has said so far, and the values of expressions at it."""

    def __init__(self, names: Names, tolerance: sp.Rational) -> None:
        self.names = names
        self.tolerance = tolerance
        self.said: dict[Quantity, Said] = {}
        self.values = {symbol(n): Quantity("value", n) for n in names.derivation.graph.order}
        self.exact: dict[Quantity, Value] = {}
        d = names.derivation
        self.ground = {symbol(n): f.value for n, f in d.forward.items() if d.graph.nodes[n].kind in ("given", "node")}

    @property
    def d(self) -> Derivation:
        return self.names.derivation

    def truth(self, q: Quantity) -> Value:
        """The exact value of ``q``, enclosed once."""
        if q not in self.exact:
            self.exact[q] = exact_value(truth(self.d, q))
        return self.exact[q]

    def agree(self, a: Value, b: Value) -> bool:
        return agree(a, b, self.ground)

    def chain(self, steps: list[Value]) -> Chain:
        return Chain(steps, self.agree)

    def remember(self, q: Quantity, value: Value, line: int, right: bool) -> None:
        """A claim of the writer's, for the lines after; the exercise's own numbers stay its own."""
        if not (q.kind == "value" and self.d.graph.nodes[q.name].kind == "given"):
            self.said[q] = Said(value, line, right)

    def number(self, n: Num) -> Value:
        """A written number as the claim's own value: what it rounds (or the tolerance allows),
        even when it is one of the exercise's numbers (w1 after a tiny step, rounded, is 0.15)."""
        if n.unit is None and not self.tolerance:
            return exact_value(n.value)
        return Value(n.value, written(n.value, n.unit, self.tolerance), True)

    def evaluate(self, expr: sp.Expr, quantities: Mapping[sp.Symbol, Quantity] = {},
                 literals: Mapping[sp.Symbol, Num] = {}, own: Quantity | None = None,
                 right_only: bool = False) -> tuple[Value, list[Quantity]]:
        """``expr`` at the writer's values: a symbol of a quantity the writer gave (not ``own``;
        with ``right_only``, only if it was right) takes the writer's value, any other its exact
        value, a rounded number its rounding. Also the wrong earlier values it used, by label."""
        exact: dict[sp.Symbol, sp.Expr] = {}
        spans: dict[sp.Symbol, Span | None] = {}
        sources: list[Quantity] = []
        rounded = False
        for s in expr.free_symbols:
            if s in literals:
                n = literals[s]
                exact[s], spans[s], rounded = n.value, written(n.value, n.unit, self.tolerance), True
                continue
            q = quantities.get(s) or self.values.get(s)
            if q is None:
                continue
            said = self.said.get(q) if q != own else None
            if said is not None and (said.right or not right_only):
                v = said.value
                if not said.right:
                    sources.append(q)
            else:
                v = self.truth(q)
            exact[s], spans[s], rounded = v.exact, v.span, rounded or v.rounded
        value = expr.xreplace(exact)
        span = enclose(expr, spans) if all(x is not None for x in spans.values()) else None
        return Value(value, span, rounded), sorted(sources, key=lambda x: x.label(self.d.loss))

    def reference(self, q: Quantity, right_only: bool) -> tuple[Value, list[Quantity]]:
        """The right formula for ``q`` at the writer's values (with ``right_only``, at their right
        values only: the rounding they carry), and the wrong earlier values it used."""
        forms, quantities = self._formulas(q)
        found = [self.evaluate(f, quantities, own=q, right_only=right_only) for f in forms]
        value, sources = found[0]
        spans = [v.span for v, _ in found]
        if all(s is not None for s in spans):
            value = Value(value.exact, hull(spans), any(v.rounded for v, _ in found))
        return value, sorted({s for _, used in found for s in used}, key=lambda x: x.label(self.d.loss))

    def _formulas(self, q: Quantity) -> tuple[list[sp.Expr], dict[sp.Symbol, Quantity]]:
        """The right formula for ``q`` in symbols of values and gradients; a local derivative in
        both its forms (σ(z)(1 − σ(z)) and, in the child's own symbol, s(1 − s)), since a writer
        may compute it either way."""
        d, quantities = self.d, {}

        def use(x: Quantity) -> sp.Symbol:
            s = placeholder(x, d.loss)
            quantities[s] = x
            return s

        if q.kind == "update":
            step = d.updates[q.step - 1]
            before = symbol(q.name) if q.step == 1 else use(Quantity("update", q.name, step=q.step - 1))
            gradient = use(Quantity("grad", q.name)) if q.step == 1 else next(
                p.gradient for p in step.params if p.name == q.name)
            return [before - d.worksheet.update.lr * gradient], quantities
        if q.kind == "value":
            rule = d.forward[q.name].rule
            return [truth(d, q) if rule is None else rule], quantities
        if q.kind == "local":
            return self._locals(q.name, q.of), quantities
        terms: list[tuple[sp.Expr, ...]] = []
        for c in path_children(d, q.name):
            local = Quantity("local", q.name, c)
            if c == d.loss:
                terms.append(tuple(self._locals(q.name, c)))
            elif local in self.said:
                terms.append((use(Quantity("grad", c)) * use(local),))
            else:
                terms.append(tuple(use(Quantity("grad", c)) * f for f in self._locals(q.name, c)))
        return [sp.Add(*(t[min(k, len(t) - 1)] for t in terms)) for k in (0, 1)], quantities

    def _locals(self, name: str, child: str) -> list[sp.Expr]:
        forms = self.d.prepared.locals.get((name, child))
        if forms is None:
            return [next(t.local for t in self.d.adjoints[name].terms if t.child == child)]
        return list(dict.fromkeys(forms))


class Chain:
    """A claim's written steps. It arrives at a value when some step agrees with the value and each
    step after agrees with the one before (a rounding of it, or equal); those last steps are found
    once, since a claim is compared with many values (the diagnosis's candidates)."""

    def __init__(self, steps: list[Value], agree: Callable[[Value, Value], bool]) -> None:
        self.agree = agree
        self.steps = steps
        ends = steps[-1:]
        if any(s.rounded for s in steps):  # exact steps that agree are equal: the last one stands for all
            for a, b in zip(reversed(steps[:-1]), reversed(steps[1:])):
                if not agree(a, b):
                    break
                ends.append(a)
        self.ends = ends

    def reaches(self, target: Value) -> bool:
        return any(self.agree(s, target) for s in self.ends)
