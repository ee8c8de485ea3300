"""Whether a derivation's numbers meet the worksheet's ``require:`` conditions (read by
worksheet/require.py). Values are compared by language/equality.py's one rule: exactly when
rational, otherwise to ``DIGITS`` digits."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import sympy as sp

from ..engine.derive import Derivation
from ..errors import EvaluationError, ExpressionError, WorksheetError
from ..language import expr as E
from ..language.equality import DIGITS, sign
from ..language.evaluate import evaluate
from ..language.ops import Conventions
from ..worksheet.require import Constraint, Form, Integer, Logic, Test, grad_name

_HOLDS: dict[str, Callable[[int], bool]] = {
    "<": lambda s: s < 0, "<=": lambda s: s <= 0, ">": lambda s: s > 0,
    ">=": lambda s: s >= 0, "==": lambda s: s == 0, "!=": lambda s: s != 0,
}


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
    conventions = d.worksheet.conventions
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


def _is_integer(value: sp.Expr) -> bool:
    if value.is_Rational:
        return bool(value.is_Integer)
    if not value.is_number:
        raise ExpressionError("not a number: it depends on a symbolic name")
    return sign(value - sp.Integer(int(value.evalf(DIGITS).round()))) == 0

