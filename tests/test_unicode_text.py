"""The instructor's own text in LaTeX and PDF: dashes, quotes, accented and other Latin letters as
themselves (LaTeX's UTF-8 input reads them with T1 fonts), Greek and math symbols as LaTeX, and a
character no standard font has as its code point; LaTeX commands in the text stay inert."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from symbackprop.sheets.render import tex_escape

from support.cli import run_cli
from support.paths import WORKSHEETS

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")

# Text LaTeX reads as it is: it must reach the .tex unchanged.
AS_THEMSELVES = [
    "A small ReLU network — variant s003 (seed 2026)",
    "Übung 3 – „Rückwärts“ ‘quoted’ “curly” « guillemets » …",
    "café ß ø Ø ł Ł å æ œ ç ñ ş ğ ž ő ű ą ę ň ť ș ț",
    "× · ± ° ² ½ → ← € ™",
]


@pytest.mark.parametrize("text", AS_THEMSELVES)
def test_letters_dashes_and_quotes_stay_themselves(text: str) -> None:
    assert tex_escape(text) == text


@pytest.mark.parametrize(("text", "tex"), [
    ("α", r"\ensuremath{\alpha}"),
    ("Ω", r"\ensuremath{\Omega}"),
    ("Β", "B"),  # a Greek capital with no command of its own is the Latin letter it looks like
    ("∂L/∂w", r"\ensuremath{\partial}L/\ensuremath{\partial}w"),
    ("≤ ≥ ≠ ≈", r"\ensuremath{\le} \ensuremath{\ge} \ensuremath{\ne} \ensuremath{\approx}"),
    ("∑ ∈ ℝ ⇒", r"\ensuremath{\sum} \ensuremath{\in} \ensuremath{\mathbb{R}} \ensuremath{\Rightarrow}"),
    ("−1", r"\ensuremath{-}1"),  # the minus sign, not a hyphen
    ("θ₁ x⁴", r"\ensuremath{\theta}\ensuremath{_{1}} x\ensuremath{^{4}}"),
    ("x̄", r"\={x}"),  # a letter with a combining accent that has no character of its own
    ("ế", r"\'{\^{e}}"),  # Vietnamese: the accents stacked
    ("e\u0301", "é"),  # decomposed (as macOS may write it) is composed first
])
def test_greek_and_math_become_latex(text: str, tex: str) -> None:
    assert tex_escape(text) == tex


@pytest.mark.parametrize(("text", "tex"), [
    ("😀", "[U+1F600]"),
    ("日本", "[U+65E5][U+672C]"),
    ("ħ", "[U+0127]"),  # T1 has no h with stroke
    ("a\u0085b\u0007", "a[U+0085]b[U+0007]"),  # control characters
    ("\u0302x", "[U+0302]x"),  # an accent with nothing to sit on
])
def test_what_no_standard_font_has_is_its_code_point(text: str, tex: str) -> None:
    assert tex_escape(text) == tex


def test_commands_stay_inert_beside_unicode() -> None:
    assert tex_escape("Übung \\input{x} — $&#^_~%{}") == (
        r"Übung \textbackslash{}input\{x\} — \$\&\#\textasciicircum{}\_\textasciitilde{}\%\{\}")


HEADER = """\
title: "Übung 3 — Rückwärts: „café“ ‘quotes’ ß ø ł α → β"
description: "Für λ = 0.1 ≤ 1 ≥ 0 × 2 · ∂L/∂w ∑ ± … — 😀"
course: "ML 101 – Maschinelles Lernen"
author: "Prof. Łukasz Żółć & Zoë Ørsted"
date: "14. März 2026"
given: {x: 2, w: -1}
nodes:
  z: w*x
  L: z**2
"""


@needs_tex
@needs_pdftotext
def test_the_pdf_shows_the_instructors_text(tmp_path) -> None:
    ws = tmp_path / "u.yaml"
    ws.write_text(HEADER, encoding="utf-8")
    done = run_cli("solve", str(ws), "--format", "pdf", "-o", str(tmp_path / "u.pdf"))
    assert done.returncode == 0, done.stderr
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "u.pdf"), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    for shown in ("Übung 3 — Rückwärts: „café“ ‘quotes’ ß ø ł α → β", "ML 101 – Maschinelles Lernen",
                  "Prof. Łukasz Żółć & Zoë Ørsted", "14. März 2026", "Für λ = 0.1 ≤ 1 ≥ 0 × 2 · ∂L/∂w",
                  "± . . . — [U+1F600]"):  # pdftotext reads LaTeX's ellipsis as its three dots
        assert shown in text, shown
    assert "[U+2014]" not in text


def test_a_variant_title_keeps_its_dash(tmp_path) -> None:
    done = run_cli("variants", str(WORKSHEETS / "001_linear_network_random.yaml"), "-n", "1", "--seed", "2026",
                   "--format", "tex", "--sheets", "solution", "-o", str(tmp_path / "class"))
    assert done.returncode == 0, done.stderr
    tex = (tmp_path / "class" / "solutions" / "1.tex").read_text(encoding="utf-8")
    assert "— variant 1 (seed 2026)" in tex and "[U+" not in tex
