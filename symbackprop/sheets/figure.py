"""The computational graph as a figure: what each node and edge shows, and where it goes.

``build`` collects the names (as the sheet writes them), the forward values, the gradients and
the derivatives stated on edges; ``Figure.placed(show)`` lays out one view for TikZ (coordinates
in centimetres, see graphlayout.py). The Mermaid template needs no coordinates, only the
plain-text labels: GitHub's Mermaid does not render math.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from collections.abc import Callable, Mapping

import sympy as sp

from ..engine.protocol import Derivation
from ..errors import SymbackpropError
from ..matrix.dims import as_expr
from .graphlayout import Box, draw
from .linebreak import visual_length
from .plaintext import plain

MAX_NODES = 60  # a larger graph is not drawn: no page shows it readably
MAX_NUMBER = 14  # visible characters of a value or gradient in the figure; a longer one is left out
SHOWS = ("none", "given", "all")  # what a view writes beside the nodes
NODE_CHAR = 0.2  # estimated centimetres per visible character: a node's name
NOTE_CHAR = 0.16  # a value or gradient beside a node (\footnotesize)
LABEL_CHAR = 0.17  # a derivative on an edge (\small)
NODE_PAD = 0.3  # a node's inner space, left and right together
NODE_MIN = 0.8  # a node's least width
NODE_HEIGHT = 0.62
NOTE_HEIGHT = 0.36
FRACTION_HEIGHT = 0.62  # a value or gradient with a fraction in it
LABEL_HEIGHT = 0.42
LABEL_SEP = 0.1  # an edge label's inner space, left and right together


@dataclass(frozen=True)
class FigureNode:
    """One name of the graph: ``tex`` and ``text`` label it in LaTeX and in plain text; ``value`` and
    ``grad`` (LaTeX) and their plain forms are empty unless a number; ``shape`` (``2×3``) is a
    matrix's, which the figure names instead of its values; ``given``: the worksheet gives it."""

    id: str
    name: str
    role: str  # given | node | loss
    tex: str
    text: str
    value: str
    value_text: str
    grad: str
    grad_text: str
    given: bool
    shape: str = ""


@dataclass(frozen=True)
class FigureEdge:
    """tail → head (node ids); ``label`` is the local derivative when the worksheet states it on the edge."""

    tail: str
    head: str
    label: str
    label_text: str


@dataclass(frozen=True)
class PlacedNode:
    node: FigureNode
    x: float
    y: float
    above: str  # LaTeX written above the node, or ""
    below: str
    above_style: str = "fwd"  # its TikZ style: fwd (a forward value), or size (a matrix's shape)


@dataclass(frozen=True)
class PlacedGhost:
    """A copy of a node at the start of a later band of a folded figure, where its edges go on."""

    id: str
    node: FigureNode
    x: float
    y: float


@dataclass(frozen=True)
class PlacedEdge:
    edge: FigureEdge
    source: str  # the id it starts from: its tail's, or a ghost's
    bends: tuple[tuple[float, float], ...]
    label_at: tuple[float, float] | None


@dataclass(frozen=True)
class Placement:
    nodes: tuple[PlacedNode, ...]
    ghosts: tuple[PlacedGhost, ...]
    edges: tuple[PlacedEdge, ...]


