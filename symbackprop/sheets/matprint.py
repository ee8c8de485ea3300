"""LaTeX of matrix notation: matrices as bmatrix, definitions as written, gradient formulas with
their names, with their shapes under the factors, or with their numbers. The LaTeX of each
matrix operation lives here, keyed by its name, not beside its rules."""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import sympy as sp

from ..language import expr as E
from ..language.evaluate import evaluate
from ..language.ops import AXIS_OPS
from ..matrix.matops import Evaluator
from ..matrix.mexpr import Const, Grad, Leaf, Matrix, MExpr, Ones, Op, Part, value
from .printing import (ADD, ATOM, FUNCTION_NAMES, MUL, NEG, POW, SheetPrinter, applied, default_name_latex, number_prec,
                       parenthesize)

# Functions whose arguments sit inside their own brackets or sums: never wrapped again.
BRACKETED = {"relu", "sigmoid", "tanh", "exp", "log", "sqrt", "softmax", "sum", "mean", "cross_entropy", "mse", "sse",
             "l2"}


def bmatrix(m: Matrix, entry: Callable[[sp.Expr], str]) -> str:
    """A matrix as ``\\begin{bmatrix} … \\end{bmatrix}``; a 1×1 value as its number."""
    if m.shape == (1, 1):
        return entry(m[0, 0])
    rows = [" & ".join(entry(x) for x in m.row(i)) for i in range(m.rows)]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def shape_under(tex: str, m: Matrix | tuple[sp.Expr, sp.Expr]) -> str:
    """A factor with its shape (of ``m``, or the shape ``m``) written under it (nothing under a scalar)."""
    rows, cols = m if isinstance(m, tuple) else m.shape
    if (rows, cols) == (1, 1):
        return tex
    return r"\underset{" + dim_latex(rows) + r"\times " + dim_latex(cols) + "}{" + tex + "}"


def dim_latex(d: int | sp.Expr) -> str:
    """A dimension: a number, or in a shapes-only worksheet a name (D_in) or a product of names,
    printed as names are."""
    if isinstance(d, int) or d.is_Integer:
        return str(d)
    return sp.latex(d, symbol_names={s: default_name_latex(s.name) for s in d.free_symbols})


def entry_latex(tex: str, index: str) -> str:
    """Entry ``index`` of the matrix written ``tex``: W_{ij}, or (W_{1})_{ij} when it has a
    subscript already."""
    plain = tex.isalpha() or (tex.startswith("\\") and tex[1:].isalpha())
    return parenthesize(tex, not plain) + "_{" + index + "}"


# A matrix operation's LaTeX from its printed operands t and their shapes s.
MatrixForm = Callable[[Sequence[str], Sequence[tuple[int, int]]], str]


def _elementwise(name: str) -> MatrixForm:
    return lambda t, s: applied(name, t[0])


def _scaled_or(symbol: str, by_number: str) -> MatrixForm:
    """An element-wise product or quotient: ``symbol`` between matrices, ``by_number`` when one
    side is a number (no ⊙ for a number times a matrix)."""
    return lambda t, s: t[0] + (by_number if (1, 1) in s else " " + symbol + " ") + t[1]


def _squared_errors(texts: Sequence[str]) -> str:
    """Σ (t − z)² over the entries of the output z and the target t (written in that order)."""
    z, t = texts
    return r"\sum_{n,k} " + parenthesize(entry_latex(t, "nk") + " - " + entry_latex(z, "nk")) + "^{2}"


def _along_axis(op: str) -> MatrixForm:
    """sum(A, axis=0) as 𝟏ᵀA (the column sums), sum(A, axis=1) as A𝟏 (the row sums), the ones
    with their count; a mean divided by it."""
    function, axis = AXIS_OPS[op]

    def form(t: Sequence[str], s: Sequence[tuple[int, int]]) -> str:
        count = dim_latex(s[0][axis])
        ones = r"\mathbf{1}_{" + count + "}"
        summed = ones + r"^{\top} " + t[0] if axis == 0 else t[0] + r" \, " + ones
        return (r"\frac{1}{" + count + r"} \, " if function == "mean" else "") + summed
    return form


