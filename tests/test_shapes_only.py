"""Shapes-only worksheets: matrices declared by their shapes (``X: {shape: [N, D_in]}``), solved with
symbolic dimensions.

The key test turns random numeric matrix worksheets (tests/support/randmatrix.py) into shapes-only
ones, binds each dimension to a random size and each given name to a random float array, and
evaluates the JSON's NumPy formulas (text the program wrote, evaluated here in the test only)
against PyTorch's autograd on the generator's own trees.
"""
from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

from support.cli import run_cli, solve_fails_in_one_line
from support.paths import WORKSHEETS
from support.randmatrix import MatrixGraph, fold, generate, shape
from symbackprop import solve
from symbackprop.errors import SymbackpropError

torch = pytest.importorskip("torch")
from test_matrix_torch import torch_ops  # noqa: E402  (the same PyTorch operations as the numeric engine's test)

LAYER = WORKSHEETS / "004_linear_layer_shapes.yaml"
TWO_LAYER = WORKSHEETS / "003_two_layer_relu_mse_shapes.yaml"
SEEDS = range(31_000, 31_040)


def numpy_names() -> dict:
    """The functions the NumPy notation uses, as docs/matrices.md defines them."""
    return {"sum": lambda a, axis=None: np.sum(a, axis=axis, keepdims=True), "exp": np.exp, "log": np.log,
            "step": lambda a: (np.asarray(a) > 0).astype(float), "__builtins__": {}}


def evaluate(formula: str, names: dict) -> np.ndarray:
    return np.asarray(eval(formula, numpy_names(), dict(names)), dtype=float)  # the program's own text, in a test


def dimensions(data: dict) -> list[str]:
    """The dimension names of a JSON's shapes, in order."""
    return list(dict.fromkeys(d for dims in data["shapes"].values() for d in dims if isinstance(d, str)))


# -- the worksheets ------------------------------------------------------------------------------
def test_linear_layer_sheet_writes_shapes_and_the_shape_check() -> None:
    md = solve(LAYER).markdown()
    din, dout = r"D_{\mathrm{in}}", r"D_{\mathrm{out}}"
    assert rf"\underset{{N\times {dout}}}{{Z}} &= \underset{{N\times {din}}}{{X}} \, \underset{{{din}\times {dout}}}{{W}}" \
        rf" + \underset{{1\times {dout}}}{{b}}" in md
    grad_z = rf"\underset{{N\times {dout}}}{{\frac{{\partial L}}{{\partial Z}}}}"
    assert rf"\frac{{\partial L}}{{\partial W}} &= \underset{{{din}\times N}}{{X^{{\top}}}} {grad_z} + \lambda \, " \
        rf"\underset{{{din}\times {dout}}}{{W}}" in md
    assert rf"$X^{{\top}}$ is ${din} \times N$ and $\frac{{\partial L}}{{\partial Z}}$ is $N \times {dout}$, so the " \
        rf"product is ${din} \times {dout}$, the shape of $W$." in md
    assert "$W$ feeds $Z$ and $L$: its gradient is the sum over both paths." in md
    assert rf"&= \frac{{1}}{{N}} \, \left(\underset{{N\times {dout}}}{{P}} - \underset{{N\times {dout}}}{{Y}}\right)" in md
    assert "every row of $Y$ sums to $1$ (a one-hot or probability target)" in md
    assert r"\frac{\partial L}{\partial W} &= \frac{1}{N} \, X^{\top} \, \left(P - Y\right) + \lambda \, W" in md
    tex = solve(LAYER).latex()
    assert r"\begin{document}" in tex and rf"\underset{{{din}\times N}}{{X^{{\top}}}}" in tex
    upstream = solve(LAYER, notation="upstream").markdown()
    assert r"g_{W} &= \underset{D_{\mathrm{in}}\times N}{X^{\top}} \underset{N\times D_{\mathrm{out}}}{g_{Z}}" in upstream


