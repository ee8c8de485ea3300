"""Numbers as a writer gives them, and how the checker compares them.

A decimal written with k significant digits stands for every value that rounds to it, its
half-unit interval; a value computed from such numbers stands for the interval they propagate to.
Both are intervals of mpmath's ``iv`` (rigorous bounds, no error analysis of our own). The
derivation's exact values are enclosed the same way, far beyond any written digit, so that a
rounded claim is compared with a nested sigmoid in microseconds, not by evaluating it to 50
digits (and an exact claim goes on to ``language/equality.same`` only when the bounds overlap).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any, TypeVar

import mpmath
import sympy as sp
from mpmath import iv

from ..errors import ExpressionError, SymbackpropError
from ..language.expr import exact_number
from ..language.equality import same
from ..language.ops import LeakyRelu, Maximum, Minimum, Relu, Sigmoid
from ..sheets.jsonout import exact

Span = Any  # an mpmath interval (mpmath.ctx_iv.ivmpf); its endpoints are .a and .b
PRECISION = 96  # bits of every interval computation: far more digits than anyone writes
DIGITS = 10  # significant digits of a value shown in a report
SHORT = 20  # characters of an exact value worth showing beside its decimal


@dataclass(frozen=True)
class Value:
    """A value as the checker compares it: exact (as written, or the derivation's), the interval it
    stands for (None when it cannot be enclosed: a symbolic worksheet), and whether that interval
    comes from rounding (a written decimal, a tolerance) or only encloses the exact value."""

    exact: sp.Expr
    span: Span | None = None
    rounded: bool = False


@contextmanager
def precision() -> Iterator[None]:
    """Every interval and endpoint at ``PRECISION`` bits, whatever the caller's setting (an
    endpoint taken at fewer bits would no longer bound the value); given back after."""
    before = iv.prec, mpmath.mp.prec
    iv.prec = mpmath.mp.prec = PRECISION
    try:
        yield
    finally:
        iv.prec, mpmath.mp.prec = before


F = TypeVar("F", bound=Callable[..., Any])


def precise(f: F) -> F:
    """``f`` run at ``PRECISION`` bits (see ``precision``)."""
    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        if iv.prec == mpmath.mp.prec == PRECISION:  # within another such call already
            return f(*args, **kwargs)
        with precision():
            return f(*args, **kwargs)
    return run  # type: ignore[return-value]


def agree(a: Value, b: Value, ground: Mapping[sp.Symbol, sp.Expr] | None = None) -> bool:
    """Whether two values can be the same: their intervals overlap when either is rounded;
    otherwise they are equal exactly (``same``), tried only when their bounds do not exclude it."""
    if a.span is not None and b.span is not None:
        if not overlap(a.span, b.span):
            return False
        if a.rounded or b.rounded:
            return True
    return same(a.exact, b.exact, ground)


@precise
def overlap(a: Span, b: Span) -> bool:
    return not (a.b < b.a or b.b < a.a)


def exact_value(value: sp.Expr) -> Value:
    """The derivation's exact value with its enclosure (none for a symbolic value)."""
    return Value(value, enclose(value))


@functools.lru_cache(maxsize=4096)
@precise
def written(value: sp.Rational, unit: sp.Rational | None, tolerance: sp.Rational) -> Span:
    """The values a written number stands for: those within half a unit of its last digit
    (``unit``; None for an exact number), widened to ``value · (1 ± tolerance)``."""
    margin = max(unit / 2 if unit is not None else sp.S.Zero, abs(value) * tolerance)
    return iv.mpf([_rational(value - margin).a, _rational(value + margin).b])


@precise
def widen(span: Span, by: Any) -> Span:
    return iv.mpf([span.a - by, span.b + by])


@precise
def deviation(span: Span, centre: Span) -> Any:
    """How far ``span`` reaches from ``centre``: the largest distance of an endpoint."""
    return max(abs(mpmath.mpf(span.b) - mpmath.mpf(centre.a)), abs(mpmath.mpf(centre.b) - mpmath.mpf(span.a)))


@precise
def magnitude(span: Span) -> Any:
    return max(abs(mpmath.mpf(span.a)), abs(mpmath.mpf(span.b)))


