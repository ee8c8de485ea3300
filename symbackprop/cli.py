"""The command line: a thin layer over the library; every user mistake is one line and exit 2."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterator

import click

from . import __version__
from .api import Solution, solve as solve_worksheet, with_numbers
from .errors import ExpressionError, LatexError, SymbackpropError
from .language.expr import exact_number
from .sheets.pdf import compile_pdf
from .textfile import write_atomically as write_file
from .worksheet.read import DIGITS, NUMBERS, Worksheet, load

if TYPE_CHECKING:
    from sympy import Rational

EXAMPLES = """
\b
Examples:
  symbackprop solve worksheets/001_linear_network.yaml
  symbackprop solve worksheets/001_linear_network.yaml --format tex -o sheet.tex
  symbackprop solve worksheets/004_softmax_choose.yaml --format json
  symbackprop solve worksheets/001_linear_network.yaml --notation upstream
  symbackprop solve worksheets/001_linear_network.yaml --format pdf -o sheet.pdf --figure-values
  symbackprop solve worksheets/004_linear_softmax_l2.yaml --expand "W[1,2]"
  symbackprop exercise worksheets/000_edge_graph.yaml --format pdf -o exercise.pdf
  symbackprop doctor
"""


def output_folder(path: str) -> Path:
    """The folder that ``-o path`` writes into; ``path`` naming a folder, or a missing folder, is a mistake."""
    target = Path(path)
    if target.is_dir():
        raise SymbackpropError("is a folder; -o takes a file name", path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise SymbackpropError("the folder to write into does not exist", path)
    return folder


def write_atomically(path: str, text: str | bytes) -> None:
    """Write ``path`` (its folder checked first) through a temporary file: never a half-written file."""
    output_folder(path)
    write_file(path, text)


def emit(text: str, output: str | None) -> None:
    if output:
        write_atomically(output, text)
    else:
        click.echo(text, nl=False)


def emit_pdf(tex: str, output: str | None) -> None:
    """Compile ``tex`` into ``output``; after a LaTeX error the .tex and its log stay beside it."""
    if not output:
        raise SymbackpropError("a PDF is binary and never goes to the terminal: give -o FILE.pdf", "--format pdf")
    output_folder(output)
    try:
        pdf = compile_pdf(tex)
    except LatexError as exc:
        kept = Path(output).with_suffix(".failed.tex")
        log = kept.with_suffix(".log")
        write_atomically(str(kept), tex)
        write_atomically(str(log), exc.log)
        exc.message += f" (the LaTeX is kept in {kept}, its log in {log})"
        raise exc.located(str(kept)) from None
    except SymbackpropError as exc:
        raise exc.located(output) from None
    write_atomically(output, pdf)


def warn(ws: Worksheet) -> Worksheet:
    """Print the worksheet's warnings on stderr, one line each (the run goes on); return it."""
    for caution in ws.warnings:
        click.echo(f"symbackprop: {caution}", err=True)
    return ws


def emit_document(solution: Solution, document: str, fmt: str, output: str | None) -> None:
    """The solution ``sheet`` or the ``exercise`` in one format, to ``output`` or stdout."""
    if fmt == "pdf":
        emit_pdf(solution.exercise("tex") if document == "exercise" else solution.latex(), output)
    else:
        emit(solution.exercise(fmt) if document == "exercise" else solution.render(fmt), output)


@click.group(epilog=EXAMPLES)
@click.version_option(__version__, prog_name="symbackprop")
def cli() -> None:
    """Exact, step-by-step worked solutions of backpropagation exercises."""


FIGURE = click.option("--figure/--no-figure", default=True, show_default=True,
                      help="Draw the computational graph (TikZ in LaTeX and PDF, Mermaid in Markdown).")
NUMBERS_OPTION = click.option("--numbers", type=click.Choice(NUMBERS),
                              help="How the sheet writes numbers (overrides the worksheet's numbers:): exactly, "
                                   "as decimals, or auto, exact while the exact form is short.")
