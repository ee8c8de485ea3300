"""Matrix formulas: the small algebra a backward step in matrix notation is written in.

A formula is a tree (``Xᵀ · ∂L/∂Z``, ``G ⊙ 𝟏[Z > 0]``) that is both computed, exactly, and
printed (matprint): what the sheet shows is what was computed. Every value is an exact
ImmutableMatrix; a scalar is 1×1, and element-wise operations broadcast as NumPy does.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Mapping

import sympy as sp

from ..language import expr as E
from ..errors import EvaluationError
from ..language.ops import Conventions, check_size, divide, build_binary, build_call

Shape = tuple[int, int]
Matrix = sp.ImmutableMatrix


@dataclass(frozen=True)
class Leaf:
    """A given matrix or a node's value, by name."""

    name: str


@dataclass(frozen=True)
class Grad:
    """∂L/∂name, the gradient arriving from above."""

    name: str


@dataclass(frozen=True)
class Part:
    """A sub-expression of a node's definition (``X @ W`` in ``relu(X @ W)``), with its value."""

    tree: E.Expr


@dataclass(frozen=True)
class Const:
    """An exact number."""

    value: sp.Expr


@dataclass(frozen=True)
class Ones:
    """The matrix of ones 𝟏 of a shape (the derivative of a sum)."""

    shape: Shape


@dataclass(frozen=True)
class Op:
    """An operation on formulas. ``kind``: matmul, T, had (⊙), hdiv (⊘), add, sub, neg, colsum
    (𝟏ᵀA: sums of the columns), rowsum (A𝟏), total (Σ of the entries), pow (A^∘k), log (element-wise),
    step (𝟏[A > 0], the derivative of relu, with ``at_zero`` at 0)."""

    kind: str
    args: tuple[MExpr, ...]
    at_zero: sp.Expr = sp.S.Zero


MExpr = Leaf | Grad | Part | Const | Ones | Op
ONE = Const(sp.S.One)


def had(a: MExpr, b: MExpr) -> MExpr:
    """a ⊙ b, with a factor 1 left out."""
    if a == ONE:
        return b
    if b == ONE:
        return a
    return Op("had", (a, b))


class ShapeError(EvaluationError):
    """Two shapes that an operation cannot combine; ``why`` says what they must be."""

    def __init__(self, what: str, shapes: tuple[Shape, ...], why: str, names: tuple[str, ...] = ()) -> None:
        parts = [f"{n} is {shape_text(s)}" for n, s in zip(names, shapes)] if names else \
            [" and ".join(map(shape_text, shapes))]
        super().__init__(f"{what}: {' and '.join(parts)}, which {why}" if names else f"{what}: {parts[0]} {why}")
        self.why = why


def shape_text(shape: Shape) -> str:
    return f"{shape[0]}×{shape[1]}"


def broadcast(a: Shape, b: Shape, what: str) -> Shape:
    """NumPy's rule on two dimensions each: equal, or one of them 1 (a dimension is a number, or a
    name as a SymPy symbol in a shapes-only worksheet)."""
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ShapeError(what, (a, b), "do not broadcast: each dimension must be equal, or 1 on one side")
        out.append(y if x == 1 else x)
    return out[0], out[1]


def elementwise(f: Callable[..., sp.Expr], what: str, *ms: Matrix) -> Matrix:
    """f applied entry by entry, the operands broadcast to a common shape."""
    shape = ms[0].shape
    for m in ms[1:]:
        shape = broadcast(shape, m.shape, what)
    rows, cols = shape

    def entry(m: Matrix, i: int, j: int) -> sp.Expr:
        return m[i if m.rows > 1 else 0, j if m.cols > 1 else 0]

    return Matrix(rows, cols, [check_size(f(*(entry(m, i, j) for m in ms))) for i in range(rows) for j in range(cols)])


def matmul(a: Matrix, b: Matrix, what: str) -> Matrix:
    if a.cols != b.rows:
        raise ShapeError(what, (a.shape, b.shape), f"do not multiply: the {a.cols} columns on the left must equal "
                         f"the {b.rows} rows on the right")
    return Matrix(a.rows, b.cols, [check_size(sp.Add(*(a[i, k] * b[k, j] for k in range(a.cols))))
                                   for i in range(a.rows) for j in range(b.cols)])


SUMS = ("colsum", "rowsum", "total")


def summed(kind: str, a: Matrix) -> Matrix:
    """One of the SUMS: the column sums 𝟏ᵀA (a row), the row sums A𝟏 (a column), or the total (1×1)."""
    if kind == "colsum":
        return Matrix(1, a.cols, [sp.Add(*a[:, j]) for j in range(a.cols)])
    if kind == "rowsum":
        return Matrix(a.rows, 1, [sp.Add(*a[i, :]) for i in range(a.rows)])
    return Matrix([[sp.Add(*a)]])


_ELEMENTWISE: dict[str, Callable[..., sp.Expr]] = {
    "had": lambda x, y: x * y,
    "hdiv": divide,
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "pow": lambda x, k: build_binary("**", x, k),
    "log": lambda x: build_call("log", [x], Conventions()),
}


def value(f: MExpr, env: Mapping[str, Matrix], grads: Mapping[str, Matrix],
          part: Callable[[E.Expr], Matrix]) -> Matrix:
    """The exact value of a formula: ``env`` holds the forward values, ``grads`` the gradients
    computed so far, ``part`` evaluates a sub-expression of a definition."""
    if isinstance(f, Leaf):
        return env[f.name]
    if isinstance(f, Grad):
        return grads[f.name]
    if isinstance(f, Part):
        return part(f.tree)
    if isinstance(f, Const):
        return Matrix([[f.value]])
    if isinstance(f, Ones):
        return sp.ImmutableMatrix.ones(*f.shape)
    args = [value(a, env, grads, part) for a in f.args]
    if f.kind in _ELEMENTWISE:
        return elementwise(_ELEMENTWISE[f.kind], f.kind, *args)
    a = args[0]
    if f.kind == "matmul":
        return matmul(a, args[1], "@")
    if f.kind == "T":
        return a.T
    if f.kind == "neg":
        return -a
    if f.kind in SUMS:
        return summed(f.kind, a)
    if f.kind == "step":
        return a.applyfunc(lambda x: sp.Heaviside(x, f.at_zero))
    raise AssertionError(f.kind)


def sum_to(f: MExpr, have: Shape, want: Shape) -> MExpr:
    """A gradient of shape ``have`` summed down to an operand broadcast from ``want``: a bias
    row (1×n) gets the column sums 𝟏ᵀG, a column the row sums G𝟏, a scalar the sum of all."""
    if have == want:
        return f
    if want == (1, 1):
        return Op("total", (f,))
    if want[0] == 1:
        return Op("colsum", (f,))
    return Op("rowsum", (f,))