def relative_tolerance(raw: str | float | int | sp.Rational | None) -> sp.Rational:
    """``--tolerance``: a relative tolerance from 0 (the default: rounding alone) up to, not
    including, 1; read exactly (0.01 is 1/100), never evaluated."""
    if raw is None:
        return sp.S.Zero
    try:
        value = raw if isinstance(raw, sp.Rational) else exact_number(str(raw).strip())
    except ExpressionError:
        raise SymbackpropError(f"'{raw}' is not a number (a relative tolerance such as 0.01)", "--tolerance") \
            from None
    if not 0 <= value < 1:
        raise SymbackpropError(f"{raw} is no relative tolerance: expected a number from 0 to below 1, such as 0.01",
                               "--tolerance")
    return value


# -- enclosing SymPy values ---------------------------------------------------------------------------
@precise
def enclose(expr: sp.Expr, env: Mapping[sp.Symbol, Span] | None = None) -> Span | None:
    """An interval that holds ``expr`` with each symbol of ``env`` anywhere in its interval; None
    when the expression has another symbol or a function we do not bound."""
    try:
        return _enclose(expr, env or {})
    except (ValueError, ZeroDivisionError, ArithmeticError, TypeError):
        return None


def _enclose(expr: sp.Expr, env: Mapping[sp.Symbol, Span]) -> Span | None:
    if expr in env:
        return env[expr]
    if not env or not expr.free_symbols & env.keys():
        return _closed(expr)
    return _walk(expr, lambda a: _enclose(a, env))


@functools.lru_cache(maxsize=16384)
def _closed(expr: sp.Expr) -> Span | None:
    """The enclosure of a value with no symbol to substitute; kept, since a derivation's values
    share their nested sigmoids (called within ``precision``, so the same bits every time)."""
    if expr.is_Rational:
        return _rational(expr)
    return _walk(expr, _closed)


def _walk(expr: sp.Expr, inner: Callable[[sp.Expr], Span | None]) -> Span | None:
    args = [inner(a) for a in expr.args]
    if any(a is None for a in args):
        return _piecewise(expr, inner) if isinstance(expr, sp.Piecewise) else None
    if expr.is_Rational:
        return _rational(expr)
    if expr is sp.E:
        return iv.e
    if expr is sp.pi:
        return iv.pi
    if isinstance(expr, sp.Float):
        return iv.mpf(mpmath.mpf(expr._mpf_))
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr, inner)
    rule = _RULES.get(type(expr)) or next((r for t, r in _RULES.items() if isinstance(expr, t)), None)
    return None if rule is None else rule(expr, args)


def _pow(expr: sp.Expr, args: list[Span]) -> Span | None:
    base, exponent = args
    e = expr.args[1]
    if e.is_Integer:
        return base ** int(e)
    if e == sp.S.Half:
        return iv.sqrt(base) if base.a >= 0 else None
    return iv.exp(exponent * iv.log(base)) if base.a > 0 else None


def _step(x: Span, at_zero: Span) -> Span:
    """Heaviside: 0, 1, or every value between (the convention at 0 included) when x straddles 0."""
    if x.a > 0:
        return iv.mpf(1)
    if x.b < 0:
        return iv.mpf(0)
    if x.a == 0 and x.b == 0:
        return at_zero
    return iv.mpf([0, 1])


def _choose(pick: Callable[[Any, Any], Any]) -> Callable[[sp.Expr, list[Span]], Span]:
    def rule(expr: sp.Expr, args: list[Span]) -> Span:
        lo = functools.reduce(pick, (mpmath.mpf(a.a) for a in args))
        hi = functools.reduce(pick, (mpmath.mpf(a.b) for a in args))
        return iv.mpf([lo, hi])
    return rule


def _relu(x: Span) -> Span:
    return iv.mpf([max(mpmath.mpf(x.a), 0), max(mpmath.mpf(x.b), 0)])


def _leaky(x: Span, slope: Span) -> Span:
    """x for x > 0, slope·x below: both pieces while x straddles 0."""
    if x.a >= 0:
        return x
    return slope * x if x.b <= 0 else hull([x, slope * x])


_RULES: dict[type, Callable[[sp.Expr, list[Span]], Span | None]] = {
    sp.Add: lambda e, a: functools.reduce(lambda x, y: x + y, a),
    sp.Mul: lambda e, a: functools.reduce(lambda x, y: x * y, a),
    sp.Pow: _pow,
    sp.exp: lambda e, a: iv.exp(a[0]),
    sp.log: lambda e, a: iv.log(a[0]) if a[0].a > 0 else None,
    Sigmoid: lambda e, a: 1 / (1 + iv.exp(-a[0])),
    sp.tanh: lambda e, a: 1 - 2 / (iv.exp(2 * a[0]) + 1),
    sp.Abs: lambda e, a: abs(a[0]),
    sp.Heaviside: lambda e, a: _step(a[0], a[1] if len(a) > 1 else iv.mpf(0.5)),
    Relu: lambda e, a: _relu(a[0]),
    LeakyRelu: lambda e, a: _leaky(a[0], a[1]),
    sp.Max: _choose(max),
    Maximum: _choose(max),
    sp.Min: _choose(min),
    Minimum: _choose(min),
}


