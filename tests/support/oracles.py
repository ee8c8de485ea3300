"""Independent oracles for the random worksheets of tests/support/randgraph.py (a module of the tests, not a test).

- mpmath: every name's value from the generator's own trees (``mp_values``), 50 digits.
- SymPy: the loss composed from those trees with definitions written here, not taken from
  symbackprop.ops (``compose``): relu, leaky_relu, abs, max, min by their branches; sigmoid as
  1/(1 + exp(-z)); tanh as 2/(1 + exp(-2z)) - 1; log(x, b) as log(x)/log(b); log10 as
  log(x)/log(10); sqrt as x**(1/2); choose as the argument it picks. ``sympy.diff`` of that
  composed loss is the oracle of every gradient.

Branches are decided at the given numbers (50-digit mpmath values) as the loss is composed, so
SymPy only ever sees the active branch; away from a kink that branch has the derivative of the
function there. On a kink the branch written is the stated convention, an expression with the
function's value there and the convention's slope: relu(z) → r·z (r = relu'(0), 0 by default),
leaky_relu(z, a) → (a + (1 − a)·r)·z, abs(z) → 0, a tie of max(a, b) or min(a, b) → (a + b)/2.
(SymPy's own handling of nested symbolic Piecewise conditions took minutes on these graphs.)

Values out of SymPy expressions are read with ``to_mp`` (80 digits, a walk that shares repeated
sub-expressions; SymPy's evalf(60) took ~1 s on the larger gradients).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from typing import TypeVar
from collections.abc import Callable, Iterable

import mpmath
import sympy as sp

from .randgraph import ARITHMETIC, EXACT_OPS, RandomGraph, fold, kinks_hit, names_in

mp = mpmath.mp
mp.dps = 50
KINK_TOL = mpmath.mpf("1e-40")  # an argument this close to its kink is on it (values are exact rationals there)
EXACT_TOL = mpmath.mpf("1e-40")  # the SymPy oracle, read at 80 digits, where a value is not rational

T = TypeVar("T")


# -- mpmath: the trees at the numbers -----------------------------------------------------------------

MP_OPS = {
    **ARITHMETIC,
    "num": lambda q: mpmath.mpf(q.numerator) / q.denominator,
    "**": lambda a, b: mpmath.power(a, int(b)) if b == int(b) else mpmath.power(a, b),
    "exp": mpmath.exp,
    "log": lambda x, b=None: mpmath.log(x) if b is None else mpmath.log(x) / mpmath.log(b),
    "log10": lambda x: mpmath.log(x) / mpmath.log(10),
    "sqrt": mpmath.sqrt,
    "abs": abs,
    "max": max,
    "min": min,
    "relu": lambda z: z if z > 0 else mpmath.mpf(0),
    "leaky_relu": lambda z, a: z if z > 0 else a * z,
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
    "tanh": mpmath.tanh,
    "choose": lambda y, *p: p[int(y) - 1],
}


def mp_values(g: RandomGraph, overrides: dict | None = None) -> dict:
    """Every name's value with mpmath (a name in ``overrides`` takes that value instead)."""
    overrides = overrides or {}
    env = {name: overrides.get(name, MP_OPS["num"](v)) for name, v in g.given.items()}
    for name, tree in g.nodes.items():
        env[name] = overrides[name] if name in overrides else fold(tree, env, MP_OPS)
    return env


def exact_values(g: RandomGraph) -> dict[str, Fraction | None]:
    """Every name's exact value where it is rational (None where the generator cannot tell)."""
    env: dict[str, Fraction | None] = dict(g.given)
    for name, tree in g.nodes.items():
        env[name] = fold(tree, env, EXACT_OPS)
    return env


def ancestors(g: RandomGraph) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {name: set() for name in g.given}
    for name, tree in g.nodes.items():
        parents = names_in(tree)
        out[name] = set(parents).union(*(out[p] for p in parents))
    return out


def kinks_on(g: RandomGraph, values: dict) -> list:
    """The kink sites sitting exactly on their kink at the given numbers."""
    return kinks_hit(g, lambda t: fold(t, values, MP_OPS), KINK_TOL)


def kink_affected(g: RandomGraph, values: dict) -> set[str]:
    """Names whose gradient passes through a kink sitting exactly on it."""
    anc = ancestors(g)
    hit = kinks_on(g, values)
    return set().union(*(anc[site.node] for site in hit)) if hit else set()


# -- the SymPy oracle: our own definitions, not symbackprop's -----------------------------------------

SYMPY_SMOOTH = {
    **ARITHMETIC,
    "exp": sp.exp,
    "log": lambda x, b=None: sp.log(x) if b is None else sp.log(x) / sp.log(b),
    "log10": lambda x: sp.log(x) / sp.log(10),
    "sqrt": lambda x: x ** sp.Rational(1, 2),
    "sigmoid": lambda z: 1 / (1 + sp.exp(-z)),
    "tanh": lambda z: 2 / (1 + sp.exp(-2 * z)) - 1,
}


