"""The likeliest cause of a wrong matrix, found by recomputing the mistakes courses see.

Each mistake is one change to a backward formula of matrix/derive.py — a transpose missing or on
the other factor, the L2 term λW left out (or doubled), the 1/N of the mean forgotten, the bias
gradient summed over the wrong axis (or not summed), the ReLU mask 𝟏[A > 0] left out, softmax's
Jacobian replaced by the element-wise P ⊙ (1 − P) — and the reverse sweep is run again with it, at
the writer's values (their earlier gradients stand as they gave them). A candidate whose value is
the writer's (``fits``) is the diagnosis; several when the numbers cannot tell them apart.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

import sympy as sp

from ..errors import EvaluationError
from ..language import expr as E
from ..matrix.derive import MatrixDerivation, MatrixTerm
from ..matrix.mexpr import ONE, Const, Grad, Leaf, Matrix, MExpr, Ones, Op, Part, value as formula_value
from .claims import Quantity
from .matrixeval import operations, replaced

MAX_CAUSES = 3
NO_DIAGNOSIS = "no diagnosis"
Alter = Callable[[str, MatrixTerm], MExpr | None]  # the formula a term is computed with (None: left out)


@dataclass(frozen=True)
class Mistake:
    """One change: on the term of ``node`` through ``child`` (every loss term when ``node`` is
    empty), the formula used instead (None: the term left out), and the cause as a sentence."""

    node: str
    child: str
    formula: MExpr | None
    cause: str


def diagnose_matrix(d: MatrixDerivation, q: Quantity, env: Mapping[str, Matrix], said: Mapping[str, Matrix],
                    part: Callable[[E.Expr], Matrix], fits: Callable[[Matrix], bool]) -> str:
    """The mistakes whose value ``fits`` the writer's, or "no diagnosis". ``env`` holds the forward
    values, ``said`` the gradients the writer gave, ``part`` computes a part of a definition."""
    causes: list[str] = []
    for candidate, cause in candidates(d, q, env, said, part):
        if cause not in causes and fits(candidate):
            causes.append(cause)
            if len(causes) == MAX_CAUSES:
                break
    return "; or ".join(causes) if causes else NO_DIAGNOSIS


def candidates(d: MatrixDerivation, q: Quantity, env: Mapping[str, Matrix], said: Mapping[str, Matrix],
               part: Callable[[E.Expr], Matrix]) -> Iterator[tuple[Matrix, str]]:
    """The values the common mistakes give for ``q``, the likeliest first."""
    if q.kind == "grad" and q.name in d.adjoints:
        for m in mistakes(d, q.name):
            def alter(node: str, t: MatrixTerm, m: Mistake = m) -> MExpr | None:
                if not m.node:
                    return _no_mean(t.formula) if t.child == d.loss else t.formula
                return m.formula if (node, t.child) == (m.node, m.child) else t.formula
            got = _sweep(d, q.name, env, said, part, alter)
            if got is not None:
                yield got, m.cause
        yield -d.gradient_matrix(q.name), "a sign slip: every entry has the wrong sign"
        for other in d.backward_order:
            if other not in (q.name, d.loss):
                yield d.gradient_matrix(other), f"this is the value of ∂{d.loss}/∂{other}"
    elif q.kind == "value":
        yield -d.values[q.name], "a sign slip: every entry has the wrong sign"
        for other in d.graph.order:
            if other != q.name and d.graph.nodes[other].kind == "node":
                yield d.values[other], f"this is the value of {other}"
    elif q.kind == "update":
        p = next(p for p in d.updates[q.step - 1].params if p.name == q.name)
        lr = d.worksheet.update.lr
        yield p.before + lr * p.gradient, "the step taken uphill: + η ∂/∂W instead of − η ∂/∂W"
        yield p.before - p.gradient, "the learning rate η left out of the step"


def mistakes(d: MatrixDerivation, name: str) -> Iterator[Mistake]:
    """The one-formula mistakes on the way from the loss down to ``name``."""
    loss = d.loss
    mean = [c for t in _terms(d, name) if t[1].child == loss for c in _consts(t[1].formula)]
    if any(c.q > 1 for c in mean):
        n = max(c.q for c in mean)
        yield Mistake("", loss, None, f"the 1/N of the mean over the batch forgotten (N = {n})")
    defs = {n.name: n.expr for n in d.worksheet.nodes}
    for node, t in _terms(d, name):
        where = "" if node == name else f" (in ∂{loss}/∂{node})"
        for f, change in _transposes(t.formula):
            kind = {1: "an extra transpose", 0: "the transpose on the other factor", -1: "a transpose missing"}[change]
            yield Mistake(node, t.child, f, f"{kind}: {text(f, loss)} instead of {text(t.formula, loss)}{where}")
        for path, op in operations(t.formula, Op):
            for f, cause in _local(op, t.formula, path, loss):
                yield Mistake(node, t.child, f, cause + where)
        if len(d.adjoints[node].terms) > 1:
            penalty = t.child in defs and any(isinstance(s, E.Apply) and s.op == "l2" and s.args[0] == E.Name(node)
                                              for s in E.subtrees(defs[t.child]))
            if penalty:
                yield Mistake(node, t.child, None, f"the L2 term λ{node} of the penalty forgotten{where}")
                yield Mistake(node, t.child, Op("add", (t.formula, t.formula)), f"λ{node} written as 2λ{node}: "
                              f"the derivative of λ/2 Σ {node}² is λ{node}{where}")
            else:
                yield Mistake(node, t.child, None, f"the path through {t.child} is missing{where}")


def _local(op: Op, whole: MExpr, path: tuple[int, ...], loss: str) -> Iterator[tuple[MExpr, str]]:
    """The changes of one operation that courses see, with their causes."""
    if op.kind == "step":
        inner = text(op.args[0], loss)
        yield replaced(whole, path, ONE), f"the ReLU mask 𝟏[{inner} > 0] is missing"
        other = 1 - op.at_zero if op.at_zero in (0, 1) else sp.S.One
        yield replaced(whole, path, replace(op, at_zero=other)), (f"relu′(0) taken as {other} where {inner} is 0 (this "
                                                              f"worksheet takes {op.at_zero})")
    elif op.kind == "colsum":
        g = op.args[0]
        shown = text(g, loss)
        yield replaced(whole, path, Op("rowsum", (g,))), (f"summed over the wrong axis: the row sums {shown} 𝟏 (one per "
                                                     f"sample) instead of the column sums 𝟏ᵀ {shown}")
        yield replaced(whole, path, Op("T", (Op("rowsum", (g,)),))), (f"summed over the wrong axis: the row sums of "
                                                                 f"{shown} instead of its column sums 𝟏ᵀ {shown}")
        yield replaced(whole, path, g), f"not summed over the batch: the bias gradient is 𝟏ᵀ {shown}, one row"
        yield replaced(whole, path, Op("total", (g,))), f"summed over every entry: the bias gradient is 𝟏ᵀ {shown}"
    elif op.kind == "had" and _softmax_parts(op) is not None:
        p, g = _softmax_parts(op)
        yield replaced(whole, path, Op("had", (Op("had", (p, Op("sub", (ONE, p)))), g))), (
            f"softmax's Jacobian replaced by an element-wise derivative: {text(p, loss)} ⊙ (1 − {text(p, loss)}) ⊙ "
            f"{text(g, loss)} instead of {text(op, loss)}")


def _softmax_parts(op: Op) -> tuple[MExpr, MExpr] | None:
    """(P, G) of P ⊙ (G − rowsum(G ⊙ P)), the backward formula of softmax; None for another ⊙."""
    p, rest = op.args
    if isinstance(rest, Op) and rest.kind == "sub" and isinstance(rest.args[1], Op) and rest.args[1].kind == "rowsum":
        return p, rest.args[0]
    return None


def _no_mean(f: MExpr) -> MExpr:
    """The formula with each 1/N (a constant with a denominator) multiplied back by it."""
    if isinstance(f, Const) and f.value.is_Rational and f.value.q > 1:
        return Const(f.value * f.value.q)
    if isinstance(f, Op):
        return replace(f, args=tuple(_no_mean(a) for a in f.args))
    return f


def _consts(f: MExpr) -> list[sp.Rational]:
    if isinstance(f, Const):
        return [f.value] if f.value.is_Rational else []
    return [c for a in f.args for c in _consts(a)] if isinstance(f, Op) else []


def _terms(d: MatrixDerivation, name: str) -> list[tuple[str, MatrixTerm]]:
    """Every term of the gradients between the loss and ``name`` (the nodes ``name`` reaches)."""
    reach, todo = {name}, [name]
    while todo:
        for c in d.graph.children.get(todo.pop(), ()):
            if c not in reach:
                reach.add(c)
                todo.append(c)
    return [(n, t) for n in d.backward_order if n in reach and n in d.adjoints for t in d.adjoints[n].terms]


def _sweep(d: MatrixDerivation, name: str, env: Mapping[str, Matrix], said: Mapping[str, Matrix],
           part: Callable[[E.Expr], Matrix], alter: Alter) -> Matrix | None:
    """∂L/∂name by the reverse sweep with the formulas ``alter`` gives; the writer's own earlier
    gradients stand as given. None when a changed formula cannot be computed (its shapes)."""
    reach = {n for n, _ in _terms(d, name)}
    grads: dict[str, Matrix] = {d.loss: Matrix([[1]])}
    try:
        for n in d.backward_order:
            if n == d.loss or n not in reach:
                continue
            if n in said and n != name:
                grads[n] = said[n]
                continue
            total = None
            for t in d.adjoints[n].terms:
                f = alter(n, t)
                if f is not None:
                    v = formula_value(f, env, grads, part)
                    total = v if total is None else total + v
            grads[n] = total if total is not None else Matrix.zeros(*d.values[n].shape)
            if n == name:
                return grads[n]
    except (EvaluationError, sp.ShapeError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return None


def _transposes(f: MExpr) -> Iterator[tuple[MExpr, int]]:
    """The formula with the transposes of one matrix product changed, and by how many."""
    for path, op in operations(f, Op):
        if op.kind != "matmul":
            continue
        a, b = op.args
        for x, y in ((_toggle(a), b), (a, _toggle(b)), (_toggle(a), _toggle(b)), (_toggle(b), _toggle(a))):
            change = _is_t(x) + _is_t(y) - _is_t(a) - _is_t(b)
            yield replaced(f, path, Op("matmul", (x, y))), max(-1, min(1, change))


def _is_t(f: MExpr) -> int:
    return int(isinstance(f, Op) and f.kind == "T")


def _toggle(f: MExpr) -> MExpr:
    return f.args[0] if _is_t(f) else Op("T", (f,))


def text(f: MExpr, loss: str) -> str:
    """A formula in plain text, for a diagnosis: ``Xᵀ ∂L/∂A``, ``∂L/∂Z ⊙ 𝟏[A > 0]``."""
    if isinstance(f, Leaf):
        return f.name
    if isinstance(f, Grad):
        return f"∂{loss}/∂{f.name}"
    if isinstance(f, Part):
        return E.text(f.tree)
    if isinstance(f, Const):
        return sp.sstr(f.value)
    if isinstance(f, Ones):
        return "𝟏"
    args = [text(a, loss) for a in f.args]
    wrapped = [s if isinstance(a, (Leaf, Grad, Const, Ones)) or (isinstance(a, Op) and a.kind in ("T", "step"))
               else f"({s})" for a, s in zip(f.args, args)]
    if f.kind == "T":
        return f"{wrapped[0]}ᵀ" if isinstance(f.args[0], (Leaf, Part)) else f"({args[0]})ᵀ"
    binary = {"matmul": " ", "had": " ⊙ ", "hdiv": " ⊘ ", "add": " + ", "sub": " − ", "pow": "^"}
    if f.kind in binary:
        return binary[f.kind].join(wrapped)
    return {"neg": f"−{wrapped[0]}", "colsum": f"𝟏ᵀ {wrapped[0]}", "rowsum": f"{wrapped[0]} 𝟏",
            "total": f"Σ {wrapped[0]}", "step": f"𝟏[{args[0]} > 0]", "log": f"log {wrapped[0]}"}[f.kind]