DECIMALS_OPTION = click.option("--decimals", type=click.IntRange(DIGITS.start, DIGITS[-1]),
                               help="Significant digits of every decimal the sheet shows (overrides decimals:).")


@cli.command(epilog=EXAMPLES)
@click.argument("worksheet", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "tex", "json", "pdf"]), default="md", show_default=True,
              help="Markdown sheet, LaTeX document, JSON values, or PDF (compiled with pdflatex; needs -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout.")
@click.option("--notation", type=click.Choice(["leibniz", "upstream"]), help="Override the worksheet's notation.")
@click.option("--templates", type=click.Path(file_okay=False), help="A folder of templates that override the built-in ones.")
@FIGURE
@click.option("--figure-values", is_flag=True, help="In the figure, each node's forward value above it and its gradient below.")
@click.option("--expand", multiple=True, metavar="NAME[i,j]",
              help="Matrices: write the gradient of this entry (row i, column j, from 1) as a scalar chain rule. "
                   "Repeatable.")
@NUMBERS_OPTION
@DECIMALS_OPTION
def solve(worksheet: str, fmt: str, output: str | None, notation: str | None, templates: str | None,
          figure: bool, figure_values: bool, expand: tuple[str, ...], numbers: str | None,
          decimals: int | None) -> None:
    """Solve WORKSHEET and print its worked solution (in matrix notation when it gives matrices)."""
    solution = solve_worksheet(Path(worksheet), notation=notation, templates=templates, figure=figure,
                               figure_values=figure_values, expand=expand, numbers=numbers, decimals=decimals)
    warn(solution.derivation.worksheet)
    emit_document(solution, "sheet", fmt, output)


@cli.command(epilog=EXAMPLES)
@click.argument("worksheet", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "tex", "pdf"]), default="md", show_default=True,
              help="Markdown, LaTeX document, or PDF (compiled with pdflatex; needs -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout.")
@click.option("--notation", type=click.Choice(["leibniz", "upstream"]), help="Override the worksheet's notation.")
@click.option("--templates", type=click.Path(file_okay=False), help="A folder of templates that override the built-in ones.")
@FIGURE
@NUMBERS_OPTION
@DECIMALS_OPTION
def exercise(worksheet: str, fmt: str, output: str | None, notation: str | None, templates: str | None,
             figure: bool, numbers: str | None, decimals: int | None) -> None:
    """Print WORKSHEET as an exercise: the graph with the given values, what is asked, an empty answer table."""
    solution = solve_worksheet(Path(worksheet), notation=notation, templates=templates, figure=figure,
                               numbers=numbers, decimals=decimals)
    warn(solution.derivation.worksheet)
    emit_document(solution, "exercise", fmt, output)


@cli.command()
def doctor() -> None:
    """List the optional tools (pdflatex, poppler, ...) and TeX packages found, with their versions."""
    from .doctor import report as doctor_report
    click.echo(doctor_report(), nl=False)


VARIANT_EXAMPLES = """
\b
Examples:
  symbackprop variants worksheets/001_linear_network_random.yaml -n 30 --seed 2024 -o class/
  symbackprop variants W.yaml --roster students.csv --seed 2024 -o class/ --format md,tex,pdf
  symbackprop variants W.yaml -n 200 --seed 7 -o quiz/ --moodle --qti --ask w1
  symbackprop stress worksheets/001_linear_network_random.yaml -n 1000
"""
PROGRESS_MIN = 20  # variants from which a progress bar is shown
MAX_VARIANTS = 100_000


