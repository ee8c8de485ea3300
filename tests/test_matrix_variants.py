"""Class variants of a worksheet in matrices: ``random:`` drawing every entry (and one entry
alone), ``require:`` on entries and gradient entries, the answer key a list of rows and a column
an entry, the variant's own worksheet, determinism, ``stress`` and ``exercise``.

Every number is checked against something computed here: entries against their distributions,
forward values and gradients against PyTorch's autograd in float64 (small integers and halves,
exact there) or against a fresh derivation of the variant's own worksheet file."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from fractions import Fraction

import pytest
import sympy as sp

from support.cli import run_cli
from support.paths import ROOT, WORKSHEETS
from symbackprop.classroom.answerkey import answers_csv, answers_json, row
from symbackprop.classroom.conditions import environment, holds
from symbackprop.classroom.folder import Request, write
from symbackprop.classroom.roster import numbered
from symbackprop.classroom.stress import stress
from symbackprop.classroom.variant_worksheet import class_variant, variant_yaml
from symbackprop.classroom.variants import plan, run
from symbackprop.errors import WorksheetError
from symbackprop.matrix.derive import derive_matrices
from symbackprop.worksheet.read import loads

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

W = WORKSHEETS / "004_mlp_random.yaml"
NET = """\
title: A small ReLU network
given:
  X: [[1, 2], [2, -1]]
  W1: [[1, -1, 2], [1, 1, -1]]
  b1: [0, 1, 1]
  W2: [[1, -1], [-1, 1], [-1, 1]]
  b2: [0, 0]
  T: [[1, 0], [0, 1]]
nodes:
  A: X @ W1 + b1
  H: relu(A)
  Z: H @ W2 + b2
  L: mse(Z, T)
wrt: [W2, b2, W1, b1]
random:
  X: {integers: [-2, 2], exclude: [0]}
  W1: {integers: [-2, 2], exclude: [0]}
  W1[1,2]: {choice: [3, 4]}
  b1: {integers: [-1, 1]}
  W2: {choice: [-1, 1]}
