"""Matrix notation: the worksheets in matrices against their scalar twins, the sheet's formulas,
the JSON contract, --expand, and every shape error as one line with exit code 2.

The differential tests (random matrix graphs against the scalar engine and PyTorch) are in
test_matrix_torch.py.
"""
from __future__ import annotations

import json

import pytest
import sympy as sp

from support.cli import run_cli, solve_fails_in_one_line
from support.paths import WORKSHEETS
from support.scalarcheck import assert_scalar_engine_agrees
from symbackprop import solve
from symbackprop.engine.derive import derive
from symbackprop.matrix.derive import derive_matrices
from symbackprop.language.equality import equal
from symbackprop.language.normal import normal
from symbackprop.engine.update import with_updates
from symbackprop.worksheet.read import load, loads

M003 = WORKSHEETS / "003_relu_matrix.yaml"
S003 = WORKSHEETS / "003_relu_numeric.yaml"
L004 = WORKSHEETS / "004_linear_softmax_l2.yaml"
MLP = WORKSHEETS / "004_mlp_classifier.yaml"
R = sp.Rational
LN2 = sp.log(2)


def test_003_in_matrices_equals_003_in_scalars() -> None:
    """The hidden weights of unit j are column j of W1: W1[k, j] is the scalar w_jk."""
    m = with_updates(derive_matrices(load(M003)))
    s = with_updates(derive(load(S003)))
    assert m.values["J"][0, 0] == s.forward["J"].value == R(1, 2)
    gw = m.gradient_matrix("W1")
    for j in (1, 2):
        for k in (1, 2):
            assert gw[k - 1, j - 1] == s.gradient(f"w{j}{k}")
    assert list(m.gradient_matrix("V")) == [s.gradient("v1"), s.gradient("v2")] == [-1, 0]
    after = {p.name: p.after for p in m.updates[0].params}
    scalar_after = {p.name: p.after for p in s.updates[0].params}
    assert after["W1"] == sp.ImmutableMatrix([[scalar_after["w11"], scalar_after["w21"]],
                                              [scalar_after["w12"], scalar_after["w22"]]])
    assert m.updates[0].loss_after == s.updates[0].loss_after == R(6241, 20000)


def test_linear_softmax_l2_by_hand() -> None:
    """Z = X W + b = [[ln 2, 0, 0], [ln 2, ln 2, 0]]: P = [[1/2, 1/4, 1/4], [2/5, 2/5, 1/5]];
    ∂L/∂Z = (P − Y)/2; ∂L/∂W = Xᵀ ∂L/∂Z + λ W; ∂L/∂b = column sums of ∂L/∂Z; ∂L/∂X = ∂L/∂Z Wᵀ."""
    d = derive_matrices(load(L004))
    p = sp.ImmutableMatrix([[R(1, 2), R(1, 4), R(1, 4)], [R(2, 5), R(2, 5), R(1, 5)]])
    y = sp.ImmutableMatrix([[1, 0, 0], [0, 0, 1]])
    x = sp.ImmutableMatrix([[1, 0], [1, 1]])
    w = sp.ImmutableMatrix([[LN2, 0, 0], [0, LN2, 0]])
    assert d.values["P"] == p
    gz = (p - y) / 2
    assert d.gradient_matrix("Z") == gz
    assert d.gradient_matrix("W") == (x.T * gz + w / 10).applyfunc(normal)
    assert d.gradient_matrix("b") == sp.ImmutableMatrix([[R(-1, 20), R(13, 40), R(-11, 40)]])
    assert d.gradient_matrix("X") == (gz * w.T).applyfunc(normal)
    assert equal(d.values["L"][0, 0], (sp.log(2) + sp.log(5)) / 2 + LN2 ** 2 / 10)


