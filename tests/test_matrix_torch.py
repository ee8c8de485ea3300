"""Differential test of the matrix engine: 150 random matrix worksheets (tests/support/randmatrix.py, seeds
20000 on) solved by ``derive_matrices`` and compared with two independent computations:

- the scalar engine on the same exercise written entry by entry (``scalar_worksheet``), exactly:
  every entry of every name's forward value and of every name's gradient (the given matrices and
  scalars, all of them in ``wrt``, and the nodes) must be equal as exact numbers (``equal``
  cancels the difference; no floats);
- PyTorch's autograd in float64 (CPU) on the generator's own trees (never the YAML): the forward
  value of every name and the gradient of every given name and every node (``retain_grad``) must
  agree with the engine's exact value read at 30 digits, to rtol 1e-12 and atol 1e-12.

relu arguments sit exactly on 0 in some entry of many graphs (the generator aims a bias there);
the engine's relu'(0) = 0 is PyTorch's, and every value before a relu is a dyadic rational, exact
in float64, so PyTorch is on the kink too and is compared there.

The hand-written tests below check the matrix formulas against values worked out by hand.

SYMBACKPROP_MATRIX_GRAPHS=1000 python -m pytest tests/test_matrix_torch.py runs more graphs.
"""
from __future__ import annotations

import functools
import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import pytest
import sympy as sp

from support.oracles import on_workers
from support.randmatrix import MatrixGraph, fold, generate
from symbackprop.engine.derive import derive
from symbackprop.matrix.expand import entry_name, scalar_worksheet
from symbackprop.matrix.derive import MatrixDerivation, derive_matrices
from symbackprop.language.equality import equal
from symbackprop.worksheet.read import loads

try:
    import torch

    torch.set_num_threads(1)  # small matrices: no thread pool, which also keeps the forked workers safe
except ImportError:  # an optional cross-check: pip install torch==2.13.0 (CPU)
    torch = None

N_GRAPHS = int(os.environ.get("SYMBACKPROP_MATRIX_GRAPHS", "150"))
SEEDS = list(range(20_000, 20_000 + N_GRAPHS))
RTOL = ATOL = 1e-12
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is an optional cross-check "
                                 "(pip install torch==2.13.0, CPU)")


def solve(text: str, file: str = "test.yaml") -> MatrixDerivation:
    return derive_matrices(loads(text, file=file))


def same(a: sp.Expr, b: sp.Expr) -> bool:
    """Exact equality, no floats: the same expression, or a difference that expands to 0 (quick
    for polynomials in tanh(1/4), σ(3/2), ...), else ``equal``."""
    return a == b or sp.expand(a - b) == 0 or equal(a, b)


def scalar_names(name: str, shape: tuple[int, int]) -> list[tuple[str, int, int]]:
    """The scalar name of each entry (i, j), from 0, of a name: a 1×1 name keeps its name."""
    if shape == (1, 1):
        return [(name, 0, 0)]
    return [(entry_name(name, i + 1, j + 1), i, j) for i in range(shape[0]) for j in range(shape[1])]


# -- PyTorch ---------------------------------------------------------------------------------------------

def torch_ops() -> dict:
    f64 = torch.float64

    def total(a):
        return a.sum().reshape(1, 1)

    return {
        "num": lambda q: torch.tensor([[float(q)]], dtype=f64),
        "neg": torch.neg, "T": lambda a: a.T, "@": torch.matmul,
        "+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div,
        "**": lambda a, k: a ** k,
        "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp,
        "sum": total,
        "mean": lambda a: a.mean().reshape(1, 1),
        "softmax": lambda z: torch.softmax(z, dim=1),
        "cross_entropy": lambda p, y: -total(y * torch.log(p)) / p.shape[0],
        "mse": lambda z, t: total((t - z) ** 2) / (2 * z.shape[0]),
        "sse": lambda z, t: total((t - z) ** 2),
        "l2": lambda w, lam: lam / 2 * total(w ** 2),
    }