def composer_ops(relu_at_zero: sp.Rational = sp.S.Zero) -> dict:
    """Operations on pairs (SymPy expression, mpmath value at the given numbers): the branch of
    each kinked function is chosen with the value, the convention's branch on the kink."""

    def on_kink(v) -> bool:
        return abs(v) <= KINK_TOL

    def lift(f_sym, f_mp):
        return lambda *args: (f_sym(*(e for e, _ in args)), f_mp(*(v for _, v in args)))

    def relu(z):
        e, v = z
        return (relu_at_zero * e if on_kink(v) else e if v > 0 else sp.S.Zero), MP_OPS["relu"](v)

    def leaky(z, a):
        (e, v), (ea, va) = z, a
        branch = (ea + (1 - ea) * relu_at_zero) * e if on_kink(v) else e if v > 0 else ea * e
        return branch, MP_OPS["leaky_relu"](v, va)

    def absolute(z):
        e, v = z
        return (sp.S.Zero if on_kink(v) else e if v > 0 else -e), abs(v)

    def extreme(pick):
        def fold_pairs(*args):
            e, v = args[0]
            for e2, v2 in args[1:]:
                if on_kink(v - v2):
                    e = (e + e2) / 2
                elif pick(v2, v) == v2:
                    e, v = e2, v2
            return e, v
        return fold_pairs

    out = {name: lift(f, MP_OPS[name]) for name, f in SYMPY_SMOOTH.items()}
    out.update({
        "num": lambda q: (sp.Rational(q.numerator, q.denominator), MP_OPS["num"](q)),
        "relu": relu,
        "leaky_relu": leaky,
        "abs": absolute,
        "max": extreme(max),
        "min": extreme(min),
        "choose": lambda y, *p: p[int(y[1]) - 1],
    })
    return out


def sym(name: str) -> sp.Symbol:
    # plain symbols: real=True makes SymPy query signs all through diff, 3x slower here
    return sp.Symbol(name)


def compose(g: RandomGraph, values: dict, free: str) -> tuple[sp.Expr, dict]:
    """The loss composed into one expression in which ``free`` (a given name, or a node cut
    out of the graph) is a symbol, and the point: each symbol's mpmath value there.

    Every node that depends on ``free`` is its expression with the nodes before it substituted;
    every name that does not is a constant with respect to ``free`` and stays a symbol with its
    value (that keeps the expressions, and sympy.diff, small)."""
    anc = ancestors(g)
    ops = composer_ops(sp.Rational(g.relu_at_zero.numerator, g.relu_at_zero.denominator))
    env = {name: (sym(name), values[name]) for name in g.given}
    for name, tree in g.nodes.items():
        if name == free or free not in anc[name]:
            env[name] = (sym(name), values[name])
        else:
            env[name] = fold(tree, env, ops)
    return env[g.loss][0], {sym(name): values[name] for name in g.names}


def sympy_gradient(g: RandomGraph, values: dict, exact: dict, name: str) -> sp.Expr | mpmath.mpf:
    """d loss / d name by sympy.diff of the composed loss, at the given numbers: an exact SymPy
    Rational when every value is rational, else an mpmath number (80 digits)."""
    loss, point = compose(g, values, name)
    derivative = sp.diff(loss, sym(name))
    if all(q is not None for q in exact.values()):
        value = derivative.xreplace({sym(n): sp.Rational(q.numerator, q.denominator) for n, q in exact.items()})
        if value.is_Rational:
            return value
    return to_mp(derivative, f"oracle d{g.loss}/d{name}", point)


# -- numbers out of SymPy expressions -----------------------------------------------------------------

class _NotNumeric(Exception):
    pass


_MP_FUNCS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh, sp.Abs: abs,
             sp.sign: mpmath.sign}


def to_mp(value: sp.Expr, what: str, point: dict | None = None) -> mpmath.mpf:
    """A SymPy expression's value at ``point`` (symbol -> mpmath number), with mpmath at 80
    digits (30 more than compared, for cancellation)."""
    memo = dict(point or {})
    with mp.workdps(80):
        try:
            return +_mp(sp.sympify(value), memo)
        except _NotNumeric as exc:
            raise AssertionError(f"{what}: {value} does not evaluate to a number ({exc})") from None


def _mp(e: sp.Basic, memo: dict):
    if e in memo:
        return memo[e]
    if e.is_Rational:
        out = mpmath.mpf(int(e.p)) / int(e.q)
    elif e.is_Float:
        out = mpmath.mpf(e._mpf_)
    elif e is sp.E:
        out = mpmath.e
    elif e.is_Add:
        out = mpmath.fsum(_mp(a, memo) for a in e.args)
    elif e.is_Mul:
        out = mpmath.fprod(_mp(a, memo) for a in e.args)
    elif e.is_Pow:
        base, ex = e.args
        out = mpmath.power(_mp(base, memo), int(ex) if ex.is_Integer else _mp(ex, memo))
    elif e.func in _MP_FUNCS and len(e.args) == 1:
        out = _MP_FUNCS[e.func](_mp(e.args[0], memo))
    elif e.free_symbols:
        raise _NotNumeric(f"no value for {e.free_symbols}")
    else:  # anything else numeric (the engine's own classes, Heaviside, Max...): SymPy's evalf
        v = e.evalf(60)
        if not v.is_Number:
            raise _NotNumeric(f"evalf gives {v}")
        out = mpmath.mpf(v._mpf_) if v.is_Float else mpmath.mpf(int(v.p)) / int(v.q)
    memo[e] = out
    return out


def close(a, b, tol) -> bool:
    return abs(a - b) <= tol * max(1, abs(b))


def mp_text(x) -> str:
    """An mpmath number as an 80-digit string (results cross process boundaries as text)."""
    return mpmath.nstr(x, 80, strip_zeros=False) if isinstance(x, mpmath.mpf) else str(x)


# -- many graphs on the machine's cores -----------------------------------------------------------------

def on_workers(check: Callable[[int], T], seeds: Iterable[int], chunksize: int = 5) -> dict[int, T]:
    """``check(seed)`` for every seed, on 2 processes (ORACLE_WORKERS=1: in this one, for
    debugging); ``check`` returns plain data and catches its own errors."""
    seeds = list(seeds)
    workers = int(os.environ.get("ORACLE_WORKERS", min(2, os.cpu_count() or 1)))
    if workers <= 1:
        return {seed: check(seed) for seed in seeds}
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return dict(zip(seeds, pool.map(check, seeds, chunksize=chunksize)))
