"""`symbackprop grade`: a class of 30, each student checked against their own variant.

The right derivations are written by tests/support/student.py from each student's own variant;
one student copies a neighbour's file, one slips once (and carries the slip forward), one hands in
nothing, one a binary file, one a file without math, one a folder holding their file.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sympy as sp

from support.cli import run_cli
from support.paths import ROOT
from support.student import Student
from symbackprop.api import grade
from symbackprop.engine.derive import derive
from symbackprop.language.evaluate import symbol
from symbackprop.worksheet.read import load

WORKSHEET = ROOT / "worksheets" / "001_linear_network_random.yaml"
N = 30
COPIER, SLIP, MISSING, BINARY, NO_MATH, FOLDER, QUIET_COPIER = "s02", "s03", "s04", "s05", "s06", "s07", "s08"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class")
    roster = root / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email", "SIS User ID", "Section"])
        w.writerows([f"s{i:02d}", f"Student {i}", f"s{i:02d}@example.org", f"U{i}", "A"] for i in range(1, N + 1))
    proc = run_cli("variants", str(WORKSHEET), "--roster", str(roster), "--seed", "2024", "--sheets", "solution",
                   "--format", "md", "-o", str(root / "class"))
    assert proc.returncode == 0, proc.stderr
    subs = root / "subs"
    subs.mkdir()
    for i in range(1, N + 1):
        sid = f"s{i:02d}"
        d = derive(load(root / "class" / "worksheets" / f"{sid}.yaml"))
        wrong = {"dL/dD": lambda st: st.value(2 * (symbol("D") - symbol("t")) + 1)} if sid == SLIP else {}
        text = Student(d, 4, wrong=wrong).text()
        if sid == FOLDER:
            (subs / sid).mkdir()
            (subs / sid / "work.md").write_text(text, encoding="utf-8")
        elif sid not in (COPIER, MISSING, BINARY, NO_MATH, QUIET_COPIER):
            (subs / f"{sid}.md").write_text(text, encoding="utf-8")
    neighbour = load(root / "class" / "worksheets" / "s01.yaml").given  # a copy restates the neighbour's numbers too
    restated = "".join(f"$${g.name} = {g.value}$$\n" for g in neighbour)
    (subs / f"{COPIER}.md").write_text(restated + (subs / "s01.md").read_text(encoding="utf-8"), encoding="utf-8")
    (subs / f"{QUIET_COPIER}.md").write_text((subs / "s01.md").read_text(encoding="utf-8"), encoding="utf-8")
    (subs / f"{BINARY}.md").write_bytes(b"%PDF-1.4\n\x00\x00\x01\x02")
    (subs / f"{NO_MATH}.txt").write_text("I ran out of time.\n", encoding="utf-8")
    proc = run_cli("grade", str(root / "class"), str(subs), "-o", str(root / "out"), "--canvas-csv",
                   str(root / "canvas.csv"), "--moodle-csv", str(root / "moodle.csv"), "--assignment", "HW1")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{N - 3} graded, 1 missing, 2 in error" in proc.stderr
    assert f"student {QUIET_COPIER}: the answers give the numbers of student s01's variant" in proc.stderr
    assert f"student {COPIER}:" in proc.stderr and "student s01:" not in proc.stderr
    return root


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_student_has_a_row_in_roster_order(graded: Path) -> None:
    table = rows(graded / "out" / "grades.csv")
    assert [r["id"] for r in table] == [f"s{i:02d}" for i in range(1, N + 1)]
    assert list(table[0]) == ["id", "name", "email", "SIS User ID", "Section", "score", "correct", "wrong", "ecf",
                              "unreadable", "unknown", "status"]
    by = {r["id"]: r for r in table}
    bad = {COPIER, SLIP, MISSING, BINARY, NO_MATH, QUIET_COPIER}
    assert all(r["status"] == "graded" and r["score"] == "100" for k, r in by.items() if k not in bad)
    assert by[MISSING]["status"] == "missing" and by[MISSING]["score"] == "0"
    assert by[BINARY]["status"].startswith("error: ") and "binary" in by[BINARY]["status"]
    assert by[NO_MATH]["status"].startswith("error: no math")


def test_a_copied_derivation_is_wrong_where_the_numbers_differ(graded: Path) -> None:
    by = {r["id"]: r for r in rows(graded / "out" / "grades.csv")}
    assert by[COPIER]["status"] == "graded"
    assert float(by[COPIER]["score"]) < 100 and int(by[COPIER]["wrong"]) > 0
    data = json.loads((graded / "out" / "grades.json").read_text(encoding="utf-8"))
    copier = next(s for s in data["students"] if s["id"] == COPIER)
    ecf = [q for q in copier["quantities"] if q["verdict"] == "ecf"]
    assert ecf and all(q["earned"] == "0" for q in ecf)  # no follow-through credit on another variant's numbers


def test_a_copy_without_the_given_numbers_earns_no_ecf_either(graded: Path) -> None:
    """A neighbour's file copied as it is (no given numbers restated): the answers are still found
    to be the neighbour's variant's, so ECF earns nothing and the feedback says why."""
    data = json.loads((graded / "out" / "grades.json").read_text(encoding="utf-8"))
    copier = next(s for s in data["students"] if s["id"] == QUIET_COPIER)
    verdicts = [q["verdict"] for q in copier["quantities"]]
    assert "ecf" in verdicts and all(q["earned"] == "0" for q in copier["quantities"] if q["verdict"] != "correct")
    assert float(copier["score"]) < 50
    feedback = (graded / "out" / "feedback" / f"{QUIET_COPIER}.md").read_text(encoding="utf-8")
    assert "your lines give numbers that are not your variant's" in feedback


def test_a_slip_is_wrong_once_and_ecf_after(graded: Path) -> None:
    data = json.loads((graded / "out" / "grades.json").read_text(encoding="utf-8"))
    slip = next(s for s in data["students"] if s["id"] == SLIP)
    verdicts = {q["quantity"]: q["verdict"] for q in slip["quantities"]}
    assert verdicts["dL/dD"] == "wrong"
    assert list(verdicts.values()).count("wrong") == 1 and "ecf" in verdicts.values()
    assert set(verdicts.values()) == {"correct", "ecf", "wrong"}  # a gradient where the slip is multiplied by 0 stays right
    assert slip["score"] == "94.44"  # 17 of 18 points: ECF earns them all by default
    assert slip["check"]["summary"]["wrong"] >= 1 and slip["check"]["claims"][0]["verdict"] == "correct"
    assert data["summary"]["graded"] == N - 3


def test_feedback_files(graded: Path) -> None:
    feedback = graded / "out" / "feedback"
    assert not (feedback / f"{MISSING}.md").exists()
    slip = (feedback / f"{SLIP}.md").read_text(encoding="utf-8")
    assert "**Score: 94.44 / 100**" in slip and "| ECF |" in slip and "✗" in slip
    assert "## Backward pass" in slip or "Backward pass" in slip  # the variant's worked solution
    assert "binary" in (feedback / f"{BINARY}.md").read_text(encoding="utf-8")
    assert (feedback / f"{FOLDER}.md").is_file()


def test_gradebook_imports(graded: Path) -> None:
    canvas = rows(graded / "canvas.csv")
    assert list(canvas[0]) == ["Student", "ID", "SIS User ID", "Section", "HW1"]
    assert [r["ID"] for r in canvas] == [f"s{i:02d}" for i in range(1, N + 1)]
    assert canvas[0] == {"Student": "Student 1", "ID": "s01", "SIS User ID": "U1", "Section": "A", "HW1": "100"}
    assert next(r for r in canvas if r["ID"] == MISSING)["HW1"] == ""
    moodle = rows(graded / "moodle.csv")
    assert list(moodle[0]) == ["email", "HW1"] and moodle[0] == {"email": "s01@example.org", "HW1": "100"}
    summary = (graded / "out" / "summary.md").read_text(encoding="utf-8")
    assert f"{N - 3} graded, 1 missing, 2 in error" in summary


def test_half_credit_for_ecf(graded: Path) -> None:
    result = grade(graded / "class", graded / "subs", ecf_credit="0.5")
    slip = next(g for g in result.grades if g.student.id == SLIP)
    verdicts = [m.verdict for m in slip.marks]
    assert slip.score == 100 * (verdicts.count("correct") + sp.Rational(verdicts.count("ecf"), 2)) / len(verdicts)
    assert result.summary.graded == N - 3


def test_a_bad_class_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run_cli("grade", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "answers.json" in proc.stderr


def test_points_weigh_the_asked_quantities(tmp_path: Path) -> None:
    from symbackprop.classroom.grading import grade_student
    from symbackprop.classroom.roster import Student as Row

    example = ROOT / "docs" / "examples"
    worksheet = tmp_path / "s02.yaml"
    worksheet.write_text((example / "class" / "worksheets" / "s02.yaml").read_text(encoding="utf-8")
                         + "points:\n  D: 2\n  w1: 1/2\n", encoding="utf-8")
    g = grade_student(Row("s02"), worksheet, example / "submissions" / "s02.md", sp.S.One)
    assert [m.verdict for m in g.marks if m.quantity == "dL/dD"] == ["wrong"]
    assert g.score == 100 * (sp.Rational(37, 2) - 2) / sp.Rational(37, 2)  # 18.5 points, dL/dD's 2 lost


@pytest.mark.parametrize("points, message", [("wx: 2", "is not a gradient the worksheet asks"),
                                             ("w1: 0", "expected a positive number"),
                                             ("w1^(1): 1", "is no updated value")])
def test_bad_points_are_one_line(tmp_path: Path, points: str, message: str) -> None:
    worksheet = tmp_path / "w.yaml"
    worksheet.write_text((ROOT / "worksheets" / "001_linear_network.yaml").read_text(encoding="utf-8")
                         + f"points:\n  {points}\n", encoding="utf-8")
    proc = run_cli("solve", str(worksheet))
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1
