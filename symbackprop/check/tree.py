"""The tree a handwritten chain is read into (latexmath.py builds it, tosympy.py turns it into
SymPy), and the lexicon of the worksheet's names that guides reading letters."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import sympy as sp

from .tokens import scientific


@dataclass(frozen=True)
class Num:
    """A written number, exact; ``unit`` is its last digit's place when it has a decimal point
    (0.5933: 0.0001), so that it stands for its rounding; None for an integer or a fraction."""

    value: sp.Rational
    unit: sp.Rational | None = None


@dataclass(frozen=True)
class Atom:
    """A written name: ``x_{1}`` is base x, sub 1; ``\\hat{y}`` is base y, accent hat; ``w_5^{+}``
    (or ``^{(1)}``, ``^{new}``, ``w_5 \\leftarrow …``) is w5 after update step 1."""

    base: str
    sub: str = ""
    accent: str = ""
    step: int = 0

    @property
    def key(self) -> str:
        """The form names are matched by: ``x_{1}``, ``x_1`` and ``x1`` all give ``x1``."""
        return self.base + self.accent + self.sub

    @property
    def text(self) -> str:
        return (self.base + (f"_{self.sub}" if self.sub else "") + (f" ({self.accent})" if self.accent else "")
                + (f"^({self.step})" if self.step else ""))


@dataclass(frozen=True)
class Lexicon:
    """The worksheet's names, for reading letters: ``net_{h1}`` is the name net_h1, not n·e·t_{h1},
    when a name's base is the word net (``words``) and ``keys`` holds neth1 (base and subscript as
    ``Atom.key`` joins them). ``whole`` reads every run of letters as one word (a single name)."""

    words: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    whole: bool = False

    def word(self, text: str) -> bool:
        return self.whole or text.casefold() in self.words

    def key(self, text: str) -> bool:
        return self.whole or text.casefold() in self.keys


PLAIN = Lexicon()
UPDATE_ARROWS = ("leftarrow", "gets", "longleftarrow")


@dataclass(frozen=True)
class Deriv:
    """∂top/∂bottom; ``top`` None is the operator ∂/∂bottom, applied by an ``apply`` Op."""

    top: Atom | None
    bottom: Atom


@dataclass(frozen=True)
class Grad:
    """The upstream-gradient notation: ``g_{x}``, ``g-x``, ``grad-x`` — ∂(loss)/∂x."""

    of: Atom


@dataclass(frozen=True)
class Op:
    """An operator (``+ * / ^ neg apply prime``) or a function (``log exp sqrt sigma …``)."""

    op: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Cases:
    """``\\begin{cases} v & cond \\\\ … \\end{cases}``; a condition None is "else"."""

    rows: tuple[tuple[Node, tuple[Node, str, Node] | None], ...]


Node = Union[Num, Atom, Deriv, Grad, Op, Cases]



def written_number(text: str) -> Num:
    """A number token: exact, and with the place of its last digit when it has a decimal point."""
    mantissa, power = scientific(text)
    scale = sp.Integer(10) ** power
    places = len(mantissa.partition(".")[2]) if "." in mantissa else None
    return Num(sp.Rational(mantissa) * scale, None if places is None else scale / sp.Integer(10) ** places)
