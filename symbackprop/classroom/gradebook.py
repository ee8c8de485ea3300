"""What ``grade`` writes about a class: ``grades.csv``, ``grades.json``, the summary, and the
gradebook imports of Canvas and Moodle.

Canvas's gradebook import reads the columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``
and ``Section`` to find each student, then one column an assignment; Moodle's "Import grades from
CSV" maps one identifier column to a user field (email address, ID number) and one column to a
grade item. A student who is missing or whose file is in error gets an empty grade there: the
import leaves it for the instructor instead of recording a 0 that looks like a mark.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..check.report import as_dict
from ..errors import SymbackpropError
from .feedback import feedback
from ..sheets.jsonout import exact
from ..sheets.pdf import compile_pdf
from .grading import Grade, Grades, Summary, percent
from .roster import Student
from ..textfile import write_atomically

COUNTS = ("correct", "wrong", "ecf", "unreadable", "unknown")
CANVAS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def columns(students: Sequence[Student]) -> list[str]:
    """The roster's columns other than ``id``, as the roster writes them, in its order."""
    return [h for h, _ in students[0].columns if h.lower() != "id"] if students else []


def _cell(student: Student, header: str) -> str:
    """A roster column of a student, found without regard to case ("" when the roster has none)."""
    return next((v for h, v in student.columns if h.lower() == header.lower()), "")


def _csv(rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def grades_csv(grades: Grades) -> str:
    """One row a student in the class's order: id, the roster's columns, score, counts, status."""
    students = [g.student for g in grades.grades]
    extra = columns(students)
    rows: list[list[object]] = [["id", *extra, "score", *COUNTS, "status"]]
    for g in grades.grades:
        rows.append([g.student.id, *(_cell(g.student, h) for h in extra), percent(g.score),
                     *(g.count(v) for v in COUNTS), g.status])
    return _csv(rows)


def grades_json(grades: Grades) -> str:
    """grades.csv's rows, each with the marks of the asked quantities and the student's claims in
    the check JSON contract (null when there was no file to check). Points are exact strings."""
    students = []
    for g in grades.grades:
        students.append({
            "id": g.student.id, "columns": dict(g.student.columns), "score": percent(g.score),
            "score_exact": exact(g.score), "status": g.status, **{v: g.count(v) for v in COUNTS},
            "submission": g.submission.name if g.submission else None,
            "quantities": [{"quantity": m.quantity, "points": exact(m.points), "verdict": m.verdict, "line": m.line,
                            "earned": exact(m.earned)} for m in g.marks],
            "check": as_dict(g.report) if g.report else None,
        })
    data: dict[str, Any] = {"class": grades.folder.path.name, "title": grades.folder.title,
                            "ecf_credit": exact(grades.ecf_credit), "summary": summary_dict(grades.summary),
                            "students": students}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def summary_dict(s: Summary) -> dict[str, Any]:
    return {"graded": s.graded, "missing": s.missing, "errors": s.errors,
            "mean": None if s.mean is None else percent(s.mean),
            "diagnoses": [{"diagnosis": k, "students": n} for k, n in s.diagnoses], "unclaimed": list(s.unclaimed)}


def summary_lines(s: Summary) -> list[str]:
    """The summary as lines of text: the counts, the mean, the commonest mistakes."""
    mean = f"; mean score {percent(s.mean)}" if s.mean is not None else ""
    lines = [f"{s.graded} graded, {s.missing} missing, {s.errors} in error{mean}"]
    lines += [f"{k}: {n} student{'s' * (n != 1)}" for k, n in s.diagnoses]
    if s.unclaimed:
        lines.append(f"not any student's (ignored): {', '.join(s.unclaimed)}")
    return lines


def summary_md(grades: Grades) -> str:
    """summary.md: the title, then the summary's lines as a list (the same lines as on stderr)."""
    return f"# Grades: {grades.folder.title}\n\n" + "".join(f"- {line}\n" for line in summary_lines(grades.summary))


def _score(g: Grade) -> str:
    return percent(g.score) if g.status == "graded" else ""


def canvas_csv(grades: Grades, assignment: str) -> str:
    """Canvas's gradebook import: the identifying columns the roster has (``Student`` from its
    Student or name column, ``ID`` its id), then the assignment's column of scores out of 100."""
    students = [g.student for g in grades.grades]
    present = {h.lower() for s in students[:1] for h, _ in s.columns}
    student_column = next((c for c in ("student", "name") if c in present), None)
    head = ([("Student", student_column)] if student_column else []) + [("ID", "id")]
    head += [(c, c) for c in CANVAS[2:] if c.lower() in present]
    rows: list[list[str]] = [[h for h, _ in head] + [assignment]]
    for g in grades.grades:
        rows.append([g.student.id if key == "id" else _cell(g.student, key) for _, key in head] + [_score(g)])
    return _csv(rows)


def moodle_csv(grades: Grades, assignment: str) -> str:
    """Moodle's grade import: ``email`` when every student has one, else ``idnumber`` (the roster's
    idnumber column, or its id), then the grade out of 100."""
    students = [g.student for g in grades.grades]
    if all(_cell(s, "email") for s in students):
        header, value = "email", lambda s: _cell(s, "email")
    else:
        header, value = "idnumber", lambda s: _cell(s, "idnumber") or s.id
    return _csv([[header, assignment]] + [[value(g.student), _score(g)] for g in grades.grades])


def writable(out: str | Path, *files: str | Path | None) -> Path:
    """The folder ``out``, refused before any grading when it, or a gradebook file, cannot be written."""
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise SymbackpropError("exists and is not a folder; -o takes the folder to write the grades into", str(target))
    for path in (target, *filter(None, files)):
        parent = Path(path).resolve().parent
        if not (parent.is_dir() or parent == target.resolve()):  # a gradebook may go inside OUT
            raise SymbackpropError("the folder to write into does not exist", str(path))
    return target


def write(grades: Grades, out: str | Path, formats: Sequence[str] = ("md",), canvas: str | Path | None = None,
          moodle: str | Path | None = None, assignment: str | None = None) -> list[str]:
    """Write the folder ``out`` (grades.csv, grades.json, summary.md, feedback/ID.md and .pdf) and
    the gradebook imports, each file atomically; return warnings (a feedback PDF LaTeX refused)."""
    target = writable(out, canvas, moodle)
    (target / "feedback").mkdir(parents=True, exist_ok=True)
    warnings = []
    for g in grades.grades:
        if g.status == "missing":
            continue
        stem = target / "feedback" / grades.folder.stems[g.student.id]
        write_atomically(stem.with_suffix(".md"), feedback(g, grades.folder, "md", grades.ecf_credit))
        if "pdf" in formats:
            try:
                write_atomically(stem.with_suffix(".pdf"), compile_pdf(feedback(g, grades.folder, "tex",
                                                                                grades.ecf_credit)))
            except SymbackpropError as exc:
                warnings.append(f"{stem.with_suffix('.pdf')}: not written: {exc.message}")
    write_atomically(target / "grades.json", grades_json(grades))
    write_atomically(target / "grades.csv", grades_csv(grades))
    write_atomically(target / "summary.md", summary_md(grades))
    name = assignment or grades.folder.title
    for path, export in ((canvas, canvas_csv), (moodle, moodle_csv)):
        if path:
            write_atomically(path, export(grades, name))
    return warnings