MATRIX_FORMS: dict[str, MatrixForm] = {
    "+": lambda t, s: f"{t[0]} + {t[1]}",
    "-": lambda t, s: f"{t[0]} - {t[1]}",
    "*": _scaled_or(r"\odot", r" \, "),
    "/": _scaled_or(r"\oslash", r" / "),
    "**": lambda t, s: "{" + t[0] + "}^{" + t[1] + "}",
    "neg": lambda t, s: "-" + t[0],
    "@": lambda t, s: f"{t[0]} \\, {t[1]}",
    "transpose": lambda t, s: t[0] + r"^{\top}",
    "relu": _elementwise(FUNCTION_NAMES["relu"]),
    "sigmoid": _elementwise(FUNCTION_NAMES["sigmoid"]),
    "tanh": _elementwise(FUNCTION_NAMES["tanh"]),
    "exp": _elementwise(r"\exp"),
    "log": _elementwise(FUNCTION_NAMES["log"]),
    "sum": lambda t, s: r"\sum_{i,j} " + entry_latex(t[0], "ij"),
    "mean": lambda t, s: r"\frac{1}{" + dim_latex(s[0][0] * s[0][1]) + r"} \sum_{i,j} " + entry_latex(t[0], "ij"),
    "softmax": _elementwise(r"\operatorname{softmax}"),
    "cross_entropy": lambda t, s: r"-\frac{1}{" + dim_latex(s[0][0]) + r"} \sum_{n,k} " + entry_latex(t[1], "nk")
    + r" \ln " + entry_latex(t[0], "nk"),
    "mse": lambda t, s: r"\frac{1}{2 \cdot " + dim_latex(s[0][0]) + r"} " + _squared_errors(t),
    "sse": lambda t, s: _squared_errors(t),
    "l2": lambda t, s: r"\frac{" + t[1] + r"}{2} \sum_{i,j} " + entry_latex(t[0], "ij") + "^{2}",
    "sqrt": lambda t, s: r"\sqrt{" + t[0] + "}",
    **{op: _along_axis(op) for op in AXIS_OPS},
}


