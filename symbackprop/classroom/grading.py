"""Grading a whole class: each student's derivation checked against their own variant.

The class folder that ``variants`` wrote gives each student's variant (``worksheets/ID.yaml``),
the order of the class (``answers.json``) and the roster's columns (``roster.csv``); the
submissions folder gives one file a student. A student's score is the points of the asked
quantities they got right (ECF at ``ecf_credit``) over all the points, each quantity judged by the
student's last claim about it — so a bad or missing file costs that student a row's status, never
the run.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import sympy as sp

from ..check.answer_text import read_answer
from ..check.judge import JUDGED, CheckReport, asked
from ..check.diagnose import NO_DIAGNOSIS
from ..check.route import check_derivation, derivation
from ..engine.protocol import Derivation
from ..errors import SymbackpropError
from .folder import stems
from .foreign import Numbers, numbers, sources
from .roster import Student, read_roster
from ..textfile import read_text
from ..worksheet.read import load

SUFFIXES = (".md", ".tex", ".txt")  # what a submission may be: Markdown, LaTeX, or plain text with math
ECF_CREDITS = ("1", "0.5", "0")  # full follow-through credit (STACK's and Numbas's), half, none
TOP_DIAGNOSES = 3
_LINE_REF = re.compile(r" \((the chain rule of )?line \d+\)")


@dataclass(frozen=True)
class ClassFolder:
    """A class folder written by ``variants``: its students in the class's order (with every roster
    column) and each one's variant worksheet."""

    path: Path
    title: str  # the worksheet's, without a variant's id and seed
    students: tuple[Student, ...]
    worksheets: dict[str, Path]
    stems: dict[str, str]  # id → the stem of the student's files (solutions/STEM.md)


@dataclass(frozen=True)
class Mark:
    """One asked quantity for one student: its points, the verdict of the student's last claim
    about it (``missing`` when never written) and the points earned."""

    quantity: str
    points: sp.Rational
    verdict: str
    line: int | None
    earned: sp.Rational


@dataclass(frozen=True)
class Grade:
    """One student's row: ``status`` is graded, missing, or ``error: <reason>``."""

    student: Student
    status: str
    score: sp.Rational  # 0 … 100
    derivation: Derivation  # of the student's variant
    marks: tuple[Mark, ...] = ()
    report: CheckReport | None = None
    submission: Path | None = None
    own_numbers: bool = True  # False: the lines give numbers of another variant, and ECF earns nothing

    def count(self, verdict: str) -> int:
        return self.report.count(verdict) if self.report else 0

    @property
    def diagnoses(self) -> set[str]:
        """The kinds of mistake in this student's wrong claims, each once (for the class summary)."""
        if not self.report:
            return set()
        return {diagnosis_kind(c.diagnosis) for c in self.report.claims
                if c.verdict == "wrong" and c.diagnosis and not c.diagnosis.startswith(NO_DIAGNOSIS)}


@dataclass(frozen=True)
class Summary:
    """The class at a glance: how many graded, missing, in error; the mean score of those graded;
    the commonest mistakes with how many students made each."""

    graded: int
    missing: int
    errors: int
    mean: sp.Rational | None
    diagnoses: tuple[tuple[str, int], ...]
    unclaimed: tuple[str, ...]  # submissions named by no student's id


@dataclass(frozen=True)
class Grades:
    """A graded class: one Grade a student in the class's order, and the summary."""

    folder: ClassFolder
    grades: tuple[Grade, ...]
    ecf_credit: sp.Rational
    summary: Summary
    warnings: tuple[str, ...] = ()  # for stderr: answers with another variant's numbers, what could not be written


