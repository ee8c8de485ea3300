"""symbackprop: exact, step-by-step worked solutions of backpropagation exercises."""
from .api import Solution, solve
from .errors import SymbackpropError

__version__ = "0.1.0"
__all__ = ["Solution", "SymbackpropError", "solve", "__version__"]
