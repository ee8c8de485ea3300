"""The most likely cause of a wrong value, found by trying the common mistakes against the graph.

A mistake on one edge (p → c) changes ∂L/∂q by ∂L/∂c · (l' − l) · ∂p/∂q, so each candidate costs
one multiplication once the tangents ∂p/∂q are known (one forward sweep from q): a path dropped
at a fan-out (l' = 0), a path counted twice, a wrong local derivative (ReLU' as z, σ' without
(1 − σ), a factor 2 or 1/N forgotten, λw as 2λw, w_ij for w_ji, log as log10 or the reverse), a
sign slip, another node's upstream value; for an updated weight, the step taken uphill, the
learning rate left out, another weight's gradient. The search stops at a candidate count and a
time bound. Whether a candidate's value is the writer's is the caller's test (``fits``): exact, or
within the rounding the writer's numbers carry.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from collections.abc import Callable, Iterator

import sympy as sp

from .claims import Quantity, path_children
from ..engine.derive import Derivation, Term
from ..language.evaluate import symbol
from ..language.ops import Sigmoid

MAX_CANDIDATES = 5_000
TIME_BOUND = 1.5  # seconds for one claim's search
MAX_CAUSES = 3
NO_DIAGNOSIS = "no diagnosis"


@dataclass(frozen=True)
class Candidate:
    value: sp.Expr
    cause: str


def diagnose(d: Derivation, q: Quantity, fits: Callable[[sp.Expr], bool]) -> str:
    """The common mistakes whose value ``fits`` the writer's (several when the numbers cannot tell
    them apart), or "no diagnosis" — also when the search reaches its bound."""
    deadline = time.monotonic() + TIME_BOUND
    causes: list[str] = []
    for n, c in enumerate(candidates(d, q)):
        if n >= MAX_CANDIDATES or time.monotonic() > deadline:
            return "; or ".join(causes) if causes else NO_DIAGNOSIS + " (the search stopped at its bound)"
        if c.cause not in causes and fits(c.value):
            causes.append(c.cause)
            if len(causes) == MAX_CAUSES:
                break
    return "; or ".join(causes) if causes else NO_DIAGNOSIS


def candidates(d: Derivation, q: Quantity) -> Iterator[Candidate]:
    """The values the common mistakes give for ``q``, the likeliest first."""
    if q.kind == "grad":
        yield from _gradient_candidates(d, q.name)
    elif q.kind == "local":
        term = _term(d, q.name, q.of)
        if term is not None:
            for value, cause in local_mistakes(d, term, q.name):
                yield Candidate(value, cause)
    elif q.kind == "update":
        yield from _update_candidates(d, q)
        return
    else:
        yield from _value_candidates(d, q.name)
    yield from _other_quantity(d, q)


def _gradient_candidates(d: Derivation, name: str) -> Iterator[Candidate]:
    true = d.gradient(name)
    tangent = _tangents(d, name)
    edges = [(p, t) for p in tangent for t in d.adjoints[p].terms if t.child in d.adjoints]
    for p, t in edges:  # a path missing at a fan-out
        if len(path_children(d, p)) > 1:
            where = "" if p == name else f"at {p}, "
            yield Candidate(true - t.contribution * tangent[p], f"{where}the path through {t.child} is missing")
    for p, t in edges:  # a wrong local derivative on an edge below
        for value, cause in local_mistakes(d, t, p):
            yield Candidate(true + t.upstream * (value - t.local_value) * tangent[p], cause)
    yield Candidate(-true, "a sign slip: the value has the wrong sign")
    for p, t in edges:
        yield Candidate(true - 2 * t.contribution * tangent[p], f"a sign slip in the path through {t.child}"
                        + ("" if p == name else f" (at {p})"))
        yield Candidate(true + t.contribution * tangent[p], f"an extra path: the path through {t.child} is "
                        "counted twice" + ("" if p == name else f" (at {p})"))
    for t in d.adjoints[name].terms:  # another node's upstream value
        for other in d.backward_order:
            if other not in (t.child, name):
                yield Candidate(true + (d.gradient(other) - t.upstream) * t.local_value,
                                f"the upstream value of {other} (∂{d.loss}/∂{other}) used in place of "
                                f"∂{d.loss}/∂{t.child}")


def _update_candidates(d: Derivation, q: Quantity) -> Iterator[Candidate]:
    step = d.updates[q.step - 1]
    p = next(p for p in step.params if p.name == q.name)
    lr = d.worksheet.update.lr
    yield Candidate(p.before + lr * p.gradient, "the step taken uphill: + η ∂/∂w instead of − η ∂/∂w")
    yield Candidate(p.before - p.gradient, "the learning rate η left out of the step")
    yield Candidate(-lr * p.gradient, "the step −η ∂/∂w alone, without the weight it is added to")
    for other in step.params:
        if other.name != q.name:
            yield Candidate(p.before - lr * other.gradient, f"the gradient of {other.name} used in the step")


def _value_candidates(d: Derivation, name: str) -> Iterator[Candidate]:
    value = d.forward[name].value
    yield Candidate(-value, "a sign slip: the value has the wrong sign")
    rule = d.forward[name].rule
    if rule is not None:
        known = d.known
        if any(not a.args[0].is_number for a in rule.atoms(sp.log)):
            yield Candidate(rule.replace(sp.log, lambda x: sp.log(x) / sp.log(10)).xreplace(known),
                            "the log taken as log10 (a backprop course's log is the natural log)")
        if rule.has(sp.log(10)):
            yield Candidate(rule.xreplace({sp.log(10): sp.S.One}).xreplace(known),
                            "log10 taken as the natural log")


def _other_quantity(d: Derivation, q: Quantity) -> Iterator[Candidate]:
    """The claimed value is another gradient's (or another node's value): a mix-up of rows."""
    if q.kind == "grad":
        for other in d.backward_order:
            if other not in (q.name, d.loss):
                yield Candidate(d.gradient(other), f"this is the value of ∂{d.loss}/∂{other}")
    elif q.kind == "value":
        for other in d.graph.order:
            if other != q.name and d.graph.nodes[other].kind == "node":
                yield Candidate(d.forward[other].value, f"this is the value of {other}")


def local_mistakes(d: Derivation, term: Term, parent: str) -> list[tuple[sp.Expr, str]]:
    """The wrong local derivatives ∂child/∂parent a writer commonly gives, with their causes."""
    local, known, child = term.local, d.known, term.child
    where = f"∂{child}/∂{parent}"
    rule = d.forward[child].rule if child in d.forward else None
    out: list[tuple[sp.Expr, str]] = []
    for h in sorted(local.atoms(sp.Heaviside), key=sp.default_sort_key):
        out.append((local.xreplace({h: h.args[0] * h}), f"ReLU' written as z instead of 1 (in {where})"))
        out.append((local.xreplace({h: sp.S.One}), f"ReLU' taken as 1 where its input is not positive (in {where})"))
    for s in sorted(local.atoms(Sigmoid), key=sp.default_sort_key):
        out.append((local.xreplace({1 - s: sp.S.One}), f"σ' written as σ, without the factor (1 − σ) (in {where})"))
    coeff, _ = sp.factor_terms(local).as_coeff_Mul()
    if coeff.is_Rational and coeff not in (1, -1, 0):
        if rule is not None and coeff.q == 1 and any(p.exp == coeff for p in rule.atoms(sp.Pow)):
            cause = f"the {coeff} of the power forgotten (in {where})"
        elif coeff.p == 1 or coeff.p == -1:
            cause = f"the 1/{coeff.q} of the mean forgotten (in {where})"
        else:
            cause = f"the factor {coeff} forgotten (in {where})"
        out.append((local / coeff, cause))
    if rule is not None and sp.S.Half in rule.atoms(sp.Rational) and any(p.exp == 2 for p in rule.atoms(sp.Pow)):
        out.append((2 * local, f"λw written as 2λw: the 1/2 in front of the square kept and the 2 added (in {where})"))
    else:
        out.append((2 * local, f"{where} doubled"))
    if rule is not None and any(not a.args[0].is_number for a in rule.atoms(sp.log)):
        out.append((local / sp.log(10), f"the log taken as log10 (in {where}: ∂ ln x/∂x = 1/x, not 1/(x ln 10))"))
    if local.has(sp.log(10)):
        out.append((local * sp.log(10), f"log10 differentiated as the natural log (in {where})"))
    if local.is_Symbol:
        m = re.match(r"^(.*?)(\d)(\d)$", local.name)
        swapped = symbol(f"{m.group(1)}{m.group(3)}{m.group(2)}") if m else None
        if swapped is not None and swapped != local and swapped in known:
            out.append((swapped, f"{swapped.name} used where {local.name} belongs (W in place of Wᵀ, in {where})"))
    out.append((-local, f"a sign slip in {where}"))
    return [(v.xreplace(known), cause) for v, cause in out if v != local]


def _tangents(d: Derivation, name: str) -> dict[str, sp.Expr]:
    """∂p/∂name for every p on a path from ``name`` to the loss (a forward sweep)."""
    tangent = {name: sp.S.One}
    for n in reversed(d.backward_order):
        if n == name:
            continue
        total = sp.S.Zero
        for p in d.graph.nodes[n].parents:
            if p in tangent:
                term = _term(d, p, n)
                if term is not None:
                    total += tangent[p] * term.local_value
        if total != 0:
            tangent[n] = total
    return {p: v for p, v in tangent.items() if p != d.loss}


def _term(d: Derivation, parent: str, child: str) -> Term | None:
    adj = d.adjoints.get(parent)
    return next((t for t in adj.terms if t.child == child), None) if adj else None
