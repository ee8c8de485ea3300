"""How a sheet writes a number (symbackprop/sheets/numbers.py), against an oracle of its own:
mpmath at 50 digits and Python's decimal module, never the module's own arithmetic."""
from __future__ import annotations

import decimal
import random
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from symbackprop.language.ops import Sigmoid
from symbackprop.sheets.numbers import DEFAULT_DIGITS, Decimal, NumberStyle, rounded, terminating

from support.decimals import DPS, correctly_rounded, mp_value


def as_decimal(d: Decimal) -> decimal.Decimal:
    """The value a Decimal writes, read back exactly from its plain text."""
    return decimal.Decimal(d.text())


def random_rationals(n: int) -> list[sp.Rational]:
    rng = random.Random(20260314)
    out = []
    for _ in range(n):
        p = rng.randint(-10 ** rng.randint(1, 15), 10 ** rng.randint(1, 15))
        q = rng.randint(1, 10 ** rng.randint(1, 12))
        out.append(sp.Rational(p or 1, q))
    return out


def irrational_values() -> list[sp.Expr]:
    """exp, log, tanh and sigmoids of nested sums of random rationals, over many magnitudes."""
    rng = random.Random(7)
    out: list[sp.Expr] = []
    for _ in range(60):
        r = sp.Rational(rng.randint(-4000, 4000), rng.randint(1, 997))
        a, b = sp.Rational(rng.randint(-99, 99), 10), sp.Rational(rng.randint(1, 99), 100)
        out += [sp.exp(r / 100), sp.log(abs(r) + b), sp.tanh(a) * b, Sigmoid(a + b * Sigmoid(r / 50 + Sigmoid(a))),
                sp.exp(-abs(r) / 10) * a]
    return out


@pytest.mark.parametrize("digits", [1, 2, 4, 9, 15])
def test_rationals_are_correctly_rounded(digits) -> None:
    for value in random_rationals(300):
        got = rounded(value, digits)
        want = correctly_rounded(Fraction(int(value.p), int(value.q)), digits)
        assert as_decimal(got) == want, (value, digits, got.text(), want)
        assert len(got.digits) == digits and got.negative == (value < 0)
        assert got.rounded == (Fraction(want) != Fraction(int(value.p), int(value.q)))


@pytest.mark.parametrize("digits", [1, 3, 4, 6, 9, 12])
def test_irrational_values_are_correctly_rounded(digits) -> None:
    with mpmath.workdps(DPS):
        for value in irrational_values():
            got = rounded(value, digits)
            want = correctly_rounded(mp_value(value), digits)
            assert as_decimal(got) == want and got.rounded, (value, digits, got.text(), want)
            assert len(got.digits) == digits


@pytest.mark.parametrize(("value", "digits", "text"), [
    (sp.Rational(1, 8), 2, "0.12"),  # 0.125: a tie goes to the even digit
    (sp.Rational(3, 8), 2, "0.38"),  # 0.375
    (sp.Rational(-1, 8), 2, "-0.12"),
    (sp.Rational(5, 2), 1, "2"),  # 2.5
    (sp.Rational(7, 2), 1, "4"),  # 3.5
    (sp.Rational(25, 1000), 1, "0.02"),  # 0.025
    (sp.Rational(1, 1000) * sp.Rational(123450, 1), 4, "123.4"),  # 123.45
    (sp.Rational(99995, 10000), 4, "10.00"),  # 9.9995 rounds up to the next power of ten
    (sp.Rational(99985, 10000), 4, "9.998"),  # 9.9985
])
def test_exact_ties_of_rationals_round_half_to_even(value, digits, text) -> None:
    got = rounded(value, digits)
    assert got.text() == text and got.rounded


def test_a_rational_that_needs_no_rounding_is_marked_exact() -> None:
    assert rounded(sp.Rational(1, 4), 4).text() == "0.2500" and not rounded(sp.Rational(1, 4), 4).rounded
    assert rounded(sp.Rational(1, 3), 4).rounded


def test_terminating() -> None:
    assert terminating(sp.Rational(151, 400)).text() == "0.3775"
    assert terminating(sp.Rational(6241, 20000)).text() == "0.31205"
    assert terminating(sp.Rational(-3, 40)).text() == "-0.075"
    assert terminating(sp.Rational(1, 1024)).text() == "0.0009765625"  # 10 significant digits
    assert terminating(sp.Rational(10 ** 11 + 1, 10 ** 12)).text() == "0.100000000001"  # 12
    for value in (sp.Rational(1, 3), sp.Rational(1, 6), sp.Integer(5), sp.exp(1), sp.Rational(-7, 30)):
        assert terminating(value) is None, value
    assert all(not terminating(sp.Rational(p, 2 ** a * 5 ** b)).rounded
               for p, a, b in [(1, 3, 0), (7, 0, 4), (-13, 5, 2)])


