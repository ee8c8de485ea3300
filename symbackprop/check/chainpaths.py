"""Whether a written chain-rule expression follows the graph: each product of derivatives is a
path from the node up to a gradient the writer already has; at every node on those paths, every
edge towards the loss must be taken once — a missing one is a path dropped at a fan-out.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import sympy as sp

from .claims import Names, Quantity, UnknownName, path_children
from ..engine.derive import Derivation
from .tree import Cases, Deriv, Grad, Node, Op

MAX_OPS = 200  # larger expressions are not expanded (expansion can grow quickly)


def path_issues(d: Derivation, name: str, expr: sp.Expr, quantities: Mapping[sp.Symbol, Quantity]) -> list[str]:
    """The ways the chain-rule expression ``expr`` for ∂L/∂name departs from the graph's paths."""
    used = sorted((s for s in expr.free_symbols if s in quantities and quantities[s] != Quantity("grad", d.loss)),
                  key=lambda s: s.name)
    if not used or sp.count_ops(expr) > MAX_OPS:
        return []
    try:
        poly = sp.Poly(expr, *used)  # the products of derivatives, whatever multiplies them
    except sp.PolynomialError:
        return []
    hops: dict[str, list[str]] = {}
    for monomial in poly.monoms():
        factors = [quantities[s] for s, k in zip(used, monomial) if k]
        step = {f.name: f.of for f in factors if f.kind == "local"}
        upstream = sorted(f.name for f in factors if f.kind == "grad")
        path = [name]
        while path[-1] in step:
            path.append(step.pop(path[-1]))
        if path[-1] not in upstream:
            if len(path) == 1 and len(upstream) == 1:  # ∂L/∂c times the local derivative as a value
                path.append(upstream[0])
            else:
                continue
        for a, b in zip(path, path[1:]):
            hops.setdefault(a, []).append(b)
    issues = []
    for node, taken in hops.items():
        where = "" if node == name else f"at {node}, "
        expected = path_children(d, node)
        issues += [f"{where}the path through {c} is missing" for c in expected if c not in taken]
        issues += [f"{where}an extra path through {c}, which {node} does not feed" for c in dict.fromkeys(taken)
                   if c not in expected]
        issues += [f"{where}the path through {c} is counted twice" for c in dict.fromkeys(taken)
                   if c in expected and taken.count(c) > 1]
    return issues


def relabel_candidates(d: Derivation, members: list[Node], names: Names, bindings: Mapping[str, str]) -> list[str]:
    """Names whose gradient a chain computes by its own terms, whatever its label says: the one
    name all its local derivatives are taken with respect to, or the node whose children are
    exactly the gradients it sums over, when they are two or more (an OCR'd or slipped label:
    000's dL/dx1 that is dL/dx2)."""
    bottoms: set[str] = set()
    upstream: set[str] = set()
    for node in members:
        for part in _derivatives(node):
            try:
                if isinstance(part, Grad):
                    upstream.add(names.find(part.of, bindings))
                    continue
                bottom = names.find(part.bottom, bindings)
            except UnknownName:
                continue
            try:
                top = names.find(part.top, bindings) if part.top is not None else None
            except UnknownName:
                top = None
            (upstream if top == d.loss else bottoms).add(bottom)
    out = [next(iter(bottoms))] if len(bottoms) == 1 else []
    fed = [n for n in d.backward_order if set(path_children(d, n)) == upstream]
    return out + (fed if len(upstream) > 1 and len(fed) == 1 else [])


def _derivatives(node: Node) -> Iterator[Deriv | Grad]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (Deriv, Grad)):
            yield n
        elif isinstance(n, Op):
            stack.extend(n.args)
        elif isinstance(n, Cases):
            stack.extend(v for v, _ in n.rows)
