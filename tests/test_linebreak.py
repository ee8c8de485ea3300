"""The line breaker of the sheets: equations set on aligned rows no wider than a line of display
math, broken between steps, terms of a sum or factors of a product, never inside a box."""
from __future__ import annotations

import pytest

from symbackprop.sheets.linebreak import WIDTH, visual_length, wrap

# A sum of twelve products, far wider than one row; each term after the first carries its sign.
LONG_SUM = (r"w_{1} \cdot x_{1}", *(rf"+ w_{{{i}}} \cdot x_{{{i}}}" for i in range(2, 13)))
# A product of nine factors, written side by side without a sign.
LONG_PRODUCT = tuple(rf"\left(x_{{{i}}} + {i}\right)" for i in range(1, 10))


@pytest.mark.parametrize(("tex", "length"), [
    ("", 0),
    ("   a   ", 1),
    ("a+b", 5),  # spaced as "a + b"
    (r"a \cdot b", 5),  # the dot counts as one character
    (r"a\quad b", 3),
    (r"\alpha", 1),  # a command is one character
    (r"\hat{y}", 2),
    (r"x_{1}", 2),  # a sub- or superscript counts half, rounded up
    (r"w_{11}", 2),
    (r"x^{2}", 2),
    (r"x_{\mathrm{out}}", 5),
    (r"\alpha_{1}", 2),
    (r"\left(a\right)", 3),  # \left and \right take no room of their own
    (r"\sigma\left(z\right)", 4),
    (r"\frac{1}{2}", 2),  # a fraction is as wide as its wider part, plus one
    (r"\frac{a}{bc}", 3),
    (r"\frac{\partial L}{\partial x}", 3),
    (r"\frac{\frac{a}{b}}{c}", 3),
    (r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}", 5),  # as wide as its widest row, plus two
    (r"\underset{x}{\operatorname{argmax}}", 7),  # the text under is not counted
    (r"\boxed{3}", 2),
])
def test_visual_length(tex: str, length: int) -> None:
    assert visual_length(tex) == length


def test_wider_matrix_row_sets_the_width() -> None:
    narrow = r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}"
    wide = r"\begin{bmatrix} 1 & 2 \\ 300 & 4 \end{bmatrix}"
    assert visual_length(wide) == visual_length(narrow) + 2


def test_short_equation_stays_on_one_row() -> None:
    assert wrap("z", [("a",), ("b",)], False) == ("z &= a = b",)


def test_last_step_boxed() -> None:
    assert wrap("z", [("a",), ("b",)], True) == (r"z &= a = \boxed{b}",)
    assert wrap("z", [(r"w \cdot x", "+ b"), ("7",)], True) == (r"z &= w \cdot x + b = \boxed{7}",)


def test_short_sum_is_boxed_whole() -> None:
    assert wrap("z", [("a", "+ b", "- c")], True) == (r"z &= \boxed{a + b - c}",)


def test_steps_equal_up_to_spacing_are_dropped() -> None:
    assert wrap("z", [("w x + b",), ("w  x+b",), ("7",)], True) == (r"z &= w x + b = \boxed{7}",)
    assert wrap("z", [("a",), ("a ",), ("b",)], False) == ("z &= a = b",)


def test_step_repeating_the_left_side_or_empty_is_dropped() -> None:
    assert wrap("z", [("z",), ("7",)], True) == (r"z &= \boxed{7}",)
    assert wrap("z", [(), ("7",)], False) == ("z &= 7",)


def test_approx_follows_the_box() -> None:
    assert wrap("z", [("1/3",)], True, approx="0.333") == (r"z &= \boxed{1/3} \approx 0.333",)


def test_long_sum_breaks_between_terms() -> None:
    rows = wrap("z", [LONG_SUM], True)
    assert rows == (
        r"z &= w_{1} \cdot x_{1} + w_{2} \cdot x_{2} + w_{3} \cdot x_{3} + w_{4} \cdot x_{4} + w_{5} \cdot x_{5}",
        r"&\quad + w_{6} \cdot x_{6} + w_{7} \cdot x_{7} + w_{8} \cdot x_{8} + w_{9} \cdot x_{9} + w_{10} \cdot x_{10}",
        r"&\quad + w_{11} \cdot x_{11} + w_{12} \cdot x_{12}",
    )
    assert all(visual_length(row) <= WIDTH for row in rows)
    # A box cannot break across rows, so a sum too wide for one stays unboxed.
    assert not any(r"\boxed" in row for row in rows)
    # Breaking moves the terms to new rows; it neither drops nor repeats any.
    assert " ".join(row.removeprefix("z &= ").removeprefix(r"&\quad ") for row in rows) == " ".join(LONG_SUM)


def test_long_sum_continues_with_the_next_steps() -> None:
    rows = wrap("z", [LONG_SUM, ("42",)], True, approx="42.0")
    assert rows[-1] == r"&\quad + w_{11} \cdot x_{11} + w_{12} \cdot x_{12} = \boxed{42} \approx 42.0"
    assert all(visual_length(row) <= WIDTH for row in rows)


def test_long_product_breaks_between_factors_with_a_dot() -> None:
    rows = wrap("p", [LONG_PRODUCT], False)
    assert rows == (
        r"p &= \left(x_{1} + 1\right) \left(x_{2} + 2\right) \left(x_{3} + 3\right) \left(x_{4} + 4\right)"
        r" \left(x_{5} + 5\right) \left(x_{6} + 6\right)",
        r"&\quad \cdot \left(x_{7} + 7\right) \left(x_{8} + 8\right) \left(x_{9} + 9\right)",
    )
    assert all(visual_length(row) <= WIDTH for row in rows)


def test_steps_too_wide_together_go_on_new_rows() -> None:
    steps = [(" + ".join(f"{v}_{{{i}}}" for i in range(1, 6)),) for v in "abc"]
    pi = "3.14159265358979323846264338327950288419716939937510"
    rows = wrap("y", steps, True, approx=pi)
    assert rows == (
        "y &= a_{1} + a_{2} + a_{3} + a_{4} + a_{5} = b_{1} + b_{2} + b_{3} + b_{4} + b_{5}",
        r"&= \boxed{c_{1} + c_{2} + c_{3} + c_{4} + c_{5}}",
        r"&\approx " + pi,
    )
    assert all(visual_length(row) <= WIDTH for row in rows)