def torch_run(g: MatrixGraph) -> tuple[dict, dict]:
    """Every name's value and gradient (2-D float64 tensors), by autograd on the trees."""
    env = {name: torch.tensor([[float(x) for x in row] for row in m], dtype=torch.float64, requires_grad=True)
           for name, m in g.given.items()}
    ops = torch_ops()
    for name, tree in g.nodes.items():
        env[name] = fold(tree, env, ops)
        env[name].retain_grad()
    env[g.loss].sum().backward()
    grads = {name: (torch.zeros_like(t) if t.grad is None else t.grad) for name, t in env.items()}
    return env, grads


def agree(got: float, exact: float) -> bool:
    return abs(got - exact) <= ATOL + RTOL * abs(exact)


def to_float(x: sp.Expr) -> float:
    v = sp.N(x, 30)
    if not v.is_Float and not v.is_Integer and not v.is_Rational:
        raise ValueError(f"{x} is not a number")
    return float(v)


# -- one graph ---------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one graph gave: the disagreements (empty: all agree) and what was compared."""

    seed: int
    failures: list[str] = field(default_factory=list)
    exact: int = 0  # entries compared exactly with the scalar engine (values and gradients)
    with_torch: int = 0  # entries compared with PyTorch
    relu_zeros: int = 0
    features: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # CPU time: both engines, the comparisons and PyTorch


def check(seed: int) -> Outcome:
    out = Outcome(seed)
    start = time.process_time()
    try:
        text, g = generate(seed)
        out.relu_zeros, out.features = g.relu_zeros, g.features
        d = solve(text, g.file)
        s = derive(scalar_worksheet(d))
        if set(d.wrt) != set(g.given):
            out.failures.append(f"wrt {d.wrt} is not every given name {list(g.given)}")
        for name in g.names:
            value, grad = d.values[name], d.gradient_matrix(name)
            if grad.shape != value.shape:
                out.failures.append(f"d/d{name}: shape {grad.shape}, the value's is {value.shape}")
            for scalar, i, j in scalar_names(name, value.shape):
                out.exact += 2
                if not same(value[i, j], s.forward[scalar].value):
                    out.failures.append(f"{scalar}: matrix value {value[i, j]} != scalar engine "
                                        f"{s.forward[scalar].value}")
                if not same(grad[i, j], s.gradient(scalar)):
                    out.failures.append(f"d/d{scalar}: matrix {grad[i, j]} != scalar engine {s.gradient(scalar)}")
        if torch is not None:
            values, grads = torch_run(g)
            for name in g.names:
                value, grad = d.values[name], d.gradient_matrix(name)
                if tuple(values[name].shape) != value.shape:
                    out.failures.append(f"{name}: torch shape {tuple(values[name].shape)} != {value.shape}")
                    continue
                for i in range(value.rows):
                    for j in range(value.cols):
                        out.with_torch += 2
                        t_value, t_grad = values[name][i, j].item(), grads[name][i, j].item()
                        if not agree(t_value, to_float(value[i, j])):
                            out.failures.append(f"{name}[{i + 1},{j + 1}]: torch {t_value!r} != engine {value[i, j]}")
                        if not agree(t_grad, to_float(grad[i, j])):
                            out.failures.append(f"d/d{name}[{i + 1},{j + 1}]: torch {t_grad!r} != engine "
                                                f"{grad[i, j]} = {to_float(grad[i, j])!r}")
    except Exception:  # noqa: BLE001 - reported by the test
        out.failures.append(traceback.format_exc())
    out.seconds = time.process_time() - start
    return out


@functools.cache
def outcomes() -> dict[int, Outcome]:
    return on_workers(check, SEEDS, chunksize=5)


# -- the random graphs -------------------------------------------------------------------------------------

@pytest.mark.timeout(max(300, N_GRAPHS))
def test_matrix_engine_agrees_with_scalar_engine_and_torch():
    failed = [o for o in outcomes().values() if o.failures]
    report = "\n\n".join(f"seed {o.seed}: " + "\n".join(o.failures[:3]) + "\n" + generate(o.seed)[0]
                         for o in failed[:3])
    assert not failed, f"{len(failed)} of {N_GRAPHS} graphs disagree:\n{report}"


