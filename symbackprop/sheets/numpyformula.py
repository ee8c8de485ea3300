"""A shapes-only worksheet's formulas in the language's own NumPy notation, for the JSON: each
gradient written out down to given names and node names, which NumPy evaluates once every name is
bound to an array and every dimension to a whole number.

The notation uses only ``@``, ``.T``, ``+ - * /``, ``**``, ``sum(A)`` and ``sum(A, axis=0|1)``
(NumPy's sum, keeping two dimensions: a 1×n row of column sums, an m×1 column of row sums),
``exp``, ``log`` and ``step(A)``, 𝕀[A > 0] as 0/1. The other functions are written in these:
relu(A) = A * step(A), sigmoid(A) = 1 / (1 + exp(-A)), softmax(A) = exp(A) / sum(exp(A), axis=1),
and so on; the matrix of ones of A's shape is ``A ** 0``. Brackets are only those Python's
precedence needs; a number factor is taken out of a matrix product (Xᵀ (c A) is written
``X.T @ A / N``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
import sympy as sp

from ..language import expr as E
from ..language.ops import AXIS_OPS
from ..matrix.dims import Shape, as_expr, dims_of
from ..matrix.mexpr import Const, Grad, Leaf, MExpr, Ones, Op, Part
from ..matrix.symbolic import ShapeDerivation

ADD, MUL, NEG, POW, ATOM = 1, 2, 3, 4, 5
# A NumPy formula: ("name", text), ("num", value), ("bin", op, a, b), ("neg", a), ("T", a),
# ("call", function, argument, axis), ("scaled", factor, a).
Tree = tuple
Text = tuple[str, int]
BINARY_PREC = {"+": ADD, "-": ADD, "*": MUL, "/": MUL, "@": MUL, "**": POW}
OPS = {"matmul": "@", "had": "*", "hdiv": "/", "add": "+", "sub": "-", "pow": "**"}
AXES = {"colsum": 0, "rowsum": 1, "total": None}


def name(n: str) -> Tree:
    return ("name", n)


def num(x: sp.Expr | int) -> Tree:
    return ("num", as_expr(x))


def bin_(op: str, a: Tree, b: Tree) -> Tree:
    return ("bin", op, a, b)


def call(f: str, a: Tree, axis: int | None = None) -> Tree:
    return ("call", f, a, axis)


def neg(a: Tree) -> Tree:
    return ("neg", a)


# -- the language's functions in the notation's few --------------------------------------------------
def _count(shape: Shape) -> Tree:
    return num(shape[0] * shape[1])


FUNCTIONS: dict[str, Callable[[Sequence[Tree], Sequence[Shape]], Tree]] = {
    "relu": lambda a, s: bin_("*", a[0], call("step", a[0])),
    "sigmoid": lambda a, s: bin_("/", num(1), bin_("+", num(1), call("exp", neg(a[0])))),
    "tanh": lambda a, s: bin_("-", bin_("/", num(2), bin_("+", num(1), call("exp", bin_("*", num(-2), a[0])))), num(1)),
    "exp": lambda a, s: call("exp", a[0]),
    "log": lambda a, s: call("log", a[0]),
    "sqrt": lambda a, s: bin_("**", a[0], num(sp.Rational(1, 2))),
    "sum": lambda a, s: call("sum", a[0]),
    **{op: (lambda a, s, k=axis: call("sum", a[0], k)) if f == "sum" else
       (lambda a, s, k=axis: bin_("/", call("sum", a[0], k), num(s[0][k]))) for op, (f, axis) in AXIS_OPS.items()},
    "mean": lambda a, s: bin_("/", call("sum", a[0]), _count(s[0])),
    "softmax": lambda a, s: bin_("/", call("exp", a[0]), call("sum", call("exp", a[0]), 1)),
    "cross_entropy": lambda a, s: bin_("/", neg(call("sum", bin_("*", a[1], call("log", a[0])))), num(s[0][0])),
    "mse": lambda a, s: bin_("/", call("sum", bin_("**", bin_("-", a[1], a[0]), num(2))), num(2 * s[0][0])),
    "sse": lambda a, s: call("sum", bin_("**", bin_("-", a[1], a[0]), num(2))),
    "l2": lambda a, s: bin_("/", bin_("*", a[1], call("sum", bin_("**", a[0], num(2)))), num(2)),
}


class NumpyWriter:
    """Writes a shapes-only derivation's definitions and gradients in the NumPy notation."""

    def __init__(self, d: ShapeDerivation) -> None:
        self.d = d
        named = [g.name for g in d.worksheet.given] + [n.name for n in d.worksheet.nodes]
        self.by_shape: dict[Shape, str] = {}
        for n in named:
            self.by_shape.setdefault(d.shapes[n], n)

    # -- trees -----------------------------------------------------------------------------------
    def definition(self, t: E.Expr) -> Tree:
        """A definition of the language, its functions written in the notation's few."""
        if isinstance(t, (E.Num, E.Value)):
            return num(t.value)
        if isinstance(t, E.Name):
            return name(t.id)
        args = [self.definition(a) for a in t.args]
        if t.op in BINARY_PREC:
            return bin_(t.op, *args)
        if t.op == "neg":
            return neg(args[0])
        if t.op == "transpose":
            return ("T", args[0])
        return FUNCTIONS[t.op](args, [self.d.evaluator(a).shape for a in t.args])

    def formula(self, f: MExpr) -> Tree:
        """A gradient formula in closed form (no ∂L/∂ left in it)."""
        if isinstance(f, Leaf):
            return name(f.name)
        if isinstance(f, Part):
            return self.definition(f.tree)
        if isinstance(f, Const):
            return num(f.value)
        if isinstance(f, Ones):
            return self.ones(f.shape)
        if isinstance(f, Grad):
            raise AssertionError("a closed form has no ∂L/∂" + f.name)
        if f.kind in ("had", "matmul"):
            (ca, a), (cb, b) = _factor(f.args[0]), _factor(f.args[1])
            parts = [self.formula(x) for x in (a, b) if x is not None]
            op = "*" if any(_is_number(x) for x in parts) else OPS[f.kind]  # a 1×1 matrix of ones is 1
            body = bin_(op, *parts) if len(parts) == 2 else parts[0] if parts else None
            return num(ca * cb) if body is None else body if ca * cb == 1 else ("scaled", ca * cb, body)
        args = [self.formula(a) for a in f.args]
        if f.kind in OPS:
            return bin_(OPS[f.kind], *args)
        if f.kind == "T":
            return args[0] if _is_number(args[0]) else ("T", args[0])
        if f.kind == "neg":
            return neg(args[0])
        if f.kind in AXES:
            return call("sum", args[0], AXES[f.kind])
        if f.kind == "log":
            return call("log", args[0])
        if f.kind == "step":
            return _step(args[0], f.at_zero)
        raise AssertionError(f.kind)

    def ones(self, shape: Shape) -> Tree:
        """The matrix of ones of a shape: A ** 0 for a name A of that shape, else a column of ones
        times a row of ones, each the sums of a name along its other axis, to the power 0."""
        if shape == (1, 1):
            return num(1)
        if shape in self.by_shape:
            return bin_("**", name(self.by_shape[shape]), num(0))
        column = bin_("**", self._sums(shape[0], 1), num(0))
        row = bin_("**", self._sums(shape[1], 0), num(0))
        return row if shape[0] == 1 else column if shape[1] == 1 else bin_("@", column, row)

    def _sums(self, d: sp.Expr, axis: int) -> Tree:
        """d×1 (axis 1) or 1×d (axis 0) from a name with the dimension d."""
        for s, n in self.by_shape.items():
            if s[1 - axis] == d:
                return call("sum", name(n), axis)
        for s, n in self.by_shape.items():
            if s[axis] == d:
                return ("T", call("sum", name(n), 1 - axis))
        raise AssertionError(d)

    # -- text ------------------------------------------------------------------------------------
    def gradient(self, n: str) -> str:
        return text(self.formula(self.d.gradient(n)))[0]

    def forward(self, n: str) -> str:
        return text(self.definition(next(nd.expr for nd in self.d.worksheet.nodes if nd.name == n)))[0]


