"""Deciding whether two values are equal without ``simplify`` (which can hang): by exact
substitution. Rationals compare exactly; a constant such as ``log(3)`` is compared to 50 digits;
an expression with free symbols (a symbolic worksheet) at eight fixed rational points.
"""
from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

DIGITS = 50
TOLERANCE = sp.Float("1e-40", DIGITS)
# Fixed points (no randomness: the same answer on every run), signs mixed so that each ReLU's
# two branches are visited; each symbol gets its own value at each point.
_NUMERATORS = (3, -5, 7, 11, -2, 13, -4, -17, 19, 6, -23, 29, -31, 8)
_DENOMINATORS = (2, 3, 5, 7)
POINTS = 8


def sample_points(symbols: list[sp.Symbol]) -> list[dict[sp.Symbol, sp.Expr]]:
    """Substitutions of exact rationals for ``symbols`` (sorted by the caller)."""
    n = len(_NUMERATORS)
    return [{s: sp.Rational(_NUMERATORS[(i * 5 + k * 3) % n] * (-1) ** ((i >> (k % 3)) + k // 3),
                            _DENOMINATORS[(i + k) % len(_DENOMINATORS)])
             for i, s in enumerate(symbols)} for k in range(POINTS)]


def same(a: sp.Expr, b: sp.Expr, ground: Mapping[sp.Symbol, sp.Expr] | None = None) -> bool:
    """a = b, decided exactly where the values are rational; ``ground`` first replaces each node's
    symbol by its value (a symbolic worksheet's gradients name the nodes, the writer the inputs)."""
    if ground:
        a, b = a.xreplace(ground), b.xreplace(ground)
    try:
        diff = a - b
    except (TypeError, ValueError):
        return False
    if diff == 0:
        return True
    if diff.is_Rational:
        return False
    free = sorted(diff.free_symbols, key=lambda s: s.name)
    for point in sample_points(free) if free else [{}]:
        if not _zero(diff.xreplace(point) if point else diff):
            return False
    return True


def _zero(value: sp.Expr) -> bool:
    if value.is_Rational:
        return value == 0
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return False
    try:
        number = value.evalf(DIGITS)
    except (TypeError, ValueError, ZeroDivisionError):
        return False
    if not number.is_number or number.free_symbols:
        return False
    return bool(abs(number) < TOLERANCE)
