"""`symbackprop variants --gradescope`: gradescope.zip, run as Gradescope runs it.

The zip is unzipped into a temporary /autograder/source/ with its mode bits, the wheel inside is
installed with pip into a folder of its own, and ``run_autograder`` is run with that folder alone
on PYTHONPATH, so the grading is done by the bundled wheel, not by this checkout. The results are
checked against Gradescope's documented results.json format and against the class's own answer
key (answers.json).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from support.cli import run_cli
from support.paths import ROOT
from support.student import Student
from symbackprop.api import grade
from symbackprop.classroom.autograder import main, submitted_file
from symbackprop.classroom.gradescope import ZIP, package
from symbackprop.engine.derive import derive
from symbackprop.errors import SymbackpropError
from symbackprop.language.evaluate import symbol
from symbackprop.worksheet.read import load

WORKSHEET = ROOT / "worksheets" / "001_linear_network_random.yaml"
VISIBILITY = "after_published"  # not the default, so that the test sees the option reach results.json
STUDENTS = [("s01", "Ada", "Ada.Lovelace@Example.org"), ("s02", "Tom", "tom@example.org"), ("s03", "Emmy", "")]

# Gradescope's results.json, as https://gradescope-autograders.readthedocs.io/en/latest/specs/
# ("Output format") documents it: each key and the JSON type of its value.
NUMBER = (int, float)
TOP = {"score": NUMBER, "execution_time": NUMBER, "output": str, "output_format": str, "test_output_format": str,
       "test_name_format": str, "visibility": str, "stdout_visibility": str, "extra_data": dict, "tests": list,
       "leaderboard": list}
TEST = {"score": NUMBER, "max_score": NUMBER, "status": str, "name": str, "name_format": str, "number": str,
        "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
STATUSES = {"passed", "failed"}


def check_format(results: dict[str, Any]) -> None:
    """Every key one the format documents, with its documented type and values; a score at the top
    level or on every test (the page: "optional, but required if not on each test case")."""
    for table, where in [(results, TOP)] + [(t, TEST) for t in results.get("tests", [])]:
        assert set(table) <= set(where), set(table) - set(where)
        for key, value in table.items():
            assert isinstance(value, where[key]) and not isinstance(value, bool), (key, value)
        for key in ("visibility", "stdout_visibility"):
            assert table.get(key, "visible") in VISIBILITIES
        assert table.get("status", "passed") in STATUSES
    assert "score" in results or all("score" in t for t in results["tests"])


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class of three from a roster with emails, its gradescope.zip unzipped as Gradescope does
    (into source/, mode bits applied) and the bundled wheel installed into site/."""
    root = tmp_path_factory.mktemp("gradescope")
    roster = root / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("id", "name", "email"), *STUDENTS])
    proc = run_cli("variants", str(WORKSHEET), "--roster", str(roster), "--seed", "11", "--sheets", "solution",
                   "--format", "md", "--gradescope", "--visibility", VISIBILITY, "-o", str(root / "class"))
    assert proc.returncode == 0, proc.stderr
    source = root / "autograder" / "source"
    with zipfile.ZipFile(root / "class" / ZIP) as z:
        for info in z.infolist():
            z.extract(info, source)
            os.chmod(source / info.filename, info.external_attr >> 16 & 0o777)
    wheels = list(source.glob("symbackprop-*-py3-none-any.whl"))
    assert len(wheels) == 1
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                          "--disable-pip-version-check", "--target", str(root / "site"), str(wheels[0])],
                         capture_output=True, text=True, timeout=120)
    assert pip.returncode == 0, pip.stderr
    return root