"""
GIVEN = ("X", "W1", "b1", "W2", "b2", "T")
KEYS = [str(i) for i in range(1, 25)]


def fractions(m: sp.MatrixBase) -> list[list[Fraction]]:
    return [[Fraction(int(x.p), int(x.q)) for x in m.row(i)] for i in range(m.rows)]


def by_torch(given: dict[str, sp.MatrixBase]) -> dict[str, object]:
    """The network of NET and 004_mlp_random.yaml in PyTorch: A, L and the gradients, as Fractions."""
    t = {n: torch.tensor([[float(Fraction(int(x.p), int(x.q))) for x in m.row(i)] for i in range(m.rows)],
                         dtype=torch.float64, requires_grad=n in ("W1", "b1", "W2", "b2"))
         for n, m in given.items()}
    a = t["X"] @ t["W1"] + t["b1"]
    z = torch.relu(a) @ t["W2"] + t["b2"]
    loss = ((z - t["T"]) ** 2).sum() / (2 * z.shape[0])
    loss.backward()

    def exact(x: torch.Tensor) -> list[list[Fraction]]:
        return [[Fraction(v).limit_denominator(1000) for v in r] for r in x.detach().tolist()]

    return {"A": exact(a), "L": Fraction(loss.item()).limit_denominator(1000),
            **{n: exact(t[n].grad) for n in ("W2", "b2", "W1", "b1")}}


def given_of(v) -> dict[str, sp.MatrixBase]:
    return {g.name: g.value for g in v.worksheet.given}


def variants_of(text: str, keys=KEYS, seed: int = 5):
    p = plan(loads(text, "net.yaml"), seed)
    return p, run(p, keys, lambda v: v, jobs=1)


# -- drawing -------------------------------------------------------------------------------------------
def test_every_entry_is_drawn_row_by_row_then_the_overrides() -> None:
    ws = loads(NET, "net.yaml")
    order = [(d.name, d.entry) for d in ws.random]
    w1 = [("W1", (i, j)) for i in range(2) for j in range(3) if (i, j) != (0, 1)]
    assert order == [("X", (i, j)) for i in range(2) for j in range(2)] + w1 + \
        [("b1", (0, j)) for j in range(3)] + [("W2", (i, j)) for i in range(3) for j in range(2)] + [("W1", (0, 1))]


def test_entries_are_in_range_excluded_and_overridden() -> None:
    p, r = variants_of(NET)
    seen = {n: set() for n in ("X", "W1", "W1[1,2]", "b1", "W2")}
    for v in r.results:
        g = given_of(v)
        seen["X"] |= set(g["X"])
        seen["W1"] |= {g["W1"][i, j] for i in range(2) for j in range(3) if (i, j) != (0, 1)}
        seen["W1[1,2]"].add(g["W1"][0, 1])
        seen["b1"] |= set(g["b1"])
        seen["W2"] |= set(g["W2"])
        assert g["b2"] == sp.Matrix([[0, 0]]) and g["T"] == sp.eye(2)  # not drawn: as written
    assert seen["X"] == seen["W1"] == {-2, -1, 1, 2}  # every value of the range, 0 excluded
    assert seen["W1[1,2]"] == {3, 4}
    assert seen["b1"] == {-1, 0, 1} and seen["W2"] == {-1, 1}
    assert len({v.values for v in r.results} | {p.written}) == len(KEYS) + 1  # no two variants alike


MISTAKES = {
    "  b2[1,1]: {integers: [0, 1]}\n  X[3,1]: {integers: [0, 1]}\n": (22, "'X[3,1]' is outside X, which is 2×2"),
    "  X[0,1]: {integers: [0, 1]}\n": (21, "counted from 1"),
    "  X[1]: {integers: [0, 1]}\n": (21, "an entry of a matrix is NAME[row,column]"),
    "  X[1,1]: {integers: [0, 1]}\n  X[1, 1]: {choice: [1]}\n": (22, "entry X[1,1] is drawn twice (first on line 21)"),
    "  V[1,1]: {integers: [0, 1]}\n": (21, "'V' is not a given name"),
}


@pytest.mark.parametrize("extra", sorted(MISTAKES))
def test_random_mistakes_in_matrices_are_one_line(extra) -> None:
    line, message = MISTAKES[extra]
    with pytest.raises(WorksheetError) as err:
        loads(NET + extra, "net.yaml")
    assert err.value.line == line and message in err.value.message, err.value


def test_an_entry_of_a_number_is_refused_with_its_line(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(NET.replace("  T: [[1, 0], [0, 1]]\n", "  T: [[1, 0], [0, 1]]\n  c: 2\n")
                    .replace("L: mse(Z, T)", "L: c * mse(Z, T)") + "  c[1,1]: {choice: [1, 2]}\n")
    proc = run_cli("stress", str(path), "-n", "2")
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"symbackprop: {path}:22: random: 'c[1,1]': c is a number, not a matrix")


# -- conditions ---------------------------------------------------------------------------------------
REQUIRE = NET + """\
require:
  - A[1,2] > 0
  - grad(W1)[1,1] != 0
  - no kinks
  - integer(grad(b2)[1,1])
"""
FORMS = NET.replace("mse(Z, T)", "sse(Z, T)").replace("b1: {integers: [-1, 1]}", "b1: {choice: [-1/2, 1]}") + """\
require:
  - all values integers
  - all answers integers
  - all answers nonzero