def _is_number(t: Tree) -> bool:
    return t[0] == "num" or (t[0] in ("neg", "scaled") and _is_number(t[-1]))


def _factor(f: MExpr) -> tuple[sp.Expr, MExpr | None]:
    """A formula as a number times the rest (None when it is only a number)."""
    if isinstance(f, Const):
        return f.value, None
    if isinstance(f, Op) and f.kind == "had":
        (ca, a), (cb, b) = _factor(f.args[0]), _factor(f.args[1])
        if a is None or b is None:
            return ca * cb, b if a is None else a
    return sp.S.One, f


def _step(a: Tree, at_zero: sp.Expr) -> Tree:
    """𝕀[A > 0], with relu's value at 0: 𝕀[A ≥ 0] = 1 − 𝕀[−A > 0]; c between 0 and 1 adds c 𝕀[A = 0]."""
    if at_zero == 0:
        return call("step", a)
    if at_zero == 1:
        return bin_("-", num(1), call("step", neg(a)))
    zero = bin_("-", bin_("-", num(1), call("step", a)), call("step", neg(a)))
    return bin_("+", call("step", a), bin_("*", num(at_zero), zero))


def shapes_dict(d: ShapeDerivation, names: Sequence[str], symbolic: dict[str, str]) -> dict[str, Any]:
    """The JSON of a shapes-only worksheet: each node's definition and each gradient of ``names``
    as NumPy formulas, the one-step chain rules (``symbolic``), the shapes in dimension names."""
    w = NumpyWriter(d)
    return {
        "title": d.worksheet.title,
        "loss": d.loss,
        "forward": {nd.name: w.forward(nd.name) for nd in d.worksheet.nodes},
        "gradients": {n: w.gradient(n) for n in names},
        "symbolic": {"gradients": symbolic},
        "shapes": {n: dims_of(s) for n, s in d.shapes.items()},
    }


