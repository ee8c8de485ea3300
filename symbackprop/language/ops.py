"""The operations of the expression language: for each, its forward rule and its local
derivative (a SymPy ``fdiff`` where SymPy does not know it), in one place. How they are written
in LaTeX is the printers' business (``sheets.printing``), as in SymPy.

Conventions at kinks are explicit arguments, like SymPy's ``Heaviside(x, H0)``, so that no
value at a kink is inherited silently.
"""
from __future__ import annotations

import functools

import sys
from dataclasses import dataclass
from collections.abc import Callable, Sequence

import sympy as sp
from sympy.core.logic import fuzzy_and
from mpmath.libmp import prec_to_dps

from ..errors import EvaluationError

# Bounds that keep exact arithmetic from running away (a number too large to write down).
MAX_EXPONENT = 10_000
MAX_BITS = 20_000
# Python refuses str() of an int over 4300 digits by default; a value within MAX_BITS must print.
_DIGITS_NEEDED = MAX_BITS * 30103 // 100000 + 2
if 0 < sys.get_int_max_str_digits() < _DIGITS_NEEDED:
    sys.set_int_max_str_digits(_DIGITS_NEEDED)


class Relu(sp.Function):
    """relu(x) = max(x, 0); the second argument is relu'(0), a stated convention."""

    nargs = 2

    @classmethod
    def eval(cls, x: sp.Expr, at_zero: sp.Expr) -> sp.Expr | None:
        if x.is_positive:
            return x
        if x.is_nonpositive:
            return sp.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex == 1:
            return sp.Heaviside(self.args[0], self.args[1])
        return sp.S.Zero

    def _sympystr(self, printer) -> str:
        return "relu(%s)" % printer._print(self.args[0])


class LeakyRelu(sp.Function):
    """leaky_relu(x, a) = x for x > 0, a·x otherwise; the third argument is the step at 0."""

    nargs = 3

    @classmethod
    def eval(cls, x: sp.Expr, a: sp.Expr, at_zero: sp.Expr) -> sp.Expr | None:
        if x.is_positive:
            return x
        if x.is_nonpositive:
            return a * x
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, a, at_zero = self.args
        step = sp.Heaviside(x, at_zero)
        if argindex == 1:
            return a + (1 - a) * step
        if argindex == 2:
            return x * (1 - step)
        return sp.S.Zero

    def _sympystr(self, printer) -> str:
        return "leaky_relu(%s, %s)" % (printer._print(self.args[0]), printer._print(self.args[1]))


