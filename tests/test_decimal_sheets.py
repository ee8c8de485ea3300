"""Sheets that write numbers as a course does: the 2-2-2 example's published figures in its PDF,
Markdown and JSON; --numbers and --decimals on the command line and in the API; and random graphs
over decimal inputs, in each ``numbers:`` mode, whose every decimal is the exact value correctly
rounded (an mpmath oracle at 50 digits) and whose LaTeX has no line over 10 pt."""
from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import mpmath
import pytest
import sympy as sp

from symbackprop import solve
from symbackprop.api import Solution, variants as api_variants
from symbackprop.errors import SymbackpropError
from symbackprop.language import expr as E
from symbackprop.sheets.jsonout import decimal_values
from symbackprop.sheets.pdf import compile_with_log

from support.cli import run_cli
from support.decimalgraph import DecimalGraph, generate, gradients, values
from support.decimals import DPS, correctly_rounded, is_shown_value, mp_value, shown_decimals
from support.paths import WORKSHEETS
from test_pdf import needs_pdftotext, needs_tex, overfull, pdf_text

W005 = WORKSHEETS / "005_step_by_step.yaml"
MODES = ("auto", "exact", "decimal")
DEFAULT_DIGITS = 4  # decimals: when a worksheet does not say
TERMINATING = 12  # significant digits within which a terminating decimal is written exactly
# The figures "A Step by Step Backpropagation Example" publishes, to the sheet's 9 significant digits.
PUBLISHED = {"E_total": "0.298371109", "dE/dw5": "0.0821670406", "w5 after": "0.358916480",
             "dE/dw1": "0.000438567734", "w1 after": "0.149780716", "E_total after": "0.291027774"}


# -- the 2-2-2 example -------------------------------------------------------------------------------

