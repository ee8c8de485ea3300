"""Safe output: text from a worksheet reaches LaTeX and Markdown escaped, or is refused, and
pdflatex runs sandboxed whatever the caller's environment says.

- Plain text (title, description, course, author, date) is escaped: a hostile worksheet compiled
  to PDF (solution and exercise) reads no file, writes no file, runs nothing, and its PDF shows
  the payloads as text; its Markdown holds no HTML tag of the input.
- ``symbols:`` is LaTeX, so it is checked instead: every payload below is refused, with its line.
- pdflatex itself (symbackprop/pdf.py): no shell escape, paranoid file access (openin_any=p,
  openout_any=p), and the variables that would loosen them (TEXMFOUTPUT, openin_any.pdflatex,
  openin_any_pdflatex, shell_escape, …) removed from its environment.
"""
from __future__ import annotations

import ast

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from support.paths import ROOT

from symbackprop.sheets import pdf
from symbackprop.errors import LatexError, WorksheetError
from symbackprop.worksheet.read import loads

from support.cli import run_cli

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
TOKEN = "S3CRET-7f3a9c"  # the content of the file a payload tries to read


def payloads(secret: Path, marker: Path) -> list[str]:
    """LaTeX that would read ``secret``, write or run something (creating ``marker``), or
    change TeX itself, if it reached TeX unescaped."""
    return [
        f"\\input{{{secret}}}",
        f"\\include{{{secret.with_suffix('')}}}",
        f"\\immediate\\write18{{touch {marker}}}",
        f"\\write18{{touch {marker}}}",
        f"\\newwrite\\w\\immediate\\openout\\w={marker}\\immediate\\write\\w{{x}}",
        f"\\newread\\r\\openin\\r={secret}\\read\\r to\\x\\x",
        f"\\pdfobj file{{{secret}}}\\pdfrefobj\\pdflastobj",
        f"\\pdffiledump length 40 {{{secret}}}",
        "\\catcode`\\^^M=13 \\catcode`\\$=12",
        "\\def\\title{pwned}\\let\\section\\relax",
        "^^5cinput{/etc/passwd}",
        "$\\csname input\\endcsname{/etc/passwd}$",
        "\\usepackage{shellesc}\\ShellEscape{touch x}",
        "</p><script>alert(1)</script>",
        "<img src=x onerror=alert(1)><iframe src=javascript:alert(1)></iframe>",
        "<a href=\"javascript:alert(1)\">x</a><!-- c --><div style=\"x\">",
    ]


HTML_TAGS = re.compile(r"<\s*/?\s*(script|img|iframe|a|div|p|style|svg|!--)\b", re.I)


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def hostile_worksheet(secret: Path, marker: Path) -> str:
    """Every payload in every plain-text field (one line each in the header fields)."""
    lines = payloads(secret, marker)
    return (f"title: {quoted(' '.join(lines[:8]))}\n"
            f"description: {quoted(' '.join(lines))}\n"
            f"course: {quoted(' '.join(lines[8:12]))}\n"
            f"author: {quoted(' '.join(lines[12:14]))}\n"
            f"date: {quoted(' '.join(lines[14:]))}\n"
            "given: {a: 2, w: -1/2}\nnodes:\n  z: w*a\n  L: relu(z)**2 + z\n")


def pdf_contents(data: bytes) -> bytes:
    """The PDF's bytes with every compressed stream inflated (what a reader could extract)."""
    parts = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return b"\n".join(parts)


@pytest.fixture
def hostile(tmp_path):
    secret = tmp_path / "secret.tex"
    secret.write_text(TOKEN + "\n")
    marker = tmp_path / "pwned"
    work = tmp_path / "work"
    work.mkdir()
    sheet = work / "hostile.yaml"
    sheet.write_text(hostile_worksheet(secret, marker), encoding="utf-8")
    return sheet, secret, marker


