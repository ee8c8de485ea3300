"""SymPy from the tree of a handwritten derivation's math (latexmath.py), node by node: names,
derivatives and numbers through the caller's resolver, arithmetic through the guarded builders of
language/ops.py, so no text is evaluated and no power is too large to write.
"""
from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ..errors import EvaluationError
from ..language.ops import Sigmoid, build_binary
from .tree import Atom, Cases, Deriv, Grad, Node, Num
from .tokens import Unreadable

Resolve = Callable[[Atom | Deriv | Grad | Num], sp.Expr]
RELOPS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge}


def to_sympy(node: Node, resolve: Resolve) -> sp.Expr:
    """Build SymPy from the tree; ``resolve`` gives a name's or a derivative's symbol, and a written
    number's value or the symbol of its rounding (or raises Unreadable). Arithmetic goes through
    the guarded builders: no power too large to write."""
    if isinstance(node, (Atom, Deriv, Grad, Num)):
        return resolve(node)
    if isinstance(node, Cases):
        pieces = []
        for value, cond in node.rows:
            c = sp.true if cond is None else RELOPS[cond[1]](to_sympy(cond[0], resolve), to_sympy(cond[2], resolve))
            pieces.append((to_sympy(value, resolve), c))
        if pieces[-1][1] is not sp.true:
            pieces.append((sp.nan, sp.true))
        return sp.Piecewise(*pieces)
    op = node.op
    if op == "apply":
        d, body = node.args
        x = resolve(Deriv(None, d.bottom))
        return sp.diff(to_sympy(body, resolve), x)
    if op == "prime":
        raise Unreadable("a derivative written with a prime (') names no variable")
    args = [to_sympy(a, resolve) for a in node.args]
    try:
        if op == "neg":
            return -args[0]
        if op in ("+", "*", "/"):
            return build_binary(op, args[0], args[1])
        if op == "^":
            return build_binary("**", args[0], args[1])
    except (ZeroDivisionError, OverflowError, MemoryError):
        raise Unreadable("the arithmetic cannot be done") from None
    except EvaluationError as exc:
        raise Unreadable(exc.message) from None
    builders = {"log": sp.log, "log10": lambda x: sp.log(x) / sp.log(10), "exp": sp.exp, "sqrt": sp.sqrt,
                "tanh": sp.tanh, "sigma": Sigmoid, "max": sp.Max, "min": sp.Min,
                "relu": lambda x: sp.Max(x, 0)}
    if op in ("log", "log10", "exp", "sqrt", "tanh", "sigma", "relu") and len(args) != 1:
        raise Unreadable(f"\\{op} takes one argument")
    return builders[op](*args)
