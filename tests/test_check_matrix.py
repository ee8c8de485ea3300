"""`symbackprop check` on derivations written in matrix notation: typed answers of the matrix
worksheets, right and with the mistakes courses see planted, rounded entries, unreadable input.
The right values are checked against PyTorch's autograd, independently of the engine."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from support.cli import run_cli
from support.paths import ROOT, WORKSHEETS
from symbackprop.api import check
from symbackprop.check.report import to_document
from symbackprop.sheets.pdf import compile_with_log

ANSWERS = ROOT / "tests" / "answers" / "matrix"
W003 = WORKSHEETS / "003_relu_matrix.yaml"
W004 = WORKSHEETS / "004_mlp_classifier.yaml"
WL2 = WORKSHEETS / "004_linear_softmax_l2.yaml"
LN2 = 0.6931471805599453


def claims(report, quantity: str) -> list:
    return [c for c in report.claims if c.quantity == quantity]


def one(report, quantity: str):
    found = claims(report, quantity)
    assert len(found) == 1, [(c.line, c.quantity, c.verdict) for c in report.claims]
    return found[0]


def as_floats(m) -> list[float]:
    """A matrix's entries, row by row, as floats."""
    return [float(x) for x in m]


def torch_mlp() -> dict[str, torch.Tensor]:
    """The gradients of worksheet 004_mlp_classifier by autograd."""
    X = torch.tensor([[1., 2.], [2., -1.]], dtype=torch.float64)
    W1 = torch.tensor([[1., 0., -1.], [0., 1., 1.]], dtype=torch.float64, requires_grad=True)
    b1 = torch.tensor([[0., 1., 0.]], dtype=torch.float64, requires_grad=True)
    W2 = torch.tensor([[LN2, 0.], [0., LN2], [LN2, LN2]], dtype=torch.float64, requires_grad=True)
    b2 = torch.zeros((1, 2), dtype=torch.float64, requires_grad=True)
    Y = torch.tensor([[0., 1.], [1., 0.]], dtype=torch.float64)
    Z = torch.relu(X @ W1 + b1) @ W2 + b2
    Z.retain_grad()
    L = -(Y * torch.log_softmax(Z, dim=1)).sum() / 2
    L.backward()
    return {"W1": W1.grad, "b1": b1.grad, "W2": W2.grad, "b2": b2.grad, "Z": Z.grad}


# -- right derivations --------------------------------------------------------------------------
@pytest.mark.parametrize("worksheet, answer", [(W003, "003_right.md"), (W004, "004_right.md"), (WL2, "004_l2_right.md")])
def test_right_derivations_exit_0(worksheet, answer) -> None:
    done = run_cli("check", str(worksheet), str(ANSWERS / answer))
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 wrong, 0 ecf, 0 unreadable, 0 unknown" in done.stdout


def test_right_values_are_autograds() -> None:
    r = check(W004, ANSWERS / "004_right.md")
    assert all(c.verdict == "correct" for c in r.claims)
    grads = torch_mlp()
    for name in ("W1", "b1", "W2", "b2", "Z"):
        assert as_floats(one(r, f"dL/d{name}").expected) == pytest.approx(grads[name].flatten().tolist(), abs=1e-12)
    assert one(r, "dL/dW1").note.startswith("rounded; exact")  # written to four digits


def test_relu_network_values_by_hand() -> None:
    """003: x = (1, 0), h = relu(x W1) = (1, 0), z = h V = 1, J = (t − z)²/2, t = 2."""
    x, v = torch.tensor([[1., 0.]], dtype=torch.float64), torch.tensor([[1.], [2.]], dtype=torch.float64)
    w1 = torch.tensor([[1., -1.], [0., 1.]], dtype=torch.float64, requires_grad=True)
    vv = v.clone().requires_grad_(True)
    J = ((2 - torch.relu(x @ w1) @ vv) ** 2).sum() / 2
    J.backward()
    r = check(W003, ANSWERS / "003_right.md")
    assert as_floats(one(r, "dJ/dW1").expected) == w1.grad.flatten().tolist()
    assert as_floats(one(r, "dJ/dV").expected) == vv.grad.flatten().tolist()
    assert as_floats(one(r, "W1^(1)").claimed) == pytest.approx((w1 - 0.1 * w1.grad).flatten().tolist())
    assert {c.quantity for c in r.claims} >= {"A", "H", "Z", "J", "dJ/dZ", "dJ/dH", "dJ/dA", "V^(1)"}