def environment(root: Path, grader: Path) -> dict[str, str]:
    """The installed wheel alone on PYTHONPATH; python3 is this interpreter (run_autograder calls python3)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(root / "site"), SYMBACKPROP_AUTOGRADER_ROOT=str(grader),
               PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""))
    return env


def autograde(made: Path, name: str, users: list[dict[str, str]], files: dict[str, bytes]) -> dict[str, Any]:
    """Run ``run_autograder`` on a submission: a fresh /autograder with the zip's source/, the
    submission's files and its metadata; return results.json."""
    grader = made / name
    (grader / "submission").mkdir(parents=True)
    (grader / "source").symlink_to(made / "autograder" / "source")
    (grader / "submission_metadata.json").write_text(json.dumps({"id": 1, "users": users}), encoding="utf-8")
    for file, data in files.items():
        (grader / "submission" / file).parent.mkdir(parents=True, exist_ok=True)
        (grader / "submission" / file).write_bytes(data)
    proc = subprocess.run([str(grader / "source" / "run_autograder")], capture_output=True, text=True, cwd=grader,
                          env=environment(made, grader), timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((grader / "results" / "results.json").read_text(encoding="utf-8"))
    check_format(results)
    return results


def derivation(made: Path, sid: str, wrong: dict | None = None) -> bytes:
    """A student's derivation worked by hand on their own variant (tests/support/student.py)."""
    d = derive(load(made / "class" / "worksheets" / f"{sid}.yaml"))
    return Student(d, 4, wrong=wrong or {}).text().encode("utf-8")


def asked(made: Path, sid: str) -> set[str]:
    """The gradients of the student's variant in the class's answer key: every one is asked."""
    key = json.loads((made / "class" / "answers.json").read_text(encoding="utf-8"))
    return {f"dL/d{name}" for v in key["variants"] if v["id"] == sid for name in v["gradients"]}


def test_the_zip_holds_the_scripts_the_class_and_a_wheel(made: Path) -> None:
    with zipfile.ZipFile(made / "class" / ZIP) as z:
        infos = {i.filename: i for i in z.infolist()}
    names = list(infos)
    assert names == sorted(names)
    assert {"setup.sh", "run_autograder", "class/answers.json", "class/roster.csv", "class/worksheets/s01.yaml"} <= set(names)
    assert not [n for n in names if n.endswith((".pdf", ZIP))]
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert infos["run_autograder"].external_attr >> 16 == 0o100755
    assert infos["class/answers.json"].external_attr >> 16 == 0o100644
    source = made / "autograder" / "source"
    assert (source / "class" / "answers.json").read_bytes() == (made / "class" / "answers.json").read_bytes()
    setup = (source / "setup.sh").read_text(encoding="utf-8")
    wheel = next(source.glob("*.whl")).name
    assert setup.startswith("#!/usr/bin/env bash\n") and f"pip install /autograder/source/{wheel}" in setup
    assert subprocess.run(["bash", "-n", str(source / "setup.sh")]).returncode == 0  # bash reads it


def test_the_zip_is_the_same_bytes_under_any_hash_seed(made: Path) -> None:
    folder = made / "class"
    script = ("import sys; from pathlib import Path; from symbackprop.classroom.gradescope import package; "
              f"sys.stdout.buffer.write(package(Path({str(folder)!r}), {VISIBILITY!r}))")
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert other == package(folder, VISIBILITY) == (folder / ZIP).read_bytes()


def test_the_wheel_record_matches_its_files(made: Path) -> None:
    data = next((made / "autograder" / "source").glob("*.whl")).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as w:
        names = w.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.StringIO(w.read(f"{info}/RECORD").decode("utf-8"))))
        assert sorted(r[0] for r in rows) == sorted(names)
        for path, digest, size in rows:
            if path == f"{info}/RECORD":
                assert digest == size == ""
                continue
            body = w.read(path)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
            assert int(size) == len(body)
            assert (made / "site" / path).read_bytes() == body  # pip installed these very bytes
        metadata = w.read(f"{info}/METADATA").decode("utf-8")
    requires = {line.split(":", 1)[1].strip().split(">")[0].lower() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")}
    assert requires == {"sympy", "jinja2", "click", "pyyaml"}


def test_the_installed_wheel_is_the_whole_package(made: Path) -> None:
    """A fresh interpreter with only the installed wheel imports every module the checkout has and
    finds every template; so a module or a template left out of the wheel fails here."""
    script = ("import importlib, pkgutil, symbackprop; from symbackprop.sheets.render import builtin_templates; "
              "mods = sorted(m.name for m in pkgutil.walk_packages(symbackprop.__path__, 'symbackprop.')); "
              "[importlib.import_module(m) for m in mods]; "
              "print(symbackprop.__file__); print(' '.join(mods)); "
              "print(builtin_templates()); print(' '.join(sorted(p.name for p in builtin_templates().glob('*.j2'))))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=made, timeout=120,
                          env=environment(made, made))
    assert proc.returncode == 0, proc.stderr
    where, modules, templates, names = proc.stdout.splitlines()
    assert Path(where).is_relative_to(made / "site") and Path(templates).is_relative_to(made / "site")
    package_dir = ROOT / "symbackprop"
    expected = sorted(".".join(("symbackprop", *p.relative_to(package_dir).with_suffix("").parts)).removesuffix(".__init__")
                      for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    assert modules.split() == [m for m in expected if m != "symbackprop"]
    assert names.split() == sorted(p.name for p in (ROOT / "templates").glob("*.j2"))
    assert (made / "site" / "bin" / "symbackprop").is_file()  # the console script


def test_a_right_derivation_earns_every_point(made: Path) -> None:
    """Matched by email alone, in another case; every asked gradient of the answer key a test."""
    results = autograde(made, "right", [{"email": "ada.lovelace@example.ORG", "name": "Ada"}],
                        {"work/derivation.md": derivation(made, "s01")})
    tests = results["tests"]
    assert {t["name"] for t in tests} == asked(made, "s01")
    assert all(t["score"] == t["max_score"] == 1 and t["status"] == "passed" for t in tests)
    assert results["score"] == sum(t["max_score"] for t in tests) == len(asked(made, "s01"))
    assert all(t["output"].startswith("✓ correct (line ") for t in tests)
    assert {results["visibility"]} | {t["visibility"] for t in tests} == {VISIBILITY}
    assert "Score: 100 %" in results["output"] and "(s01)" in results["output"]


def test_a_slip_loses_its_points_and_the_rest_follow_through(made: Path) -> None:
    """Matched by student ID: ∂L/∂D written one too large and carried forward."""
    slip = {"dL/dD": lambda st: st.value(2 * (symbol("D") - symbol("t")) + 1)}
    results = autograde(made, "wrong", [{"sid": "s02", "email": "", "name": "Tom"}],
                        {"s02.md": derivation(made, "s02", slip)})
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == asked(made, "s02")
    assert [n for n, t in tests.items() if t["status"] == "failed"] == ["dL/dD"]
    assert tests["dL/dD"]["score"] == 0 and tests["dL/dD"]["output"].startswith("✗ wrong (line ")
    assert results["score"] == len(tests) - 1 < sum(t["max_score"] for t in tests.values())
    assert "(s02)" in results["output"]
    # symbackprop grade, on the same file, gives the same score, verdicts and diagnosis.
    (made / "subs").mkdir()
    (made / "subs" / "s02.md").write_bytes(derivation(made, "s02", slip))
    row = next(g for g in grade(made / "class", made / "subs").grades if g.student.id == "s02")
    assert 100 * results["score"] / len(tests) == pytest.approx(float(row.score))
    assert {m.quantity: m.verdict for m in row.marks} == {n: "wrong" if n == "dL/dD" else "ecf" if t["output"].startswith(
        "ECF") else "correct" for n, t in tests.items()}
    diagnosis = next(c.diagnosis for c in reversed(row.report.claims) if c.quantity == "dL/dD")
    assert diagnosis and tests["dL/dD"]["output"].splitlines()[1:] == [diagnosis]


def test_an_unreadable_class_folder_is_one_line_and_no_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The class folder is the instructor's to mend: no results.json (Gradescope then reports the
    run as failed instead of recording a 0)."""
    monkeypatch.setenv("SYMBACKPROP_AUTOGRADER_ROOT", str(tmp_path))
    assert main([str(tmp_path / "class")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbackprop: ") and err.count("\n") == 1 and "is not a folder of variants" in err
    assert not (tmp_path / "results").exists()


def test_a_stranger_gets_a_message_and_no_points(made: Path) -> None:
    results = autograde(made, "stranger", [{"sid": "x99", "email": "someone@else.org", "name": "X"}],
                        {"s01.md": derivation(made, "s01")})
    assert results["score"] == 0 and results["tests"] == []
    assert "student ID 'x99' and email 'someone@else.org'" in results["output"] and "roster" in results["output"]


def test_no_readable_file_gets_a_message_and_no_points(made: Path) -> None:
    results = autograde(made, "pdf", [{"sid": "s03"}], {"work.pdf": b"%PDF-1.4\n"})
    assert results["score"] == 0 and "No .md, .tex or .txt file" in results["output"]
    assert {t["name"] for t in results["tests"]} == asked(made, "s03")
    assert all(t["score"] == 0 and t["output"] == "— not written" for t in results["tests"])


def test_the_first_answer_file_by_path_is_graded(tmp_path: Path) -> None:
    for name in ("b.md", "a/z.txt", "a/notes.pdf", ".hidden.md", "__MACOSX/a/a.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("$$x = 1$$\n", encoding="utf-8")
    assert submitted_file(tmp_path) == tmp_path / "a" / "z.txt"
    assert submitted_file(tmp_path / "absent") is None


def test_an_unknown_visibility_is_refused(made: Path) -> None:
    with pytest.raises(SymbackpropError, match="after_due_date"):
        package(made / "class", "sometimes")
