"""Softmax followed by cross-entropy as one step, ∂L/∂Z = (1/N)(P − Y), as a course writes it: the
one place that decides when the step applies, whether written in one expression
(``cross_entropy(softmax(Z), Y)``, taken when every row of Y sums to 1) or across two nodes
(``P: softmax(Z)`` used only by ``cross_entropy(P, Y)``, taken when it equals the general rule). In
a shapes-only worksheet, which has no numbers, the declaration decides: Y declared ``one_hot``."""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import sympy as sp

from ..engine.graph import Graph
from ..language import expr as E
from ..language.equality import equal
from ..worksheet.read import NodeDef
from .dims import Shape, Shaped
from .mexpr import Const, Grad, Leaf, Matrix, MExpr, Op, had, value


def logits_gradient(rows: int, p: MExpr, y: MExpr) -> MExpr:
    """(1/N)(P − Y) for a batch of N rows."""
    return had(Const(sp.S.One / rows), Op("sub", (p, y)))


def rows_sum_to_one(y: Matrix | Shaped) -> bool:
    """Every row of the targets sums to 1 (one-hot or smoothed labels): then (1/N)(P − Y) holds.
    A matrix declared by its shape says so itself (``one_hot: true``)."""
    if isinstance(y, Shaped):
        return y.one_hot
    return all(sp.Add(*y.row(i)) == 1 for i in range(y.rows))


def across_nodes(name: str, graph: Graph, defs: Mapping[str, NodeDef], loss: str, env: Mapping[str, Matrix],
                 grads: Mapping[str, Matrix], values: Callable[[E.Expr], Matrix], general: Matrix) -> MExpr | None:
    """(P − Y)/N (times the upstream gradient) for the logits ``name`` of a softmax node P whose only
    use is cross_entropy(P, Y), when it equals ``general``, the gradient by the general rule."""
    found = _softmax_then_ce(name, graph, defs)
    if found is None:
        return None
    p, user, ce = found
    f = _fused(p, env[p].rows, ce, user, loss)
    got = value(f, env, grads, values)
    return f if all(equal(a, b) for a, b in zip(got, general)) else None


def across_nodes_declared(name: str, graph: Graph, defs: Mapping[str, NodeDef], loss: str,
                          shapes: Mapping[str, Shape], one_hot: Collection[str]) -> MExpr | None:
    """The same step in a shapes-only worksheet, decided by the declaration: Y declared one-hot, P
    written once in its user, a number to which cross_entropy(P, Y) is added as it is (so that its
    upstream gradient is the user's own)."""
    found = _softmax_then_ce(name, graph, defs)
    if found is None:
        return None
    p, user, ce = found
    tree = defs[user].expr
    if ce.args[1].id not in one_hot or shapes[user] != (1, 1) or not _added(tree, ce) \
            or sum(t == E.Name(p) for t in E.subtrees(tree)) != 1:
        return None
    return _fused(p, shapes[p][0], ce, user, loss)


def _added(tree: E.Expr, part: E.Expr) -> bool:
    """``part`` is a term of the sum ``tree`` (not subtracted, not scaled)."""
    if tree == part:
        return True
    if isinstance(tree, E.Apply) and tree.op == "+":
        return any(_added(a, part) for a in tree.args)
    return isinstance(tree, E.Apply) and tree.op == "-" and _added(tree.args[0], part)


def _fused(p: str, rows: sp.Expr, ce: E.Apply, user: str, loss: str) -> MExpr:
    f = logits_gradient(rows, Leaf(p), Leaf(ce.args[1].id))
    return had(Grad(user), f) if user != loss else f


def _softmax_then_ce(name: str, graph: Graph, defs: Mapping[str, NodeDef]) -> tuple[str, str, E.Apply] | None:
    """For the logits ``name`` of a softmax node P used only by one cross_entropy(P, Y), Y a name:
    P, the node using it, and that cross_entropy."""
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
    return p, users[0], ce[0]
