"""Which layout sets a derivation: scalars, matrices with numbers, or matrices by their shapes —
the one place that decides, for ``solve``, a class's sheets and a student's feedback alike."""
from __future__ import annotations

from ..engine.protocol import Derivation
from .matrix import layout_matrices
from .model import Sheet
from .scalar import layout
from .shapesheet import layout_shapes


def sheet_of(d: Derivation, notation: str | None = None, figure: bool = True, figure_values: bool = False) -> Sheet:
    """The solution sheet of ``d`` (``notation`` overrides the worksheet's)."""
    ws = d.worksheet
    if ws.shapes_only:
        return layout_shapes(d, notation, figure, figure_values)
    if ws.has_matrices:
        return layout_matrices(d, notation, figure, figure_values)
    return layout(d, notation, figure, figure_values)
