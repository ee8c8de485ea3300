"""When a value is zero — and so when two values are equal, and which sign a number has: one rule,
``is_zero``, for the checker (``same``), the matrix engine's entries (``equal``) and a worksheet's
``require:`` conditions (``sign``), so that no two parts of the package disagree on it.

A rational is decided exactly, at once. Any other value is decided to ``DIGITS`` digits: zero
within ``TOLERANCE``. ``simplify`` is never called (it can hang), and no exact test covers every
constant: a writer's ``1/(1 + e^{-1/2})`` is σ(1/2), which cancellation takes for another number.
The one exception is asked for by name: ``exact`` decides by cancelling the value as a rational
function of the powers of e and the other functions it holds (``normal.cancelled``), with no
floats — for the matrix engine's entries, built by the same operations as the scalar engine's and
held equal to them as exact numbers. Both paths say zero wherever the cancellation ends in 0.
"""
from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from ..errors import EvaluationError, ExpressionError
from .normal import cancelled

DIGITS = 50
TOLERANCE = sp.Float("1e-40", DIGITS)
# Fixed points (no randomness: the same answer on every run), signs mixed so that each ReLU's
# two branches are visited; each symbol gets its own value at each point.
_NUMERATORS = (3, -5, 7, 11, -2, 13, -4, -17, 19, 6, -23, 29, -31, 8)
_DENOMINATORS = (2, 3, 5, 7)
POINTS = 8


def is_zero(value: sp.Expr, exact: bool = False) -> bool:
    """value = 0: a rational exactly; else to ``DIGITS`` digits (a value that has none — nan, an
    infinity, a symbol — is not zero), or with ``exact`` by cancellation."""
    if value.is_Rational:
        return value == 0
    if exact:
        form = cancelled(value)
        return form == 0 or form.is_zero is True  # cancel may leave -1/4 + 1/4 unevaluated
    number = _approximate(value)
    return number is not None and bool(abs(number) < TOLERANCE)


def _approximate(value: sp.Expr) -> sp.Expr | None:
    """The value to ``DIGITS`` digits, or None when it has none: nan, an infinity, a symbol left
    in it, or a function SymPy cannot evaluate."""
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    try:
        number = value.evalf(DIGITS)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not number.is_number or number.free_symbols or number.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    return number


def sign(value: sp.Expr) -> int:
    """-1, 0 or 1: exactly for a rational, else the sign of the approximation, 0 when ``is_zero``
    calls it zero. A symbolic value is an ExpressionError, one with no real value an EvaluationError."""
    if not value.is_number:
        raise ExpressionError(f"{sp.sstr(value)} is not a number: it depends on a symbolic name")
    if value.is_Rational:
        return int(value.p > 0) - int(value.p < 0)
    number = _approximate(value)
    if number is None or not number.is_real:
        raise EvaluationError(f"{sp.sstr(value)} is not a real number")
    return 0 if is_zero(number) else (1 if number > 0 else -1)


def same(a: sp.Expr, b: sp.Expr, ground: Mapping[sp.Symbol, sp.Expr] | None = None) -> bool:
    """a = b, without ``simplify``; ``ground`` first replaces each node's symbol by its value (a
    symbolic worksheet's gradients name the nodes, the writer the inputs). A difference that still
    names symbols must be zero at each of the fixed points of ``sample_points``."""
    if ground:
        a, b = a.xreplace(ground), b.xreplace(ground)
    try:
        diff = a - b
    except (TypeError, ValueError):
        return False
    free = sorted(diff.free_symbols, key=lambda s: s.name)
    if not free:
        return is_zero(diff)
    return all(is_zero(diff.xreplace(point)) for point in sample_points(free))


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Exact equality of two values built from rationals, powers of e, logs and other functions
    of numbers (two entries of matrices): ``is_zero`` of their difference, ``exact``."""
    return is_zero(a - b, exact=True)


def sample_points(symbols: list[sp.Symbol]) -> list[dict[sp.Symbol, sp.Expr]]:
    """Substitutions of exact rationals for ``symbols`` (sorted by the caller)."""
    n = len(_NUMERATORS)
    return [{s: sp.Rational(_NUMERATORS[(i * 5 + k * 3) % n] * (-1) ** ((i >> (k % 3)) + k // 3),
                            _DENOMINATORS[(i + k) % len(_DENOMINATORS)])
             for i, s in enumerate(symbols)} for k in range(POINTS)]
