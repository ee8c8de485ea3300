"""One variant as an LMS question: the exercise and the worked solution as HTML (math for the
LMS's MathJax), and each asked number as a decimal with a tolerance (an LMS grades numbers).

An LMS grades one number a blank, so a matrix gradient is asked entry by entry (``W1[1,2]``,
1-based); ``scale`` S asks for S times each gradient, for an LMS that rounds small answers
(Canvas takes |answer| < 1e-4 for 0).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from collections.abc import Callable, Iterator, Sequence

import sympy as sp

from .answerkey import decimal
from ..errors import SymbackpropError
from ..language.ops import Sigmoid
from ..sheets.jsonout import exact
from ..sheets.render import render
from ..sheets.model import Sheet
from .variants import Variant

TOLERANCE = sp.Rational(1, 100)  # default: 1% of the value either way
TOLERANCE_DIGITS = 3
CANVAS_ZERO = Decimal("0.0001")  # Canvas rounds a numerical answer below this (in absolute value) to 0


@dataclass(frozen=True)
class Asked:
    """One blank: ``name`` (``w1``, or ``W1[1,2]`` for an entry of a matrix gradient), the gradient
    it belongs to, ``label`` (plain text, ``1000·∂L/∂W1[1,2]``) and ``quantity`` (LaTeX) of what
    is asked, its exact value (string and LaTeX), its decimal, the tolerance (± absolute) and the
    interval it allows, as decimals; ``blank`` is what the question shows after it (a Moodle
    Cloze code, or nothing). With ``--scale S`` every number is S times the gradient's."""

    name: str
    gradient: str
    label: str
    quantity: str
    exact: str
    latex: str
    value: str
    tolerance: str
    low: str
    high: str
    blank: str = ""


@dataclass(frozen=True)
class Item:
    """A variant for an LMS: ``cloze`` (HTML with each blank), ``solution`` (HTML), the asked
    numbers, ``statement`` (HTML, the exercise without the list of
    what is asked), and with ``single`` the question of each asked number alone (``questions``, in
    the order of ``asked``: one QTI item each)."""

    key: str
    title: str
    cloze: str
    solution: str
    asked: tuple[Asked, ...]
    statement: str
    questions: tuple[str, ...] = ()


def asked_names(wrt: tuple[str, ...], ask: tuple[str, ...] | None) -> tuple[str, ...]:
    """The gradients an LMS asks: ``ask`` (each one the worksheet asks), or every asked gradient."""
    for name in ask or ():
        if name not in wrt:
            raise SymbackpropError(f"'{name}' is not a gradient the worksheet asks (it asks {', '.join(wrt)})",
                                   "--ask")
    return tuple(ask) if ask else wrt


def item(v: Variant, sheet: Sheet, names: tuple[str, ...], tolerance: sp.Rational, cloze: Callable[[Asked], str],
         templates: str | Path | None = None, scale: sp.Rational = sp.S.One, single: bool = False) -> Item:
    """The LMS view of one variant; ``cloze`` writes the blank of one asked number, ``single`` adds
    the question of each asked number alone."""
    asked = numbers(v, sheet, names, tolerance, scale)
    blanks = tuple(replace(a, blank=cloze(a)) for a in asked)
    page = {"scale": "" if scale == 1 else sp.latex(scale)}
    questions = tuple(render(sheet, "html", templates, "lms_question", asked=(a,), **page) for a in asked) if single else ()
    return Item(v.key, sheet.title, render(sheet, "html", templates, "lms_question", asked=blanks, **page),
                render(sheet, "html", templates, "lms_solution"), blanks,
                render(sheet, "html", templates, "lms_question", asked=(), **page), questions)


def numbers(v: Variant, sheet: Sheet, names: tuple[str, ...], tolerance: sp.Rational,
            scale: sp.Rational = sp.S.One) -> tuple[Asked, ...]:
    """The numbers asked of one variant (no blanks): each gradient of ``names``, or each entry of
    a matrix gradient, times ``scale``; ``sheet`` gives what each is called."""
    d = v.derivation
    quantity = {n: a.quantity for n, a in zip(d.wrt, sheet.answers)}
    return tuple(_asked(name, gradient, f"{d.loss}", quantity[gradient], value, tolerance, scale)
                 for gradient in names for name, value in _entries(v, gradient))


def _entries(v: Variant, gradient: str) -> Iterator[tuple[str, sp.Expr]]:
    """The numbers of one gradient: itself, or each entry of a matrix (row by row, 1-based)."""
    value = v.derivation.gradient(gradient)
    if isinstance(value, sp.MatrixBase):
        entries = ((f"{gradient}[{i + 1},{j + 1}]", value[i, j]) for i in range(value.rows) for j in range(value.cols))
    else:
        entries = ((gradient, value),)
    for name, x in entries:
        if not x.is_number:
            raise SymbackpropError(f"the gradient of '{name}' is not a number, so an LMS cannot grade it",
                                   v.worksheet.path)
        yield name, x


def _asked(name: str, gradient: str, loss: str, quantity: str, gradient_value: sp.Expr, tolerance: sp.Rational,
           scale: sp.Rational) -> Asked:
    """One asked number: ``scale`` times the gradient (or its entry) ``gradient_value``."""
    index = name[len(gradient):]  # "[1,2]" for a matrix entry
    label, tex = f"∂{loss}/∂{name}", quantity + index
    if scale != 1:
        label, tex = f"{sp.sstr(scale)}·{label}", sp.latex(scale) + r" \cdot " + tex
    value = gradient_value * scale
    written = value.xreplace({s: s.rewrite(sp.exp) for s in value.atoms(Sigmoid)})
    approx = value if value.is_Rational else sp.N(value, 30)  # one evaluation for the tolerance's decimals
    spread = abs(approx) * tolerance
    return Asked(name, gradient, label, tex, exact(value), sp.latex(written), decimal(value),
                 decimal(spread, TOLERANCE_DIGITS), decimal(approx - spread), decimal(approx + spread))


def warnings(items: Sequence[Item | None], canvas: bool) -> list[str]:
    """Answers an LMS grades badly, a line for each kind naming the asked numbers and how many
    variants: an exact 0 (any LMS: a guess of 0 scores) and, for Canvas (``canvas``), an answer it
    rounds to 0 (0 < |answer| < 1e-4)."""
    asked = [it.asked for it in items if it is not None]
    if not asked:
        return []
    zero, tiny = Counter(), Counter()
    for numbers in asked:
        for a in numbers:
            zero[a.label] += a.exact == "0"
            tiny[a.label] += canvas and 0 < abs(Decimal(a.value)) < CANVAS_ZERO
    first = asked[0]

    def which(counts: Counter) -> str:
        return ", ".join(f"{a.label} in {counts[a.label]} of {len(asked)}" for a in first if counts[a.label])

    lines = []
    if sum(zero.values()):
        a = next(a for a in first if zero[a.label])
        lines.append(f"some variants ask for an exact 0, which a guess of 0 answers: {which(zero)}; a require: "
                     f"condition such as grad({a.gradient}){a.name[len(a.gradient):]} != 0 leaves them out")
    if sum(tiny.values()):
        lines.append(f"some variants ask for a number below 0.0001 in absolute value, which Canvas rounds to 0: "
                     f"{which(tiny)}; ask for a multiple with --scale 1000 (or more), or leave them out with a "
                     "require: condition")
    return lines
