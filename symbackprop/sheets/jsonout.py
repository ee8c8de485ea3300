"""The JSON result (a public contract): exact SymPy strings for every value."""
from __future__ import annotations

import functools
import json
from typing import Any

import sympy as sp

from ..engine.protocol import Derivation
from ..language.ops import Sigmoid
from ..matrix.mexpr import MExpr
from .matprint import formula_text
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


def forward_values(d: Derivation) -> dict[str, Any]:
    """Every given name and node with a value, as exact strings (lists of rows for a matrix)."""
    forward = d.forward
    return {n: value_json(forward[n].value) for n in d.graph.order if d.graph.nodes[n].kind in ("given", "node")}


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


def as_dict(d: Derivation) -> dict[str, Any]:
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
    return out


def to_json(d: Derivation) -> str:
    return json.dumps(as_dict(d), indent=2, ensure_ascii=False) + "\n"
