"""How a sheet writes a number: exact while that reads well, a correctly rounded decimal when not.

The engine stays exact; this module only decides how a value is *shown* (``numbers:`` of the
worksheet):

- ``exact``: every value exactly (today's sheets), except a value too wide for a line, which is
  shown as its decimal;
- ``decimal``: every non-integer as a decimal to ``digits`` significant digits (a terminating
  decimal, such as a given 0.05, exactly as it is);
- ``auto`` (the default): exactly while the exact form is short — an integer, a fraction whose
  numerator and denominator have at most three digits, or a form at most one function deep and at
  most ``SHORT`` characters wide (e^{−1}, ln 2, σ(3/2), 1/(1 + e^{−1})) — otherwise as its decimal
  (a longer fraction that terminates, such as 6241/20000, as its exact decimal 0.31205).

In ``auto`` and ``decimal``, when the worksheet writes its given numbers as decimals, a fraction
that terminates within ``TERMINATING`` significant digits is written as that decimal (0.3775, not
151/400), and in ``auto`` every other non-integer too, as a course that gives decimals writes
them. A rounded decimal is the exact value correctly rounded (half to even), never a value
computed from rounded inputs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp
from mpmath.libmp import to_digits_exp

from ..language.approximate import approximate
from ..worksheet.read import Given, Worksheet

MODES = ("auto", "exact", "decimal")
DEFAULT_DIGITS = 4
SHORT = 20  # characters a reader sees, for an exact form in auto
SMALL_TERMS = 1000  # a fraction is short while numerator and denominator are below this
TERMINATING = 12  # significant digits of a terminating decimal written exactly
WIDE = 50  # characters: in exact mode, a wider value is shown as its decimal
GUARD = 30  # extra digits computed before rounding an irrational value


@dataclass(frozen=True)
class Decimal:
    """A number as a sheet writes it in decimals: ``rounded`` when it is not the exact value."""

    digits: str  # the significant digits, without sign or point
    exponent: int  # the power of ten of the first digit
    negative: bool
    rounded: bool

    def text(self) -> str:
        """Plain text: 0.7514, -1.106, 4.386e-05 (for the JSON and the figure's labels)."""
        mantissa, power = self._parts()
        return mantissa + (f"e{power:+03d}" if power is not None else "")

    def latex(self) -> str:
        mantissa, power = self._parts()
        return mantissa + (rf" \times 10^{{{power}}}" if power is not None else "")

    def _parts(self) -> tuple[str, int | None]:
        sign = "-" if self.negative else ""
        d, e = self.digits, self.exponent
        if -5 <= e < 7:  # positional: 0.0004386, 1106, 0.7514
            if e < 0:
                return sign + "0." + "0" * (-e - 1) + d, None
            whole, frac = d[: e + 1].ljust(e + 1, "0"), d[e + 1:]
            return sign + whole + ("." + frac if frac else ""), None
        return sign + d[0] + ("." + d[1:] if len(d) > 1 else ""), e


def rounded(value: sp.Expr, digits: int) -> Decimal:
    """The exact value rounded to ``digits`` significant digits (half to even for a rational; an
    irrational value, computed to GUARD more digits, cannot sit on a tie)."""
    if not value.is_Rational:
        fast = [approximate(value, digits + guard) for guard in (GUARD, 2 * GUARD)]
        if None not in fast and fast[0] != 0:
            once, twice = (_round_mpf(v._mpf_, digits) for v in fast)
            if once == twice:  # both precisions write the same digits: these are right
                return once
        return _round_mpf(value.evalf(digits + GUARD)._mpf_, digits)
    x = Fraction(int(value.p), int(value.q))
    if x == 0:
        return Decimal("0", 0, False, False)
    negative, x = x < 0, abs(x)
    e = _exponent(x)
    n = round(x * Fraction(10) ** (digits - 1 - e))
    if n >= 10 ** digits:  # 9.9996 → 10.00
        e += 1
        n = round(x * Fraction(10) ** (digits - 1 - e))
    return Decimal(str(n), e, negative, Fraction(n) * Fraction(10) ** (e - digits + 1) != x)


def _round_mpf(x: tuple, digits: int) -> Decimal:
    """A binary floating-point value (mpmath's tuple) rounded to ``digits`` significant digits."""
    sign, text, e = to_digits_exp(x, digits + GUARD)
    if text.strip("0") == "":
        return Decimal("0", 0, False, False)
    n = int(text[:digits]) + (text[digits] >= "5")
    if n >= 10 ** digits:  # 9.9996 → 10.00
        n, e = n // 10, e + 1
    return Decimal(str(n), e, sign == "-", True)


def terminating(value: sp.Expr) -> Decimal | None:
    """A rational whose decimal expansion ends within TERMINATING significant digits, exactly."""
    if not value.is_Rational or value.is_Integer:
        return None
    q = int(value.q)
    for f in (2, 5):
        while q % f == 0:
            q //= f
    if q != 1:
        return None
    d = rounded(value, TERMINATING)
    return None if d.rounded else Decimal(d.digits.rstrip("0") or "0", d.exponent, d.negative, False)


def decimal_of(value: sp.Expr, digits: int) -> Decimal:
    """A value as a decimal: exactly when it terminates within ``digits`` digits, else rounded."""
    exact = terminating(value)
    return exact if exact is not None and len(exact.digits) <= digits else rounded(value, digits)


def _exponent(x: Fraction) -> int:
    """The power of ten of the first significant digit of x > 0 (from bit lengths: a numerator of
    thousands of digits is never written out)."""
    e = int((x.numerator.bit_length() - x.denominator.bit_length()) * 0.30103)
    while Fraction(10) ** e > x:
        e -= 1
    while Fraction(10) ** (e + 1) <= x:
        e += 1
    return e


def depth(value: sp.Basic) -> int:
    """How many functions deep a value is (σ(3/2) is one deep, σ(1 + σ(1)) two); a power with a
    non-integer exponent counts as a function."""
    inner = max((depth(a) for a in value.args), default=0)
    if isinstance(value, sp.Function) or (value.is_Pow and not value.exp.is_Integer):
        return inner + 1
    return inner


@dataclass(frozen=True)
class NumberStyle:
    """The worksheet's way of writing numbers (``numbers:``, ``decimals:``)."""

    mode: str = "exact"
    digits: int = DEFAULT_DIGITS
    decimal_inputs: bool = False  # the worksheet writes its given numbers as decimals

    @classmethod
    def of(cls, ws: Worksheet, mode: str | None = None, digits: int | None = None) -> NumberStyle:
        """The worksheet's style (``mode`` and ``digits`` override its keys, as the CLI does)."""
        return cls(mode or ws.numbers, digits or ws.decimals or DEFAULT_DIGITS, any(as_written(g) for g in ws.given))

    def decimal(self, value: sp.Expr, width: Callable[[sp.Expr], int]) -> Decimal | None:
        """The decimal this style writes for a number, or None to write it exactly; ``width``
        measures the exact form as the reader sees it."""
        if not value.is_number or value.is_Integer or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I):
            return None
        if self.mode != "exact" and (self.decimal_inputs or self.mode == "decimal"):
            exact = terminating(value)
            if exact is not None:
                return exact
        if self.mode == "decimal" or (self.mode == "auto" and self.decimal_inputs):
            return rounded(value, self.digits)
        if self.mode == "exact":
            return rounded(value, self.digits) if width(value) > WIDE else None
        if value.is_Rational:
            short = abs(int(value.p)) < SMALL_TERMS and int(value.q) < SMALL_TERMS
            if not short:
                return terminating(value) or rounded(value, self.digits)
        else:
            short = depth(value) <= 1 and width(value) <= SHORT
        return None if short else rounded(value, self.digits)


def as_written(g: Given) -> bool:
    """Whether a given number is still the decimal its worksheet wrote (a class variant draws
    other numbers under the same names)."""
    v = g.value
    return g.written is not None and isinstance(v, sp.Rational) and Fraction(g.written) == Fraction(int(v.p), int(v.q))
