"""The operations on matrices (a public contract, NumPy-like): for each, its forward rule, its
backward rule in matrix notation, in one place (how each is written in LaTeX is the matrix
printer's business).

``@`` (matrix product), ``.T`` / ``transpose``, ``+ - * /`` element-wise with broadcasting (a
row-vector bias over the rows of a batch, a scalar over everything), ``** k`` for a number k,
element-wise ``relu sigmoid tanh exp log sqrt``, ``sum``, ``mean`` (of every entry, or along an axis as
NumPy's ``sum(A, axis=0)``), ``softmax`` (row by row),
``cross_entropy(P, Y)`` (averaged over the rows), ``mse(Z, T)`` = 1/(2N) Σ (t − z)², ``sse(Z, T)`` =
Σ (t − z)² (no ½, no N) and ``l2(W, lam)`` = λ/2 Σ W².
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import sympy as sp

from ..language import expr as E
from ..errors import EvaluationError, ExpressionError
from .fused import logits_gradient, rows_sum_to_one
from .mexpr import ONE, Const, Leaf, Matrix, MExpr, Ones, Op, Part, ShapeError, broadcast, elementwise, matmul, sum_to, had
from ..language.ops import AXIS_OPS, Conventions, build_binary, build_call

@dataclass(frozen=True)
class Operand:
    """One argument of an operation as the backward rules see it: its formula and its shape."""

    f: MExpr
    shape: tuple[int, int]


@dataclass(frozen=True)
class MatOp:
    """A matrix operation: ``forward`` on exact matrices (checking shapes), ``backward`` giving the
    gradient of each operand from the upstream gradient G."""

    name: str
    forward: Callable[..., Matrix]
    backward: Callable[..., tuple[MExpr | None, ...]]  # (G, out, operands) → per operand


def _scalar(m: Matrix, what: str) -> sp.Expr:
    if m.shape != (1, 1):
        raise ShapeError(what, (m.shape,), "is a matrix: it must be a number")
    return m[0, 0]


def _same(a: Matrix, b: Matrix, what: str) -> None:
    if a.shape != b.shape:
        raise ShapeError(what, (a.shape, b.shape), "must be the same shape")


def _each(name: str) -> Callable[[Conventions, Matrix], Matrix]:
    """A function of the language applied entry by entry."""
    return lambda c, a: a.applyfunc(lambda x: build_call(name, [x], c))


def _elementwise_op(name: str, derivative: Callable[[MExpr, MExpr, Operand, Conventions], MExpr]) -> MatOp:
    return MatOp(name, _each(name), lambda c, g, out, a: (had(g, derivative(g, out, a, c)),))


def _along_axis(op: str) -> MatOp:
    """sum or mean along an axis (NumPy's): axis=0 reduces the m rows to a 1×n row, axis=1 the n
    columns to an m×1 column. Backward, G is broadcast back over what was reduced: 𝟏 G (G
    repeated over the rows) or G 𝟏ᵀ (over the columns), divided by that count for a mean."""
    function, axis = AXIS_OPS[op]

    def forward(c: Conventions, a: Matrix) -> Matrix:
        lines = [a.col(j) for j in range(a.cols)] if axis == 0 else [a.row(i) for i in range(a.rows)]
        count = a.rows if axis == 0 else a.cols
        out = [sp.Add(*line) / count if function == "mean" else sp.Add(*line) for line in lines]
        return Matrix(1, len(out), out) if axis == 0 else Matrix(len(out), 1, out)

    def backward(c: Conventions, g: MExpr, out: MExpr, a: Operand) -> tuple[MExpr]:
        count = a.shape[axis]
        if count == 1 or g == ONE:
            spread = g if count == 1 else Ones(a.shape)
        else:
            spread = Op("matmul", (Ones((count, 1)), g) if axis == 0 else (g, Op("T", (Ones((count, 1)),))))
        return (had(Const(sp.S.One / count), spread) if function == "mean" else spread,)

    return MatOp(op, forward, backward)


def _softmax(c: Conventions, z: Matrix) -> Matrix:
    rows = []
    for i in range(z.rows):
        exps = [sp.exp(x) for x in z[i, :]]
        total = sp.Add(*exps)
        rows.append([e / total for e in exps])
    return Matrix(rows)


def _cross_entropy(c: Conventions, p: Matrix, y: Matrix) -> Matrix:
    _same(p, y, "cross_entropy(P, Y)")
    for x in p:
        if not x.is_positive:
            raise EvaluationError(f"cross_entropy(P, Y): the probability {x} is not positive, so its log is undefined")
    return Matrix([[-sp.Add(*(yv * sp.log(pv) for pv, yv in zip(p, y) if yv != 0)) / p.rows]])


def _ce_backward(c: Conventions, g: MExpr, out: MExpr, p: Operand, y: Operand) -> tuple[MExpr, MExpr]:
    n = Const(-sp.S.One / p.shape[0])
    return (had(g, had(n, Op("hdiv", (y.f, p.f)))), had(g, had(n, Op("log", (p.f,)))))


def _squares(z: Matrix, t: Matrix, scale: sp.Expr, what: str) -> Matrix:
    _same(z, t, what)
    return Matrix([[scale * sp.Add(*((tv - zv) ** 2 for zv, tv in zip(z, t)))]])


def _squares_backward(scale: Callable[[int], sp.Expr]) -> Callable[..., tuple[MExpr, MExpr]]:
    def backward(c: Conventions, g: MExpr, out: MExpr, z: Operand, t: Operand) -> tuple[MExpr, MExpr]:
        k = Const(scale(z.shape[0]))
        return had(g, had(k, Op("sub", (z.f, t.f)))), had(g, had(k, Op("sub", (t.f, z.f))))
    return backward


def _l2(c: Conventions, w: Matrix, lam: Matrix) -> Matrix:
    return Matrix([[_scalar(lam, "the λ of l2(W, lam)") / 2 * sp.Add(*(x ** 2 for x in w))]])


def _pow(c: Conventions, a: Matrix, k: Matrix) -> Matrix:
    exponent = _scalar(k, "the exponent of A ** k")
    return a.applyfunc(lambda x: build_binary("**", x, exponent))


def _pow_backward(c: Conventions, g: MExpr, out: MExpr, a: Operand, k: Operand) -> tuple[MExpr, None]:
    if not isinstance(k.f, Const):
        raise ExpressionError("A ** k: the exponent must be a number written in the expression")
    power = Const(k.f.value - 1)
    base = a.f if power.value == 1 else Op("pow", (a.f, power))
    return had(g, had(k.f, base)), None


MATRIX_OPS: dict[str, MatOp] = {op.name: op for op in (
    MatOp("+", lambda c, a, b: elementwise(lambda x, y: x + y, "+", a, b),
          lambda c, g, out, a, b: (sum_to(g, out_shape(a, b), a.shape), sum_to(g, out_shape(a, b), b.shape))),
    MatOp("-", lambda c, a, b: elementwise(lambda x, y: x - y, "-", a, b),
          lambda c, g, out, a, b: (sum_to(g, out_shape(a, b), a.shape),
                                   Op("neg", (sum_to(g, out_shape(a, b), b.shape),)))),
    MatOp("*", lambda c, a, b: elementwise(lambda x, y: build_binary("*", x, y), "*", a, b),
          lambda c, g, out, a, b: (sum_to(had(g, b.f), out_shape(a, b), a.shape),
                                   sum_to(had(g, a.f), out_shape(a, b), b.shape))),
    MatOp("/", lambda c, a, b: elementwise(lambda x, y: build_binary("/", x, y), "/", a, b),
          lambda c, g, out, a, b: (sum_to(Op("hdiv", (g, b.f)), out_shape(a, b), a.shape),
                                   sum_to(Op("neg", (Op("hdiv", (had(g, a.f), Op("had", (b.f, b.f)))),)),
                                          out_shape(a, b), b.shape))),
    MatOp("**", _pow, _pow_backward),
    MatOp("neg", lambda c, a: -a, lambda c, g, out, a: (Op("neg", (g,)),)),
    MatOp("@", lambda c, a, b: matmul(a, b, "@"),
          lambda c, g, out, a, b: (Op("matmul", (g, Op("T", (b.f,)))), Op("matmul", (Op("T", (a.f,)), g)))),
    MatOp("transpose", lambda c, a: a.T, lambda c, g, out, a: (Op("T", (g,)),)),
    _elementwise_op("relu", lambda g, out, a, c: Op("step", (a.f,), c.relu_at_zero)),
    _elementwise_op("sigmoid", lambda g, out, a, c: Op("had", (out, Op("sub", (ONE, out))))),
    _elementwise_op("tanh", lambda g, out, a, c: Op("sub", (ONE, Op("had", (out, out))))),
    _elementwise_op("exp", lambda g, out, a, c: out),
    _elementwise_op("log", lambda g, out, a, c: Op("hdiv", (ONE, a.f))),
    MatOp("sqrt", _each("sqrt"), lambda c, g, out, a: (Op("hdiv", (g, had(Const(sp.Integer(2)), out))),)),
    *(_along_axis(op) for op in AXIS_OPS),
    MatOp("sum", lambda c, a: Matrix([[sp.Add(*a)]]), lambda c, g, out, a: (had(g, Ones(a.shape)),)),
    MatOp("mean", lambda c, a: Matrix([[sp.Add(*a) / (a.rows * a.cols)]]),
          lambda c, g, out, a: (had(g, had(Const(sp.S.One / (a.shape[0] * a.shape[1])), Ones(a.shape))),)),
    MatOp("softmax", _softmax,
          lambda c, g, out, a: (had(out, Op("sub", (g, Op("rowsum", (had(g, out),))))),)),
    MatOp("cross_entropy", _cross_entropy, _ce_backward),
    MatOp("mse", lambda c, z, t: _squares(z, t, sp.Rational(1, 2 * z.rows), "mse(Z, T)"),
          _squares_backward(lambda n: sp.S.One / n)),
    MatOp("sse", lambda c, z, t: _squares(z, t, sp.S.One, "sse(Z, T)"), _squares_backward(lambda n: sp.Integer(2))),
    MatOp("l2", _l2,
          lambda c, g, out, w, lam: (had(g, had(lam.f, w.f)),
                                     had(g, had(Const(sp.Rational(1, 2)), Op("total", (Op("had", (w.f, w.f)),)))))),
)}


def out_shape(a: Operand, b: Operand) -> tuple[int, int]:
    return broadcast(a.shape, b.shape, "broadcast")


class Evaluator:
    """Forward values of a node's expression tree and of each of its sub-trees (cached: the
    backward rules and the sheet ask for the same parts again)."""

    def __init__(self, env: dict[str, Matrix], conventions: Conventions) -> None:
        self.env = env
        self.conventions = conventions
        self.cache: dict[E.Expr, Matrix] = {}

    def __call__(self, tree: E.Expr) -> Matrix:
        if isinstance(tree, E.Name):
            return self.env[tree.id]
        if isinstance(tree, (E.Num, E.Value)):
            return Matrix([[tree.value]])
        hit = self.cache.get(tree)
        if hit is None:
            hit = self.cache[tree] = self._apply(tree)
        return hit

    def forward(self, op: MatOp, args: list[Matrix]) -> Matrix:
        """One operation's forward rule on its operands' values (a shapes-only worksheet's evaluator
        computes shapes instead: matrix/dims.py)."""
        return op.forward(self.conventions, *args)

    def _apply(self, tree: E.Apply) -> Matrix:
        args = [self(a) for a in tree.args]
        op = MATRIX_OPS.get(tree.op)
        if op is None:
            raise ExpressionError(f"{tree.op} is not available for matrices (element-wise: relu, sigmoid, "
                                  "tanh, exp, log, sqrt)")
        if tree.op == "**" and E.names(tree.args[1]):
            raise ExpressionError("A ** k: the exponent must be a number written in the expression")
        try:
            return self.forward(op, args)
        except ShapeError as exc:
            operands = [(a, m) for a, m in zip(tree.args, args) if not isinstance(a, (E.Num, E.Value))]
            if tree.op in ("**", "l2"):
                operands = operands[1:]
            raise ShapeError(E.text(tree), tuple(m.shape for _, m in operands), exc.why,
                             tuple(E.text(a) for a, _ in operands)) from None


def operand(tree: E.Expr, values: Evaluator) -> Operand:
    """A sub-tree as a backward rule sees it: a name, a number, or a part of the definition."""
    f: MExpr
    m = values(tree)
    if isinstance(tree, E.Name):
        f = Leaf(tree.id)
    elif not E.names(tree) and m.shape == (1, 1):  # a number written as an expression: -1, 1/2
        f = Const(m[0, 0])
    else:
        f = Part(tree)
    return Operand(f, m.shape)


def backward(tree: E.Expr, node: str, g: MExpr, values: Evaluator) -> list[tuple[str, MExpr]]:
    """The gradient formula of every name in ``node``'s definition ``tree``, from G = ∂L/∂node; a
    name written twice gets two formulas. softmax fed straight into cross_entropy is taken as one
    step, (P − Y)/N, as a course writes it, when every row of Y sums to 1 (one-hot or smoothed
    labels; otherwise the general rule, whose result is (P ⊙ rowsum(Y) − Y)/N)."""
    out: list[tuple[str, MExpr]] = []
    stack: list[tuple[E.Expr, MExpr, MExpr]] = [(tree, g, Leaf(node))]
    while stack:
        t, upstream, result = stack.pop()
        if isinstance(t, E.Name):
            out.append((t.id, upstream))
            continue
        if not isinstance(t, E.Apply):
            continue
        operands = [operand(a, values) for a in t.args]
        op = MATRIX_OPS[t.op]
        if t.op == "cross_entropy" and isinstance(t.args[0], E.Apply) and t.args[0].op == "softmax" \
                and rows_sum_to_one(values(t.args[1])):
            logits = t.args[0].args[0]
            stack.append((logits, had(upstream, logits_gradient(operands[0].shape[0], operands[0].f, operands[1].f)),
                          operand(logits, values).f))
            grads = (None, op.backward(values.conventions, upstream, result, *operands)[1])
        else:
            grads = op.backward(values.conventions, upstream, result, *operands)
        for sub, grad in reversed(list(zip(t.args, grads))):
            if grad is not None and E.names(sub):
                stack.append((sub, grad, operand(sub, values).f))
    return out[::-1]
