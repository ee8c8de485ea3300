"""symbackprop: exact, step-by-step worked solutions of backpropagation exercises.

The face of the package: ``solve`` and ``Solution`` are loaded on first use, so that
``import symbackprop`` stays light; the stages live in the subpackages (worksheet, language,
engine, matrix, sheets, check, classroom) and ``symbackprop.api`` holds the whole library API.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import SymbackpropError

if TYPE_CHECKING:
    from .api import Solution, solve

__version__ = "0.1.0"
__all__ = ["Solution", "SymbackpropError", "solve", "__version__"]


def __getattr__(name: str) -> Any:
    """``Solution`` and ``solve`` from ``symbackprop.api``, imported when first asked for."""
    if name in ("Solution", "solve"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
