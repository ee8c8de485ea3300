"""Random worksheets (tests/support/randgraph.py) checked against two independent oracles (tests/support/oracles.py).

(a) SymPy: ``sympy.diff`` of the loss composed from the generator's own expression trees (not
    from symbackprop's parser), with SymPy definitions written in tests/support/oracles.py, evaluated
    at the given numbers. Every given name is a symbol; for the adjoint of an intermediate node,
    that node is cut out of the graph and replaced by a symbol. On a kink the oracle writes the
    stated convention's branch, so kinks are compared too. Where every value of the graph is
    rational the comparison is exact (SymPy Rationals, ``==``); elsewhere both sides are read at
    80 digits and must agree to |a - b| < 1e-40 * max(1, |b|) (an exact comparison of
    transcendental expressions, (a - b).equals(0) or simplify, takes seconds a graph).
(b) mpmath: a central finite difference at mp.dps = 50 with h = 1e-15, computed on the trees
    with mpmath functions (truncation error ~h**2 = 1e-30, rounding ~1e-35), must agree with
    every gradient to 1e-20, relative to max(1, |gradient|). A difference is meaningless across
    a kink: the names whose gradient passes through a kink sitting exactly on it are left out
    of (b) (they are in (a), and tests/test_torch.py compares the conventions with PyTorch).

200 graphs of 3 to 12 nodes (seeds 0-199); tests/test_torch.py runs 1,000 more, smaller ones.
"""
from __future__ import annotations

import functools
import traceback
from collections import Counter
from dataclasses import dataclass, field

import mpmath
import pytest
import sympy as sp

from support.oracles import (EXACT_TOL, close, compose, exact_values, kink_affected, mp_text, mp_values,
                             on_workers, sym, sympy_gradient, to_mp)
from support.randgraph import CENSUS_WANTED, census, generate
from symbackprop.engine.derive import derive
from symbackprop.worksheet.read import loads

N_GRAPHS = 200
SEEDS = list(range(N_GRAPHS))
H = mpmath.mpf("1e-15")
FD_TOL = mpmath.mpf("1e-20")


# -- one graph, checked: plain data, so that the 200 graphs can be shared between processes --------

@dataclass
class Report:
    """What one graph gave. Numbers are 80-digit strings; ``error`` is a traceback if the engine
    (or the oracle) raised."""

    seed: int
    error: str | None = None
    skipped: list[str] = field(default_factory=list)  # names whose gradient crosses a kink (not in fd)
    forward: list[tuple[str, str, str]] = field(default_factory=list)  # (name, engine, mpmath)
    diff: list[tuple[str, str, str]] = field(default_factory=list)  # (name, engine, sympy.diff)
    exact: int = 0  # gradients compared exactly, as rationals
    fd: list[tuple[str, str, str]] = field(default_factory=list)  # (name, engine, finite difference)
    dead: list[tuple[str, str]] = field(default_factory=list)  # (name, engine gradient as text)


def check(seed: int) -> Report:
    """Derive one random graph and compute both oracles for every name."""
    report = Report(seed)
    try:
        g = generate(seed)
        d = derive(loads(g.text, g.file))
        assert d.loss == g.loss, (d.loss, g.loss)
        values = mp_values(g)
        exact = exact_values(g)
        skip = kink_affected(g, values)
        report.skipped = sorted(skip)
        for name in g.names:
            report.forward.append((name, mp_text(to_mp(d.forward[name].value, f"{name} value")),
                                   mp_text(values[name])))
        for name in g.names:
            got = d.gradient(name)
            expected = sympy_gradient(g, values, exact, name)
            if isinstance(expected, sp.Rational):
                report.exact += 1
                assert got == expected, f"d/d{name}: engine {got} != sympy.diff {expected} (exactly)"
            report.diff.append((name, mp_text(to_mp(got, f"engine d{g.loss}/d{name}")), mp_text(expected)))
            if name in skip or name in g.indices:  # a difference across a kink, or of an index
                continue
            up = mp_values(g, {name: values[name] + H})[g.loss]
            down = mp_values(g, {name: values[name] - H})[g.loss]
            report.fd.append((name, report.diff[-1][1], mp_text((up - down) / (2 * H))))
        report.dead = [(name, str(d.gradient(name))) for name in g.dead]
    except Exception:  # noqa: BLE001 - reported by the test of this seed
        report.error = traceback.format_exc()
    return report


@functools.cache
def reports() -> dict[int, Report]:
    """All 200 graphs, on 2 processes."""
    return on_workers(check, SEEDS)


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


def test_the_random_graphs_cover_what_they_claim():
    """The generator's mix over the 200 graphs: every function, kinks hit (and then left out of
    the finite differences), shuffled files, shared weights, fan-out, sizes 3 to 12."""
    seen: Counter = Counter()
    sizes = set()
    kinked_graphs = skipped = total = 0
    for seed in SEEDS:
        g = generate(seed)
        skip = report_of(seed).skipped
        sizes.add(len(g.nodes))
        seen.update(census(g))
        kinked_graphs += bool(skip)
        skipped += len(skip)
        total += len(g.names)
    assert min(sizes) == 3 and max(sizes) == 12, sizes
    for what in CENSUS_WANTED:
        assert seen[what] >= 5, (what, seen)
    assert kinked_graphs >= 5, kinked_graphs  # kinks really occur, and are handled
    assert sum(report_of(seed).exact for seed in SEEDS) >= 100  # rational graphs compared exactly
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
