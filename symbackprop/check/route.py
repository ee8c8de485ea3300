"""Which checker reads a derivation: the scalar one, or the matrix one for a worksheet in matrix
notation — the one place that decides, for ``check`` and for ``grade`` alike. A worksheet in
shapes alone is judged at numbers drawn for its shapes (matrix/instance.py)."""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..engine.derive import derive
from ..engine.protocol import Derivation
from ..engine.update import with_updates
from ..errors import WorksheetError
from ..matrix.derive import derive_matrices
from ..matrix.instance import instance
from ..worksheet.read import Worksheet
from .judge import CheckReport, check_text
from .matrixclaims import check_matrix_text

SHAPES_DIGITS = 3  # significant digits of a drawn matrix shown: the reader checks the formula, not them


def derivation(ws: Worksheet) -> Derivation:
    """The derivation a written answer is judged against (a matrix one with its update steps); a
    worksheet in shapes alone has no numbers to judge a line by."""
    if ws.shapes_only:
        raise WorksheetError("a student's lines are judged by their numbers, and this worksheet declares its matrices "
                             "by their shapes alone: grade against a copy of it that gives numbers", ws.path)
    return with_updates(derive_matrices(ws)) if ws.has_matrices else derive(ws)


def check_worksheet(ws: Worksheet, text: str, answer: str = "<answer>", tolerance: sp.Rational = sp.S.Zero) -> CheckReport:
    """Judge ``text`` against ``ws``; a shapes-only worksheet at numbers drawn for it, which the
    report says."""
    if not ws.shapes_only:
        return check_derivation(derivation(ws), text, answer, tolerance)
    drawn = instance(ws)
    report = check_matrix_text(with_updates(derive_matrices(drawn.worksheet)), text, answer, tolerance)
    note = (f"The worksheet gives shapes only, so each line is judged at numbers drawn for them ({drawn.said}; the "
            "same every run): a formula is right when it gives the right matrix there.")
    return replace(report, digits=SHAPES_DIGITS, note=note)


def check_derivation(d: Derivation, text: str, answer: str = "<answer>", tolerance: sp.Rational = sp.S.Zero) -> CheckReport:
    """Judge every equation chain of ``text`` against ``d`` with the checker for its notation."""
    judge = check_matrix_text if d.worksheet.has_matrices else check_text
    return judge(d, text, answer, tolerance)