def test_what_the_graphs_contain():
    """Every operation, broadcast and loss occurs; relu sits exactly on 0 in many graphs; names
    fan out; every entry reached both comparisons."""
    runs = outcomes().values()
    seen: Counter = Counter()
    for o in runs:
        seen.update(set(o.features))
    wanted = ("relu", "sigmoid", "tanh", "exp", "square", "scale", "given scalar", "hadamard", "divide", "swish",
              "over_exp", "neg", "bias row", "bias column", "bias scalar", "transpose", "op T", "op -",
              "shared weight", "skip", "fan-out (node)", "fan-out (given)", "sum", "mean", "cross_entropy",
              "softmax node", "softmax inline", "mse", "sse", "l2", "relu aimed at 0")
    for what in wanted:
        assert seen[what] >= N_GRAPHS // 50, (what, seen)
    assert sum(o.relu_zeros > 0 for o in runs) >= N_GRAPHS // 10, "too few relu arguments exactly at 0"
    exact = sum(o.exact for o in runs)
    assert exact >= 20 * N_GRAPHS
    if torch is not None:
        assert sum(o.with_torch for o in runs) == exact


# -- by hand -----------------------------------------------------------------------------------------------

def test_linear_layer_and_sum():
    """Y = X W + b, L = Σ Y with X 3×2, W 2×2, b a 1×2 row broadcast over the 3 rows.

    ∂L/∂Y = 𝟏 (3×2). ∂L/∂W = Xᵀ 𝟏: row k holds the sum of column k of X, 1 + 0 + 3 = 4 and
    2 − 1 + 1 = 2. ∂L/∂b = 𝟏ᵀ 𝟏 = the column sums of ones = [3, 3]. ∂L/∂X = 𝟏 Wᵀ: every row holds
    the row sums of W, 1 + 0 = 1 and 2 + 1 = 3. L = Σ XW + 3 Σ b = 10 + 3 = 13."""
    d = solve("given:\n  X: [[1, 2], [0, -1], [3, 1]]\n  W: [[1, 0], [2, 1]]\n  b: [0, 1]\n"
              "nodes:\n  Y: X @ W + b\n  L: sum(Y)\nloss: L\nwrt: [W, b, X]\n")
    # X W = [[5, 2], [-2, -1], [5, 1]], + b = [[5, 3], [-2, 0], [5, 2]]: the sum is 13
    assert d.values["Y"] == sp.ImmutableMatrix([[5, 3], [-2, 0], [5, 2]])
    assert d.values["L"] == sp.ImmutableMatrix([[13]])
    assert d.gradient_matrix("W") == sp.ImmutableMatrix([[4, 4], [2, 2]])
    assert d.gradient_matrix("b") == sp.ImmutableMatrix([[3, 3]])
    assert d.gradient_matrix("X") == sp.ImmutableMatrix([[1, 3], [1, 3], [1, 3]])
    assert d.gradient_matrix("Y") == sp.ImmutableMatrix.ones(3, 2)


def test_broadcast_biases_get_summed_gradients():
    """Z = X W + c + s with c a 2×1 column (over the columns) and s a scalar (over everything);
    L = Σ (Z ⊙ M) + mean(Z). ∂L/∂Z = M + 1/6 (mean over 2·3 entries); ∂L/∂c = (∂L/∂Z) 𝟏, the row
    sums: 1 + 2 + 0 + 3/6 = 7/2 and −1 + 0 + 3 + 3/6 = 5/2; ∂L/∂s = Σ ∂L/∂Z = 5 + 1 = 6;
    ∂L/∂M = Z."""
    d = solve("given:\n  X: [[1, 0], [2, 1]]\n  W: [[1, 0, 2], [0, 1, -1]]\n  c: [[1], [-1]]\n  s: 1/2\n"
              "  M: [[1, 2, 0], [-1, 0, 3]]\nnodes:\n  Z: X @ W + c + s\n  L: sum(Z * M) + mean(Z)\nloss: L\n")
    z = sp.ImmutableMatrix([[1, 0, 2], [2, 1, 3]]) + sp.ImmutableMatrix([[1] * 3, [-1] * 3]) + sp.Rational(1, 2) * sp.ones(2, 3)
    assert d.values["Z"] == z
    sixth = sp.Rational(1, 6)
    assert d.gradient_matrix("c") == sp.ImmutableMatrix([[3 + 3 * sixth], [2 + 3 * sixth]])
    assert d.gradient_matrix("s") == sp.ImmutableMatrix([[5 + 1]])
    assert d.gradient_matrix("M") == z
    assert d.gradient_matrix("Z") == sp.ImmutableMatrix([[1, 2, 0], [-1, 0, 3]]) + sixth * sp.ones(2, 3)


