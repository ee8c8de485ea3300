"""LaTeX for names, expression trees and SymPy values, in the style of handwritten notes.

Two printers share one set of rules: ``tree_latex`` prints a worksheet expression in the order
it was written (with numbers substituted when asked), and ``SheetPrinter`` prints SymPy results
(local derivatives, values), with ``\\ln`` for the natural log and ReLU's step as cases. The
LaTeX of every operation of the language lives here, not beside its rules (as in SymPy, the
printer dispatches on the operation), and every bracket is written by ``parenthesize``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from ..language import expr as E
from ..language.ops import Choose, LeakyRelu, Maximum, Minimum, Relu, Sigmoid, closed_form
from .linebreak import visual_length
from .numbers import Decimal, NumberStyle

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "mu", "nu",
    "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta",
    "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
}
ALIASES = {"lam": r"\lambda", "lamda": r"\lambda", "Lam": r"\Lambda"}
ACCENTS = ("hat", "bar", "tilde", "dot", "vec")
# Names that read as words, not as a letter with an accent: `what`, `that`, `chat`, and `wdot`,
# which a course writes for w·x, the dot product.
PLAIN_WORDS = frozenset({"what", "that", "chat", "wdot"})

# Precedences of the tree printer.
ADD, NEG, MUL, POW, ATOM = 10, 15, 20, 30, 40

# How each function is named in front of its arguments (the language's, and SymPy's sign).
FUNCTION_NAMES = {
    "log": r"\ln", "max": r"\max", "min": r"\min", "relu": r"\operatorname{relu}",
    "leaky_relu": r"\operatorname{leaky\,relu}", "sigmoid": r"\sigma", "tanh": r"\tanh",
    "choose": r"\operatorname{choose}", "sign": r"\operatorname{sign}",
}


def parenthesize(text: str, needed: bool = True, delimiters: str = "()") -> str:
    """``text`` in brackets that grow with it, when ``needed``: the one place a printer writes
    ``\\left( … \\right)`` (or another pair of ``delimiters``, such as ``[]``)."""
    return r"\left" + delimiters[0] + text + r"\right" + delimiters[1] if needed else text


def applied(name: str, args: str, exp: str | None = None) -> str:
    """A function's LaTeX ``name`` applied to its printed ``args``, raised to the power ``exp``
    as SymPy writes it: \\sin^{2}\\left(x\\right)."""
    return name + ("" if exp is None else "^{" + exp + "}") + parenthesize(args)


def _called(function: str) -> Callable[[Sequence[str]], str]:
    """The form of a function written by its name, its arguments in brackets."""
    return lambda a: applied(FUNCTION_NAMES[function], ", ".join(a))


# The LaTeX of each function of the language, from its printed arguments.
FUNCTION_FORMS: dict[str, Callable[[Sequence[str]], str]] = {
    "exp": lambda a: "e^{" + a[0] + "}",
    "log": lambda a: applied(FUNCTION_NAMES["log"], a[0]) if len(a) == 1 else applied(r"\log_{" + a[1] + "}", a[0]),
    "log10": lambda a: applied(r"\log_{10}", a[0]),
    "sqrt": lambda a: r"\sqrt{" + a[0] + "}",
    "abs": lambda a: parenthesize(a[0], delimiters="||"),
    "max": _called("max"),
    "min": _called("min"),
    "relu": _called("relu"),
    "leaky_relu": _called("leaky_relu"),
    "sigmoid": _called("sigmoid"),
    "tanh": _called("tanh"),
    "choose": lambda a: applied(FUNCTION_NAMES["choose"], a[0] + "; " + ", ".join(a[1:])),
}


def _word(word: str) -> str:
    if word in GREEK:
        return "\\" + word
    if word in ALIASES:
        return ALIASES[word]
    if len(word) == 1 or word.isdigit():
        return word
    return r"\mathrm{" + word + "}"


def _accented(word: str) -> tuple[str, str] | None:
    """``yhat`` → (y, hat): an accent word after one letter or a Greek letter's name (``alphadot``).
    After a longer word (``negdot``), or in a name that reads as a word (``what``), it is part of
    the word: a course that writes ``negdot`` means no dotted "neg"."""
    if word in PLAIN_WORDS:
        return None
    for accent in ACCENTS:
        base = word.removesuffix(accent)
        if base != word and (len(base) == 1 and base.isalpha() or base in GREEK or base in ALIASES):
            return base, accent
    return None


def default_name_latex(name: str) -> str:
    """``x1`` → x_{1}, ``w11`` → w_{11}, ``alpha`` → \\alpha, ``yhat`` → \\hat{y}, ``z_out`` → z_{\\mathrm{out}};
    ``negdot`` → \\mathrm{negdot}."""
    head, *subs = name.split("_")
    m = re.match(r"^([A-Za-z]+?)(\d+)$", head)
    base, digits = (m.group(1), m.group(2)) if m else (head, "")
    accented = _accented(base)
    tex = "\\" + accented[1] + "{" + _word(accented[0]) + "}" if accented else _word(base)
    sub = [digits] if digits else []
    sub += [_word(s) for s in subs if s]
    return tex + ("_{" + ",".join(sub) + "}" if sub else "")


def is_plain_number(value: sp.Expr) -> bool:
    """A non-negative integer: the only number written without parentheses inside a product."""
    return bool(value.is_Integer and value >= 0)


class _NumberSums:
    """A sum of numbers keeps SymPy's canonical order: the default order evaluates every term
    numerically to sort it, which dominated the time of a large sheet."""

    def _as_ordered_terms(self, expr: sp.Expr, order: str | None = None) -> list[sp.Expr]:
        if expr.is_number:
            return list(expr.args)
        return super()._as_ordered_terms(expr, order)  # type: ignore[misc]


class ExactStrPrinter(_NumberSums, StrPrinter):
    """SymPy's string form (``-log(10)``, ``-1/10``), as the JSON writes values."""


