"""How a worksheet name is printed in LaTeX when the worksheet gives no ``latex:`` for it: trailing
digits and ``_`` parts become subscripts, Greek words their letters, a trailing accent word its accent."""
from __future__ import annotations

import pytest

from symbackprop.sheets.printing import default_name_latex


@pytest.mark.parametrize(("name", "latex"), [
    # plain letters
    ("x", "x"),
    ("L", "L"),
    ("W", "W"),
    # trailing digits are one subscript
    ("x1", "x_{1}"),
    ("b2", "b_{2}"),
    ("w11", "w_{11}"),
    # underscores separate subscripts, joined by commas after the digits
    ("z_1", "z_{1}"),
    ("x_10", "x_{10}"),
    ("w1_2", "w_{1,2}"),
    ("w_1_2", "w_{1,2}"),
    ("x1_2", "x_{1,2}"),
    ("z_out", r"z_{\mathrm{out}}"),
    ("h12_in", r"h_{12,\mathrm{in}}"),
    ("x_alpha", r"x_{\alpha}"),
    # Greek letters, with lam, lamda and Lam for lambda
    ("alpha", r"\alpha"),
    ("epsilon", r"\epsilon"),
    ("pi", r"\pi"),
    ("Delta", r"\Delta"),
    ("alpha1", r"\alpha_{1}"),
    ("sigma2", r"\sigma_{2}"),
    ("delta_h", r"\delta_{h}"),
    ("lam", r"\lambda"),
    ("lamda", r"\lambda"),
    ("Lam", r"\Lambda"),
    ("theta_lam", r"\theta_{\lambda}"),
    # accents written after the letter
    ("yhat", r"\hat{y}"),
    ("xbar", r"\bar{x}"),
    ("Xbar", r"\bar{X}"),
    ("ztilde", r"\tilde{z}"),
    ("xdot", r"\dot{x}"),
    ("wvec", r"\vec{w}"),
    ("yhat1", r"\hat{y}_{1}"),
    ("abar2", r"\bar{a}_{2}"),
    ("yhat_out", r"\hat{y}_{\mathrm{out}}"),
    # … and after a Greek letter's name
    ("alphadot", r"\dot{\alpha}"),
    ("thetahat", r"\hat{\theta}"),
    ("lamhat", r"\hat{\lambda}"),
    ("Thetabar2", r"\bar{\Theta}_{2}"),
    # an accent word after a longer word, or in a name that is a word, is part of the word
    ("negdot", r"\mathrm{negdot}"),
    ("what", r"\mathrm{what}"),
    ("that", r"\mathrm{that}"),
    ("wdot", r"\mathrm{wdot}"),
    ("wdot_1", r"\mathrm{wdot}_{1}"),
    ("zbarbar", r"\mathrm{zbarbar}"),
    ("errhat", r"\mathrm{errhat}"),
    # longer words are upright
    ("loss", r"\mathrm{loss}"),
    ("dx", r"\mathrm{dx}"),
    ("xx", r"\mathrm{xx}"),
])
def test_default_name_latex(name: str, latex: str) -> None:
    assert default_name_latex(name) == latex


@pytest.mark.parametrize(("name", "latex"), [
    ("lambda", r"\mathrm{lambda}"),  # only lam, lamda and Lam stand for the letter
    ("hat", r"\mathrm{hat}"),  # an accent word alone has no letter to go on
    ("yhathat", r"\mathrm{yhathat}"),  # an accent after a longer word is part of the word
    ("a1b", r"\mathrm{a1b}"),  # digits inside a word are not a subscript
    ("x__1", "x_{1}"),  # empty parts between underscores are skipped
    ("x_", "x"),
])
def test_default_name_latex_edge_cases(name: str, latex: str) -> None:
    """Today's output for names at the edges of the rules, so that a change to them is seen."""
    assert default_name_latex(name) == latex
