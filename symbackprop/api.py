"""The library API a notebook calls: ``solve(path)`` gives a Solution that shows itself."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from functools import partial
from collections.abc import Callable, Sequence
from pathlib import Path

import sympy as sp

from .worksheet import read as W
from .engine.derive import derive
from .engine.protocol import Derivation
from .errors import SymbackpropError
from .matrix.derive import derive_matrices
from .sheets.jsonout import as_dict, to_json
from .sheets.pdf import compile_pdf
from .sheets.render import render
from .sheets.model import Sheet
from .sheets.choose import sheet_of
from .engine.update import with_updates

REPR_LENGTH = 40  # characters of the loss's exact value in a Solution's one-line repr

if TYPE_CHECKING:  # check, variants and grade are imported when used: solve starts without them
    from .check.judge import CheckReport
    from .classroom.grading import Grades
    from .classroom.variants import Variant


@dataclass(frozen=True)
class Solution:
    """A worked solution: the derivation (scalar, or in matrices), its sheet, and its renderings."""

    derivation: Derivation
    sheet: Sheet
    templates: str | None = None

    def markdown(self) -> str:
        return render(self.sheet, "md", self.templates)

    def latex(self) -> str:
        return render(self.sheet, "tex", self.templates)

    def json(self) -> str:
        return to_json(self.derivation)

    def as_dict(self) -> dict:
        return as_dict(self.derivation)

    def render(self, fmt: str) -> str:
        return {"md": self.markdown, "tex": self.latex, "json": self.json}[fmt]()

    def exercise(self, fmt: str = "md") -> str:
        """The question as a student gets it (Markdown or LaTeX): the graph, the given values, the
        quantities asked and an empty answer table; no solution."""
        return render(self.sheet, fmt, self.templates, "exercise")

    def pdf(self, exercise: bool = False) -> bytes:
        """The solution sheet (or the exercise) compiled with pdflatex."""
        return compile_pdf(self.exercise("tex") if exercise else self.latex())

    def __repr__(self) -> str:
        """One line (what a terminal, or a saved notebook's plain text, shows instead of the whole
        sheet): the title, the loss's value and how many gradients were asked."""
        d = self.derivation
        loss = f"{d.loss} unspecified" if d.worksheet.loss_unspecified else f"{d.loss} in shapes only" \
            if d.worksheet.shapes_only else _short(d.loss, d.forward[d.loss].value)
        count = len(d.wrt)
        return f"<Solution {d.worksheet.title!r}: {loss}, {count} gradient{'s' * (count != 1)}>"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_latex_(self) -> str:
        """The answers as one display of math, for Jupyter (not a whole document)."""
        return render(self.sheet, "tex", self.templates, "notebook")


def solve(source: str | Path | W.Worksheet, notation: str | None = None,
          templates: str | Path | None = None, figure: bool = True, figure_values: bool = False,
          expand: tuple[str, ...] = (), numbers: str | None = None, decimals: int | None = None) -> Solution:
    """Solve a worksheet given as a path, as YAML text, or as a loaded Worksheet; ``figure`` draws
    the graph on the sheets, ``figure_values`` writes each value and gradient in it. A worksheet
    with matrices is solved in matrix notation; ``expand`` (``"W[1,2]"``) adds the scalar chain
    rule of those entries. ``numbers`` and ``decimals`` override the worksheet's keys."""
    ws = with_numbers(worksheet(source), numbers, decimals)
    templates = str(templates) if templates else None
    if ws.shapes_only:
        from .matrix.symbolic import derive_shapes

        if expand:
            raise SymbackpropError("--expand writes entries as numbers; this worksheet declares its matrices by "
                                   "their shapes", ws.path)
        sd = derive_shapes(ws)
        return Solution(sd, sheet_of(sd, notation, figure, figure_values), templates)
    if ws.has_matrices:
        from .matrix.expand import expand_entries
        from .sheets.matrix import expanded

        md = with_updates(derive_matrices(ws))
        sheet = sheet_of(md, notation, figure, figure_values)
        if expand:
            sheet = replace(sheet, expanded=expanded(expand_entries(md, expand), notation))
        return Solution(md, sheet, templates)
    if expand:
        raise SymbackpropError("--expand is for worksheets with matrices; this one is in scalars already", ws.path)
    d = with_updates(derive(ws))
    return Solution(d, sheet_of(d, notation, figure, figure_values), templates)


def with_numbers(ws: W.Worksheet, numbers: str | None = None, decimals: int | None = None) -> W.Worksheet:
    """The worksheet with ``numbers:`` (auto, exact, decimal) and ``decimals:`` (significant digits)
    replaced where given: the one place the command line's --numbers and --decimals act, so that a
    sheet, its JSON and a class's variants all write numbers alike."""
    if numbers is not None and numbers not in W.NUMBERS:
        raise SymbackpropError(f"'{numbers}' is not one of {', '.join(W.NUMBERS)}", "numbers")
    if decimals is not None and (type(decimals) is not int or decimals not in W.DIGITS):  # bool is not a count
        raise SymbackpropError(f"expected a whole number of digits from {W.DIGITS.start} to {W.DIGITS[-1]}", "decimals")
    return replace(ws, numbers=numbers or ws.numbers, decimals=decimals or ws.decimals)


