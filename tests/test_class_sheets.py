"""A class's exercise and solution sheets: one page a student for a graph of up to about 15 nodes,
an answer table without empty cells, the update: question asked, and the roster's name and email
in each header, escaped."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from golden import worksheets
from symbackprop import solve
from symbackprop.classroom.roster import read_roster
from symbackprop.errors import SymbackpropError
from symbackprop.sheets.pdf import compile_pdf

from support.cli import run_cli
from support.paths import WORKSHEETS

needs_pdf_tools = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdfinfo") is None,
                                     reason="pdflatex or pdfinfo is not installed (apt-get install texlive-latex-base "
                                     "texlive-latex-recommended texlive-fonts-recommended texlive-pictures lmodern "
                                     "poppler-utils)")
W = WORKSHEETS / "001_linear_network_random.yaml"
ROSTER = ('id,name,email\n'
          's01,Zoë Ångström,zoe@example.org\n'
          's02,"Tom & Jerry 100% \\input{x}",tom_jerry@example.org\n'
          's03,  Ada   Lovelace  ,\n')
MAX_NODES = 15  # the graphs whose exercise is promised one page


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def small(path: Path) -> bool:
    """A worksheet whose graph has at most MAX_NODES nodes besides the given names."""
    d = solve(path).derivation
    return len(set(d.graph.order) - {g.name for g in d.worksheet.given}) <= MAX_NODES


def table_rows(tex: str) -> tuple[str, list[list[str]]]:
    """The column spec and the cells of each row of an exercise's answer table."""
    found = re.search(r"\\begin\{tabularx\}\{\\linewidth\}\{([^}]*)\}\n\\hline\n(.*?)\\end\{tabularx\}", tex, re.S)
    rows = [re.sub(r"^\\rule\[[^]]*\]\{0pt\}\{[^}]*\}", "", row).removesuffix(r"\\ \hline")
            for row in found.group(2).splitlines()]
    return found.group(1), [[cell.strip() for cell in row.split("&")] for row in rows]


# -- one page a student ------------------------------------------------------------------------------
@needs_pdf_tools
@pytest.mark.parametrize("path", [p for p in worksheets() if small(p)], ids=lambda p: p.stem)
def test_a_seed_exercise_is_one_page(path, tmp_path) -> None:
    out = tmp_path / "exercise.pdf"
    out.write_bytes(compile_pdf(solve(path).exercise("tex")))
    assert pages(out) == 1


def test_every_seed_worksheet_is_small() -> None:
    assert [p.stem for p in worksheets() if not small(p)] == []  # the test above covers them all


# -- the answer table --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", worksheets(), ids=lambda p: p.stem)
def test_the_answer_table_has_no_empty_cell(path) -> None:
    sheet = solve(path).sheet
    spec, rows = table_rows(solve(path).exercise("tex"))
    per_row = 2 if sheet.symbolic or sheet.matrices else 3
    assert spec == "|" + "c|X|" * per_row
    labels = []
    for row in rows:
        pairs = [row[i:i + 2] for i in range(0, len(row), 2)]
        assert all(len(pair) == 2 for pair in pairs), row  # every question has its answer cell
        labels += [label for label, _ in pairs]
        assert all(label.startswith(r"$\displaystyle ") and len(label) > len(r"$\displaystyle $") for label, _ in pairs)
        answers = [answer for _, answer in pairs]
        assert answers[:-1] == [""] * (len(pairs) - 1)
        missing = per_row - len(pairs)  # a short last row: its last answer spans the rest
        assert answers[-1] == ("" if not missing else rf"\multicolumn{{{2 * missing + 1}}}{{l|}}{{}}")
    assert labels == [rf"$\displaystyle {q}$" for q in sheet.asked]


def test_a_short_last_row_widens_its_answer() -> None:
    _, rows = table_rows(solve(WORKSHEETS / "005_step_by_step.yaml").exercise("tex"))
    assert [len(r) for r in rows] == [6, 6, 6, 6, 6, 2]  # 16 questions, 3 a row
    assert rows[-1] == [r"$\displaystyle w_{8}^{(1)}$", r"\multicolumn{5}{l|}{}"]


def test_the_markdown_table_lists_every_question() -> None:
    solution = solve(WORKSHEETS / "003_relu_numeric.yaml")
    table = solution.exercise("md").split("| Asked | Your answer |\n|---|---|\n")[1].splitlines()
    assert table == [r"| $\frac{\partial J}{\partial w_{11}}$ | |", r"| $\frac{\partial J}{\partial w_{12}}$ | |",
                     r"| $\frac{\partial J}{\partial w_{21}}$ | |", r"| $\frac{\partial J}{\partial w_{22}}$ | |",
                     "| $w_{11}^{(1)}$ | |", "| $w_{12}^{(1)}$ | |", "| $w_{21}^{(1)}$ | |", "| $w_{22}^{(1)}$ | |",
                     "| $v_{1}^{(1)}$ | |", "| $v_{2}^{(1)}$ | |"]


