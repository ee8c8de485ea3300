"""The forward pass and the reverse sweep, each step recorded as data for the sheet.

The adjoint of a node is the sum, over its children, of the child's adjoint times the local
derivative on that edge; the composed loss is never differentiated.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from collections.abc import Mapping

import sympy as sp

from ..language import expr as E
from ..errors import EvaluationError, SymbackpropError, at_place
from ..language.evaluate import evaluate, symbol
from ..language.ops import check_size
from ..worksheet.read import Worksheet
from .graph import Graph, build
from .protocol import Forward, Kink, UpdateStep
from .worked import one_step, substitute


@dataclass(frozen=True)
class Term:
    """One chain-rule term: ∂L/∂child · ∂child/∂node."""

    child: str
    local: sp.Expr  # ∂child/∂node in symbols
    local_value: sp.Expr  # the same at the known numbers
    upstream: sp.Expr  # ∂L/∂child, value
    contribution: sp.Expr


@dataclass(frozen=True)
class Adjoint:
    """∂L/∂name: its terms, its value and its one-step symbolic chain-rule form."""

    name: str
    terms: tuple[Term, ...]
    value: sp.Expr
    symbolic: sp.Expr


@dataclass(frozen=True)
class Derivation:
    """Everything the sheets and the JSON need, computed once."""

    worksheet: Worksheet
    graph: Graph
    forward: Mapping[str, Forward]
    known: Mapping[sp.Symbol, sp.Expr]  # symbol → number, for every name whose value is a number
    adjoints: Mapping[str, Adjoint]
    backward_order: tuple[str, ...]  # names with an adjoint, from the loss down
    wrt: tuple[str, ...]
    kinks: tuple[Kink, ...]
    prepared: Prepared  # the symbolic part, shared by the update steps and a class's variants
    updates: tuple[UpdateStep, ...] = ()  # the update: steps, taken by update.with_updates

    @property
    def loss(self) -> str:
        return self.worksheet.loss

    @property
    def shapes(self) -> Mapping[str, tuple[int, int]]:
        return {}

    def gradient(self, name: str) -> sp.Expr:
        """∂L/∂name; zero for a name the loss does not depend on."""
        adj = self.adjoints.get(name)
        return adj.value if adj else sp.S.Zero

    def chain_rule(self, name: str) -> tuple[sp.Expr, ...]:
        return (self.adjoints[name].symbolic,) if name in self.adjoints else ()

    def again(self, ws: Worksheet) -> Derivation:
        return derive(ws, self.prepared)


def adjoint_symbol(loss: str, name: str) -> sp.Symbol:
    """The symbol standing for ∂loss/∂name in one-step chain-rule forms."""
    return sp.Symbol(f"d{loss}/d{name}", real=True)


@dataclass(frozen=True)
class Prepared:
    """The part of a derivation that does not depend on the numbers: the graph, each node's
    rule, each edge's local derivative (symbolic, and rewritten in the child's own symbol).
    Computed once; ``derive`` then only substitutes numbers (the variants of a class)."""

    worksheet: Worksheet
    graph: Graph
    symbols: Mapping[str, sp.Symbol]
    rules: Mapping[str, sp.Expr]
    locals: Mapping[tuple[str, str], tuple[sp.Expr, sp.Expr]]  # (node, child) → (local, in child)
    order: tuple[str, ...]
    wrt: tuple[str, ...]


def prepare(ws: Worksheet) -> Prepared:
    """Build the graph, the node rules and every local derivative, symbolically."""
    if ws.has_matrices:
        raise SymbackpropError("this worksheet gives matrices: it is solved in matrix notation (solve, or "
                               "matderive.derive_matrices), not in scalars", ws.path)
    graph = build(ws)
    conventions = ws.conventions
    symbols = {name: symbol(name) for name in graph.order}
    rules = {n.name: at_place(n.line, ws.path, f"node '{n.name}'", lambda: evaluate(n.expr, symbols, conventions))
             for n in ws.nodes}
    loss = ws.loss
    order = graph.from_loss(loss)
    edge_rules = {(e.tail, e.head): e for e in ws.edges}
    locals_: dict[tuple[str, str], tuple[sp.Expr, sp.Expr]] = {}
    on_path = set(order)
    derivatives = {child: local_derivatives(rules[child], [symbols[p] for p in graph.nodes[child].parents])
                   for child in on_path if child in rules}
    for name in order:
        for child in graph.children[name]:
            if child not in on_path:
                continue
            if graph.nodes[child].kind == "loss":
                local = adjoint_symbol(loss, name)
            elif (name, child) in edge_rules:
                e = edge_rules[(name, child)]
                local = at_place(e.line, ws.path, f"edge {name} -> {child}", lambda: evaluate(e.expr, symbols, conventions))
            else:
                local = derivatives[child][symbols[name]]
            rule = rules.get(child)
            in_child = local.xreplace({rule: symbols[child]}) if rule is not None and not rule.is_Symbol else local
            locals_[(name, child)] = (local, in_child)
    return Prepared(ws, graph, MappingProxyType(symbols), MappingProxyType(rules), MappingProxyType(locals_),
                    order, graph.asked(ws))


def derive(ws: Worksheet, prepared: Prepared | None = None) -> Derivation:
    """Run the forward pass and the reverse sweep; ``prepared`` (from ``prepare`` on a worksheet
    with the same graph) skips the symbolic work."""
    p = prepared or prepare(ws)
    graph, symbols, loss = p.graph, p.symbols, ws.loss
    conventions = ws.conventions
    values: dict[str, sp.Expr] = {}
    numbers: dict[str, sp.Expr] = {}  # the values that are numbers
    forward: dict[str, Forward] = {}
    given = {g.name: g for g in ws.given}
    node_defs = {n.name: n for n in ws.nodes}
    for name in graph.order:
        kind = graph.nodes[name].kind
        if kind == "given" and given[name].value is not None:
            value = given[name].value
        elif kind == "node":
            nd = node_defs[name]
            value = at_place(nd.line, ws.path, f"node '{name}'", lambda: evaluate(nd.expr, values, conventions))
        else:
            value = symbols[name]
        values[name] = value
        worked: tuple[E.Expr, E.Expr] | tuple[()] = ()
        if kind == "node" and value.is_number:
            substituted = substitute(node_defs[name].expr, numbers)
            worked = (substituted, one_step(substituted, numbers, conventions))
        if value.is_number:
            numbers[name] = value
        forward[name] = Forward(name, p.rules.get(name), value, *worked)
    known = {symbols[n]: v for n, v in values.items() if v.is_number}

    adjoints: dict[str, Adjoint] = {}
    kinks: list[Kink] = []
    for name in p.order:
        if name == loss:
            adjoints[name] = Adjoint(name, (), sp.S.One, sp.S.One)
            continue
        terms = []
        for child in graph.children[name]:
            if child not in adjoints:
                continue
            local, in_child = p.locals[(name, child)]
            line = graph.nodes[child].line
            local_value = at_place(line, ws.path, f"∂{child}/∂{name}", lambda: check_size(in_child.xreplace(known)))
            if local_value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise EvaluationError(f"∂{child}/∂{name} is undefined at the given numbers", ws.path, line)
            kinks.extend(_kinks(local, known, child, name))
            upstream = adjoints[child].value
            terms.append(Term(child, local, local_value, upstream, check_size(upstream * local_value)))
        value = sp.Add(*(t.contribution for t in terms))
        symbolic = sp.Add(*(adjoint_symbol(loss, t.child) * t.local if t.child != loss else t.local
                            for t in terms))
        adjoints[name] = Adjoint(name, tuple(terms), value, symbolic)

    return Derivation(
        worksheet=ws,
        graph=graph,
        forward=MappingProxyType(forward),
        known=MappingProxyType(known),
        adjoints=MappingProxyType(adjoints),
        backward_order=p.order,
        wrt=p.wrt,
        kinks=tuple(dict.fromkeys(kinks)),
        prepared=p,
    )


def local_derivatives(rule: sp.Expr, xs: list[sp.Symbol]) -> dict[sp.Symbol, sp.Expr]:
    """∂rule/∂x for each parent x; a sum is split by symbol once, not searched once per parent."""
    if not rule.is_Add:
        return {x: local_derivative(rule, x) for x in xs}
    wanted = set(xs)
    terms: dict[sp.Symbol, list[sp.Expr]] = {x: [] for x in xs}
    for a in rule.args:
        for x in a.free_symbols & wanted:
            terms[x].append(a)
    return {x: sp.Add(*(local_derivative(a, x) for a in terms[x])) for x in xs}


def local_derivative(rule: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """∂rule/∂x, equal to ``sympy.diff``; sums and products skip the factors free of x, which
    SymPy would differentiate one by one (a wide layer's sums made that quadratic)."""
    if not rule.has(x):
        return sp.S.Zero
    if rule.is_Add:
        return sp.Add(*(local_derivative(a, x) for a in rule.args if a.has(x)))
    if rule.is_Mul:
        args = rule.args
        return sp.Add(*(sp.Mul(*args[:i], local_derivative(a, x), *args[i + 1:])
                        for i, a in enumerate(args) if a.has(x)))
    return sp.diff(rule, x)


def _kinks(local: sp.Expr, known: Mapping[sp.Symbol, sp.Expr], child: str, name: str) -> list[Kink]:
    """Where a step (ReLU', max', min') or |x|' sits exactly on its kink, record the value used."""
    out = []
    for h in sorted(local.atoms(sp.Heaviside, sp.sign), key=sp.default_sort_key):
        if h.args[0].xreplace(known).is_zero:
            used = sp.S.Zero if isinstance(h, sp.sign) else h.args[1]
            out.append(Kink(child, name, h.args[0], used))
    return out