"""


def test_conditions_on_entries_filter_every_variant() -> None:
    p, r = variants_of(REQUIRE)
    for v in r.results:
        ref = by_torch(given_of(v))
        assert ref["A"][0][1] > 0 and ref["W1"][0][0] != 0
        assert all(x != 0 for line in ref["A"] for x in line)  # no relu on its kink
        assert ref["b2"][0][0].denominator == 1
        assert fractions(v.derivation.values["A"]) == ref["A"]
    assert all(r.tally.rejected[i] > 0 for i in range(4)), r.tally.rejected  # each condition rejected draws


def test_the_forms_look_at_every_entry() -> None:
    _, r = variants_of(FORMS, KEYS[:12])
    for v in r.results:
        d = v.derivation
        values = [x for n in d.graph.order if n in d.values for x in d.values[n]]
        grads = [x for n in d.wrt for x in d.gradient_matrix(n)]
        assert all(x.is_Integer for x in values + grads) and all(x != 0 for x in grads)
        assert 4 * by_torch(given_of(v))["L"] == d.values["L"][0, 0]  # sse = 2N mse, N = 2
    assert all(r.tally.rejected[i] > 0 for i in range(3)), r.tally.rejected


def test_without_conditions_the_same_streams_break_them() -> None:
    _, r = variants_of(NET)
    refs = [by_torch(given_of(v)) for v in r.results]
    assert any(ref["A"][0][1] <= 0 for ref in refs) and any(x == 0 for ref in refs for line in ref["A"] for x in line)


@pytest.mark.parametrize("condition, message", [
    ("A > 0", "A is a 2×3 matrix: a condition compares its entries, A[1,1] … A[2,3]"),
    ("A[3,1] > 0", "A[3,1] is outside A, which is 2×3"),
    ("grad(L)[1,2] > 0", "grad(L) is a number, not a matrix: write grad(L)"),
])
def test_a_condition_on_a_whole_matrix_or_outside_it_is_an_error(condition, message) -> None:
    p = plan(loads(NET + f"require:\n  - {condition}\n", "net.yaml"), 1)
    d = p.prepared
    with pytest.raises(WorksheetError) as err:
        holds(p.worksheet.require[0], d, environment(d))
    assert err.value.line == 22 and message in err.value.message, err.value.message


@pytest.mark.parametrize("condition", ["A[0,1] > 0", "A[1] > 0", "A[1.5,1] > 0", "f(A)[1,1] > 0", "A[1,1][1,1] > 0"])
def test_a_malformed_entry_is_refused_when_read(condition) -> None:
    with pytest.raises(WorksheetError) as err:
        loads(NET + f"require:\n  - {condition}\n", "net.yaml")
    assert err.value.line == 22


# -- the answer key -------------------------------------------------------------------------------------
def test_answers_json_rows_and_csv_columns_match_pytorch() -> None:
    p, r = variants_of(REQUIRE, KEYS[:8])
    rows = [row(v) for v in r.results]
    data = json.loads(answers_json("net.yaml", 5, rows))
    table = list(csv.DictReader(io.StringIO(answers_csv("L", rows))))
    for v, entry, line in zip(r.results, data["variants"], table):
        ref = by_torch(given_of(v))
        assert entry["given"] == {n: [[str(x) for x in rw] for rw in fractions(given_of(v)[n])] for n in GIVEN}
        assert entry["forward"]["A"] == [[str(x) for x in rw] for rw in ref["A"]]
        assert entry["forward"]["L"] == str(ref["L"])  # a number stays a string
        for name in ("W2", "b2", "W1", "b1"):
            assert entry["gradients"][name] == [[str(x) for x in rw] for rw in ref[name]]
            for i, rw in enumerate(ref[name], 1):
                for j, x in enumerate(rw, 1):
                    assert line[f"dL/d{name}[{i},{j}]"] == str(x)
                    if f"dL/d{name}[{i},{j}] ≈" in line:
                        assert float(line[f"dL/d{name}[{i},{j}] ≈"]) == float(x)
        assert line["X[2,1]"] == str(given_of(v)["X"][1, 0]) and line["L"] == str(ref["L"])
    assert any(k.endswith(" ≈") for k in table[0]) and not any(k in table[0] for k in ("W1", "dL/dW1", "A"))


# -- the variant's own worksheet ---------------------------------------------------------------------------
def test_a_variants_worksheet_solves_to_the_same_variant() -> None:
    text = W.read_text()
    p = plan(loads(text, str(W)), 3)
    r = run(p, KEYS[:6], lambda v: v, jobs=1)
    for v in r.results:
        again = loads(variant_yaml(text, v), "variant.yaml")
        assert not again.random and not again.require and again.title == v.worksheet.title
        d = derive_matrices(again)
        assert dict(d.values) == dict(v.derivation.values)
        assert all(d.gradient_matrix(n) == v.derivation.gradient_matrix(n) for n in d.wrt)
    last = class_variant(loads(text, str(W)), "6", 3, n=6)
    assert {g.name: g.value for g in last.given} == given_of(r.results[-1])


# -- determinism --------------------------------------------------------------------------------------------
SNIPPET = """
import hashlib, sys
from symbackprop.classroom.answerkey import answers_csv, answers_json, row
from symbackprop.classroom.variant_worksheet import variant_yaml
from symbackprop.classroom.variants import plan, run
from symbackprop.worksheet.read import load
ws = load(sys.argv[1])
r = run(plan(ws, 11), [str(i) for i in range(1, 9)], lambda v: (row(v), variant_yaml(ws.source, v)), jobs=1)
rows = [x for x, _ in r.results]
text = answers_json(ws.path, 11, rows) + answers_csv(ws.loss, rows) + "".join(y for _, y in r.results)
print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_the_same_seed_gives_the_same_bytes_under_any_hash_seed() -> None:
    digests = set()
    for hash_seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", SNIPPET, str(W)], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=120)
        assert proc.returncode == 0, proc.stderr
        digests.add(proc.stdout.strip())
    assert len(digests) == 1


