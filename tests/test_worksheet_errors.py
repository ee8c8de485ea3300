"""Every bad input of the worksheet format is refused with an error whose text is
``FILE:LINE: message``, naming the line at fault and the problem; nothing in a worksheet is ever
executed; hostile sizes and depths are refused fast.

Mistakes found by reading alone (YAML, keys, names, expressions) are WorksheetError. Mistakes
that only the given numbers reveal (log of a non-positive number, division by zero, a power too
large) are found by derive(); the engine raises them as EvaluationError, a SymbackpropError that
is not a WorksheetError subclass, and these tests accept either of the two there.
"""
from __future__ import annotations

import builtins
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy as sp

from symbackprop.engine.derive import derive
from symbackprop.matrix.derive import derive_matrices
from symbackprop.errors import EvaluationError, SymbackpropError, WorksheetError
from symbackprop.worksheet.read import load, loads

FILE = "bad.yaml"
ROOT = Path(__file__).resolve().parent.parent
GIVEN = "given:\n  x: 2\n  w: 3\n"
PLACE = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+): (?P<message>.+)$", re.S)


def error_of(text: str, file: str = FILE) -> SymbackpropError:
    """The error that reading and deriving ``text`` gives (failing the test if none)."""
    try:
        derive(loads(text, file))
    except SymbackpropError as exc:
        return exc
    pytest.fail(f"no error for:\n{text[:500]}")