@contextmanager
def progress(n: int, label: str = "Drawing variants") -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for ``n`` variants (or students), when there are PROGRESS_MIN or more and stderr is a
    terminal (a log keeps its one line a message)."""
    stderr = click.get_text_stream("stderr")
    if n < PROGRESS_MIN or not stderr.isatty():
        yield None
        return
    with click.progressbar(length=n, label=label, file=stderr) as bar:
        yield bar.update


def names_option(text: str | None, option: str, known: tuple[str, ...] | None = None) -> tuple[str, ...] | None:
    """A comma-separated option (``md,tex``), each item checked against ``known`` when given."""
    if text is None:
        return None
    items = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    for item in items:
        if known is not None and item not in known:
            raise SymbackpropError(f"'{item}' is not one of {', '.join(known)}", option)
    if not items:
        raise SymbackpropError("expected a comma-separated list", option)
    return items


def percent(text: str) -> Rational:
    """``--tolerance``: a percentage, read exactly, as a fraction (1 → 1/100)."""
    try:
        value = exact_number(text.strip().removesuffix("%"))
    except (ValueError, ZeroDivisionError, ExpressionError):
        raise SymbackpropError(f"'{text}' is not a number (a percentage such as 1 or 0.5)", "--tolerance") from None
    if not 0 <= value <= 100:
        raise SymbackpropError("expected a percentage from 0 to 100", "--tolerance")
    return value / 100


def scale_factor(text: str) -> Rational:
    """``--scale``: a positive number, read exactly (1000, 1e3)."""
    try:
        value = exact_number(text.strip())
    except (ValueError, ZeroDivisionError, ExpressionError):
        value = None
    if value is None or not value > 0:
        raise SymbackpropError(f"'{text}' is not a positive number (e.g. 1000)", "--scale")
    return value


@cli.command(epilog=VARIANT_EXAMPLES)
@click.argument("worksheet", type=click.Path(dir_okay=False))
@click.option("-n", "count", type=click.IntRange(1, MAX_VARIANTS), help="How many variants: ids 1 to N.")
@click.option("--roster", type=click.Path(dir_okay=False),
              help="A CSV file with an id column: a variant per student (name, email: printed on their sheets).")
@click.option("--seed", type=int, required=True, help="The class's seed: the same seed gives the same variants.")
@click.option("-o", "--output", type=click.Path(file_okay=False), required=True,
              help="The folder to write (replaced as a whole, never mixed with an earlier run).")
@click.option("--format", "formats", default="md,tex", show_default=True, help="Sheet formats, comma-separated: md, tex, pdf.")
@click.option("--sheets", default="exercise,solution", show_default=True,
              help="Which sheets to write for each variant, comma-separated.")
@click.option("--moodle", is_flag=True, help="Also write moodle.xml: a Moodle XML quiz, a Cloze question a variant.")
@click.option("--qti", is_flag=True, help="Also write qti.zip: a QTI 1.2 quiz for Canvas, a question group per asked gradient.")
@click.option("--prairielearn", is_flag=True,
              help="Also write prairielearn/QID/: a PrairieLearn question that serves one variant per student.")
@click.option("--gradescope", is_flag=True,
              help="Also write gradescope.zip: a Gradescope autograder that grades each student's own variant.")
@click.option("--visibility", type=click.Choice(["hidden", "after_due_date", "after_published", "visible"]),
              default="after_due_date", show_default=True, help="Gradescope: when students see each gradient's result.")
@click.option("--ask", help="The gradients the LMS asks, comma-separated (default: all the worksheet asks).")
@click.option("--scale", default="1", show_default=True,
              help="The LMS asks for SCALE times each gradient (e.g. 1000: Canvas rounds answers below 1e-4 to 0).")
@click.option("--tolerance", default="1", show_default=True, help="The LMS accepts the answer within this percent of it.")
@click.option("--notation", type=click.Choice(["leibniz", "upstream"]), help="Override the worksheet's notation.")
@click.option("--templates", type=click.Path(file_okay=False), help="A folder of templates that override the built-in ones.")
@click.option("-j", "--jobs", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Processes; 0: one per core from 40 variants.")
@NUMBERS_OPTION
@DECIMALS_OPTION
def variants(worksheet: str, count: int | None, roster: str | None, seed: int, output: str, formats: str,
             sheets: str, moodle: bool, qti: bool, prairielearn: bool, gradescope: bool, visibility: str,
             ask: str | None, scale: str, tolerance: str, notation: str | None, templates: str | None, jobs: int,
             numbers: str | None, decimals: int | None) -> None:
    """Write a class's variants of WORKSHEET: for each an exercise and a solution sheet, and the answer key."""
    # The commands beyond solve import their modules when they run, so that solve starts fast.
    from .classroom.roster import numbered, read_roster
    from .classroom.folder import FORMATS, SHEETS, Request, write as write_variants
    from .classroom.variants import plan as variant_plan, warnings as variant_warnings
    from .classroom.lms import warnings as lms_warnings
    if (count is None) == (roster is None):
        raise SymbackpropError("give either -n N (variants 1 to N) or --roster FILE (a variant per student)",
                               worksheet)
    students = read_roster(roster) if roster else numbered(count)
    request = Request(names_option(formats, "--format", FORMATS), names_option(sheets, "--sheets", tuple(SHEETS)),
                      templates, notation, moodle, qti, names_option(ask, "--ask"), percent(tolerance),
                      prairielearn, gradescope, visibility, scale_factor(scale))
    p = variant_plan(with_numbers(warn(load(worksheet)), numbers, decimals), seed)
    with progress(len(students)) as bar:
        result = write_variants(p, students, roster is None, request, output, jobs, bar)
    lms = lms_warnings([m.item for m in result.results], request.qti)
    for line in variant_warnings(p, result) + lms:
        click.echo(f"symbackprop: {worksheet}: warning: {line}", err=True)


