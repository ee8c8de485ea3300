"""`symbackprop check` with numbers and names as students write them: decimals rounded to 3, 4 or
5 significant digits and carried forward rounded, word names (net_{h1}, E_{total}), aligned
blocks, updated weights, the reports' short decimals and the --tolerance option."""
from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from support.cli import run_cli
from support.paths import WORKSHEETS
from support.student import STYLES, Student, random_worksheet
from symbackprop.api import check, worksheet
from symbackprop.check.judge import CheckReport, check_text
from symbackprop.check.report import as_dict, to_document, to_text
from symbackprop.engine.derive import derive
from symbackprop.engine.protocol import Derivation
from symbackprop.engine.update import with_updates
from symbackprop.errors import SymbackpropError

W005 = WORKSHEETS / "005_step_by_step.yaml"
E = "dE_total/d"
m = mpmath.mpf


@functools.cache
def derived(source: str | Path) -> Derivation:
    """A worksheet derived once for the module, its update step taken."""
    return with_updates(derive(worksheet(source)))


def checked(student: Student) -> tuple[CheckReport, dict[str, object]]:
    """The student's derivation checked, and each claim by the label of the line that wrote it."""
    report = check_text(student.d, student.text())
    labels = [label for label, _ in student.lines]
    assert [c.quantity for c in report.claims] == labels  # every line read, as the quantity it is
    return report, dict(zip(labels, report.claims))


def by_quantity(report: CheckReport, quantity: str) -> list:
    return [c for c in report.claims if c.quantity == quantity]


# -- (1) the 2-2-2 example, rounded and carried, in every naming form ------------------------------
@pytest.mark.parametrize("digits", [3, 4, 5])
@pytest.mark.parametrize("style", STYLES)
def test_step_by_step_rounded_and_carried_is_all_correct(style: str, digits: int) -> None:
    report, claims = checked(Student(derived(W005), digits, style))
    assert [c for c in report.claims if c.verdict != "correct"] == []
    assert report.asked_score == (17, 17)  # E_total, the eight weight gradients, the eight new weights
    assert len(report.claims) == 43
    w5 = claims[E + "w5"]  # 0.138 · 0.593 = 0.0818 to 3 digits: the rounding carried, not 0.0822
    assert w5.claimed == sp.Rational({3: "0.0818", 4: "0.08217", 5: "0.082168"}[digits])
    assert w5.note == "rounded; exact 0.0821670406"
    assert claims["E_total"].claimed == sp.Rational({3: "0.299", 4: "0.2984", 5: "0.29837"}[digits])
    assert claims["w5^(1)"].claimed == sp.Rational({3: "0.359", 4: "0.3589", 5: "0.35892"}[digits])
    assert claims["w1^(1)"].claimed == sp.Rational({3: "0.150", 4: "0.1498", 5: "0.14978"}[digits])


def test_step_by_step_figures_of_the_post() -> None:
    """The post's own figures, to the digits it prints, are right; so is the 9-digit value."""
    text = r"""
$$E_{total} = 0.298371109$$
$$\frac{\partial E_{total}}{\partial w_5} = 0.082167041$$
$$w_5^{+} = 0.35891648$$
$$\frac{\partial E_{total}}{\partial w_1} = 0.000438568$$
$$w_1^{+} = 0.149780716$$
"""
    report = check_text(derived(W005), text)
    assert [(c.quantity, c.verdict) for c in report.claims] == [
        ("E_total", "correct"), (E + "w5", "correct"), ("w5^(1)", "correct"), (E + "w1", "correct"),
        ("w1^(1)", "correct")]
    assert report.claims[1].note == "rounded; exact 0.0821670406"


# -- (2) random numeric graphs, rounded and carried ------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_rounded_and_carried_are_all_correct(seed: int) -> None:
    d = derive(worksheet(random_worksheet(seed)))
    for digits in (3, 4, 5):
        report, _ = checked(Student(d, digits, STYLES[seed % len(STYLES)]))
        assert [(c.line, c.quantity, c.diagnosis) for c in report.claims if c.verdict != "correct"] == []
        rounded = [c for c in report.claims if c.note]
        assert rounded and all("exact" in c.note for c in rounded)


# -- (3) every diagnosable mistake, planted in a rounded derivation --------------------------------
SMALL = """given: {x1: 0.35, x2: 0.8, w1: 0.45, w2: 0.3, w3: 1.2, w4: -0.75, t: 0.15}
nodes:
  z1: w1*x1 + w2*x2
  h1: relu(z1)
  z2: w3*x1 + w4*x2
  h2: sigmoid(z2)
  m: (h1 + h2 + x1)/3
  q: log(1 + m)
  L: (q - t)**2
loss: L
"""


