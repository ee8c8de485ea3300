"""A student's feedback, returnable as is: their score, each asked quantity, their own lines
marked ✓, ✗ or ECF with the diagnosis and the expected value (the check report's table), and
their variant's worked solution — the class folder's sheet when it is there, else made again from
the variant's worksheet.
"""
from __future__ import annotations

from dataclasses import replace
import sympy as sp

from ..check.report import to_document
from ..sheets.render import environment, render, tex_escape
from ..sheets.choose import sheet_of
from .grading import ClassFolder, Grade, percent

VERDICTS = {"correct": "✓", "wrong": "✗", "ecf": "ECF", "missing": "— not written"}
CREDIT_WORDS = {sp.S.One: "all", sp.Rational(1, 2): "half", sp.S.Zero: "none"}


def feedback(grade: Grade, folder: ClassFolder, fmt: str, ecf_credit: sp.Rational) -> str:
    """The feedback in Markdown (``md``) or as a LaTeX document (``tex``, for the PDF)."""
    solution = _solution(grade, folder, fmt)
    context: dict[str, object] = dict(
        title=grade.derivation.worksheet.title, student=grade.student, score=percent(grade.score), status=grade.status,
        marks=grade.marks, verdicts=VERDICTS, ecf_credit=CREDIT_WORDS[ecf_credit],
        own_numbers=grade.own_numbers)
    if fmt == "tex":
        preamble, _, rest = solution.partition("\\begin{document}")
        context.update(preamble=preamble.rstrip("\n"), solution=rest.rpartition("\\end{document}")[0].strip("\n"))
    else:
        context.update(solution=solution)
    if grade.report:
        return to_document(grade.report, fmt, "feedback", **context)
    return environment(None).get_template(f"feedback.{fmt}.j2").render(report=None, rows=(), summary="",
                                                                       texplain=tex_escape, **context)


def _solution(grade: Grade, folder: ClassFolder, fmt: str) -> str:
    """The student's worked solution: ``solutions/ID.FMT`` of the class folder, or made again."""
    sheet = folder.path / "solutions" / f"{folder.stems[grade.student.id]}.{fmt}"
    if sheet.is_file():
        return sheet.read_text(encoding="utf-8")
    s = grade.student
    return render(replace(sheet_of(grade.derivation), student=s.name, email=s.email), fmt)
