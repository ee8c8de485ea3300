"""The graph figure: one TikZ node per name and one edge per edge, a layout without overlaps for
graphs of up to 30 nodes, folding of deep graphs, and Mermaid labels without math."""
from __future__ import annotations

import random
import re

import pytest

from golden import worksheets
from symbackprop import solve
from symbackprop.sheets.figure import plain_name
from symbackprop.sheets import graphlayout
from symbackprop.sheets.graphlayout import MAX_WIDTH, SHRINK, Box, draw

from support.cli import run_cli
from support.paths import WORKSHEETS

MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)


def graph_size(solution) -> tuple[int, int]:
    graph = solution.derivation.graph
    return len(graph.order), sum(len(set(n.parents)) for n in graph.nodes.values())


@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_tikz_has_a_node_per_name_and_an_edge_per_edge(path) -> None:
    solution = solve(path)
    names, edges = graph_size(solution)
    for tex in (solution.latex(), solution.exercise("tex")):
        assert tex.count(r"\node[var,") == names
        assert tex.count(r"\draw[edge]") == edges
        assert r"\node[ghost]" not in tex  # every seed fits on one band


@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_mermaid_has_plain_labels(path) -> None:
    solution = solve(path, figure_values=True)
    names, edges = graph_size(solution)
    for md in (solution.markdown(), solution.exercise("md")):
        block = MERMAID.search(md).group(1)
        assert block.startswith("flowchart LR\n")
        assert "$" not in block and "\\" not in block  # GitHub's Mermaid renders no math
        assert len(re.findall(r"^  n\d+[(\[]", block, re.M)) == names
        assert len(re.findall(r"^  n\d+ -->", block, re.M)) == edges


def test_000_edges_carry_their_derivatives() -> None:
    solution = solve(WORKSHEETS / "000_edge_graph.yaml", figure_values=True)
    tex = solution.latex()
    labels = re.findall(r"\\node\[dlabel\] at \([-\d.,]+\) \{\$(.*?)\$\};", tex)
    assert sorted(labels) == sorted(["-2", "3", "4", "2", "-3", "3", "1", "-1", "-1", "1", "2"])
    assert "label={[grad]below:{$-100$}}" in tex and "label={[fwd]above:{$0.1$}}" in tex
    block = MERMAID.search(solution.markdown()).group(1)
    assert '(["o = 0.1<br>∂L/∂o = -10"])' in block and '-->|"-2"|' in block


def test_values_are_shown_on_demand_only() -> None:
    plain = solve(WORKSHEETS / "001_linear_network.yaml").latex()
    assert "[fwd]" not in plain and "[grad]" not in plain
    valued = solve(WORKSHEETS / "001_linear_network.yaml", figure_values=True).latex()
    assert valued.count("[fwd]above") == 19 and valued.count("[grad]below") == 19
    assert "label={[grad]below:{$-12$}}" in valued


def test_symbolic_values_stay_out_of_the_figure() -> None:
    tex = solve(WORKSHEETS / "002_relu_skip_symbolic.yaml", figure_values=True).latex()
    assert "[fwd]" not in tex  # no value is a number
    assert tex.count("[grad]") == 1  # dL/dL = 1, the only number


def test_long_values_are_left_out_or_shown_to_the_asked_decimals() -> None:
    text = "given: {x: 1, w: 2}\nnodes:\n  p: sigmoid(w*x)*tanh(w - x/3) + 1\n  L: -log(p)\n"
    tex = solve(text + "numbers: exact\n", figure_values=True).latex()
    assert "label={[fwd]above:{$1$}}, label={[grad]below:{" not in tex  # dL/dx is too long
    assert "values too long to fit are in the text" in tex
    rounded = solve(text + "decimals: 3\n", figure_values=True).latex()
    assert r"label={[fwd]above:{$1$}}, label={[grad]below:{$\approx -0.0860$}}] (n0)" in rounded


def test_a_long_value_left_out_of_the_mermaid_figure_is_said_to_be_in_the_text() -> None:
    text = "given: {x: 1, w: 2}\nnodes:\n  p: sigmoid(w*x)*tanh(w - x/3) + 1\n  L: -log(p)\nnumbers: exact\n"
    md = solve(text, figure_values=True).markdown()
    assert "```\n\nValues too long to fit in the figure are in the text.\n" in md
    assert "too long to fit" not in solve(WORKSHEETS / "001_linear_network.yaml", figure_values=True).markdown()


def test_mermaid_values_are_written_as_the_sheet_writes_them() -> None:
    block = MERMAID.search(solve(WORKSHEETS / "004_softmax_choose.yaml", figure_values=True).markdown()).group(1)
    assert '"s₁ = 2 ln 3<br>∂L/∂s₁ = -1/4"' in block and '"a = 2<br>∂L/∂a = -(ln 3)/4"' in block
    assert "log(" not in block and "*" not in block
    block = MERMAID.search(solve(WORKSHEETS / "004_linear_softmax_l2.yaml", figure_values=True).markdown()).group(1)
    assert '"λ = 1/10<br>∂L/∂λ = ln² 2"' in block and '"L ≈ 1.199<br>∂L/∂L = 1"' in block