def test_mlp_by_hand_and_the_kink() -> None:
    """A = [[1, 3, 1], [2, 0, -3]] has A[2,2] = 0, where relu' = 0: ∂L/∂A[2,2] = 0 although
    ∂L/∂H[2,2] = ln 2 / 10."""
    d = derive_matrices(load(MLP))
    assert d.values["P"] == sp.ImmutableMatrix([[R(1, 5), R(4, 5)], [R(4, 5), R(1, 5)]])
    assert d.gradient_matrix("H")[1, 1] == LN2 / 10 and d.gradient_matrix("A")[1, 1] == 0
    assert d.gradient_matrix("W2") == sp.ImmutableMatrix([[R(-1, 10), R(1, 10)], [R(3, 10), R(-3, 10)],
                                                          [R(1, 10), R(-1, 10)]])
    assert d.gradient_matrix("W1") == sp.ImmutableMatrix([[-LN2 / 10, -LN2 / 10, 0], [3 * LN2 / 10, -LN2 / 5, 0]])
    md = solve(MLP).markdown()
    assert "exactly $0$ at the entry $(2, 2)$" in md


@pytest.mark.parametrize("path", [M003, L004, MLP], ids=lambda p: p.stem)
def test_every_gradient_equals_the_scalar_expansion(path) -> None:
    assert_scalar_engine_agrees(derive_matrices(load(path)))


def test_the_sheet_writes_the_matrix_formulas_with_shapes() -> None:
    md = solve(L004).markdown()
    grad_z = r"\underset{2\times 3}{\frac{\partial L}{\partial Z}}"
    w_formula = r"\underset{2\times 2}{X^{\top}} " + grad_z + r" + \lambda \, \underset{2\times 3}{W}"
    assert r"\frac{\partial L}{\partial W} &= " + w_formula in md
    assert r"\frac{\partial L}{\partial b} &= \mathbf{1}^{\top} \underset{2\times 3}{\frac{\partial L}{\partial Z}}" in md
    assert r"\frac{\partial L}{\partial X} &= " + grad_z + r" \underset{3\times 2}{W^{\top}}" in md
    assert r"= \frac{1}{2} \, \left(\underset{2\times 3}{P} - \underset{2\times 3}{Y}\right)" in md  # softmax + CE
    assert "W$ feeds $Z$ and $L$: its gradient is the sum over both paths" in md
    assert r"\boxed{\begin{bmatrix} - \frac{1}{20} & \frac{13}{40} & - \frac{11}{40} \end{bmatrix}}" in md


def test_expand_writes_one_entry_in_scalars() -> None:
    md = solve(MLP, expand=("W1[2,1]",)).markdown()
    part = md.split("## One entry in scalars")[1]
    assert r"\frac{\partial L}{\partial \left(W_{1}\right)_{21}} &= \frac{\partial L}{\partial A_{11}} \cdot" in part
    assert r"\boxed{\frac{3 \ln\left(2\right)}{10}}" in part  # entry (2, 1) of ∂L/∂W1
    assert "## One entry in scalars" not in solve(MLP).markdown()


def test_json_carries_matrices_as_lists_of_rows() -> None:
    data = json.loads(solve(L004).json())
    assert set(data) >= {"title", "loss", "forward", "gradients", "symbolic"}
    assert data["forward"]["P"] == [["1/2", "1/4", "1/4"], ["2/5", "2/5", "1/5"]]
    assert data["forward"]["lam"] == "1/10" and data["shapes"]["W"] == [2, 3]
    assert data["gradients"]["b"] == [["-1/20", "13/40", "-11/40"]]
    assert data["symbolic"]["gradients"] == {"W": "X.T @ dL/dZ + lam * W", "b": "sum(dL/dZ, axis=0)",
                                             "X": "dL/dZ @ W.T"}
    for row in data["gradients"]["W"]:
        for entry in row:
            assert sp.sympify(entry).is_real  # test-side: the strings read back in SymPy
    update = json.loads(solve(M003).json())["update"]
    assert update == [{"step": 1, "params": {"W1": [["11/10", "-1"], ["0", "1"]], "V": [["11/10"], ["2"]]},
                       "loss": "6241/20000"}]


