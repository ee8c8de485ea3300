"""PDF sheets through the command line: every worksheet compiles, the answers are in the PDF's
text, the log has no overfull box, and the failure paths end in one line and exit code 2."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import sympy as sp

from golden import worksheets
from symbackprop import solve
from symbackprop.errors import LatexError
from symbackprop.sheets.pdf import compile_pdf, compile_with_log

from support.cli import run_cli
from support.paths import ROOT, WORKSHEETS

NO_TEX = shutil.which("pdflatex") is None
needs_tex = pytest.mark.skipif(NO_TEX, reason="pdflatex is not installed (apt-get install texlive-latex-base "
                               "texlive-latex-recommended texlive-fonts-recommended texlive-pictures lmodern)")
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="pdftotext is not installed (apt-get install poppler-utils)")
W001 = str(WORKSHEETS / "001_linear_network.yaml")


def pdf_text(path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.replace("\u2212", "-")  # the minus sign of math


def overfull(log: str, limit: float = 10.0) -> list[str]:
    return [m.group(0) for m in re.finditer(r"Overfull \\[hv]box \(([\d.]+)pt too \w+\)", log) if float(m.group(1)) > limit]


@needs_tex
@needs_pdftotext
@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_every_worksheet_compiles_to_pdf_with_its_answers(path, tmp_path) -> None:
    out = tmp_path / "sheet.pdf"
    proc = run_cli("solve", str(path), "--format", "pdf", "-o", str(out), "--figure-values", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"%PDF") and sorted(p.name for p in tmp_path.iterdir()) == ["sheet.pdf"]
    text = pdf_text(out)
    d = solve(path).derivation
    for name in d.wrt:  # each integer answer is in the text, boxed in the backward pass (a shapes-only
        value = d.gradient(name)  # worksheet's answers are formulas, not numbers)
        if isinstance(value, sp.Integer):
            assert str(value) in text, (name, value)


@needs_tex
@needs_pdftotext
def test_known_answers_in_the_pdf_text(tmp_path) -> None:
    for stem, numbers in {"001_linear_network": ["-12", "-4"], "000_edge_graph": ["-100", "110", "-30"]}.items():
        out = tmp_path / f"{stem}.pdf"
        assert run_cli("solve", str(WORKSHEETS / f"{stem}.yaml"), "--format", "pdf", "-o", str(out)).returncode == 0
        answers = pdf_text(out).split("Answers")[-1]
        for number in numbers:
            assert re.search(rf"= {re.escape(number)}\b", answers), (stem, number)


@needs_tex
@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_no_overfull_box_over_10pt(path) -> None:
    solution = solve(path, figure_values=True)
    for tex in (solution.latex(), solution.exercise("tex")):
        _, log = compile_with_log(tex)
        assert not overfull(log), overfull(log)


@needs_tex
def test_same_document_same_bytes() -> None:
    tex = solve(W001).latex()
    assert compile_pdf(tex) == compile_pdf(tex)


@needs_tex
def test_latex_error_keeps_the_tex_and_says_where(tmp_path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "sheet.tex.j2").write_text("\\documentclass{article}\n\\begin{document}\n"
                                            "{{ sheet.title }} \\undefinedcommand\n\\end{document}\n")
    out = tmp_path / "sheet.pdf"
    proc = run_cli("solve", W001, "--format", "pdf", "-o", str(out), "--templates", str(templates))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    kept, log = tmp_path / "sheet.failed.tex", tmp_path / "sheet.failed.log"
    assert len(lines) == 1 and lines[0].startswith(f"symbackprop: {kept}:3: LaTeX error: Undefined control sequence.")
    assert r"\undefinedcommand" in lines[0] and str(log) in lines[0]
    assert not out.exists() and "\\undefinedcommand" in kept.read_text() and "! Undefined" in log.read_text()


@needs_tex
def test_latex_runs_sandboxed(tmp_path) -> None:
    """No shell escape, and no reading of absolute paths (openin_any=p)."""
    marker = tmp_path / "pwned"
    shell = f"\\documentclass{{article}}\\begin{{document}}x\\immediate\\write18{{touch {marker}}}\\end{{document}}"
    compile_pdf(shell)
    assert not marker.exists()
    secret = tmp_path / "secret.tex"
    secret.write_text("a secret\n")
    with pytest.raises(LatexError, match=r"Not reading from .*openin_any = p"):
        compile_pdf(f"\\documentclass{{article}}\\begin{{document}}\\input{{{secret}}}\\end{{document}}")


@needs_tex
def test_latex_time_limit() -> None:
    with pytest.raises(LatexError, match="did not finish within 2 s"):
        compile_pdf("\\documentclass{article}\\def\\loop{\\loop}\\begin{document}\\loop\\end{document}", timeout=2)


def test_no_tex_on_path_names_the_packages(tmp_path) -> None:
    out = tmp_path / "sheet.pdf"
    proc = subprocess.run([sys.executable, "-c", "from symbackprop.cli import main; main()", "solve", W001,
                           "--format", "pdf", "-o", str(out)], capture_output=True, text=True, cwd=ROOT,
                          env={"PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == (f"symbackprop: {out}: pdflatex is not on PATH; install TeX Live (Debian, Ubuntu: "
                           "apt-get install texlive-latex-base texlive-latex-recommended texlive-fonts-recommended "
                           "texlive-pictures lmodern)\n")
    assert list(tmp_path.iterdir()) == []


def test_pdf_needs_an_output_file() -> None:
    proc = run_cli("solve", W001, "--format", "pdf")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "symbackprop: --format pdf: a PDF is binary and never goes to the terminal: give -o FILE.pdf\n"


def test_doctor_lists_the_tools() -> None:
    proc = run_cli("doctor")
    assert proc.returncode == 0
    for tool in ("pdflatex", "latexmk", "pdftoppm", "pdftotext", "dvisvgm"):
        assert re.search(rf"^  {tool} ", proc.stdout, re.M)
    assert ("PDF output: ready" in proc.stdout) != NO_TEX


@needs_tex
def test_api_pdf_bytes() -> None:
    solution = solve(W001)
    assert solution.pdf().startswith(b"%PDF") and solution.pdf(exercise=True).startswith(b"%PDF")


@needs_tex
@needs_pdftotext
def test_unicode_in_the_users_text_compiles(tmp_path) -> None:
    """Greek and math symbols in a title are written as LaTeX; what pdflatex cannot show at all
    (here Japanese) is kept as its code point instead of stopping the compile."""
    ws = tmp_path / "u.yaml"
    ws.write_text('title: "Grüße: λ ∂L/∂x → σ ≈ ½ ✓ 日本"\ngiven: {x: 2}\nnodes: {L: x**2}\n', encoding="utf-8")
    done = run_cli("solve", str(ws), "--format", "pdf", "-o", str(tmp_path / "u.pdf"))
    assert done.returncode == 0, done.stderr
    assert "Grüße: λ ∂L/∂x → σ ≈ ½ ✓ [U+65E5][U+672C]" in pdf_text(tmp_path / "u.pdf")
