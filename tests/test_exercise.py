"""Exercise sheets (the question without its solution), the handout's header keys, and what a
notebook shows."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from golden import worksheets
from symbackprop import solve

from support.cli import run_cli
from support.paths import WORKSHEETS

W001 = str(WORKSHEETS / "001_linear_network.yaml")
HEADER = "course: 'CS 101: Neural networks'\nauthor: Ada Lovelace\ndate: 2026-03-14\npaper: letter\n"


@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_exercise_has_no_solution(path) -> None:
    solution = solve(path)
    for text in (solution.exercise("md"), solution.exercise("tex")):
        assert r"\boxed" not in text and "Backward pass" not in text and "Forward pass" not in text
        assert "∂L/∂" not in text and "[grad]" not in text  # the figure shows no gradient
        assert text.count(r"\partial") >= len(solution.sheet.answers) or solution.sheet.notation == "upstream"
    md = solution.exercise("md")
    table = md.split("| Asked | Your answer |\n|---|---|\n")[1].splitlines()
    assert table == [f"| ${q.replace('|', chr(92) + 'vert ')}$ | |" for q in solution.sheet.asked]


def test_exercise_states_the_graph_and_the_given_values() -> None:
    md = solve(W001).exercise("md")
    assert "B_{1} &= w_{1} A_{1} + w_{2} A_{2}" in md and "L &= \\left(D - t\\right)^{2}" in md
    assert "&A_{1} = -1,\\quad A_{2} = 1" in md
    block = re.search(r"```mermaid\n(.*?)```", md, re.S).group(1)
    assert '(["A₁ = -1"])' in block and '["B₁"]' in block  # given values only
    tex = solve(W001).exercise("tex")
    assert "label={[fwd]above:{$-1$}}] (n0)" in tex and tex.count("[fwd]") == 13  # the 13 given numbers


def test_exercise_of_an_unspecified_loss_says_so() -> None:
    md = solve(WORKSHEETS / "002_relu_skip_symbolic.yaml").exercise("md")
    assert r"L &= L\left(\hat{y}\right) &&\text{(not specified)}" in md


def test_exercise_command(tmp_path) -> None:
    out = tmp_path / "exercise.md"
    proc = run_cli("exercise", W001, "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == ""
    assert out.read_text() == solve(W001).exercise("md")
    proc = run_cli("exercise", W001, "--format", "tex", "--no-figure")
    assert proc.returncode == 0 and proc.stdout.startswith(r"\documentclass") and "tikz" not in proc.stdout
    assert run_cli("exercise", W001, "--format", "json").returncode == 2


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                    reason="pdflatex or pdftotext is not installed (apt-get install texlive-latex-base "
                    "texlive-latex-recommended texlive-fonts-recommended texlive-pictures lmodern poppler-utils)")
def test_exercise_pdf_has_the_question_only(tmp_path) -> None:
    out = tmp_path / "exercise.pdf"
    proc = run_cli("exercise", str(WORKSHEETS / "000_edge_graph.yaml"), "--format", "pdf", "-o", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Asked" in text and "Backward pass" not in text and "100" not in text


def test_header_keys(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(HEADER + "given: {a: 2}\nnodes: {b: a**2}\n")
    solution = solve(path)
    tex = solution.latex()
    assert tex.startswith("\\documentclass[11pt,letterpaper]{article}")
    assert r"{\small CS 101: Neural networks\hfill 2026-03-14}" in tex and "Ada Lovelace" in tex
    assert r"\markright{CS 101: Neural networks: Backpropagation}" in tex
    assert "{\\large Exercise}" in solution.exercise("tex") and "{\\large Solution}" in tex
    assert "*Solution* · CS 101: Neural networks · Ada Lovelace · 2026-03-14\n" in solution.markdown()
    assert solve(W001).latex().startswith("\\documentclass[11pt,a4paper]{article}")


def test_header_text_is_escaped(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("course: '\\input{/etc/passwd} & $x$'\ngiven: {a: 2}\nnodes: {b: a**2}\n")
    tex = solve(path).latex()
    assert r"\textbackslash{}input\{/etc/passwd\} \& \$x\$" in tex and r"\input{/etc" not in tex


@pytest.mark.parametrize("text, message", [
    ("paper: a5\n", ":1: paper: 'a5' is not one of a4, letter"),
    ("title: t\ncourse: [a, b]\n", ":2: course: expected text"),
    ("author: |\n  one\n  two\n", ":1: author: expected one line of text (at most 200 characters)"),
    ("date: " + "x" * 201 + "\n", ":1: date: expected one line of text"),
    ("cours: x\n", "unknown key 'cours' (did you mean 'course'?)"),
])
def test_header_mistakes(tmp_path, text, message) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text + "given: {a: 2}\nnodes: {b: a**2}\n")
    proc = run_cli("solve", str(path))
    assert proc.returncode == 2 and proc.stderr.startswith(f"symbackprop: {path}") and message in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_templates_change_the_look(tmp_path) -> None:
    (tmp_path / "handout.md.j2").write_text(
        "{% macro header(sheet, kind) %}# {{ kind | upper }}: {{ sheet.title }}{% endmacro %}\n"
        "{% macro given(sheet) %}(given){% endmacro %}\n")
    proc = run_cli("exercise", W001, "--templates", str(tmp_path))
    assert proc.returncode == 0 and proc.stdout.startswith("# EXERCISE: A small linear network without biases\n")


def test_notebook_latex_is_a_fragment() -> None:
    solution = solve(W001)
    latex = solution._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}\n") and latex.endswith("\\end{aligned}\n$$\n")
    assert r"\documentclass" not in latex and "tikz" not in latex
    assert r"\frac{\partial L}{\partial A_{1}} &= -12 \\" in latex
    assert latex.count("&=") == len(solution.sheet.answers)
    assert solution._repr_markdown_() == solution.markdown()
