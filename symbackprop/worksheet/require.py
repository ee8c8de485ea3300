"""The ``require:`` list of a worksheet: conditions every variant's numbers must meet.

A condition is a comparison of expressions of the language (``z1 > 0``, ``0 < p1 < 1``, with
``grad(name)`` for ∂L/∂name), ``integer(e, …)``, these joined by ``and``, ``or``, ``not``, or
one of the forms in ``FORMS``. It is read by walking Python's ``ast`` with a whitelist (the
arithmetic parts by expr.py's own walk): nothing is evaluated as Python. Values are compared
exactly when rational, otherwise to ``DIGITS`` digits.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union
from collections.abc import Callable, Mapping

import sympy as sp

from ..language import expr as E
from ..errors import EvaluationError, ExpressionError, WorksheetError
from ..language.evaluate import evaluate
from ..language.ops import Conventions
from .random_spec import Reader
from .yamlread import Scalar, Seq, YNode

if TYPE_CHECKING:
    from ..engine.derive import Derivation

DIGITS = 50
GRAD = "grad"
FORMS = {
    "all answers integers": "every asked gradient is an integer",
    "all answers nonzero": "no asked gradient is 0",
    "all values integers": "every forward value is an integer",
    "no kinks": "no ReLU, |x|, max or min sits exactly on its kink",
}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_HOLDS: dict[str, Callable[[int], bool]] = {
    "<": lambda s: s < 0, "<=": lambda s: s <= 0, ">": lambda s: s > 0,
    ">=": lambda s: s >= 0, "==": lambda s: s == 0, "!=": lambda s: s != 0,
}


@dataclass(frozen=True)
class Compare:
    """``a op b op c …`` (each adjacent pair must hold)."""

    terms: tuple[E.Expr, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Integer:
    """``integer(e, …)``: every argument is an integer."""

    args: tuple[E.Expr, ...]


@dataclass(frozen=True)
class Logic:
    """``and`` / ``or`` of conditions, or ``not`` of one."""

    op: str
    items: tuple[Test, ...]


@dataclass(frozen=True)
class Form:
    """One of the whole-worksheet forms (``FORMS``)."""

    text: str


Test = Union[Compare, Integer, Logic, Form]


@dataclass(frozen=True)
class Constraint:
    """One entry of ``require:``, as written, with its line."""

    text: str
    test: Test
    line: int


def grad_name(name: str) -> str:
    """The name ``grad(name)`` is bound to when a condition is evaluated (never a worksheet name)."""
    return f"{GRAD}({name})"


def read_require(node: YNode | None, reader: Reader, known: set[str]) -> tuple[Constraint, ...]:
    """Read ``require:`` (a list of conditions, or one); ``known`` are the names of the graph."""
    if node is None or isinstance(node, Scalar) and node.kind == "null":
        return ()
    out = []
    for item in node.items if isinstance(node, Seq) else (node,):
        if not isinstance(item, Scalar) or item.kind != "str":
            raise reader.fail("require: expected a condition such as 'z1 > 0' (text)", item.line)
        try:
            test = parse(item.text)
        except ExpressionError as exc:
            raise reader.fail(f"require '{item.text.strip()}': {exc.message}", item.line) from None
        for name in _names(test):
            if name.removeprefix(GRAD + "(").removesuffix(")") not in known:
                raise reader.fail(f"require '{item.text.strip()}': undefined name '{name}'", item.line)
        out.append(Constraint(item.text.strip(), test, item.line))
    return tuple(out)


def parse(text: str) -> Test:
    """One condition; refused syntax is an ExpressionError saying what."""
    form = " ".join(text.lower().split())
    if form in FORMS:
        return Form(form)
    try:
        node = E.syntax_tree(text)
    except ExpressionError as exc:
        if form.startswith(("all ", "no ")):
            raise ExpressionError("unknown form; the forms are: " + ", ".join(f"'{f}'" for f in FORMS)) from None
        raise exc
    return _test(node, text.strip())


def _test(node: ast.AST, source: str) -> Test:
    if isinstance(node, ast.Compare):
        ops = tuple(_COMPARE.get(type(op), "") for op in node.ops)
        if "" in ops:
            raise ExpressionError("only the comparisons < <= > >= == != are allowed")
        return Compare(tuple(_value(n, source) for n in [node.left, *node.comparators]), ops)
    if isinstance(node, ast.BoolOp):
        return Logic("and" if isinstance(node.op, ast.And) else "or", tuple(_test(v, source) for v in node.values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Logic("not", (_test(node.operand, source),))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "integer":
        if not node.args or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError("integer takes one or more expressions")
        return Integer(tuple(_value(a, source) for a in node.args))
    raise ExpressionError("a condition is a comparison (z1 > 0), integer(…), these joined by and, or, not, "
                          "or one of the forms " + ", ".join(f"'{f}'" for f in FORMS))


class _Grads(ast.NodeTransformer):
    """``grad(name)`` becomes the name ``grad(name)``, so expr.py's walk reads it as a name."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id == GRAD:
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
                raise ExpressionError("grad takes one name: grad(w1)")
            return ast.Name(grad_name(node.args[0].id), ast.Load())
        return self.generic_visit(node)