class SheetPrinter(_NumberSums, LatexPrinter):
    """SymPy's LaTeX printer with the worksheet's names, ``\\ln``, cases for steps, and optional
    substitution of numbers for symbols (each in parentheses unless a non-negative integer)."""

    def __init__(self, names: Mapping[sp.Symbol, str], values: Mapping[sp.Symbol, sp.Expr] | None = None,
                 style: NumberStyle | None = None):
        super().__init__({"ln_notation": True, "symbol_names": dict(names), "parenthesize_super": False})
        self.values = values or {}
        self.style = style
        self._exact = SheetPrinter(names) if style else self  # measures exact forms
        self._decimals: dict[sp.Expr, Decimal | None] = {}
        self._top: sp.Basic | None = None

    def decimal(self, value: sp.Expr) -> Decimal | None:
        """The decimal this printer writes for a number (None: written exactly)."""
        if self.style is None or not isinstance(value, sp.Expr) or not value.is_number:
            return None
        if value not in self._decimals:
            self._decimals[value] = self.style.decimal(closed_form(value), lambda v: visual_length(self._exact.doprint(v)))
        return self._decimals[value]

    def number(self, value: sp.Expr) -> tuple[str, int]:
        """A computed value standing inside a written expression, and how tightly it binds."""
        d = self.decimal(value)
        if d is not None:
            return d.latex(), NEG if d.negative else ATOM
        return self._print(value), number_prec(value)

    def _print(self, expr: sp.Basic, **kwargs) -> str:
        if self.style is not None and isinstance(expr, sp.Expr) and expr.is_number:
            d = self.decimal(expr)
            if d is not None:
                return d.latex()
            expr = closed_form(expr)
        return super()._print(expr, **kwargs)

    def _print_tanh(self, expr: sp.tanh, exp: str | None = None) -> str:
        return applied(FUNCTION_NAMES["tanh"], self._print(expr.args[0]), exp)

    def doprint(self, expr: sp.Basic) -> str:
        self._top = expr
        return super().doprint(expr)

    def _as_ordered_terms(self, expr: sp.Expr, order: str | None = None) -> list[sp.Expr]:
        """A sum that has a positive term starts with it: z − t, as a hand writes it, not −t + z."""
        terms = super()._as_ordered_terms(expr, order)
        if terms and terms[0].could_extract_minus_sign():
            first = next((i for i, t in enumerate(terms) if not t.could_extract_minus_sign()), None)
            if first is not None:
                return [terms[first], *terms[:first], *terms[first + 1:]]
        return terms

    def ordered_terms(self, expr: sp.Expr) -> list[sp.Expr]:
        """The terms of a sum in the order this printer writes them, for a caller that breaks
        lines between them."""
        return self._as_ordered_terms(expr)

    def needs_brackets_in_sum(self, expr: sp.Expr) -> bool:
        """Whether ``expr`` written as one term of a sum needs brackets (SymPy's rule)."""
        return self._needs_add_brackets(expr)

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if expr in self.values:
            value = self.values[expr]
            d = self.decimal(value)
            if d is not None:
                return parenthesize(d.latex(), d.negative)
            tex = SheetPrinter(self._settings["symbol_names"]).doprint(value)
            compound = value.is_Add or value.is_Mul or value.is_Pow or (value.is_Rational and not value.is_Integer)
            return parenthesize(tex, compound or value.could_extract_minus_sign())
        return super()._print_Symbol(expr, style)

    def _print_log(self, expr: sp.log, exp: str | None = None) -> str:
        return applied(FUNCTION_NAMES["log"], self._print(expr.args[0]), exp)

    def _print_Relu(self, expr: Relu, exp: str | None = None) -> str:
        return applied(FUNCTION_NAMES["relu"], self._print(expr.args[0]), exp)

    def _print_LeakyRelu(self, expr: LeakyRelu, exp: str | None = None) -> str:
        x, slope, _ = expr.args
        return applied(FUNCTION_NAMES["leaky_relu"], self._print(x) + ", " + self._print(slope), exp)

    def _print_Sigmoid(self, expr: Sigmoid, exp: str | None = None) -> str:
        return applied(FUNCTION_NAMES["sigmoid"], self._print(expr.args[0]), exp)

    def _print_Choose(self, expr: Choose, exp: str | None = None) -> str:
        y, *options = expr.args
        return applied(FUNCTION_NAMES["choose"], self._print(y) + "; " + ", ".join(map(self._print, options)), exp)

    def _print_Maximum(self, expr: Maximum | Minimum, exp: str | None = None) -> str:
        """max and min with their arguments as written (max(a, b, c), not max(max(a, b), c))."""
        return applied(FUNCTION_NAMES[expr.word], ", ".join(map(self._print, expr.flat())), exp)

    _print_Minimum = _print_Maximum

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        """ReLU's step: as cases when it stands alone, as an indicator inside a product."""
        x = self._print(expr.args[0])
        at = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if expr is not self._top and at in (0, 1):
            tex = r"\mathbb{I}" + parenthesize(x + (" > 0" if at == 0 else r" \ge 0"), delimiters="[]")
            return tex if exp is None else tex + "^{" + exp + "}"
        if at == 0:
            rows = [f"1 & {x} > 0", f"0 & {x} \\le 0"]
        elif at == 1:
            rows = [f"1 & {x} \\ge 0", f"0 & {x} < 0"]
        else:
            rows = [f"1 & {x} > 0", f"{self._print(at)} & {x} = 0", f"0 & {x} < 0"]
        tex = r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
        return tex if exp is None else parenthesize(tex) + "^{" + exp + "}"

    def _print_KroneckerDelta(self, expr: sp.KroneckerDelta, exp: str | None = None) -> str:
        a, b = sorted(expr.args, key=lambda v: bool(v.is_number))  # the symbol first: [y = 1]
        tex = parenthesize(self._print(a) + " = " + self._print(b), delimiters="[]")
        return tex if exp is None else tex + "^{" + exp + "}"

    def _print_sign(self, expr: sp.sign, exp: str | None = None) -> str:
        tex = applied(FUNCTION_NAMES["sign"], self._print(expr.args[0]))
        return tex if exp is None else tex + "^{" + exp + "}"