class Sigmoid(sp.Function):
    """σ(x) = 1/(1 + e^(−x)); its derivative is written σ(1 − σ), as the notes write it.

    An exact value stays σ(3/2), as tanh(3/2) stays tanh: written out, nested sigmoids become
    towers of exponents that no reader can follow. σ(0) = 1/2 is the one value it evaluates."""

    nargs = 1

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        # Only a zero SymPy sees without computing: asking a network's nested sums whether they are
        # zero evaluates them numerically, which took most of the time of an update step.
        if x.is_Atom and x.is_zero:
            return sp.S.Half
        return None

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec: int) -> sp.Expr:
        if not self.args[0].is_number:
            return self.rewrite(sp.exp).evalf(prec_to_dps(prec))
        return sigmoid_value(self.args[0], -(-(prec + 20) // 64) * 64).evalf(prec_to_dps(prec))

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_real

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = Sigmoid(self.args[0])
        return s * (1 - s)

    def _sympystr(self, printer) -> str:
        return "sigmoid(%s)" % printer._print(self.args[0])


def closed_form(value: sp.Expr) -> sp.Expr:
    """A number whose sigmoids of logarithms, written out as 1/(1 + e^(−x)), make it rational:
    σ(2 ln 3) = 9/10; any other value as it is (σ(3/2) stays σ(3/2))."""
    logs = {s: s.rewrite(sp.exp) for s in value.atoms(Sigmoid) if s.args[0].is_number and s.args[0].has(sp.log)}
    if not logs:
        return value
    closed = value.xreplace(logs)
    return closed if closed.is_Rational else value


@functools.lru_cache(maxsize=4096)
def sigmoid_value(x: sp.Expr, prec: int) -> sp.Float:
    """σ(x) to ``prec`` bits, from the argument's value with guard digits. Rewriting the argument
    to exponentials would rewrite every sigmoid nested in it again, a cost that doubles with each
    layer; the working precision is rounded up to 64 bits so that the nested sigmoids of a network
    are evaluated once each."""
    dps = prec_to_dps(prec)
    return (1 / (1 + sp.exp(-x.evalf(dps)))).evalf(dps)


class Choose(sp.Function):
    """choose(y, p1, p2, …): the argument numbered y (from 1); no gradient flows to y."""

    @classmethod
    def eval(cls, y: sp.Expr, *options: sp.Expr) -> sp.Expr | None:
        if y.is_Integer:
            k = int(y)
            if not 1 <= k <= len(options):
                raise EvaluationError(f"choose: index {k} is not between 1 and {len(options)}")
            return options[k - 1]
        if y.is_number:
            raise EvaluationError(f"choose: index {y} is not a whole number")
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex == 1:
            return sp.S.Zero
        return sp.KroneckerDelta(self.args[0], argindex - 1)

    def _sympystr(self, printer) -> str:
        return "choose(%s)" % ", ".join(printer._print(a) for a in self.args)


def _is_known_number(x: sp.Expr) -> bool:
    return bool(x.is_number) and not x.has(sp.nan, sp.zoo, sp.oo, -sp.oo)


def check_size(value: sp.Expr) -> sp.Expr:
    """Refuse exact numbers too large to write down."""
    if value.is_Rational and max(int(value.p).bit_length(), int(value.q).bit_length()) > MAX_BITS:
        raise EvaluationError("a value is too large to write down exactly")
    return value


def _is_zero(x: sp.Expr) -> bool:
    """Zero, also when written so that SymPy cannot tell at once (log(4) - 2 log(2))."""
    if x.is_zero is not None:
        return bool(x.is_zero)
    return bool(x.is_number) and x.equals(0) is True


def _pow(base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
    if exponent.is_Integer and abs(int(exponent)) > MAX_EXPONENT:
        raise EvaluationError(f"the exponent {exponent} is too large (at most {MAX_EXPONENT})")
    if exponent.is_Rational and base.is_Rational and base != 0:
        bits = max(int(base.p).bit_length(), int(base.q).bit_length())
        if bits * abs(exponent) > MAX_BITS:
            raise EvaluationError("a power is too large to write down exactly")
    if _is_known_number(exponent) and exponent.is_negative and _is_zero(base):
        raise EvaluationError("division by zero (0 to a negative power)")
    if _is_known_number(base) and base.is_negative and exponent.is_Rational and not exponent.is_Integer:
        raise EvaluationError(f"a fractional power of the negative number {base}")
    return check_size(sp.Pow(base, exponent))


def divide(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    if _is_zero(b):
        raise EvaluationError("division by zero")
    return check_size(a / b)


def _log(x: sp.Expr, base: sp.Expr | None = None) -> sp.Expr:
    for v, what in ((x, "log of"), (base, "log base")):
        if v is not None and _is_known_number(v) and not v.is_positive:
            raise EvaluationError(f"{what} the non-positive number {v}")
    if base is not None and base == 1:
        raise EvaluationError("log base 1")
    return sp.log(x) if base is None else sp.log(x) / sp.log(base)


class _Pair(sp.Function):
    """max or min of two arguments, its derivative a step with ½ at a tie (PyTorch's
    torch.maximum / torch.minimum). max(a, b, c) is folded in the written order,
    max(max(a, b), c), as PyTorch folds it: at a tie of three the gradients are ¼, ¼ and ½ and
    sum to 1 (SymPy's n-ary Max gives each ½)."""

    nargs = 2
    exact: type[sp.Max] | type[sp.Min]
    word: str

    @classmethod
    def eval(cls, x: sp.Expr, y: sp.Expr) -> sp.Expr | None:
        if x.is_number and y.is_number:
            return _pick(cls.exact, cls.word, x, y)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, y = self.args if argindex == 1 else reversed(self.args)
        return sp.Heaviside(x - y if self.exact is sp.Max else y - x, sp.S.Half)

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return self.exact(*self.args).evalf(prec_to_dps(prec))

    def _eval_is_real(self) -> bool | None:
        return fuzzy_and(a.is_real for a in self.args)

    def flat(self) -> list[sp.Expr]:
        """The arguments as written: max(max(a, b), c) → a, b, c."""
        first, last = self.args
        return (first.flat() if type(first) is type(self) else [first]) + [last]

    def _sympystr(self, printer) -> str:
        return "%s(%s)" % (self.word, ", ".join(printer._print(a) for a in self.flat()))


class Maximum(_Pair):
    exact, word = sp.Max, "max"


class Minimum(_Pair):
    exact, word = sp.Min, "min"


def _pick(cls: type[sp.Max] | type[sp.Min], name: str, x: sp.Expr, y: sp.Expr) -> sp.Expr:
    """The larger (smaller) of two numbers; SymPy refuses (ValueError) a number it cannot order,
    such as log(4) - 2 log(2), which is 0 written so that no finite precision decides its sign."""
    try:
        return cls(x, y)
    except ValueError:
        undecided = next((a for a in (x, y) if not a.is_comparable), None)
        raise EvaluationError(f"{name}: the order of its arguments cannot be decided at the given numbers"
                              + (f" ({undecided} cannot be compared; write it more simply)" if undecided is not None
                                 else "")) from None


def _fold(cls: type[_Pair], args: Sequence[sp.Expr]) -> sp.Expr:
    out = args[0]
    for a in args[1:]:
        out = cls(out, a)
    return out


def _sqrt(x: sp.Expr) -> sp.Expr:
    if _is_known_number(x) and x.is_negative:
        raise EvaluationError(f"square root of the negative number {x}")
    return sp.sqrt(x)


@dataclass(frozen=True)
class Function:
    """A named function of the language: arities allowed, SymPy builder."""

    name: str
    arities: tuple[int, ...] | None  # None: any number ≥ 2
    build: Callable[..., sp.Expr]


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("exp", (1,), sp.exp),
        Function("log", (1, 2), _log),
        Function("log10", (1,), lambda x: _log(x, sp.Integer(10))),
        Function("sqrt", (1,), _sqrt),
        Function("abs", (1,), sp.Abs),
        Function("max", None, lambda *a: _fold(Maximum, a)),
        Function("min", None, lambda *a: _fold(Minimum, a)),
        Function("relu", (1,), None),  # builder needs the convention
        Function("leaky_relu", (2,), None),
        Function("sigmoid", (1,), Sigmoid),
        Function("tanh", (1,), sp.tanh),
        Function("choose", None, Choose),
    )
}


# sum and mean along an axis, as NumPy's: axis=0 down the columns (a 1×n row), axis=1 along the rows
# (an m×1 column). ``sum(A, axis=0)`` is the operation named "sum(axis=0)" in the tree: a name no
# call can write, which any message prints as it reads.
def axis_op(function: str, axis: int) -> str:
    """The operation of ``function(A, axis=axis)``."""
    return f"{function}(axis={axis})"


AXIS_OPS: dict[str, tuple[str, int]] = {axis_op(f, k): (f, k) for f in ("sum", "mean") for k in (0, 1)}


# The functions of matrices only (their rules are in matops): name → arities, for the parser.
MATRIX_ARITIES: dict[str, tuple[int, ...]] = {
    "transpose": (1,), "sum": (1,), "mean": (1,), "softmax": (1,), "cross_entropy": (2,), "mse": (2,),
    "sse": (2,), "l2": (2,), **{op: (1,) for op in AXIS_OPS},
}


@dataclass(frozen=True)
class Conventions:
    """Stated values at kinks: relu'(0) (PyTorch's 0 by default)."""

    relu_at_zero: sp.Rational = sp.S.Zero


def build_call(name: str, args: Sequence[sp.Expr], conventions: Conventions) -> sp.Expr:
    """Apply function ``name`` to SymPy arguments, checking the domain at numbers."""
    if name == "relu":
        return Relu(args[0], conventions.relu_at_zero)
    if name == "leaky_relu":
        return LeakyRelu(args[0], args[1], conventions.relu_at_zero)
    return check_size(FUNCTIONS[name].build(*args))


def build_binary(op: str, a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """The arithmetic operators, with the guards exact arithmetic needs."""
    if op == "+":
        return check_size(a + b)
    if op == "-":
        return check_size(a - b)
    if op == "*":
        return check_size(a * b)
    if op == "/":
        return divide(a, b)
    if op == "**":
        return _pow(a, b)
    raise AssertionError(op)
