"""Random worksheets (tests/randgraph.py) checked against two independent oracles.

(a) SymPy: the loss is composed from the generator's own expression trees (not from
    symbackprop's parser), with SymPy definitions written here and not taken from
    symbackprop.ops: relu, leaky_relu, abs, max, min as Piecewise; sigmoid as 1/(1 + exp(-z));
    tanh as 2/(1 + exp(-2z)) - 1; log(x, b) as log(x)/log(b); log10 as log(x)/log(10); sqrt
    as x**(1/2). Every given name is a symbol; for the adjoint of an intermediate node, that
    node is cut out of the graph and replaced by a symbol. ``sympy.diff`` differentiates the
    composed loss, and the derivative is then evaluated at the given numbers.

    Each Piecewise condition (z > 0, a >= b, ...) is decided at the given numbers with 50-digit
    mpmath values as the Piecewise is built, so that SymPy keeps only the active branch; away
    from kinks that is the Piecewise's derivative. SymPy's own handling of nested symbolic
    Piecewise conditions (piecewise_fold, simplify_logic, inequality solving) took minutes on
    these graphs and failed on some; with Boolean symbols for the conditions, decided after
    sympy.diff, the file took 2.5 minutes.

    Comparison used: NOT exact. Exact comparison ((a - b).equals(0), simplify) takes seconds
    a graph; instead both sides are evaluated with mpmath at 80 digits (a walk over the SymPy
    expression that shares repeated sub-expressions; SymPy's evalf(60) took ~1 s on the
    larger gradients) and must agree to |a - b| < 1e-40 * max(1, |b|).
(b) mpmath: a central finite difference at mp.dps = 50 with h = 1e-15, computed on the trees
    with mpmath functions (truncation error ~h**2 = 1e-30, rounding ~1e-35), must agree with
    every gradient to 1e-20, relative to max(1, |gradient|).

Kinks: a relu / abs / leaky_relu argument exactly 0, or a max / min whose leading arguments
tie, makes the derivative a convention; the gradients of every name the kinked node depends on
are then left out of (a) and (b) (test_torch.py checks the conventions).
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import mpmath
import pytest
import sympy as sp

from randgraph import RandomGraph, fold, generate, kinks_hit, names_in
from symbackprop.derive import derive
from symbackprop.worksheet import loads

N_GRAPHS = 200
SEEDS = list(range(N_GRAPHS))
mp = mpmath.mp
mp.dps = 50
H = mpmath.mpf("1e-15")
KINK_TOL = mpmath.mpf("1e-40")
EXACT_TOL = mpmath.mpf("1e-40")
FD_TOL = mpmath.mpf("1e-20")


# -- mpmath: the trees at the numbers, and finite differences ---------------------------------------

MP_OPS = {
    "num": lambda q: mpmath.mpf(q.numerator) / q.denominator,
    "neg": lambda a: -a,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
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
}


def mp_values(g: RandomGraph, overrides: dict | None = None) -> dict:
    """Every name's value with mpmath (a name in ``overrides`` takes that value instead)."""
    overrides = overrides or {}
    env = {name: overrides.get(name, MP_OPS["num"](v)) for name, v in g.given.items()}
    for name, tree in g.nodes.items():
        env[name] = overrides[name] if name in overrides else fold(tree, env, MP_OPS)
    return env


def ancestors(g: RandomGraph) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {name: set() for name in g.given}
    for name, tree in g.nodes.items():
        parents = names_in(tree)
        out[name] = set(parents).union(*(out[p] for p in parents))
    return out


def kink_affected(g: RandomGraph, values: dict) -> set[str]:
    """Names whose gradient passes through a kink sitting exactly on it."""
    anc = ancestors(g)
    hit = kinks_hit(g, lambda t: fold(t, values, MP_OPS), KINK_TOL)
    return set().union(*(anc[site.node] for site in hit)) if hit else set()


# -- the SymPy oracle: our own definitions, not symbackprop's ----------------------------------------

