"""The command line: a thin layer over the library; every user mistake is one line and exit 2."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .api import solve as solve_worksheet
from .errors import SymbackpropError

EXAMPLES = """
\b
Examples:
  symbackprop solve worksheets/001_linear_network.yaml
  symbackprop solve worksheets/001_linear_network.yaml --format tex -o sheet.tex
  symbackprop solve worksheets/004_softmax_choose.yaml --format json
  symbackprop solve worksheets/001_linear_network.yaml --notation upstream
"""


def write_atomically(path: str, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    target = Path(path)
    if target.is_dir():
        raise SymbackpropError("is a folder; -o takes a file name", path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise SymbackpropError("the folder to write into does not exist", path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + target.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(text: str, output: str | None) -> None:
    if output:
        write_atomically(output, text)
    else:
        click.echo(text, nl=False)


@click.group(epilog=EXAMPLES)
@click.version_option(__version__, prog_name="symbackprop")
def cli() -> None:
    """Exact, step-by-step worked solutions of backpropagation exercises."""


@cli.command(epilog=EXAMPLES)
@click.argument("worksheet", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "tex", "json"]), default="md", show_default=True,
              help="Markdown sheet, LaTeX document, or JSON values.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout.")
@click.option("--notation", type=click.Choice(["leibniz", "upstream"]), help="Override the worksheet's notation.")
@click.option("--templates", type=click.Path(file_okay=False), help="A folder of templates that override the built-in ones.")
def solve(worksheet: str, fmt: str, output: str | None, notation: str | None, templates: str | None) -> None:
    """Solve WORKSHEET and print its worked solution."""
    solution = solve_worksheet(Path(worksheet), notation=notation, templates=templates)
    emit(solution.render(fmt), output)


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