@needs_tex
@needs_pdftotext
def test_step_by_step_pdf_shows_the_published_figures(tmp_path) -> None:
    out = tmp_path / "005.pdf"
    proc = run_cli("solve", str(W005), "--format", "pdf", "-o", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = pdf_text(out)
    assert text.count("\f") <= 8  # pdftotext ends each page with a form feed
    for what, figure in PUBLISHED.items():
        assert figure in text, what
    assert re.search(r"Etotal\s*≈\s*0\.291027774", text)  # the error after the step


@functools.lru_cache(maxsize=1)
def step_by_step() -> Solution:
    return solve(W005)


def test_step_by_step_markdown_shows_the_published_figures() -> None:
    md = step_by_step().markdown()
    loss, grad = r"E_{\mathrm{total}}", r"\frac{\partial E_{\mathrm{total}}}{\partial w_{%s}}"
    assert r"\approx \boxed{0.298371109}" in md.split("## Backward pass")[0]
    for k, figure in (("5", "0.0821670406"), ("1", "0.000438567734")):
        assert f"| ${grad % k}$ | $\\approx {figure}$ |" in md
        assert re.search(rf"\\approx \\boxed{{{figure}}}", md.split("## Gradient descent")[0])
    updates = md.split("## Gradient descent")[1]
    assert re.search(r"w_\{5\}\^\{\(1\)\} &= [^\n]*\n?[^\n]*\\approx \\boxed\{0\.358916480\}", updates)
    assert re.search(r"w_\{1\}\^\{\(1\)\} &= [^\n]*\n?[^\n]*\\approx \\boxed\{0\.149780716\}", updates)
    assert f"{loss}^{{(1)}} &\\approx 0.291027774" in updates
    assert f"(at ${loss} \\approx 0.298371109$)" in updates


def test_step_by_step_json_decimals() -> None:
    expected = {"forward": {"E_total": PUBLISHED["E_total"]}, "gradients": {"w5": PUBLISHED["dE/dw5"],
                "w1": PUBLISHED["dE/dw1"]}, "params": {"w5": PUBLISHED["w5 after"], "w1": PUBLISHED["w1 after"]},
                "loss": PUBLISHED["E_total after"]}
    golden = json.loads(W005.with_suffix(".json").read_text())["decimals"]  # the file test_seeds compares
    for decimals in (decimal_values(step_by_step().derivation), golden):
        assert {k: decimals["forward"][k] for k in expected["forward"]} == expected["forward"]
        assert {k: decimals["gradients"][k] for k in expected["gradients"]} == expected["gradients"]
        (step,) = decimals["update"]
        assert step["step"] == 1 and step["loss"] == expected["loss"]
        assert {k: step["params"][k] for k in expected["params"]} == expected["params"]
        assert decimals["forward"]["net_h1"] == "0.3775" and decimals["forward"]["i2"] == "0.1"  # exact


# -- --numbers and --decimals ----------------------------------------------------------------------

LOG3 = "title: t\ngiven: {x: 0.5, c: log(3)}\nnodes: {L: sigmoid(c*x)}\n"


def test_numbers_and_decimals_override_the_worksheet(tmp_path) -> None:
    auto = solve(LOG3).as_dict()
    assert auto["decimals"]["forward"] == {"x": "0.5", "c": "1.099", "L": "0.6340"}
    digits = solve(LOG3, decimals=6).as_dict()
    assert digits["decimals"]["forward"]["L"] == "0.633975" and digits["forward"] == auto["forward"]
    exact = solve(LOG3, numbers="exact").as_dict()
    assert "decimals" not in exact and exact["forward"] == auto["forward"]
    assert r"c = \ln\left(3\right)" in solve(LOG3, numbers="exact").markdown()
    path = tmp_path / "w.yaml"
    path.write_text(LOG3)
    both = json.loads(run_cli("solve", str(path), "--format", "json", "--numbers", "exact", "--decimals", "3").stdout)
    assert both["decimals"]["gradients"]["c"] == "0.116" and both["forward"] == auto["forward"]
    md = run_cli("solve", str(path), "--numbers", "decimal", "--decimals", "3").stdout
    assert "c = 1.10" in md and r"\ln" not in md.split("## Given")[1].split("## Forward")[0]
    assert "c = 1.10" in run_cli("exercise", str(path), "--numbers", "decimal", "--decimals", "3").stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--numbers", "rounded"), "Invalid value for '--numbers'"),
    (("--decimals", "0"), "Invalid value for '--decimals'"),
    (("--decimals", "31"), "Invalid value for '--decimals'"),
    (("--decimals", "four"), "Invalid value for '--decimals'"),
])
@pytest.mark.parametrize("command", ["solve", "exercise", "variants"])
def test_bad_numbers_or_decimals_are_usage_errors(command, args, message, tmp_path) -> None:
    extra = ("-n", "1", "--seed", "1", "-o", str(tmp_path / "class")) if command == "variants" else ()
    proc = run_cli(command, str(WORKSHEETS / "001_linear_network_random.yaml"), *extra, *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_api_overrides_and_refuses_bad_values() -> None:
    s = solve(LOG3, numbers="decimal", decimals=3)
    assert s.as_dict()["decimals"]["forward"]["c"] == "1.10" and "c = 1.10" in s.markdown()
    assert "decimals" not in solve(LOG3, numbers="exact").as_dict()
    for bad in ({"numbers": "rounded"}, {"decimals": 0}, {"decimals": 31}, {"decimals": 4.0}, {"decimals": True}):
        with pytest.raises(SymbackpropError):
            solve(LOG3, **bad)


RANDOM = ("title: t\ngiven: {x: 0.5, w: 1.5}\nnodes: {L: sigmoid(w*x)}\n"
          "random:\n  x: {decimals: [0.1, 0.9], digits: 1}\n")


def test_variants_write_numbers_as_asked(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(RANDOM)
    out = tmp_path / "class"
    proc = run_cli("variants", str(path), "-n", "2", "--seed", "3", "-o", str(out), "--sheets", "solution",
                   "--format", "md", "--numbers", "decimal", "--decimals", "3")
    assert proc.returncode == 0, proc.stderr
    sheet = (out / "solutions" / "1.md").read_text()
    assert r"\sigma\left(" in sheet and re.search(r"\\approx \\boxed\{0\.\d{3}\}", sheet)
    (first,) = api_variants(str(path), 1, seed=3, numbers="decimal", decimals=3)
    assert first.markdown() == sheet
    (exact,) = api_variants(str(path), 1, seed=3, numbers="exact")
    assert "decimals" not in exact.as_dict() and r"\approx" not in exact.markdown()


PRODUCTS = ("title: products\ngiven: {x1: 1.23, x2: 4.56, x3: 7.89, x4: 1.11, x5: 2.22}\n"
            "nodes:\n  h1: x1*x2\n  h2: h1*x3\n  h3: h2*x4\n  L: h3*x5\n")


def test_a_terminating_decimal_longer_than_12_digits_is_rounded() -> None:
    """L = 1.23 · 4.56 · 7.89 · 1.11 · 2.22 = 109.0493071344 ends after 13 digits: rounded, after ≈."""
    s = solve(PRODUCTS)
    assert s.as_dict()["decimals"]["forward"]["h3"] == "49.12130952"  # 10 digits: exact
    assert s.as_dict()["decimals"]["forward"]["L"] == "109.0"
    assert r"\approx \boxed{109.0}" in s.markdown()


def test_matrix_worksheets_have_no_json_decimals() -> None:
    data = solve(WORKSHEETS / "004_linear_softmax_l2.yaml", numbers="decimal", decimals=5).as_dict()
    assert "decimals" not in data and "shapes" in data


# -- random graphs over decimal inputs ------------------------------------------------------------

CHEAP = [(seed, depth) for depth in range(1, 7) for seed in range(4)]  # 24 graphs a mode
COMPILED = [(seed, depth) for depth in range(1, 7) for seed in range(2)]  # 12 graphs a mode
OVERFULL: dict[tuple[int, int], str] = {}  # graphs whose sheets have a line over 10 pt (none)


class Oracle(NamedTuple):
    """A graph's numbers in mpmath, from its own trees: values, gradients, the update step."""

    forward: dict[str, mpmath.mpf]
    gradients: dict[str, mpmath.mpf]
    after: dict[str, mpmath.mpf]  # each updated weight
    loss_after: mpmath.mpf | None


@functools.cache
def graph(seed: int, depth: int) -> DecimalGraph:
    return generate(seed, depth, update=depth <= 3)  # an update step where the sheet stays short


@functools.cache
def solved(seed: int, depth: int, mode: str) -> tuple[DecimalGraph, Solution]:
    g = graph(seed, depth)
    return g, solve(g.text, numbers=mode)


@functools.cache
def oracle(seed: int, depth: int) -> Oracle:
    g = graph(seed, depth)
    with mpmath.workdps(DPS + 10):
        forward, grads = values(g), gradients(g)
        after = {w: forward[w] - grads[w] / 10 for w in g.params}
        return Oracle(forward, grads, after, values(g, after)[g.loss] if after else None)


def exact_of(text: str) -> Fraction | None:
    """A JSON exact string as a Fraction when it is rational."""
    return Fraction(text) if re.fullmatch(r"-?\d+(/\d+)?", text) else None


def terminates_within(x: Fraction, digits: int) -> bool:
    """Whether a rational's decimal expansion ends within ``digits`` significant digits."""
    return x != 0 and correctly_rounded(x, digits) == Decimal(x.numerator) / Decimal(x.denominator)


def failing(g: DecimalGraph, mode: str, problems: list[str]) -> str:
    return f"numbers: {mode}, worksheet:\n{g.text}\n" + "\n".join(problems[:10])


def case_id(case: tuple[int, int]) -> str:
    return f"depth{case[1]}-seed{case[0]}"


def check_json(problems: list[str], where: str, got: str | None, exact_text: str, approx: mpmath.mpf,
               digits: int) -> None:
    """One value of the JSON ``decimals``: none for an integer; a terminating decimal exactly; any
    other value correctly rounded to ``digits`` significant digits."""
    exact = exact_of(exact_text)
    if exact is not None and exact.denominator == 1:
        if got is not None:
            problems.append(f"{where}: {got} for the integer {exact_text}")
        return
    if got is None:
        problems.append(f"{where}: no decimal for {exact_text}")
        return
    ((_, value, significant),) = shown_decimals(got, whole=True)
    if exact is not None and terminates_within(exact, TERMINATING):
        if Fraction(value) != exact:
            problems.append(f"{where}: {got} for the terminating {exact_text}")
    elif not is_shown_value(value, significant, exact, approx, digits):
        problems.append(f"{where}: {got}, not {correctly_rounded(exact if exact is not None else approx, digits)}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CHEAP, ids=case_id)
def test_json_decimals_are_the_exact_values_correctly_rounded(case, mode) -> None:
    g, solution = solved(*case, mode)
    data = solution.as_dict()
    if mode == "exact" and not g.digits:
        assert "decimals" not in data
        return
    digits = g.digits or DEFAULT_DIGITS
    truth = oracle(*case)
    shown = data.get("decimals", {"forward": {}, "gradients": {}, "update": [{"params": {}}] * len(data.get("update", []))})
    problems: list[str] = []
    for part, approx in (("forward", truth.forward), ("gradients", truth.gradients)):
        for name, text in data[part].items():
            check_json(problems, f"{part} {name}", shown[part].get(name), text, approx[name], digits)
    for step, decimals in zip(data.get("update", []), shown.get("update", [])):
        for name, text in step["params"].items():
            check_json(problems, f"update {name}", decimals["params"].get(name), text, truth.after[name], digits)
        check_json(problems, "update loss", decimals.get("loss"), step["loss"], truth.loss_after, digits)
    assert not problems, failing(g, mode, problems)


def numeric_parts(solution: Solution) -> set[sp.Expr]:
    """Every number the sheet may print: each value, local derivative, contribution and update, and
    every numeric part of them (a printer writes each numeric sub-expression as a decimal)."""
    d = solution.derivation
    exprs: list[sp.Expr] = list(d.known.values())
    for f in d.forward.values():
        exprs.append(f.value)
        exprs += [v for t in (f.substituted, f.one_step) if t is not None for v in tree_numbers(t)]
    for adj in d.adjoints.values():
        exprs.append(adj.value)
        for t in adj.terms:
            exprs += [t.local, sp.factor_terms(t.local), t.local_value, t.upstream, t.contribution]
    for u in d.updates:
        exprs += [u.loss_before, u.loss_after, d.worksheet.update.lr]
        exprs += [x for p in u.params for x in (p.before, p.gradient, p.after)]
    return {sub for e in exprs for sub in sp.preorder_traversal(e) if isinstance(sub, sp.Expr) and sub.is_number}


def tree_numbers(tree: E.Expr) -> list[sp.Expr]:
    if isinstance(tree, (E.Num, E.Value)):
        return [tree.value]
    if isinstance(tree, E.Apply):
        return [v for a in tree.args for v in tree_numbers(a)]
    return []


def equations(block: str) -> list[str]:
    """The equations of an aligned block, each joined from its lines."""
    out: list[str] = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith((r"\begin", r"\end", "$$")) or not line:
            continue
        if line.startswith("&") and out:
            out[-1] += " " + line.lstrip("&")
        else:
            out.append(line)
    return out


def last_value(equation: str) -> tuple[str, str] | None:
    """The relation (= or \\approx) and the decimal an equation ends on, if it ends on one."""
    m = re.search(r"(=|\\approx)\s*(?:\\boxed\{)?(-?[\d.]+(?:\s*\\times\s*10\^\{-?\d+\})?)\}?\s*(?:\\\\(?:\[1ex\])?)?$",
                  equation)
    return (m.group(1), m.group(2)) if m and ("." in m.group(2) or "times" in m.group(2)) else None


def check_named(problems: list[str], where: str, relation: str, token: str, exact: Fraction | None,
                approx: mpmath.mpf, digits: int) -> None:
    """A decimal shown for a known value: after = the value itself, after ≈ its correct rounding."""
    ((_, value, significant),) = shown_decimals(token, whole=True)
    if relation == "=":
        if exact is None or Fraction(value) != exact:
            problems.append(f"{where}: = {token}, but the value is not exactly that")
    elif (exact is not None and Fraction(value) == exact) or not is_shown_value(value, significant, None,
                                                                               approx if exact is None else exact, digits):
        problems.append(f"{where}: ≈ {token}, not {correctly_rounded(approx if exact is None else exact, digits)}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CHEAP, ids=case_id)
def test_markdown_decimals_are_the_exact_values_correctly_rounded(case, mode) -> None:
    g, solution = solved(*case, mode)
    d = solution.derivation
    digits = g.digits or DEFAULT_DIGITS
    truth = oracle(*case)
    md = solution.markdown().split("```", 2)[-1]  # after the figure
    problems: list[str] = []
    # Every decimal anywhere: a number of the derivation, exactly or correctly rounded.
    with mpmath.workdps(DPS + 10):
        memo: dict = {}
        parts = {x: mp_value(x, memo) for x in numeric_parts(solution)}
    exact = {abs(Fraction(int(x.p), int(x.q))) for x in parts if x.is_Rational}
    rounded = {correctly_rounded(abs(Fraction(int(x.p), int(x.q))) if x.is_Rational else abs(v), digits)
               for x, v in parts.items()}
    for token, value, significant in shown_decimals(md):
        if not (abs(Fraction(value)) in exact or (significant == digits and abs(value) in rounded)):
            problems.append(f"{token}: neither exact nor a correctly rounded value of the derivation")
    # The value each forward equation ends on, against the oracle.
    forward = md.split("## Forward pass")[1].split("## Backward pass")[0]
    nodes = [n for n in d.graph.order if n in g.nodes]
    for name, equation in zip(nodes, equations(forward)):
        end = last_value(equation)
        if end:
            check_named(problems, f"forward {name}", *end, exact_of_value(d.forward[name].value),
                        truth.forward[name], digits)
    # The answers, against the oracle.
    answers = [row for row in md.split("## Answers")[1].splitlines() if row.startswith("| $")]
    for name, row in zip(d.wrt, answers):
        cells = [c.strip() for c in row.strip("|").split("|")]
        value = exact_of_value(d.gradient(name))
        m = re.fullmatch(r"\$(\\approx )?(-?\d+\.\d+|-?[\d.]+ \\times 10\^\{-?\d+\})\$", cells[1])
        if m:
            check_named(problems, f"answer {name}", "\\approx" if m.group(1) else "=", m.group(2), value,
                        truth.gradients[name], digits)
        if len(cells) > 2 and cells[2]:
            check_named(problems, f"answer {name} decimal", "\\approx", cells[2], value, truth.gradients[name], digits)
    assert not problems, failing(g, mode, problems)


def exact_of_value(value: sp.Expr) -> Fraction | None:
    return Fraction(int(value.p), int(value.q)) if value.is_Rational else None


@needs_tex
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(reason=OVERFULL[c], strict=True))
                                  if c in OVERFULL else c for c in COMPILED], ids=case_id)
def test_random_sheets_compile_without_overfull_lines(case, mode) -> None:
    g, solution = solved(*case, mode)
    _, log = compile_with_log(solution.latex())
    assert not overfull(log), failing(g, mode, overfull(log))
