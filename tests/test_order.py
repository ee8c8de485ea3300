"""The order of the names: the forward pass visits a name after all its parents, the reverse sweep
after all the children it feeds, and ties keep the order of the worksheet so that sheets are stable."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from support.randgraph import generate, names_in
from symbackprop.engine.derive import derive
from symbackprop.engine.graph import build
from symbackprop.worksheet.read import loads

DIAMOND = """\
given:
  x: 2
  w: 3
nodes:
  a: w*x
  b: x + 1
  c: a*b
  L: c**2
loss: L
"""


def first_ready(names: Sequence[str], waits_for: Mapping[str, set[str]]) -> tuple[str, ...]:
    """Repeatedly take the first of ``names`` whose every name in ``waits_for`` is taken: the
    stable order, written the slow obvious way to check the engine's heap against."""
    left, done = list(names), []
    while left:
        name = next(n for n in left if waits_for[n] <= set(done))
        left.remove(name)
        done.append(name)
    return tuple(done)


def test_diamond_forward_order() -> None:
    graph = build(loads(DIAMOND))
    assert graph.order == ("x", "w", "a", "b", "c", "L")
    assert graph.children["x"] == ("a", "b")  # fan-out
    assert graph.nodes["c"].parents == ("a", "b")  # fan-in


def test_diamond_backward_order() -> None:
    # x feeds both a and b, so it waits for both; w, freed by a, comes before b by worksheet order.
    assert derive(loads(DIAMOND)).backward_order == ("L", "c", "a", "w", "b", "x")


def test_node_written_before_its_parents() -> None:
    ws = loads("given:\n  x: 1\n  y: 2\nnodes:\n  L: u + v\n  v: u*y\n  u: x + y\nloss: L\n")
    assert build(ws).order == ("x", "y", "u", "v", "L")
    assert derive(ws).backward_order == ("L", "v", "u", "x", "y")


def test_ties_follow_the_worksheet() -> None:
    def order(first: str, second: str) -> tuple[str, ...]:
        ws = loads(f"given:\n  x: 1\n  y: 2\nnodes:\n  {first}: x*y\n  {second}: x + y\n  L: p*q\nloss: L\n")
        return build(ws).order

    assert order("p", "q") == ("x", "y", "p", "q", "L")
    assert order("q", "p") == ("x", "y", "q", "p", "L")


def test_repeated_parent_and_dead_node() -> None:
    ws = loads("given:\n  x: 1\n  y: 2\nnodes:\n  p: x*x + y\n  q: y + 1\n  L: p**2\nloss: L\n")
    graph = build(ws)
    assert graph.order == ("x", "y", "p", "q", "L")
    assert graph.children["x"] == ("p",)
    # q does not reach the loss: the reverse sweep leaves it out.
    assert derive(ws).backward_order == ("L", "p", "x", "y")


def test_random_graphs_are_ordered() -> None:
    shuffled = 0
    for seed in range(20):
        g = generate(seed)
        shuffled += g.yaml_order != list(g.nodes)
        parents = {name: set() for name in g.given} | {name: names_in(tree) for name, tree in g.nodes.items()}
        d = derive(loads(g.text, g.file))
        forward = d.graph.order
        assert forward == first_ready([*g.given, *g.yaml_order], parents), g.text
        assert all(forward.index(p) < forward.index(n) for n in forward for p in parents[n]), g.text

        needed, stack = set(), [g.loss]  # the loss and its ancestors
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack.extend(parents[name])
        children = {n: {c for c in needed if n in parents[c]} for n in needed}
        assert d.backward_order[0] == g.loss
        assert d.backward_order == first_ready([n for n in forward if n in needed], children), g.text
    assert shuffled, "no seed writes a node before its parents"
