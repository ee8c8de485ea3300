"""The running side of ``gradescope.zip``: one submission graded against its student's own variant.

Gradescope runs ``run_autograder`` once a submission, in a container where ROOT/submission/ holds
the student's files, ROOT/submission_metadata.json says who submitted, and ROOT/results/results.json
receives the result (https://gradescope-autograders.readthedocs.io/en/latest/specs/). ROOT is
/autograder, or the folder the environment variable ``SYMBACKPROP_AUTOGRADER_ROOT`` names, for a
trial run on one's own machine. The grading is ``symbackprop grade``'s own (``grade_student``) at
its defaults: full follow-through credit, no tolerance beyond rounding.

    python3 -m symbackprop.classroom.autograder CLASS_DIR
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sympy as sp

from ..check.judge import JUDGED
from ..check.report import LABELS
from ..errors import SymbackpropError
from .feedback import VERDICTS
from .folder import Request
from .gradebook import COUNTS
from .gradescope import CLASS, ROOT_VARIABLE, SETTINGS, VISIBILITIES
from .grading import ECF_CREDITS, SUFFIXES, ClassFolder, Grade, Mark, grade_student, percent, read_class
from .roster import Student
from ..textfile import read_text, write_atomically

ECF_CREDIT = sp.Rational(ECF_CREDITS[0])  # grade's default --ecf-credit


def root() -> Path:
    return Path(os.environ.get(ROOT_VARIABLE) or "/autograder")


def submitter(metadata: Path) -> tuple[str, str]:
    """The first submitter's student ID (``sid``) and email in Gradescope's submission metadata
    ("" for what it does not give; a group is graded as its first member)."""
    try:
        users = json.loads(read_text(metadata)).get("users")
        first = users[0] if users and isinstance(users[0], dict) else {}
    except (SymbackpropError, json.JSONDecodeError, AttributeError, TypeError, KeyError):
        first = {}
    return str(first.get("sid") or "").strip(), str(first.get("email") or "").strip()


def find_student(folder: ClassFolder, sid: str, email: str) -> Student | None:
    """The student whose roster id is the student ID, else whose email is the email (in any case)."""
    by_id = {s.id: s for s in folder.students}
    if sid in by_id:
        return by_id[sid]
    return next((s for s in folder.students if email and s.email.lower() == email.lower()), None)


def submitted_file(submission: Path) -> Path | None:
    """The first .md, .tex or .txt file of the submission, its folders searched too, in the order of
    the paths' names; hidden files and folders (``.DS_Store``, ``__MACOSX``) are passed over."""
    if not submission.is_dir():
        return None
    found = [p for p in submission.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
             and not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(submission).parts)]
    return min(found, key=lambda p: p.relative_to(submission).parts, default=None)


def results(folder: ClassFolder, root_dir: Path, visibility: str) -> dict[str, Any]:
    """results.json for the submission in ``root_dir``: the score in points, the summary, one test
    an asked quantity with its verdict and diagnosis."""
    sid, email = submitter(root_dir / "submission_metadata.json")
    student = find_student(folder, sid, email)
    if student is None:
        given = " and ".join(f"{k} '{v}'" for k, v in (("student ID", sid), ("email", email)) if v) or "no student ID or email"
        return _results(0.0, f"No variant for this submission: Gradescope gives {given}, and the class roster has "
                             "neither. Your instructor will grade it by hand.", [], visibility)
    file = submitted_file(root_dir / "submission")
    g = grade_student(student, folder.worksheets[student.id], file, ECF_CREDIT)
    return _results(float(sum(m.earned for m in g.marks)), _summary(folder, g),
                    [_test(m, g, visibility) for m in g.marks], visibility)


def _summary(folder: ClassFolder, g: Grade) -> str:
    total = sum(m.points for m in g.marks)
    earned = sum(m.earned for m in g.marks)
    file = g.submission.name if g.submission else "The submission"
    lines = [f"{folder.title}: graded against your own variant ({g.student.id}).",
             f"Score: {percent(g.score)} % ({_number(earned)} of {_number(total)} points)."]
    if g.status == "missing":
        lines.append("No .md, .tex or .txt file in the submission: upload your derivation as one Markdown, LaTeX or "
                     "text file with math.")
    elif g.status != "graded":
        lines.append(f"{file} could not be graded: {g.status.removeprefix('error: ')}")
    else:
        lines.append(f"{file}: " + ", ".join(f"{g.count(v)} {v}" for v in COUNTS) + " lines.")
        if not g.own_numbers:
            lines.append("Your lines give numbers other than your variant's: a value carried forward from them "
                         "(ECF) earns nothing.")
    return "\n".join(lines)


def _test(m: Mark, g: Grade, visibility: str) -> dict[str, Any]:
    """One asked quantity: the verdict of the student's last claim about it, its line and diagnosis."""
    claim = next((c for c in reversed(g.report.claims) if c.quantity == m.quantity and c.line == m.line
                  and c.verdict in JUDGED), None) if g.report else None
    lines = [LABELS.get(m.verdict) or VERDICTS[m.verdict]]
    if claim:
        lines[0] += f" (line {claim.line}): {claim.text}"
        if claim.diagnosis:
            lines.append(claim.diagnosis)
    return {"name": m.quantity, "score": float(m.earned), "max_score": float(m.points),
            "status": "passed" if m.earned == m.points else "failed", "output": "\n".join(lines),
            "visibility": visibility}


def _results(score: float, output: str, tests: Sequence[dict[str, Any]], visibility: str) -> dict[str, Any]:
    """Gradescope's results.json: the score and the summary seen when the tests are; the
    autograder's own output (stdout) is for the instructor alone."""
    return {"score": score, "output": output, "visibility": visibility, "stdout_visibility": "hidden",
            "tests": list(tests)}


def _number(value: sp.Rational) -> str:
    return str(value) if value.q == 1 else percent(value)


def settings(folder: Path) -> str:
    """The visibility written into the zip (``gradescope.json``); without one, ``variants``'s default."""
    path = folder / SETTINGS
    if not path.is_file():
        return Request().visibility
    try:
        visibility = json.loads(read_text(path)).get("visibility")
    except (json.JSONDecodeError, AttributeError):
        visibility = None
    if visibility not in VISIBILITIES:
        raise SymbackpropError(f'expected {{"visibility": V}}, V one of {", ".join(VISIBILITIES)}', str(path))
    return visibility


def main(argv: Sequence[str] | None = None) -> int:
    """Grade the submission and write results.json; exit 2 (one line on stderr) when the class
    folder itself is unreadable, which is the instructor's to mend, not the student's."""
    args = list(sys.argv[1:] if argv is None else argv)
    root_dir = root()
    try:
        class_dir = Path(args[0]) if args else root_dir / "source" / CLASS
        folder = read_class(class_dir)
        data = results(folder, root_dir, settings(class_dir))
    except SymbackpropError as exc:
        print(f"symbackprop: {exc}", file=sys.stderr)
        return 2
    (root_dir / "results").mkdir(parents=True, exist_ok=True)
    write_atomically(root_dir / "results" / "results.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(data["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