def test_the_class_folder_is_byte_identical_and_keyed(tmp_path) -> None:
    p = plan(loads(W.read_text(), str(W)), 2024)
    trees = []
    for name in ("a", "b"):
        write(p, numbered(5), True, Request(("md",)), tmp_path / name, jobs=1)
        trees.append({str(f.relative_to(tmp_path / name)): f.read_bytes()
                      for f in sorted((tmp_path / name).rglob("*")) if f.is_file()})
    assert trees[0] == trees[1]
    assert {"answers.json", "answers.csv", "worksheets/1.yaml", "solutions/5.md", "exercises/5.md"} <= set(trees[0])
    data = json.loads(trees[0]["answers.json"])
    for entry in data["variants"]:
        fresh = derive_matrices(loads(trees[0][f"worksheets/{entry['id']}.yaml"].decode(), "v.yaml"))
        assert entry["gradients"]["W1"] == [[str(x) for x in fresh.gradient_matrix("W1").row(i)] for i in range(2)]


# -- stress and exercise -----------------------------------------------------------------------------------
def test_stress_reports_entries_kinks_and_rejections() -> None:
    p = plan(loads(REQUIRE.replace("  - no kinks\n", ""), "net.yaml"), 7)
    report = stress(p, 30, jobs=1)
    result = run(p, [str(i) for i in range(1, 31)], lambda v: v, jobs=1, missing_ok=True)
    kinked = [v.key for v in result.results if any(x == 0 for x in v.derivation.values["A"])]
    assert "| `A[1,2] > 0` | 22 |" in report and "| `grad(W1)[1,1] != 0` | 23 |" in report
    for name in ("A[2,3]", "dL/dW1[1,1]", "dL/db2[1,2]", "L"):
        assert f"| {name} |" in report
    low = min(v.derivation.gradient_matrix("W1")[0, 0] for v in result.results)
    assert f"| dL/dW1[1,1] | {low} |" in report
    lines = [line for line in report.splitlines() if line.startswith("- relu(A) in H: entr")]
    assert kinked and sum(int(line.split(" on its kink: ")[1].split()[0]) for line in lines) == len(kinked)


def test_a_variant_is_rendered_as_an_exercise(tmp_path) -> None:
    text = W.read_text()
    p = plan(loads(text, str(W)), 9)
    v = run(p, ["4"], lambda v: v, jobs=1).results[0]
    path = tmp_path / "4.yaml"
    path.write_text(variant_yaml(text, v))
    proc = run_cli("exercise", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "variant 4 (seed 9)" in proc.stdout
    x = v.worksheet.given[0].value
    assert r"\begin{bmatrix} " + " & ".join(sp.latex(e) for e in x.row(0)) in proc.stdout
    assert hashlib.sha256(proc.stdout.encode()).hexdigest() == hashlib.sha256(
        run_cli("exercise", str(path)).stdout.encode()).hexdigest()


def test_the_command_line_draws_a_matrix_class(tmp_path) -> None:
    out = tmp_path / "class"
    proc = run_cli("variants", str(W), "-n", "3", "--seed", "8", "-o", str(out), "--format", "md")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "answers.json").read_text())
    assert [e["id"] for e in data["variants"]] == ["1", "2", "3"]
    assert (out / "exercises" / "2.md").read_text().count("variant 2 (seed 8)") >= 1
