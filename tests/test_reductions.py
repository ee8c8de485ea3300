"""sum and mean along an axis and the element-wise square root in matrix notation: the parser, the
forward values (against NumPy on exact fractions), the gradients of batch and layer normalization
(against the closed form of the batch-norm gradient, PyTorch's own batch_norm and layer_norm, and
the scalar engine entry by entry) and the sheet that writes them."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from support.cli import solve_fails_in_one_line
from support.paths import WORKSHEETS
from support.scalarcheck import assert_scalar_engine_agrees
from symbackprop import solve
from symbackprop.errors import ExpressionError
from symbackprop.language import expr as E
from symbackprop.language.equality import equal
from symbackprop.matrix.derive import derive_matrices
from symbackprop.matrix.expand import expand_entries
from symbackprop.matrix.matops import MATRIX_OPS, Operand
from symbackprop.matrix.mexpr import Const, Grad, Leaf, MExpr, Ones, Op, value
from symbackprop.worksheet.read import load, loads

try:
    import torch
except ImportError:  # an optional cross-check: pip install torch (CPU)
    torch = None

BN = WORKSHEETS / "006_batchnorm_matrix.yaml"
LN = WORKSHEETS / "006_layernorm_matrix.yaml"
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is an optional cross-check")


# -- the parser ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["sum(X, axis=0)", "sum(X, axis=1)", "mean(X, axis=0)", "mean(X - mean(X, axis=1), axis=1)",
                                  "sum(X)", "mean(X ** 2, axis=0) ** (1 / 2)", "sqrt(mean(X, axis=0) + 1)"])
def test_the_axis_forms_print_back_as_written(text) -> None:
    tree = E.parse(text)
    assert E.text(tree) == text
    assert E.parse(E.text(tree)) == tree and hash(tree) == hash(E.parse(text))


def test_each_axis_is_its_own_operation() -> None:
    trees = {E.parse(t) for t in ("sum(X)", "sum(X, axis=0)", "sum(X, axis=1)", "mean(X, axis=0)", "mean(X, axis=1)")}
    assert len(trees) == 5


@pytest.mark.parametrize("text, message", [
    ("sum(X, axis=2)", "sum(X, axis=2): axis must be 0 or 1"),
    ("mean(X, axis=-1)", "mean(X, axis=-1): axis must be 0 or 1"),
    ("sum(X, axis=True)", "axis must be 0 or 1"),
    ("sum(X, axis=0.0)", "axis must be 0 or 1"),
    ("sum(X, axis=k)", "axis must be 0 or 1"),
    ("sum(X, ax=0)", "sum(X, ax=0): write sum(A), sum(A, axis=0) or sum(A, axis=1)"),
    ("mean(X, Y, axis=0)", "write mean(A), mean(A, axis=0) or mean(A, axis=1)"),
    ("sum(axis=0)", "write sum(A)"),
    ("exp(X, axis=0)", "exp: only plain arguments are allowed"),
    ("softmax(X, axis=1)", "softmax: only plain arguments are allowed"),
    ("sum(X, **k)", "sum: only plain arguments are allowed"),
])
def test_the_parser_refuses_other_keywords(text, message) -> None:
    with pytest.raises(ExpressionError, match="^") as info:
        E.parse(text)
    assert message in str(info.value)


def test_the_internal_names_cannot_be_written() -> None:
    with pytest.raises(ExpressionError):
        E.parse("sum(axis=0)(X)")
    with pytest.raises(ExpressionError, match="unknown function") as info:
        E.parse("total(X)")
    assert "axis=" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("given:\n  x: 2\nnodes:\n  L: sum(x, axis=0)\n", "sum(x, axis=0) needs matrices"),
    ("given:\n  x: 2\nnodes:\n  L: mean(x, axis=1)\n", "mean(x, axis=1) needs matrices"),
    ("given:\n  X: [[1, 2]]\nnodes:\n  L: sum(X, axis=3)\n", "sum(X, axis=3): axis must be 0 or 1"),
    ("given:\n  X: [[1, -2]]\nnodes:\n  L: sum(sqrt(X))\n", "square root of the negative number -2"),
])
def test_mistakes_are_one_line_exit_2(text, message, tmp_path) -> None:
    solve_fails_in_one_line(text, message, tmp_path)


# -- forward values -----------------------------------------------------------------------------------------

A = [[1, "2/3", -4], [0, "1/2", 5]]


def as_numpy(rows: list) -> np.ndarray:
    return np.array([[Fraction(str(x)) for x in row] for row in rows], dtype=object)


def test_forward_values_equal_numpy_on_fractions() -> None:
    nodes = {"s0": "sum(A, axis=0)", "s1": "sum(A, axis=1)", "m0": "mean(A, axis=0)", "m1": "mean(A, axis=1)",
             "r": "sqrt(A * A + 9)", "h": "(A * A + 9) ** (1/2)", "c": "A - mean(A, axis=1)"}
    text = "given:\n  A: " + str(A).replace("'", '"') + "\nnodes:\n" + "".join(f"  {n}: {t}\n" for n, t in nodes.items())
    d = derive_matrices(loads(text + "  L: sum(s0) + sum(s1) + sum(m0) + sum(m1) + sum(r) + sum(h) + sum(c)\n"))
    a = as_numpy(A)
    expected = {"s0": a.sum(axis=0, keepdims=True), "s1": a.sum(axis=1, keepdims=True),
                "m0": a.sum(axis=0, keepdims=True) / 2, "m1": a.sum(axis=1, keepdims=True) / 3,
                "c": a - a.sum(axis=1, keepdims=True) / 3}
    for name, want in expected.items():
        got = d.values[name]
        assert got.shape == want.shape and all(sp.Rational(w.numerator, w.denominator) == g
                                               for w, g in zip(want.flatten(), got)), name
    roots = [sp.sqrt(sp.Rational(str(x)) ** 2 + 9) for row in A for x in row]
    assert list(d.values["r"]) == list(d.values["h"]) == roots
    assert d.values["r"][0, 0] == sp.sqrt(10) and d.values["r"][1, 0] == 3  # exact, not a float


def test_sqrt_and_the_half_power_give_one_over_twice_the_root() -> None:
    """∂/∂a Σ sqrt(a) = 1/(2√a), entry by entry, as sympy.diff says."""
    x = sp.Symbol("x", positive=True)
    for form in ("sqrt(A)", "A ** (1/2)"):
        d = derive_matrices(loads(f"given:\n  A: [[4, 2], [\"9/4\", 3]]\nnodes:\n  L: sum({form})\n"))
        for a, g in zip(d.values["A"], d.gradient_matrix("A")):
            assert equal(g, sp.diff(sp.sqrt(x), x).subs(x, a)), (form, a, g)
    assert d.gradient_matrix("A")[0, 0] == sp.Rational(1, 4)


def test_a_reduction_to_one_number_and_along_a_single_line() -> None:
    """sum(·, axis=0) of a column is the loss itself; mean(·, axis=1) of a column changes nothing."""
    d = derive_matrices(loads("given:\n  X: [[1, 2], [3, -1], [0, 2]]\n  w: [[2], [-1]]\nnodes:\n"
                              "  z: mean(X @ w, axis=1) ** 2\n  L: sum(z, axis=0)\n"))
    x, w = sp.Matrix([[1, 2], [3, -1], [0, 2]]), sp.Matrix([[2], [-1]])
    assert d.values["L"][0, 0] == sum(v ** 2 for v in x * w) == 49 + 0 + 4
    assert d.gradient_matrix("w") == 2 * x.T * (x * w)
    assert_scalar_engine_agrees(d)


# -- batch normalization --------------------------------------------------------------------------------------

def given(path, name: str) -> sp.Matrix:
    g = next(g for g in load(path).given if g.name == name)
    return sp.Matrix(g.value) if isinstance(g.value, sp.MatrixBase) else sp.Matrix([[g.value]])


def test_batchnorm_gradient_equals_the_closed_form() -> None:
    """∂L/∂X = (1/N) γ σ⁻¹ (N ∂L/∂Y − Σ ∂L/∂Y − X̂ Σ(∂L/∂Y ⊙ X̂)), column by column, with
    everything recomputed here from the given numbers."""
    d = derive_matrices(load(BN))
    x, gamma, beta, dy = given(BN, "X"), given(BN, "gamma"), given(BN, "beta"), given(BN, "G")
    eps = given(BN, "eps")[0, 0]
    n = x.rows
    for j in range(x.cols):
        col = x[:, j]
        mu = sum(col) / n
        sigma = sp.sqrt(sum((v - mu) ** 2 for v in col) / n + eps)
        xhat = (col - mu * sp.ones(n, 1)) / sigma
        g = dy[:, j]
        closed = gamma[j] / (n * sigma) * (n * g - sum(g) * sp.ones(n, 1) - xhat * sum(g.multiply_elementwise(xhat)))
        assert d.gradient_matrix("X")[:, j] == closed, j
        assert d.gradient_matrix("gamma")[0, j] == sum(g.multiply_elementwise(xhat))
        assert d.gradient_matrix("beta")[0, j] == sum(g)
        assert d.values["Y"][:, j] == gamma[j] * xhat + beta[j] * sp.ones(n, 1)
    assert all(v.is_Rational for v in d.gradient_matrix("X"))  # the numbers were chosen so


def tensor(m: sp.Matrix, grad: bool = False):
    return torch.tensor([[float(v) for v in m.row(i)] for i in range(m.rows)], dtype=torch.float64, requires_grad=grad)


def close(exact: sp.Matrix, t) -> bool:
    return np.allclose(np.array(exact.evalf(30), dtype=float), t.detach().numpy(), rtol=1e-12, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("path", [BN, LN], ids=["batch_norm", "layer_norm"])
def test_normalization_equals_pytorch(path) -> None:
    """PyTorch's own F.batch_norm (training: the batch's biased variance) and F.layer_norm, float64."""
    d = derive_matrices(load(path))
    x, gamma, beta, g = (tensor(given(path, n), grad=True) for n in ("X", "gamma", "beta", "G"))
    eps = float(given(path, "eps")[0, 0])
    if path == BN:
        y = torch.nn.functional.batch_norm(x, None, None, gamma[0], beta[0], training=True, eps=eps)
    else:
        y = torch.nn.functional.layer_norm(x, (x.shape[1],), gamma[0], beta[0], eps=eps)
    loss = (y * g).sum()
    loss.backward()
    assert close(d.values["Y"], y) and close(d.values["L"], loss.reshape(1, 1))
    for name, t in (("X", x), ("gamma", gamma), ("beta", beta)):
        assert close(d.gradient_matrix(name), t.grad), name


@pytest.mark.parametrize("path", [BN, LN], ids=["batch_norm", "layer_norm"])
def test_normalization_equals_the_scalar_engine(path) -> None:
    assert_scalar_engine_agrees(derive_matrices(load(path)))


def test_expand_one_entry_of_the_batchnorm_gradient() -> None:
    d = derive_matrices(load(BN))
    x = expand_entries(d, ("X[1,1]", "X[3,2]"))
    assert x.derivation.gradient("X_1_1") == d.gradient_matrix("X")[0, 0] == sp.Rational(-2, 3)
    assert x.derivation.gradient("X_3_2") == d.gradient_matrix("X")[2, 1]
    md = solve(BN, expand=("X[1,1]",)).markdown().split("## One entry in scalars")[1]
    assert r"\frac{\partial}{\partial X_{11}}\left(\frac{X_{11} + X_{21} + X_{31}}{3}\right) = \frac{1}{3}" in md


# -- the backward rules ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("op, expected", [
    ("sum(axis=0)", lambda g, a: sp.ones(a.rows, 1) * g),
    ("sum(axis=1)", lambda g, a: g * sp.ones(1, a.cols)),
    ("mean(axis=0)", lambda g, a: sp.ones(a.rows, 1) * g / a.rows),
    ("mean(axis=1)", lambda g, a: g * sp.ones(1, a.cols) / a.cols),
])
def test_the_upstream_is_broadcast_back(op, expected) -> None:
    """The rule at numbers, and the same rule built on a symbolic shape N×D (1/N, the ones of N)."""
    a = sp.ImmutableMatrix([[1, 2, 3], [4, 5, 6]])
    rule = MATRIX_OPS[op]
    out = rule.forward(None, a)
    g = sp.ImmutableMatrix(out.rows, out.cols, [7, -1, 2][:out.rows * out.cols])
    (f,) = rule.backward(None, Grad("Y"), Leaf("Y"), Operand(Leaf("A"), a.shape))
    assert value(f, {"A": a, "Y": out}, {"Y": g}, None) == expected(g, a)
    n, k = sp.symbols("N D", integer=True, positive=True)
    (symbolic,) = rule.backward(None, Grad("Y"), Leaf("Y"), Operand(Leaf("A"), (n, k)))
    count = n if op.endswith("0)") else k
    parts = walk(symbolic)
    assert (Const(sp.S.One / count) in parts) == op.startswith("mean")
    assert Ones((count, 1)) in parts


def walk(f: MExpr) -> list[MExpr]:
    return [f] + [y for x in (f.args if isinstance(f, Op) else ()) for y in walk(x)]


# -- the sheet --------------------------------------------------------------------------------------------------

def test_the_sheet_writes_the_reductions() -> None:
    solution = solve(BN)
    md, tex, js = solution.markdown(), solution.render("tex"), solution.render("json")
    for text in (md, tex):
        assert r"\underset{1\times 2}{\mu} &= \frac{1}{3} \, \mathbf{1}_{3}^{\top} \underset{3\times 2}{X}" in text
        assert r"\oslash \sqrt{\underset{1\times 2}{\sigma^{2}} + \varepsilon}" in text
        # ∂L/∂X: the upstream of μ broadcast over the three rows, 𝟏 (3×1) times ∂L/∂μ (1×2), over N
        assert (r"\frac{\partial L}{\partial X} &= \frac{1}{3} \, \underset{3\times 1}{\mathbf{1}} \, "
                r"\underset{1\times 2}{\frac{\partial L}{\partial \mu}} + ") in text
        # the square root's derivative 1/(2√·)
        assert r"\oslash \left(2 \, \underset{1\times 2}{\sqrt{\sigma^{2} + \varepsilon}}\right)" in text
    assert '"X": "(1/3) * (ones(3, 1) @ dL/dmu) + dL/dXc"' in js
    ln = solve(LN).markdown()
    assert r"\underset{2\times 1}{\mu} &= \frac{1}{3} \, \underset{2\times 3}{X} \, \mathbf{1}_{3}" in ln
    assert r"\underset{2\times 1}{\frac{\partial L}{\partial \mu}} \, \underset{3\times 1}{\mathbf{1}}^{\top}" in ln