def _value(node: ast.AST, source: str) -> E.Expr:
    return E.convert(_Grads().visit(node), source)


def _names(test: Test) -> list[str]:
    if isinstance(test, Compare):
        return [n for t in test.terms for n in E.names(t)]
    if isinstance(test, Integer):
        return [n for t in test.args for n in E.names(t)]
    if isinstance(test, Logic):
        return [n for t in test.items for n in _names(t)]
    return []


def holds(c: Constraint, d: Derivation, env: Mapping[str, sp.Expr]) -> bool:
    """Whether the derivation's numbers meet the condition (``env`` from ``environment(d)``). A
    condition undefined at these numbers (a division by zero) does not hold; one that depends on
    a symbolic name is a WorksheetError at its line."""
    try:
        return _holds(c.test, d, env)
    except EvaluationError:
        return False
    except ExpressionError as exc:
        raise WorksheetError(f"require '{c.text}': {exc.message}", d.worksheet.path, c.line) from None


def environment(d: Derivation) -> dict[str, sp.Expr]:
    """Every forward value and every gradient (as ``grad(name)``) of a derivation."""
    env = {n: f.value for n, f in d.forward.items()}
    env.update({grad_name(n): d.gradient(n) for n in d.graph.order})
    return env


def _holds(test: Test, d: Derivation, env: Mapping[str, sp.Expr]) -> bool:
    if isinstance(test, Form):
        return _form(test.text, d)
    if isinstance(test, Logic):
        if test.op == "not":
            return not _holds(test.items[0], d, env)
        results = (_holds(t, d, env) for t in test.items)
        return all(results) if test.op == "and" else any(results)
    conventions = Conventions(d.worksheet.relu_at_zero)
    if isinstance(test, Integer):
        return all(_is_integer(_number(a, env, conventions)) for a in test.args)
    values = [_number(t, env, conventions) for t in test.terms]
    return all(_HOLDS[op](sign(a - b)) for op, a, b in zip(test.ops, values, values[1:]))


def _form(text: str, d: Derivation) -> bool:
    if text == "no kinks":
        return not d.kinks
    if text == "all values integers":
        return all(_is_integer(d.forward[n].value) for n in d.graph.order if d.graph.nodes[n].kind in ("given", "node"))
    grads = [d.gradient(n) for n in d.wrt]
    return all(_is_integer(g) for g in grads) if text == "all answers integers" else all(sign(g) != 0 for g in grads)


def _number(tree: E.Expr, env: Mapping[str, sp.Expr], conventions: Conventions) -> sp.Expr:
    value = evaluate(tree, env, conventions)
    if not value.is_number:
        names = ", ".join(sorted(str(s) for s in value.free_symbols))
        raise ExpressionError(f"not a number: it depends on the symbolic {names}")
    return value


def sign(value: sp.Expr) -> int:
    """-1, 0 or 1: exactly for a rational, else to ``DIGITS`` digits."""
    if not value.is_number:
        raise ExpressionError(f"{sp.sstr(value)} is not a number: it depends on a symbolic name")
    if value.is_Rational:
        return int(value.p > 0) - int(value.p < 0)
    if value.is_zero:
        return 0
    approx = value.evalf(DIGITS)
    if not approx.is_real or approx.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise EvaluationError(f"{sp.sstr(value)} is not a real number")
    return 0 if abs(approx) < sp.Float(10) ** (10 - DIGITS) else (1 if approx > 0 else -1)


def _is_integer(value: sp.Expr) -> bool:
    if value.is_Rational:
        return bool(value.is_Integer)
    if not value.is_number:
        raise ExpressionError("not a number: it depends on a symbolic name")
    return sign(value - sp.Integer(int(value.evalf(DIGITS).round()))) == 0