def test_mse_sse_and_l2():
    """mse(Z, T) = 1/(2N) Σ (T − Z)²: ∂/∂Z = (Z − T)/N, ∂/∂T = (T − Z)/N; sse: 2(Z − T), no N;
    l2(W, λ) = λ/2 Σ W²: ∂/∂W = λW and ∂/∂λ = ½ Σ W². Here N = 2, Z − T = [[1, −2], [1/2, 0]]
    and Σ W² = 1 + 4 + 9/4 = 29/4 with λ = 1/10."""
    d = solve("given:\n  Z: [[1, 0], [1, 3]]\n  T: [[0, 2], [1/2, 3]]\n  W: [1, -2, 3/2]\n  lam: 0.1\n"
              "nodes:\n  A: mse(Z, T)\n  B: sse(Z, T)\n  C: l2(W, lam)\n  L: A + B + C\nloss: L\n")
    diff = sp.ImmutableMatrix([[1, -2], [sp.Rational(1, 2), 0]])
    # mse = (1 + 4 + 1/4)/4 = 21/16, sse = 21/4, l2 = 29/80
    assert d.values["L"][0, 0] == sp.Rational(21, 16) + sp.Rational(21, 4) + sp.Rational(29, 80)
    assert d.gradient_matrix("Z") == diff / 2 + 2 * diff
    assert d.gradient_matrix("T") == -(diff / 2 + 2 * diff)
    assert d.gradient_matrix("W") == sp.ImmutableMatrix([[sp.Rational(1, 10), sp.Rational(-2, 10), sp.Rational(3, 20)]])
    assert d.gradient_matrix("lam") == sp.ImmutableMatrix([[sp.Rational(29, 8)]])


@pytest.mark.parametrize("inline", [False, True])
def test_softmax_cross_entropy_gradient_is_p_minus_y_over_n(inline):
    """L = cross_entropy(softmax(Z), Y), N = 2 rows, Y one-hot: ∂L/∂Z = (P − Y)/N, checked with
    ``equal`` against P read from the engine's own forward value (softmax written as a node of its
    own, and inline, which the engine takes as one step). Row 2 of Z is constant, so P's row 2 is
    exactly [1/3, 1/3, 1/3] and ∂L/∂Z's row 2 is [1/6, −1/3, 1/6]. With P a node,
    ∂L/∂P = −Y ⊘ P / N: −(1/2)·3 = −3/2 where Y is 1 in row 2."""
    loss = "cross_entropy(softmax(Z), Y)" if inline else "cross_entropy(P, Y)"
    d = solve("given:\n  Z: [[1, 0, -1], [2, 2, 2]]\n  Y: [[1, 0, 0], [0, 1, 0]]\n"
              f"nodes:\n  P: softmax(Z)\n  L: {loss}\nloss: L\nwrt: [Z, Y]\n")
    p = d.values["P"]
    y = sp.ImmutableMatrix([[1, 0, 0], [0, 1, 0]])
    assert list(p[1, :]) == [sp.Rational(1, 3)] * 3
    g = d.gradient_matrix("Z")
    for i in range(2):
        for j in range(3):
            assert equal(g[i, j], (p[i, j] - y[i, j]) / 2), (i, j, g[i, j])
    assert list(g[1, :]) == [sp.Rational(1, 6), sp.Rational(-1, 3), sp.Rational(1, 6)]
    assert equal(d.values["L"][0, 0], -(sp.log(p[0, 0]) + sp.log(sp.Rational(1, 3))) / 2)
    # ∂L/∂Y = −log P / N, entry by entry
    assert equal(d.gradient_matrix("Y")[1, 0], sp.log(3) / 2)
    if not inline:
        assert d.gradient_matrix("P")[1, 1] == sp.Rational(-3, 2)
        assert d.gradient_matrix("P")[0, 1] == 0