def line_of(text: str, fragment: str | int) -> int:
    """The 1-based number of the first line of ``text`` that contains ``fragment`` (or the
    number itself)."""
    if isinstance(fragment, int):
        return fragment
    for number, line in enumerate(text.splitlines(), 1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in the text")


def assert_refused(text: str, at: str, *words: str, kinds=(WorksheetError,)) -> str:
    """``text`` is refused with FILE:LINE: message, LINE being the line containing ``at``, the
    message containing each of ``words`` (case-insensitive); returns the message."""
    exc = error_of(text)
    assert isinstance(exc, kinds), f"{type(exc).__name__}: {exc}"
    m = PLACE.match(str(exc))
    assert m, f"not FILE:LINE: message: {str(exc)[:300]!r}"
    assert m["file"] == FILE
    assert int(m["line"]) == line_of(text, at), f"wrong line {m['line']} (want the line of {at!r}): {exc}"
    for word in words:
        assert word.lower() in m["message"].lower(), f"{word!r} not in {m['message'][:300]!r}"
    return m["message"]


NUMBER_ERRORS = (WorksheetError, EvaluationError)

# (id, worksheet text, a fragment of the line at fault, words the message must contain)
CASES = [
    # YAML itself
    ("yaml-indentation", GIVEN + "nodes:\n  a: x*w\n   b: a + 1\n", "   b: a + 1", "YAML", "syntax"),
    ("yaml-tab", GIVEN + "nodes:\n\ta: x*w\n", "\ta: x*w", "tabs cannot indent YAML: use spaces"),
    ("yaml-bad-flow", GIVEN + "nodes:\n  a: [x*w\n  b: a\n", "  b: a", "YAML"),
    ("yaml-not-a-mapping", "- x\n- w\n", "- x", "mapping"),
    ("yaml-empty", "", 1, "mapping"),
    # keys
    ("unknown-key", GIVEN + "nodse:\n  a: x*w\n", "nodse:", "unknown key 'nodse'", "did you mean 'nodes'"),
    ("unknown-key-2", GIVEN + "nodes:\n  a: x*w\nlos: a\n", "los: a", "unknown key 'los'", "loss"),
    ("duplicate-given", "given:\n  x: 2\n  w: 3\n  x: 4\nnodes:\n  a: x*w\n", "  x: 4",
     "'x' is defined twice", "line 2"),
    ("duplicate-node", GIVEN + "nodes:\n  a: x*w\n  b: a + 1\n  a: b*2\n", "  a: b*2",
     "'a' is defined twice", "line 5"),
    ("duplicate-given-and-node", GIVEN + "nodes:\n  a: x*w\n  w: a + 1\n", "  w: a + 1",
     "'w' is defined twice", "line 3"),
    ("duplicate-top-key", GIVEN + "nodes:\n  a: x*w\nnodes:\n  b: x\n", 6, "'nodes' is defined twice"),
    # names and structure
    ("undefined-name", GIVEN + "nodes:\n  a: x*w\n  b: a + q\n", "  b: a + q", "undefined name 'q'", "'b'"),
    ("cycle-edges", "given:\n  x: 2\nedges:\n  a -> b: 2\n  b -> a: 3\nloss: b\n", "a -> b", "cycle", "a", "b"),
    ("cycle-nodes", GIVEN + "nodes:\n  a: b + x\n  b: a*w\n  L: a + b\nloss: L\n", "  a: b + x", "cycle"),
    ("edge-missing-head", "given:\n  x1: 2\nedges:\n  \"x1 -> \": 2\n", "x1 -> ", "edge", "both ends"),
    ("edge-missing-tail", "given:\n  x1: 2\nedges:\n  \" -> x1\": 2\n", " -> x1", "edge", "both ends"),
    ("edge-to-itself", "edges:\n  a -> a: 2\n", "a -> a", "itself"),
    ("loss-undefined", GIVEN + "nodes:\n  a: x*w\nloss: zz\n", "loss: zz", "loss", "'zz'", "not a node"),
    ("loss-is-given", GIVEN + "nodes:\n  a: x*w\nloss: x\n", "loss: x", "loss", "'x'", "given"),
    ("no-loss", "given:\n  x: 2\n", "given:", "loss"),
    ("bad-name", "given:\n  2x: 2\nnodes:\n  a: w*2\n", "2x", "'2x'", "not a valid name"),
    # values that are not numbers
    ("value-word", "given:\n  A1: abc\nnodes:\n  a: A1*2\n", "A1: abc", "A1", "not a number"),
    ("value-true", "given:\n  A1: true\nnodes:\n  a: A1*2\n", "A1: true", "A1", "not a number"),
    ("value-list", "given:\n  A1: [1, [2]]\nnodes:\n  a: A1*2\n", "A1: [1, [2]]", "A1[1,2]", "number"),
    ("value-nan", "given:\n  A1: .nan\nnodes:\n  a: A1*2\n", "A1: .nan", "A1", "not a number"),
    ("value-inf", "given:\n  A1: .inf\nnodes:\n  a: A1*2\n", "A1: .inf", "A1", "not a number"),
    ("value-too-long", "given:\n  A1: " + "9" * 2000 + "\nnodes:\n  a: A1*2\n", "A1: 99", "A1", "not a number"),
    ("value-exponent-too-long", "given:\n  A1: 1e999999999\nnodes:\n  a: A1*2\n", "A1: 1e9", "A1", "too long"),
    # expressions refused by the parser
    ("attribute", GIVEN + "nodes:\n  a: x.real\n", "x.real", "'a'", "'.real' is not in the language"),
    ("subscript", GIVEN + "nodes:\n  a: x[0]\n", "x[0]", "'a'", "subscript"),
    ("lambda", GIVEN + "nodes:\n  a: \"lambda y: y\"\n", "lambda", "'a'", "lambda"),
    ("list-comprehension", GIVEN + "nodes:\n  a: \"[y for y in x]\"\n", "for y", "'a'", "comprehension"),
    ("generator-expression", GIVEN + "nodes:\n  a: \"max(x, (y for y in w))\"\n", "for y", "comprehension"),
    ("string", GIVEN + "nodes:\n  a: \"'abc'\"\n", "'abc'", "'a'", "string"),
    ("f-string", GIVEN + "nodes:\n  a: \"f'{x}'\"\n", "f'", "string"),
    ("unknown-function", GIVEN + "nodes:\n  a: x + 1\n  b: foo(x)\n", "foo(x)", "'b'", "unknown function 'foo'"),
    ("dunder-import", GIVEN + "nodes:\n  a: __import__('os')\n", "__import__", "unknown function '__import__'"),
    ("caret-is-not-power", GIVEN + "nodes:\n  a: x^2\n", "x^2", "'^'", "**"),
    ("comparison", GIVEN + "nodes:\n  a: x < w\n", "x < w", "comparison"),
    ("walrus", GIVEN + "nodes:\n  a: \"(y := 2)\"\n", ":=", "assignment"),
    ("keyword-argument", GIVEN + "nodes:\n  a: max(x, w, key=1)\n", "key=1", "plain arguments"),
    ("wrong-arity", GIVEN + "nodes:\n  a: relu(x, w)\n", "relu(x, w)", "relu", "argument"),
    ("floor-division", GIVEN + "nodes:\n  a: x // w\n", "x // w", "'//'"),
    ("empty-expression", GIVEN + "nodes:\n  a:\n", "  a:", "'a'", "expression"),
    ("boolean-expression", GIVEN + "nodes:\n  a: true\n", "a: true", "'a'", "expression"),
    ("edge-expression", "given:\n  x: 2\nedges:\n  x -> y: x.real\n", "x.real", "'.real' is not in the language"),
    ("given-expression", "given:\n  x: \"2*y\"\nnodes:\n  a: x\n", "2*y", "not a number", "y"),
    ("python-tag", GIVEN + "nodes:\n  a: !!python/object/apply:os.getcwd []\n", "!!python", "'a'", "expression"),
    # messages that say what to write instead
    ("tab-separator", "given:\n  x:\t2\nnodes:\n  a: x\n", "x:\t2", "a tab cannot separate YAML's values: use spaces"),
    ("undefined-suggests", "given:\n  x1: 2\n  w: 3\nnodes:\n  a: x_1*w\n", "a: x_1*w",
     "node 'a': undefined name 'x_1'; did you mean 'x1'?"),
    ("undefined-typo", GIVEN + "nodes:\n  hidden: x*w\n  L: hiden**2\n", "L: hiden", "did you mean 'hidden'?"),
    ("wrt-suggests", GIVEN + "nodes:\n  a: x*w\nwrt: [W]\n", "wrt: [W]", "wrt: undefined name 'W'; did you mean 'w'?"),
    ("loss-suggests", GIVEN + "nodes:\n  L1: x*w\nloss: L_1\n", "loss: L_1", "did you mean 'L1'?"),
    ("keyword-given", "given:\n  lambda: 0.1\n  w: 2\nnodes:\n  L: lambda*w**2\n", "lambda: 0.1",
     "given: 'lambda' is a Python keyword and cannot be a name: write lam (printed λ)"),
    ("keyword-node", GIVEN + "nodes:\n  in: x*w\n", "in: x*w", "'in' is a Python keyword", "write in_"),
    ("keyword-in-expression", GIVEN + "nodes:\n  a: lambda*w**2\n", "lambda*w", "node 'a'",
     "'lambda' is a Python keyword", "write lam"),
    ("keyword-constant", GIVEN + "nodes:\n  a: None*w\n", "None*w", "'None' is a Python keyword"),
    ("decimal-comma-given", "given:\n  x: 1,5\nnodes:\n  a: x*2\n", "x: 1,5",
     "given x: '1,5' is not a number (use a decimal point: 1.5, not 1,5)"),
    ("decimal-comma-node", GIVEN + "nodes:\n  a: 0,5*x\n", "0,5*x", "node 'a': use a decimal point: 0.5, not 0,5"),
    ("decimal-comma-lr", GIVEN + "nodes:\n  a: x*w\nupdate:\n  lr: 0,1\n  params: [w]\n", "lr: 0,1",
     "update lr: '0,1' is not a number (use a decimal point: 0.1, not 0,1)"),
    ("stray-comma", GIVEN + "nodes:\n  a: x, w\n", "a: x, w", "a comma separates the arguments of a function"),
    ("ln-one-argument", GIVEN + "nodes:\n  a: ln(x, 2)\n", "ln(x, 2)", "ln takes 1 argument(s), not 2"),
    ("two-last-nodes", GIVEN + "nodes:\n  a: x*w\n  b: x + 1\n", "b: x + 1",
     "no loss: is given, and 2 nodes feed no other node (a and b): name the loss, as in 'loss: a'"),
]


@pytest.mark.parametrize("text, at, words", [pytest.param(t, a, w, id=i) for i, t, a, *w in CASES])
def test_refused_with_file_line_and_problem(text, at, words):
    assert_refused(text, at, *words)


# the given numbers make a value undefined: found by derive, at the node's line
NUMBER_CASES = [
    ("log-of-negative", "given:\n  x: -1\nnodes:\n  a: log(x)\n", "a: log(x)", "log", "non-positive", "-1"),
    ("log-of-zero", "given:\n  x: 0\nnodes:\n  a: x + 1\n  b: log(x*a)\n", "b: log", "log", "non-positive", "0"),
    ("log-base-one", "given:\n  x: 2\nnodes:\n  a: log(x, 1)\n", "a: log", "base 1"),
    ("log10-of-negative", "given:\n  x: -2\nnodes:\n  a: x*x\n  b: log10(-a)\n", "b: log10", "log", "non-positive"),
    ("division-by-zero", "given:\n  x: 1\nnodes:\n  a: 1/(x - 1)\n", "a: 1/", "division by zero"),
    ("zero-to-negative-power", "given:\n  x: 0\nnodes:\n  a: x**-2\n", "a: x**", "division by zero"),
    ("zero-written-with-logs", "given:\n  x: log(4)\n  w: 2*log(2)\nnodes:\n  a: 1/(x - w)\n", "a: 1/",
     "division by zero"),
    ("sqrt-of-negative", "given:\n  x: -4\nnodes:\n  a: sqrt(x)\n", "a: sqrt", "square root", "-4"),
    ("fractional-power-of-negative", "given:\n  x: -8\nnodes:\n  a: x**(1/3)\n", "a: x**", "fractional power"),
    ("derivative-undefined", "given:\n  x: 0\nnodes:\n  a: sqrt(x)\n", "a: sqrt", "undefined"),
    ("huge-power", "given:\n  x: 2\nnodes:\n  a: x + 1\n  b: a**(10**10)\n", "b: a**", "exponent", "too large"),
    ("huge-power-symbolic", "given: [x]\nnodes:\n  b: x**(10**10)\n", "b: x**", "exponent", "too large"),
    ("huge-power-given", "given:\n  x: 2**(10**10)\nnodes:\n  a: x*2\n", "x: 2**", "exponent", "too large"),
    ("huge-tower-given", "given:\n  x: 10**10**10\nnodes:\n  a: x*2\n", "x: 10**", "too large"),
    ("huge-product", "given:\n  x: 3**10000\nnodes:\n  a: x*x\n  b: a*a*a\n", "a: x*x", "too large"),
]


@pytest.mark.parametrize("text, at, words", [pytest.param(t, a, w, id=i) for i, t, a, *w in NUMBER_CASES])
def test_undefined_at_the_given_numbers(text, at, words):
    start = time.monotonic()
    assert_refused(text, at, *words, kinds=NUMBER_ERRORS)
    assert time.monotonic() - start < 2, "must error fast, not compute"


def test_power_with_a_huge_exponent_errors_fast():
    text = "given:\n  x: 3\nnodes:\n  a: x**(10**10)\n"
    start = time.monotonic()
    message = assert_refused(text, "a: x**", "10000000000", "too large", kinds=NUMBER_ERRORS)
    assert time.monotonic() - start < 2, message


def test_a_function_name_can_name_a_node_that_is_not_called():
    ws = loads("given:\n  exp: 2\n  x: 1\nnodes:\n  sum: exp(exp) + x\n  mse: sum**2\n")
    assert ws.loss == "mse"
    assert derive(ws).gradient("x") == 2 * (sp.exp(2) + 1)
    matrices = loads("given:\n  Z: [[1, 2]]\n  T: [[0, 1]]\nnodes:\n  mse: mse(Z, T)\n")
    assert matrices.loss == "mse" and derive_matrices(matrices).gradient("Z") == sp.Matrix([[1, 1]])


def test_ln_is_the_natural_log():
    with_ln, with_log = (derive(loads(f"given: {{x: 3}}\nnodes:\n  L: {f}(x)**2 + {f}(x*x)\n")) for f in ("ln", "log"))
    assert with_ln.gradient("x") == with_log.gradient("x") == 2 * sp.log(3) / 3 + sp.Rational(2, 3)


def test_only_given_names_can_be_updated():
    text = GIVEN + "nodes:\n  h: x*w\n  L: h**2\nupdate:\n  lr: 0.1\n  params:\n    - w\n    - h\n"
    assert_refused(text, "    - h", "update params: 'h' is a node; only given names (the parameters) can be updated")


# -- depth and size -----------------------------------------------------------------------------------

DEEP = [
    ("parentheses", "(" * 1000 + "x" + ")" * 1000, "nested"),
    ("function-calls", "exp(" * 1000 + "x" + ")" * 1000, "nested"),
    ("unary-minus", "-" * 1000 + "x", "nested"),
    ("long-sum", "+".join(["x"] * 4000), "nested"),
    ("power-tower", "**".join(["x"] * 2000), "nested"),
]


@pytest.mark.parametrize("expression, word", [pytest.param(e, w, id=i) for i, e, w in DEEP])
def test_deep_expressions_are_refused_fast(expression, word):
    text = GIVEN + "nodes:\n  a: x + w\n  b: \"" + expression + "\"\n"
    start = time.monotonic()
    message = assert_refused(text, "  b: ", word)
    assert time.monotonic() - start < 2, message


def test_deep_given_value_is_refused():
    text = "given:\n  x: \"" + "(" * 1000 + "2" + ")" * 1000 + "\"\nnodes:\n  a: x\n"
    assert_refused(text, "  x: ", "x", "nested")


def test_deep_yaml_nesting_is_refused():
    text = GIVEN + "nodes:\n  a: x\ndescription: " + "[" * 1000 + "]" * 1000 + "\n"
    start = time.monotonic()
    exc = error_of(text)
    assert isinstance(exc, WorksheetError) and str(exc).startswith(f"{FILE}:"), exc
    assert time.monotonic() - start < 2


def test_a_2_mb_file_is_refused_fast(tmp_path):
    body = GIVEN + "nodes:\n" + "".join(f"  n{i}: x*w + {i}\n" for i in range(100_000))
    assert len(body) > 2_000_000
    path = tmp_path / "huge.yaml"
    path.write_text(body)
    start = time.monotonic()
    with pytest.raises(WorksheetError) as info:
        derive(load(path))
    assert time.monotonic() - start < 2
    # a whole-file problem: the engine names the file and, having no line at fault, no line
    assert re.match(re.escape(str(path)) + r"(:1)?: .*larger than", str(info.value)), str(info.value)


def test_a_2_mb_comment_is_refused_fast():
    text = GIVEN + "nodes:\n  a: x*w\n# " + "y" * 2_000_000 + "\n"
    start = time.monotonic()
    exc = error_of(text)
    assert isinstance(exc, WorksheetError) and "larger than" in str(exc), exc
    assert str(exc).startswith(f"{FILE}:")
    assert time.monotonic() - start < 2


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(WorksheetError, match=r"nope\.yaml: no such file"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(WorksheetError, match="folder"):
        load(tmp_path)


# -- nothing is executed --------------------------------------------------------------------------

def _hostile(marker: Path) -> list[tuple[str, str]]:
    payload = f"__import__('os').system('touch {marker}')"
    call = f"exec(\"open('{marker}', 'w')\")"
    tag = f"!!python/object/apply:os.system [\"touch {marker}\"]"
    return [
        ("node", GIVEN + f"nodes:\n  a: \"{payload}\"\n"),
        ("node-exec", GIVEN + f"nodes:\n  a: '{call}'\n"),
        ("node-eval", GIVEN + f"nodes:\n  a: \"eval('{payload}')\"\n"),
        ("given", f"given:\n  x: \"{payload}\"\nnodes:\n  a: x\n"),
        ("edge", f"given:\n  x: 2\nedges:\n  x -> y: \"{payload}\"\n"),
        ("loss", GIVEN + f"nodes:\n  a: x\nloss: \"{payload}\"\n"),
        ("wrt", GIVEN + f"nodes:\n  a: x\nwrt: [\"{payload}\"]\n"),
        ("yaml-tag-node", GIVEN + f"nodes:\n  a: {tag}\n"),
        ("yaml-tag-given", f"given:\n  x: {tag}\nnodes:\n  a: x\n"),
        ("yaml-tag-title", f"title: {tag}\n" + GIVEN + "nodes:\n  a: x\n"),
        ("lambda-call", GIVEN + f"nodes:\n  a: \"(lambda: {payload})()\"\n"),
        ("dunder-attribute", GIVEN + "nodes:\n  a: x.__class__.__mro__\n"),
    ]


@pytest.mark.parametrize("where", [w for w, _ in _hostile(Path("/tmp/x"))])
def test_no_expression_text_is_ever_executed(where, tmp_path, monkeypatch):
    marker = tmp_path / "pwned_symbackprop"
    text = dict(_hostile(marker))[where]

    def refuse(*args, **kwargs):
        raise AssertionError(f"eval/exec called with {args[:1]!r}")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    exc = error_of(text)
    monkeypatch.undo()
    assert isinstance(exc, WorksheetError), f"{type(exc).__name__}: {exc}"
    assert PLACE.match(str(exc)), str(exc)
    assert not marker.exists(), f"{where}: the expression was executed"


def test_the_classic_payload_does_not_touch_tmp():
    marker = Path("/tmp/pwned_symbackprop")
    marker.unlink(missing_ok=True)
    text = GIVEN + "nodes:\n  a: \"__import__('os').system('touch /tmp/pwned_symbackprop')\"\n"
    assert_refused(text, "__import__", "'a'", "only the functions of the language")
    assert not marker.exists()


def test_a_valid_worksheet_never_calls_eval_or_exec(monkeypatch):
    """The whole path, reading to gradients, on a worksheet using every function."""
    text = ("given:\n  x: 0.5\n  w: -2\n  b: 1/3\n  alpha: 0.1\n"
            "nodes:\n  z: w*x + b\n  h: leaky_relu(z, alpha) + relu(z) + abs(z) + max(z, x) + min(z, x, b)\n"
            "  s: sigmoid(h) + tanh(h) + exp(-h) + log(h**2 + 1) + log(h**2 + 1, 2) + log10(h**2 + 1)\n"
            "  L: sqrt(s**2 + 1) / (2 + tanh(z))\n")
    before = derive(loads(text, "ok.yaml"))

    def refuse(*args, **kwargs):
        raise AssertionError(f"eval/exec called with {args[:1]!r}")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    after = derive(loads(text, "ok.yaml"))
    monkeypatch.undo()
    assert after.gradient("x") == before.gradient("x") != 0


# -- literals, aliases and unclosed brackets -----------------------------------------------------

@pytest.mark.parametrize("text, at", [
    (GIVEN + "nodes:\n  a: x + 0x10\n", "0x10"),
    ("given:\n  x: \"0o7 + 1\"\nnodes:\n  a: x\n", "0o7"),
])
def test_hex_octal_binary_literals_are_refused_with_the_line(text, at):
    assert_refused(text, at, "number")


BOMB = (GIVEN + "nodes:\n  a: x*w\ndescription:\n"
        + "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 9)))


def test_yaml_alias_bomb_is_refused_fast():
    code = ("import sys; from symbackprop.worksheet.read import loads\n"
            "from symbackprop.errors import WorksheetError\n"
            "try:\n    loads(sys.stdin.read(), 'bomb.yaml')\nexcept WorksheetError as e:\n    print(e)\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], input=BOMB, capture_output=True, text=True,
                              timeout=5, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("a 600-byte worksheet with nested YAML aliases did not finish in 5 s")
    assert done.stdout.startswith("bomb.yaml:"), done.stdout + done.stderr


def test_unclosed_bracket_names_the_line_that_opened_it():
    text = GIVEN + "nodes:\n  a: x*w\n  b: {x\n"
    assert_refused(text, "  b: {x", "YAML")
