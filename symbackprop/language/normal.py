"""A short exact form for the entries of a matrix: a softmax or a cross-entropy over a batch
adds up fractions of powers of e that SymPy leaves as they were built.

Every power e^(k/q) becomes u^k with u = e^(1/q), each term is cancelled as a rational function
of u (and of any other function it holds, such as σ(1/2)), terms over the same denominator are
added, and u is put back: a column sum over a batch stays a sum of one fraction per sample,
as a hand writes it, not one fraction over the product of every denominator. ``cancelled`` puts
a whole value over one denominator instead: what equality.py's exact test of zero reads.
"""
from __future__ import annotations

import functools
from math import lcm

import sympy as sp

from .ops import check_size

_U = sp.Dummy("u")  # no assumptions: SymPy would search the roots of every polynomial in u


_KNOWN: dict[sp.Expr, sp.Expr] = {}  # value → its form, and each form → itself (a form is final)


def normal(x: sp.Expr) -> sp.Expr:
    """An equal, cancelled form of an exact value (unchanged when it is a rational number)."""
    if x.is_Rational or not x.is_number:
        return x
    known = _KNOWN.get(x)
    if known is None:
        if len(_KNOWN) > 1 << 15:
            _KNOWN.clear()
        known = _normal(x)
        _KNOWN[x] = _KNOWN[known] = known
    return known


def _normal(x: sp.Expr) -> sp.Expr:
    y, q = _in_u(x)
    y = _logs(y, q)
    groups: dict[sp.Expr, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(y, deep=False, mul=True, multinomial=False, power_exp=False)):
        num, den = sp.fraction(sp.together(term))
        content, primitive = den.as_content_primitive()
        groups[primitive] = groups.get(primitive, sp.S.Zero) + num / content
    parts = []
    for den, num in groups.items():
        n, d = sp.fraction(sp.cancel(num / den) if den != 1 else sp.expand(num))
        parts.append(_content(n) / _factored(d) if d != 1 else n)
    return check_size(sp.Add(*parts).xreplace({_U: sp.exp(sp.Rational(1, q))}))


def _content(p: sp.Expr) -> sp.Expr:
    """A numerator with its numeric content in front, when SymPy keeps it there."""
    c, rest = p.as_content_primitive()
    return sp.Mul(c, rest) if c != 1 else rest


@functools.lru_cache(maxsize=1 << 12)
def _factored(d: sp.Expr) -> sp.Expr:
    """A denominator with its common factors pulled out: 3 (1 + e⁴ + e⁶); few and repeated, so cached."""
    return sp.factor_terms(d)


def cancelled(x: sp.Expr) -> sp.Expr:
    """x as one cancelled rational function of u = e^(1/q) and the other functions it holds (u is
    not put back): 0 when x is 0, exactly, as far as those functions are independent."""
    y, q = _in_u(x)
    return sp.cancel(sp.together(_logs(y, q)))


def _in_u(x: sp.Expr) -> tuple[sp.Expr, int]:
    """x with each power e^(k/q) written u^k, and q."""
    powers = [a for a in x.atoms(sp.exp) if a.args[0].is_Rational]
    q = lcm(*(a.args[0].q for a in powers), 1)
    return x.xreplace({a: _U ** (a.args[0] * q) for a in powers} | {sp.E: _U ** q}), q


def _logs(y: sp.Expr, q: int) -> sp.Expr:
    """Each log of a quotient split into logs of cancelled polynomials (every log here is of a
    positive value, checked on the way): log(1/(u⁻² + 2)) is 2 log u − log(2u² + 1)."""
    if not y.has(sp.log):
        return y
    y = y.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(sp.factor_terms(sp.cancel(e.args[0]))))
    return sp.expand_log(y, force=True).xreplace({sp.log(_U): sp.Rational(1, q)})


def normal_matrix(m: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    return m.applyfunc(normal)