def test_linear_layer_json() -> None:
    data = json.loads(solve(LAYER).json())
    assert data["shapes"]["X"] == ["N", "D_in"] and data["shapes"]["b"] == [1, "D_out"]
    assert data["shapes"]["lam"] == [1, 1] and dimensions(data) == ["N", "D_in", "D_out"]
    assert data["gradients"] == {"W": "X.T @ (P - Y) / N + lam * W", "b": "sum((P - Y) / N, axis=0)",
                                 "X": "(P - Y) @ W.T / N"}
    assert data["symbolic"]["gradients"] == {"W": "X.T @ dL/dZ + lam * W", "b": "sum(dL/dZ, axis=0)",
                                             "X": "dL/dZ @ W.T"}


@pytest.mark.parametrize("path", [LAYER, TWO_LAYER], ids=lambda p: p.stem)
def test_worksheet_formulas_equal_autograd(path) -> None:
    """The worksheets' formulas at random sizes and numbers, against PyTorch."""
    data = json.loads(solve(path).json())
    rng = np.random.default_rng(7)
    sizes = {d: int(rng.integers(2, 5)) for d in dimensions(data)}
    inputs = {}
    for name, dims in data["shapes"].items():
        if name in data["forward"]:
            continue
        rows, cols = (sizes.get(d, d) for d in dims)
        inputs[name] = np.eye(cols)[rng.integers(0, cols, rows)] if name == "Y" else rng.normal(size=(rows, cols))
    tensors = {n: torch.tensor(v, requires_grad=True) for n, v in inputs.items()}
    ops = torch_ops()
    env = dict(tensors)
    nodes = {"Z": lambda e: e["X"] @ e["W"] + e["b"], "P": lambda e: ops["softmax"](e["Z"]),
             "L": lambda e: ops["cross_entropy"](e["P"], e["Y"]) + ops["l2"](e["W"], e["lam"]),
             "H": lambda e: torch.relu(e["X"] @ e["W1"] + e["b1"]), "J": lambda e: ops["mse"](e["Z"], e["T"])}
    if path == TWO_LAYER:
        nodes["Z"] = lambda e: e["H"] @ e["W2"] + e["b2"]
    for name in data["forward"]:
        env[name] = nodes[name](env)
    env[data["loss"]].sum().backward()
    names = dict(inputs) | sizes | {n: env[n].detach().numpy() for n in data["forward"]}
    for name, formula in data["forward"].items():
        assert np.allclose(evaluate(formula, names), names[name], rtol=1e-10, atol=1e-12), name
    for name, formula in data["gradients"].items():
        got = evaluate(formula, names)
        assert got.shape == tensors[name].grad.shape and np.allclose(got, tensors[name].grad.numpy(), 1e-10, 1e-12), name


