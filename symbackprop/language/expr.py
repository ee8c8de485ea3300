"""The safe expression parser: Python's ``ast`` walked with a whitelist, into a small tree.

Worksheet text is never evaluated: only the node types below are accepted, and numbers are
read exactly from their source text (``0.1`` is 1/10).
"""
from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

import sympy as sp

from ..errors import ExpressionError
from .ops import AXIS_OPS, FUNCTIONS, MATRIX_ARITIES, axis_op

MAX_LENGTH = 10_000
MAX_DIGITS = 1_000


@dataclass(frozen=True)
class Num:
    """A number written in the worksheet, kept exact."""

    value: sp.Rational


@dataclass(frozen=True)
class Name:
    """A reference to a given name or a node."""

    id: str


@dataclass(frozen=True)
class Apply:
    """An operator (``+ - * / ** neg``) or a function of the language applied to arguments."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Value:
    """A computed value standing in for a sub-expression (a substituted or evaluated step)."""

    value: sp.Expr


Expr = Union[Num, Name, Apply, Value]

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}
# Other spellings of a function of the language: the name it stands for and the arities it takes.
SYNONYMS = {"ln": ("log", (1,))}
_HINTS = {
    ast.BitXor: "'^' is not a power: write '**'",
    ast.FloorDiv: "'//' is not in the language: write '/'",
    ast.Mod: "'%' is not in the language",
}


def keyword_problem(word: str) -> str | None:
    """Why a Python keyword cannot be a name (the language is read by Python's parser), with a name
    that can: ``lam`` for lambda (printed λ), ``in_`` for in (printed "in")."""
    if not keyword.iskeyword(word):
        return None
    instead = "lam (printed λ)" if word == "lambda" else f"{word}_ (printed {word})"
    return f"'{word}' is a Python keyword and cannot be a name: write {instead}"


def exact_number(text: str) -> sp.Rational:
    """Read a decimal or fraction literal exactly (``0.1`` → 1/10) without evaluating anything."""
    digits = sum(c.isdigit() for c in text)
    exponent = re.search(r"[eE]([+-]?[\d_]+)$", text)
    if digits > MAX_DIGITS or exponent and abs(int(exponent.group(1).replace("_", ""))) > MAX_DIGITS:
        raise ExpressionError(f"the number {text[:20]}… is too long")
    try:
        frac = Fraction(text.replace("_", ""))
    except (ValueError, ZeroDivisionError):
        raise ExpressionError(
            f"'{text[:20]}' is not a number this language reads: write a decimal or a fraction") from None
    if abs(frac.numerator).bit_length() + frac.denominator.bit_length() > 4 * MAX_DIGITS:
        raise ExpressionError(f"the number {text[:20]}… is too long")
    return sp.Rational(frac.numerator, frac.denominator)


def parse(text: str) -> Expr:
    """Parse one expression of the language, or raise ExpressionError saying what is refused."""
    return convert(syntax_tree(text), text.strip())


def convert(node: ast.AST, source: str) -> Expr:
    """Walk one node of ``syntax_tree(source)`` with the whitelist into an expression tree; for
    languages built on this one (the constraints of ``require:``) that walk their own nodes first."""
    try:
        return _convert(node, source)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None


def syntax_tree(text: str) -> ast.expr:
    """Python's syntax tree of one expression, length and syntax checked; nothing is evaluated."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        words = (keyword_problem(w) for w in re.findall(r"[A-Za-z_]\w*", text))
        problem = next((w for w in words if w), None)
        if problem:
            raise ExpressionError(problem) from None
        column = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"cannot read '{text.strip()}'{column}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is nested too deeply") from None
    return tree.body