def test_one_step_softmax_cross_entropy_with_soft_labels():
    """Rows of Y that sum to 1 without being one-hot (label smoothing): the one step (P − Y)/N
    taken for cross_entropy(softmax(Z), Y) equals the chain through a softmax node, exactly."""
    given = "given:\n  Z: [[1, 0, -1], [0, 2, 1/2]]\n  Y: [[1/2, 1/2, 0], [1/4, 0, 3/4]]\n"
    inline = solve(given + "nodes:\n  L: cross_entropy(softmax(Z), Y)\nloss: L\n")
    chained = solve(given + "nodes:\n  P: softmax(Z)\n  L: cross_entropy(P, Y)\nloss: L\n")
    for name in ("Z", "Y"):
        a, b = inline.gradient_matrix(name), chained.gradient_matrix(name)
        assert all(equal(a[k], b[k]) for k in range(len(a))), name


@needs_torch
def test_relu_at_zero_is_torchs_convention():
    """Z = X W + b with Z[1,2] exactly 0 (X W = [[1, 2], ...], b = [0, −2]): relu'(0) = 0 as in
    torch.relu, so ∂L/∂b = column sums of 𝟏[Z > 0] = [2, 1] for L = Σ relu(Z), and the same in torch."""
    d = solve("given:\n  X: [[1, 0], [0, 1]]\n  W: [[1, 2], [3, 4]]\n  b: [0, -2]\n"
              "nodes:\n  Z: X @ W + b\n  L: sum(relu(Z))\nloss: L\n")
    assert d.values["Z"] == sp.ImmutableMatrix([[1, 0], [3, 2]])
    assert d.gradient_matrix("b") == sp.ImmutableMatrix([[2, 1]])
    assert d.gradient_matrix("W") == sp.ImmutableMatrix([[1, 0], [1, 1]])
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[0.0, -2.0]], dtype=torch.float64, requires_grad=True)
    torch.relu(x @ w + b).sum().backward()
    assert b.grad.tolist() == [[2.0, 1.0]] and w.grad.tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_the_comparisons_can_fail():
    """Not vacuous: ``equal`` tells a gradient from one off by 10⁻³⁰, and ``agree`` a float off
    by 10⁻¹⁰ relative."""
    text, g = generate(20_000)
    d = solve(text, g.file)
    name = next(n for n in g.given if d.gradient_matrix(n) != sp.zeros(*d.values[n].shape))
    grad = d.gradient_matrix(name)
    i, j = next((i, j) for i in range(grad.rows) for j in range(grad.cols) if grad[i, j] != 0)
    off = grad[i, j] + sp.Rational(1, 10 ** 30)
    assert equal(grad[i, j], grad[i, j]) and not equal(grad[i, j], off)
    assert same(grad[i, j], grad[i, j]) and not same(grad[i, j], off)
    x = to_float(grad[i, j])
    assert agree(x, x) and not agree(x * (1 + 1e-10) + 1e-11, x)


# -- a known defect (strict: fails loudly once fixed, so that the workaround in same() can go) ----------

def test_equal_on_a_square_of_a_sum():
    """(1/2 + e)² and its expansion e² + e + 1/4 are the same number (SymPy's cancel can leave an
    unevaluated -1/4 + 1/4, which ``equal`` asks is_zero)."""
    a = (sp.Rational(1, 2) + sp.E) ** 2
    assert equal(a, sp.expand(a))



def test_softmax_cross_entropy_with_rows_of_y_not_summing_to_1():
    """The one step (P − Y)/N holds only when each row of Y sums to 1; Y = [[1, 1]] at Z = 0 has
    P = [1/2, 1/2] and ∂L/∂Z = (P · rowsum(Y) − Y)/N = 0, as the scalar engine says."""
    d = solve("given:\n  Z: [[0, 0]]\n  Y: [[1, 1]]\nnodes:\n  L: cross_entropy(softmax(Z), Y)\n")
    assert d.gradient_matrix("Z") == sp.ImmutableMatrix([[0, 0]])


def test_powers_written_as_expressions():
    """A ** -1, A ** (1/2) and A ** -0.5 at A = [1, 2]: −1/A² + 1/(2√A) − 1/(2 A^1.5)."""
    d = solve("given:\n  A: [[1, 2]]\nnodes:\n  L: sum(A ** -1 + A ** (1/2) + A ** -0.5)\n")
    assert d.gradient_matrix("A") == sp.ImmutableMatrix([[-1, sp.Rational(-1, 4) + sp.sqrt(2) / 8]])
