"""What a written line is about: the quantity on its left (a node's value, a gradient of the loss,
a local derivative) and the worksheet names behind the writer's names.

Names match tolerantly — ``x_{1}``, ``x_1``, ``x1``, ``X_1``, a case difference when only one name
fits, ``\\hat{y}`` for ``yhat``, OCR's ``o`` for 0 in a subscript, ``net_{h1}`` or
``\\text{net}_{h1}`` for net_h1 — then through the worksheet's ``aliases:``; a name that fits none,
or several, is reported, never guessed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Mapping

import sympy as sp

from ..engine.derive import Derivation
from ..engine.update import with_updates
from ..language.evaluate import symbol
from .latexmath import parse_atom
from .tree import Atom, Deriv, Grad, Lexicon, Node, Num
from .tokens import Unreadable
from ..sheets.printing import default_name_latex

LEARNING_RATE = ("eta", "alpha", "lr")  # names a writer gives the update's learning rate

_OCR_DIGITS = str.maketrans({"o": "0", "O": "0", "l": "1", "I": "1"})


class UnknownName(Unreadable):
    """A written name that is no worksheet name (nor an alias of one)."""

    def __init__(self, written: str, hint: str = "") -> None:
        super().__init__(f"'{written}' is no name of the worksheet{hint}")
        self.written = written


@dataclass(frozen=True)
class Quantity:
    """A node's value (``value``), ∂loss/∂name (``grad``), ∂of/∂name on one edge (``local``) or a
    parameter after update step ``step`` (``update``)."""

    kind: str
    name: str
    of: str = ""
    step: int = 0

    def label(self, loss: str) -> str:
        """The name the JSON and the reports use: ``B1``, ``dL/dB1``, ``dC1/dB1``, ``w5^(1)``."""
        if self.kind == "value":
            return self.name
        if self.kind == "update":
            return f"{self.name}^({self.step})"
        return f"d{loss if self.kind == 'grad' else self.of}/d{self.name}"


class Names:
    """The worksheet's names, found from what the writer wrote."""

    def __init__(self, d: Derivation) -> None:
        self.derivation = d
        ws = d.worksheet
        symbols = dict(ws.symbols)
        self.exact: dict[str, set[str]] = {}
        words = set()  # the bases that letters side by side may spell: net of net_h1
        for name in d.graph.order:
            forms = {name, name.replace("_", "")}
            words.add(name.partition("_")[0])
            for tex in (default_name_latex(name), symbols.get(name)):
                atom = parse_atom(tex) if tex else None
                if atom is not None:
                    forms.add(atom.key)
                    words.add(atom.base)
            for form in forms:
                self.exact.setdefault(form, set()).add(name)
        self.folded: dict[str, set[str]] = {}
        for form, names in self.exact.items():
            self.folded.setdefault(form.casefold(), set()).update(names)
        self.aliases: dict[str, str] = {}
        for written, name in ws.aliases:
            atom = parse_atom(written)
            self.aliases[atom.key if atom else written.replace(" ", "")] = name
            words |= {atom.base} if atom else set()
        self.numbers = frozenset([*(g.value for g in ws.given if g.value is not None),
                                  *([ws.update.lr] if ws.update is not None else [])])
        self.lexicon = Lexicon(frozenset(w.casefold() for w in words if len(w) > 1 and w.isalpha()),
                               frozenset(k.casefold() for k in [*self.exact, *self.aliases]))

    def updated(self) -> Derivation:
        """The derivation with its ``update:`` steps taken, when a line first names an updated value."""
        if self.derivation.worksheet.update is not None and not self.derivation.updates:
            self.derivation = with_updates(self.derivation)
        return self.derivation

    def update(self, atom: Atom, bindings: Mapping[str, str]) -> Quantity:
        """The quantity of ``w_5^{+}``: w5 after the update step the mark names."""
        name = self.find(replace(atom, step=0), bindings)
        d = self.updated()
        if not d.updates:
            raise Unreadable(f"{atom.text} is an updated value, but the worksheet has no update: step")
        if name not in {p.name for p in d.updates[0].params} or atom.step > len(d.updates):
            raise Unreadable(f"{atom.text}: the worksheet's update: has no step {atom.step} of {name}")
        return Quantity("update", name, step=atom.step)

    def find(self, atom: Atom, bindings: Mapping[str, str] = {}) -> str:
        """The worksheet name ``atom`` stands for; UnknownName if none or several fit."""
        key = atom.key
        if key in bindings:
            return bindings[key]
        if key in self.aliases:
            return self.aliases[key]
        for table, k in ((self.exact, key), (self.folded, key.casefold()),
                         (self.exact, atom.base + atom.accent + atom.sub.translate(_OCR_DIGITS)),
                         (self.folded, (atom.base + atom.accent + atom.sub.translate(_OCR_DIGITS)).casefold())):
            found = table.get(k, set())
            if len(found) == 1:
                return next(iter(found))
            if len(found) > 1:
                raise UnknownName(_written(atom), f" alone: it could be {' or '.join(sorted(found))} (add it "
                                                  "under aliases:)")
        raise UnknownName(_written(atom), " (add it under aliases: if it is one)")


