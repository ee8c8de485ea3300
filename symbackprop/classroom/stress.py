"""``symbackprop stress``: draw many variants and report what the instructor tunes ``random:`` and
``require:`` by (after R/exams' stresstest_exercise) — how often each condition rejects a draw,
the range of every value and answer, steps on their kinks, saturated sigmoids and tanhs, and
degenerate variants (every answer 0, numbers too large to work by hand). In matrices every entry
is a quantity of its own (``A[1,2]``, ``dL/dW1[1,2]``)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from collections.abc import Callable, Sequence

import sympy as sp

from .conditions import applied, kinks
from ..language import expr as E
from ..language.equality import sign
from ..sheets.jsonout import exact
from ..language.ops import Sigmoid
from .variants import REPEAT, UNDEFINED, Plan, Run, Variant, run
from ..worksheet.require import entries

SATURATION = {Sigmoid: ("sigmoid", 5), sp.tanh: ("tanh", sp.Rational(5, 2))}  # |argument| above: saturated
HUGE_NUMERATOR = 1000
HUGE_DENOMINATOR = 100
EXAMPLES = 8  # variant ids listed for each finding


@dataclass(frozen=True)
class Facts:
    """What one variant shows: each value and asked gradient (exact text, the number for ordering),
    kinks and saturations met, whether every answer is 0, which numbers are huge."""

    values: tuple[tuple[str, str, float], ...]
    kinks: tuple[str, ...]
    saturated: tuple[str, ...]
    all_zero: bool
    huge: tuple[str, ...]


def facts(v: Variant) -> Facts:
    """The job ``stress`` runs on each variant."""
    d = v.derivation
    values = [x for n in d.graph.order if d.graph.nodes[n].kind == "node" for x in entries(n, d.forward[n].value)]
    answers = [x for n in d.wrt for x in entries(f"d{d.loss}/d{n}", d.gradient(n))]
    values += answers
    saturated = []
    for name in d.graph.order:
        rule = d.forward[name].rule
        for fn, (label, limit) in SATURATION.items():
            for call in sorted(rule.atoms(fn), key=sp.default_sort_key) if rule is not None else ():
                at = call.args[0].xreplace(d.known)
                if at.is_number and sign(abs(at) - limit) > 0:
                    saturated.append(f"{label}({sp.sstr(call.args[0])}) in {name}")
    for label, limit in SATURATION.values():
        for name, tree, m in applied(d, label):
            if any(sign(abs(x) - limit) > 0 for x in m):
                saturated.append(f"{label}({E.text(tree.args[0])}) in {name}")
    huge = tuple(n for n, x in values if x.is_Rational and (abs(x.p) > HUGE_NUMERATOR or x.q > HUGE_DENOMINATOR))
    zero = all(g.is_zero or g.is_number and sign(g) == 0 for _, g in answers)
    return Facts(tuple((n, exact(x), float(x.evalf(20)) if x.is_number else float("nan")) for n, x in values),
                 kinks(d), tuple(dict.fromkeys(saturated)), zero, huge)


def stress(p: Plan, n: int, jobs: int = 0, progress: Callable[[int], None] | None = None) -> str:
    """Draw variants 1..n as ``symbackprop variants`` would, and report on them (Markdown)."""
    result = run(p, [str(i) for i in range(1, n + 1)], facts, jobs, progress, missing_ok=True)
    return report(p, result)


def report(p: Plan, result: Run[Facts]) -> str:
    ws, tally = p.worksheet, result.tally
    found = len(result.keys)
    lines = [f"# Stress test: {ws.title}", "",
             f"Seed {p.seed}: {found + len(result.missing)} variants asked, {found} drawn, {tally.draws} draws "
             f"made ({_share(found, tally.draws)} kept).", ""]
    if result.missing:
        lines += [f"No draw met every condition for {len(result.missing)} variants "
                  f"({_ids(result.missing)}).", ""]
    lines += ["## Draws rejected", "", "| condition | line | draws rejected | share of draws |", "|---|---:|---:|---:|"]
    reasons = [(f"`{c.text}`", str(c.line), i) for i, c in enumerate(ws.require)]
    reasons += [("a value undefined at the numbers", "", UNDEFINED), ("the numbers of an earlier variant", "", REPEAT)]
    for label, line, reason in reasons:
        count = tally.rejected.get(reason, 0)
        lines.append(f"| {label} | {line} | {count} | {_share(count, tally.draws)} |")
    if tally.example:
        lines += ["", f"For example: {tally.example}"]
    lines += ["", "## Values and answers", "", "| quantity | least | greatest | different values | zero in |",
              "|---|---:|---:|---:|---:|"]
    for i, (name, _, _) in enumerate(result.results[0].values if result.results else ()):
        column = [f.values[i] for f in result.results]
        numbers = [c for c in column if c[2] == c[2]] or [(name, "—", 0.0)]  # NaN: not a number
        low, high = min(numbers, key=lambda c: c[2]), max(numbers, key=lambda c: c[2])
        zeros = sum(1 for c in column if c[1] == "0")
        lines.append(f"| {name} | {low[1]} | {high[1]} | {len({c[1] for c in column})} | {_share(zeros, found)} |")
    lines += ["", "## Kinks and saturation", ""] + _findings(result, lambda f: f.kinks, "on its kink")
    lines += _findings(result, lambda f: f.saturated, "saturated")
    huge = Counter(n for f in result.results for n in f.huge)
    lines += ["", "## Degenerate variants", ""]
    lines += _findings(result, lambda f: ("every asked gradient is 0",) * f.all_zero + (
        f"a numerator above {HUGE_NUMERATOR} or a denominator above {HUGE_DENOMINATOR}",) * bool(f.huge), "")
    if huge:
        lines.append("  (large numbers in " + ", ".join(f"{n}: {c}" for n, c in huge.most_common()) + ")")
    repeats = [k for k, r in zip(result.keys, result.repeats) if r]
    if repeats:
        lines.append(f"- the numbers of an earlier variant (too few different numbers): {len(repeats)} variants "
                     f"({_ids(repeats)})")
    return "\n".join(lines) + "\n"


def _findings(result: Run[Facts], pick: Callable[[Facts], Sequence[str]], what: str) -> list[str]:
    """One line per finding: how many variants show it, and which."""
    seen: dict[str, list[str]] = {}
    for key, f in zip(result.keys, result.results):
        for text in pick(f):
            seen.setdefault(text, []).append(key)
    if not seen:
        return [f"- none {what}".rstrip() if what else "- none"]
    return [f"- {text}{' ' + what if what else ''}: {len(keys)} variants ({_share(len(keys), len(result.keys))}; "
            f"{_ids(keys)})" for text, keys in seen.items()]


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _ids(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:EXAMPLES])
    return "ids " + shown + (", …" if len(keys) > EXAMPLES else "")
