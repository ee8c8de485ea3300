"""A shapes-only worksheet at numbers: each dimension a size, each matrix drawn entry by entry, so
that a derivation written in formulas (∂L/∂W = Xᵀ ∂L/∂Z + λW) can be judged by its values.

Distinct dimension names get distinct sizes (2, 3, 4, …, in the order of their names), so a
misplaced transpose or a product in the wrong order cannot fit by chance; entries are nonzero
fractions of both signs, so a missing ReLU mask or term changes the value; a one-hot target gets
one 1 a row. The numbers come from a stream seeded by the worksheet's text: the same worksheet is
judged at the same numbers on any machine.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace

import sympy as sp

from ..worksheet.read import Worksheet

FIRST_SIZE = 2
NUMERATORS = (-3, -2, -1, 1, 2, 3)
DENOMINATORS = (1, 2, 3)


@dataclass(frozen=True)
class Instance:
    """The worksheet with numbers, and the size given to each named dimension."""

    worksheet: Worksheet
    sizes: tuple[tuple[str, int], ...]

    @property
    def said(self) -> str:
        """The sizes as a reader is told them: ``N = 2, D_in = 3``."""
        return ", ".join(f"{name} = {size}" for name, size in self.sizes)


def instance(ws: Worksheet) -> Instance:
    """``ws`` (shapes-only) with every declared matrix and every scalar without a value drawn."""
    names = sorted({d for g in ws.given if g.shape for d in g.shape if isinstance(d, str)})
    sizes = {name: FIRST_SIZE + i for i, name in enumerate(names)}
    rng = random.Random(int.from_bytes(hashlib.sha256((ws.source or ws.title).encode("utf-8")).digest(), "big"))
    given = []
    for g in ws.given:
        if g.shape is None:
            value = g.value if g.value is not None else _entry(rng, positive=True)
            given.append(replace(g, value=value))
            continue
        rows, cols = (sizes[d] if isinstance(d, str) else d for d in g.shape)
        if g.one_hot:
            hot = [rng.randrange(cols) for _ in range(rows)]
            entries = [sp.Integer(int(j == hot[i])) for i in range(rows) for j in range(cols)]
        else:
            entries = [_entry(rng) for _ in range(rows * cols)]
        given.append(replace(g, value=sp.ImmutableMatrix(rows, cols, entries), shape=None, one_hot=False))
    return Instance(replace(ws, given=tuple(given)), tuple(sizes.items()))


def _entry(rng: random.Random, positive: bool = False) -> sp.Rational:
    numerator = rng.choice(NUMERATORS)
    return sp.Rational(abs(numerator) if positive else numerator, rng.choice(DENOMINATORS))