def worksheet(source: str | Path | W.Worksheet) -> W.Worksheet:
    """A worksheet given as a path, as YAML text, or already loaded."""
    if isinstance(source, W.Worksheet):
        return source
    if isinstance(source, Path) or "\n" not in str(source):
        return W.load(source)
    return W.loads(str(source))


def variants(source: str | Path | W.Worksheet, n: int | None = None, seed: int | None = None,
             notation: str | None = None, templates: str | Path | None = None, numbers: str | None = None,
             decimals: int | None = None, ids: Sequence[str] | None = None,
             roster: str | Path | None = None) -> list[Solution]:
    """The variants of a class of a worksheet with a ``random:`` block, as ``symbackprop variants
    --seed SEED`` draws them: 1..n (variant k does not depend on n), the students' ``ids`` or a
    ``roster`` file's, in order; ``solve`` of the worksheet itself is variant 0."""
    from .classroom.roster import class_of
    from .classroom.variants import plan, run

    if seed is None:
        raise SymbackpropError("give the class's seed, as variants --seed S does", "seed")
    job = partial(_variant_solution, notation, str(templates) if templates else None)
    ws = with_numbers(worksheet(source), numbers, decimals)
    return run(plan(ws, seed), [s.id for s in class_of(n, roster, ids)], job, jobs=1).results


def _short(name: str, value: sp.Expr) -> str:
    """``L = 1/25``; a long exact value as its decimal, ``L ≈ 1.19926``, or cut short."""
    text = sp.sstr(value)
    if len(text) <= REPR_LENGTH:
        return f"{name} = {text}"
    if value.is_number:
        return f"{name} ≈ {sp.N(value, 6)}"
    return f"{name} = {text[:REPR_LENGTH - 1]}…"


def _variant_solution(notation: str | None, templates: str | None, v: Variant) -> Solution:
    return Solution(v.derivation, sheet_of(v.derivation, notation), templates)


def check(source: str | Path | W.Worksheet, answer: str | Path, answer_name: str | None = None,
          tolerance: str | float | int | None = None, variant: str | None = None, seed: int | None = None,
          roster: str | Path | None = None, n: int | None = None) -> CheckReport:
    """Check a handwritten derivation against a worksheet: ``answer`` is a path (a Path, read with
    the size and encoding checks) or the Markdown/LaTeX text itself. Every equation chain becomes a
    claim with a verdict (correct, wrong, ecf, unreadable, unknown) and, when wrong, a diagnosis.
    A written decimal is right when it is the right value rounded to its digits; ``tolerance`` (a
    relative one, "0.01") also accepts every number within that fraction of it. ``variant`` (an id),
    ``seed`` and the class (``roster`` or ``n``) check against that student's variant, drawn as
    ``variants`` draws it, without the class folder."""
    from .check.answer_text import read_answer
    from .check.numeric import relative_tolerance
    from .check.route import check_worksheet

    allowed = relative_tolerance(tolerance)
    text = read_answer(answer) if isinstance(answer, Path) else answer
    name = answer_name or (str(answer) if isinstance(answer, Path) else "<answer>")
    ws = worksheet(source)
    if (variant, seed, roster, n) != (None, None, None, None):
        from .classroom.variant_worksheet import class_variant
        ws = class_variant(ws, variant, seed, n, roster)
    return check_worksheet(ws, text, name, allowed)


def grade(class_dir: str | Path, submissions: str | Path, out: str | Path | None = None, ecf_credit: str | int = 1,
          tolerance: str | float | int | None = None, formats: tuple[str, ...] = ("md",),
          canvas_csv: str | Path | None = None, moodle_csv: str | Path | None = None,
          assignment: str | None = None, progress: Callable[[int], None] | None = None) -> Grades:
    """Grade a class: each submission (``SUBMISSIONS/ID.md``, ``.tex``, ``.txt``) checked against the
    student's own variant in ``class_dir`` (a folder ``variants`` wrote). With ``out``, write
    grades.csv, grades.json, summary.md and feedback/ID.md (and .pdf with ``formats`` holding
    "pdf"), and the Canvas and Moodle gradebook imports asked for. ``ecf_credit`` (1, 0.5 or 0)
    is the share of its points an ECF answer earns. Returns the Grades: a row a student, the summary."""
    from .check.numeric import relative_tolerance
    from .classroom.gradebook import writable, write
    from .classroom.grading import grade as grade_class, read_class

    allowed = relative_tolerance(tolerance)
    if out is not None:
        writable(out, canvas_csv, moodle_csv)
    grades = grade_class(read_class(class_dir), submissions, str(ecf_credit), allowed, progress)
    if out is not None:
        grades = replace(grades, warnings=grades.warnings + tuple(write(grades, out, formats, canvas_csv, moodle_csv,
                                                                             assignment)))
    return grades