def number_prec(value: sp.Expr) -> int:
    """How tightly a computed value binds when it stands inside a written expression."""
    if value.could_extract_minus_sign():
        return NEG
    if value.is_Atom:
        return ATOM
    return {"Add": ADD, "Mul": MUL, "Pow": POW}.get(type(value).__name__, ATOM)


def tree_latex(tree: E.Expr, name_latex: Callable[[str], str], printer: SheetPrinter) -> str:
    """LaTeX of a worksheet expression in the order it was written."""
    return _tree(tree, name_latex, printer)[0]


def tree_terms(tree: E.Expr, name_latex: Callable[[str], str], printer: SheetPrinter) -> tuple[str, ...]:
    """The top-level terms of a sum (after the first, each carries its sign), for line breaking."""
    return tuple(_term(op, t, i == 0, name_latex, printer) for i, (op, t) in enumerate(_summands(tree)))


def tree_terms_with(tree: E.Expr, name: str, name_latex: Callable[[str], str], printer: SheetPrinter,
                    most: int = 4) -> tuple[str, ...]:
    """A sum of more than ``most`` terms as the terms that mention ``name``, the others written
    ``\\cdots`` (∂/∂h (⋯ + v h + ⋯)), as a hand differentiates one term of a wide layer; any
    other expression whole."""
    parts = _summands(tree)
    keep = [i for i, (_, t) in enumerate(parts) if name in E.names(t)]
    if len(parts) <= most or not keep:
        return tree_terms(tree, name_latex, printer)
    out: list[str] = []
    previous = -1
    for i in keep:
        if i > previous + 1:  # terms left out before this one
            out.append(r"+ \cdots" if out else r"\cdots")
        out.append(_term(parts[i][0], parts[i][1], not out, name_latex, printer))
        previous = i
    if previous < len(parts) - 1:
        out.append(r"+ \cdots")
    return tuple(out)


