"""The computational graph of a worksheet: nodes and edges in a stable topological order."""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from types import MappingProxyType
from collections.abc import Mapping

from ..language import expr as E
from ..errors import WorksheetError
from ..worksheet.read import Worksheet


@dataclass(frozen=True)
class GraphNode:
    """One name of the graph. ``kind``: given (a leaf with a value or a symbol), node (an
    expression), edge (known only through the derivatives on its edges), loss (unspecified)."""

    name: str
    kind: str
    parents: tuple[str, ...]
    line: int | None


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order (ties broken by the order of the worksheet) and their children."""

    worksheet: Worksheet
    order: tuple[str, ...]
    nodes: Mapping[str, GraphNode]
    children: Mapping[str, tuple[str, ...]]

    def ancestors_of(self, name: str) -> set[str]:
        """Every name the given one depends on (itself excluded)."""
        seen: set[str] = set()
        stack = list(self.nodes[name].parents)
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(self.nodes[n].parents)
        return seen

    def from_loss(self, loss: str) -> tuple[str, ...]:
        """The loss and its ancestors, each after every child it feeds (the order of the reverse
        sweep); ties in worksheet order."""
        needed = self.ancestors_of(loss) | {loss}
        index = {n: i for i, n in enumerate(self.order)}
        waiting = {n: sum(1 for c in self.children[n] if c in needed) for n in needed}
        ready = [index[loss]]
        order: list[str] = []
        while ready:
            name = self.order[heapq.heappop(ready)]
            order.append(name)
            for p in dict.fromkeys(self.nodes[name].parents):
                waiting[p] -= 1
                if waiting[p] == 0:
                    heapq.heappush(ready, index[p])
        return tuple(order)

    def asked(self, ws: Worksheet) -> tuple[str, ...]:
        """The gradients asked: the worksheet's ``wrt:``, or every given name and every node but the
        loss."""
        if ws.wrt is not None:
            return tuple(ws.wrt)
        given = {g.name: None for g in ws.given}
        return tuple(dict.fromkeys([*given, *(n for n in self.order if n != ws.loss and n not in given)]))


def build(ws: Worksheet) -> Graph:
    """Collect every name with its parents and sort them; a cycle is a WorksheetError."""
    declared: dict[str, GraphNode] = {}
    incoming: dict[str, list[str]] = {}
    edge_line: dict[str, int] = {}
    for e in ws.edges:
        incoming.setdefault(e.head, []).append(e.tail)
        edge_line.setdefault(e.tail, e.line)
        edge_line.setdefault(e.head, e.line)
    for g in ws.given:
        declared[g.name] = GraphNode(g.name, "given", tuple(incoming.get(g.name, ())), g.line)
    for n in ws.nodes:
        declared[n.name] = GraphNode(n.name, "node", tuple(E.names(n.expr)), n.line)
    for e in ws.edges:
        for name in (e.tail, e.head):
            if name not in declared:
                declared[name] = GraphNode(name, "edge", tuple(incoming.get(name, ())), edge_line[name])
    if ws.loss_unspecified:
        declared[ws.loss] = GraphNode(ws.loss, "loss", ws.loss_of, None)
    order = _toposort(declared, ws.path)
    children: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for p in dict.fromkeys(declared[name].parents):
            children[p].append(name)
    return Graph(
        worksheet=ws,
        order=order,
        nodes=MappingProxyType(declared),
        children=MappingProxyType({k: tuple(v) for k, v in children.items()}),
    )


def _toposort(nodes: Mapping[str, GraphNode], file: str) -> tuple[str, ...]:
    """Kahn's algorithm, iterative, ties broken by declaration order: deterministic."""
    index = {name: i for i, name in enumerate(nodes)}
    pending = {name: len(set(n.parents)) for name, n in nodes.items()}
    kids: dict[str, list[str]] = {name: [] for name in nodes}
    for name, n in nodes.items():
        for p in set(n.parents):
            kids[p].append(name)
    ready = [index[name] for name, k in pending.items() if k == 0]
    heapq.heapify(ready)
    names = list(nodes)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for c in kids[name]:
            pending[c] -= 1
            if pending[c] == 0:
                heapq.heappush(ready, index[c])
    if len(order) < len(nodes):
        raise WorksheetError(_describe_cycle(nodes, set(nodes) - set(order)), file,
                             min((nodes[n].line for n in nodes if n not in order and nodes[n].line), default=None))
    return tuple(order)


def _describe_cycle(nodes: Mapping[str, GraphNode], stuck: set[str]) -> str:
    """Walk parents inside the stuck set until a name repeats: that loop is a cycle."""
    start = min(stuck, key=list(nodes).index)
    path = [start]
    while True:
        nxt = next(p for p in nodes[path[-1]].parents if p in stuck)
        if nxt in path:
            loop = path[path.index(nxt):] + [nxt]
            return "the graph has a cycle: " + " <- ".join(loop)
        path.append(nxt)
