"""An oracle for the decimals a sheet shows (a module of the tests, not a test): values in mpmath at
50 digits, rounded by Python's ``decimal`` module (a correctly rounded division, half to even), and
the decimals read back from the text of a sheet.

Nothing here uses ``symbackprop.sheets.numbers``, the module under test.
"""
from __future__ import annotations

import decimal
import re
from fractions import Fraction

import mpmath
import sympy as sp

from symbackprop.language.ops import Sigmoid

DPS = 50  # the oracle's working digits

# A number as a sheet writes it: 0.7514, -1.106, 1.235 \times 10^{7}, 4.386e-05 (JSON); a whole
# number without a power of ten (a subscript w_{10}, an exponent ^{2}) is not a decimal.
SHOWN = re.compile(r"(?<![\w.])(-?)(\d+(?:\.\d+)?)(?:\s*\\times\s*10\^\{(-?\d+)\}|e([+-]\d+))?(?![\w.])")


def fraction(x: mpmath.mpf) -> Fraction:
    """The exact binary value of an mpf (its mantissa and exponent carry no sign)."""
    man, exp = x.man_exp
    return (-1 if x < 0 else 1) * Fraction(man) * Fraction(2) ** exp


def correctly_rounded(x: Fraction | mpmath.mpf, digits: int) -> decimal.Decimal:
    """``x`` to ``digits`` significant digits, half to even. A Fraction is rounded exactly; an mpf
    (computed with at least DPS digits) must not lie so near a tie that its error decides."""
    ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN)
    if isinstance(x, Fraction):
        return ctx.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))
    f = fraction(x)
    slack = abs(f) * Fraction(1, 10 ** (DPS - 5))
    low, high = (ctx.divide(decimal.Decimal(v.numerator), decimal.Decimal(v.denominator)) for v in (f - slack, f + slack))
    assert low == high, f"{x} is too near a tie at {digits} digits for a {DPS}-digit oracle"
    return low


def read_decimal(sign: str, mantissa: str, power: str | None) -> tuple[decimal.Decimal, int]:
    """A written decimal's exact value and its number of significant digits (trailing zeros count)."""
    value = decimal.Decimal(sign + mantissa + (f"E{power}" if power else ""))
    return value, len(mantissa.replace(".", "").lstrip("0")) or 1


def shown_decimals(text: str, whole: bool = False) -> list[tuple[str, decimal.Decimal, int]]:
    """Every decimal in a sheet's text (a number with a point or a power of ten; with ``whole``, a
    whole number too, as in the JSON): the token as written, its exact value, and its number of
    significant digits."""
    out = []
    for m in SHOWN.finditer(text):
        sign, mantissa, power = m.group(1), m.group(2), m.group(3) or m.group(4)
        if whole or "." in mantissa or power is not None:
            out.append((m.group(0), *read_decimal(sign, mantissa, power)))
    return out


def is_shown_value(shown: decimal.Decimal, significant: int, exact: Fraction | None, approx: mpmath.mpf,
                   digits: int) -> bool:
    """Whether a decimal shown for a value is right: the exact value itself (a terminating
    decimal), or the value correctly rounded to ``digits`` significant digits, written with them."""
    if exact is not None and Fraction(shown) == exact:
        return True
    return significant == digits and shown == correctly_rounded(exact if exact is not None else approx, digits)


def mp_value(expr: sp.Expr, memo: dict | None = None) -> mpmath.mpf:
    """A numeric SymPy value in mpmath at the current precision, node by node (not SymPy's evalf)."""
    memo = {} if memo is None else memo
    if expr in memo:
        return memo[expr]
    if expr.is_Rational:
        out = mpmath.mpf(int(expr.p)) / int(expr.q)
    elif expr is sp.E:
        out = mpmath.e
    else:
        args = [mp_value(a, memo) for a in expr.args]
        if expr.is_Add:
            out = mpmath.fsum(args)
        elif expr.is_Mul:
            out = mpmath.fprod(args)
        elif expr.is_Pow:
            out = args[0] ** args[1]
        elif isinstance(expr, Sigmoid):
            out = 1 / (1 + mpmath.exp(-args[0]))
        else:
            out = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh}[type(expr)](*args)
    memo[expr] = out
    return out