def said(s: Student, label: str) -> mpmath.mpf:
    return m(s.said[label])


PLANTED = [  # worksheet, the line's label, the student's wrong value, the line after it, the diagnosis
    (W005, "dout_o1/dnet_o1", lambda s: said(s, "out_o1"), E + "net_o1", "σ' written as σ, without the factor"),
    (W005, E + "net_o1", lambda s: said(s, E + "out_o1") * said(s, "out_o1"), E + "w5", "without the factor (1 − σ)"),
    (W005, E + "out_h1", lambda s: said(s, E + "net_o1") * m("0.4"), E + "net_h1",
     "the path through net_o2 is missing"),
    (W005, E + "out_o1", lambda s: m("0.01") - said(s, "out_o1"), E + "net_o1", "sign slip"),
    (W005, E + "w5", lambda s: said(s, E + "net_o1") * said(s, "out_h1") * m("1.1"), "w5^(1)", "an arithmetic slip"),
    (W005, "w5^(1)", lambda s: m("0.4") + m("0.5") * said(s, E + "w5"), None, "the step taken uphill"),
    (W005, "w6^(1)", lambda s: m("0.45") - said(s, E + "w6"), None, "the learning rate η left out"),
    (SMALL, "dL/dz1", lambda s: said(s, "dL/dh1") * said(s, "z1"), "dL/dw1", "ReLU' written as z"),
    (SMALL, "dL/dh1", lambda s: said(s, "dL/dm"), "dL/dz1", "the 1/3 of the mean forgotten"),
    (SMALL, "dL/dm", lambda s: said(s, "dL/dq") / (1 + said(s, "m")) / mpmath.log(10), "dL/dh1",
     "the log taken as log10"),
    (SMALL, "dL/dq", lambda s: said(s, "q") - m("0.15"), "dL/dm", "the 2 of the power forgotten"),
]


@pytest.mark.parametrize("source, label, value, after, cause", PLANTED, ids=[p[4] for p in PLANTED])
def test_planted_mistake_found_in_rounded_numbers(source: str | Path, label: str, value, after: str | None,
                                                  cause: str) -> None:
    d = derived(source)
    for digits in (3, 4, 5):
        student = Student(d, digits, wrong={label: value})
        report, claims = checked(student)
        claim = claims[label]
        assert claim.verdict == "wrong" and cause in claim.diagnosis, (digits, claim)
        assert claim.claimed == sp.Rational(student.said[label])
        if after is not None:
            assert claims[after].verdict == "ecf", (digits, claims[after])
            written = format(Decimal(student.said[label]).normalize(), "f")
            assert f"{label} = {written} (line {claim.line})" in claims[after].diagnosis
        assert [c.quantity for c in report.claims if c.verdict == "wrong"] == [label]


def test_rounding_is_never_an_arithmetic_slip() -> None:
    text = r"""
$$\frac{\partial E_{total}}{\partial net_{o1}} = 0.7414 \cdot 0.1868 = 0.1385$$
$$\frac{\partial E_{total}}{\partial w_5} = \frac{\partial E_{total}}{\partial net_{o1}} \cdot out_{h1}
  = 0.1385 \cdot 0.5933 = 0.08217$$
$$\frac{\partial E_{total}}{\partial w_5} = 0.1385 \cdot 0.5933 = 0.08317$$
"""
    c1, c2, c3 = check_text(derived(W005), text).claims
    assert (c1.verdict, c2.verdict, c2.steps) == ("correct", "correct", ())
    assert c3.verdict == "wrong" and c3.diagnosis == "an arithmetic slip: a step equals 0.08217205, a later one 0.08317"


# -- (4) names as students write them --------------------------------------------------------------
@pytest.mark.parametrize("written, quantity", [
    ("net_{h1}", "net_h1"), ("net_h1", "net_h1"), (r"\text{net}_{h1}", "net_h1"), (r"\mathrm{net}_{h1}", "net_h1"),
    (r"\mathrm{out}_{o1}", "out_o1"), ("out_{o1}", "out_o1"), ("out_o1", "out_o1"), ("E_{total}", "E_total"),
    ("E_total", "E_total"), (r"E_{\text{total}}", "E_total"), (r"E_{\mathrm{total}}", "E_total"),
    ("target_{o1}", "target_o1"),
])
def test_word_names(written: str, quantity: str) -> None:
    value = {"net_h1": "0.3775", "out_o1": "0.7514", "E_total": "0.2984", "target_o1": "0.01"}[quantity]
    claim, = check_text(derived(W005), f"$${written} = {value}$$").claims
    assert (claim.quantity, claim.verdict, claim.claimed) == (quantity, "correct", sp.Rational(value))


