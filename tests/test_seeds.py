"""The seed worksheets: their values, and their sheets byte for byte against the files beside them."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import sympy as sp
from support.paths import WORKSHEETS
from golden import FORMATS, expected, worksheets

from symbackprop import solve
from symbackprop.worksheet.read import load


def grads(name: str) -> dict[str, sp.Expr]:
    d = solve(WORKSHEETS / name).derivation
    return {n: d.gradient(n) for n in d.adjoints}


def test_000_edge_graph() -> None:
    g = grads("000_edge_graph.yaml")
    assert (g["x1"], g["x2"], g["x3"]) == (-100, 110, -30)
    assert (g["u1"], g["u2"], g["v1"], g["v2"], g["v3"], g["o"]) == (30, 10, 10, -10, -20, -10)


def test_001_forward_and_backward() -> None:
    d = solve(WORKSHEETS / "001_linear_network.yaml").derivation
    values = {n: f.value for n, f in d.forward.items()}
    assert [values[n] for n in ("B1", "B2", "C1", "C2", "D", "L")] == [3, 1, 1, -3, 4, 1]
    g = {n: d.gradient(n) for n in d.wrt}
    assert (g["D"], g["C1"], g["C2"]) == (2, 2, -2)
    assert (g["B1"], g["B2"], g["A1"], g["A2"]) == (4, -4, -12, -4)
    assert [g[f"w{i}"] for i in range(1, 11)] == [-4, 4, 4, -4, 6, 2, -6, -2, 2, -6]


def test_001_sheet_shows_both_paths_of_b1() -> None:
    md = solve(WORKSHEETS / "001_linear_network.yaml").markdown()
    assert "$B_{1}$ feeds $C_{1}$ and $C_{2}$: its gradient is the sum over both paths." in md
    assert r"\left(2\right)\left(1\right) + \left(-2\right)\left(-1\right)" in md
    assert (r"B_{1} &= w_{1} A_{1} + w_{2} A_{2} = \left(-2\right) \left(-1\right) + \left(1\right) \left(1\right)"
            r" = 2 + 1 = 3") in md
    assert r"\boxed{4}" in md


def test_002_symbolic_with_unspecified_loss() -> None:
    d = solve(WORKSHEETS / "002_relu_skip_symbolic.yaml").derivation
    dy = sp.Symbol("dL/dyhat", real=True)
    w1, w3, h0 = (sp.Symbol(n, real=True) for n in ("w1", "w3", "h0"))
    assert d.gradient("w3") == dy * h0
    assert d.adjoints["h0"].symbolic == sp.Symbol("dL/dz1", real=True) * w1 + sp.Symbol("dL/dz2", real=True) * w3
    md = solve(WORKSHEETS / "002_relu_skip_symbolic.yaml").markdown()
    assert "stays a symbol" in md and r"\begin{cases} 1 & z_{1} > 0 \\ 0 & z_{1} \le 0 \end{cases}" in md


def test_003_relu_numeric() -> None:
    d = solve(WORKSHEETS / "003_relu_numeric.yaml").derivation
    assert d.forward["J"].value == sp.Rational(1, 2)
    assert [d.gradient(n) for n in ("w11", "w12", "w21", "w22")] == [-1, 0, 0, 0]


def test_004_natural_log_and_log10() -> None:
    ln = grads("004_softmax_choose.yaml")
    lg = grads("004_softmax_choose_log10.yaml")
    assert ln["s1"] == sp.Rational(-1, 4) and ln["s2"] == sp.Rational(1, 4)
    assert sp.simplify(lg["s1"] - sp.Rational(-1, 4) / sp.log(10)) == 0
    assert ln["y"] == 0 if "y" in ln else True
    tex = solve(WORKSHEETS / "004_softmax_choose.yaml").latex()
    assert r"\log" not in tex.replace(r"\log_{10}", "")  # the natural log prints as \ln
    assert "g_{P_+}" in tex


@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_generated_sheets_are_current(path) -> None:
    """The .md/.tex/.json beside each worksheet equal a fresh run (regenerate: python tests/golden.py)."""
    fresh = expected(path)
    for fmt in FORMATS:
        stored = path.with_suffix("." + fmt)
        assert stored.exists(), f"{stored.name} is missing: run python tests/golden.py"
        assert stored.read_text(encoding="utf-8") == fresh[fmt], f"{stored.name} is stale: run python tests/golden.py"


@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_json_contract(path) -> None:
    data = json.loads(solve(path).json())
    ws = load(path)
    assert set(data) == {"title", "loss", "forward", "gradients", "symbolic"} | ({"update"} if ws.update else set()) \
        | ({"shapes"} if ws.has_matrices else set()) | ({"decimals"} if "decimals" in data else set())
    if "decimals" in data:  # the sheet's decimals of the non-integer values, beside the exact ones
        decimals = data["decimals"]
        assert not ws.has_matrices and (ws.numbers != "exact" or ws.decimals)
        assert set(decimals) == {"forward", "gradients"} | ({"update"} if ws.update else set())
        assert set(decimals["forward"]) <= set(data["forward"]) and set(decimals["gradients"]) <= set(data["gradients"])
        for text in list(decimals["forward"].values()) + list(decimals["gradients"].values()):
            assert re.fullmatch(r"-?\d+(\.\d+)?(e[+-]\d\d+)?", text), text
    assert set(data["symbolic"]) == {"gradients"}
    assert set(data["gradients"]) == set(data["symbolic"]["gradients"])
    assert data["loss"] == ws.loss
    for value in list(data["forward"].values()) + list(data["gradients"].values()):
        if ws.has_matrices and isinstance(value, list):  # a matrix: a list of rows of exact strings
            assert len({len(row) for row in value}) == 1
            value = " ".join(entry for row in value for entry in row)
        assert isinstance(value, str) and "." not in value.replace("/d", "").replace(".T", "")  # exact, never a float


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex is not installed (apt-get install texlive-latex-recommended)")
@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_every_sheet_compiles_without_overfull_lines(path, tmp_path) -> None:
    tex = tmp_path / "sheet.tex"
    tex.write_text(solve(path).latex(), encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "sheet.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = (tmp_path / "sheet.log").read_text(errors="replace")
    assert proc.returncode == 0, log[-2000:]
    assert (tmp_path / "sheet.pdf").stat().st_size > 1000
    overfull = [line for line in log.splitlines() if line.startswith("Overfull")]
    assert not overfull, overfull


def test_a_wide_sum_is_differentiated_at_its_own_terms() -> None:
    """Beyond four terms, ∂/∂x of a sum writes the terms with x and ⋯ for the rest, as a hand does."""
    md = solve("given: {a: 1, b: 2, c: 3, d: 4, e: 5, w: 2}\nnodes:\n  z: a*w + b - c*w + d + e\n  L: z**2\n").markdown()
    assert r"\frac{\partial}{\partial w}\left(a w + \cdots - c w + \cdots\right) = a - c = 1 - 3 = -2" in md
    assert r"\frac{\partial}{\partial b}\left(\cdots + b + \cdots\right) = 1" in md
    assert r"\frac{\partial}{\partial a}\left(a w + \cdots\right) = w = 2" in md
    assert r"z &= a w + b - c w + d + e" in md  # the forward pass still writes the whole sum
