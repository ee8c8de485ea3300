"""The derivation of a shapes-only worksheet: matrices declared by their shapes (``N×D_in``), no
numbers, every gradient a formula in matrix notation.

The forward pass computes shapes (matrix/dims.py), checking that they agree by name; the reverse
sweep is the one of matrix/derive.py, with the same backward rules (matops.py), so a formula
here is the formula the numeric sheet writes. Each gradient's closed form replaces every
∂L/∂(node) in it by that node's own formula, down to given names and node names.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sympy as sp

from ..engine.graph import Graph, build
from ..engine.protocol import Forward, Kink, UpdateStep
from ..errors import EvaluationError, at_place
from ..worksheet.read import Worksheet
from .derive import formulas
from .dims import SCALAR, Shape, Shaped, as_expr, dim, shape_rule
from .fused import across_nodes_declared
from .matops import Evaluator, MatOp
from .mexpr import ONE, Const, Grad, Leaf, Matrix, MExpr, Ones, Op, Part, broadcast, shape_text

Value = Shaped | Matrix  # a matrix known by its shape, or a number written in an expression


class ShapeEvaluator(Evaluator):
    """The shape of a node's expression and of each of its parts (``values`` as matops.backward
    asks it); a part without names (``-1``, ``1/2``) keeps its exact value."""

    def forward(self, op: MatOp, args: list[Value]) -> Value:
        if all(isinstance(a, sp.MatrixBase) for a in args):
            return super().forward(op, args)
        shapes = [tuple(as_expr(d) for d in a.shape) for a in args]
        return Shaped(shape_rule(op.name)(*shapes))


@dataclass(frozen=True)
class ShapeTerm:
    """One path of a gradient: its formula through ``child``."""

    child: str
    formula: MExpr


@dataclass(frozen=True)
class ShapeAdjoint:
    """∂L/∂name: one term a node it feeds; ``fused``: the softmax-then-cross-entropy step
    (1/N)(P − Y) when the name is the logits of one and Y is declared one-hot."""

    name: str
    terms: tuple[ShapeTerm, ...]
    fused: MExpr | None = None


@dataclass(frozen=True)
class ShapeDerivation:
    """What a shapes-only sheet and its JSON need, computed once."""

    worksheet: Worksheet
    graph: Graph
    values: Mapping[str, Value]
    evaluator: ShapeEvaluator
    adjoints: Mapping[str, ShapeAdjoint]
    backward_order: tuple[str, ...]
    wrt: tuple[str, ...]
    closed: Mapping[str, MExpr]  # each gradient in closed form (gradient)
    updates: tuple[UpdateStep, ...] = ()
    kinks: tuple[Kink, ...] = ()

    @property
    def loss(self) -> str:
        return self.worksheet.loss

    @property
    def shapes(self) -> Mapping[str, Shape]:
        return {n: shape_of(v) for n, v in self.values.items()}

    @property
    def forward(self) -> Mapping[str, Forward]:
        return {}  # no values

    @property
    def dimensions(self) -> tuple[sp.Symbol, ...]:
        """The dimension names, in the order the given matrices first write them."""
        found: dict[sp.Symbol, None] = {}
        for g in self.worksheet.given:
            for d in g.shape or ():
                if isinstance(d, str):
                    found.setdefault(dim(d), None)
        return tuple(found)

    @property
    def one_hot(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.worksheet.given if g.one_hot)

    def chain_rule(self, name: str) -> tuple[MExpr, ...]:
        return tuple(t.formula for t in self.adjoints[name].terms) if name in self.adjoints else ()

    def gradient(self, name: str) -> MExpr:
        """∂L/∂name in closed form, down to given names and node names (0 where the loss does not
        depend on the name)."""
        return self.closed.get(name, Const(sp.S.Zero))

    def formula_shape(self, f: MExpr) -> Shape:
        """The shape of a formula, as mexpr.value would compute it with numbers."""
        if isinstance(f, (Leaf, Grad)):
            return shape_of(self.values[f.name])
        if isinstance(f, Part):
            return shape_of(self.evaluator(f.tree))
        if isinstance(f, Const):
            return SCALAR
        if isinstance(f, Ones):
            return f.shape
        shapes = [self.formula_shape(a) for a in f.args]
        if f.kind == "matmul":
            return shapes[0][0], shapes[1][1]
        if f.kind == "T":
            return shapes[0][1], shapes[0][0]
        if f.kind == "colsum":
            return sp.S.One, shapes[0][1]
        if f.kind == "rowsum":
            return shapes[0][0], sp.S.One
        if f.kind == "total":
            return SCALAR
        out = shapes[0]
        for s in shapes[1:]:
            out = broadcast(out, s, f.kind)
        return out

    def again(self, ws: Worksheet) -> ShapeDerivation:
        return derive_shapes(ws)


def shape_of(v: Value) -> Shape:
    return (as_expr(v.shape[0]), as_expr(v.shape[1]))


def substitute(f: MExpr, grad: Callable[[str], MExpr]) -> MExpr:
    """``f`` with every ∂L/∂name in it replaced by ``grad(name)``."""
    if isinstance(f, Grad):
        return grad(f.name)
    if isinstance(f, Op):
        return Op(f.kind, tuple(substitute(a, grad) for a in f.args), f.at_zero)
    return f


def lifted(f: MExpr) -> MExpr:
    """``f`` with each number factor taken out of a matrix product, Xᵀ ((1/N) A) = (1/N) Xᵀ A, as a
    reader writes a closed form."""
    if not isinstance(f, Op):
        return f
    args = tuple(lifted(a) for a in f.args)
    if f.kind == "matmul":
        scale = sp.S.One
        parts = []
        for a in args:
            if isinstance(a, Op) and a.kind == "had" and isinstance(a.args[0], Const):
                scale, a = scale * a.args[0].value, a.args[1]
            parts.append(a)
        product = Op("matmul", tuple(parts))
        return product if scale == 1 else Op("had", (Const(scale), product))
    return Op(f.kind, args, f.at_zero)


def derive_shapes(ws: Worksheet) -> ShapeDerivation:
    """The forward pass in shapes, then the reverse sweep in formulas from the loss."""
    graph = build(ws)
    env: dict[str, Value] = {}
    values = ShapeEvaluator(env, ws.conventions)  # type: ignore[arg-type]
    given = {g.name: g for g in ws.given}
    defs = {n.name: n for n in ws.nodes}
    for name in graph.order:
        g = given.get(name)
        if g is not None:
            env[name] = Shaped((dim(g.shape[0]), dim(g.shape[1])), g.one_hot) if g.shape else Shaped(SCALAR)
        else:
            nd = defs[name]
            env[name] = at_place(nd.line, ws.path, f"node '{name}'", lambda: values(nd.expr))
    loss = ws.loss
    if shape_of(env[loss]) != SCALAR:
        raise EvaluationError(f"the loss '{loss}' is a {shape_text(env[loss].shape)} matrix, not a number: take "
                              "sum(), mean() or a loss such as cross_entropy(P, Y)", ws.path, defs[loss].line)
    order = graph.from_loss(loss)
    paths = formulas(ws, order, defs, values)
    shapes = {n: shape_of(v) for n, v in env.items()}
    one_hot = {g.name for g in ws.given if g.one_hot}
    adjoints: dict[str, ShapeAdjoint] = {}
    closed: dict[str, MExpr] = {loss: ONE}
    for name in order:  # from the loss down: every node a name feeds comes first
        if name == loss:
            continue
        mine = paths.get(name, {})
        terms = tuple(ShapeTerm(c, mine[c]) for c in graph.children[name] if c in mine and c in closed)
        adj = adjoints[name] = ShapeAdjoint(name, terms, across_nodes_declared(name, graph, defs, loss, shapes, one_hot))
        parts = [adj.fused] if adj.fused is not None else [t.formula for t in terms]
        total = substitute(parts[0], closed.__getitem__)
        for f in parts[1:]:
            total = Op("add", (total, substitute(f, closed.__getitem__)))
        closed[name] = total
    return ShapeDerivation(ws, graph, MappingProxyType(env), values, MappingProxyType(adjoints), order,
                           graph.asked(ws), MappingProxyType(closed))