MISTAKES = {
    "matmul": ("given:\n  X: [[1, 2], [3, 4]]\n  W: [[1, 2, 3]]\nnodes:\n  Z: X @ W\n  L: sum(Z)\n",
               "node 'Z': X @ W: X is 2×2 and W is 1×3, which do not multiply"),
    "broadcast": ("given:\n  X: [[1, 2], [3, 4]]\n  b: [1, 2, 3]\nnodes:\n  L: sum(X + b)\n",
                  "X + b: X is 2×2 and b is 1×3, which do not broadcast"),
    "ragged": ("given:\n  X: [[1, 2], [3]]\nnodes:\n  L: sum(X)\n", "given X: row 2 has 1 entries, row 1 has 2"),
    "loss matrix": ("given:\n  X: [[1, 2]]\nnodes:\n  L: X * 2\n", "the loss 'L' is a 1×2 matrix, not a number"),
    "scalar matmul": ("given:\n  x: 2\nnodes:\n  L: x @ x\n", "'@' needs matrices"),
    "attribute": ("given:\n  X: [[1, 2]]\nnodes:\n  L: sum(X.shape)\n", "'.shape' is not in the language"),
    "entry text": ("given:\n  X: [[1, abc]]\nnodes:\n  L: sum(X)\n", "given X[1,2]: 'abc' is not a number"),
    "empty": ("given:\n  X: []\nnodes:\n  L: sum(X)\n", "given X: expected a list of numbers"),
    "three deep": ("given:\n  X: [[[1]]]\nnodes:\n  L: sum(X)\n", "given X[1,1]: expected a number"),
    "null entry": ("given:\n  X: [[1, null]]\nnodes:\n  L: sum(X)\n", "every entry of a matrix needs a number"),
    "l2 lambda": ("given:\n  X: [[1, 2]]\n  lam: [1, 2]\nnodes:\n  L: l2(X, lam)\n", "lam is 1×2, which is a matrix"),
    "ce shapes": ("given:\n  P: [[1, 2]]\n  Y: [[1]]\nnodes:\n  L: cross_entropy(P, Y)\n",
                  "cross_entropy(P, Y): P is 1×2 and Y is 1×1, which must be the same shape"),
    "ce log": ("given:\n  P: [[0, 1]]\n  Y: [[0, 1]]\nnodes:\n  L: cross_entropy(P, Y)\n", "the probability 0 is not positive"),
    "symbolic": ("given:\n  X: [[1, 2]]\n  a: null\nnodes:\n  L: sum(a * X)\n", "needs every value"),
    "edges": ("given:\n  X: [[1, 2]]\nnodes:\n  L: sum(X)\nedges:\n  'X -> M': 2\n", "edges: not available"),
    "power": ("given:\n  X: [[1, 2]]\nnodes:\n  L: sum(X ** X)\n", "the exponent must be a number"),
    "unknown op": ("given:\n  X: [[1, 2]]\nnodes:\n  L: sum(max(X, X))\n", "max is not available for matrices"),
    "scalar sum": ("given:\n  x: 1\nnodes:\n  L: sum(x)\n", "sum(x) needs matrices"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_matrix_mistakes_are_one_line_exit_2(case, tmp_path) -> None:
    solve_fails_in_one_line(*MISTAKES[case], tmp_path)


@pytest.mark.parametrize("entry, message", [
    ("W1[3,1]", "W1 is 2×3: there is no entry [3,1]"),
    ("Q[1,1]", "'Q' is not a name of the worksheet"),
    ("W1(1,1)", "is not an entry: write NAME[i,j]"),
])
def test_expand_mistakes(entry, message) -> None:
    proc = run_cli("solve", str(MLP), "--expand", entry)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1
    proc = run_cli("solve", str(WORKSHEETS / "001_linear_network.yaml"), "--expand", "w1[1,1]")
    assert proc.returncode == 2 and "for worksheets with matrices" in proc.stderr


def test_matrix_entries_are_exact_from_their_text() -> None:
    d = derive_matrices(loads("given:\n  X: [[0.1, '1/3'], ['log(2)', -2]]\nnodes:\n  L: sum(X)\n"))
    assert d.values["X"] == sp.ImmutableMatrix([[R(1, 10), R(1, 3)], [LN2, -2]])
    assert d.gradient_matrix("X") == sp.ImmutableMatrix.ones(2, 2)