def _piecewise(expr: sp.Piecewise, inner: Callable[[sp.Expr], Span | None]) -> Span | None:
    """The branch whose condition holds; the hull of the branches still possible when the bounds
    cannot decide a condition."""
    found: list[Span] = []
    for value, cond in expr.args:
        holds = True if cond is sp.true else _holds(cond, inner)
        if holds is False:
            continue
        span = inner(value)
        if span is None:
            return None
        found.append(span)
        if holds is True:
            return hull(found)
    return None


def _holds(cond: sp.Basic, inner: Callable[[sp.Expr], Span | None]) -> bool | None:
    if not isinstance(cond, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
        return None
    left, right = inner(cond.lhs), inner(cond.rhs)
    if left is None or right is None:
        return None
    small, large = (left, right) if isinstance(cond, (sp.StrictLessThan, sp.LessThan)) else (right, left)
    if small.b < large.a:
        return True
    if large.b < small.a:
        return False
    return None


def _rational(r: sp.Rational) -> Span:
    return iv.mpf(int(r.p)) / int(r.q)


@precise
def hull(spans: Iterable[Span]) -> Span:
    """The smallest interval that holds every one of ``spans``."""
    spans = list(spans)
    return iv.mpf([min(mpmath.mpf(s.a) for s in spans), max(mpmath.mpf(s.b) for s in spans)])


# -- showing values ---------------------------------------------------------------------------------
def short_decimal(value: sp.Expr, digits: int = DIGITS) -> str | None:
    """``value`` to ``digits`` significant digits as a plain decimal (``0.0821670406``,
    ``-1.333333333``); None for a value with no number (a symbolic worksheet's)."""
    with localcontext() as ctx:
        ctx.prec = digits + 30
        if value.is_Rational:
            number = Decimal(int(value.p)) / Decimal(int(value.q))
        else:
            span = enclose(value)
            if span is None:
                return None
            with precision():
                number = Decimal(mpmath.nstr(mpmath.mpf(span.mid), digits + 15, min_fixed=-mpmath.inf,
                                             max_fixed=mpmath.inf))
        if number == 0:
            return "0"
        text = format(number.quantize(Decimal(1).scaleb(number.adjusted() - digits + 1), ROUND_HALF_EVEN), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def terminates(value: sp.Expr, digits: int = DIGITS) -> bool:
    """A rational whose decimal has at most ``digits`` significant digits (0.3775, not 1/3)."""
    if not value.is_Rational:
        return False
    q, places = int(value.q), 0
    while q % 10 == 0 or q % 2 == 0 or q % 5 == 0:
        factor = 10 if q % 10 == 0 else (2 if q % 2 == 0 else 5)
        q //= factor
        places += 1
    if q != 1:
        return False
    whole = abs(int(value.p)) * 10 ** places // int(value.q)
    return len(str(whole).strip("0")) <= digits


def shown(value: sp.Expr, digits: int = DIGITS, form: Callable[[sp.Expr], str] = exact,
          approx: str = " ≈ ") -> str:
    """A value for a reader: its decimal, with the exact form (as ``form`` writes it) before it only
    when that is short (``-4/3 ≈ -1.333333333``, ``4``, ``0.0821670406``); a symbolic value in its
    exact form."""
    number = short_decimal(value, digits)
    if number is None:
        return form(value)
    if terminates(value, digits):
        return number
    return f"{form(value)}{approx}{number}" if len(exact(value)) <= SHORT else number


def shown_any(value: sp.Expr | sp.MatrixBase, digits: int = DIGITS) -> str:
    """``shown`` for a number; a matrix as its rows of short decimals, ``[[0.1, -0.1], [0, 0.2]]``."""
    if not isinstance(value, sp.MatrixBase):
        return shown(value, digits)
    rows = [", ".join(short_decimal(x, digits) or exact(x) for x in value.row(i)) for i in range(value.rows)]
    return "[" + ", ".join(f"[{r}]" for r in rows) + "]"
