"""The JSON result (a public contract): exact SymPy strings for every value."""
from __future__ import annotations

import functools
import json
from typing import Any

import sympy as sp

from .derive import Derivation
from .ops import Sigmoid
from .printing import ExactStrPrinter

_STR = ExactStrPrinter()


@functools.lru_cache(maxsize=4096)
def exact(value: sp.Expr) -> str:
    """An exact SymPy string: ``"4"``, ``"-1/10"``, ``"-log(10)"``; a sigmoid of a number is
    written out, ``1/(1 + exp(-3/2))``, so that SymPy itself reads every value back."""
    numbers = {s: s.rewrite(sp.exp) for s in value.atoms(Sigmoid) if s.args[0].is_number}
    return _STR.doprint(value.xreplace(numbers) if numbers else value)


def gradient_names(d: Derivation) -> list[str]:
    """The asked names; for a graph given by edges, every node of it as well."""
    names = list(d.wrt)
    if d.worksheet.edges:
        names += [n for n in d.graph.order if n != d.loss and n not in names and d.graph.nodes[n].kind != "loss"]
    return names


def forward_values(d: Derivation) -> dict[str, str]:
    """Every given name and node with a value, as exact strings."""
    return {n: exact(d.forward[n].value) for n in d.graph.order if d.graph.nodes[n].kind in ("given", "node")}


def gradient_values(d: Derivation) -> dict[str, str]:
    """The gradients of ``gradient_names``, as exact strings."""
    return {n: exact(d.gradient(n)) for n in gradient_names(d)}


def as_dict(d: Derivation) -> dict[str, Any]:
    names = gradient_names(d)
    out = {
        "title": d.worksheet.title,
        "loss": d.loss,
        "forward": forward_values(d),
        "gradients": gradient_values(d),
        "symbolic": {
            "gradients": {n: exact(d.adjoints[n].symbolic) if n in d.adjoints else "0" for n in names},
        },
    }
    if d.updates:  # update: steps, in order: each parameter's new value and the loss after
        out["update"] = [{"step": u.number, "params": {p.name: exact(p.after) for p in u.params},
                          "loss": exact(u.loss_after)} for u in d.updates]
    return out


def to_json(d: Derivation) -> str:
    return json.dumps(as_dict(d), indent=2, ensure_ascii=False) + "\n"