@cli.command(epilog=VARIANT_EXAMPLES)
@click.argument("worksheet", type=click.Path(dir_okay=False))
@click.option("-n", "count", type=click.IntRange(1, MAX_VARIANTS), default=1000, show_default=True,
              help="How many variants to draw.")
@click.option("--seed", type=int, default=0, show_default=True, help="The seed (the variants of `variants --seed`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here (atomically) instead of stdout.")
@click.option("-j", "--jobs", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Processes; 0: one per core from 40 variants.")
def stress(worksheet: str, count: int, seed: int, output: str | None, jobs: int) -> None:
    """Draw many variants of WORKSHEET and report rejections, ranges, kinks and degenerate variants."""
    from .classroom.stress import stress as stress_report
    from .classroom.variants import plan as variant_plan
    p = variant_plan(warn(load(worksheet)), seed)
    with progress(count) as bar:
        report = stress_report(p, count, jobs, bar)
    emit(report, output)


CHECK_EXAMPLES = """
\b
Examples:
  symbackprop check worksheets/001_linear_network.yaml notes.md
  symbackprop check worksheets/004_softmax_choose.yaml notes.md --format json -o check.json
  symbackprop check worksheets/000_edge_graph.yaml notes.tex --format md -o marked.md
  symbackprop check worksheets/005_step_by_step.yaml notes.md --tolerance 0.01
  symbackprop check worksheets/001_linear_network_random.yaml notes.md --variant 7 --seed 2024 -n 30
"""


@cli.command("check", epilog=CHECK_EXAMPLES)
@click.argument("worksheet", type=click.Path(dir_okay=False))
@click.argument("answer", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "md", "tex", "json"]), default="text", show_default=True,
              help="Terminal text, Markdown or LaTeX (the lines marked), or JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout.")
@click.option("--tolerance", metavar="R",
              help="Also accept every number within this relative tolerance of the right value (0.01: 1 %). "
                   "Default: a decimal is right when it is the right value rounded to its digits.")
@click.option("--variant", metavar="ID", help="Check against this student's variant of WORKSHEET (needs --seed and "
                                               "-n or --roster, as given to variants).")
