"""A class variant is a worksheet: ``variants`` writes worksheets/ID.yaml, which solves to the
variant's own values, and ``check --variant`` checks against a variant without the class folder."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import run_cli
from support.paths import ROOT, WORKSHEETS
from symbackprop.api import check, solve, variants
from symbackprop.classroom.variant_worksheet import variant_yaml
from symbackprop.classroom.variants import plan, run
from symbackprop.errors import SymbackpropError
from symbackprop.worksheet.read import loads

W = WORKSHEETS / "001_linear_network_random.yaml"
ROSTER = ROOT / "docs" / "examples" / "students.csv"
# Seed 005 (decimals throughout) with a random: block: decimals, a choice of a decimal, a fraction
# and a constant, and fractions that may be whole.
DECIMAL_RANDOM = """random:
  i1: {decimals: [0.01, 0.2], digits: 2}
  w5: {decimals: [0.1, 0.9], digits: 1}   # tenths
  b2: {choice: [0.25, 0.60, 1/3, 'sqrt(2)/2']}
  target_o1: {fractions: [0, 1], denominators: [1, 4]}
update:"""


@pytest.fixture(scope="module")
def decimal_worksheet(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("w") / "005_random.yaml"
    path.write_text((WORKSHEETS / "005_step_by_step.yaml").read_text().replace("update:", DECIMAL_RANDOM))
    return path


def write_class(worksheet: Path, out: Path, *args: str) -> Path:
    proc = run_cli("variants", str(worksheet), "--seed", "2024", "-o", str(out), "--format", "md", *args, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_every_variant_worksheet_solves_to_the_variants_values(tmp_path) -> None:
    out = write_class(W, tmp_path / "class", "-n", "10")
    for i, own in enumerate(variants(W, 10, 2024), 1):
        path = out / "worksheets" / f"{i:02d}.yaml"
        ws = loads(path.read_text(), str(path))
        assert not ws.random and not ws.require and ws.title.endswith(f"variant {i} (seed 2024)")
        solution = solve(path)
        assert solution.json() == own.json()
        assert solution.markdown() == (out / "solutions" / f"{i:02d}.md").read_text()
    proc = run_cli("solve", str(out / "worksheets" / "03.yaml"), "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == variants(W, 3, 2024)[2].as_dict()


def test_a_decimal_variant_writes_its_numbers_as_its_distributions_do(tmp_path, decimal_worksheet) -> None:
    out = write_class(decimal_worksheet, tmp_path / "class", "-n", "4")
    texts = []
    for i, own in enumerate(variants(decimal_worksheet, 4, 2024), 1):
        path = out / "worksheets" / f"{i}.yaml"
        solution = solve(path)
        assert solution.json() == own.json()
        assert solution.markdown() == (out / "solutions" / f"{i}.md").read_text()
        texts.append(path.read_text())
    text = "\n".join(texts)
    drawn = ("  i1:", "  w5:", "  b2:", "  target_o1:")
    written = [line.strip().split(": ") for line in text.splitlines() if line.startswith(drawn)]
    allowed = {"b2": {"0.25", "0.60", "'1/3'", "'sqrt(2)/2'"}, "target_o1": {"0", "1", "'1/4'", "'1/2'", "'3/4'"}}
    for name, value in written:  # drawn decimals as decimals, a choice as written, fractions quoted
        assert re.fullmatch(r"0\.\d+", value) if name in ("i1", "w5") else value in allowed[name]
    assert len(written) == 4 * 4 and {v for _, v in written} & {"'1/3'", "'sqrt(2)/2'", "'1/4'", "'1/2'", "'3/4'"}
    first = texts[0]
    assert "Matt Mazur" in first and "\nrandom:" not in first and "# tenths" not in first
    keys = [line.split(":")[0] for line in first.splitlines() if line[:1].isalpha()]
    assert keys == ["title", "description", "given", "nodes", "loss", "wrt", "decimals", "update"]


def test_flow_style_and_untitled_worksheets_keep_their_shape() -> None:
    for text in ("{given: {x: 0.5, w: 2}, nodes: {L: w*x}, random: {x: {decimals: [0.1, 0.9]}}, require: [x > 0.2]}",
                 "given:\r\n  x: 0.5   # input\r\n  w: 2\r\nrandom:\r\n  x: {decimals: [0.1, 0.9]}\r\n"
                 "require:\r\n  - x > 0.2\r\nnodes: {L: w*x}\r\n"):
        ws = loads(text)
        v = run(plan(ws, 1), ["1"], lambda v: v, jobs=1).results[0]
        written = variant_yaml(ws.source, v)
        again = loads(written)
        assert not again.random and not again.require and again.title == v.worksheet.title
        assert [(g.name, g.value, g.written) for g in again.given] == [(g.name, g.value, g.written)
                                                                       for g in v.worksheet.given]
        assert variant_yaml(ws.source, v) == written


def test_check_against_a_variant_without_the_folder(tmp_path) -> None:
    out = write_class(W, tmp_path / "class", "-n", "5")
    own = out / "solutions" / "4.md"
    proc = run_cli("check", str(W), str(own), "--variant", "4", "--seed", "2024", "-n", "5")
    assert proc.returncode == 0 and "(100 %)" in proc.stdout, proc.stderr
    padded = run_cli("check", str(W), str(own), "--variant", "04", "--seed", "2024", "-n", "30")
    assert padded.returncode == 0 and padded.stdout == proc.stdout
    written = tmp_path / "class0.md"
    written.write_text(solve(W).markdown())  # the class worksheet's own numbers (variant 0)
    wrong = run_cli("check", str(W), str(written), "--variant", "4", "--seed", "2024", "-n", "5", "--format", "json")
    assert wrong.returncode == 1
    report = json.loads(wrong.stdout)
    assert report["summary"]["wrong"] > 0  # its numbers are not the variant's
    r = check(W, own, variant="4", seed=2024, n=5)
    assert not r.mistaken and "variant 4 (seed 2024)" in r.title


def test_check_against_a_roster_students_variant(tmp_path) -> None:
    out = write_class(W, tmp_path / "class", "--roster", str(ROSTER))
    ids = json.loads((out / "answers.json").read_text())["variants"]
    last = ids[-1]["id"]
    own = next((out / "solutions").glob("*.md"))  # the first student's
    first = ids[0]["id"]
    assert not check(W, own, variant=first, seed=2024, roster=ROSTER).mistaken
    assert check(W, own, variant=last, seed=2024, roster=ROSTER).mistaken or first == last
    by_roster = variants(W, seed=2024, roster=ROSTER)
    assert [s.json() for s in variants(W, seed=2024, ids=[v["id"] for v in ids])] == [s.json() for s in by_roster]


@pytest.mark.parametrize("args, message", [
    (("--variant", "2"), "--variant needs the class's seed"),
    (("--seed", "2024", "-n", "3"), "give --variant ID too"),
    (("--variant", "2", "--seed", "2024"), "give the class one way"),
    (("--variant", "2", "--seed", "2024", "-n", "3", "--roster", str(ROSTER)), "give the class one way"),
    (("--variant", "9", "--seed", "2024", "-n", "3"), "no variant '9' in this class (its ids: 1, 2, 3)"),
    (("--variant", "x", "--seed", "2024", "--roster", "missing.csv"), "missing.csv: no such file"),
])
def test_check_variant_mistakes_are_one_line(args, message) -> None:
    proc = run_cli("check", str(W), "docs/examples/notes_001.md", *args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_worksheet_without_random_has_no_variants() -> None:
    proc = run_cli("check", str(WORKSHEETS / "001_linear_network.yaml"), "docs/examples/notes_001.md",
                   "--variant", "1", "--seed", "1", "-n", "2")
    assert proc.returncode == 2 and "no random: block" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_api_class_mistakes() -> None:
    for kwargs in ({"n": 3}, {"seed": 1}, {"seed": 1, "ids": ["a", "a"]}, {"seed": 1, "ids": []},
                   {"seed": 1, "n": 2, "ids": ["a"]}, {"seed": 1, "n": 0}):
        with pytest.raises(SymbackpropError):
            variants(W, **kwargs)


def test_variant_worksheets_are_byte_identical_under_two_hash_seeds(tmp_path, decimal_worksheet) -> None:
    outs = []
    for hashseed, jobs in (("0", "1"), ("123", "2")):
        out = tmp_path / f"run{hashseed}"
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        proc = subprocess.run([sys.executable, "-c", "from symbackprop.cli import main; main()", "variants",
                               str(decimal_worksheet), "-n", "6", "--seed", "9", "-o", str(out), "-j", jobs,
                               "--sheets", "solution", "--format", "md"],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs.append({p.name: p.read_bytes() for p in sorted((out / "worksheets").iterdir())})
    assert outs[0] == outs[1] and len(outs[0]) == 6