@needs_tex
@needs_pdftotext
@pytest.mark.parametrize("command", ["solve", "exercise"])
def test_a_hostile_worksheet_compiles_to_a_harmless_pdf(hostile, command):
    sheet, secret, marker = hostile
    out = sheet.parent / "out.pdf"
    proc = run_cli(command, str(sheet), "--format", "pdf", "-o", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert TOKEN.encode() not in pdf_contents(data), "the secret file was read into the PDF"
    assert not marker.exists(), "a file was written or a command run"
    assert sorted(p.name for p in sheet.parent.iterdir()) == ["hostile.yaml", "out.pdf"]
    assert sorted(p.name for p in secret.parent.iterdir()) == ["secret.tex", "work"]
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for shown in (f"\\input{{{secret}}}", "\\immediate\\write18{touch", "\\catcode", "\\def\\title{pwned}",
                  "<script>alert(1)</script>"):
        assert re.sub(r"\s+", "", shown) in flat, f"{shown!r} is not shown as text"
    assert TOKEN not in text


@pytest.mark.parametrize("fmt", ["tex", "md"])
@pytest.mark.parametrize("command", ["solve", "exercise"])
def test_hostile_text_is_escaped(hostile, command, fmt):
    sheet, _, marker = hostile
    proc = run_cli(command, str(sheet), "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    if fmt == "tex":
        body = out.split("\\begin{document}")[1]
        for name in ("input", "include", "write", "write18", "immediate", "openout", "openin", "read", "catcode",
                     "def", "let", "pdfobj", "pdffiledump", "csname", "usepackage", "newwrite", "newread"):
            assert not re.search(rf"\\{name}(?![A-Za-z])", body), name
        assert "\\textbackslash{}input\\{" in body
        assert "^^" not in out
    else:
        assert not HTML_TAGS.search(out), HTML_TAGS.search(out).group(0)
        assert "&lt;script&gt;" in out and "&lt;img src=x" in out
    assert not marker.exists()


SYMBOL_PAYLOADS = [
    r"\input{/etc/passwd}", r"\include{x}", r"\includegraphics{/etc/logo.png}", r"\write18{ls}",
    r"\immediate\write18{ls}", r"\openout1=x", r"\openin1=/etc/passwd", r"\read1 to\x", r"\catcode`\^=7",
    r"\def\x{y}", r"\edef\x{y}", r"\gdef\x{y}", r"\let\x=y", r"\newcommand{\x}{y}", r"\renewcommand\x{y}",
    r"\csname input\endcsname", r"\usepackage{x}", r"\special{x}", r"\expandafter\x", r"\jobname",
    r"\pdfobj file{/etc/passwd}\pdfrefobj\pdflastobj", r"\pdffiledump length 9{/etc/passwd}",
    r"\pdfximage{/etc/logo.png}", r"\pdfliteral{0 0 m}", r"\pdfannot{/A}", r"\font\x=cmr10",
    r"\global\x", r"\chardef\x=1", r"\newenvironment{x}{}{}", r"\DeclareMathOperator{\x}{y}",
    r"\everymath{x}", r"\endinput", r"\output{x}", r"\tikz\draw plot file{/etc/passwd};",
    r"\directlua{os.execute('ls')}", r"\scantokens{x}", r"\url{x}", r"\href{javascript:x}{y}",
    r"^^5cinput{/etc/passwd}", r"x$\input y$", r"<script>alert(1)</script>", r"x&y", r"\hat{y}}{",
    "x\ny", r"x%", r"#1",
]


@pytest.mark.parametrize("latex", SYMBOL_PAYLOADS)
def test_unsafe_symbols_are_refused_with_their_line(latex):
    text = "given: {a: 2}\nnodes: {b: a**2}\nsymbols:\n  a: " + quoted(latex).replace("\n", "\n\n") + "\n"
    with pytest.raises(WorksheetError) as info:
        loads(text, "s.yaml")
    assert str(info.value).startswith("s.yaml:4: symbols a: "), str(info.value)
    assert "unsafe LaTeX" in str(info.value) or "unbalanced braces" in str(info.value)


def test_safe_symbols_are_kept():
    ws = loads("given: {a: 2}\nnodes: {b: a**2}\nsymbols:\n  a: '\\hat{\\mathbf{a}}_{\\mathrm{in}}^{(1)}'\n"
               "  b: '\\tilde{\\beta}'\n", "s.yaml")
    assert dict(ws.symbols) == {"a": r"\hat{\mathbf{a}}_{\mathrm{in}}^{(1)}", "b": r"\tilde{\beta}"}


# -- pdflatex's own sandbox, whatever the environment ------------------------------------------------

LOOSENING = {"TEXMFOUTPUT": "/", "openin_any": "a", "openout_any": "a", "openin_any.pdflatex": "a",
             "openout_any.pdflatex": "a", "openin_any_pdflatex": "a", "openout_any_pdflatex": "a",
             "shell_escape": "t", "shell_escape.pdflatex": "t", "shell_escape_commands": "touch,ls"}


def test_the_environment_of_pdflatex(monkeypatch):
    for key, value in LOOSENING.items():
        monkeypatch.setenv(key, value)
    env = pdf._environment()
    assert (env["openin_any"], env["openout_any"], env["shell_escape"]) == ("p", "p", "f")
    assert not set(LOOSENING) - {"openin_any", "openout_any", "shell_escape"} & set(env)


@needs_tex
def test_pdflatex_refuses_absolute_paths_and_shell_escape_under_a_loosening_environment(tmp_path, monkeypatch):
    for key, value in LOOSENING.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TEXMFOUTPUT", str(tmp_path))  # paranoid mode would allow absolute paths below it
    secret = tmp_path / "secret.tex"
    secret.write_text(TOKEN + "\n")
    written = tmp_path / "written.tex"
    marker = tmp_path / "pwned"
    doc = "\\documentclass{article}\\begin{document}%s\\end{document}"
    with pytest.raises(LatexError, match="not found|Not reading"):
        pdf.compile_pdf(doc % f"\\input{{{secret}}}")
    with pytest.raises(LatexError, match="can't write"):
        pdf.compile_pdf(doc % f"\\newwrite\\w\\immediate\\openout\\w={written}\\immediate\\write\\w{{x}}x")
    with pytest.raises(LatexError, match="can't write"):
        pdf.compile_pdf(doc % "\\newwrite\\w\\immediate\\openout\\w=../escaped.tex\\immediate\\write\\w{x}x")
    data = pdf.compile_pdf(doc % f"x\\immediate\\write18{{touch {marker}}}\\pdfcompresslevel=0"
                                 f"[\\pdffiledump length 40 {{{secret}}}]")
    assert TOKEN.encode().hex().upper().encode() not in pdf_contents(data) and TOKEN.encode() not in pdf_contents(data)
    assert not written.exists() and not marker.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["secret.tex"]


def test_no_text_is_evaluated_in_the_package() -> None:
    """No module calls eval, exec, sympify, parse_expr or parse_latex: worksheet and answer text is
    read by the project's own parsers only (a source scan, so a new call cannot slip in)."""
    banned = {"eval", "exec", "sympify", "parse_expr", "parse_latex"}
    found = []
    for path in sorted((ROOT / "symbackprop").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if called in banned:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {called}")
    assert not found, found
