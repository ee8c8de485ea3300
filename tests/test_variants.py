"""Class variants: the random: and require: blocks, drawing, determinism, rosters, the answer key,
the LMS files and the stress report (issue 6)."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import sympy as sp
import yaml

from support.cli import run_cli
from support.paths import ROOT, WORKSHEETS
from symbackprop import solve
from symbackprop.classroom.answerkey import decimal
from symbackprop.api import variants
from symbackprop.classroom.conditions import environment, holds
from symbackprop.classroom.variants import plan, run, stream
from symbackprop.worksheet.read import loads

W = WORKSHEETS / "001_linear_network_random.yaml"
RELU = """\
title: One ReLU unit
given: {x: 1, w: 2, b: -1, t: 1}
nodes:
  z: w*x + b
  h: relu(z)
  L: (h - t)**2
random:
  x: {integers: [-2, 2]}
  w: {choice: [-1, 1, 2]}
  b: {integers: [-1, 1]}
"""


def fresh_solution(entry: dict) -> dict:
    """A fresh solve of a variant's numbers: the worksheet's YAML with given: replaced, random: and
    require: dropped."""
    data = yaml.safe_load(W.read_text())
    data["given"] = {name: value for name, value in entry["given"].items()}
    for key in ("random", "require"):
        data.pop(key)
    return solve(yaml.safe_dump(data, sort_keys=False)).as_dict()


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- the worksheet keys -----------------------------------------------------------------------------
def test_distributions_are_exact_finite_sets() -> None:
    ws = loads("given: {a: 0, b: 0, c: 0, d: 0}\nnodes: {L: a + b + c + d}\nrandom:\n"
               "  a: {integers: [-2, 2], exclude: [0]}\n  b: {choice: [-1, 1/2, 0.25]}\n"
               "  c: {fractions: [0, 1], denominators: [2, 3]}\n  d: {decimals: [-0.2, 0.2], digits: 1}\n")
    values = {d.name: d.values for d in ws.random}
    assert values["a"] == (-2, -1, 1, 2)
    assert values["b"] == (-1, sp.Rational(1, 2), sp.Rational(1, 4))
    assert values["c"] == (sp.Rational(1, 3), sp.Rational(1, 2), sp.Rational(2, 3))  # lowest terms: not 0, 1
    assert values["d"] == tuple(sp.Rational(k, 10) for k in range(-2, 3))
    assert all(v.is_Rational for vs in values.values() for v in vs)


def test_variant_zero_is_the_worksheet_as_written() -> None:
    assert solve(W).as_dict()["gradients"] == solve(WORKSHEETS / "001_linear_network.yaml").as_dict()["gradients"]


def test_streams_come_from_sha256_not_hash() -> None:
    assert stream(7, "3").random() == stream(7, "3").random()
    assert stream(7, "3").random() != stream(7, "4").random() != stream(8, "3").random()


# -- conditions ------------------------------------------------------------------------------------
CONDITIONS = {
    "z > 0": True, "z >= 1 and h == z": True, "0 < z < 2": True, "0 < z < 1": False, "not z > 0": False,
    "z < 0 or grad(w) != 0": True, "grad(w) == 2": True, "integer(grad(w), L)": True, "integer(z / 2)": False,
    "exp(z) > 2.718": True, "exp(z) < 2.7183": True, "log(2) * 2 == log(4)": True, "1 / (z - 1) > 0": False,
    "all answers integers": True, "all values integers": True, "all answers nonzero": True, "no kinks": True,
}


@pytest.mark.parametrize("text", sorted(CONDITIONS))
def test_conditions_are_decided_exactly(text) -> None:
    # x = 1, w = 2, b = -1, t = 0: z = h = L = 1; dL/dz = dL/dh = dL/dw = dL/db = 2, dL/dx = 4, dL/dt = -2
    ws = loads(RELU.replace("t: 1", "t: 0") + f"require:\n  - '{text}'\n")
    d = solve(ws).derivation
    assert holds(ws.require[0], d, environment(d)) is CONDITIONS[text]


def test_a_kink_is_seen_by_no_kinks() -> None:
    ws = loads(RELU.replace("b: -1", "b: -2") + "require: [no kinks]\n")  # z = 0
    d = solve(ws).derivation
    assert d.kinks and not holds(ws.require[0], d, environment(d))


# -- the command -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("class") / "class"
    proc = run_cli("variants", str(W), "-n", "12", "--seed", "2024", "-o", str(out), "--moodle", timeout=120)
    assert proc.returncode == 0 and all(": warning: " in x for x in proc.stderr.splitlines()), proc.stderr
    return out


def test_folder_layout(made) -> None:
    names = set(tree(made))
    for i in range(1, 13):
        for kind in ("exercises", "solutions"):
            assert {f"{kind}/{i:02d}.md", f"{kind}/{i:02d}.tex"} <= names
    assert {"answers.json", "answers.csv", "moodle.xml"} <= names
    sheet = (made / "solutions" / "07.md").read_text()
    assert "variant 7 (seed 2024)" in sheet


def test_answers_json_contract_and_fresh_solves(made) -> None:
    data = json.loads((made / "answers.json").read_text())
    assert set(data) == {"worksheet", "seed", "variants"}
    assert data["worksheet"] == W.name and data["seed"] == 2024
    assert [v["id"] for v in data["variants"]] == [str(i) for i in range(1, 13)]
    written = {g: v for g, v in solve(W).as_dict()["forward"].items() if g in data["variants"][0]["given"]}
    seen = set()
    for entry in data["variants"]:
        assert set(entry) == {"id", "given", "forward", "gradients"}
        fresh = fresh_solution(entry)
        assert entry["forward"] == fresh["forward"] and entry["gradients"] == fresh["gradients"]
        numbers = tuple(entry["given"].items())
        assert numbers not in seen and entry["given"] != written  # all different, and not variant 0
        seen.add(numbers)


def test_conditions_hold_in_every_variant(made) -> None:
    ws = loads(W.read_text(), str(W))
    for entry in json.loads((made / "answers.json").read_text())["variants"]:
        data = yaml.safe_load(W.read_text())
        data["given"] = entry["given"]
        d = solve(yaml.safe_dump(data, sort_keys=False)).derivation
        env = environment(d)
        assert all(holds(c, d, env) for c in ws.require), entry["id"]
        assert all(entry["given"][dr.name] in {sp.sstr(v) for v in dr.values} for dr in ws.random)


def test_answers_csv_matches_json(made) -> None:
    data = json.loads((made / "answers.json").read_text())["variants"]
    rows = list(csv.DictReader(io.StringIO((made / "answers.csv").read_text())))
    assert [r["id"] for r in rows] == [v["id"] for v in data]
    assert rows[3]["dL/dw1"] == data[3]["gradients"]["w1"] and rows[3]["D"] == data[3]["forward"]["D"]


def test_moodle_xml_structure(made) -> None:
    root = ET.parse(made / "moodle.xml").getroot()
    assert (made / "moodle.xml").read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
    assert root.tag == "quiz"
    head, *questions = list(root)
    assert head.get("type") == "category" and head.find("category/text").text.startswith("$course$/top/")
    data = json.loads((made / "answers.json").read_text())["variants"]
    assert len(questions) == len(data) == 12
    wrt = list(solve(W).derivation.wrt)
    for q, entry in zip(questions, data):
        assert q.get("type") == "cloze"
        assert f"variant {entry['id']} (seed 2024)" in q.find("name/text").text
        assert q.find("questiontext").get("format") == "html" and q.find("generalfeedback").get("format") == "html"
        text = q.find("questiontext/text").text
        blanks = [b.split(":") for b in text.split("{1:NUMERICAL:=")[1:]]
        assert len(blanks) == len(wrt)
        for name, (value, tolerance) in zip(wrt, ((b[0], b[1].split("#")[0]) for b in blanks)):
            assert value == decimal(sp.Rational(entry["gradients"][name]))
            assert sp.Rational(tolerance) == abs(sp.Rational(value)) / 100
        assert r"\(" in q.find("generalfeedback/text").text and "<script" not in text
        assert q.find("penalty") is not None and q.find("idnumber").text == f"variant-{entry['id']}"


def test_qti_package_structure(tmp_path) -> None:
    out = tmp_path / "quiz"
    proc = run_cli("variants", str(W), "-n", "4", "--seed", "5", "-o", str(out), "--qti", "--ask", "w1",
                   "--format", "md", timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "answers.json").read_text())["variants"]
    with zipfile.ZipFile(out / "qti.zip") as z:
        names = z.namelist()
        assert "imsmanifest.xml" in names
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        href = manifest.find(".//{*}resource[@type='imsqti_xmlv1p2']/{*}file").get("href")
        assessment = ET.fromstring(z.read(href))
    group = assessment.find(".//{*}section/{*}section")
    assert group.find("{*}selection_ordering/{*}selection/{*}selection_number").text == "1"
    items = group.findall("{*}item")
    assert len(items) == 4
    for it, entry in zip(items, data):
        kind = it.find(".//{*}qtimetadatafield[{*}fieldlabel='question_type']/{*}fieldentry").text
        assert kind == "numerical_question"
        assert it.find(".//{*}varequal").text == entry["gradients"]["w1"]


def test_byte_identical_under_two_hash_seeds_and_process_counts(tmp_path) -> None:
    """Two runs, PYTHONHASHSEED 0 and 123, one process and several (45 variants: the parallel path)."""
    outs = []
    for hashseed, jobs in (("0", "1"), ("123", "2")):
        out = tmp_path / f"run{hashseed}"
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        proc = subprocess.run([sys.executable, "-c", "from symbackprop.cli import main; main()", "variants",
                               str(W), "-n", "45", "--seed", "11", "-o", str(out), "-j", jobs, "--moodle",
                               "--qti", "--ask", "A1"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs.append(tree(out))
    assert outs[0] == outs[1]
    assert len(outs[0]) == 45 * 5 + 5  # each: exercise and solution (md, tex), worksheet; the class files


def test_variants_do_not_depend_on_n() -> None:
    few = [s.as_dict() for s in variants(W, 3, 99)]
    many = [s.as_dict() for s in variants(W, 6, 99)]
    assert few == many[:3]


# -- rosters ---------------------------------------------------------------------------------------
def test_roster_adding_a_student_changes_nobody_else(tmp_path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("name,id\nAda,s01\nBo,s02\nCy,s03\nDee,s04\n")
    later = tmp_path / "b.csv"
    later.write_text("name,id\nAda,s01\nNew,s99\nBo,s02\nCy,s03\nDee,s04\nEve,s05\n")
    keys = {}
    for roster in (first, later):
        out = tmp_path / roster.stem
        proc = run_cli("variants", str(W), "--roster", str(roster), "--seed", "3", "-o", str(out), "--format", "md")
        assert proc.returncode == 0, proc.stderr
        keys[roster.stem] = {v["id"]: v["given"] for v in json.loads((out / "answers.json").read_text())["variants"]}
        assert (out / "exercises" / "s02.md").exists()
    assert all(keys["b"][sid] == given for sid, given in keys["a"].items())
    assert list(keys["b"]) == ["s01", "s99", "s02", "s03", "s04", "s05"]


ROSTER_MISTAKES = {
    "name,email\nAda,a@x\n": (1, "no 'id' column"),
    "id,name\ns1,Ada\ns1,Bo\n": (3, "'s1' is listed twice (first on line 2)"),
    "id,name\ns1,Ada\n,Bo\n": (3, "a student without an id"),
    "id\na/b\na_b\n": (3, "give the same file name"),}


@pytest.mark.parametrize("text", sorted(ROSTER_MISTAKES))
def test_roster_mistakes(text, tmp_path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(text)
    line, message = ROSTER_MISTAKES[text]
    proc = run_cli("variants", str(W), "--roster", str(roster), "--seed", "1", "-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and proc.stderr.startswith(f"symbackprop: {roster}:{line}: ")
    assert message in proc.stderr and len(proc.stderr.splitlines()) == 1


# -- too few numbers, and the folder as a whole --------------------------------------------------------
def test_a_small_space_repeats_with_a_warning(tmp_path) -> None:
    ws = tmp_path / "small.yaml"
    ws.write_text("given: {a: 1}\nnodes: {L: a**2}\nrandom:\n  a: {choice: [1, 2, 3]}\n")
    proc = run_cli("variants", str(ws), "-n", "4", "--seed", "1", "-o", str(tmp_path / "o"), "--format", "md")
    assert proc.returncode == 0
    assert proc.stderr.startswith(f"symbackprop: {ws}: warning: 2 of 4 variants repeat the numbers")
    given = [v["given"]["a"] for v in json.loads((tmp_path / "o" / "answers.json").read_text())["variants"]]
    assert sorted(given[:2]) == ["2", "3"] and len(given) == 4  # variant 0's a = 1 comes last


def test_a_rerun_replaces_the_folder_and_a_failed_run_keeps_it(tmp_path) -> None:
    out = tmp_path / "o"
    assert run_cli("variants", str(W), "-n", "3", "--seed", "1", "-o", str(out), "--format", "md").returncode == 0
    assert run_cli("variants", str(W), "-n", "2", "--seed", "1", "-o", str(out), "--format", "md").returncode == 0
    assert sorted(p.name for p in (out / "solutions").iterdir()) == ["1.md", "2.md"]
    before = tree(out)
    bad = tmp_path / "bad.yaml"
    bad.write_text(RELU + "require: [x > 5]\n")
    proc = run_cli("variants", str(bad), "-n", "2", "--seed", "1", "-o", str(out))
    assert proc.returncode == 2 and tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "o"]  # no temporary folder left


def test_a_folder_that_is_not_a_class_is_never_replaced(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    proc = run_cli("variants", str(W), "-n", "2", "--seed", "1", "-o", str(tmp_path))
    assert proc.returncode == 2 and "no answers.json" in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# -- mistakes in random: and require: --------------------------------------------------------------------
MISTAKES = {
    "random:\n  zz: {integers: [0, 2]}\n": (8, "random: 'zz' is not a given name"),
    "random:\n  h: {integers: [0, 2]}\n": (8, "random: 'h' is not a given name"),
    "random:\n  x: {ints: [0, 2]}\n": (8, "expected exactly one of integers, choice, fractions, decimals"),
    "random:\n  x: {integers: [3, -3]}\n": (8, "the low end 3 is above the high end -3"),
    "random:\n  x: {integers: [0.5, 2]}\n": (8, "the bounds must be whole numbers"),
    "random:\n  x: {integers: [0, 2], exclude: [5]}\n": (8, "exclude 5 is not one of the values"),
    "random:\n  x: {integers: [0, 0], exclude: [0]}\n": (8, "no value is left to draw"),
    "random:\n  x: {choice: [1, 2, 1]}\n": (8, "1 is listed twice"),
    "random:\n  x: {integers: [0, 10000000]}\n": (8, "too many values to draw from"),
    "random:\n  x: {decimals: [0, 1], digits: 9}\n": (8, "digits is a whole number from 1 to 6"),
    "random:\n  x: {integers: [0, 2], digits: 1}\n": (8, "unknown key 'digits' for integers"),
    "random:\n  x: {choice: [1, abc]}\n": (8, "'abc' is not a number"),
    "random: [x]\n": (7, "random: expected a mapping"),
    "require:\n  - 'z >'\n": (12, "cannot read 'z >'"),
    "require:\n  - zz > 0\n": (12, "undefined name 'zz'"),
    "require:\n  - grad(1) > 0\n": (12, "grad takes one name"),
    "require:\n  - all answers positive\n": (12, "unknown form"),
    "require:\n  - z + 1\n": (12, "a condition is a comparison"),
    "require:\n  - z is 0\n": (12, "only the comparisons"),
    "require:\n  - __import__('os').system('true') == 0\n": (12, "only the functions of the language can be called"),
    "require:\n  - 3\n": (12, "expected a condition"),
    "require:\n  - x > 100\n": (12, "require: none of 1000 draws met every condition; 'x > 100' rejected most "
                                 "(1000 of 1000"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_random_and_require_mistakes_are_one_line_exit_2(case, tmp_path) -> None:
    base = RELU[: RELU.index("random:")] if case.startswith("random") else RELU
    path = tmp_path / "bad.yaml"
    path.write_text(base + case)
    line, message = MISTAKES[case]
    proc = run_cli("variants", str(path), "-n", "3", "--seed", "1", "-o", str(tmp_path / "o"), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"symbackprop: {path}:{line}: ") and message in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_a_bad_random_block_is_refused_by_solve_too(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(RELU.replace("{integers: [-2, 2]}", "{integers: [2, -2]}"))
    proc = run_cli("solve", str(path))
    assert proc.returncode == 2 and "the low end 2 is above" in proc.stderr


COMMAND_MISTAKES = {
    ("-n", "2", "--roster", "r.csv"): "give either -n N",
    ("--format", "md,docx"): "symbackprop: --format: 'docx' is not one of md, tex, pdf",
    ("--moodle", "--ask", "nope"): "symbackprop: --ask: 'nope' is not a gradient the worksheet asks",
    ("--tolerance", "abc"): "symbackprop: --tolerance: 'abc' is not a number",
}


@pytest.mark.parametrize("args", sorted(COMMAND_MISTAKES))
def test_command_mistakes(args, tmp_path) -> None:
    extra = ("-n", "2") if "-n" not in args else ()
    proc = run_cli("variants", str(W), "--seed", "1", "-o", str(tmp_path / "o"), *extra, *args)
    assert proc.returncode == 2 and COMMAND_MISTAKES[args] in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_a_worksheet_without_random_has_no_variants(tmp_path) -> None:
    proc = run_cli("variants", str(WORKSHEETS / "001_linear_network.yaml"), "-n", "2", "--seed", "1",
                   "-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no random: block" in proc.stderr


# -- stress ---------------------------------------------------------------------------------------------
def test_stress_reports_rejections_kinks_and_degenerate_variants() -> None:
    text = RELU + "require:\n  - w != 2\n"
    p = plan(loads(text), 0)
    from symbackprop.classroom.stress import report, facts
    result = run(p, [str(i) for i in range(1, 61)], facts, jobs=1)
    out = report(p, result)
    assert "| `w != 2` | 12 |" in out
    assert "step at z = 0 on its kink" in out  # x*w + b = 0 happens
    assert "every asked gradient is 0" in out  # relu off and h = t
    assert "| L |" in out and "| dL/dw |" in out


def test_stress_command(tmp_path) -> None:
    proc = run_cli("stress", str(W), "-n", "30", "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Stress test: ") and "`abs(D - t) <= 6`" in proc.stdout
    assert "30 variants asked, 30 drawn" in proc.stdout


def test_decimals_for_an_lms() -> None:
    assert decimal(sp.Rational(1, 3)) == "0.3333333333"
    assert decimal(-sp.log(10)) == "-2.302585093"
    assert decimal(sp.Integer(-12)) == "-12"
    assert decimal(sp.Rational(-5, 2)) == "-2.5"


def test_fractions_get_decimal_columns_and_symbolic_names_no_lms(tmp_path) -> None:
    ws = tmp_path / "partly.yaml"
    ws.write_text("given: {x: 2, w: ~, b: 1/2}\nnodes:\n  z: w*x + b\n  L: z**2\nrandom:\n"
                  "  x: {fractions: [-1, 1], denominators: [2, 3]}\n  b: {decimals: [-0.5, 0.5], digits: 1}\n")
    proc = run_cli("variants", str(ws), "-n", "3", "--seed", "1", "-o", str(tmp_path / "o"), "--format", "md")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "o" / "answers.csv").read_text())))
    assert {"x ≈", "b ≈"} <= set(rows[0]) and "w ≈" not in rows[0] and rows[0]["w"] == "w"
    assert all(decimal(sp.Rational(r["x"])) == r["x ≈"] for r in rows)
    proc = run_cli("variants", str(ws), "-n", "3", "--seed", "1", "-o", str(tmp_path / "q"), "--moodle")
    assert proc.returncode == 2 and "is not a number, so an LMS cannot grade it" in proc.stderr