# -- planted mistakes ----------------------------------------------------------------------------
def test_mask_missing_then_ecf_exit_1() -> None:
    done = run_cli("check", str(W003), str(ANSWERS / "003_mask.md"), "--format", "json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    by = {c["quantity"]: c for c in out["claims"]}
    assert by["dJ/dA"]["verdict"] == "wrong" and "ReLU mask" in by["dJ/dA"]["diagnosis"]
    assert by["dJ/dA"]["claimed"] == [["-1", "-2"]] and by["dJ/dA"]["expected"] == [["-1", "0"]]
    assert by["dJ/dW1"]["verdict"] == "ecf" and by["dJ/dW1"]["claimed_decimal"] == [["-1", "-2"], ["0", "0"]]


def test_transpose_missing_shapes_do_not_fit() -> None:
    r = check(W003, ANSWERS / "003_transpose.md")
    w1, v = one(r, "dJ/dW1"), one(r, "dJ/dV")
    assert w1.verdict == "wrong" and "a transpose missing: Xᵀ" in w1.diagnosis and "shapes do not fit" in w1.diagnosis
    assert v.verdict == "wrong" and "Hᵀ" in v.diagnosis
    assert r.mistaken


def test_transpose_on_the_other_factor_from_the_formulas() -> None:
    """X ∂L/∂Z fits (X is 2×2) but is not Xᵀ ∂L/∂Z: found among the backward formula's variants."""
    wrong = "$$\\frac{\\partial L}{\\partial W} = \\begin{bmatrix} -\\frac14 & \\frac18 & \\frac18 \\\\ -\\frac{1}{20} & " \
            "\\frac{13}{40} & -\\frac{11}{40} \\end{bmatrix} + \\lambda W$$"
    c = one(check(WL2, wrong), "dL/dW")
    assert c.verdict == "wrong" and "a transpose missing: X ∂L/∂Z instead of Xᵀ ∂L/∂Z" in c.diagnosis


def test_mean_forgotten_then_ecf() -> None:
    r = check(W004, ANSWERS / "004_mean.md")
    assert one(r, "dL/dZ").verdict == "wrong" and "1/N" in one(r, "dL/dZ").diagnosis
    assert one(r, "dL/dW2").verdict == "ecf" and "dL/dZ (line 3)" in one(r, "dL/dW2").diagnosis


def test_softmax_jacobian_elementwise() -> None:
    r = check(W004, ANSWERS / "004_softmax.md")
    z = one(r, "dL/dZ")
    assert z.verdict == "wrong" and z.diagnosis.startswith("softmax's Jacobian replaced by an element-wise derivative")
    assert one(r, "dL/db2").verdict == "ecf"


def test_mask_bias_axis_and_a_slip() -> None:
    r = check(W004, ANSWERS / "004_hidden.md")
    first, second = claims(r, "dL/dA")
    assert first.verdict == "wrong" and "ReLU mask" in first.diagnosis
    assert second.verdict == "correct"
    assert one(r, "dL/dW1").verdict == "wrong" and "arithmetic slip" in one(r, "dL/dW1").diagnosis
    b1 = one(r, "dL/db1")
    assert b1.verdict == "wrong" and b1.diagnosis.startswith("summed over the wrong axis")


def test_l2_term_forgotten_and_bias_not_summed() -> None:
    r = check(WL2, ANSWERS / "004_l2.md")
    assert one(r, "dL/dW").verdict == "wrong" and "L2 term λW" in one(r, "dL/dW").diagnosis
    assert one(r, "dL/db").verdict == "wrong" and one(r, "dL/db").diagnosis.startswith("not summed over the batch")
    assert one(r, "dL/dX").verdict == "correct" and one(r, "dL/dZ").verdict == "correct"


# -- rounding, tolerance, unreadable -------------------------------------------------------------
B1 = "$$\\frac{{\\partial L}}{{\\partial b_1}} = \\begin{{bmatrix}} 0 & {} & 0 \\end{{bmatrix}}$$"


@pytest.mark.parametrize("entry, verdict", [("-0.06931", "correct"), ("-0.0693", "correct"), ("-0.07", "correct"),
                                            ("-0.0694", "wrong"), ("-0.06932", "wrong"), ("-0.068", "wrong")])
def test_rounded_entries(entry: str, verdict: str) -> None:
    """ln 2/10 = 0.0693147…: a decimal is right when it is that value rounded to its digits."""
    assert one(check(W004, B1.format(entry)), "dL/db1").verdict == verdict


def test_tolerance_widens_entries() -> None:
    text = B1.format("-0.0700")
    assert one(check(W004, text), "dL/db1").verdict == "wrong"
    assert one(check(W004, text, tolerance="0.02"), "dL/db1").verdict == "correct"


@pytest.mark.parametrize("text", [
    "$$\\frac{\\partial L}{\\partial W_1} = \\begin{bmatrix} 1 & 2 \\\\ 3 \\end{bmatrix}$$",
    "$$\\frac{\\partial L}{\\partial W_1} = \\begin{bmatrix} 1 & 2$$",
    "$$\\frac{\\partial L}{\\partial W_1} = X^\\top ) ( \\oslash$$",
    "$$\\frac{\\partial L}{\\partial W_1} = \\mathbf{1}$$",
])
def test_unreadable_is_a_verdict(text: str) -> None:
    c = one(check(W004, text), "dL/dW1")
    assert c.verdict == "unreadable" and c.diagnosis


def test_an_empty_subscript_is_read_not_a_crash() -> None:
    report = check(W004, "$$W_{} = \\begin{bmatrix} 1 \\end{bmatrix}$$\n$$\\frac{\\partial L}{\\partial b_{}} = 2$$")
    assert len(report.claims) == 2 and all(c.verdict in ("unknown", "unreadable", "wrong") for c in report.claims)


def test_report_formats_show_matrices() -> None:
    for fmt in ("md", "tex"):
        done = run_cli("check", str(W003), str(ANSWERS / "003_mask.md"), "--format", fmt)
        assert done.returncode == 1 and ("\\begin{bmatrix}" if fmt == "md" else "\\begin{smallmatrix}") in done.stdout
    text = run_cli("check", str(W003), str(ANSWERS / "003_mask.md")).stdout
    assert "claimed [[-1, -2]], expected [[-1, 0]]" in text


def test_a_product_in_the_wrong_order_is_said_by_its_shape() -> None:
    """Wᵀ G instead of G Wᵀ fits here (3×2 times 2×3) but gives a 3×3 matrix where X is 2×2."""
    text = ("$$\\frac{\\partial L}{\\partial Z} = \\frac{1}{N}(P - Y)$$\n"
            "$$\\frac{\\partial L}{\\partial X} = W^T \\frac{\\partial L}{\\partial Z}$$\n")
    c = one(check(WORKSHEETS / "004_linear_softmax_l2.yaml", text), "dL/dX")
    assert c.verdict == "wrong" and c.claimed.shape == (3, 3) and c.expected.shape == (2, 2)
    assert c.diagnosis.startswith("the result is 3×3, but dL/dX is 2×2")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("worksheet, answer", [("004_mlp_classifier", "004_softmax"), ("004_linear_softmax_l2", "004_l2"),
                                               ("004_linear_layer_shapes", "004_shapes")])
def test_the_latex_report_stays_on_the_page(worksheet: str, answer: str) -> None:
    report = check(WORKSHEETS / f"{worksheet}.yaml", (ANSWERS / f"{answer}.md").read_text(encoding="utf-8"),
                   answer_name=f"{answer}.md")
    _, log = compile_with_log(to_document(report, "tex"))
    assert "Overfull \\hbox" not in log
