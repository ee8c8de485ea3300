"""Differential test: 1,000 random worksheets (tests/support/randgraph.py, 3 to 7 nodes, seeds 10000 on)
solved by the engine and by two independent implementations, which must agree on every forward
value and every gradient:

- PyTorch's autograd in float64 (CPU): values and gradients to 1e-12, relative (inputs by
  autograd, intermediate nodes by retain_grad);
- ``sympy.diff`` of the composed loss (tests/support/oracles.py): exactly, as rationals, for every graph
  whose values are all rational (every third graph keeps to rational operations; others are so
  by chance), else to 1e-40 read at 80 digits.

Kinks are compared, not skipped: the generator aims relu, abs and leaky_relu arguments at 0 and
makes max / min of two arguments tie exactly. The engine's conventions are PyTorch's there:
relu'(0) = 0, abs'(0) = 0 (torch's sgn(0)), leaky_relu'(0) = the negative slope, a tie of two
in max / min splits the gradient ½ and ½ (torch.maximum, torch.minimum), and max / min of three
or more arguments is folded in the written order as torch.maximum folds it (¼, ¼, ½ at a tie of
three; its own test below).

SYMBACKPROP_GRAPHS=10000 python -m pytest tests/test_torch.py runs more graphs.
"""
from __future__ import annotations

import functools
import os
import traceback
from collections import Counter
from dataclasses import dataclass, field

import mpmath
import pytest
import sympy as sp

from support.oracles import (EXACT_TOL, MP_OPS, ancestors, close, exact_values, kinks_on, mp_values, on_workers,
                             sympy_gradient, to_mp)
from support.randgraph import CENSUS_WANTED, census, fold, generate
from symbackprop.engine.derive import derive
from symbackprop.worksheet.read import loads

try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)  # scalars: no thread pool, which also keeps the forked workers safe
except ImportError:  # an optional cross-check: pip install torch==2.13.0 (CPU)
    torch = None

N_GRAPHS = int(os.environ.get("SYMBACKPROP_GRAPHS", "1000"))
SEEDS = list(range(10_000, 10_000 + N_GRAPHS))
MAX_NODES = 7
RTOL = 1e-12
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is an optional cross-check "
                                 "(pip install torch==2.13.0, CPU)")


def graph(seed: int):
    return generate(seed, max_nodes=MAX_NODES, rational=seed % 3 == 0)


# -- PyTorch ------------------------------------------------------------------------------------------

def torch_ops() -> dict:
    f64 = torch.float64

    def leaky(z, a):
        if a.requires_grad:  # a given slope: its gradient is wanted too
            return torch.where(z > 0, z, a * z)
        return F.leaky_relu(z, float(a))

    def pairwise(f):
        return lambda *args: functools.reduce(f, args)

    return {
        "num": lambda q: torch.tensor(float(q), dtype=f64),
        "neg": torch.neg, "+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "**": torch.pow,
        "exp": torch.exp,
        "log": lambda x, b=None: torch.log(x) if b is None else torch.log(x) / torch.log(b),
        "log10": torch.log10, "sqrt": torch.sqrt, "abs": torch.abs,
        "max": pairwise(torch.maximum), "min": pairwise(torch.minimum),
        "relu": torch.relu, "leaky_relu": leaky, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
        "choose": lambda y, *p: torch.clone(p[round(y.item()) - 1]),  # a node of its own
    }


def torch_run(g) -> tuple[dict[str, float], dict[str, float], dict]:
    """Forward values and gradients of every name, by autograd; and the tensors."""
    ops = torch_ops()
    env = {name: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for name, v in g.given.items()}
    for name, tree in g.nodes.items():
        env[name] = fold(tree, env, ops)
        if env[name].requires_grad:
            env[name].retain_grad()
    env[g.loss].backward()
    values = {name: t.item() for name, t in env.items()}
    grads = {name: (0.0 if t.grad is None else t.grad.item()) for name, t in env.items()}
    return values, grads, env


def off_kink_in_float64(site, env) -> bool:
    """A kink that is exact in rationals but that float64 misses (2.5 - 2.4 != 0.1): PyTorch
    then takes one side, and says nothing of the convention."""
    with torch.no_grad():
        args = [fold(a, env, torch_ops()).item() for a in site.args]
    if site.fn in ("relu", "abs", "leaky_relu"):
        return args[0] != 0.0
    lead = sorted(args, reverse=site.fn == "max")
    return lead[0] != lead[1]


