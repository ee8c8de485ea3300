"""How a solution shows itself outside its sheet: the one-line plain-text form a terminal (and a
saved notebook) shows, and an answer that stays a symbol written out in LaTeX as in Markdown."""
from __future__ import annotations

import re

from symbackprop import solve

from support.paths import WORKSHEETS


def test_repr_is_one_short_line() -> None:
    assert repr(solve(WORKSHEETS / "001_linear_network.yaml")) == (
        "<Solution 'A small linear network without biases': L = 1, 18 gradients>")
    assert repr(solve("given: {x: 2}\nnodes:\n  L: x**2\nwrt: [x]\n")) == "<Solution 'Backpropagation': L = 4, 1 gradient>"
    assert repr(solve(WORKSHEETS / "002_relu_skip_symbolic.yaml")).endswith(": L unspecified, 10 gradients>")
    assert repr(solve(WORKSHEETS / "005_step_by_step.yaml")).endswith(": E_total ≈ 0.298371, 8 gradients>")
    for path in sorted(WORKSHEETS.glob("*.yaml")):
        text = repr(solve(path))
        assert "\n" not in text and len(text) < 200, text


def test_an_answer_that_stays_a_symbol_has_its_right_side() -> None:
    solution = solve(WORKSHEETS / "002_relu_skip_symbolic.yaml")
    dl_dyhat = r"\frac{\partial L}{\partial \hat{y}}"
    assert f"{dl_dyhat} &= {dl_dyhat} &&\\text{{(the loss is not specified)}}" in solution.latex()
    assert f"{dl_dyhat} &= {dl_dyhat}" in solution._repr_latex_()
    assert not re.search(r"&=\s*(\\\\|$)", solution.latex() + solution._repr_latex_(), re.M)  # no empty right side
