"""The project's own exceptions: every user mistake becomes one of these, with its place."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class SymbackpropError(Exception):
    """A user mistake: the file, the line (1-based, when known) and what is wrong."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def located(self, file: str | None = None, line: int | None = None) -> SymbackpropError:
        """Fill in the place where a lower layer did not know it."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line = line
        return self

    def __str__(self) -> str:
        place = self.file or "<input>"
        if self.line is not None:
            place += f":{self.line}"
        return f"{place}: {self.message}"


@dataclass(frozen=True)
class Caution:
    """Something valid that is probably not what the author meant (a node the loss does not
    depend on): data that travels with the worksheet, for the caller to show; never fatal."""

    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        place = (self.file or "<input>") + (f":{self.line}" if self.line is not None else "")
        return f"{place}: warning: {self.message}"


class WorksheetError(SymbackpropError):
    """The worksheet file is malformed or inconsistent."""


class AnswerError(SymbackpropError):
    """The derivation given to ``check`` cannot be read as text with math."""


class ExpressionError(SymbackpropError):
    """An expression is refused by the safe parser."""


class EvaluationError(SymbackpropError):
    """The given numbers make a value undefined or too large to write down."""


class LatexError(SymbackpropError):
    """pdflatex failed: the message and line come from its log; ``log`` is the whole log."""

    def __init__(self, message: str, line: int | None, log: str) -> None:
        super().__init__(message, None, line)
        self.log = log


def at_place(line: int | None, file: str, where: str, compute: Callable[[], T]) -> T:
    """Run one computation; an error from below gets the worksheet's file, line and place."""
    try:
        return compute()
    except SymbackpropError as exc:
        if exc.file is None:
            exc.message = f"{where}: {exc.message}"
        raise exc.located(file, line) from None
