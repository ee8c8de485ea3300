"""The command line as a user runs it: outputs, exit codes, one-line errors, atomic writes."""
from __future__ import annotations

import json

import pytest

from support.cli import run_cli
from support.paths import WORKSHEETS

W001 = str(WORKSHEETS / "001_linear_network.yaml")


def test_solve_markdown_to_stdout() -> None:
    proc = run_cli("solve", W001)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (WORKSHEETS / "001_linear_network.md").read_text()


def test_solve_json_and_tex_to_file(tmp_path) -> None:
    out = tmp_path / "sheet.json"
    proc = run_cli("solve", W001, "--format", "json", "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == ""
    data = json.loads(out.read_text())
    assert data["gradients"]["A1"] == "-12" and data["forward"]["L"] == "1"
    tex = tmp_path / "sheet.tex"
    assert run_cli("solve", W001, "--format", "tex", "-o", str(tex)).returncode == 0
    assert tex.read_text().startswith(r"\documentclass")
    assert [p.name for p in tmp_path.iterdir()] == sorted(["sheet.json", "sheet.tex"]) or len(list(tmp_path.iterdir())) == 2


def test_notation_override() -> None:
    proc = run_cli("solve", W001, "--notation", "upstream")
    assert proc.returncode == 0
    assert r"g_{B_{1}} &= g_{C_{1}} \cdot \frac{\partial C_{1}}{\partial B_{1}}" in proc.stdout


def test_templates_override(tmp_path) -> None:
    (tmp_path / "sheet.md.j2").write_text("custom {{ sheet.title }}: {{ sheet.answers | length }} answers\n")
    proc = run_cli("solve", W001, "--templates", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "custom A small linear network without biases: 18 answers\n"


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.strip() == "symbackprop, version 0.1.0"
    helptext = run_cli("solve", "--help").stdout
    assert "Examples:" in helptext and "--notation" in helptext


BAD = {
    "missing file": (None, "no such file"),
    "yaml syntax": ("given: {a: 1\nnodes: [\n", "YAML syntax error"),
    "unknown key": ("given: {a: 1}\nnodse: {b: a}\n", "unknown key 'nodse' (did you mean 'nodes'?)"),
    "duplicate": ("given:\n  a: 1\n  a: 2\nnodes: {b: a}\n", "'a' is defined twice"),
    "undefined": ("given: {a: 1}\nnodes: {b: a + c}\n", "undefined name 'c'"),
    "cycle": ("edges:\n  a -> b: 1\n  b -> a: 2\nloss: b\n", "cycle"),
    "edge end": ("given: {o: 1}\nedges:\n  'x1 -> ': 2\n", "both ends named"),
    "loss not node": ("given: {a: 1}\nnodes: {b: a}\nloss: a\n", "not a node"),
    "not a number": ("given: {a: abc}\nnodes: {b: a}\n", "'abc' is not a number"),
    "refused": ("given: {a: 1}\nnodes: {b: a.real}\n", "'.real' is not in the language"),
    "unknown function": ("given: {a: 1}\nnodes: {b: foo(a)}\n", "unknown function 'foo'"),
    "log domain": ("given: {a: 0}\nnodes: {b: log(a)}\n", "log of the non-positive number 0"),
    "division by zero": ("given: {a: 0}\nnodes: {b: 1/a}\n", "division by zero"),
    "huge power": ("given: {a: 2}\nnodes: {b: 'a**(10**10)'}\n", "too large"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_user_mistakes_are_one_line_exit_2(case, tmp_path) -> None:
    text, message = BAD[case]
    path = tmp_path / "bad.yaml"
    if text is not None:
        path.write_text(text)
    out = tmp_path / "out.md"
    proc = run_cli("solve", str(path), "-o", str(out), timeout=20)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"symbackprop: {path}")
    assert message in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == ([path] if text is not None else [])


def test_error_names_the_line(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("title: x\ngiven:\n  a: 1\nnodes:\n  b: a\n  c: log(b - 1)\n")
    proc = run_cli("solve", str(path))
    assert proc.stderr.strip() == f"symbackprop: {path}:6: node 'c': log of the non-positive number 0"


def test_failed_run_keeps_the_previous_output(tmp_path) -> None:
    out = tmp_path / "sheet.md"
    out.write_text("previous")
    bad = tmp_path / "bad.yaml"
    bad.write_text("given: {a: 0}\nnodes: {b: 1/a}\n")
    assert run_cli("solve", str(bad), "-o", str(out)).returncode == 2
    assert out.read_text() == "previous" and sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "sheet.md"]


def test_user_text_is_escaped(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text('title: "\\\\input{/etc/passwd} <script>x</script> $\\\\write18{ls}$"\n'
                    "given: {a: 2}\nnodes: {b: a**2}\n")
    tex = run_cli("solve", str(path), "--format", "tex").stdout
    assert r"\textbackslash{}input\{/etc/passwd\}" in tex and r"\input{/etc" not in tex
    assert r"\$\textbackslash{}write18\{ls\}\$" in tex
    md = run_cli("solve", str(path)).stdout
    assert "&lt;script&gt;" in md and "<script>" not in md


def test_unsafe_symbols_are_refused(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("given: {a: 2}\nnodes: {b: a**2}\nsymbols:\n  a: '\\input{/etc/passwd}'\n")
    proc = run_cli("solve", str(path))
    assert proc.returncode == 2 and "unsafe LaTeX" in proc.stderr and ":4:" in proc.stderr
