"""Random worksheets (tests/randgraph.py) rebuilt in PyTorch float64: the forward values and
every gradient (inputs by autograd, intermediate nodes by retain_grad) must agree with the
engine's exact ones to 1e-12, relative.

Conventions at kinks are compared too, not skipped: relu'(0) = 0 (the engine's default and
torch's), abs'(0) = 0 (sign(0); torch's sgn(0)), leaky_relu'(0) = the slope (torch uses the
negative-side slope at 0; the engine a + (1 - a)·H(0) with H(0) = 0). max/min ties are split
by torch and are documented behaviour of the engine: the generator never makes them.
"""
from __future__ import annotations

import functools

import mpmath
import pytest
import sympy as sp

torch = pytest.importorskip("torch", reason="PyTorch is an optional cross-check "
                            "(pip install torch==2.13.0, CPU)")
import torch.nn.functional as F  # noqa: E402

from randgraph import fold, generate, kinks_hit  # noqa: E402
from symbackprop.derive import derive  # noqa: E402
from symbackprop.worksheet import loads  # noqa: E402
from test_oracle import to_mp  # noqa: E402

SEEDS = list(range(1000, 1100))  # not the oracle's seeds: 100 more graphs
RTOL = 1e-12
F64 = torch.float64


def _const(q):
    return torch.tensor(float(q), dtype=F64)


def _leaky(z, a):
    if a.requires_grad:  # a given slope: its gradient is wanted too
        return torch.where(z > 0, z, a * z)
    return F.leaky_relu(z, float(a))


def _fold_pairwise(f):
    return lambda *args: functools.reduce(f, args)


TORCH_OPS = {
    "num": _const,
    "neg": torch.neg,
    "+": torch.add,
    "-": torch.sub,
    "*": torch.mul,
    "/": torch.div,
    "**": torch.pow,
    "exp": torch.exp,
    "log": lambda x, b=None: torch.log(x) if b is None else torch.log(x) / torch.log(b),
    "log10": torch.log10,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "max": _fold_pairwise(torch.maximum),
    "min": _fold_pairwise(torch.minimum),
    "relu": torch.relu,
    "leaky_relu": _leaky,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


def torch_run(g):
    """Forward values and gradients of every name, by autograd."""
    env = {name: torch.tensor(float(v), dtype=F64, requires_grad=True) for name, v in g.given.items()}
    for name, tree in g.nodes.items():
        env[name] = fold(tree, env, TORCH_OPS)
        env[name].retain_grad()
    env[g.loss].backward()
    values = {name: t.item() for name, t in env.items()}
    grads = {name: (0.0 if t.grad is None else t.grad.item()) for name, t in env.items()}
    return values, grads


def agree(got: float, exact: mpmath.mpf) -> bool:
    return abs(mpmath.mpf(got) - exact) <= RTOL * abs(exact) or (exact == 0 and got == 0)


@functools.lru_cache(maxsize=None)
def kinks_on(seed: int) -> tuple[str, ...]:
    """The kink functions sitting exactly on their kink in this graph (relu, abs, leaky_relu)."""
    g = generate(seed)
    from test_oracle import MP_OPS, mp_values

    values = mp_values(g)
    return tuple(site.fn for site in kinks_hit(g, lambda t: fold(t, values, MP_OPS), mpmath.mpf("1e-40")))


@pytest.mark.parametrize("seed", SEEDS)
def test_torch_float64_agrees(seed):
    g = generate(seed)
    d = derive(loads(g.text, g.file))
    values, grads = torch_run(g)
    for name in g.names:
        exact = to_mp(d.forward[name].value, f"{name} value")
        assert agree(values[name], exact), (
            f"{name}: torch {values[name]!r} != engine {exact}\n{g.describe()}")
    for name in g.names:
        exact = to_mp(d.gradient(name), f"d{g.loss}/d{name}")
        assert agree(grads[name], exact), (
            f"d{g.loss}/d{name}: torch {grads[name]!r} != engine {exact} (kinks here: "
            f"{kinks_on(seed)})\n{g.describe()}")


def test_conventions_at_kinks_are_exercised():
    """The 100 graphs put relu, abs and leaky_relu exactly on their kinks often enough for the
    comparison above to check the conventions, and never tie a max or min."""
    hit = [fn for seed in SEEDS for fn in kinks_on(seed)]
    assert hit.count("relu") >= 2 and hit.count("abs") >= 2 and hit.count("leaky_relu") >= 2, hit
    assert "max" not in hit and "min" not in hit, hit


def test_relu_conventions_match_torch_exactly():
    """relu, abs, leaky_relu at 0, directly: the engine's default conventions are torch's."""
    ws = loads(
        "given:\n  x: 0\n  alpha: 0.2\n"
        "nodes:\n  r: relu(x)\n  a: abs(x)\n  k: leaky_relu(x, alpha)\n  c: leaky_relu(x, 0.1)\n"
        "  L: 2*r + 3*a + 5*k + 7*c\n", "kinks.yaml")
    d = derive(ws)
    x = torch.tensor(0.0, dtype=F64, requires_grad=True)
    alpha = torch.tensor(0.2, dtype=F64, requires_grad=True)
    loss = (2 * torch.relu(x) + 3 * torch.abs(x) + 5 * torch.where(x > 0, x, alpha * x)
            + 7 * F.leaky_relu(x, 0.1))
    loss.backward()
    assert x.grad.item() == pytest.approx(5 * 0.2 + 7 * 0.1, rel=1e-15)
    assert float(d.gradient("x")) == pytest.approx(x.grad.item(), rel=1e-15)
    assert d.gradient("x") == sp.Rational(17, 10)  # exact: 5·0.2 + 7·0.1
    assert float(d.gradient("alpha")) == alpha.grad.item() == 0.0