class MatrixPrinter:
    """Prints definitions and formulas. ``mode``: names, shapes (names with shapes under the
    factors) or numbers (each matrix as its bmatrix)."""

    def __init__(self, name: Callable[[str], str], grad: Callable[[str], str], printer: SheetPrinter,
                 values: Evaluator, grads: dict[str, Matrix]) -> None:
        self.name = name
        self.grad = grad
        self.printer = printer
        self.values = values
        self.grads = grads

    def number(self, x: sp.Expr) -> str:
        return self.printer.doprint(x)

    def named(self, name: Callable[[str], str]) -> MatrixPrinter:
        """The same printer writing each name as ``name`` gives it (a shape under it, say)."""
        out = copy.copy(self)
        out.name = name
        return out

    def matrix(self, m: Matrix) -> str:
        return bmatrix(m, self.number)

    # -- definitions, as the worksheet writes them -------------------------------------------
    def tree(self, t: E.Expr, numbers: bool = False) -> tuple[str, int]:
        """A definition in matrix notation (``numbers``: every name as its value)."""
        if isinstance(t, (E.Num, E.Value)):
            return self.number(t.value), number_prec(t.value)
        if isinstance(t, E.Name):
            if numbers:
                m = self.values(t)
                return self.matrix(m), number_prec(m[0, 0]) if m.shape == (1, 1) else ATOM
            return self.name(t.id), ATOM
        args = [self.tree(a, numbers) for a in t.args]
        if t.op == "**" and not E.names(t.args[1]):  # an exponent written as 1/2 is the number ½
            k = evaluate(t.args[1], {}, self.values.conventions)
            args[1] = self.number(k), number_prec(k)
        prec = {"+": ADD, "-": ADD, "neg": NEG, "*": MUL, "/": MUL, "@": MUL, "**": POW, "transpose": POW}.get(
            t.op, MUL if t.op in AXIS_OPS else ATOM)
        texts = []
        for i, (text, p) in enumerate(args):
            need = prec + (1 if (t.op == "-" and i == 1) or t.op in ("**", "transpose") else 0)
            texts.append(parenthesize(text, t.op not in BRACKETED and p < need))
        return MATRIX_FORMS[t.op](texts, [self.values(a).shape for a in t.args]), prec

    def definition(self, t: E.Expr, numbers: bool = False) -> str:
        return self.tree(t, numbers)[0]

    # -- formulas -----------------------------------------------------------------------------
    def value(self, f: MExpr) -> Matrix:
        return value(f, self.values.env, self.grads, self.values)

    def shape(self, f: MExpr) -> tuple[sp.Expr, sp.Expr]:
        """A formula's shape (a shapes-only sheet's printer knows it without a value)."""
        return self.value(f).shape

    def is_scalar(self, f: MExpr) -> bool:
        if isinstance(f, Const):
            return True
        if isinstance(f, Ones):
            return f.shape == (1, 1)
        return self.shape(f) == (1, 1)

    def formula(self, f: MExpr, mode: str = "names") -> tuple[str, int]:
        if isinstance(f, (Leaf, Grad, Part)):
            if mode == "numbers":
                m = self.value(f)
                return self.matrix(m), number_prec(m[0, 0]) if m.shape == (1, 1) else ATOM
            if isinstance(f, Leaf):
                tex, prec = self.name(f.name), ATOM
            elif isinstance(f, Grad):
                tex, prec = self.grad(f.name), ATOM
            else:
                tex, prec = self.tree(f.tree)
            return (shape_under(parenthesize(tex, prec < ATOM), self.shape(f)), ATOM) if mode == "shapes" else (tex, prec)
        if isinstance(f, Const):
            return self.number(f.value), number_prec(f.value)
        if isinstance(f, Ones):
            tex = r"\mathbf{1}"
            if mode == "shapes":
                tex = shape_under(tex, f.shape)
            return tex, ATOM
        return self._op(f, mode)

    def _op(self, f: Op, mode: str) -> tuple[str, int]:
        k = f.kind
        args = [self.formula(a, mode) for a in f.args]
        if k in ("add", "sub"):
            right, p = args[1]
            return args[0][0] + (" + " if k == "add" else " - ") + parenthesize(right, p < ADD + (k == "sub")), ADD
        if k == "neg":
            return "-" + parenthesize(args[0][0], args[0][1] < MUL), NEG
        if k in ("matmul", "had", "hdiv"):
            (a, pa), (b, pb) = args
            if k == "had" and isinstance(f.args[0], Const) and f.args[0].value.could_extract_minus_sign():
                rest = Op("had", (Const(-f.args[0].value), f.args[1]))
                tex, p = self.formula(rest if f.args[0].value != -1 else f.args[1], mode)
                return "-" + parenthesize(tex, p < MUL), NEG
            if k == "had" and self.is_scalar(f.args[1]) and not self.is_scalar(f.args[0]):
                (a, pa), (b, pb) = (b, pb), (a, pa)
            if k == "had" and (self.is_scalar(f.args[0]) or self.is_scalar(f.args[1])):
                # a number times a matrix product needs no brackets: c (A B) = c A B
                matrix = f.args[0] if self.is_scalar(f.args[1]) and not self.is_scalar(f.args[0]) else f.args[1]
                product = isinstance(matrix, Op) and matrix.kind == "matmul"
                return parenthesize(a, pa < MUL) + r" \, " + parenthesize(b, pb < MUL + 1 - product), MUL
            symbol = {"matmul": r" \, ", "had": r" \odot ", "hdiv": r" \oslash "}[k]
            mixed = k != "matmul" and self.product(f.args[0])  # (𝟏 G) ⊙ A, not 𝟏 G ⊙ A
            return parenthesize(a, pa < MUL or mixed) + symbol + parenthesize(b, pb < MUL + 1), MUL
        a, pa = args[0]
        if k == "T":
            inner = f.args[0]
            if mode == "shapes" and isinstance(inner, (Leaf, Grad, Part)):
                plain, p = self.formula(inner, "names")
                rows, cols = self.shape(inner)
                return shape_under(parenthesize(plain, p < ATOM) + r"^{\top}", (cols, rows)), ATOM
            return parenthesize(a, pa < ATOM) + r"^{\top}", POW
        if k == "pow":
            return parenthesize(a, pa < ATOM) + r"^{\circ " + args[1][0] + "}", POW
        if k == "colsum":
            return r"\mathbf{1}^{\top} " + parenthesize(a, pa < MUL + 1), MUL
        if k == "rowsum":
            return parenthesize(a, pa < MUL + 1) + r" \, \mathbf{1}", MUL
        if k == "total":
            return r"\mathbf{1}^{\top} " + parenthesize(a, pa < MUL + 1) + r" \, \mathbf{1}", MUL
        if k == "log":
            return applied(FUNCTION_NAMES["log"], a), ATOM
        if k == "step":
            relation = " > 0" if f.at_zero == 0 else r" \ge 0" if f.at_zero == 1 else ""
            if relation:
                return r"\mathbb{I}" + parenthesize(a + relation, delimiters="[]"), ATOM
            return applied(r"H_{" + self.number(f.at_zero) + "}", a), ATOM
        raise AssertionError(k)

    def product(self, f: MExpr) -> bool:
        """A matrix product (𝟏ᵀA and A𝟏 too), or a number times one: factors side by side, which ⊙ or
        ⊘ beside them would seem to split."""
        if not isinstance(f, Op):
            return False
        if f.kind in ("matmul", "colsum", "rowsum", "total"):
            return True
        return f.kind == "had" and any(map(self.is_scalar, f.args)) and any(map(self.product, f.args))

    def pieces(self, f: MExpr, mode: str) -> tuple[str, ...]:
        """A formula as pieces a line may break between: the terms of a sum, the factors of a
        top-level product."""
        if isinstance(f, Op) and f.kind in ("add", "sub"):
            first = self.pieces(f.args[0], mode)
            right, p = self.formula(f.args[1], mode)
            return first + (("+ " if f.kind == "add" else "- ") + parenthesize(right, p < ADD + (f.kind == "sub")),)
        scaled = f.kind == "had" and any(self.is_scalar(a) for a in f.args) if isinstance(f, Op) else False
        if isinstance(f, Op) and f.kind in ("matmul", "had", "hdiv") and not scaled:
            symbol = {"matmul": "", "had": r"\odot ", "hdiv": r"\oslash "}[f.kind]
            a, pa = self.formula(f.args[0], mode)
            b, pb = self.formula(f.args[1], mode)
            mixed = f.kind != "matmul" and self.product(f.args[0])
            return (parenthesize(a, pa < MUL or mixed), symbol + parenthesize(b, pb < MUL + 1))
        return (self.formula(f, mode)[0],)


def formula_text(f: MExpr, loss: str) -> str:
    """A formula in the language's own notation, for the JSON: ``X.T @ dL/dZ + lam * W``."""
    if isinstance(f, Leaf):
        return f.name
    if isinstance(f, Grad):
        return f"d{loss}/d{f.name}"
    if isinstance(f, Part):
        return "(" + E.text(f.tree) + ")"
    if isinstance(f, Const):
        return str(f.value) if f.value.is_Integer and f.value >= 0 else f"({f.value})"
    if isinstance(f, Ones):
        return f"ones({f.shape[0]}, {f.shape[1]})"
    a = [formula_text(x, loss) for x in f.args]
    binary = {"matmul": "@", "had": "*", "hdiv": "/", "add": "+", "sub": "-", "pow": "**"}
    if f.kind in binary:
        return f"({a[0]} {binary[f.kind]} {a[1]})"
    return {"T": f"{a[0]}.T", "neg": f"(-{a[0]})", "colsum": f"sum({a[0]}, axis=0)",
            "rowsum": f"sum({a[0]}, axis=1)", "total": f"sum({a[0]})", "log": f"log({a[0]})",
            "step": f"step({a[0]})"}[f.kind]
