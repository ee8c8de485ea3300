"""The answer key of a class's variants: ``answers.json`` (a public contract, exact strings; a
matrix as a list of rows), ``answers.csv`` for a spreadsheet (a column an entry of a matrix,
``dL/dW1[1,2]``), and the decimal approximations an LMS needs."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import sympy as sp

from ..sheets.jsonout import exact, forward_values, gradient_values
from .variants import Variant
from ..worksheet.require import entries

DIGITS = 10  # significant digits of a decimal approximation


@dataclass(frozen=True)
class Row:
    """One variant in the key: its answers.json entry (exact strings), and its cells for the CSV:
    each number (a matrix's entry by entry, ``W1[1,2]``) exact and, when not a whole number, as
    decimals (``cells[part][name]``, ``decimals[part][name]``, part: forward or gradients)."""

    entry: dict[str, Any]
    cells: dict[str, dict[str, str]]
    decimals: dict[str, dict[str, str]]


def row(v: Variant) -> Row:
    """One variant's entry of answers.json: its id, its given numbers, every value, every gradient."""
    d = v.derivation
    forward = forward_values(d)
    given = {g.name: forward[g.name] for g in v.worksheet.given if g.value is not None}
    entry = {"id": v.key, "given": given, "forward": forward, "gradients": gradient_values(d)}
    values = {"forward": [x for n in forward for x in entries(n, d.forward[n].value)],
              "gradients": [x for n in entry["gradients"] for x in entries(n, d.gradient(n))]}
    cells = {part: {n: exact(x) for n, x in xs} for part, xs in values.items()}
    decimals = {part: {n: decimal(x) for n, x in xs if x.is_number and not x.is_Integer} for part, xs in values.items()}
    return Row(entry, cells, decimals)


def answers_json(worksheet: str, seed: int, rows: Sequence[Row]) -> str:
    """``{"worksheet", "seed", "variants": [...]}``; ``worksheet`` is the file's name."""
    data = {"worksheet": Path(worksheet).name, "seed": seed, "variants": [r.entry for r in rows]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def answers_csv(loss: str, rows: Sequence[Row]) -> str:
    """One row a variant: id, each value, each gradient (``dL/dw1``; a matrix's entry by entry,
    ``dL/dW1[1,2]``), exact; a column that is not whole numbers in every row is followed by its
    decimals (``dL/dw1 ≈``), for a spreadsheet."""
    first = rows[0].cells
    columns = [("forward", n, n) for n in first["forward"]]
    columns += [("gradients", n, f"d{loss}/d{n}") for n in first["gradients"]]
    header, picks = ["id"], []
    for part, name, label in columns:
        header.append(label)
        picks.append((part, name, False))
        if any(name in r.decimals[part] for r in rows):
            header.append(label + " ≈")
            picks.append((part, name, True))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.entry["id"]] + [r.decimals[p].get(n, r.cells[p][n]) if approx else r.cells[p][n]
                                           for p, n, approx in picks])
    return out.getvalue()


def decimal(value: sp.Expr, digits: int = DIGITS) -> str:
    """``value`` to ``digits`` significant digits as a plain decimal: ``0.3333333333``, ``-2.302585093``."""
    if value.is_Integer:
        return str(value)
    approx = Decimal(str(sp.N(value, digits + 5)))
    if approx == 0:
        return "0"
    rounded = approx.quantize(Decimal(1).scaleb(approx.adjusted() - digits + 1))
    text = format(rounded, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