def agree(got: float, exact: mpmath.mpf) -> bool:
    return abs(mpmath.mpf(got) - exact) <= RTOL * abs(exact) or (exact == 0 and got == 0)


# -- one graph -------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one graph gave: the disagreements found (empty: all agree) and what was compared."""

    seed: int
    failures: list[str] = field(default_factory=list)
    compared: int = 0  # gradients compared with sympy.diff
    exact: int = 0  # of which exactly, as rationals
    with_torch: int = 0  # values and gradients compared with PyTorch
    kinks: list[str] = field(default_factory=list)  # the functions sitting on their kink
    torch_kinks: list[str] = field(default_factory=list)  # of which on their kink in float64 too
    census: dict = field(default_factory=dict)


def check(seed: int) -> Outcome:
    out = Outcome(seed)
    try:
        g = graph(seed)
        out.census = census(g)
        d = derive(loads(g.text, g.file))
        values, exact = mp_values(g), exact_values(g)
        hit = kinks_on(g, values)
        out.kinks = [site.fn for site in hit]
        t_values, t_grads, env = torch_run(g) if torch is not None else ({}, {}, {})
        if torch is not None:
            anc = ancestors(g)
            missed = [site for site in hit if off_kink_in_float64(site, env)]
            out.torch_kinks = [site.fn for site in hit if site not in missed]
            for site in missed:  # float64 is off the kink: torch's gradient there is another one
                for name in anc[site.node]:
                    t_grads.pop(name, None)
        for name in g.names:
            value = d.forward[name].value
            if exact[name] is not None and value != sp.Rational(exact[name].numerator, exact[name].denominator):
                out.failures.append(f"{name}: engine value {value} != {exact[name]}")
            engine = to_mp(value, f"{name} value")
            if not close(engine, values[name], EXACT_TOL):
                out.failures.append(f"{name}: engine value {engine} != mpmath {values[name]}")
            if name in t_values and not agree(t_values[name], engine):
                out.failures.append(f"{name}: torch value {t_values[name]!r} != engine {engine}")
        for name in g.names:
            got = d.gradient(name)
            expected = sympy_gradient(g, values, exact, name)
            out.compared += 1
            if isinstance(expected, sp.Rational):
                out.exact += 1
                if got != expected:
                    out.failures.append(f"d/d{name}: engine {got} != sympy.diff {expected} (exactly)")
            engine = to_mp(got, f"engine d{g.loss}/d{name}")
            if not isinstance(expected, sp.Rational) and not close(engine, expected, EXACT_TOL):
                out.failures.append(f"d/d{name}: engine {engine} != sympy.diff {expected}")
            if name in t_grads:
                out.with_torch += 1
                if not agree(t_grads[name], engine):
                    out.failures.append(f"d/d{name}: torch {t_grads[name]!r} != engine {engine} "
                                        f"(kinks here: {out.kinks})")
    except Exception:  # noqa: BLE001 - reported by the test
        out.failures.append(traceback.format_exc())
    return out


@functools.cache
def outcomes() -> dict[int, Outcome]:
    return on_workers(check, SEEDS, chunksize=20)


# -- the tests -------------------------------------------------------------------------------------------