def test_terminating_refuses_a_decimal_longer_than_12_digits() -> None:
    """1/2**40 ends after 28 significant digits, 1.23 · 4.56 · 7.89 · 1.11 · 2.22 after 13: neither is
    cut to 12 digits and passed off as exact."""
    for value in (sp.Rational(1, 2 ** 40), sp.Rational(68155816959, 625000000)):
        assert terminating(value) is None, value


@pytest.mark.parametrize(("digits", "exponent", "text", "latex"), [
    ("7514", -1, "0.7514", "0.7514"),
    ("1106", 0, "1.106", "1.106"),
    ("4386", -4, "0.0004386", "0.0004386"),
    ("1", -5, "0.00001", "0.00001"),  # 1e-5: still positional
    ("4386", -5, "0.00004386", "0.00004386"),
    ("9999", -6, "9.999e-06", r"9.999 \times 10^{-6}"),  # below 1e-5: a power of ten
    ("1234567", 6, "1234567", "1234567"),
    ("123", 6, "1230000", "1230000"),  # below 1e7: positional, zeros filled in
    ("1235", 7, "1.235e+07", r"1.235 \times 10^{7}"),  # 1e7 and above: a power of ten
    ("2", 12, "2e+12", r"2 \times 10^{12}"),
    ("30", 1, "30", "30"),
])
def test_decimal_text_and_latex(digits, exponent, text, latex) -> None:
    d = Decimal(digits, exponent, False, True)
    assert (d.text(), d.latex()) == (text, latex)
    minus = Decimal(digits, exponent, True, True)
    assert (minus.text(), minus.latex()) == ("-" + text, "-" + latex)


def width(value: sp.Expr) -> int:
    """The width of the exact form as the reader sees it (here its plain text: sigmoid(3/2) is 12)."""
    return len(str(value))


WIDE = (sp.Rational(1, 7) + sp.exp(sp.Rational(1, 3)) * sp.log(sp.Rational(17, 3)) + sp.tanh(sp.Rational(5, 11)) * 3
        + sp.log(sp.Rational(19, 7)) * sp.tanh(sp.Rational(2, 9)))  # wider than 50 characters
CASES = {  # value: what each style writes (None: exactly), digits 4
    "1/3": (sp.Rational(1, 3), {"exact": None, "auto": None, "auto+dec": "0.3333", "decimal": "0.3333"}),
    "151/400": (sp.Rational(151, 400), {"exact": None, "auto": None, "auto+dec": "0.3775", "decimal": "0.3775"}),
    "6241/20000": (sp.Rational(6241, 20000), {"exact": None, "auto": "0.31205", "auto+dec": "0.31205",
                                             "decimal": "0.31205"}),
    "1234/5677": (sp.Rational(1234, 5677), {"exact": None, "auto": "0.2174", "auto+dec": "0.2174",
                                           "decimal": "0.2174"}),
    "e^-1": (sp.exp(-1), {"exact": None, "auto": None, "auto+dec": "0.3679", "decimal": "0.3679"}),
    "sigma(3/2)": (Sigmoid(sp.Rational(3, 2)), {"exact": None, "auto": None, "auto+dec": "0.8176", "decimal": "0.8176"}),
    "sigma(sigma(1))": (Sigmoid(Sigmoid(1)), {"exact": None, "auto": "0.6750", "auto+dec": "0.6750", "decimal": "0.6750"}),
    "wide": (WIDE, {"exact": "4.059", "auto": "4.059", "auto+dec": "4.059", "decimal": "4.059"}),
    "3": (sp.Integer(3), {"exact": None, "auto": None, "auto+dec": None, "decimal": None}),
    "-2": (sp.Integer(-2), {"exact": None, "auto": None, "auto+dec": None, "decimal": None}),
}
STYLES = {"exact": NumberStyle("exact"), "auto": NumberStyle("auto"), "auto+dec": NumberStyle("auto", decimal_inputs=True),
          "decimal": NumberStyle("decimal")}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("style", sorted(STYLES))
def test_number_style_decimal(case, style) -> None:
    value, expected = CASES[case]
    got = STYLES[style].decimal(value, width)
    assert (got.text() if got else None) == expected[style]
    if got is not None:
        assert got.rounded == (not value.is_Rational or Fraction(got.text()) != Fraction(int(value.p), int(value.q)))


def test_auto_with_decimal_inputs_writes_every_non_integer_as_a_decimal() -> None:
    assert STYLES["auto+dec"].decimal(sp.Rational(1, 3), width) is not None


def test_style_of_a_worksheet_and_its_overrides() -> None:
    from symbackprop.api import worksheet

    ws = worksheet("given: {a: 0.35, b: 2}\nnodes: {L: a*b}\n")
    assert NumberStyle.of(ws) == NumberStyle("auto", DEFAULT_DIGITS, True)
    assert NumberStyle.of(ws, "exact", 9) == NumberStyle("exact", 9, True)
    plain = worksheet("given: {a: 1/3, b: 2}\nnodes: {L: a*b}\nnumbers: decimal\ndecimals: 6\n")
    assert NumberStyle.of(plain) == NumberStyle("decimal", 6, False)
