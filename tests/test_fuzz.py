"""Fuzzing the worksheet loader and the expression parser with Hypothesis: every input ends in a
result or in the project's own error (a SymbackpropError: at the command line, one line and exit
code 2) — no other exception, no input running past a time bound, no memory past a bound.

The runs are deterministic (``derandomize=True``, no example database): CI sees the same inputs
every time. SYMBACKPROP_FUZZ=10 runs ten times as many. Inputs that once failed are kept in
tests/fuzz_corpus/ and replayed by ``test_corpus_*`` (add a file there for every bug found).

What is generated:

- expressions: any text (weighted toward the language's characters) through ``expr.parse``;
  grammar-built expressions (every function, right and wrong arities, numbers written every
  way Python reads them, huge and tiny, names known and unknown) as nodes of a worksheet, solved
  and rendered as Markdown, LaTeX and JSON at numbers that put them inside and outside their
  domains;
- worksheets: any text through ``worksheet.loads``; YAML built from the format's keys with
  values of every YAML kind; the seed worksheets mutated (characters inserted, deleted,
  replaced, lines swapped) and solved.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from symbackprop.language import expr as E
from symbackprop.api import solve
from symbackprop.engine.derive import derive
from symbackprop.errors import ExpressionError, SymbackpropError
from symbackprop.worksheet.read import KEYS, loads

from support.paths import ROOT, WORKSHEETS

SCALE = int(os.environ.get("SYMBACKPROP_FUZZ", "1"))
CORPUS = Path(__file__).parent / "fuzz_corpus"
TIME_BOUND = 10.0  # seconds an input may take, to a result or an error
MEMORY_BOUND = 2 << 30  # bytes of address space the fuzzing may add to the process
RUN: Counter = Counter()  # inputs run, by test
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="symbackprop-hypothesis-"))  # no .hypothesis/ in the tree


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


class TooSlow(BaseException):
    """An input ran past TIME_BOUND (BaseException: no except clause of the engine swallows it)."""


@contextmanager
def bounded(what: str):
    """Run one input under a time bound (SIGALRM); any exception but the project's is a failure."""
    def alarm(signum, frame):
        raise TooSlow(f"{what}: still running after {TIME_BOUND} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_BOUND)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would be a second line on stderr
            yield
    except SymbackpropError as exc:
        assert str(exc), "an error without a message"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module", autouse=True)
def memory_bound():
    """The address space the process may grow by while fuzzing: an input that needs more gets a
    MemoryError, which fails its test (the engine must refuse such inputs with its own error)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[0]) * resource.getpagesize()
    limit = used + MEMORY_BOUND
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run_worksheet(text: str, render: bool = True) -> bool:
    """Load, derive and (when ``render``) write every output of one worksheet text; whether it
    gave a result (not an error)."""
    solved = False
    with bounded(text[:200]):
        ws = loads(text, "fuzz.yaml")
        d = derive(ws)
        if render:
            solution = solve(ws)
            assert solution.derivation.gradient(d.loss) == 1
            for fmt in ("md", "tex", "json"):
                assert solution.render(fmt)
            solution.exercise("md")
        solved = True
    return solved


# -- expressions ------------------------------------------------------------------------------------

EXPR_CHARS = st.sampled_from(list("xwab01234567899.+-*/()**, eEj_^%@[]{}:;'\"\\ \t\n<>=!~&|#$") +
                             ["exp(", "log(", "log10(", "sqrt(", "abs(", "max(", "min(", "relu(",
                              "leaky_relu(", "sigmoid(", "tanh(", "choose(", "lambda", " if ", " for ",
                              "__import__", "0x", "1e", "1e999", "**9**9", "\x00", "\u00e9", "\U0001F600"])
ANY_EXPR_TEXT = st.one_of(st.text(max_size=60), st.lists(EXPR_CHARS, max_size=30).map("".join))


@fuzz_settings(2000)
@given(ANY_EXPR_TEXT)
def test_parser_on_any_text(text):
    RUN["parser: any text"] += 1
    with bounded(repr(text)):
        try:
            tree = E.parse(text)
        except ExpressionError:
            return
        assert isinstance(tree, (E.Num, E.Name, E.Apply))
        E.names(tree)


NUMBERS = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["0", "0.0", "1e3", "1E-3", "2.5e+2", ".5", "5.", "1_000", "0.1", "1e400", "1e-400",
                     "9" * 400, "0." + "0" * 300 + "1", "1e999999999", "0x1f", "0o7", "0b11", "1j", "3/4",
                     "1e1_0"]),
    st.fractions(max_denominator=50).map(lambda q: f"({q})"),
)
NAMES = st.sampled_from(["x", "w", "b", "z", "y", "q"])  # q is undefined
TRICKY = st.sampled_from([  # values at the edges of exact arithmetic and of the printers
    "log(4) - 2*log(2)", "sqrt(2)**2 - 2", "exp(exp(exp(5)))", "10**10**10", "sigmoid(1e400)", "(-8)**(1/3)",
    "0**0", "x**x", "x**-1", "choose(x, 1, 2)", "max(x, x)", "abs(x)**0.5", "log(exp(x))", "tanh(10**6)",
    "(1e-300)**-1", "exp(100000)", "x**1e4", "(-2)**x", "0**x", "leaky_relu(x, x)", "log(x, x)",
    "sigmoid(x)**1e3", "relu(x)**7", "x*1e-400", "sqrt(1e-400)", "choose(1, x, w)**20", "abs(w - w)"])
FUNCTIONS = ["exp", "log", "log10", "sqrt", "abs", "max", "min", "relu", "leaky_relu", "sigmoid", "tanh",
             "choose", "foo", "print"]


def _call(fn: str, args: list[str]) -> str:
    return f"{fn}({', '.join(args)})"


EXPRESSIONS = st.recursive(
    st.one_of(NUMBERS, NAMES, TRICKY),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "**", "^", "//"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, min_size=0, max_size=4)).map(lambda t: _call(*t)),
        inner.map(lambda e: f"-({e})"),
    ),
    max_leaves=12,
)
GIVEN_VALUES = st.sampled_from(["0", "1", "-1", "2", "0.5", "-3/2", "1e-3", "100", "~", "log(2)", "sqrt(2)",
                                "1/3", "10**20", "exp(50)"])


@fuzz_settings(400)
@given(st.lists(EXPRESSIONS, min_size=1, max_size=3), st.lists(GIVEN_VALUES, min_size=4, max_size=4))
def test_expressions_solved_and_rendered(nodes, values):
    RUN["expressions: solved and rendered"] += 1
    given = "".join(f"  {n}: {v!s}\n" for n, v in zip("xwby", values))
    body = "".join(f"  n{i}: {yaml.safe_dump(e, width=10**6).strip().removesuffix('...').strip()}\n"
                   for i, e in enumerate(nodes))
    RUN["expressions: solved and rendered (a result)"] += run_worksheet(f"given:\n{given}nodes:\n{body}")


# -- worksheets ------------------------------------------------------------------------------------

@fuzz_settings(1500)
@given(st.text(max_size=300))
def test_loader_on_any_text(text):
    RUN["loader: any text"] += 1
    RUN["loader: any text (a result)"] += run_worksheet(text, render=False)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True),
                    st.text(max_size=20), NUMBERS, EXPRESSIONS, NAMES,
                    st.sampled_from(["L", "x -> y", "leibniz", "upstream", "a4", "letter", "\\hat{y}",
                                     "\\input{/etc/passwd}", "<b>x</b>", "all answers integers", "grad(x) > 0"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(NAMES, st.text(max_size=8), st.sampled_from(["x -> y", "y -> z", "integers",
                                                                          "choice", "name", "of"])),
                    inner, max_size=3)), max_leaves=8)
STRUCTURED = st.one_of(  # often a worksheet that reaches the sheets, sometimes one key off
    st.just({}), st.dictionaries(st.sampled_from(["loss", "wrt", "decimals", "notation", "relu_grad_at_zero"]),
                                 st.one_of(NAMES, st.sampled_from(["L", "h", "a", "1/2", "4", "upstream"])), max_size=2),
    st.dictionaries(st.sampled_from(list(KEYS) + ["nodse", "x"]), VALUES, max_size=7))


@fuzz_settings(500)
@given(STRUCTURED, st.dictionaries(NAMES, GIVEN_VALUES, max_size=4), st.dictionaries(
    st.sampled_from(["a", "h", "L", "x"]), EXPRESSIONS, min_size=1, max_size=3))
def test_structured_worksheets(extra, given_, nodes):
    RUN["loader: YAML of the format's keys"] += 1
    doc = {"given": {k: (None if v == "~" else v) for k, v in given_.items()}, "nodes": nodes, **extra}
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return
    RUN["loader: YAML of the format's keys (a result)"] += run_worksheet(text)


SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(WORKSHEETS.glob("*.yaml"))]
EDIT = st.tuples(st.sampled_from(["insert", "delete", "replace", "swap"]), st.integers(0, 4000),
                 st.integers(1, 8), st.text(alphabet=st.sampled_from(list(" \n\t:-[]{}#&*!|>'\"0123456789.,"
                                                                     "abcxyzLw()^+/~?%@`\\")), max_size=6))


def mutate(text: str, edits) -> str:
    for kind, at, n, chars in edits:
        at %= max(1, len(text))
        if kind == "insert":
            text = text[:at] + chars + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + n:]
        elif kind == "replace":
            text = text[:at] + chars + text[at + len(chars):]
        else:
            lines = text.split("\n")
            i, j = at % len(lines), (at + n) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@fuzz_settings(400)
@given(st.sampled_from(range(len(SEED_TEXTS))), st.lists(EDIT, min_size=1, max_size=4))
def test_seed_worksheets_mutated(which, edits):
    RUN["loader: seed worksheets mutated"] += 1
    RUN["loader: seed worksheets mutated (a result)"] += run_worksheet(mutate(SEED_TEXTS[which], edits))


# -- the check command's reader of handwritten derivations -----------------------------------------

LATEX_PIECES = st.sampled_from([
    "\\frac{\\partial L}{\\partial w_1}", "\\frac{\\partial L}{\\partial B_{1}}", "\\frac{", "}{", "}", "{",
    "\\partial", "L", "w_1", "x_{1}", "A1", "B_1", "C_2", "=", "=", "=", "\\cdot", "\\times", "*", "(", ")", "[", "]",
    "^", "_", "^{2}", "\\sqrt{", "\\ln", "\\log", "\\exp", "\\boxed{", "\\begin{cases}", "\\end{cases}", "&",
    "\\\\", "\\hat{y}", "g_{x_1}", "∂L/∂A1", "dL/dw_1", "-", "+", "/", "2", "-12", "0.5", "1/3", "4", "10^{100}",
    "9^{9^{9^{9}}}", "\\sigma", "\\mathrm{relu}", "\\max", "\\left(", "\\right)", "\\quad", ";", "\\approx",
    "e^{", "\\text{", "\\operatorname{", "$", "$$", "\\[", "\\]", "\\begin{aligned}", "\\end{aligned}",
    "\\begin{equation}", "\\end{equation}", " ", "\n", "1" * 120, "(" * 50, ")" * 50, "\\frac{1}{0}", "0^{-1}"])
MATH_LINE = st.lists(LATEX_PIECES, min_size=1, max_size=25).map("".join)
DERIVATION = st.one_of(
    st.text(max_size=200),
    st.lists(MATH_LINE, min_size=1, max_size=6).map(lambda lines: "\n".join(f"$$ {x} $$" for x in lines)),
    st.lists(MATH_LINE, min_size=1, max_size=6).map(lambda lines: "\n".join(lines)),
    st.lists(MATH_LINE, min_size=1, max_size=4).map(
        lambda lines: "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n"),
)


@pytest.fixture(scope="module")
def derivations():
    sheets = [loads(p.read_text(encoding="utf-8"), str(p)) for p in sorted(WORKSHEETS.glob("00[014]_*.yaml"))]
    return [derive(ws) for ws in sheets if not ws.has_matrices]  # check reads scalar derivations


@fuzz_settings(600)
@given(which=st.integers(0, 2), text=DERIVATION)
def test_check_reader_on_any_derivation(derivations, which, text):
    check = pytest.importorskip("symbackprop.check.judge")
    RUN["check: derivations read"] += 1
    start = time.monotonic()
    with bounded(text[:200]):
        report = check.check_text(derivations[which % len(derivations)], text, "fuzz.md")
        assert len(report.claims) >= 1
        RUN["check: derivations read (a result)"] += 1
    assert time.monotonic() - start < TIME_BOUND, f"{text[:200]!r} took {time.monotonic() - start:.1f} s"


# -- the corpus of inputs that once failed -----------------------------------------------------------

CORPUS_FILES = sorted(CORPUS.glob("*.yaml"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_corpus_replayed(path):
    """Each input that once failed: a result or the project's error, within the bound."""
    RUN["corpus"] += 1
    start = time.monotonic()
    run_worksheet(path.read_text(encoding="utf-8"))
    assert time.monotonic() - start < TIME_BOUND


def test_corpus_at_the_command_line():
    """The corpus through the command line, in one process: exit code 0 or 2, never a traceback;
    an exit code 2 is one line on stderr."""
    code = (
        "import sys, io, contextlib, json\n"
        "from symbackprop.cli import main\n"
        "for path in sys.argv[1:]:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(['solve', path, '--format', 'json'])\n"
        "        except SystemExit as exc:\n"
        "            status = exc.code\n"
        "    print(json.dumps([path, status, err.getvalue()]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *map(str, CORPUS_FILES)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60 + 10 * len(CORPUS_FILES))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(CORPUS_FILES)
    for path, status, err in results:
        assert status in (0, 2), (path, status, err)
        if status == 2:
            assert err.startswith("symbackprop: ") and err.count("\n") == 1, (path, err)
        else:
            assert err == "", (path, err)


def test_fuzz_inputs_run():
    """How many inputs the fuzzing above ran (all of them, when the whole file runs)."""
    wanted = {"parser: any text": 2000, "expressions: solved and rendered": 400, "loader: any text": 1500,
              "loader: YAML of the format's keys": 500, "loader: seed worksheets mutated": 400,
              "check: derivations read": 600}
    ran = {k: RUN[k] for k in wanted}
    if not all(ran.values()):
        pytest.skip("the fuzz tests did not all run in this run of pytest")
    results = {k: RUN[k + " (a result)"] for k in wanted}
    print("fuzz inputs run:", ran, "total", sum(ran.values()), "of which a result:", results, "corpus", RUN["corpus"])
    for what, n in wanted.items():
        assert ran[what] >= 0.9 * n * SCALE, (what, ran)
