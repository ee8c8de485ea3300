"""Names and the loss of a worksheet: what may be a name, the defined name a typo meant, which
node is the loss, and the nodes that do not reach it (a warning, not an error)."""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Protocol

from ..errors import Caution, WorksheetError
from ..language import expr as E
from .yamlread import Map, YNode

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class NodeDef(Protocol):
    """A node as read.py defines it: its name, expression and line."""

    @property
    def name(self) -> str: ...
    @property
    def expr(self) -> E.Expr: ...
    @property
    def line(self) -> int: ...


class EdgeDef(Protocol):
    """An edge as read.py defines it: tail -> head, the derivative stated on it, its line."""

    @property
    def tail(self) -> str: ...
    @property
    def head(self) -> str: ...
    @property
    def expr(self) -> E.Expr: ...
    @property
    def line(self) -> int: ...


class Reader(Protocol):
    """What the worksheet reader lends: its errors (with the file), text, names and lists of names."""

    def fail(self, message: str, line: int | None) -> WorksheetError: ...

    def text(self, node: YNode | None, key: str, default: str) -> str: ...

    def name(self, name: str, line: int, where: str) -> str: ...

    def names_list(self, node: YNode | None, key: str, known: set[str]) -> tuple[str, ...] | None: ...


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a value, or None. A function's name can (``mse``, ``sum``): the
    parser tells a name from a call."""
    if not NAME_RE.match(name):
        return f"'{name}' is not a valid name (letters, digits and _, starting with a letter)"
    return E.keyword_problem(name)


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option a typo most likely meant: the same letters but for case and ``_`` (``x_1`` for
    ``x1``), else the most similar by difflib; None when nothing is close."""
    ordered = sorted(set(options))
    key = word.replace("_", "").lower()
    same = [o for o in ordered if o != word and o.replace("_", "").lower() == key]
    if same:
        return same[0]
    match = difflib.get_close_matches(word, ordered, n=1, cutoff=0.6)
    return match[0] if match else None


def undefined(name: str, known: Iterable[str], otherwise: str = "") -> str:
    """``undefined name 'x_1'; did you mean 'x1'?``, or ``otherwise`` after it when nothing is close."""
    hint = closest(name, known)
    return f"undefined name '{name}'" + (f"; did you mean '{hint}'?" if hint else otherwise)


def _parents(nodes: tuple[NodeDef, ...], edges: tuple[EdgeDef, ...]) -> dict[str, set[str]]:
    """Each computed name and the names it is computed from: a node's expression, an edge's tail,
    and the names in the derivative stated on an edge."""
    parents: dict[str, set[str]] = {n.name: set(E.names(n.expr)) for n in nodes}
    for e in edges:
        parents.setdefault(e.tail, set())
        parents.setdefault(e.head, set()).update({e.tail, *E.names(e.expr)})
    return parents


def _lines(nodes: tuple[NodeDef, ...], edges: tuple[EdgeDef, ...]) -> dict[str, int]:
    lines = {n.name: n.line for n in nodes}
    for e in edges:
        lines.setdefault(e.head, e.line)
        lines.setdefault(e.tail, e.line)
    return lines


def read_loss(node: YNode | None, root: Map, nodes: tuple[NodeDef, ...], edges: tuple[EdgeDef, ...],
              given_names: set[str], reader: Reader) -> tuple[str, tuple[str, ...]]:
    """``loss:``: a node's name, or ``{name: L, of: [yhat]}`` for an unspecified loss (then the
    second item lists what it is a function of). Without it, the one node that feeds no other."""
    computed = [n.name for n in nodes] + [e.head for e in edges]
    if node is None:
        return _last_node(nodes, edges, root, reader), ()
    if isinstance(node, Map):
        for key, line, _ in node.entries:
            if key not in ("name", "of"):
                raise reader.fail(f"loss: unknown key '{key}' (known: name, of)", line)
        name = reader.name(reader.text(node.get("name"), "loss name", "L"), node.line, "loss")
        of = node.get("of")
        if of is None:
            raise reader.fail("loss: an unspecified loss needs 'of:', the node(s) it is a function of", node.line)
        of_names = reader.names_list(of, "loss of", set(computed) | given_names) or ()
        if name in computed or name in given_names:
            raise reader.fail(f"loss: '{name}' is already a name of the graph", node.line)
        return name, of_names
    name = reader.text(node, "loss", "")
    if name not in computed:
        hint = closest(name, computed)
        what = "a given number" if name in given_names else f"did you mean '{hint}'?" if hint else "not defined"
        raise reader.fail(f"loss: '{name}' is not a node of the graph ({what})", node.line)
    return name, ()


def _last_node(nodes: tuple[NodeDef, ...], edges: tuple[EdgeDef, ...], root: Map, reader: Reader) -> str:
    """The loss when ``loss:`` is not given: the one computed name that feeds no other. Two such
    names are a mistake to point out: taking the last written would make every gradient 0 when a
    node after the loss only checks something."""
    parents = _parents(nodes, edges)
    used = set().union(*parents.values()) if parents else set()
    sinks = [n for n in dict.fromkeys([n.name for n in nodes] + [e.head for e in edges]) if n not in used]
    if len(sinks) == 1:
        return sinks[0]
    if len(sinks) > 1:
        listed = ", ".join(sinks[:-1]) + " and " + sinks[-1]
        raise reader.fail(f"no loss: is given, and {len(sinks)} nodes feed no other node ({listed}): name the "
                          f"loss, as in 'loss: {sinks[0]}'", _lines(nodes, edges)[sinks[-1]])
    if nodes:  # every node feeds another: a cycle, which the graph reports with its lines
        return nodes[-1].name
    raise reader.fail("loss: no loss is named, and the graph has no single last node", root.line)


def unreached(nodes: tuple[NodeDef, ...], edges: tuple[EdgeDef, ...], loss: str, loss_of: tuple[str, ...],
              given: set[str], file: str) -> tuple[Caution, ...]:
    """A warning for every node the loss does not depend on: its value is computed, but every
    gradient through it is 0, which is rarely what the exercise meant."""
    parents = _parents(nodes, edges)
    reached: set[str] = set()
    stack = [loss, *loss_of]
    while stack:
        name = stack.pop()
        if name not in reached:
            reached.add(name)
            stack.extend(parents.get(name, ()))
    lines = _lines(nodes, edges)
    return tuple(Caution(f"node '{n}' does not affect the loss", file, lines[n])
                 for n in parents if n not in reached and n not in given)
