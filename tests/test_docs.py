"""The documentation stays true: every ``symbackprop`` command in a ```sh block of README.md and
docs/*.md runs with the exit code it documents, the Python examples run and give the values their
comments state, and every relative link (and its #anchor) resolves.

A command's expected exit code is 0 unless its comment says ``exit code N``. Commands run from the
root of the checkout (the worksheets and docs/examples/ as they are); what they write with ``-o``
goes to a temporary folder instead.
"""
from __future__ import annotations

import ast
import io
import re
import shlex
import shutil
import tokenize
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.cli import run_cli
from support.paths import ROOT

DOCS = ROOT / "docs"
PAGES = (ROOT / "README.md", *sorted(DOCS.glob("*.md")))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
COMMANDS = ("solve", "exercise", "check", "variants", "grade", "stress", "doctor")


def blocks(page: Path, language: str) -> list[tuple[int, str]]:
    """The fenced blocks of ``language`` in ``page``, each with the line its text starts on."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text) if m.group(1) == language]


@dataclass(frozen=True)
class Command:
    where: str  # page:line, for the test's id
    args: tuple[str, ...]  # after "symbackprop"
    code: int  # the exit code the comment documents (0 unless it says "exit code N")


def documented_commands() -> list[Command]:
    """Every ``symbackprop …`` command line of a sh block, the same command listed once."""
    found: dict[tuple[tuple[str, ...], int], Command] = {}
    for page in PAGES:
        for start, body in blocks(page, "sh"):
            for offset, line in enumerate(body.splitlines()):
                command, _, comment = line.partition(" # ")
                code = re.search(r"exit code (\d+)", comment)
                for part in command.split("&&"):
                    words = shlex.split(part)
                    if words[:1] == ["symbackprop"]:
                        cmd = Command(f"{page.relative_to(ROOT)}:{start + offset}", tuple(words[1:]),
                                      int(code.group(1)) if code else 0)
                        found.setdefault((cmd.args, cmd.code), cmd)
    return list(found.values())


DOCUMENTED = documented_commands()


def test_the_commands_are_found() -> None:
    assert len(DOCUMENTED) >= 20
    readme = {c.args[0] for c in DOCUMENTED if c.where.startswith("README.md")}
    assert set(COMMANDS) <= readme, "the README tours every command"


def test_the_readme_is_a_landing_page() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


@pytest.mark.parametrize("cmd", DOCUMENTED, ids=[f"{c.where} {' '.join(c.args[:2])}" for c in DOCUMENTED])
def test_documented_command(cmd: Command, tmp_path: Path) -> None:
    args = list(cmd.args)
    outputs = []
    for i, arg in enumerate(args[:-1]):
        if arg in ("-o", "--output"):
            args[i + 1] = str(tmp_path / Path(args[i + 1]).name)
            outputs.append(Path(args[i + 1]))
    formats = args[args.index("--format") + 1].split(",") if "--format" in args else []
    if "pdf" in formats and shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not on PATH")
    proc = run_cli(*args, timeout=120)
    assert proc.returncode == cmd.code, f"{cmd.where}: exit code {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert proc.stdout or outputs, "a command prints or writes something"
    for out in outputs:
        assert out.exists(), f"{cmd.where}: {out.name} was not written"


def python_examples() -> list[tuple[str, str]]:
    """The ```python blocks of the pages, but the IPython sessions (``In [1]:``)."""
    return [(f"{page.relative_to(ROOT)}:{line}", body) for page in PAGES for line, body in blocks(page, "python")
            if "In [" not in body]


def value_comments(source: str) -> dict[int, str]:
    """The trailing comments that state a value (``# '4'``, ``# -12, a SymPy Integer``), by line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if re.match(r"['\"\-\d]|Matrix\(", text):
                out[tok.start[0]] = text
    return out


@pytest.mark.parametrize("where,source", python_examples(), ids=[w for w, _ in python_examples()])
def test_python_example(where: str, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    stated = value_comments(source)
    namespace: dict[str, object] = {}
    checked = 0
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Expr):
            value = eval(compile(ast.Expression(stmt.value), where, "eval"), namespace)
            if stmt.lineno in stated:
                assert stated[stmt.lineno].startswith((repr(value), str(value))), \
                    f"{where}, line {stmt.lineno}: {value!r}, the comment says {stated[stmt.lineno]}"
                checked += 1
        else:
            exec(compile(ast.Module([stmt], []), where, "exec"), namespace)
    assert checked == len(stated)


def test_the_first_worksheet_is_shown_as_it_is() -> None:
    shown = [body for _, body in blocks(DOCS / "index.md", "yaml")]
    assert (DOCS / "examples" / "first_worksheet.yaml").read_text(encoding="utf-8") in shown


def slugs(page: Path) -> set[str]:
    """The anchors of the page's headings, as both MkDocs (Python-Markdown's toc) and GitHub make
    them: a link into the documentation works on the site and on GitHub alike."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    mkdocs, github = set(), set()
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
        ascii_ = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
        mkdocs.add(re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", ascii_).strip().lower()))
        github.add(re.sub(r"[^\w\- ]", "", plain.strip().lower()).replace(" ", "-"))
    return mkdocs & github


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", [*PAGES, *sorted((DOCS / "examples").glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"`[^`\n]*`", "", FENCE.sub("", page.read_text(encoding="utf-8")))
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: {target} does not exist"
        if anchor:
            assert file.suffix == ".md" and anchor in slugs(file), f"{page.name}: no heading #{anchor} in {file.name}"
