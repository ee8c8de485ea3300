"""The JSON result (a public contract): exact SymPy strings for every value, and beside them the
decimals the sheet shows, so that a reader of the JSON gets the figures a course prints."""
from __future__ import annotations

import functools
import json
from typing import Any

import sympy as sp

from ..engine.protocol import Derivation
from ..language.ops import Sigmoid
from ..matrix.mexpr import MExpr
from .matprint import formula_text
from .numpyformula import shapes_dict
from .numbers import NumberStyle, rounded, terminating
from .printing import ExactStrPrinter

_STR = ExactStrPrinter()


@functools.lru_cache(maxsize=4096)
def exact(value: sp.Expr) -> str:
    """An exact SymPy string: ``"4"``, ``"-1/10"``, ``"-log(10)"``; a sigmoid of a number is
    written out, ``1/(1 + exp(-3/2))``, so that SymPy itself reads every value back."""
    numbers = {s: s.rewrite(sp.exp) for s in value.atoms(Sigmoid) if s.args[0].is_number}
    return _STR.doprint(value.xreplace(numbers) if numbers else value)


def value_json(value: sp.Expr | sp.MatrixBase) -> str | list[list[str]]:
    """An exact string, or a matrix as a list of rows of exact strings."""
    if isinstance(value, sp.MatrixBase):
        return [[exact(x) for x in value.row(i)] for i in range(value.rows)]
    return exact(value)


def gradient_names(d: Derivation) -> list[str]:
    """The asked names; for a graph given by edges, every node of it as well."""
    names = list(d.wrt)
    if d.worksheet.edges:
        names += [n for n in d.graph.order if n != d.loss and n not in names and d.graph.nodes[n].kind != "loss"]
    return names


def forward_names(d: Derivation) -> list[str]:
    """Every given name and node with a value, in the graph's order."""
    return [n for n in d.graph.order if d.graph.nodes[n].kind in ("given", "node")]


def forward_values(d: Derivation) -> dict[str, Any]:
    """Every given name and node with a value, as exact strings (lists of rows for a matrix)."""
    forward = d.forward
    return {n: value_json(forward[n].value) for n in forward_names(d)}


def gradient_values(d: Derivation) -> dict[str, Any]:
    """The gradients of ``gradient_names``, as exact strings (lists of rows for a matrix)."""
    return {n: value_json(d.gradient(n)) for n in gradient_names(d)}


def symbolic_gradients(d: Derivation) -> dict[str, str]:
    """Each gradient's one-step chain rule: in the names (``dL/dz*w``), or for matrices the formula
    in the language's notation (``X.T @ dL/dZ``)."""
    return {n: " + ".join(_chain_text(f, d.loss) for f in d.chain_rule(n)) or "0" for n in gradient_names(d)}


def _chain_text(form: sp.Expr | MExpr, loss: str) -> str:
    """One written form of a chain rule: an exact SymPy string, or a matrix formula as text."""
    return exact(form) if isinstance(form, sp.Basic) else _bare(formula_text(form, loss))


def _bare(text: str) -> str:
    """A formula without the parentheses around the whole of it."""
    depth = 0
    for i, c in enumerate(text):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1] if text.startswith("(") else text


@functools.lru_cache(maxsize=4096)
def decimal_text(value: sp.Expr, digits: int) -> str:
    """A number as the sheet's decimals write it: a terminating decimal exactly (0.3775), any other
    value correctly rounded to ``digits`` significant digits (0.298371109, 4.386e-05); cached, as
    ``exact`` is, because a nested value takes SymPy's evalf seconds and as_dict, json and a
    class's variants ask again."""
    return (terminating(value) or rounded(value, digits)).text()


def decimal_values(d: Derivation) -> dict[str, Any] | None:
    """The decimals of every value that is a number but not an integer, under the keys of the exact
    values (``forward``, ``gradients``, ``update``), when the sheet shows decimals: in a ``numbers:``
    mode other than exact, or with ``decimals:`` set. None when there is no such value, and for a
    worksheet with matrices, whose sheet writes its own approximations entry by entry."""
    ws = d.worksheet
    style = NumberStyle.of(ws)
    if ws.has_matrices or (style.mode == "exact" and not ws.decimals):
        return None

    def shown(values: dict[str, sp.Expr]) -> dict[str, str]:
        return {n: decimal_text(v, style.digits) for n, v in values.items() if v.is_number and not v.is_Integer}

    forward = d.forward
    out: dict[str, Any] = {"forward": shown({n: forward[n].value for n in forward_names(d)}),
                           "gradients": shown({n: d.gradient(n) for n in gradient_names(d)})}
    if d.updates:
        out["update"] = [{"step": u.number, "params": shown({p.name: p.after for p in u.params}),
                          **shown({"loss": u.loss_after})} for u in d.updates]
    some = out["forward"] or out["gradients"] or any(u["params"] or "loss" in u for u in out.get("update", ()))
    return out if some else None


def as_dict(d: Derivation) -> dict[str, Any]:
    if d.worksheet.shapes_only:  # no values: the shapes, and each gradient as a NumPy formula
        return shapes_dict(d, gradient_names(d), symbolic_gradients(d))  # type: ignore[arg-type]
    out = {
        "title": d.worksheet.title,
        "loss": d.loss,
        "forward": forward_values(d),
        "gradients": gradient_values(d),
        "symbolic": {"gradients": symbolic_gradients(d)},
    }
    if d.shapes:  # in matrices: each name's shape, [rows, columns]
        out["shapes"] = {n: list(shape) for n, shape in d.shapes.items()}
    if d.updates:  # update: steps, in order: each parameter's new value and the loss after
        out["update"] = [{"step": u.number, "params": {p.name: value_json(p.after) for p in u.params},
                          "loss": exact(u.loss_after)} for u in d.updates]
    decimals = decimal_values(d)
    if decimals is not None:  # the decimals the sheet shows, beside the exact values
        out["decimals"] = decimals
    return out


def to_json(d: Derivation) -> str:
    return json.dumps(as_dict(d), indent=2, ensure_ascii=False) + "\n"
