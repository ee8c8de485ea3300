"""A written matrix formula computed exactly, and matrix values as the checker compares them.

The tree of matrixmath.py is computed over exact ImmutableMatrix values (a number is 1×1), with
names bound by the caller (the writer's earlier values, else the worksheet's): ``*`` is the matrix
product, or a scaling when one side is a number; element-wise operations broadcast as NumPy does;
the vector of ones takes the length its product needs. A rounded number is a symbol until the
values are compared: each entry of a value is then a ``numeric.Value`` (exact, and the interval the
roundings it used stand for), so that a matrix is judged entry by entry by the scalar rule.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import sympy as sp

from ..errors import EvaluationError
from ..language.ops import Conventions, build_binary, check_size
from ..matrix.matops import MATRIX_OPS
from ..matrix.mexpr import SUMS, ShapeError, elementwise, matmul, shape_text, summed
from .matrixmath import Mat, MNode, MOp, Ones
from .numeric import Span, Value, agree, enclose
from .tokens import Unreadable
from .tree import Atom, Deriv, Grad, Num

Matrix = sp.ImmutableMatrix
Resolve = Callable[[Atom | Deriv | Grad | Num], Matrix]
RELATIONS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge}
MAX_VARIANTS = 16  # transposes tried in one written formula
T = TypeVar("T")


class ShapeMismatch(Unreadable):
    """Two shapes that the written operation cannot combine."""


@dataclass(frozen=True)
class OnesVector:
    """𝟏 (a column) or 𝟏ᵀ (a row), sized by the product it is in."""

    row: bool = False


@dataclass(frozen=True)
class MValue:
    """A matrix value as the checker compares it: its shape and its entries, row by row."""

    shape: tuple[int, int]
    entries: tuple[Value, ...]

    @property
    def rounded(self) -> bool:
        return any(e.rounded for e in self.entries)

    @property
    def exact(self) -> Matrix:
        return Matrix(self.shape[0], self.shape[1], [e.exact for e in self.entries])


def exact_mvalue(m: Matrix) -> MValue:
    return MValue(m.shape, tuple(Value(x, enclose(x)) for x in m))


def agree_m(a: MValue, b: MValue, ground: Mapping[sp.Symbol, sp.Expr] | None = None) -> bool:
    """Equal shapes, and every entry the same (a rounded one: within its rounding)."""
    return a.shape == b.shape and all(agree(x, y, ground) for x, y in zip(a.entries, b.entries))


class Bound:
    """Symbols standing for rounded numbers (written, or the writer's earlier rounded values),
    with their exact values and intervals; an expression in them becomes a Value."""

    def __init__(self) -> None:
        self.values: dict[sp.Symbol, Value] = {}

    def symbol(self, value: Value) -> sp.Expr:
        """A rounded value as a fresh symbol; an exact one as itself."""
        if not value.rounded:
            return value.exact
        s = sp.Symbol(f"≈{len(self.values)}")
        self.values[s] = value
        return s

    def matrix(self, v: MValue) -> Matrix:
        return Matrix(v.shape[0], v.shape[1], [self.symbol(e) for e in v.entries])

    def exact(self, expr: sp.Expr) -> sp.Expr:
        return expr.xreplace({s: v.exact for s, v in self.values.items()}) if expr.free_symbols else expr

    def value(self, m: Matrix) -> MValue:
        out = []
        for x in m:
            used = x.free_symbols & self.values.keys()
            if not used:
                out.append(Value(x, enclose(x)))
                continue
            spans: dict[sp.Symbol, Span] = {s: self.values[s].span for s in used}
            span = enclose(x, spans) if all(s is not None for s in spans.values()) else None
            out.append(Value(self.exact(x), span, True))
        return MValue(m.shape, tuple(out))


def evaluate(node: MNode, resolve: Resolve, bound: Bound, conventions: Conventions) -> Matrix:
    """The exact matrix a written formula stands for; Unreadable (ShapeMismatch for shapes that do
    not fit) when it cannot be computed."""
    try:
        got = _evaluate(node, resolve, bound, conventions)
    except ShapeError as exc:
        raise ShapeMismatch(str(exc)) from None
    except EvaluationError as exc:
        raise Unreadable(exc.message) from None
    except (ZeroDivisionError, OverflowError, TypeError, ValueError):
        raise Unreadable("the arithmetic cannot be done") from None
    if isinstance(got, OnesVector):
        raise Unreadable("a vector of ones whose length no product fixes")
    return got


def _evaluate(node: MNode, resolve: Resolve, bound: Bound, c: Conventions) -> Matrix | OnesVector:
    if isinstance(node, (Num, Atom, Deriv, Grad)):
        return resolve(node)
    if isinstance(node, Ones):
        return OnesVector()
    if isinstance(node, Mat):
        rows = [[_scalar(_evaluate(e, resolve, bound, c), "an entry of a matrix") for e in row] for row in node.rows]
        return Matrix(rows)
    if node.op == "ind":
        left, right = (_matrix(_evaluate(a, resolve, bound, c)) for a in node.args)
        relation = RELATIONS[node.rel]
        return elementwise(lambda x, y: _truth(relation(bound.exact(x), bound.exact(y))), "the indicator", left, right)
    args = [_evaluate(a, resolve, bound, c) for a in node.args]
    if node.op == "T":
        a = args[0]
        return OnesVector(not a.row) if isinstance(a, OnesVector) else a.T
    if node.op == "*":
        return _product(args[0], args[1])
    ms = [_matrix(a) for a in args]
    binary = {"+": lambda x, y: build_binary("+", x, y), "had": lambda x, y: build_binary("*", x, y),
              "hdiv": lambda x, y: build_binary("/", x, y), "/": lambda x, y: build_binary("/", x, y),
              "max": lambda x, y: sp.Max(x, y)}
    if node.op in binary:
        return elementwise(binary[node.op], {"had": "⊙", "hdiv": "⊘"}.get(node.op, node.op), *ms)
    a = ms[0]
    if node.op == "^":
        return elementwise(lambda x, k: build_binary("**", x, k), "a power", a, ms[1])
    if node.op == "neg":
        return -a
    if node.op in SUMS:
        return summed(node.op, a)
    if node.op == "sqrt":
        return a.applyfunc(lambda x: check_size(sp.sqrt(x)))
    if node.op == "relu'":
        return a.applyfunc(lambda x: sp.Heaviside(x, c.relu_at_zero))
    if node.op == "sigmoid'":
        s = MATRIX_OPS["sigmoid"].forward(c, a)
        return elementwise(lambda x: x * (1 - x), "σ'", s)
    return MATRIX_OPS[node.op].forward(c, a)


def _truth(relation: sp.Basic) -> sp.Expr:
    if relation not in (sp.true, sp.false):
        raise Unreadable("the condition of an indicator cannot be decided")
    return sp.S.One if relation is sp.true else sp.S.Zero


def _matrix(a: Matrix | OnesVector) -> Matrix:
    if isinstance(a, OnesVector):
        raise Unreadable("a vector of ones whose length no product fixes")
    return a


def _scalar(a: Matrix | OnesVector, what: str) -> sp.Expr:
    a = _matrix(a)
    if a.shape != (1, 1):
        raise ShapeMismatch(f"{what} is a {shape_text(a.shape)} matrix, not a number")
    return a[0, 0]


def _product(a: Matrix | OnesVector, b: Matrix | OnesVector) -> Matrix:
    """The matrix product; a scaling when one side is 1×1; 𝟏ᵀG the column sums, G𝟏 the row sums."""
    if isinstance(a, OnesVector) and a.row and isinstance(b, sp.MatrixBase):
        return summed("colsum", b)
    if isinstance(b, OnesVector) and not b.row and isinstance(a, sp.MatrixBase):
        return summed("rowsum", a)
    a, b = _matrix(a), _matrix(b)
    if a.shape == (1, 1) or b.shape == (1, 1):
        return elementwise(lambda x, y: build_binary("*", x, y), "a product", a, b)
    if a.cols != b.rows:
        raise ShapeMismatch(f"the shapes do not fit: a {shape_text(a.shape)} matrix times a {shape_text(b.shape)} "
                            f"one (the {a.cols} columns on the left must equal the {b.rows} rows on the right)")
    return matmul(a, b, "a product")


def transposed(node: MNode) -> Iterator[tuple[MNode, int]]:
    """The formula with the transposes of one product's factors changed (one added, one taken
    away, or moved to the other factor), with how many transposes the change adds (+1, 0, −1)."""
    count = 0
    for path, product in operations(node, MOp):
        if product.op != "*" or any(isinstance(a, (Num, Ones)) for a in product.args):
            continue
        a, b = product.args
        for new_a, new_b in ((_toggle(a), b), (a, _toggle(b)), (_toggle(a), _toggle(b))):
            changed = _is_t(new_a) + _is_t(new_b) - _is_t(a) - _is_t(b)
            yield replaced(node, path, MOp("*", (new_a, new_b))), changed
            count += 1
            if count >= MAX_VARIANTS:
                return


def _is_t(node: MNode) -> int:
    return int(isinstance(node, MOp) and node.op == "T")


def _toggle(node: MNode) -> MNode:
    return node.args[0] if _is_t(node) else MOp("T", (node,))


def operations(node: Any, kind: type[T], path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], T]]:
    """Every operation (of the dataclass ``kind``, with ``args``) of a formula tree, outermost
    first, with its path: the indices of the arguments that lead to it."""
    if isinstance(node, kind):
        yield path, node
        for i, a in enumerate(node.args):  # type: ignore[attr-defined]  # an operation has args
            yield from operations(a, kind, path + (i,))


def replaced(node: Any, path: tuple[int, ...], new: T) -> T:
    """A formula tree of frozen dataclasses with ``new`` at ``path`` (see ``operations``)."""
    if not path:
        return new
    args = list(node.args)
    args[path[0]] = replaced(args[path[0]], path[1:], new)
    return replace(node, args=tuple(args))


def node_text(node: MNode, loss: str) -> str:
    """A short plain rendering of a written formula, for a diagnosis: ``Xᵀ ∂L/∂A``."""
    if isinstance(node, Num):
        return sp.sstr(node.value)
    if isinstance(node, Atom):
        return node.base + node.sub
    if isinstance(node, Deriv):
        return f"∂{loss}/∂{node.bottom.base}{node.bottom.sub}"
    if isinstance(node, Grad):
        return f"∂{loss}/∂{node.of.base}{node.of.sub}"
    if isinstance(node, Mat):
        return "[" + "; ".join(" ".join(node_text(e, loss) for e in row) for row in node.rows) + "]"
    if isinstance(node, Ones):
        return "𝟏"
    inner = [node_text(a, loss) for a in node.args]
    if node.op == "T":
        simple = isinstance(node.args[0], (Atom, Ones, Num))
        return (inner[0] if simple else f"({inner[0]})") + "ᵀ"
    symbols = {"*": " ", "had": " ⊙ ", "hdiv": " ⊘ ", "/": "/", "+": " + ", "^": "^"}
    if node.op in symbols:
        parts = [f"({s})" if isinstance(a, MOp) and a.op == "+" else s for a, s in zip(node.args, inner)]
        return symbols[node.op].join(parts)
    if node.op == "neg":
        return "−" + inner[0]
    if node.op == "ind":
        return f"𝟏[{inner[0]} {node.rel} {inner[1]}]"
    return f"{node.op}({', '.join(inner)})"