def test_a_matrix_is_named_by_its_shape_never_as_its_value() -> None:
    solution = solve(WORKSHEETS / "004_linear_softmax_l2.yaml", figure_values=True)
    block = MERMAID.search(solution.markdown()).group(1)
    assert '(["W<br>2×3 matrix"])' in block and '["Z<br>2×3 matrix"]' in block
    assert "= 2×" not in block and "∂L/∂W" not in block
    tex = solution.latex()
    assert r"label={[size]above:{$2 \times 3\ \text{matrix}$}}] (n1)" in tex
    assert "a matrix is named by its shape, its values are in the text" in tex
    exercise = MERMAID.search(solution.exercise("md")).group(1)
    assert '(["W<br>2×3 matrix"])' in exercise and '["Z"]' in exercise  # given matrices only


def test_an_unknown_view_is_a_template_mistake(tmp_path) -> None:
    (tmp_path / "sheet.md.j2").write_text("{{ sheet.figure.placed('some') }}\n")
    proc = run_cli("solve", str(WORKSHEETS / "001_linear_network.yaml"), "--templates", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr == "symbackprop: a template: the figure's view 'some' is not one of none, given, all\n"


def test_no_figure(tmp_path) -> None:
    proc = run_cli("solve", str(WORKSHEETS / "001_linear_network.yaml"), "--format", "tex", "--no-figure")
    assert proc.returncode == 0 and "tikz" not in proc.stdout
    proc = run_cli("solve", str(WORKSHEETS / "001_linear_network.yaml"), "--no-figure")
    assert proc.returncode == 0 and "mermaid" not in proc.stdout


def test_names_in_plain_text() -> None:
    assert plain_name("w_{11}", "w11") == "w₁₁"
    assert plain_name(r"\hat{y}", "yhat") == "ŷ"
    assert plain_name(r"\alpha_{2}", "alpha2") == "α₂"
    assert plain_name("P_+", "Pplus") == "P₊"
    assert plain_name(r"z_{\mathrm{out}}", "z_out") == "zₒᵤₜ"
    assert plain_name(r"\mathbf{W}", "W") == "W"  # anything else: the worksheet's name
    assert plain_name(r"z_{\mathrm{big}}", "z_big") == "z_big"  # no subscript b, g


def chain_worksheet(n: int) -> str:
    body = "\n".join(f"  a{i}: 2*a{i - 1} - 1" for i in range(1, n))
    return f"given:\n  a0: 1\nnodes:\n{body}\n  L: a{n - 1}**2\n"


def test_a_deep_graph_folds_into_bands_with_ghosts() -> None:
    tex = solve(chain_worksheet(29)).latex()
    ghosts = tex.count(r"\node[ghost]")
    assert ghosts >= 2 and tex.count(r"\node[var,") == 30 and tex.count(r"\draw[edge]") == 29
    xs = [float(x) for x in re.findall(r"\\node\[var, [^]]*\] \(n\d+\) at \(([-\d.]+),", tex)]
    assert max(xs) < MAX_WIDTH * SHRINK


def test_a_graph_too_large_is_not_drawn() -> None:
    tex = solve(chain_worksheet(70)).latex()
    assert "tikzpicture" not in tex


# -- the layout itself, on random DAGs of up to 30 nodes ---------------------------------------

def random_dag(seed: int, n: int, labelled: bool):
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(n)]
    edges = []
    for j in range(1, n):
        window = range(max(0, j - rng.choice((3, 8, 30))), j)
        for i in rng.sample(window, min(rng.randint(1, 3), len(window))):
            edges.append((names[i], names[j]))
    boxes = {m: Box(rng.choice((0.4, 0.6, 0.9)), rng.choice((0.31, 0.67, 0.93)), rng.choice((0.31, 0.67)))
             for m in names}
    labels = [(rng.choice((0.3, 0.5, 0.9)), 0.42) if labelled else None for _ in edges]
    return names, edges, boxes, labels


def overlap(a, b, pad: float = 0.0) -> bool:
    """Boxes (left, bottom, right, top) that share more than a sliver."""
    return a[0] < b[2] - pad and b[0] < a[2] - pad and a[1] < b[3] - pad and b[1] < a[3] - pad


@pytest.mark.parametrize("seed", range(40))
def test_layout_has_no_overlaps(seed) -> None:
    n = 5 + seed % 26
    names, edges, boxes, labels = random_dag(seed, n, labelled=seed % 2 == 0)
    d = draw(names, edges, boxes, labels)
    graphlayout._draw.cache_clear()
    assert d == draw(names, edges, boxes, labels)  # deterministic
    copies = dict(d.ghosts)
    rects = []
    for name, (x, y) in d.at.items():
        b = boxes[copies.get(name, name)]
        rects.append((x - b.half, y - b.down, x + b.half, y + b.up))
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not overlap(a, b), (a, b)
    placed = [(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for (x, y), (w, h) in
              ((at, size) for at, size in zip(d.labels, labels) if at)]
    assert len(placed) == sum(1 for label in labels if label)
    for i, a in enumerate(placed):
        assert not any(overlap(a, r, 0.01) for r in rects), a
        for b in placed[i + 1:]:
            assert not overlap(a, b, 0.01), (a, b)
    for (tail, _head), source in zip(edges, d.sources):
        assert source == tail or copies[source] == tail
    assert max(x + boxes[copies.get(n, n)].half for n, (x, _) in d.at.items()) <= MAX_WIDTH * SHRINK
