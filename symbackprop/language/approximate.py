"""The numerical value of an exact expression, fast: every distinct sub-expression is evaluated
once, in mpmath at a fixed working precision.

SymPy's ``evalf`` is adaptive but walks the tree: a network's values share their sub-expressions
(every gradient holds the forward values below it), and ``evalf`` evaluates each of them once per
path, which on a deep graph costs minutes. ``rounded`` in sheets/numbers.py uses this value only
when two working precisions agree on every digit it writes, and asks ``evalf`` otherwise (a value
that cancels to almost nothing, or an operation not listed here).
"""
from __future__ import annotations

from collections.abc import Callable

import mpmath
import sympy as sp

from .ops import LeakyRelu, Maximum, Minimum, Relu, Sigmoid

Value = mpmath.mpf


def _sigmoid(x: Value) -> Value:
    return 1 / (1 + mpmath.exp(-x))


def _relu(x: Value, at_zero: Value) -> Value:
    return x if x > 0 else mpmath.mpf(0)


def _leaky(x: Value, slope: Value, at_zero: Value) -> Value:
    return x if x > 0 else slope * x


FUNCTIONS: dict[type, Callable[..., Value]] = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
    sp.Abs: abs, Sigmoid: _sigmoid, Relu: _relu, LeakyRelu: _leaky,
    Maximum: lambda *a: max(a), Minimum: lambda *a: min(a),
}


class NotNumeric(Exception):
    """A part this evaluator does not know, or a value that is not a finite real number."""


def approximate(value: sp.Expr, dps: int) -> Value | None:
    """``value`` to about ``dps`` significant digits, or None when it cannot say."""
    with mpmath.workdps(dps):
        try:
            out = _walk(value, {})
        except (NotNumeric, ValueError, ZeroDivisionError, OverflowError):
            return None
        return +out  # rounded to the working precision


def _walk(e: sp.Basic, memo: dict[sp.Basic, Value]) -> Value:
    if e in memo:
        return memo[e]
    if e.is_Rational:
        out = mpmath.mpf(int(e.p)) / int(e.q)
    elif e.is_Float:
        out = mpmath.mpf(e._mpf_)
    elif e is sp.E:
        out = mpmath.e
    elif e is sp.pi:
        out = mpmath.pi
    elif e.is_Add:
        out = mpmath.fsum(_walk(a, memo) for a in e.args)
    elif e.is_Mul:
        out = mpmath.fprod(_walk(a, memo) for a in e.args)
    elif e.is_Pow:
        base, exp = _walk(e.base, memo), e.exp
        out = base ** int(exp) if exp.is_Integer else base ** _walk(exp, memo)
    elif type(e) in FUNCTIONS:
        out = FUNCTIONS[type(e)](*(_walk(a, memo) for a in e.args))
    else:
        raise NotNumeric(type(e).__name__)
    if not isinstance(out, mpmath.mpf) or not mpmath.isfinite(out):
        raise NotNumeric("not a finite real number")
    memo[e] = out
    return out