@dataclass(frozen=True)
class Figure:
    """The graph to draw; ``values``: the solution's figure writes values above and gradients below;
    ``clipped``: some value or gradient was too long to write in it."""

    nodes: tuple[FigureNode, ...]
    edges: tuple[FigureEdge, ...]
    loss_text: str
    values: bool
    clipped: bool

    @property
    def show(self) -> str:
        """The solution's view: every value and gradient, or names only."""
        return "all" if self.values else "none"

    @property
    def shapes(self) -> bool:
        """Some node is a matrix, named by its shape in a view with values."""
        return any(n.shape for n in self.nodes)

    def text_labels(self, show: str) -> tuple[tuple[FigureNode, tuple[str, ...]], ...]:
        """Each node's plain-text label in one view, as lines: its name (= its value), then
        ∂L/∂name = its gradient; a matrix's name, then its shape ("2×3 matrix")."""
        out = []
        for n in self.nodes:
            above, below = _notes(n, show)
            if n.shape:
                lines = [n.text] + ([n.shape + " matrix"] if above else [])
            else:
                lines = [n.text + (_relation(n.value_text) if above else "")]
            if below:
                lines.append(f"∂{self.loss_text}/∂{n.text}" + _relation(n.grad_text))
            out.append((n, tuple(lines)))
        return tuple(out)

    def placed(self, show: str) -> Placement:
        """Coordinates for one view: ``none`` (names only), ``given`` (the given values, as an
        exercise shows them) or ``all`` (forward values above, gradients below)."""
        notes = {n.id: _notes(n, show) for n in self.nodes}
        boxes = {n.id: _box(n.tex, *notes[n.id]) for n in self.nodes}
        labels = [(_width(e.label, LABEL_CHAR) + LABEL_SEP, LABEL_HEIGHT) if e.label else None for e in self.edges]
        drawing = draw([n.id for n in self.nodes], [(e.tail, e.head) for e in self.edges], boxes, labels)
        by_id = {n.id: n for n in self.nodes}
        return Placement(
            nodes=tuple(PlacedNode(n, *drawing.at[n.id], *notes[n.id], "size" if n.shape else "fwd")
                        for n in self.nodes),
            ghosts=tuple(PlacedGhost(g, by_id[n], *drawing.at[g]) for g, n in drawing.ghosts),
            edges=tuple(PlacedEdge(e, *rest) for e, *rest in zip(self.edges, drawing.sources, drawing.bends, drawing.labels)),
        )


def build(d: Derivation, names: Mapping[str, str], tex: Callable[[sp.Expr], str],
          approx: Callable[[sp.Expr], str], edge_labels: Mapping[tuple[str, str], str],
          values: bool) -> Figure | None:
    """The figure of a derivation's graph (None when it has more than MAX_NODES names).

    ``names``: the sheet's LaTeX of each name; ``tex``: its printer of values; ``approx``: its
    decimal form of a value ("" unless the worksheet asks for decimals), written for a value too
    long to fit; ``edge_labels``: the LaTeX of each derivative stated on an edge, by (tail, head)."""
    graph = d.graph
    if len(graph.order) > MAX_NODES:
        return None
    ids = {n: f"n{i}" for i, n in enumerate(graph.order)}
    given = {g.name for g in d.worksheet.given if g.value is not None}
    stated = {(e.tail, e.head): e.text for e in d.worksheet.edges}
    nodes = []
    clipped = False
    for n in graph.order:
        value = d.forward[n].value if n in d.forward else None  # none in a shapes-only worksheet
        if value is None or isinstance(value, sp.MatrixBase):  # its shape, which no one could take for its value
            rows, cols = d.shapes[n]
            shape = f"{rows}×{cols}"
            tex_shape = rf"{tex(as_expr(rows))} \times {tex(as_expr(cols))}\ \text{{matrix}}"
            shown = [(tex_shape, shape) if (rows, cols) != (1, 1) else None, None]
        else:
            shape = ""
            shown = [_number(v, tex, approx) for v in (value, d.gradient(n))]
            clipped = clipped or ("", "") in shown
        (value_tex, value_text), (grad, grad_text) = (s or ("", "") for s in shown)
        role = "loss" if n == d.loss else "given" if graph.nodes[n].kind == "given" else "node"
        nodes.append(FigureNode(ids[n], n, role, names[n], plain_name(names[n], n), value_tex, value_text,
                                grad, grad_text, n in given, shape))
    edges = tuple(
        FigureEdge(ids[p], ids[c], edge_labels.get((p, c), ""), _safe(stated.get((p, c), "")))
        for c in graph.order for p in dict.fromkeys(graph.nodes[c].parents)
    )
    return Figure(tuple(nodes), edges, plain_name(names.get(d.loss, d.loss), d.loss), values, clipped)