def _written(atom: Atom) -> str:
    return atom.base + (f"_{atom.sub}" if atom.sub else "") + (f" with a {atom.accent}" if atom.accent else "")


def quantity_of(node: Node, names: Names, bindings: Mapping[str, str]) -> Quantity | None:
    """The quantity a chain's left side names; None when the left side is no name or derivative
    (an arithmetic line). Raises UnknownName for a name the worksheet does not have."""
    d = names.derivation
    if isinstance(node, Atom):
        return names.update(node, bindings) if node.step else Quantity("value", names.find(node, bindings))
    if isinstance(node, Grad):
        return Quantity("grad", names.find(node.of, bindings))
    if isinstance(node, Deriv) and node.top is not None:
        top = names.find(node.top, bindings)
        bottom = names.find(node.bottom, bindings)
        if top == d.loss:
            return Quantity("grad", bottom)
        return Quantity("local", bottom, top)
    return None


def placeholder(q: Quantity, loss: str) -> sp.Symbol:
    """The symbol standing for a gradient or a local derivative inside a written expression
    (no assumptions, so it never meets the derivation's own symbols)."""
    return sp.Symbol(q.label(loss))


class Resolver:
    """Turns the tree's names, derivatives and numbers into SymPy for ``tosympy.to_sympy``,
    remembering which placeholder stands for which quantity and which symbol for which rounded
    number (a decimal stands for its rounding: its value is fixed only when it is compared)."""

    def __init__(self, names: Names, bindings: Mapping[str, str], tolerance: sp.Rational = sp.S.Zero) -> None:
        self.names = names
        self.bindings = bindings
        self.tolerance = tolerance
        self.quantities: dict[sp.Symbol, Quantity] = {}
        self.literals: dict[sp.Symbol, Num] = {}

    def __call__(self, node: Atom | Deriv | Grad | Num) -> sp.Expr:
        d = self.names.derivation
        if isinstance(node, Num):
            return self.number(node)
        if isinstance(node, Atom):
            if node.step:
                return self.quantity(self.names.update(node, self.bindings))
            try:
                return symbol(self.names.find(node, self.bindings))
            except UnknownName:
                if node.key == "e":
                    return sp.E
                if node.key in LEARNING_RATE and d.worksheet.update is not None:
                    return d.worksheet.update.lr
                raise
        if isinstance(node, Grad):
            return self.quantity(Quantity("grad", self.names.find(node.of, self.bindings)))
        bottom = self.names.find(node.bottom, self.bindings)
        if node.top is None:
            return symbol(bottom)
        top = self.names.find(node.top, self.bindings)
        if top == d.loss:
            return self.quantity(Quantity("grad", bottom))
        if top == bottom:
            return sp.S.One
        if top not in d.graph.children.get(bottom, ()):
            raise Unreadable(f"∂{top}/∂{bottom} is not the derivative on an edge of the graph")
        if bottom not in d.adjoints:
            raise Unreadable(f"{bottom} is on no path to the loss")
        return self.quantity(Quantity("local", bottom, top))

    def number(self, node: Num) -> sp.Expr:
        """A written number: itself when exact (no decimal point and no tolerance) or one of the
        exercise's own numbers as the exercise writes it (0.15, not 0.150: a trailing zero is a
        rounding's); else a symbol standing for what it rounds."""
        if (node.unit is None and not self.tolerance) or (node.value in self.names.numbers and (
                node.unit is None or (node.value / node.unit) % 10 != 0)):
            return node.value
        s = sp.Symbol(f"≈{node.value}:{node.unit}")
        self.literals[s] = node
        return s

    def quantity(self, q: Quantity) -> sp.Symbol:
        s = placeholder(q, self.names.derivation.loss)
        self.quantities[s] = q
        return s

    def exact(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with each rounded number at its written value."""
        return expr.xreplace({s: n.value for s, n in self.literals.items()})


def truth(d: Derivation, q: Quantity) -> sp.Expr:
    """The exact value of a quantity by the worksheet's own derivation."""
    if q.kind == "value":
        return d.forward[q.name].value
    if q.kind == "update":
        return next(p.after for p in d.updates[q.step - 1].params if p.name == q.name)
    if q.kind == "grad":
        return d.gradient(q.name)
    if q.of == d.loss:
        return d.gradient(q.name)
    term = next((t for t in d.adjoints[q.name].terms if t.child == q.of), None) if q.name in d.adjoints else None
    if term is None:
        raise Unreadable(f"∂{q.of}/∂{q.name} is not the derivative on an edge to the loss")
    return term.local_value


def path_children(d: Derivation, name: str) -> tuple[str, ...]:
    """The children of ``name`` that lead to the loss: the paths its gradient sums over."""
    return tuple(c for c in d.graph.children.get(name, ()) if c in d.adjoints)
