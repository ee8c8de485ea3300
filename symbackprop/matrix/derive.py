"""The forward pass and the reverse sweep in matrix notation.

Each node's value is an exact matrix; the gradient of a name is the sum, over the nodes it feeds,
of a formula in the upstream gradient (``Xᵀ · ∂L/∂Z``), each formula computed as it is printed.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from collections.abc import Mapping

import sympy as sp

from ..engine.graph import Graph, build
from ..engine.protocol import Forward, Kink, UpdateStep
from ..errors import EvaluationError, WorksheetError, at_place
from ..language.normal import normal_matrix
from ..worksheet.read import NodeDef, Worksheet
from .fused import across_nodes
from .matops import Evaluator, backward
from .mexpr import ONE, Grad, Matrix, MExpr, Op, shape_text, value


@dataclass(frozen=True)
class MatrixTerm:
    """One path of a gradient: the formula through ``child`` and its value."""

    child: str
    formula: MExpr
    value: Matrix


@dataclass(frozen=True)
class MatrixAdjoint:
    """∂L/∂name: its terms (one a child), its value, and the softmax-then-cross-entropy step
    (1/N)(P − Y) when the name is the logits of one (matrix/fused.py)."""

    name: str
    terms: tuple[MatrixTerm, ...]
    value: Matrix
    fused: MExpr | None = None


@dataclass(frozen=True)
class MatrixDerivation:
    """Everything a matrix sheet and its JSON need, computed once."""

    worksheet: Worksheet
    graph: Graph
    values: Mapping[str, Matrix]  # every given name and node, a 1×1 matrix for a number
    evaluator: Evaluator  # forward values of the parts of definitions
    adjoints: Mapping[str, MatrixAdjoint]
    backward_order: tuple[str, ...]
    wrt: tuple[str, ...]
    updates: tuple[UpdateStep, ...] = ()
    kinks: tuple[Kink, ...] = ()  # a matrix sheet notes a relu argument at 0 entry by entry

    @property
    def loss(self) -> str:
        return self.worksheet.loss

    @property
    def shapes(self) -> Mapping[str, tuple[int, int]]:
        return {n: m.shape for n, m in self.values.items()}

    def chain_rule(self, name: str) -> tuple[MExpr, ...]:
        return tuple(t.formula for t in self.adjoints[name].terms) if name in self.adjoints else ()

    def again(self, ws: Worksheet) -> MatrixDerivation:
        return derive_matrices(ws)

    @property
    def forward(self) -> Mapping[str, Forward]:
        """Values as the scalar derivation gives them: a number for a 1×1 value."""
        return {n: Forward(n, None, unwrap(m)) for n, m in self.values.items()}

    def gradient_matrix(self, name: str) -> Matrix:
        if name == self.loss:
            return sp.ImmutableMatrix([[1]])
        adj = self.adjoints.get(name)
        return adj.value if adj else sp.ImmutableMatrix.zeros(*self.values[name].shape)

    def gradient(self, name: str) -> sp.Expr | Matrix:
        """∂L/∂name: a number for a scalar, a matrix of the name's shape otherwise."""
        return unwrap(self.gradient_matrix(name))


def unwrap(m: Matrix) -> sp.Expr | Matrix:
    """A 1×1 matrix as its number; a matrix as itself."""
    return m[0, 0] if m.shape == (1, 1) else m


def as_matrix(v: sp.Expr | Matrix) -> Matrix:
    return v if isinstance(v, sp.MatrixBase) else sp.ImmutableMatrix([[v]])


def formulas(ws: Worksheet, order: tuple[str, ...], defs: Mapping[str, NodeDef],
             values: Evaluator) -> dict[str, dict[str, MExpr]]:
    """The reverse sweep in formulas: for each name, the formula of its gradient through each node
    it feeds (``values`` gives the shapes, and the numbers where there are some)."""
    paths: dict[str, dict[str, MExpr]] = {}
    for child in order:
        if child not in defs:
            continue
        upstream = ONE if child == ws.loss else Grad(child)
        nd = defs[child]
        found = at_place(nd.line, ws.path, f"node '{child}'", lambda: backward(nd.expr, child, upstream, values))
        for parent, f in found:
            mine = paths.setdefault(parent, {})
            mine[child] = Op("add", (mine[child], f)) if child in mine else f
    return paths


def derive_matrices(ws: Worksheet) -> MatrixDerivation:
    """Run the forward pass in matrices, then the reverse sweep from the loss."""
    graph = build(ws)
    env: dict[str, Matrix] = {}
    values = Evaluator(env, ws.conventions)
    given = {g.name: g for g in ws.given}
    defs = {n.name: n for n in ws.nodes}
    for name in graph.order:
        if name in given:
            if given[name].value is None:
                raise WorksheetError(f"given '{name}' has no value: a worksheet with matrices needs every number",
                                     ws.path, given[name].line)
            env[name] = as_matrix(given[name].value)
        else:
            nd = defs[name]
            env[name] = at_place(nd.line, ws.path, f"node '{name}'", lambda: normal_matrix(values(nd.expr)))
    loss = ws.loss
    if env[loss].shape != (1, 1):
        raise EvaluationError(f"the loss '{loss}' is a {shape_text(env[loss].shape)} matrix, not a number: take "
                              "sum(), mean() or a loss such as cross_entropy(P, Y)", ws.path, defs[loss].line)
    order = graph.from_loss(loss)
    paths = formulas(ws, order, defs, values)
    grads: dict[str, Matrix] = {loss: sp.ImmutableMatrix([[1]])}
    adjoints: dict[str, MatrixAdjoint] = {}
    for name in order:
        if name == loss:
            continue
        terms = []
        for child in graph.children[name]:
            f = paths.get(name, {}).get(child)
            if f is None or child not in grads:
                continue
            line = defs[child].line
            v = at_place(line, ws.path, f"∂{loss}/∂{name} through {child}",
                    lambda: normal_matrix(value(f, env, grads, values)))
            terms.append(MatrixTerm(child, f, v))
        total = terms[0].value
        for t in terms[1:]:
            total = normal_matrix(total + t.value)
        assert total.shape == env[name].shape, (name, total.shape, env[name].shape)
        grads[name] = total
        adjoints[name] = MatrixAdjoint(name, tuple(terms), total,
                                       across_nodes(name, graph, defs, loss, env, grads, values, total))
    return MatrixDerivation(ws, graph, MappingProxyType(env), values, MappingProxyType(adjoints), order,
                            graph.asked(ws))