def _number(value: sp.Expr, tex: Callable[[sp.Expr], str],
            approx: Callable[[sp.Expr], str]) -> tuple[str, str] | None:
    """A number as the figure writes it, in LaTeX and in plain text: ("", "") if too long to fit,
    None if the value is not a number."""
    if not value.is_number:
        return None
    exact = tex(value)
    if _visible(exact) <= MAX_NUMBER:
        decimal = _DECIMAL.fullmatch(exact)  # the sheet writes this value as a decimal
        return exact, (("≈ " if decimal.group(1) else "") + decimal.group(2) if decimal else _safe(plain(value)))
    decimal = approx(value)
    return (r"\approx " + decimal, "≈ " + decimal) if decimal else ("", "")


def _notes(n: FigureNode, show: str) -> tuple[str, str]:
    """What a view writes above and below a node."""
    if show not in SHOWS:
        raise SymbackpropError(f"the figure's view '{show}' is not one of {', '.join(SHOWS)}", "a template")
    if show == "all":
        return n.value, n.grad
    if show == "given" and n.given:
        return n.value, ""
    return "", ""


def _visible(tex: str) -> int:
    return visual_length(tex)


def _width(tex: str, per_char: float) -> float:
    return _visible(tex) * per_char


def _box(name: str, above: str, below: str) -> Box:
    width = max(NODE_MIN, _width(name, NODE_CHAR) + NODE_PAD, _width(above, NOTE_CHAR), _width(below, NOTE_CHAR))
    return Box(width / 2, NODE_HEIGHT / 2 + _height(above), NODE_HEIGHT / 2 + _height(below))


def _height(note: str) -> float:
    if not note:
        return 0.0
    return FRACTION_HEIGHT if r"\frac" in note else NOTE_HEIGHT


# -- plain text for Mermaid -----------------------------------------------------------------------
_GREEK = dict(zip(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon "
    "phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split(),
    "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩ"))
_ACCENT = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "dot": "\u0307", "vec": "\u20d7"}
_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx,", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,"))
_SUP = dict(zip("0123456789+-=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ"))
_GROUP = r"\{([^{}]*)\}"


def plain_name(tex: str, name: str) -> str:
    """A name's LaTeX as plain Unicode (``w_{11}`` → w₁₁, ``\\hat{y}`` → ŷ, ``\\alpha`` → α), or the
    worksheet's own name when the LaTeX holds anything else."""
    t = re.sub(r"\\(?:mathrm|text|operatorname|mathit)" + _GROUP, r"\1", tex)
    t = re.sub(r"\\([A-Za-z]+)" + _GROUP, lambda m: _accent(m.group(1), m.group(2)), t)
    t = re.sub(r"\\([A-Za-z]+)", lambda m: _GREEK.get(m.group(1), m.group(0)), t)
    t = re.sub(r"([_^])(?:" + _GROUP + r"|(.))", lambda m: _script(m.group(1), m.group(2) or m.group(3)), t)
    return unicodedata.normalize("NFC", t) if re.fullmatch(r"[\w\u0300-\u036f\u20d7₀-ₜᵢ-ᵥⱼ⁰-ⁿ,'′]+", t) else name


def _accent(command: str, body: str) -> str:
    if command in _ACCENT and len(body) == 1:
        return body + _ACCENT[command]
    return "\\" + command + "{" + body + "}"


def _script(kind: str, body: str) -> str:
    table = _SUB if kind == "_" else _SUP
    return "".join(table[c] for c in body) if all(c in table for c in body) else "\\" + body


def _relation(text: str) -> str:
    """`` = value``, or `` ≈ value`` for a rounded one (never "= ≈")."""
    return " " + text if text.startswith("≈") else " = " + text


_DECIMAL = re.compile(r"(\\approx )?(-?\d+(?:\.\d+)?)")


def _safe(text: str) -> str:
    """Text for a quoted Mermaid label: its quotes and angle brackets as Mermaid's entity codes."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
