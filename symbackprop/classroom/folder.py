"""The folder ``symbackprop variants`` writes: for each variant an exercise and a solution sheet in
each format, the answer key, the combined PDFs and the LMS files.

The folder is filled under a temporary name beside it and then renamed into place, so an
interrupted run never leaves a mix of old and new variants; an existing folder is replaced only
if it is empty or an earlier run's (it holds answers.json).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from collections.abc import Callable, Sequence

import sympy as sp

from . import gradescope, moodle, prairielearn, qti
from .answerkey import Row, answers_csv, answers_json, row
from ..errors import SymbackpropError
from .lms import Item, asked_names, item
from ..sheets.pdf import compile_pdf
from ..sheets.render import render
from .roster import Student, file_name, roster_csv
from ..sheets.choose import sheet_of
from .variant_worksheet import variant_yaml
from .variants import Plan, Run, Variant, run

FORMATS = ("md", "tex", "pdf")
SHEETS = {"exercise": "exercise", "solution": "sheet"}  # a kind of sheet → its template (DOCUMENT.FMT.j2)
_BODY = re.compile(r"\\begin\{document\}(.*)\\end\{document\}", re.S)


@dataclass(frozen=True)
class Request:
    """What to write: sheets and their formats, templates and notation, the LMS files and what they ask."""

    formats: tuple[str, ...] = ("md", "tex")
    sheets: tuple[str, ...] = tuple(SHEETS)
    templates: str | None = None
    notation: str | None = None
    moodle: bool = False
    qti: bool = False
    ask: tuple[str, ...] | None = None
    tolerance: sp.Rational = sp.Rational(1, 100)
    prairielearn: bool = False
    gradescope: bool = False
    visibility: str = "after_due_date"  # Gradescope: when a student sees each test's result
    scale: sp.Rational = sp.S.One  # the LMS asks for scale · ∂L/∂w (Canvas rounds |answers| < 1e-4 to 0)

    @property
    def lms(self) -> bool:
        """Whether any LMS file is written (each needs every variant's asked numbers)."""
        return self.moodle or self.qti or self.prairielearn


@dataclass(frozen=True)
class Made:
    """What one variant sends back: its row of the key, its LMS item, the LaTeX of each kind of sheet
    (for the combined PDFs)."""

    row: Row
    item: Item | None
    tex: dict[str, str]


def stems(keys: Sequence[str], numbered: bool) -> dict[str, str]:
    """Each variant's file name: its number padded to the same width, or its student id made safe."""
    width = len(str(len(keys)))
    return {k: k.zfill(width) if numbered else file_name(k) for k in keys}


def make(folder: Path, request: Request, names: dict[str, str], students: dict[str, Student],
         asked: tuple[str, ...], v: Variant) -> Made:
    """Write one variant's sheets and its own worksheet into ``folder``, its student's name and
    email in the sheets' headers; return its row, LMS item and LaTeX."""
    student = students[v.key]
    sheet = replace(sheet_of(v.derivation, request.notation), student=student.name, email=student.email)
    pdf = "pdf" in request.formats
    texts = {}
    for kind in request.sheets:
        for fmt in ("md", "tex"):
            if fmt in request.formats or fmt == "tex" and pdf:
                texts[kind, fmt] = render(sheet, fmt, request.templates, SHEETS[kind])
        for fmt in request.formats:
            path = folder / (kind + "s") / f"{names[v.key]}.{fmt}"
            if fmt == "pdf":
                path.write_bytes(compile_pdf(texts[kind, "tex"]))
            else:
                path.write_text(texts[kind, fmt], encoding="utf-8", newline="\n")
    (folder / "worksheets" / f"{names[v.key]}.yaml").write_text(variant_yaml(v.worksheet.source, v), encoding="utf-8",
                                                                 newline="\n")
    lms = item(v, sheet, asked, request.tolerance, moodle.cloze, request.templates, request.scale,
               request.qti) if asked else None
    return Made(row(v), lms, {kind: texts[kind, "tex"] for kind in request.sheets} if pdf else {})


def write(p: Plan, students: Sequence[Student], numbered: bool, request: Request, target: str | Path, jobs: int = 0,
          progress: Callable[[int], None] | None = None) -> Run[Made]:
    """Draw every student's variant and write the folder ``target`` (replacing an earlier run's)."""
    asked = _asked(p, request)
    keys = [s.id for s in students]
    target = Path(target)
    folder = _fresh(target)
    try:
        for sub in [kind + "s" for kind in request.sheets] + ["worksheets"]:
            (folder / sub).mkdir()
        job = partial(make, folder, request, stems(keys, numbered), {s.id: s for s in students}, asked)
        result = run(p, keys, job, jobs, progress)
        _finish(p, request, folder, result)
        (folder / "roster.csv").write_text(roster_csv(students), encoding="utf-8", newline="\n")
        if request.gradescope:
            (folder / gradescope.ZIP).write_bytes(gradescope.package(folder, request.visibility))
        _replace(folder, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return result


def _asked(p: Plan, request: Request) -> tuple[str, ...]:
    if not request.lms:
        return ()
    return asked_names(p.prepared.wrt, request.ask)


def _finish(p: Plan, request: Request, folder: Path, result: Run[Made]) -> None:
    """The files about the whole class: the key, the combined PDFs, the LMS files."""
    ws = p.worksheet
    rows = [m.row for m in result.results]
    (folder / "answers.json").write_text(answers_json(ws.path, p.seed, rows), encoding="utf-8", newline="\n")
    (folder / "answers.csv").write_text(answers_csv(ws.loss, rows), encoding="utf-8", newline="\n")
    if "pdf" in request.formats:
        for kind in request.sheets:
            combined = combine([m.tex[kind] for m in result.results])
            (folder / f"{kind}s.pdf").write_bytes(compile_pdf(combined))
    items = [m.item for m in result.results]
    name = f"{ws.title} (seed {p.seed})"
    if request.moodle:
        (folder / "moodle.xml").write_text(moodle.quiz(name, items), encoding="utf-8", newline="\n")
    if request.qti:
        (folder / "qti.zip").write_bytes(qti.package(name, f"{Path(ws.path).name}\0{p.seed}", items))
    if request.prairielearn:
        prairielearn.write(folder / "prairielearn", ws, p.seed, items, {r.entry["id"]: r.entry["given"] for r in rows},
                           request.tolerance)


def combine(documents: Sequence[str]) -> str:
    """One LaTeX document of several (made by the same template): the first one's preamble, then
    each one's body on new pages, numbered from 1 as in its own PDF, so that a printed stack
    separates into students."""
    bodies = []
    for tex in documents:
        found = _BODY.search(tex)
        if not found:
            raise SymbackpropError("a template's LaTeX has no \\begin{document} … \\end{document} to combine")
        bodies.append(found.group(1).strip("\n"))
    preamble = documents[0][: documents[0].index(r"\begin{document}")]
    return preamble + "\\begin{document}\n" + "\n\\clearpage\\setcounter{page}{1}\n".join(bodies) + "\n\\end{document}\n"


def _fresh(target: Path) -> Path:
    """A new empty folder beside ``target``; ``target`` must be absent, empty or an earlier run's."""
    parent = target.parent
    if not parent.is_dir():
        raise SymbackpropError("the folder to write into does not exist", str(target))
    if target.exists() and not (target.is_dir() and (not any(target.iterdir()) or (target / "answers.json").is_file())):
        raise SymbackpropError("exists and is not a folder of variants (it has no answers.json); choose another "
                               "-o or remove it", str(target))
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp"))
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    return folder


def _replace(folder: Path, target: Path) -> None:
    """Move the new folder into place; an earlier run's is removed only once the new one is there."""
    if not target.exists():
        os.replace(folder, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
    os.replace(target, old / target.name)
    os.replace(folder, target)
    shutil.rmtree(old)
