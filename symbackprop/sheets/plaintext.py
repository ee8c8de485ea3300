"""Exact values as plain Unicode text, for labels that cannot hold math (GitHub's Mermaid renders
none): ``ln² 2``, ``2 ln 3``, ``(ln 3)/2``, ``e⁻¹``, ``√2``, ``σ(3/2)`` — as the sheet writes
them, never Python's ``log(2)**2``."""
from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from ..language.ops import Sigmoid

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class PlainPrinter(StrPrinter):
    """SymPy's string printer with the notation of a page: juxtaposition for products, ln, e,
    superscript powers and √; what it does not know it prints as SymPy does."""

    def _group(self, expr: sp.Expr) -> str:
        """``expr`` printed, in brackets unless it is one number, name or bracketed call."""
        text = self._print(expr)
        single = expr.is_Atom and not (expr.is_Rational and not expr.is_Integer) and not text.startswith("-")
        return text if single or text.startswith("(") and text.endswith(")") else "(" + text + ")"

    def _argument(self, expr: sp.Expr) -> str:
        """The argument of ln: ``ln 3``, ``ln(3/2)``."""
        text = self._print(expr)
        return " " + text if expr.is_Integer and expr > 0 or expr.is_Symbol else "(" + text + ")"

    def _power(self, base: str, exponent: sp.Expr) -> str:
        text = self._print(exponent)
        if exponent.is_Integer:
            return base + text.translate(_SUPERSCRIPT)
        return base + "^" + (text if exponent.is_Atom and not exponent.is_Rational else "(" + text + ")")

    def _print_log(self, expr: sp.log) -> str:
        return "ln" + self._argument(expr.args[0])

    def _print_exp(self, expr: sp.exp) -> str:
        return self._power("e", expr.args[0])

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "e"

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "π"

    def _print_Pow(self, expr: sp.Pow) -> str:
        base, exponent = expr.args
        if exponent == sp.S.Half:
            return "√" + self._group(base)
        if exponent == -1:
            return "1/" + self._group(base)
        if isinstance(base, sp.log) and exponent.is_Integer and exponent > 0:  # ln² 2, as the sheet
            return self._power("ln", exponent) + self._argument(base.args[0])
        return self._power(self._group(base), exponent)

    def _print_Mul(self, expr: sp.Mul) -> str:
        if expr.could_extract_minus_sign():
            return "-" + self._group(-expr) if (-expr).is_Add else "-" + self._print(-expr)
        numerator, denominator = sp.fraction(expr)
        if denominator != 1:
            return self._group(numerator) + "/" + self._group(denominator)
        return " ".join(self._group(f) if f.is_Add else self._print(f) for f in expr.as_ordered_factors())

    def _print_Abs(self, expr: sp.Abs) -> str:
        return "|" + self._print(expr.args[0]) + "|"

    def _print(self, expr: sp.Basic, **kwargs: object) -> str:
        """σ(x) as the sheet writes it (ahead of Sigmoid's own string form, sigmoid(x), for SymPy)."""
        if isinstance(expr, Sigmoid):
            return "σ(" + self._print(expr.args[0]) + ")"
        return super()._print(expr, **kwargs)


def plain(value: sp.Expr) -> str:
    """``value`` as plain text (``log(2)**2`` → ``ln² 2``)."""
    return PlainPrinter({"order": "none"}).doprint(value)
