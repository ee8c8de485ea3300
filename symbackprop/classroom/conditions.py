"""Whether a derivation's numbers meet the worksheet's ``require:`` conditions (read by
worksheet/require.py). Values are compared by language/equality.py's one rule: exactly when
rational, otherwise to ``DIGITS`` digits. In matrices a condition speaks of entries (``A[1,2]``,
``grad(W)[1,2]``), and the forms look at every entry."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import sympy as sp

from ..engine.protocol import Derivation
from ..matrix.derive import MatrixDerivation
from ..errors import EvaluationError, ExpressionError, WorksheetError
from ..language import expr as E
from ..language.equality import DIGITS, sign
from ..language.evaluate import evaluate
from ..worksheet.require import GRAD, Constraint, Form, Integer, Logic, Test, entries, grad_name, split_entry

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
    """Every forward value and every gradient (as ``grad(name)``) of a derivation: numbers, a
    matrix entry by entry (``A[1,2]``, ``grad(W)[1,2]``)."""
    env = dict(pair for n, f in d.forward.items() for pair in entries(n, f.value))
    env.update(pair for n in d.graph.order for pair in entries(grad_name(n), d.gradient(n)))
    return env


def kinks(d: Derivation) -> tuple[str, ...]:
    """Every step function on its kink, as text: the scalar derivation's, or in matrices each
    relu whose argument has an entry exactly 0 (a matrix sheet notes these entry by entry)."""
    out = [f"∂{k.child}/∂{k.name}: step at {sp.sstr(k.argument)} = 0" for k in d.kinks]
    for name, tree, m in applied(d, "relu"):
        zeros = [f"({i + 1}, {j + 1})" for i in range(m.rows) for j in range(m.cols) if m[i, j].is_zero]
        if zeros:
            out.append(f"relu({E.text(tree.args[0])}) in {name}: entr{'y' if len(zeros) == 1 else 'ies'} "
                       f"{', '.join(zeros)} = 0")
    return tuple(dict.fromkeys(out))


def applied(d: Derivation | MatrixDerivation, op: str) -> Iterator[tuple[str, E.Apply, sp.MatrixBase]]:
    """In a worksheet with matrices, each application of ``op`` in a node's definition: the node,
    the application and the value of its (first) argument."""
    if not d.worksheet.has_matrices:
        return
    for nd in d.worksheet.nodes:
        for t in E.subtrees(nd.expr):
            if isinstance(t, E.Apply) and t.op == op:
                yield nd.name, t, d.evaluator(t.args[0])


def _holds(test: Test, d: Derivation, env: Mapping[str, sp.Expr]) -> bool:
    if isinstance(test, Form):
        return _form(test.text, d)
    if isinstance(test, Logic):
        if test.op == "not":
            return not _holds(test.items[0], d, env)
        results = (_holds(t, d, env) for t in test.items)
        return all(results) if test.op == "and" else any(results)
    if isinstance(test, Integer):
        return all(_is_integer(_number(a, env, d)) for a in test.args)
    values = [_number(t, env, d) for t in test.terms]
    return all(_HOLDS[op](sign(a - b)) for op, a, b in zip(test.ops, values, values[1:]))


def _form(text: str, d: Derivation) -> bool:
    if text == "no kinks":
        return not kinks(d)
    if text == "all values integers":
        return all(_is_integer(x) for n in d.graph.order if d.graph.nodes[n].kind in ("given", "node")
                   for _, x in entries(n, d.forward[n].value))
    grads = [x for n in d.wrt for _, x in entries(n, d.gradient(n))]
    return all(_is_integer(g) for g in grads) if text == "all answers integers" else all(sign(g) != 0 for g in grads)


def _number(tree: E.Expr, env: Mapping[str, sp.Expr], d: Derivation) -> sp.Expr:
    for name in E.names(tree):
        if name not in env:
            raise ExpressionError(_unbound(name, d.shapes))
    value = evaluate(tree, env, d.worksheet.conventions)
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


def _unbound(name: str, shapes: Mapping[str, tuple[int, int]]) -> str:
    """Why a condition's name has no number: a whole matrix, an entry outside it, an entry of a number."""
    base, entry = split_entry(name)
    rows, cols = shapes.get(base.removeprefix(GRAD + "(").removesuffix(")"), (1, 1))
    if (rows, cols) == (1, 1):
        return f"{base} is a number, not a matrix: write {base}, not {name}" if entry else f"'{name}' has no value"
    if entry is None:
        return f"{base} is a {rows}×{cols} matrix: a condition compares its entries, {base}[1,1] … {base}[{rows},{cols}]"
    return f"{name} is outside {base}, which is {rows}×{cols} (entries are counted from 1)"
