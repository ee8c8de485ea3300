"""`symbackprop check`: the seed transcriptions, typed derivations with planted mistakes, the
JSON contract, exit codes and bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import run_cli
from support.paths import ROOT, WORKSHEETS
from symbackprop.api import check
from symbackprop.check.report import to_document
from symbackprop.errors import AnswerError
from symbackprop.check.latexmath import parse_chain

SEEDS = Path("/work/shared/seeds")
ANSWERS = ROOT / "tests" / "answers"
W001 = WORKSHEETS / "001_linear_network.yaml"

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed transcriptions are not on this machine")


def seed(prefix: str) -> Path:
    return next(SEEDS.glob(prefix + "_*.txt"))


def by_quantity(report, quantity: str) -> list:
    return [c for c in report.claims if c.quantity == quantity]


# -- the seeds -------------------------------------------------------------------------------------
@needs_seeds
def test_seed_000_all_values_right() -> None:
    r = check(WORKSHEETS / "000_edge_graph.yaml", seed("000"))
    assert r.count("wrong") == 0 and r.count("ecf") == 0
    assert {c.quantity for c in r.claims if c.verdict == "correct"} >= {"dL/dx1", "dL/dx2", "dL/dx3", "dL/du2"}
    relabelled = [c for c in r.claims if c.diagnosis.startswith("labelled ∂L/∂x1")]
    assert relabelled and relabelled[0].quantity == "dL/dx2"  # the line labelled x1 computes x2


@needs_seeds
def test_seed_001_dropped_paths() -> None:
    r = check(W001, seed("001"))
    for q, value in (("dL/dD", 2), ("dL/dC1", 2), ("dL/dC2", -2)):
        claims = by_quantity(r, q)
        assert claims and all(c.verdict == "correct" and c.claimed == value for c in claims)
    b1 = [c for c in by_quantity(r, "dL/dB1") if c.claimed == 2]
    assert b1 and all(c.verdict == "wrong" and "path through C2 is missing" in c.diagnosis for c in b1)
    b2 = [c for c in by_quantity(r, "dL/dB2") if c.claimed == 0]
    assert b2 and all(c.verdict == "wrong" and c.expected == -4 for c in b2)


@needs_seeds
def test_seed_002_relu_derivative_flagged() -> None:
    r = check(WORKSHEETS / "002_relu_skip_symbolic.yaml", seed("002"))
    z0 = by_quantity(r, "dL/dz0")
    assert any(c.verdict == "wrong" and "ReLU' written as z" in c.diagnosis for c in z0)


@needs_seeds
def test_seed_004_log_base_slip() -> None:
    r = check(WORKSHEETS / "004_softmax_choose.yaml", seed("004"))
    p = by_quantity(r, "dL/dPplus")
    assert any(c.verdict == "wrong" and "log taken as log10" in c.diagnosis for c in p)
    assert any(c.verdict == "ecf" for c in by_quantity(r, "dL/dp1"))  # uses the writer's own -4/(3 ln 10)


@needs_seeds
def test_seed_exit_codes_and_json_contract() -> None:
    ok = run_cli("check", str(WORKSHEETS / "000_edge_graph.yaml"), str(seed("000")))
    assert ok.returncode == 0, ok.stderr
    proc = run_cli("check", str(W001), str(seed("001")), "--format", "json")
    assert proc.returncode == 1 and proc.stderr == ""
    data = json.loads(proc.stdout)
    claim = data["claims"][0]
    assert set(claim) >= {"line", "text", "quantity", "claimed", "expected", "verdict", "diagnosis"}
    assert set(data["summary"]) == {"correct", "wrong", "ecf", "unreadable", "unknown", "score"}
    assert all(c["verdict"] in ("correct", "wrong", "ecf", "unreadable", "unknown") for c in data["claims"])
    assert all(isinstance(c["claimed"], (str, type(None))) for c in data["claims"])


# -- typed derivations with planted mistakes -------------------------------------------------------
def test_planted_001() -> None:
    r = check(W001, ANSWERS / "001_planted.md")
    verdicts = {(c.line, c.quantity): (c.verdict, c.diagnosis) for c in r.claims}
    assert verdicts[(5, "B1")][0] == "correct"
    assert verdicts[(11, "dL/dB1")] == ("wrong", "the path through C2 is missing")
    assert verdicts[(15, "dL/dC1")][0] == "wrong" and "arithmetic slip" in verdicts[(15, "dL/dC1")][1]
    assert verdicts[(21, "dL/dA1")][0] == "ecf" and "dL/dB1 = 2" in verdicts[(21, "dL/dA1")][1]
    assert verdicts[(25, "dL/dC2")][0] == "wrong" and "sign slip" in verdicts[(25, "dL/dC2")][1]
    assert verdicts[(27, "dL/dw9")][0] == verdicts[(27, "dL/dA2")][0] == "correct"


@pytest.mark.parametrize("worksheet, answer, quantity, cause", [
    ("given: {x: 3, w: 2}\nnodes: {z: w*x, h: relu(z), L: 2*h}\n",
     r"$$\frac{\partial L}{\partial z} = 2 \cdot 6 = 12$$", "dL/dz", "ReLU' written as z"),
    ("given: {z: 0}\nnodes: {s: sigmoid(z), L: 4*s}\n",
     r"$$\frac{\partial L}{\partial z} = 4 \cdot \frac{1}{2} = 2$$", "dL/dz", "without the factor (1 − σ)"),
    ("given: {y: 5, t: 2}\nnodes: {L: (y - t)**2}\n",
     r"$$\frac{\partial L}{\partial y} = (5 - 2) = 3$$", "dL/dy", "the 2 of the power forgotten"),
    ("given: {a: 3, b: 6, c: 9}\nnodes: {m: (a + b + c)/3, L: 2*m}\n",
     r"$$\frac{\partial L}{\partial a} = 2$$", "dL/da", "1/3 of the mean forgotten"),
    ("given: {w: 3, lam: 1/10}\nnodes: {R: lam/2*w**2, L: R}\n",
     r"$$\frac{\partial L}{\partial w} = 2 \lambda w = \frac{3}{5}$$", "dL/dw", "λw written as 2λw"),
    ("given: {x1: 1, x2: 2, w11: 1, w12: 3, w21: 5, w22: 7}\n"
     "nodes: {z1: w11*x1 + w12*x2, z2: w21*x1 + w22*x2, L: z1 + 2*z2}\n",
     r"$$\frac{\partial L}{\partial x_2} = 19$$", "dL/dx2", "Wᵀ"),
    ("given: {p: 1/4}\nnodes: {L: -log(p)}\n",
     r"$$\frac{\partial L}{\partial p} = -\frac{1}{p \ln 10} = -\frac{4}{\ln 10}$$", "dL/dp", "log taken as log10"),
    ("given: {p: 1/4}\nnodes: {L: -log10(p)}\n",
     r"$$\frac{\partial L}{\partial p} = -\frac{1}{p} = -4$$", "dL/dp", "log10 differentiated as the natural log"),
    ("given: {a: 2, b: 3}\nnodes: {u: a*b, v: a + b, L: u + v}\n",
     r"$$\frac{\partial L}{\partial a} = 3 + 1 + 1 = 5$$", "dL/da", "counted twice"),
    ("given: {a: 2, b: 3}\nnodes: {u: a*b, v: 5*u, L: v**2}\n",
     r"$$\frac{\partial L}{\partial u} = 1 \cdot 5 = 5$$", "dL/du", "the upstream value of L"),
    (W001.read_text(), r"$$C_1 = w_1 B_1 + w_2 B_2$$", "C1",
     "the form of the definition is right, but with w1, w2 where the worksheet has w5, w6"),
])
def test_planted_mistake_diagnosed(worksheet: str, answer: str, quantity: str, cause: str) -> None:
    r = check(worksheet, answer)
    claim = by_quantity(r, quantity)[-1]
    assert claim.verdict == "wrong", claim
    assert cause in claim.diagnosis, claim.diagnosis


def test_no_diagnosis_rather_than_a_guess() -> None:
    r = check(W001, r"$$\frac{\partial L}{\partial A_1} = 1234567$$")
    assert r.claims[0].verdict == "wrong" and r.claims[0].diagnosis == "no diagnosis"


def test_names_match_tolerantly_and_through_aliases() -> None:
    text = W001.read_text() + "aliases:\n  x_1: A1\n  x_2: A2\n  '\\omega': D\n"
    r = check(text, "$$B_1 = w_1 x_1 + w_2 x_2 = 3$$\n$$\\omega = 4$$\n"
                    "$$∂L/∂B1 = 4$$ $$dL/dx_1 = -12$$ $$g_{C_1} = 2$$ $$\\frac{\\partial L}{\\partial b_1} = 4$$")
    assert [(c.quantity, c.verdict) for c in r.claims] == [
        ("B1", "correct"), ("D", "correct"), ("dL/dB1", "correct"), ("dL/dA1", "correct"), ("dL/dC1", "correct"),
        ("dL/dB1", "correct")]


def test_unknown_quantity_names_the_match() -> None:
    r = check(W001, r"$$\frac{\partial L}{\partial Z} = -12$$")
    assert r.claims[0].verdict == "unknown" and "dL/dA1" in r.claims[0].diagnosis


def test_continuation_and_side_notes() -> None:
    r = check(W001, "$$C_1 = w_5 B_1 + w_6 B_2$$\n$$= (1)(3) + (-2)(1) = 1 \\quad \\left\\{ \\begin{array}{l} "
                    "B_1 = 3 \\\\ B_2 = 1 \\end{array} \\right.$$")
    assert [(c.quantity, c.verdict) for c in r.claims] == [("C1", "correct"), ("C1", "correct"), ("B1", "correct"),
                                                           ("B2", "correct")]


def test_parser_reads_the_chain_rule_subset_without_traps() -> None:
    d_cdot = parse_chain(r"d \cdot 2 = 4")  # not a differential (sympy#26220)
    assert "Deriv" not in repr(d_cdot[0])
    log = check("given: {p: 1/2}\nnodes: {L: -log(p)}\n", r"$$L = -\log(\frac{1}{2}) = \ln 2$$")
    assert log.claims[0].verdict == "correct"  # \log is the natural log
    assert "Unreadable" in repr(parse_chain("x = " + "{" * 500 + "1" + "}" * 500)[1])


# -- output and bad input --------------------------------------------------------------------------
def test_markdown_and_latex_reports_escape_the_writers_text() -> None:
    r = check(W001, r"$$\frac{\partial L}{\partial B_1} = 2 \input{/etc/passwd}$$ $$B_1 = 3$$")
    md = to_document(r, "md")
    assert "✓" in md and "**Summary:**" in md
    tex = to_document(r, "tex")
    assert r"\input{" not in tex and r"\textbackslash{}input" in tex and tex.startswith(r"\documentclass")


def test_output_file_and_text(tmp_path: Path) -> None:
    out = tmp_path / "check.md"
    proc = run_cli("check", str(W001), str(ANSWERS / "001_planted.md"), "--format", "md", "-o", str(out))
    assert proc.returncode == 1 and proc.stdout == "" and "✗" in out.read_text()
    text = run_cli("check", str(W001), str(ANSWERS / "001_planted.md"))
    assert "\x1b[" not in text.stdout and "score 5/8 (63 %)" in text.stdout


BAD_INPUT = {
    "empty": (b"", 2), "no math": (b"no math at all\n", 2), "binary": (bytes(range(256)) * 20, 2),
    "nested braces": (b"$$x_1 = " + b"{" * 20000 + b"1" + b"}" * 20000 + b"$$", 0), "not UTF-8": (b"\xff\xfe$$x$$", 2),
    "5 MB": (b"$$B_1 = 3$$\n" * 420_000, 2), "too many chains": (b"$$B_1 = 3$$\n" * 3_000, 2),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input(tmp_path: Path, case: str) -> None:
    content, code = BAD_INPUT[case]
    f = tmp_path / "answer.md"
    f.write_bytes(content)
    proc = run_cli("check", str(W001), str(f), timeout=30)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    if code == 2:
        assert proc.stderr.startswith("symbackprop: ") and proc.stderr.count("\n") == 1


def test_missing_answer_file() -> None:
    with pytest.raises(AnswerError):
        check(W001, Path("/nonexistent/answer.md"))
    proc = run_cli("check", str(W001), "/nonexistent/answer.md")
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_deterministic_under_hash_seeds() -> None:
    outs = []
    for hashseed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        outs.append(subprocess.run(
            [sys.executable, "-c", "from symbackprop.cli import main; main()", "check", str(W001),
             str(ANSWERS / "001_planted.md"), "--format", "json"],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60).stdout)
    assert outs[0] == outs[1] and outs[0]