@pytest.mark.timeout(max(300, N_GRAPHS // 2))
def test_engine_agrees_with_torch_and_sympy_diff():
    failed = [o for o in outcomes().values() if o.failures]
    report = "\n\n".join(f"seed {o.seed}: " + "\n".join(o.failures[:3]) + "\n" + graph(o.seed).text
                         for o in failed[:3])
    assert not failed, f"{len(failed)} of {N_GRAPHS} graphs disagree:\n{report}"


def test_what_the_graphs_compare():
    """Every operation and structure occurs, kinks of every kind are hit (and compared), most
    gradients are compared exactly, and every value and gradient reaches PyTorch."""
    runs = outcomes().values()
    seen: Counter = Counter()
    kinks: Counter = Counter()
    for o in runs:
        seen.update(o.census)
        kinks.update(o.kinks)
    for what in CENSUS_WANTED:
        assert seen[what] >= N_GRAPHS // 200, (what, seen)
    for fn in ("relu", "abs", "leaky_relu", "max", "min"):
        assert kinks[fn] >= N_GRAPHS // 100, (fn, kinks)
    compared = sum(o.compared for o in runs)
    assert sum(o.exact for o in runs) >= compared // 3, "too few exact comparisons"
    if torch is not None:
        torch_kinks = Counter(fn for o in runs for fn in o.torch_kinks)
        for fn in ("relu", "abs", "leaky_relu", "max", "min"):  # conventions compared with PyTorch
            assert torch_kinks[fn] >= N_GRAPHS // 200, (fn, torch_kinks)
        assert sum(o.with_torch for o in runs) >= 0.95 * compared


def test_relu_on_both_sides_of_its_kink():
    """relu's argument is positive, negative and exactly 0 in the graphs compared."""
    sides: Counter = Counter()
    for seed in SEEDS[:300]:
        g = graph(seed)
        values = mp_values(g)
        for site in g.kinks:
            if site.fn == "relu":
                v = fold(site.args[0], values, MP_OPS)
                sides["0" if abs(v) < mpmath.mpf("1e-40") else "+" if v > 0 else "-"] += 1
    assert min(sides["+"], sides["-"], sides["0"]) >= 10, sides


@needs_torch
def test_conventions_at_kinks_are_torchs():
    """relu, abs, leaky_relu at 0 and a tie of two in max / min, directly."""
    ws = loads(
        "given:\n  x: 0\n  alpha: 0.2\n  a: 1\n  b: 1\n  c: 0\n"
        "nodes:\n  r: relu(x)\n  s: abs(x)\n  k: leaky_relu(x, alpha)\n  q: leaky_relu(x, 0.1)\n"
        "  m: max(a, b)\n  p: max(a, b, c)\n"
        "  L: 2*r + 3*s + 5*k + 7*q + 11*m + 13*p\n", "kinks.yaml")
    d = derive(ws)
    x, alpha, a, b, c = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.0, 0.2, 1.0, 1.0, 0.0))
    loss = (2 * torch.relu(x) + 3 * torch.abs(x) + 5 * torch.where(x > 0, x, alpha * x) + 7 * F.leaky_relu(x, 0.1)
            + 11 * torch.maximum(a, b) + 13 * torch.maximum(torch.maximum(a, b), c))
    loss.backward()
    assert d.gradient("x") == sp.Rational(17, 10)  # exact: 5·0.2 + 7·0.1
    for name, t in (("x", x), ("alpha", alpha), ("a", a), ("b", b), ("c", c)):
        assert float(d.gradient(name)) == pytest.approx(t.grad.item(), rel=1e-15, abs=1e-300), name
    assert d.gradient("a") == d.gradient("b") == sp.Rational(12)  # 11/2 + 13/2


@needs_torch
def test_a_tie_of_three_is_split_as_torch_folds_it():
    """max / min of three or more arguments is folded in the written order, max(max(a, b), c), as
    torch.maximum folds it: at a tie of three the gradients are ¼, ¼ and ½ and sum to 1
    (SymPy's n-ary Max would give each ½). torch.amax splits ⅓ each: a convention of its own."""
    d = derive(loads("given: {a: 1, b: 1, c: 1}\nnodes:\n  L: max(a, b, c)\n  M: min(a, b, c)\n"
                     "  S: L + 2*M\nloss: S\n", "tie.yaml"))
    assert [d.gradient(n) for n in "abc"] == [sp.Rational(3, 4), sp.Rational(3, 4), sp.Rational(3, 2)]
    a, b, c = (torch.tensor(1.0, dtype=torch.float64, requires_grad=True) for _ in range(3))
    (torch.maximum(torch.maximum(a, b), c) + 2 * torch.minimum(torch.minimum(a, b), c)).backward()
    assert [t.grad.item() for t in (a, b, c)] == [0.75, 0.75, 1.5]


def test_the_comparison_can_fail():
    """Not vacuous: a gradient off by 1e-30 fails the sympy.diff comparison, and off by 1e-10
    (relative) fails the PyTorch one."""
    g = graph(SEEDS[1])
    d = derive(loads(g.text, g.file))
    values, exact = mp_values(g), exact_values(g)
    name = g.names[0]
    expected = sympy_gradient(g, values, exact, name)
    engine = to_mp(d.gradient(name), "engine")
    assert close(engine, to_mp(expected, "oracle"), EXACT_TOL)
    assert not close(engine + mpmath.mpf("1e-30"), to_mp(expected, "oracle"), EXACT_TOL)
    assert agree(float(engine), engine) and not agree(float(engine) * (1 + 1e-10) + 1e-300, engine)
