"""The update: key: gradient-descent steps after the backward pass, exact, on the sheet and in JSON."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sympy as sp

from support.cli import run_cli
from support.paths import WORKSHEETS
from symbackprop import solve
from symbackprop.worksheet.read import load

W001 = (WORKSHEETS / "001_linear_network.yaml").read_text()
UPDATE = "update:\n  lr: 0.1\n  params: [w1, w2, w9]\n  steps: 2\n"


def test_two_steps_on_001_are_exact_and_match_a_fresh_solve() -> None:
    d = solve(W001 + UPDATE).derivation
    first, second = d.updates
    assert [(p.name, p.before, p.gradient, p.after) for p in first.params] == [
        ("w1", -2, -4, sp.Rational(-8, 5)), ("w2", 1, 4, sp.Rational(3, 5)), ("w9", 1, 2, sp.Rational(4, 5))]
    assert (first.loss_before, first.loss_after) == (1, sp.Rational(256, 625))
    assert second.loss_before == first.loss_after and second.loss_after < first.loss_after
    # step 2 starts from step 1's numbers: its gradients are those of a fresh solve there
    ws = load(WORKSHEETS / "001_linear_network.yaml")
    moved = {p.name: p.after for p in first.params}
    fresh = solve(replace(ws, given=tuple(replace(g, value=moved.get(g.name, g.value)) for g in ws.given)))
    assert [p.gradient for p in second.params] == [fresh.derivation.gradient(n) for n in ("w1", "w2", "w9")]
    assert fresh.derivation.forward["L"].value == first.loss_after


def test_sheet_and_json_show_the_steps() -> None:
    s = solve(W001 + UPDATE)
    md = s.markdown()
    assert "## Gradient descent" in md and "### Step 2" in md
    assert (r"w_{1}^{(1)} &= w_{1} - \eta \cdot \frac{\partial L}{\partial w_{1}} = \left(-2\right) - "
            r"\left(\frac{1}{10}\right)\left(-4\right) = \boxed{- \frac{8}{5}}") in md
    assert r"w_{1}^{(2)} &= w_{1}^{(1)} - \eta" in md
    assert r"\subsubsection*{Step 1}" in s.latex()
    data = json.loads(s.json())
    assert data["update"][0] == {"step": 1, "params": {"w1": "-8/5", "w2": "3/5", "w9": "4/5"}, "loss": "256/625"}
    assert "update" not in json.loads(solve(W001).json())  # the contract is unchanged without update:


@pytest.mark.parametrize("update, words", [
    ("update:\n  lr: 0.1\n  params: [w1]\n  momentum: 0.9\n", "unknown key 'momentum'"),
    ("update:\n  lr: -0.1\n  params: [w1]\n", "positive number"),
    ("update:\n  lr: 0.1\n  params: [B1]\n", "update params: 'B1' is a node; only given names (the parameters) "
                                             "can be updated"),
    ("update:\n  lr: 0.1\n  params: [w1]\n  steps: 0\n", "whole number from 1 to 20"),
    ("update:\n  params: [w1]\n", "expected lr"),
])
def test_update_mistakes_are_one_line_exit_2(tmp_path, update: str, words: str) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(W001 + update)
    done = run_cli("solve", str(path))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"symbackprop: {path}:") and words in done.stderr, done.stderr


def test_symbolic_worksheet_cannot_take_a_step(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("given: [x, w]\nnodes:\n  L: (w*x)**2\nupdate:\n  lr: 1\n  params: [w]\n")
    done = run_cli("solve", str(path))
    assert done.returncode == 2 and "every given name needs a number" in done.stderr


def test_one_step_equals_torch_sgd() -> None:
    torch = pytest.importorskip("torch")
    ws = "given:\n  x: 0.5\n  w: -1.5\n  b: 0.25\n  t: 1\nnodes:\n  z: sigmoid(w*x + b)\n  L: (z - t)**2\n"
    d = solve(ws + "update:\n  lr: 0.5\n  params: [w, b]\n").derivation
    w = torch.tensor(-1.5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.5)
    loss = (torch.sigmoid(w * 0.5 + b) - 1) ** 2
    loss.backward()
    opt.step()
    after = {p.name: float(p.after) for p in d.updates[0].params}
    assert after["w"] == pytest.approx(w.item(), rel=1e-12) and after["b"] == pytest.approx(b.item(), rel=1e-12)
    with torch.no_grad():
        assert float(d.updates[0].loss_after) == pytest.approx(((torch.sigmoid(w * 0.5 + b) - 1) ** 2).item(), rel=1e-12)


def test_class_variants_take_the_steps_at_their_own_numbers() -> None:
    from symbackprop.api import variants

    text = (WORKSHEETS / "001_linear_network_random.yaml").read_text() + "update:\n  lr: 0.1\n  params: [w1]\n"
    for v in variants(text, 3, seed=1):
        step = v.derivation.updates[0].params[0]
        assert step.after == step.before - sp.Rational(1, 10) * v.derivation.gradient("w1")
        assert "## Gradient descent" in v.markdown()
