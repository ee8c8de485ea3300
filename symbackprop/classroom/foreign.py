"""Answers that are another student's variant's: a copy of a neighbour's work gives their numbers,
which the checker judges wrong with follow-through (ECF) credit from the first line on — unless
the copy also restates the neighbour's given numbers, nothing else shows it.

A student's answers are another variant's when every asked value that is wrong for their own
variant — two or more, 0 left out (a value many variants share) — equals (to 1 part in 10⁴, as a
rounded decimal does) one other variant's. A slip carried forward gives wrong values too, but
that they all be some other variant's by chance is unlikely. The instructor is told, and no ECF is
earned.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import sympy as sp

MIN_MATCHES = 2  # wrong asked values, all another variant's, that make a copy; one alone may be chance
RELATIVE = 1e-4  # a copied value rounded to 4 or more significant digits still matches

Numbers = tuple[float, ...]  # a value, or a matrix's entries row by row


def numbers(value: sp.Expr | sp.MatrixBase | None) -> Numbers | None:
    """A value as floats (None: not a number, e.g. a symbolic answer)."""
    if value is None:
        return None
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    try:
        return tuple(float(sp.N(x, 20)) for x in entries)
    except (TypeError, ValueError):
        return None


def same(a: Numbers | None, b: Numbers | None) -> bool:
    return a is not None and b is not None and len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=RELATIVE, abs_tol=1e-12) for x, y in zip(a, b))


def source(written: Mapping[str, Numbers | None], own: Mapping[str, Numbers | None],
           others: Mapping[str, Mapping[str, Numbers | None]]) -> str | None:
    """The id of the other variant whose values ``written`` gives (by asked quantity), or None;
    ``own`` is the student's own variant's, ``others`` every other variant's."""
    wrong = {q: v for q, v in written.items() if v is not None and not same(v, own.get(q)) and any(v)}
    if len(wrong) < MIN_MATCHES:
        return None
    for key, values in others.items():
        if all(same(v, values.get(q)) for q, v in wrong.items()):
            return key
    return None


def sources(written: Sequence[Mapping[str, Numbers | None]], expected: Sequence[Mapping[str, Numbers | None]],
            keys: Sequence[str]) -> list[str | None]:
    """For each student (in order), the variant whose numbers their answers give, if another's."""
    table = dict(zip(keys, expected))
    return [source(w, e, {k: v for k, v in table.items() if k != key}) for key, w, e in zip(keys, written, expected)]
