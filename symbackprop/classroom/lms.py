"""One variant as an LMS question: the exercise and the worked solution as HTML (math for the
LMS's MathJax), and each asked gradient as a decimal with a tolerance (an LMS grades numbers)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Callable

import sympy as sp

from .answerkey import decimal
from ..errors import SymbackpropError
from ..sheets.jsonout import exact
from ..sheets.render import render
from ..sheets.model import Sheet
from .variants import Variant

TOLERANCE = sp.Rational(1, 100)  # default: 1% of the value either way
TOLERANCE_DIGITS = 3


@dataclass(frozen=True)
class Asked:
    """One blank: ∂L/∂name as LaTeX, its exact value, its decimal, the tolerance (± absolute) and
    the interval it allows, as decimals; ``blank`` is what the question shows after it (a Moodle
    Cloze code, or nothing)."""

    name: str
    quantity: str
    exact: str
    value: str
    tolerance: str
    low: str
    high: str
    blank: str = ""


@dataclass(frozen=True)
class Item:
    """A variant for an LMS: ``question`` (HTML, no blanks), ``cloze`` (HTML with each blank),
    ``solution`` (HTML), the asked numbers."""

    key: str
    title: str
    question: str
    cloze: str
    solution: str
    asked: tuple[Asked, ...]


def asked_names(wrt: tuple[str, ...], ask: tuple[str, ...] | None) -> tuple[str, ...]:
    """The gradients an LMS asks: ``ask`` (each one the worksheet asks), or every asked gradient."""
    for name in ask or ():
        if name not in wrt:
            raise SymbackpropError(f"'{name}' is not a gradient the worksheet asks (it asks {', '.join(wrt)})",
                                   "--ask")
    return tuple(ask) if ask else wrt


def item(v: Variant, sheet: Sheet, names: tuple[str, ...], tolerance: sp.Rational, cloze: Callable[[Asked], str],
         templates: str | Path | None = None) -> Item:
    """The LMS view of one variant; ``cloze`` writes the blank of one asked number."""
    d = v.derivation
    quantity = {n: a.quantity for n, a in zip(d.wrt, sheet.answers)}
    asked = []
    for n in names:
        value = d.gradient(n)
        if not value.is_number:
            raise SymbackpropError(f"the gradient of '{n}' is not a number, so an LMS cannot grade it",
                                   v.worksheet.path)
        spread = abs(value) * tolerance
        asked.append(Asked(n, quantity[n], exact(value), decimal(value), decimal(spread, TOLERANCE_DIGITS),
                           decimal(value - spread), decimal(value + spread)))
    blanks = tuple(replace(a, blank=cloze(a)) for a in asked)
    return Item(v.key, sheet.title, render(sheet, "html", templates, "lms_question", asked=asked),
                render(sheet, "html", templates, "lms_question", asked=blanks),
                render(sheet, "html", templates, "lms_solution"), tuple(asked))