def test_cs231n_two_layer_net_equals_the_assignment_loss_under_autograd() -> None:
    """worksheets/007: every JSON gradient, evaluated by NumPy at N, D, M, C = 5, 4, 3, 2 and
    random numbers, equals PyTorch's gradient of the assignment's loss as its code computes it
    (softmax loss averaged over N, plus reg * (sum W1² + sum W2²))."""
    data = json.loads(solve(WORKSHEETS / "007_cs231n_two_layer_shapes.yaml").json())
    rng = np.random.default_rng(231)
    sizes = {"N": 5, "D": 4, "M": 3, "C": 2}
    labels = rng.integers(0, sizes["C"], sizes["N"])
    inputs = {"X": rng.normal(size=(5, 4)), "W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=(1, 3)),
              "W2": rng.normal(size=(3, 2)), "b2": rng.normal(size=(1, 2)), "Y": np.eye(2)[labels],
              "reg": np.array([[0.05]])}
    t = {n: torch.tensor(v, requires_grad=True) for n, v in inputs.items()}
    hidden = torch.relu(t["X"] @ t["W1"] + t["b1"])
    scores = hidden @ t["W2"] + t["b2"]
    loss = torch.nn.functional.cross_entropy(scores, torch.tensor(labels)) \
        + t["reg"][0, 0] * ((t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
    loss.backward()
    names = dict(inputs) | sizes
    for node, formula in data["forward"].items():
        names[node] = evaluate(formula, names)
    assert np.isclose(names["L"].item(), loss.item(), rtol=1e-12)
    for name, formula in data["gradients"].items():
        assert np.allclose(evaluate(formula, names), t[name].grad.numpy(), rtol=1e-10, atol=1e-12), name


# -- random worksheets ---------------------------------------------------------------------------
def shapes_only(g: MatrixGraph, rng: random.Random) -> tuple[str, dict[int, str | int]]:
    """The worksheet with each given matrix declared by its shape: a dimension of a size other than
    1 named by its size (so that the dimensions that must agree share a name), or written as the
    number for some sizes; scalars symbolic; Y, one-hot, declared so or not."""
    sizes = sorted({d for m in g.given.values() for d in shape(m)} - {1})
    dims: dict[int, str | int] = {1: 1} | {v: (f"d{v}" if rng.random() < 0.75 else v) for v in sizes}
    lines = ["given:"]
    for name, m in g.given.items():
        if name in g.scalars:
            lines.append(f"  {name}: ~")
            continue
        rows, cols = shape(m)
        flag = ", one_hot: true" if name == "Y" and rng.random() < 0.6 else ""
        lines.append(f"  {name}: {{shape: [{dims[rows]}, {dims[cols]}]{flag}}}")
    return "\n".join(lines) + "\n" + g.text[g.text.index("nodes:"):], dims


def torch_values(g: MatrixGraph, inputs: dict[str, np.ndarray]) -> tuple[dict, dict]:
    env = {n: torch.tensor(v, requires_grad=True) for n, v in inputs.items()}
    ops = torch_ops()
    for name, tree in g.nodes.items():
        env[name] = fold(tree, env, ops)
        env[name].retain_grad()
    env[g.loss].sum().backward()
    return ({n: t.detach().numpy() for n, t in env.items()},
            {n: (np.zeros(t.shape) if t.grad is None else t.grad.numpy()) for n, t in env.items()})


def random_inputs(g: MatrixGraph, dims: dict[int, str | int], sizes: dict[str, int],
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for name, m in g.given.items():
        rows, cols = (sizes.get(dims[d], d) for d in shape(m))
        if name == "Y":
            out[name] = np.eye(cols)[rng.integers(0, cols, rows)]
        elif name.startswith("D"):  # a divisor: away from 0
            out[name] = rng.choice([-1.0, 1.0], size=(rows, cols)) * rng.uniform(0.5, 1.5, size=(rows, cols))
        else:
            out[name] = rng.uniform(-1, 1, size=(rows, cols))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_random_shapes_only_formulas_equal_autograd(seed, tmp_path) -> None:
    _, g = generate(seed)
    text, dims = shapes_only(g, random.Random(seed))
    data = json.loads(solve(text).json())
    sizes = {d: 2 + (seed + i) % 3 for i, d in enumerate(dimensions(data))}
    rng = np.random.default_rng(seed)
    inputs = random_inputs(g, dims, sizes, rng)
    values, grads = torch_values(g, inputs)
    names = dict(inputs) | sizes | {n: values[n] for n in g.nodes}
    for name, formula in data["forward"].items():
        assert np.allclose(evaluate(formula, names), values[name], rtol=1e-9, atol=1e-11), (name, formula)
    assert set(data["gradients"]) == set(g.given)
    for name, formula in data["gradients"].items():
        got = evaluate(formula, names)
        want = grads[name]
        assert got.ndim == 0 or got.shape == want.shape, (name, formula, got.shape, want.shape)
        assert np.allclose(got, want, rtol=1e-9, atol=1e-11), (seed, name, formula, text)


def test_the_random_worksheets_cover_every_operation() -> None:
    seen: set[str] = set()
    fused = general = 0
    for seed in SEEDS:
        _, g = generate(seed)
        seen |= set(g.features)
        text, _ = shapes_only(g, random.Random(seed))
        if "cross_entropy" in g.features:
            fused += "one_hot" in text
            general += "one_hot" not in text
    ops = {"relu", "sigmoid", "tanh", "exp", "square", "scale", "hadamard", "divide", "neg", "swish", "over_exp",
           "sum", "mean", "cross_entropy", "mse", "sse", "l2", "skip", "bias row", "bias column", "bias scalar",
           "transpose", "shared weight", "fan-out (node)", "fan-out (given)", "softmax node", "softmax inline"}
    assert ops <= seen, ops - seen
    assert fused and general


def test_the_comparison_can_fail() -> None:
    """A formula off by one sign is caught."""
    data = json.loads(solve(LAYER).json())
    wrong = data["gradients"]["W"].replace("+ lam", "- lam")
    rng = np.random.default_rng(1)
    names = {"X": rng.normal(size=(3, 2)), "P": rng.uniform(size=(3, 4)), "Y": np.eye(4)[[0, 1, 3]],
             "W": rng.normal(size=(2, 4)), "lam": np.array([[0.3]]), "N": 3}
    assert not np.allclose(evaluate(wrong, names), evaluate(data["gradients"]["W"], names))


def test_soft_targets_use_the_general_rule() -> None:
    """Without one_hot the logits get the general rule, right for targets whose rows do not sum to 1."""
    text = LAYER.read_text().replace(", one_hot: true", "")
    solution = solve(text)
    assert "not declared one-hot" in solution.markdown()
    data = json.loads(solution.json())
    assert "(P - Y) / N" not in data["gradients"]["W"]
    rng = np.random.default_rng(3)
    x, w, b, y = rng.normal(size=(3, 2)), rng.normal(size=(2, 4)), rng.normal(size=(1, 4)), rng.uniform(size=(3, 4))
    t = {k: torch.tensor(v, requires_grad=True) for k, v in {"X": x, "W": w, "b": b, "Y": y, "lam": [[0.5]]}.items()}
    z = t["X"] @ t["W"] + t["b"]
    p = torch.softmax(z, dim=1)
    (-(t["Y"] * torch.log(p)).sum() / 3 + t["lam"] / 2 * (t["W"] ** 2).sum()).sum().backward()
    names = {k: v.detach().numpy() for k, v in t.items()} | {"Z": z.detach().numpy(), "P": p.detach().numpy(),
                                                             "N": 3, "D_in": 2, "D_out": 4}
    assert np.allclose(evaluate(data["gradients"]["W"], names), t["W"].grad.numpy(), 1e-10, 1e-12)


# -- mistakes ------------------------------------------------------------------------------------
HEAD = "given:\n  X: {shape: [N, D_in]}\n"
MISTAKES = {
    "matmul": (HEAD + "  W: {shape: [D_out, D_in]}\nnodes:\n  Z: X @ W\n  L: sum(Z)\n",
               ":5: node 'Z': X @ W: X is N×D_in and W is D_out×D_in, which do not multiply: D_in ≠ D_out"),
    "matmul number": (HEAD + "  W: {shape: [3, D]}\nnodes:\n  L: sum(X @ W)\n",
                      ":5: node 'L': X @ W: X is N×D_in and W is 3×D, which do not multiply: D_in ≠ 3"),
    "broadcast": (HEAD + "  b: {shape: [1, D]}\nnodes:\n  L: sum(X + b)\n",
                  "X + b: X is N×D_in and b is 1×D, which do not broadcast"),
    "mixed": (HEAD + "  W: [[1, 2], [3, 4]]\nnodes:\n  L: sum(X @ W)\n",
              ":3: given W: a matrix with numbers in a worksheet whose matrices are declared by their shapes"),
    "mixed scalar": (HEAD + "  lam: 1/10\nnodes:\n  L: lam * sum(X)\n", ":3: given lam: a scalar with numbers"),
    "unknown key": ("given:\n  X: {shape: [N, D], onehot: true}\nnodes:\n  L: sum(X)\n",
                    ":2: given X: unknown key 'onehot'"),
    "zero dim": ("given:\n  X: {shape: [0, D]}\nnodes:\n  L: sum(X)\n", ":2: given X: '0' is not a dimension"),
    "bad dim": ("given:\n  X: {shape: [N, 2D]}\nnodes:\n  L: sum(X)\n", ":2: given X: '2D' is not a dimension"),
    "three dims": ("given:\n  X: {shape: [N, D, K]}\nnodes:\n  L: sum(X)\n", ":2: given X: expected shape: [rows, columns]"),
    "one_hot": ("given:\n  X: {shape: [N, D], one_hot: 1}\nnodes:\n  L: sum(X)\n", "one_hot: expected true or false"),
    "dim is a name": ("given:\n  X: {shape: [N, W]}\n  W: {shape: [W, N]}\nnodes:\n  L: sum(X @ W)\n",
                      "the dimension 'W' is also the name of a value"),
    "loss matrix": (HEAD + "nodes:\n  L: X * 2\n", "the loss 'L' is a N×D_in matrix, not a number"),
    "update": (HEAD + "nodes:\n  L: sum(X)\nupdate: {lr: 1, params: [X]}\n", "update: not available in a shapes-only"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_mistakes_are_one_line_exit_2(case, tmp_path) -> None:
    solve_fails_in_one_line(*MISTAKES[case], tmp_path)


def test_expand_is_refused() -> None:
    with pytest.raises(SymbackpropError, match="declares its matrices by their shapes"):
        solve(LAYER, expand=("W[1,1]",))


def test_output_is_deterministic() -> None:
    first = solve(TWO_LAYER)
    again = solve(TWO_LAYER.read_text())
    assert first.json() == again.json() and first.markdown() == again.markdown()
    assert re.search(r"step\(X @ W1 \+ b1\)", first.json())


def test_axis_sums_means_and_sqrt_equal_autograd() -> None:
    """sum and mean along an axis, sqrt, and matrices of ones of shapes no name has."""
    text = ("given:\n  X: {shape: [N, D]}\n  W: {shape: [D, K]}\nnodes:\n  Z: X @ W\n  M: Z - mean(Z, axis=0)\n"
            "  S: sqrt(sum(M ** 2, axis=1) + 1)\n  L: sum(M / S) + mean(Z, axis=1).T @ sum(Z, axis=1)\nloss: L\n")
    data = json.loads(solve(text).json())
    rng = np.random.default_rng(5)
    x, w = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True), torch.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    z = x @ w
    m = z - z.mean(dim=0, keepdim=True)
    s = torch.sqrt((m ** 2).sum(dim=1, keepdim=True) + 1)
    ((m / s).sum() + z.mean(dim=1, keepdim=True).T @ z.sum(dim=1, keepdim=True)).sum().backward()
    names = {"X": x.detach().numpy(), "W": w.detach().numpy(), "N": 4, "D": 3, "K": 2}
    for node in data["forward"]:
        names[node] = evaluate(data["forward"][node], names)
    assert np.allclose(names["S"], s.detach().numpy(), 1e-12)
    assert np.allclose(evaluate(data["gradients"]["X"], names), x.grad.numpy(), 1e-10, 1e-12)
    assert np.allclose(evaluate(data["gradients"]["W"], names), w.grad.numpy(), 1e-10, 1e-12)


SHAPES_NOTES = r"""
$$\frac{\partial L}{\partial Z} = \frac{1}{N}(P - Y)$$
$$\frac{\partial L}{\partial W} = X^T \frac{\partial L}{\partial Z} + \lambda W$$
$$\frac{\partial L}{\partial b} = \sum_i \frac{\partial L}{\partial Z}$$
$$\frac{\partial L}{\partial X} = W^T \frac{\partial L}{\partial Z}$$
$$\frac{\partial L}{\partial X} = \frac{\partial L}{\partial Z} W^T$$
$$\frac{\partial L}{\partial W} = X^T \frac{\partial L}{\partial Z}$$
"""


def test_check_judges_formulas_at_numbers_drawn_for_the_shapes(tmp_path) -> None:
    """A derivation in formulas alone, against the worksheet in shapes: each line is judged at
    numbers drawn for the shapes (distinct sizes, so a product in the wrong order cannot fit)."""
    notes = tmp_path / "notes.md"
    notes.write_text(SHAPES_NOTES, encoding="utf-8")
    proc = run_cli("check", str(LAYER), str(notes), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["note"].startswith("The worksheet gives shapes only") and "D_in = 2, D_out = 3, N = 4" in data["note"]
    claims = [(c["quantity"], c["verdict"]) for c in data["claims"]]
    assert claims == [("dL/dZ", "correct"), ("dL/dW", "correct"), ("dL/db", "correct"), ("dL/dX", "wrong"),
                      ("dL/dX", "correct"), ("dL/dW", "wrong")]
    assert data["claims"][3]["diagnosis"].startswith("the shapes do not fit")
    assert "λW" in data["claims"][5]["diagnosis"]
    again = run_cli("check", str(LAYER), str(notes), "--format", "json")
    assert again.stdout == proc.stdout  # the same numbers every run
