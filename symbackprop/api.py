"""The library API a notebook calls: ``solve(path)`` gives a Solution that shows itself."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import worksheet as W
from .derive import Derivation, derive
from .jsonout import as_dict, to_json
from .render import render
from .sheet import Sheet, layout


@dataclass(frozen=True)
class Solution:
    """A worked solution: the derivation, its sheet, and its renderings."""

    derivation: Derivation
    sheet: Sheet
    templates: str | None = None

    def markdown(self) -> str:
        return render(self.sheet, "md", self.templates)

    def latex(self) -> str:
        return render(self.sheet, "tex", self.templates)

    def json(self) -> str:
        return to_json(self.derivation)

    def as_dict(self) -> dict:
        return as_dict(self.derivation)

    def render(self, fmt: str) -> str:
        return {"md": self.markdown, "tex": self.latex, "json": self.json}[fmt]()

    def _repr_markdown_(self) -> str:
        return self.markdown()


def solve(source: str | Path | W.Worksheet, notation: str | None = None,
          templates: str | Path | None = None) -> Solution:
    """Solve a worksheet given as a path, as YAML text, or as a loaded Worksheet."""
    if isinstance(source, W.Worksheet):
        ws = source
    elif isinstance(source, Path) or "\n" not in str(source):
        ws = W.load(source)
    else:
        ws = W.loads(str(source))
    d = derive(ws)
    return Solution(d, layout(d, notation), str(templates) if templates else None)