def read_class(path: str | Path) -> ClassFolder:
    """The class folder ``path``; one that ``variants`` did not write (or an older one, without
    ``worksheets/``) is a SymbackpropError."""
    root = Path(path)
    if not root.is_dir():
        raise SymbackpropError("is not a folder of variants (written by symbackprop variants)", str(root))
    key = root / "answers.json"
    try:
        data = json.loads(read_text(key))
        ids, seed = [str(v["id"]) for v in data["variants"]], data["seed"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise SymbackpropError(f"not the answer key that symbackprop variants writes ({type(exc).__name__})",
                               str(key)) from None
    if not ids or len(set(ids)) != len(ids):
        raise SymbackpropError("expected one variant a student, each id once", str(key))
    folder = root / "worksheets"
    if not folder.is_dir():
        raise SymbackpropError("has no worksheets/ folder of variant worksheets; write the class again with "
                               "this version of symbackprop variants", str(root))
    named, numbered = stems(ids, False), stems(ids, True)
    worksheets = {}
    for i in ids:
        found = [folder / f"{s}.yaml" for s in dict.fromkeys((named[i], numbered[i])) if (folder / f"{s}.yaml").is_file()]
        if not found:
            raise SymbackpropError(f"no worksheet for the variant '{i}' ({named[i]}.yaml)", str(folder))
        worksheets[i] = found[0]
    roster = {s.id: s for s in read_roster(root / "roster.csv")} if (root / "roster.csv").is_file() else {}
    first = load(worksheets[ids[0]]).title
    return ClassFolder(root, first.removesuffix(f" — variant {ids[0]} (seed {seed})"),
                       tuple(roster.get(i, Student(i)) for i in ids), worksheets, {i: worksheets[i].stem for i in ids})


def submissions_of(folder: ClassFolder, path: str | Path) -> tuple[dict[str, Path | str], tuple[str, ...]]:
    """Each student's submission — a file ``ID.md``/``.tex``/``.txt``, or a folder ``ID/`` holding one —
    or the reason it cannot be graded (several files, a PDF); and the names that are no student's."""
    root = Path(path)
    if not root.is_dir():
        raise SymbackpropError("is not a folder of submissions (one file a student, named by id)", str(root))
    owner = {}
    for s in folder.students:
        for stem in (s.id, folder.stems[s.id]):
            owner[stem] = s.id
    found: dict[str, list[Path]] = {}
    unclaimed = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        files = sorted(f for f in entry.iterdir() if f.is_file() and not f.name.startswith(".")) if entry.is_dir() \
            else [entry]
        sid = owner.get(entry.name if entry.is_dir() else entry.stem)
        if sid is None:
            unclaimed.append(entry.name)
        else:
            found.setdefault(sid, []).extend(files)
    out: dict[str, Path | str] = {}
    for sid, files in found.items():
        answers = [f for f in files if f.suffix.lower() in SUFFIXES]
        if len(answers) == 1:
            out[sid] = answers[0]
        elif answers:
            out[sid] = f"several answer files ({', '.join(f.name for f in answers)}); keep one"
        elif files:
            out[sid] = f"{files[0].name} is not a .md, .tex or .txt file"
    return out, tuple(unclaimed)


def grade_student(student: Student, worksheet: Path, submission: Path | str | None, ecf_credit: sp.Rational,
                  tolerance: sp.Rational = sp.S.Zero) -> Grade:
    """One student's Grade; whatever is wrong with their file becomes the row's status."""
    d = derivation(load(worksheet))
    points = dict(d.worksheet.points)
    loss_prefix = f"d{d.loss}/d"
    weights = {q: sp.Rational(points.get(q.removeprefix(loss_prefix), 1)) for q in asked(d)[1:]}
    if submission is None:
        return Grade(student, "missing", sp.S.Zero, d, _marks(weights, None, ecf_credit))
    if isinstance(submission, str):
        return Grade(student, f"error: {submission}", sp.S.Zero, d, _marks(weights, None, ecf_credit))
    try:
        report = check_derivation(d, read_answer(submission), submission.name, tolerance)
        report = replace(report, worksheet=f"worksheets/{worksheet.name}")  # no instructor's path in feedback
    except SymbackpropError as exc:
        reason = " ".join(exc.message.split())
        return Grade(student, f"error: {reason}", sp.S.Zero, d, _marks(weights, None, ecf_credit), None, submission)
    given = {g.name for g in d.worksheet.given}
    own_numbers = not any(c.quantity in given and c.verdict == "wrong" for c in report.claims)
    # Follow-through credit is for a slip carried forward, not for work on another variant's numbers.
    marks = _marks(weights, report, ecf_credit if own_numbers else sp.S.Zero)
    return Grade(student, "graded", _score(marks), d, marks, report, submission, own_numbers)


def _score(marks: Sequence[Mark]) -> sp.Rational:
    return 100 * sum(m.earned for m in marks) / sum(m.points for m in marks) if marks else sp.S.Zero


def _marks(weights: dict[str, sp.Rational], report: CheckReport | None, ecf_credit: sp.Rational) -> tuple[Mark, ...]:
    """Each asked quantity judged by the student's last claim about it (none: ``missing``, 0 points)."""
    last = {c.quantity: c for c in report.claims if c.verdict in JUDGED} if report else {}
    credit = {"correct": sp.S.One, "ecf": ecf_credit}
    out = []
    for q, worth in weights.items():
        claim = last.get(q)
        verdict = claim.verdict if claim else "missing"
        out.append(Mark(q, worth, verdict, claim.line if claim else None, worth * credit.get(verdict, sp.S.Zero)))
    return tuple(out)


def grade(folder: ClassFolder, submissions: str | Path, ecf_credit: str = "1", tolerance: sp.Rational = sp.S.Zero,
          progress: Callable[[int], None] | None = None) -> Grades:
    """Grade every student of ``folder`` from the submissions folder, in the class's order."""
    if ecf_credit not in ECF_CREDITS:
        raise SymbackpropError(f"'{ecf_credit}' is not one of {', '.join(ECF_CREDITS)}", "--ecf-credit")
    credit = sp.Rational(ecf_credit)
    files, unclaimed = submissions_of(folder, submissions)
    grades = []
    for s in folder.students:
        grades.append(grade_student(s, folder.worksheets[s.id], files.get(s.id), credit, tolerance))
        if progress:
            progress(1)
    grades, warnings = foreign_numbers(grades)
    return Grades(folder, tuple(grades), credit, summarise(grades, unclaimed), tuple(warnings))


def foreign_numbers(grades: Sequence[Grade]) -> tuple[list[Grade], list[str]]:
    """Each graded student whose answers are another student's variant's (classroom/foreign.py)
    earns no ECF, and the instructor is told in a line."""
    graded = [g for g in grades if g.status == "graded"]
    found = sources([_written(g) for g in graded], [_expected(g) for g in graded], [g.student.id for g in graded])
    copied = {g.student.id: other for g, other in zip(graded, found) if other is not None}
    out, lines = [], []
    for g in grades:
        other = copied.get(g.student.id)
        if other is not None:
            marks = _marks({m.quantity: m.points for m in g.marks}, g.report, sp.S.Zero)
            g = replace(g, marks=marks, score=_score(marks), own_numbers=False)
            lines.append(f"student {g.student.id}: the answers give the numbers of student {other}'s variant, not "
                         "their own (no ECF credit); compare the two submissions")
        out.append(g)
    return out, lines


def _written(g: Grade) -> dict[str, Numbers | None]:
    """The student's last judged value of each asked quantity."""
    asked = {m.quantity for m in g.marks}
    return {c.quantity: numbers(c.claimed) for c in g.report.claims if c.verdict in JUDGED and c.quantity in asked}


def _expected(g: Grade) -> dict[str, Numbers | None]:
    """The student's own variant's value of each asked gradient and of the loss."""
    d, prefix = g.derivation, f"d{g.derivation.loss}/d"
    out: dict[str, Numbers | None] = {}
    for m in g.marks:
        name = m.quantity.removeprefix(prefix)
        if m.quantity.startswith(prefix) and name in d.wrt:
            out[m.quantity] = numbers(d.gradient(name))
        elif m.quantity == d.loss:
            out[m.quantity] = numbers(d.forward[d.loss].value)
    return out


def summarise(grades: Sequence[Grade], unclaimed: tuple[str, ...] = ()) -> Summary:
    graded = [g for g in grades if g.status == "graded"]
    kinds = Counter(k for g in graded for k in g.diagnoses)
    top = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DIAGNOSES]
    mean = sum(g.score for g in graded) / len(graded) if graded else None
    return Summary(len(graded), sum(g.status == "missing" for g in grades),
                   sum(g.status.startswith("error") for g in grades), mean, tuple(top), unclaimed)


def diagnosis_kind(diagnosis: str) -> str:
    """A diagnosis without what varies from student to student — the line it points to, the
    numbers after a colon — so that the same mistake counts once a student across the class."""
    text = _LINE_REF.sub("", diagnosis)
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith(": ", i):
            return text[:i]
    return text


def percent(value: sp.Rational) -> str:
    """A score as a short decimal, to 2 places, rounded half up: 100, 87.5, 66.67."""
    text = format((Decimal(int(value.p)) / Decimal(int(value.q))).quantize(Decimal("0.01"), ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".")