def test_word_names_in_derivatives_and_products() -> None:
    text = r"""
$$\frac{\partial out_{o1}}{\partial \text{net}_{o1}} = out_{o1}(1 - out_{o1}) = 0.7514 (1 - 0.7514) = 0.1868$$
$$∂E_total/∂net_o1 = \frac{\partial E_{\text{total}}}{\partial \mathrm{out}_{o1}} \cdot 0.1868 = 0.1385$$
"""
    c1, c2 = check_text(derived(W005), text).claims
    assert (c1.quantity, c1.verdict, c2.quantity, c2.verdict) == ("dout_o1/dnet_o1", "correct", E + "net_o1", "correct")


def test_delta_and_aliases_for_every_name() -> None:
    ws = """given: {x: 0.5, w: 2, t: 1}
nodes:
  z: w*x
  y: sigmoid(z)
  delta_o1: (y - t)*y*(1 - y)
  L: (y - t)**2/2
loss: L
aliases:
  out_{o1}: y
  '\\text{act}_1': z
"""
    report = check(ws, r"""
$$out_{o1} = \sigma(1) = 0.7311$$
$$\text{act}_1 = w x = 1$$
$$\delta_{o1} = (out_{o1} - t) \cdot out_{o1} (1 - out_{o1}) = -0.05287$$
$$\frac{\partial L}{\partial out_{o1}} = out_{o1} - t = -0.2689$$
""")
    assert [(c.quantity, c.verdict) for c in report.claims] == [
        ("y", "correct"), ("z", "correct"), ("delta_o1", "correct"), ("dL/dy", "correct")]


def test_longest_name_first_then_letters_as_a_product() -> None:
    ws = "given: {n: 2, e: 3, t: 5}\nnodes: {net: n*e*t + 1, L: 2*net}\nloss: L\n"
    report = check(ws, "$$net = 31$$ $$n e t = 30$$ $$L = 2 net = 62$$")
    assert [(c.quantity, c.verdict) for c in report.claims] == [("net", "correct"), (None, "correct"),
                                                                 ("L", "correct")]


# -- aligned blocks, cases and updates as students write them --------------------------------------
def test_aligned_blocks_as_students_write_them() -> None:
    text = r"""
$$\begin{aligned}
\text{net}_{h1} &= w_1 i_1 + w_2 i_2 + b_1 \\[4pt]
&= 0.15 \cdot 0.05 + 0.2 \cdot 0.1 + 0.35 \quad \text{(the hidden unit)} \\[1ex]
&= 0.3775 \\
\text{Output: } out_{o1} &= 0.7514 \\*[2pt]
\frac{\partial E_{total}}{\partial w_5} &= 0.1385 \cdot 0.5933 \\
&= 0.08217 \\
&= 0.09217
\end{aligned}$$
"""
    report = check_text(derived(W005), text)
    assert [(c.line, c.quantity, c.verdict) for c in report.claims] == [
        (3, "net_h1", "correct"), (4, "net_h1", "correct"), (5, "net_h1", "correct"), (6, "out_o1", "correct"),
        (7, E + "w5", "correct"), (8, E + "w5", "correct"), (9, E + "w5", "wrong")]
    assert report.claims[-1].diagnosis == "an arithmetic slip: a step equals 0.08217, a later one 0.09217"


@pytest.mark.parametrize("condition", [("z > 0", "z \\le 0"), ("z \\ge 0", "z < 0"), ("z>0", "z<0")])
def test_cases_with_every_relation(condition: tuple[str, str]) -> None:
    ws = "given: {x: 0.35, w: 1.5}\nnodes: {z: w*x, h: relu(z), L: 3*h}\nloss: L\n"
    text = rf"$$\frac{{\partial h}}{{\partial z}} = \begin{{cases}} 1 & {condition[0]} \\ 0 & {condition[1]} \end{{cases}} = 1$$"
    claim, = check(ws, text).claims
    assert (claim.quantity, claim.verdict) == ("dh/dz", "correct")


@pytest.mark.parametrize("head", ["w_5^{+}", "w_5^{(1)}", "w_5^{new}", r"w_5^{\text{new}}", "w_5^+",
                                  r"w_5 \leftarrow w_5 - \eta \frac{\partial E_{total}}{\partial w_5}"])
def test_updated_weight_forms(head: str) -> None:
    again = r"w_5 \leftarrow" if "leftarrow" in head else f"{head} ="
    text = rf"$${head} = 0.4 - 0.5 \cdot 0.08217 = 0.3589$$ $${again} 0.3689$$"
    right, wrong = check_text(derived(W005), text).claims
    assert (right.quantity, right.verdict, right.note) == ("w5^(1)", "correct", "rounded; exact 0.35891648")
    assert (wrong.quantity, wrong.verdict) == ("w5^(1)", "wrong")


