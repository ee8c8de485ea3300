"""Softmax followed by cross-entropy as one step, ∂L/∂Z = (1/N)(P − Y), as a course writes it: the
one place that decides when the step applies, whether written in one expression
(``cross_entropy(softmax(Z), Y)``, taken when every row of Y sums to 1) or across two nodes
(``P: softmax(Z)`` used only by ``cross_entropy(P, Y)``, taken when it equals the general rule)."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import sympy as sp

from ..engine.graph import Graph
from ..language import expr as E
from ..language.equality import equal
from ..worksheet.read import NodeDef
from .mexpr import Const, Grad, Leaf, Matrix, MExpr, Op, had, value


def logits_gradient(rows: int, p: MExpr, y: MExpr) -> MExpr:
    """(1/N)(P − Y) for a batch of N rows."""
    return had(Const(sp.Rational(1, rows)), Op("sub", (p, y)))


def rows_sum_to_one(y: Matrix) -> bool:
    """Every row of the targets sums to 1 (one-hot or smoothed labels): then (1/N)(P − Y) holds."""
    return all(sp.Add(*y.row(i)) == 1 for i in range(y.rows))


def across_nodes(name: str, graph: Graph, defs: Mapping[str, NodeDef], loss: str, env: Mapping[str, Matrix],
                 grads: Mapping[str, Matrix], values: Callable[[E.Expr], Matrix], general: Matrix) -> MExpr | None:
    """(P − Y)/N (times the upstream gradient) for the logits ``name`` of a softmax node P whose only
    use is cross_entropy(P, Y), when it equals ``general``, the gradient by the general rule."""
    kids = graph.children.get(name, ())
    if len(kids) != 1 or kids[0] not in defs:
        return None
    p = kids[0]
    tree = defs[p].expr
    if not (isinstance(tree, E.Apply) and tree.op == "softmax" and tree.args[0] == E.Name(name)):
        return None
    users = graph.children.get(p, ())
    if len(users) != 1 or users[0] not in defs:
        return None
    ce = [t for t in E.subtrees(defs[users[0]].expr)
          if isinstance(t, E.Apply) and t.op == "cross_entropy" and t.args[0] == E.Name(p)]
    if len(ce) != 1 or not isinstance(ce[0].args[1], E.Name):
        return None
    f = logits_gradient(env[p].rows, Leaf(p), Leaf(ce[0].args[1].id))
    f = had(Grad(users[0]), f) if users[0] != loss else f
    got = value(f, env, grads, values)
    return f if all(equal(a, b) for a, b in zip(got, general)) else None