# -- printing ---------------------------------------------------------------------------------------
def text(t: Tree) -> Text:
    """A tree as Python text with the brackets its precedence needs, and its precedence."""
    kind = t[0]
    if kind == "name":
        return t[1], ATOM
    if kind == "num":
        return number(t[1])
    if kind == "neg":
        return "-" + _wrap(text(t[1]), NEG), NEG
    if kind == "T":
        return _wrap(text(t[1]), ATOM) + ".T", ATOM
    if kind == "call":
        axis = "" if t[3] is None else f", axis={t[3]}"
        return f"{t[1]}({text(t[2])[0]}{axis})", ATOM
    if kind == "scaled":
        return _scaled_text(t[1], text(t[2]))
    op, a, b = t[1], text(t[2]), text(t[3])
    p = BINARY_PREC[op]
    if op == "**":  # right-associative; -A ** 2 is -(A ** 2)
        return f"{_wrap(a, ATOM)} ** {_wrap(b, NEG)}", POW
    return f"{_wrap(a, p)} {op} {_wrap(b, p + 1)}", p


def _wrap(t: Text, need: int) -> str:
    return t[0] if t[1] >= need else f"({t[0]})"


def _scaled_text(c: sp.Expr, body: Text) -> Text:
    """c · body as a reader writes it: body / N, -body / N, 2 * body / (3 * N)."""
    top, bottom = sp.fraction(sp.factor_terms(c))
    if top == -1:
        out: Text = ("-" + _wrap(body, NEG), NEG)
    elif top == 1:
        out = body
    else:
        out = (f"{_wrap(number(top), MUL)} * {_wrap(body, MUL + 1)}", MUL)
    if bottom != 1:
        out = (f"{_wrap(out, MUL)} / {_wrap(number(bottom), MUL + 1)}", MUL)
    return out


def number(x: sp.Expr) -> Text:
    """An exact number or a product of dimensions as Python text: 2, -1, 1/2, N, 2 * N, log(2)."""
    x = as_expr(x)
    if x.is_Integer:
        return str(x), ATOM if x >= 0 else NEG
    if x.is_Rational:
        return f"{x.p}/{x.q}", MUL
    if x.is_Symbol:
        return str(x), ATOM
    if isinstance(x, (sp.exp, sp.log)):
        return f"{type(x).__name__}({number(x.args[0])[0]})", ATOM
    if x.is_Pow and x.exp.is_Integer and x.exp < 0:
        return _scaled_text(x, ("1", ATOM))
    if x.is_Pow:
        return f"{_wrap(number(x.base), ATOM)} ** {_wrap(number(x.exp), NEG)}", POW
    if x.is_Mul:
        top, bottom = sp.fraction(x)
        if bottom != 1:
            return _scaled_text(1 / bottom, number(top))
        coeff, rest = x.as_coeff_Mul()
        factors = [number(f) for f in sp.Mul.make_args(rest)]
        if len(factors) == 1:
            return _scaled_text(coeff, factors[0])
        return _scaled_text(coeff, (" * ".join(_wrap(f, MUL + (i > 0)) for i, f in enumerate(factors)), MUL))
    if x.is_Add:
        terms = [number(a) for a in sp.Add.make_args(x)]
        return " + ".join(_wrap(a, ADD) for a in terms), ADD
    value = float(x)  # a constant the notation has no name for (π): its double
    return repr(value), ATOM if value >= 0 else NEG