def test_updated_weight_without_an_update_step_is_unreadable() -> None:
    claim, = check("given: {w: 2}\nnodes: {L: w**2}\nloss: L\n", "$$w^{+} = 1$$").claims
    assert claim.verdict == "unreadable" and "no update: step" in claim.diagnosis


def test_scientific_notation() -> None:
    report = check_text(derived(W005), r"""
$$\frac{\partial E_{total}}{\partial w_1} = 4.386 \times 10^{-4}$$
$$\frac{\partial E_{total}}{\partial w_1} = 4.386e-4$$
$$\frac{\partial E_{total}}{\partial w_1} = 4.396e-4$$
""")
    assert [c.verdict for c in report.claims] == ["correct", "correct", "wrong"]


# -- the reports -----------------------------------------------------------------------------------
PLANTED_005 = r"""
$$out_{o1} = 0.7514$$
$$\frac{\partial E_{total}}{\partial out_{o1}} = out_{o1} - target_{o1} = 0.8414$$
$$\frac{\partial E_{total}}{\partial net_{o1}} = 0.8414 \cdot 0.1868 = 0.1572$$
$$\frac{\partial E_{total}}{\partial w_5} = 0.08217$$
"""


def test_text_report_short_values_and_each_label_once() -> None:
    report = check_text(derived(W005), PLANTED_005, "notes.md")
    text = to_text(report)
    assert "ECF" in text and "ECF ecf" not in text and "✗ wrong" in text and "✓ correct" in text
    assert "claimed 0.8414, expected 0.74136507" in text
    assert "an arithmetic slip: a step equals 0.7414, a later one 0.8414" in text
    assert "rounded; exact 0.0821670406" in text
    assert max(len(line) for line in text.splitlines()) < 200  # no 300-character SymPy string
    assert text.rstrip().endswith("score 1/1 (100 %)")  # dE_total/dw5 is the only asked quantity given


def test_json_keeps_its_fields_and_adds_decimals() -> None:
    data = as_dict(check_text(derived(W005), PLANTED_005, "notes.md"))
    claim = data["claims"][3]
    assert claim["expected"].startswith("(-1/100 + 1/(1 + exp(") and claim["claimed"] == "8217/100000"
    assert (claim["claimed_decimal"], claim["expected_decimal"]) == ("0.08217", "0.0821670406")
    assert claim["note"] == "rounded; exact 0.0821670406" and claim["verdict"] == "correct"
    assert set(data["summary"]) == {"correct", "wrong", "ecf", "unreadable", "unknown", "score"}
    assert data["summary"]["score"] == "3/4"
    assert data["asked"]["judged"] == 1 and data["asked"]["right"] == 1 and len(data["asked"]["quantities"]) == 17
    json.dumps(data)


def test_markdown_and_latex_show_short_decimals() -> None:
    report = check_text(derived(W005), PLANTED_005, "notes.md")
    md = to_document(report, "md")
    assert "$0.74136507$" in md and "exp" not in md.split("|---|")[-1]
    assert "score 1/1 (100 %)" in md
    tex = to_document(report, "tex")
    assert "0.74136507" in tex and r"\exp" not in tex


# -- --tolerance -----------------------------------------------------------------------------------
def test_tolerance_accepts_coarser_answers() -> None:
    text = r"$$\frac{\partial E_{total}}{\partial w_5} = 0.0827$$ $$\frac{\partial E_{total}}{\partial w_5} = 0.0835$$"
    d = derived(W005)
    assert [c.verdict for c in check_text(d, text).claims] == ["wrong", "wrong"]
    assert [c.verdict for c in check_text(d, text, tolerance=sp.Rational(1, 100)).claims] == ["correct", "wrong"]
    assert [c.verdict for c in check(W005, text, tolerance="0.02").claims] == ["correct", "correct"]
    for bad in ("2", "1", "-0.1", "abc", "1/0"):
        with pytest.raises(SymbackpropError, match="tolerance"):
            check(W005, text, tolerance=bad)


def test_tolerance_on_the_command_line(tmp_path: Path) -> None:
    answer = tmp_path / "notes.md"
    answer.write_text(r"$$\frac{\partial E_{total}}{\partial w_5} = 0.0827$$")
    assert run_cli("check", str(W005), str(answer)).returncode == 1
    assert run_cli("check", str(W005), str(answer), "--tolerance", "0.01").returncode == 0
    proc = run_cli("check", str(W005), str(answer), "--tolerance", "abc")
    assert proc.returncode == 2 and proc.stderr == "symbackprop: --tolerance: 'abc' is not a number (a relative " \
        "tolerance such as 0.01)\n"