# -- the update: question ----------------------------------------------------------------------------
def test_the_update_step_is_asked() -> None:
    solution = solve(WORKSHEETS / "005_step_by_step.yaml")
    assert solution.sheet.asked[8:] == tuple(f"w_{{{k}}}^{{(1)}}" for k in range(1, 9))
    sentence = ("Then take one step of gradient descent on $w_{1}, w_{2}, w_{3}, w_{4}, w_{5}, w_{6}, w_{7}, w_{8}$ "
                r"with the learning rate $\eta = 0.5$: $w_{1}^{(1)} = w_{1} - \eta \, \partial E_{\mathrm{total}} / "
                r"\partial w_{1}$, and likewise for the others.")
    for fmt in ("md", "tex"):
        text = solution.exercise(fmt)
        assert sentence in text and text.count("w_{5}^{(1)}$") == 1  # its row, once
    assert r"w_{1}^{(1)} &= w_{1} - \eta \cdot" in solution.latex()  # the solution works it out


def test_several_steps_ask_the_last(tmp_path) -> None:
    text = ("given: {x: 2, w: 1}\nnodes: {L: (w*x - 1)**2}\nupdate: {lr: 1/10, params: [w], steps: 3}\n"
            "notation: upstream\n")
    solution = solve(text)
    assert solution.sheet.asked == ("g_{x}", "g_{w}", "w^{(3)}")
    assert ("Then take 3 steps of gradient descent on $w$ with the learning rate $\\eta = \\frac{1}{10}$: "
            "$w^{(k)} = w^{(k-1)} - \\eta \\, g_{w}$ at the values of step $k - 1$, from $w^{(0)} = w$. "
            "The table asks the values after step 3.") in solution.exercise("md")


def test_no_update_asks_no_step() -> None:
    solution = solve(WORKSHEETS / "001_linear_network.yaml")
    assert solution.sheet.descent is None and "gradient descent" not in solution.exercise("tex")
    assert solution.sheet.asked == tuple(a.quantity for a in solution.sheet.answers)


# -- the roster's names in the headers ----------------------------------------------------------------
def test_the_roster_reads_names_and_emails(tmp_path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER + 's04,"Line\nbreak",x@y\n')
    students = read_roster(roster)
    assert [(s.id, s.name, s.email) for s in students] == [
        ("s01", "Zoë Ångström", "zoe@example.org"), ("s02", "Tom & Jerry 100% \\input{x}", "tom_jerry@example.org"),
        ("s03", "Ada Lovelace", ""), ("s04", "Line break", "x@y")]
    roster.write_text("id\ns1\n")
    assert [(s.id, s.name, s.email) for s in read_roster(roster)] == [("s1", "", "")]
    roster.write_text("id,name\ns1,Ada\ns2," + "x" * 201 + "\n")
    with pytest.raises(SymbackpropError, match="the name is longer than 200 characters") as caught:
        read_roster(roster)
    assert caught.value.line == 3


def test_names_and_emails_head_each_sheet_escaped(tmp_path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER)
    out = tmp_path / "class"
    proc = run_cli("variants", str(W), "--roster", str(roster), "--seed", "4", "-o", str(out), "--format", "md,tex")
    assert proc.returncode == 0, proc.stderr
    for kind in ("exercises", "solutions"):
        tex = {sid: (out / kind / f"{sid}.tex").read_text() for sid in ("s01", "s02", "s03")}
        md = {sid: (out / kind / f"{sid}.md").read_text() for sid in ("s01", "s02", "s03")}
        assert r"\textbf{Student:} Zoë Ångström\hfill zoe@example.org\par" in tex["s01"]
        assert r"\markright{Zoë Ångström}" in tex["s01"]
        assert (r"\textbf{Student:} Tom \& Jerry 100\% \textbackslash{}input\{x\}\hfill tom\_jerry@example.org\par"
                in tex["s02"])
        assert r"\input{x}" not in tex["s02"] and "100% " not in tex["s02"]
        assert r"\textbf{Student:} Ada Lovelace\hfill \par" in tex["s03"]
        assert "\n**Student:** Zoë Ångström · zoe@example.org\n" in md["s01"]
        assert "\n**Student:** Tom &amp; Jerry 100% \\\\input{x} · tom\\_jerry@example.org\n" in md["s02"]
        assert "\n**Student:** Ada Lovelace\n" in md["s03"]


def test_a_numbered_class_has_no_student_line(tmp_path) -> None:
    out = tmp_path / "class"
    assert run_cli("variants", str(W), "-n", "2", "--seed", "4", "-o", str(out), "--format", "md,tex").returncode == 0
    for path in sorted(out.rglob("*.md")) + sorted(out.rglob("*.tex")):
        assert "Student:" not in path.read_text() and r"\markright" not in path.read_text()


@needs_pdf_tools
def test_a_class_prints_a_page_a_student(tmp_path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER)
    out = tmp_path / "class"
    proc = run_cli("variants", str(W), "--roster", str(roster), "--seed", "4", "-o", str(out), "--format", "tex,pdf",
                   timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert [pages(out / "exercises" / f"{sid}.pdf") for sid in ("s01", "s02", "s03")] == [1, 1, 1]
    assert pages(out / "exercises.pdf") == 3
    solutions = [pages(out / "solutions" / f"{sid}.pdf") for sid in ("s01", "s02", "s03")]
    assert pages(out / "solutions.pdf") == sum(solutions)
    combined = (out / "exercises.pdf").read_bytes()
    assert combined.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(out / "exercises.pdf"), "-"], capture_output=True, text=True).stdout
    assert [page.split("Student: ")[1].split("\n")[0].split(" ")[0:2] for page in text.split("\f")[:3]] == [
        ["Zoë", "Ångström"], ["Tom", "&"], ["Ada", "Lovelace"]]
