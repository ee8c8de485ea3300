"""A checked derivation as the terminal text, the JSON contract, and the Markdown and LaTeX
reports (their layout lives in templates/check.md.j2 and templates/check.tex.j2).

A value is shown as a short decimal, with its exact form beside it only when that is short: a
nested sigmoid's exact form is hundreds of characters that no reader follows (the JSON keeps it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click
import sympy as sp

from .judge import CheckReport, ClaimCheck
from .numeric import SHORT, short_decimal, shown, shown_any
from ..language.evaluate import symbol
from ..sheets.jsonout import exact, value_json
from ..sheets.printing import SheetPrinter, default_name_latex
from ..sheets.render import environment, tex_escape

MARKS = {"correct": "✓", "wrong": "✗", "ecf": "ECF", "unreadable": "?", "unknown": "–"}
LABELS = {"correct": "✓ correct", "wrong": "✗ wrong", "ecf": "ECF", "unreadable": "? unreadable",
          "unknown": "– unknown"}  # each verdict once: the mark, and the word when the mark is not one
COLOURS = {"correct": "green", "wrong": "red", "ecf": "yellow", "unreadable": "blue", "unknown": "magenta"}


def as_dict(report: CheckReport) -> dict[str, Any]:
    """The JSON contract: each claim with exact SymPy strings (and decimals beside them), the
    counts, and the score over the asked quantities."""
    right, judged = report.asked_score
    return {
        "worksheet": report.worksheet,
        "answer": report.answer,
        "note": report.note,
        "claims": [{
            "line": c.line, "text": c.text, "quantity": c.quantity,
            "claimed": _exact(c.claimed), "expected": _exact(c.expected),
            "verdict": c.verdict, "diagnosis": c.diagnosis, "steps": list(c.steps),
            "claimed_decimal": _decimal(c.claimed, report.digits),
            "expected_decimal": _decimal(c.expected, report.digits), "note": c.note,
        } for c in report.claims],
        "summary": {**{v: report.count(v) for v in MARKS},
                    "score": None if report.score is None else exact(report.score)},
        "asked": {"quantities": list(report.asked), "judged": judged, "right": right},
    }


def to_json(report: CheckReport) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"


def to_text(report: CheckReport, colour: bool = False) -> str:
    """One block a claim for the terminal; colour only when asked (a terminal, not a pipe)."""
    out = [f"{report.answer} against {report.worksheet}", *([report.note] if report.note else []), ""]
    for c in report.claims:
        label = f"{LABELS[c.verdict]:>11}"
        head = f"line {c.line}: " + (click.style(label, fg=COLOURS[c.verdict], bold=True) if colour else label)
        if c.quantity:
            head += f"  {c.quantity}"
        out.append(head)
        out.append(f"      {c.text}")
        if c.claimed is not None:
            out.append(f"      claimed {shown_any(c.claimed, report.digits)}" + (
                f", expected {shown_any(c.expected, report.digits)}"
                if c.expected is not None and c.verdict != "correct" else ""))
        out += [f"      {line}" for line in (c.diagnosis, c.note) if line]
        out += [f"      · {s}" for s in c.steps]
    out += ["", summary_line(report)]
    return "\n".join(out) + "\n"


def summary_line(report: CheckReport) -> str:
    """The counts of each verdict, and the score k/n (p %) over the n asked quantities judged."""
    counts = ", ".join(f"{report.count(v)} {v}" for v in MARKS)
    right, judged = report.asked_score
    score = f"score {right}/{judged} ({(200 * right + judged) // (2 * judged)} %)" if judged else \
        "no asked quantity to score"
    return f"{counts}; {score}"


@dataclass(frozen=True)
class Row:
    """A claim as the Markdown and LaTeX templates show it: the writer's line, the mark, the
    values in LaTeX (ours, from SymPy), the reason."""

    claim: ClaimCheck
    mark: str
    claimed: str
    expected: str


def to_document(report: CheckReport, fmt: str, document: str = "check", **context: object) -> str:
    """The Markdown or LaTeX report: the writer's own lines, each with its mark and correction,
    through the template ``DOCUMENT.FMT.j2`` (``feedback`` adds a student's score and solution,
    given in ``context``)."""
    printer = SheetPrinter({symbol(n): default_name_latex(n) for n in _names(report)})
    # In the LaTeX table's narrow cells a matrix is set small; Markdown's page wraps around it.
    begin, end = (r"\left[\begin{smallmatrix} ", r" \end{smallmatrix}\right]") if fmt == "tex" else \
        (r"\begin{bmatrix} ", r" \end{bmatrix}")

    def latex(value: sp.Expr | sp.MatrixBase | None) -> str:
        if isinstance(value, sp.MatrixBase):  # each entry exact when short, else its decimal
            rows = [" & ".join(printer.doprint(x) if len(exact(x)) <= SHORT or x.free_symbols else
                               short_decimal(x, report.digits) for x in value.row(i)) for i in range(value.rows)]
            return begin + r" \\ ".join(rows) + end
        return "" if value is None else shown(value, report.digits, printer.doprint, r" \approx ")

    rows = [Row(c, MARKS[c.verdict], latex(c.claimed), latex(c.expected)) for c in report.claims]
    template = environment(None).get_template(f"{document}.{fmt}.j2")
    return template.render(report=report, rows=rows, summary=summary_line(report), texplain=tex_escape, **context)


def _names(report: CheckReport) -> list[str]:
    found = set()
    for c in report.claims:
        for v in (c.claimed, c.expected):
            if v is not None:
                found |= {s.name for s in v.free_symbols}
    return sorted(n for n in found if "/" not in n)


def _exact(value: sp.Expr | sp.MatrixBase | None) -> str | list[list[str]] | None:
    """An exact string; a matrix as its rows of exact strings (as the solution's JSON writes it)."""
    return None if value is None else value_json(value)


def _decimal(value: sp.Expr | sp.MatrixBase | None, digits: int) -> str | list[list[str | None]] | None:
    if isinstance(value, sp.MatrixBase):
        return [[short_decimal(x, digits) for x in value.row(i)] for i in range(value.rows)]
    return None if value is None else short_decimal(value, digits)