def _convert(node: ast.AST, source: str) -> Expr:
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, bool):
            raise ExpressionError(keyword_problem(str(value)) or "")
        if not isinstance(value, (int, float)):
            kind = "strings" if isinstance(value, str) else type(value).__name__ + " values"
            raise ExpressionError(f"{kind} are not allowed in an expression")
        segment = ast.get_source_segment(source, node) or repr(value)
        return Num(exact_number(segment))
    if isinstance(node, ast.Name):
        return Name(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _convert(node.operand, source)
        if isinstance(node.op, ast.USub):
            return Apply("neg", (operand,))
        if isinstance(node.op, ast.UAdd):
            return operand
        raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed")
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExpressionError(_HINTS.get(type(node.op), f"the operator {type(node.op).__name__} is not allowed"))
        return Apply(op, (_convert(node.left, source), _convert(node.right, source)))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError("only the functions of the language can be called")
        name, arities = SYNONYMS.get(node.func.id, (node.func.id, None))
        fn = FUNCTIONS.get(name)
        arities = arities or (fn.arities if fn else MATRIX_ARITIES.get(name))
        if fn is None and arities is None:
            known = ", ".join(sorted(n for n in [*FUNCTIONS, *MATRIX_ARITIES, *SYNONYMS] if n not in AXIS_OPS))
            raise ExpressionError(f"unknown function '{name}' (known: {known})")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise ExpressionError(f"{node.func.id}: only plain arguments are allowed")
        if node.keywords:
            return _along_axis(node, name, source)
        n = len(node.args)
        if (arities is None and n < 2) or (arities is not None and n not in arities):
            wanted = "at least 2" if arities is None else " or ".join(map(str, arities))
            raise ExpressionError(f"{node.func.id} takes {wanted} argument(s), not {n}")
        return Apply(name, tuple(_convert(a, source) for a in node.args))
    if isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ExpressionError(f"'.{node.attr}' is not in the language: only '.T' (the transpose)")
        return Apply("transpose", (_convert(node.value, source),))
    if isinstance(node, ast.Tuple):
        raise ExpressionError(_comma_problem(ast.get_source_segment(source, node) or source))
    what = {
        ast.Subscript: "subscripts",
        ast.Lambda: "lambdas",
        ast.ListComp: "comprehensions",
        ast.SetComp: "comprehensions",
        ast.DictComp: "comprehensions",
        ast.GeneratorExp: "comprehensions",
        ast.Compare: "comparisons",
        ast.BoolOp: "boolean operators",
        ast.IfExp: "conditional expressions",
        ast.NamedExpr: "assignments",
        ast.JoinedStr: "strings",
    }.get(type(node), type(node).__name__)
    raise ExpressionError(f"{what} are not allowed in an expression")


def _along_axis(node: ast.Call, name: str, source: str) -> Expr:
    """``sum(A, axis=0)``, ``mean(A, axis=1)``: the one keyword of the language, NumPy's."""
    written = ast.get_source_segment(source, node) or name
    if name not in {f for f, _ in AXIS_OPS.values()}:
        raise ExpressionError(f"{node.func.id}: only plain arguments are allowed (a keyword only in "
                              "sum(A, axis=0) and mean(A, axis=0))")
    if len(node.args) != 1 or [k.arg for k in node.keywords] != ["axis"]:
        raise ExpressionError(f"{written}: write {name}(A), {name}(A, axis=0) or {name}(A, axis=1)")
    axis = node.keywords[0].value
    if not (isinstance(axis, ast.Constant) and type(axis.value) is int and axis.value in (0, 1)):
        raise ExpressionError(f"{written}: axis must be 0 or 1")
    return Apply(axis_op(name, axis.value), (_convert(node.args[0], source),))


def _comma_problem(text: str) -> str:
    """A comma outside a function's brackets: most often a decimal comma, as in ``1,5``."""
    decimal = re.search(r"\d+,\d+", text)
    if decimal:
        number = decimal.group(0)
        return f"use a decimal point: {number.replace(',', '.')}, not {number}"
    return "a comma separates the arguments of a function, as in max(a, b); here there is no function"


def names(expr: Expr) -> list[str]:
    """The names an expression refers to, in the order they are first written."""
    seen: dict[str, None] = {}
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, Name):
            seen.setdefault(e.id, None)
        elif isinstance(e, Apply):
            stack.extend(reversed(e.args))
    return list(seen)


def subtrees(expr: Expr) -> list[Expr]:
    """The expression and every sub-expression of it (depth first)."""
    out, stack = [], [expr]
    while stack:
        x = stack.pop()
        out.append(x)
        if isinstance(x, Apply):
            stack.extend(x.args)
    return out


_TEXT_PREC = {"+": 1, "-": 1, "neg": 2, "*": 3, "/": 3, "@": 3, "**": 4}


def text(tree: Expr) -> str:
    """An expression written back as the language writes it (``X @ W + b``, ``H.T``), for messages
    and the JSON; numbers exact."""
    return _text(tree)[0]


def _text(t: Expr) -> tuple[str, int]:
    if isinstance(t, (Num, Value)):
        s = str(t.value)
        return s, 5 if t.value.is_Integer and t.value >= 0 else 2
    if isinstance(t, Name):
        return t.id, 5
    args = [_text(a) for a in t.args]
    if t.op == "transpose":
        s, p = args[0]
        return (s if p == 5 else f"({s})") + ".T", 5
    if t.op == "neg":
        s, p = args[0]
        return "-" + (s if p > 2 else f"({s})"), 2
    if t.op in AXIS_OPS:
        function, axis = AXIS_OPS[t.op]
        return f"{function}({args[0][0]}, axis={axis})", 5
    prec = _TEXT_PREC.get(t.op)
    if prec is None:
        return f"{t.op}({', '.join(s for s, _ in args)})", 5
    (a, pa), (b, pb) = args
    left = a if pa >= prec and not (t.op == "**" and pa == prec) else f"({a})"
    right = b if pb > prec or (pb == prec and t.op in ("+", "*", "@")) else f"({b})"
    return f"{left} {t.op} {right}", prec