def _summands(tree: E.Expr) -> list[tuple[str, E.Expr]]:
    """A sum as (sign, term) pairs in the order written; anything else as one term."""
    if isinstance(tree, E.Apply) and tree.op in ("+", "-"):
        return _summands(tree.args[0]) + [(tree.op, tree.args[1])]
    return [("+", tree)]


def _term(op: str, tree: E.Expr, first: bool, name_latex: Callable[[str], str], printer: SheetPrinter) -> str:
    tex, prec = _tree(tree, name_latex, printer)
    if first:
        return tex if op == "+" else "- " + parenthesize(tex, prec <= ADD)
    return ("+ " if op == "+" else "- ") + parenthesize(tex, prec == NEG or (op == "-" and prec <= ADD))


def _tree(t: E.Expr, name_latex: Callable[[str], str], printer: SheetPrinter) -> tuple[str, int]:
    if isinstance(t, (E.Num, E.Value)):
        return printer.number(t.value)
    if isinstance(t, E.Name):
        return name_latex(t.id), ATOM
    if t.op in ("+", "-"):
        return " ".join(tree_terms(t, name_latex, printer)), ADD
    args = [_tree(a, name_latex, printer) for a in t.args]
    if t.op == "neg":
        text, prec = args[0]
        return "-" + parenthesize(text, prec < MUL), NEG
    if t.op == "*":
        parts = []
        for sub, (text, prec) in zip(t.args, args):
            if isinstance(sub, E.Value) or prec < MUL:
                text = parenthesize(text)
            elif parts and text[:1].isdigit():
                text = r"\cdot " + text
            parts.append(text)
        return " ".join(parts), MUL
    if t.op == "/":
        return r"\frac{" + args[0][0] + "}{" + args[1][0] + "}", ATOM
    if t.op == "**":
        (base, bprec), (exponent, _) = args
        if isinstance(t.args[0], E.Value) and not is_plain_number(t.args[0].value):
            bprec = ADD
        return parenthesize(base, bprec < ATOM) + "^{" + exponent + "}", POW
    return FUNCTION_FORMS[t.op]([a[0] for a in args]), ATOM