SYMPY_SMOOTH = {
    "neg": lambda a: -a,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a ** b,
    "exp": sp.exp,
    "log": lambda x, b=None: sp.log(x) if b is None else sp.log(x) / sp.log(b),
    "log10": lambda x: sp.log(x) / sp.log(10),
    "sqrt": lambda x: x ** sp.Rational(1, 2),
    "sigmoid": lambda z: 1 / (1 + sp.exp(-z)),
    "tanh": lambda z: 2 / (1 + sp.exp(-2 * z)) - 1,
}


class Composer:
    """Folds randgraph trees over pairs (SymPy expression, mpmath value at the given numbers),
    so that each Piecewise condition is known at the point."""

    @staticmethod
    def piecewise(*branches) -> sp.Expr:
        """branches: (expr, holds at the point) pairs; the last one is taken otherwise. Each
        condition is decided at the given numbers (50 digits) as the Piecewise is built, so
        SymPy reduces it to its active branch before sympy.diff: away from a kink that branch
        has the derivative of the Piecewise there."""
        *first, (last, _) = branches
        return sp.Piecewise(*[(e, sp.true if holds else sp.false) for e, holds in first], (last, True))

    def ops(self) -> dict:
        pw = self.piecewise

        def lift(f_sym, f_mp):
            return lambda *args: (f_sym(*(e for e, _ in args)), f_mp(*(v for _, v in args)))

        def pw_max(*args):
            e, v = args[0]
            for e2, v2 in args[1:]:
                e, v = pw((e, v >= v2), (e2, True)), max(v, v2)
            return e, v

        def pw_min(*args):
            e, v = args[0]
            for e2, v2 in args[1:]:
                e, v = pw((e, v <= v2), (e2, True)), min(v, v2)
            return e, v

        out = {name: lift(f, MP_OPS[name]) for name, f in SYMPY_SMOOTH.items()}
        out.update({
            "num": lambda q: (sp.Rational(q.numerator, q.denominator), MP_OPS["num"](q)),
            "relu": lambda z: (pw((z[0], z[1] > 0), (sp.S.Zero, True)), MP_OPS["relu"](z[1])),
            "leaky_relu": lambda z, a: (pw((z[0], z[1] > 0), (a[0] * z[0], True)),
                                        MP_OPS["leaky_relu"](z[1], a[1])),
            "abs": lambda z: (pw((z[0], z[1] >= 0), (-z[0], True)), abs(z[1])),
            "max": pw_max,
            "min": pw_min,
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
    composer = Composer()
    ops = composer.ops()
    env = {name: (sym(name), values[name]) for name in g.given}
    for name, tree in g.nodes.items():
        if name == free or free not in anc[name]:
            env[name] = (sym(name), values[name])
        else:
            env[name] = fold(tree, env, ops)
    return env[g.loss][0], {sym(name): values[name] for name in g.names}


# -- numbers out of SymPy expressions ---------------------------------------------------------------

class _NotNumeric(Exception):
    pass


_MP_FUNCS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh, sp.Abs: abs,
             sp.sign: mpmath.sign}


def to_mp(value: sp.Expr, what: str, point: dict | None = None) -> mpmath.mpf:
    """A SymPy expression's value at ``point`` (symbol -> mpmath number or bool), with mpmath
    at 80 digits (30 more than compared, for cancellation)."""
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


# -- one graph, checked: plain data, so that the 200 graphs can be shared between processes --------

@dataclass
class Report:
    """What one graph gave. Numbers are 80-digit strings; ``error`` is a traceback if the engine
    (or the oracle) raised."""

    seed: int
    error: str | None = None
    skipped: list[str] = field(default_factory=list)  # names whose gradient crosses a kink
    forward: list[tuple[str, str, str]] = field(default_factory=list)  # (name, engine, mpmath)
    diff: list[tuple[str, str, str]] = field(default_factory=list)  # (name, engine, sympy.diff)
    fd: list[tuple[str, str, str]] = field(default_factory=list)  # (name, engine, finite difference)
    dead: list[tuple[str, str]] = field(default_factory=list)  # (name, engine gradient as text)


def _s(x) -> str:
    return mpmath.nstr(x, 80, strip_zeros=False) if isinstance(x, mpmath.mpf) else str(x)


def check(seed: int) -> Report:
    """Derive one random graph and compute both oracles for every name."""
    report = Report(seed)
    try:
        g = generate(seed)
        d = derive(loads(g.text, g.file))
        assert d.loss == g.loss, (d.loss, g.loss)
        values = mp_values(g)
        skip = kink_affected(g, values)
        report.skipped = sorted(skip)
        for name in g.names:
            report.forward.append((name, _s(to_mp(d.forward[name].value, f"{name} value")), _s(values[name])))
        for name in g.names:
            if name in skip:
                continue
            got = _s(to_mp(d.gradient(name), f"engine d{g.loss}/d{name}"))
            loss, point = compose(g, values, name)
            expected = to_mp(sp.diff(loss, sym(name)), f"oracle d{g.loss}/d{name}", point)
            report.diff.append((name, got, _s(expected)))
            up = mp_values(g, {name: values[name] + H})[g.loss]
            down = mp_values(g, {name: values[name] - H})[g.loss]
            report.fd.append((name, got, _s((up - down) / (2 * H))))
        report.dead = [(name, str(d.gradient(name))) for name in g.dead]
    except Exception:  # noqa: BLE001 - reported by the test of this seed
        report.error = traceback.format_exc()
    return report


@functools.lru_cache(maxsize=None)
def reports() -> dict[int, Report]:
    """All 200 graphs, on 2 processes (ORACLE_WORKERS=1: in this one, for debugging)."""
    workers = int(os.environ.get("ORACLE_WORKERS", min(2, os.cpu_count() or 1)))
    if workers <= 1:
        return {seed: check(seed) for seed in SEEDS}
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return dict(zip(SEEDS, pool.map(check, SEEDS, chunksize=5)))


def report_of(seed: int) -> Report:
    report = reports()[seed]
    if report.error:
        pytest.fail(f"seed {seed}:\n{generate(seed).text}\n{report.error}")
    return report


# -- the tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_forward_and_gradients_match_sympy_diff(seed):
    report = report_of(seed)
    for name, got, expected in report.forward:
        assert close(mpmath.mpf(got), mpmath.mpf(expected), EXACT_TOL), (
            f"{name}: engine value {got} != {expected}\n{generate(seed).describe()}")
    for name, got, expected in report.diff:
        assert close(mpmath.mpf(got), mpmath.mpf(expected), EXACT_TOL), (
            f"d/d{name}: engine {got} != sympy.diff {expected}\n{generate(seed).describe()}")
    assert report.diff, "no gradient compared"


@pytest.mark.parametrize("seed", SEEDS)
def test_gradients_match_finite_differences(seed):
    report = report_of(seed)
    for name, got, fd in report.fd:
        assert close(mpmath.mpf(got), mpmath.mpf(fd), FD_TOL), (
            f"d/d{name}: engine {got} != finite difference {fd}\n{generate(seed).describe()}")
    assert report.fd, "no gradient compared"


def test_dead_branches_have_zero_gradient():
    """Nodes the loss does not depend on get an exact zero."""
    dead = [(seed, name, grad) for seed in SEEDS for name, grad in report_of(seed).dead]
    assert all(grad == "0" for _, _, grad in dead), dead
    assert len(dead) >= 5, dead


def _subtrees(tree):
    yield tree
    if tree[0] == "call":
        for a in tree[2]:
            yield from _subtrees(a)
    elif tree[0] == "neg":
        yield from _subtrees(tree[1])
    elif tree[0] not in ("num", "name"):
        yield from _subtrees(tree[1])
        yield from _subtrees(tree[2])


def test_the_random_graphs_cover_what_they_claim():
    """The generator's mix over the 200 graphs: every function, kinks hit (and then skipped),
    shuffled files, shared weights, fan-out, sizes 3 to 12."""
    seen: Counter = Counter()
    sizes = set()
    kinked_graphs = skipped = total = 0
    for seed in SEEDS:
        g = generate(seed)
        skip = report_of(seed).skipped
        sizes.add(len(g.nodes))
        subtrees = [t for tree in g.nodes.values() for t in _subtrees(tree)]
        for t in subtrees:
            if t[0] == "call":
                seen[t[1] + ("/2" if t[1] == "log" and len(t[2]) == 2 else "")] += 1
                if t[1] in ("max", "min"):
                    seen[f"{t[1]}/{len(t[2])}"] += 1
            elif t[0] != "name":
                seen[t[0]] += 1
        seen["graphs with a given base or slope"] += "alpha" in g.given or "base" in g.given
        seen["shuffled"] += g.yaml_order != list(g.nodes)
        seen["decimal"] += any("." in text for text in g.node_text.values())
        seen["shared weight"] += any(sum(w in names_in(t) for t in g.nodes.values()) >= 2
                                     for w in g.given if w.startswith("w"))
        seen["fan-out"] += any(sum(n in names_in(t) for t in g.nodes.values()) >= 2 for n in g.nodes)
        seen["skip"] += any(n in names_in(t) for i, t in enumerate(g.nodes.values())
                            for n in list(g.nodes)[:max(0, i - 2)])
        kinked_graphs += bool(skip)
        skipped += len(skip)
        total += len(g.names)
    assert min(sizes) == 3 and max(sizes) == 12, sizes
    wanted = ["exp", "log", "log/2", "log10", "sqrt", "abs", "max", "min", "max/3", "min/3", "relu",
              "leaky_relu", "sigmoid", "tanh", "+", "-", "*", "/", "**", "neg"]
    for what in wanted + ["graphs with a given base or slope", "shuffled", "decimal", "shared weight",
                          "fan-out", "skip"]:
        assert seen[what] >= 5, (what, seen)
    assert kinked_graphs >= 5, kinked_graphs  # kinks really occur, and are handled
    assert skipped <= total // 5, (skipped, total)  # while most gradients are still checked


def test_generator_is_deterministic():
    assert generate(7).text == generate(7).text
    assert generate(7).kinks == generate(7).kinks
    assert generate(7).text != generate(8).text


def test_oracles_can_fail():
    """The comparison is not vacuous: a wrong gradient (off by 1e-30) is caught by (a)."""
    g = generate(1)
    d = derive(loads(g.text, g.file))
    values = mp_values(g)
    skip = kink_affected(g, values)
    name = next(n for n in g.given if n not in skip)
    loss, point = compose(g, values, name)
    expected = to_mp(sp.diff(loss, sym(name)), "oracle", point)
    assert close(to_mp(d.gradient(name), "engine"), expected, EXACT_TOL)
    assert not close(to_mp(d.gradient(name) + sp.Rational(1, 10**30), "engine"), expected, EXACT_TOL)


# -- regressions: engine bugs found with these graphs ------------------------------------------------

def test_log_of_sigmoid_of_an_irrational_number():
    """Found: log(sigmoid(z)) with z irrational was refused as 'log of the non-positive number'
    (Sigmoid only evaluated at Numbers, and had no positivity)."""
    d = derive(loads("given:\n  x: 2\nnodes:\n  s: sigmoid(log(x))\n  L: log(s)\n", "bug.yaml"))
    # sigmoid(log 2) = 2/3, dL/dx = (1 - s)/x = 1/6
    assert abs(to_mp(d.gradient("x"), "dL/dx") - mpmath.mpf(1) / 6) < EXACT_TOL
    assert abs(to_mp(d.forward["L"].value, "L") - mpmath.log(mpmath.mpf(2) / 3)) < EXACT_TOL


def test_sigmoid_of_an_irrational_number_evaluates():
    """Found: sigmoid(sqrt(2)) stayed symbolic under evalf."""
    d = derive(loads("given:\n  x: 2\nnodes:\n  L: sigmoid(sqrt(x))\n", "bug.yaml"))
    value = d.forward["L"].value.evalf(30)
    assert value.is_Number
    assert abs(value - 1 / (1 + sp.exp(-sp.sqrt(2)))).evalf(30) < 1e-25