@click.option("--seed", type=int, help="With --variant: the class's seed.")
@click.option("--roster", type=click.Path(dir_okay=False), help="With --variant: the class's roster.")
@click.option("-n", "count", type=click.IntRange(1, MAX_VARIANTS), help="With --variant: the class's variants 1 to N.")
def check(worksheet: str, answer: str, fmt: str, output: str | None, tolerance: str | None, variant: str | None,
          seed: int | None, roster: str | None, count: int | None) -> None:
    """Check the derivation in ANSWER (Markdown with $$ math, or LaTeX) against WORKSHEET, line by line.
    Exit code 0: every readable claim is right; 1: a mistake was found; 2: bad input."""
    from .api import check as check_answer
    from .check.report import to_document, to_json, to_text
    report = check_answer(Path(worksheet), Path(answer), tolerance=tolerance, variant=variant, seed=seed,
                          roster=roster, n=count)
    if fmt == "json":
        text = to_json(report)
    elif fmt == "text":
        text = to_text(report, colour=not output and click.get_text_stream("stdout").isatty())
    else:
        text = to_document(report, fmt)
    emit(text, output)
    if report.mistaken:
        sys.exit(1)


GRADE_EXAMPLES = """
\b
Examples:
  symbackprop grade class/ submissions/ -o grades/
  symbackprop grade class/ submissions/ -o grades/ --format md,pdf --ecf-credit 0.5
  symbackprop grade class/ submissions/ -o grades/ --canvas-csv canvas.csv --moodle-csv moodle.csv --assignment "Backprop 1"
"""


@cli.command("grade", epilog=GRADE_EXAMPLES)
@click.argument("class_dir", type=click.Path(file_okay=False))
@click.argument("submissions", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(file_okay=False), required=True,
              help="The folder to write: grades.csv, grades.json, summary.md, feedback/ID.md.")
@click.option("--ecf-credit", type=click.Choice(["1", "0.5", "0"]), default="1", show_default=True,
              help="The share of its points an answer wrong only through an earlier mistake (ECF) earns.")
@click.option("--format", "formats", default="md", show_default=True, help="Feedback formats, comma-separated: md, pdf.")
@click.option("--tolerance", metavar="R", help="Also accept every number within this relative tolerance (as check).")
@click.option("--canvas-csv", type=click.Path(dir_okay=False), help="Also write Canvas's gradebook import here.")
@click.option("--moodle-csv", type=click.Path(dir_okay=False), help="Also write Moodle's grade import here.")
@click.option("--assignment", help="The assignment's column in the gradebook imports (default: the worksheet's title).")
def grade(class_dir: str, submissions: str, output: str, ecf_credit: str, formats: str, tolerance: str | None,
          canvas_csv: str | None, moodle_csv: str | None, assignment: str | None) -> None:
    """Grade SUBMISSIONS (one file a student, named by id) against each student's own variant in
    CLASS_DIR (written by `variants`). Exit code 0: every student has a row; 2: bad input."""
    from .api import grade as grade_class
    from .classroom.gradebook import summary_lines
    from .classroom.grading import read_class
    fmts = names_option(formats, "--format", ("md", "pdf"))
    count = len(read_class(class_dir).students)
    with progress(count, "Grading") as bar:
        result = grade_class(class_dir, submissions, output, ecf_credit, tolerance, fmts, canvas_csv, moodle_csv,
                             assignment, bar)
    for line in result.warnings:
        click.echo(f"symbackprop: {line}", err=True)
    click.echo("\n".join(summary_lines(result.summary)), err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; the project's errors become one line on stderr and exit code 2."""
    try:
        cli.main(args=argv, prog_name="symbackprop", standalone_mode=False)
    except SymbackpropError as exc:
        click.echo(f"symbackprop: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("symbackprop: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except (RecursionError, MemoryError):
        click.echo("symbackprop: the input is too large or too deeply nested", err=True)
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(0)
