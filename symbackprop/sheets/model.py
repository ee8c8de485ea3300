"""The Sheet: what a solution sheet shows, as LaTeX fragments only; the templates decide how they
are set on the page. Notes are our own sentences with ``$…$`` math: no user text enters them
unescaped."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sympy as sp

from ..worksheet.read import Worksheet
from .figure import Figure

@dataclass(frozen=True)
class Equation:
    """``lhs = step = step = …``, already broken into aligned rows."""

    lhs: str
    rows: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Block:
    """The backward step for one name: the local derivatives it uses, then its chain rule."""

    name: str
    heading: str
    note: str
    locals: tuple[Equation, ...]
    equation: Equation | None
    after: tuple[Equation, ...] = ()  # a matrix too wide for a line, entry by entry

    @property
    def equations(self) -> tuple[Equation, ...]:
        return self.locals + ((self.equation,) if self.equation else ()) + self.after


@dataclass(frozen=True)
class UpdateSection:
    """One gradient-descent step: each parameter's new value, then the loss at the new values."""

    number: int
    note: str
    equations: tuple[Equation, ...]


@dataclass(frozen=True)
class Descent:
    """What an exercise asks of ``update:``: a student takes the steps by hand, so the question
    states the learning rate and the parameters, and the table asks each one after the last step."""

    eta: str
    steps: int
    params: tuple[str, ...]  # the parameters' LaTeX names
    asked: tuple[str, ...]  # each parameter after the last step, w_{1}^{(k)}, as the solution writes it


@dataclass(frozen=True)
class Answer:
    """One asked gradient: for a table (quantity, value, approx) or a display (equation)."""

    quantity: str
    value: str
    approx: str
    equation: Equation

    @property
    def display(self) -> Equation:
        """The answer as a displayed equation. A gradient that stays a symbol (∂L/∂ŷ of an
        unspecified loss) is its own value, which the line breaker drops as a repetition of the
        left side: it is written out here, as the table of the Markdown sheet writes it."""
        if self.value != self.quantity:
            return self.equation
        return Equation(self.quantity, (f"{self.quantity} &= {self.value}",), "the loss is not specified")


@dataclass(frozen=True)
class Sheet:
    """Everything a template needs; ``title``, ``description``, ``course``, ``author``, ``date``,
    ``student`` and ``email`` are the user's raw text. ``definitions`` state the graph and
    ``descent`` the update question (for an exercise); ``figure`` draws it."""

    title: str
    description: str
    notation: str
    given: tuple[str, ...]
    symbolic: tuple[str, ...]
    edges: tuple[str, ...]
    forward: tuple[Equation, ...]
    backward: tuple[Block, ...]
    answers: tuple[Answer, ...]
    notes: tuple[str, ...]
    loss: str
    course: str = ""
    author: str = ""
    date: str = ""
    paper: str = "a4"
    definitions: tuple[Equation, ...] = ()
    figure: Figure | None = None
    updates: tuple[UpdateSection, ...] = ()
    given_columns: int = 4  # given values set on one line
    matrices: bool = False  # in matrix notation: answers as displayed equations, not a table
    expanded: tuple[Block, ...] = ()  # entries written out in scalars (solve --expand)
    descent: Descent | None = None  # with update:
    student: str = ""  # a class roster's name of the student whose variant this is
    email: str = ""  # and their email

    @property
    def asked(self) -> tuple[str, ...]:
        """Every quantity an exercise asks, a row of its answer table each: the gradients, then
        the parameters after gradient descent."""
        return tuple(a.quantity for a in self.answers) + (self.descent.asked if self.descent else ())


class Printer(Protocol):
    """A layout's LaTeX printer of numbers and expressions."""

    def doprint(self, expr: sp.Expr) -> str: ...


class Sections(Protocol):
    """What a layout (scalar or matrix) gives for each section of a sheet."""

    loss_tex: str
    names: dict[str, str]
    printer: Printer

    def given(self) -> tuple[str, ...]: ...
    def symbolic(self) -> tuple[str, ...]: ...
    def edges(self) -> tuple[str, ...]: ...
    def forward(self) -> tuple[Equation, ...]: ...
    def backward(self) -> tuple[Block, ...]: ...
    def answers(self) -> tuple[Answer, ...]: ...
    def notes(self) -> tuple[str, ...]: ...
    def definitions(self) -> tuple[Equation, ...]: ...
    def figure(self, values: bool) -> Figure | None: ...
    def updates(self) -> tuple[UpdateSection, ...]: ...


def assemble(lay: Sections, ws: Worksheet, notation: str | None, figure: bool, figure_values: bool,
             **extra: object) -> Sheet:
    """A Sheet from a layout's sections (a scalar or a matrix layout: the same methods)."""
    return Sheet(
        title=ws.title,
        description=ws.description,
        notation=notation or ws.notation,
        given=lay.given(),
        symbolic=lay.symbolic(),
        edges=lay.edges(),
        forward=lay.forward(),
        backward=lay.backward(),
        answers=lay.answers(),
        notes=lay.notes(),
        loss=lay.loss_tex,
        course=ws.course,
        author=ws.author,
        date=ws.date,
        paper=ws.paper,
        definitions=lay.definitions(),
        figure=lay.figure(figure_values) if figure else None,
        updates=lay.updates(),
        descent=descent(lay, ws),
        **extra,
    )


def descent(lay: Sections, ws: Worksheet) -> Descent | None:
    """The update question of an exercise, in the layout's names and numbers (None without ``update:``)."""
    u = ws.update
    if u is None:
        return None
    params = tuple(lay.names[n] for n in u.params)
    return Descent(lay.printer.doprint(u.lr), u.steps, params, tuple(f"{n}^{{({u.steps})}}" for n in params))
