"""Which checker reads a derivation: the scalar one, or the matrix one for a worksheet in matrix
notation — the one place that decides, for ``check`` and for ``grade`` alike."""
from __future__ import annotations

import sympy as sp

from ..engine.derive import derive
from ..engine.protocol import Derivation
from ..engine.update import with_updates
from ..errors import WorksheetError
from ..matrix.derive import derive_matrices
from ..worksheet.read import Worksheet
from .judge import CheckReport, check_text
from .matrixclaims import check_matrix_text


def derivation(ws: Worksheet) -> Derivation:
    """The derivation a written answer is judged against (a matrix one with its update steps); a
    worksheet in shapes alone has no numbers to judge a line by."""
    if ws.shapes_only:
        raise WorksheetError("check judges a derivation by its numbers, and this worksheet declares its matrices by "
                             "their shapes alone: check against a copy of it that gives numbers", ws.path)
    return with_updates(derive_matrices(ws)) if ws.has_matrices else derive(ws)


def check_derivation(d: Derivation, text: str, answer: str = "<answer>", tolerance: sp.Rational = sp.S.Zero) -> CheckReport:
    """Judge every equation chain of ``text`` against ``d`` with the checker for its notation."""
    judge = check_matrix_text if d.worksheet.has_matrices else check_text
    return judge(d, text, answer, tolerance)
