"""The scalar engine as the oracle of a matrix derivation (a module of the tests, not a test)."""
from __future__ import annotations

from symbackprop.engine.derive import derive
from symbackprop.language.equality import equal
from symbackprop.matrix.derive import MatrixDerivation
from symbackprop.matrix.expand import scalar_worksheet


def assert_scalar_engine_agrees(d: MatrixDerivation) -> None:
    """Every asked gradient, entry by entry, equals the scalar engine's on the worksheet written in scalars."""
    s = derive(scalar_worksheet(d))
    for name in d.wrt:
        m = d.gradient_matrix(name)
        for i in range(m.rows):
            for j in range(m.cols):
                scalar = name if m.shape == (1, 1) else f"{name}_{i + 1}_{j + 1}"
                assert equal(m[i, j], s.gradient(scalar)), (name, i, j)
