"""Checking a derivation written in matrix notation against a matrix worksheet, line by line.

Each chain ``LHS = formula = … = value`` is a claim about a node's matrix, a gradient of the loss
(``\\frac{\\partial L}{\\partial W_1}``, ``dL/dW1``, ``\\nabla_{W_1} L``, ``\\delta_A``, ``dW1``) or an
updated parameter. Each step is computed exactly with the writer's earlier values
(matrixeval.py); the value is compared entry by entry with the worksheet's (a decimal as the
rounding it stands for); a wrong value is ECF when the right formula at the writer's earlier values
gives it, else the mistakes of matrixdiagnose.py are tried, and a written product whose transposes,
changed, give the right value is named.
"""
from __future__ import annotations

import sympy as sp

from ..matrix.derive import MatrixDerivation, unwrap
from ..matrix.matops import Evaluator
from .answer_text import MathLine
from .carried import Chain
from .claims import LEARNING_RATE, Names, Quantity, UnknownName
from .judge import CheckReport, ClaimCheck, LineWalk, asked, chains
from .matrixcarried import MatrixCarried
from .matrixdiagnose import NO_DIAGNOSIS, diagnose_matrix
from .matrixeval import Bound, Matrix, MValue, ShapeMismatch, agree_m, evaluate, node_text, transposed
from .matrixmath import MNode, parse_matrix_chain
from .numeric import DIGITS, shown_any
from .tokens import Unreadable
from .tree import Atom, Deriv, Grad, Num


def check_matrix_text(d: MatrixDerivation, text: str, answer: str = "<answer>",
                      tolerance: sp.Rational = sp.S.Zero) -> CheckReport:
    """Judge every equation chain of ``text`` against a worksheet in matrix notation (see check_text)."""
    lines = chains(text, answer)
    walk = _MatrixWalk(d, tolerance)
    claims = tuple(walk.judge(ml) for ml in lines)
    return CheckReport(d.worksheet.path, d.worksheet.title, answer, d.loss, claims, asked(d), walk.digits)


class _MatrixWalk(LineWalk[MNode]):
    """The state carried from line to line: the writer's values and the left side a line that
    starts with ``=`` continues."""

    def __init__(self, d: MatrixDerivation, tolerance: sp.Rational) -> None:
        self.names = Names(d)  # type: ignore[arg-type]  # the names of a graph, in scalars or matrices
        self.carried = MatrixCarried(self.names, tolerance)
        self.digits = d.worksheet.decimals or DIGITS
        self.last: MNode | None = None

    @property
    def d(self) -> MatrixDerivation:
        return self.names.derivation  # type: ignore[return-value]

    def show(self, value: MValue | Matrix) -> str:
        return shown_any(unwrap(value.exact if isinstance(value, MValue) else value), self.digits)

    def read(self, text: str) -> list[MNode | Unreadable]:
        return parse_matrix_chain(text, self.names.lexicon)

    def judge_left(self, ml: MathLine, lhs: MNode, members: list, continued: bool) -> ClaimCheck:
        rhs = members[1:]
        try:
            q = self._quantity(lhs)
        except UnknownName as exc:
            self.last = None
            return ClaimCheck(ml.line, ml.text, None, None, None, "unknown", str(exc))
        except Unreadable as exc:
            self.last = None
            return ClaimCheck(ml.line, ml.text, None, None, None, "unknown" if isinstance(lhs, Deriv) else
                              "unreadable", str(exc) if isinstance(lhs, Deriv) else f"the left side: {exc}")
        if q is None:
            return self.arithmetic(ml, members)
        if not self.carried.given(q):
            self.last = lhs
        return self._claim(ml, q, rhs, self.carried.said.get(q) if continued else None)

    def _quantity(self, lhs: MNode) -> Quantity | None:
        """The quantity a left side names; None for a formula (an arithmetic line)."""
        d = self.d
        if isinstance(lhs, Atom):
            if lhs.step:
                return self.names.update(lhs, {})
            try:
                return Quantity("value", self.names.find(lhs))
            except UnknownName:
                if lhs.base == "delta" and lhs.sub:  # δ_A: the error signal ∂L/∂A
                    return Quantity("grad", self.names.find(Atom(lhs.sub[0], lhs.sub[1:])))
                raise
        if isinstance(lhs, Grad):
            return Quantity("grad", self.names.find(lhs.of))
        if isinstance(lhs, Deriv):
            top, bottom = self.names.find(lhs.top), self.names.find(lhs.bottom)
            if top != d.loss:
                raise Unreadable(f"∂{top}/∂{bottom} between matrices is a Jacobian; only the gradients of the loss "
                                 f"{d.loss} are judged in matrix notation")
            return Quantity("grad", bottom)
        return None

    def _resolve(self, bound: Bound):  # noqa: ANN202  # a Resolve for matrixeval.evaluate
        d, carried = self.d, self.carried

        def resolve(node: Atom | Deriv | Grad | Num) -> Matrix:
            if isinstance(node, Num):
                return Matrix([[bound.symbol(carried.number(node))]])
            if isinstance(node, Grad):
                return carried.known(Quantity("grad", self.names.find(node.of)), bound)
            if isinstance(node, Deriv):
                top, bottom = self.names.find(node.top), self.names.find(node.bottom)
                if top == bottom:
                    return Matrix([[1]])
                if top != d.loss:
                    raise Unreadable(f"∂{top}/∂{bottom} between matrices is a Jacobian, not read in a formula")
                return carried.known(Quantity("grad", bottom), bound)
            if node.step:
                return carried.known(self.names.update(node, {}), bound)
            try:
                return carried.known(Quantity("value", self.names.find(node)), bound)
            except UnknownName:
                if node.key == "e":
                    return Matrix([[sp.E]])
                if node.key in LEARNING_RATE and d.worksheet.update is not None:
                    return Matrix([[d.worksheet.update.lr]])
                if node.key == "N":
                    return Matrix([[batch(d)]])
                if node.base == "delta" and node.sub:
                    return carried.known(Quantity("grad", self.names.find(Atom(node.sub[0], node.sub[1:]))), bound)
                raise
        return resolve

    def _compute(self, node: MNode, bound: Bound) -> MValue | Unreadable:
        try:
            return bound.value(evaluate(node, self._resolve(bound), bound, self.d.worksheet.conventions))
        except Unreadable as exc:
            return exc

    # -- a claim about a quantity -----------------------------------------------------------------
    def _claim(self, ml: MathLine, q: Quantity, rhs: list, before=None) -> ClaimCheck:  # noqa: ANN001
        label = q.label(self.d.loss)
        expected = self.carried.truth(q)
        bound = Bound()
        values: list[MValue | Unreadable] = [m if isinstance(m, Unreadable) else self._compute(m, bound) for m in rhs]
        if not values:
            return ClaimCheck(ml.line, ml.text, label, None, unwrap(expected.exact), "unreadable", "no value after '='")
        if isinstance(rhs[-1], Num):  # the value itself is a rounding, whatever number it is
            values[-1] = MValue((1, 1), (self.carried.number(rhs[-1]),))
        steps = self._step_notes(values)
        claimed = values[-1]
        if isinstance(claimed, ShapeMismatch):  # read, but it cannot be computed: a mistake, not unreadable text
            return ClaimCheck(ml.line, ml.text, label, None, unwrap(expected.exact), "wrong", str(claimed),
                              tuple(note for note in steps if str(claimed) not in note))
        if isinstance(claimed, Unreadable):
            return ClaimCheck(ml.line, ml.text, label, None, unwrap(expected.exact), "unreadable",
                              f"the value cannot be read: {claimed}", steps)
        readable = ([before.value] if before else []) + [v for v in values if isinstance(v, MValue)]
        verdict, diagnosis, note = self._verdict(q, readable, expected, rhs, values, bound)
        self.carried.remember(q, claimed, ml.line, verdict == "correct")
        return ClaimCheck(ml.line, ml.text, label, unwrap(claimed.exact), unwrap(expected.exact), verdict,
                          diagnosis, steps, note)

    def _verdict(self, q: Quantity, readable: list[MValue], expected: MValue, rhs: list,
                 values: list, bound: Bound) -> tuple[str, str, str]:
        d, carried = self.d, self.carried
        chain = Chain(readable, agree_m)  # type: ignore[arg-type]  # matrix values compare alike
        rights, _ = carried.references(q, right_only=True)
        if chain.reaches(expected) or any(r.rounded and chain.reaches(r) for r in rights):
            rounded = readable[-1].rounded and readable[-1].exact != expected.exact
            exact = shown_any(unwrap(expected.exact), max(self.digits, DIGITS))
            return "correct", "", f"rounded; exact {exact}" if rounded else ""
        refs, sources = carried.references(q, right_only=False)
        if sources and any(chain.reaches(r) for r in refs):
            used = ", ".join(f"{s.label(d.loss)} (line {carried.said[s].line})" for s in sources)
            return "ecf", f"right with the earlier values {used}", ""
        if carried.given(q):
            return "wrong", f"the worksheet gives {q.name} = {self.show(expected)}", ""
        written = self._transposes(rhs, values, bound, [expected, *refs])
        if written:
            return "wrong", written, ""
        cause = self._diagnose(q, chain)
        if cause == NO_DIAGNOSIS:
            shape = next((str(v) for v in values if isinstance(v, ShapeMismatch)), "")
            if shape:
                return "wrong", f"a step cannot be computed: {shape}", ""
            if readable and readable[-1].shape != expected.shape:
                got, want = (f"{r}×{c}" for r, c in (readable[-1].shape, expected.shape))
                return "wrong", (f"the result is {got}, but {q.label(d.loss)} is {want}: a product's factors in the "
                                 "wrong order, or a transpose misplaced"), ""
            for i, v in enumerate(readable[:-1]):
                if agree_m(v, expected):
                    k = next((k for k in range(i + 1, len(readable)) if not agree_m(readable[k - 1], readable[k])), None)
                    if k is not None:
                        return "wrong", (f"an arithmetic slip: a step equals {self.show(v)}, a later one "
                                         f"{self.show(readable[k])}"), ""
        return "wrong", cause, ""

    def _diagnose(self, q: Quantity, chain: Chain) -> str:
        bound = Bound()
        env, grads = self.carried.lookups(bound, False, q)
        said = {s.name: bound.matrix(v.value) for s, v in self.carried.said.items() if s.kind == "grad"}
        part = Evaluator(env, self.d.worksheet.conventions)  # type: ignore[arg-type]  # read with [] only
        return diagnose_matrix(self.d, q, env, said, part, lambda m: chain.reaches(bound.value(Matrix(m))))

    def _transposes(self, rhs: list, values: list, bound: Bound, targets: list[MValue]) -> str:
        """When a written product, its transposes changed, gives the right value: which change."""
        loss = self.d.loss
        for node, got in zip(rhs, values):
            if isinstance(node, Unreadable) or isinstance(got, MValue) and any(agree_m(got, t) for t in targets):
                continue
            for variant, change in transposed(node):
                v = self._compute(variant, bound)
                if isinstance(v, MValue) and any(agree_m(v, t) for t in targets):
                    what = {1: "a transpose missing", 0: "the transpose on the wrong factor",
                            -1: "a transpose too many"}[max(-1, min(1, change))]
                    shapes = f" ({got})" if isinstance(got, ShapeMismatch) else ""
                    return f"{what}: {node_text(variant, loss)} gives the right value, not {node_text(node, loss)}{shapes}"
        return ""

    def _step_notes(self, values: list) -> tuple[str, ...]:
        notes = [f"step {i} not read: {v}" for i, v in enumerate(values, start=1) if isinstance(v, Unreadable)]
        readable = [(i, v) for i, v in enumerate(values, start=1) if isinstance(v, MValue)]
        for (i, a), (j, b) in zip(readable, readable[1:]):
            if not agree_m(a, b):
                notes.append(f"step {i} gives {self.show(a)} but step {j} gives {self.show(b)}")
        return tuple(notes)

    def arithmetic(self, ml: MathLine, members: list) -> ClaimCheck:
        """A chain of formulas and numbers alone: each step must equal the one before."""
        self.last = None
        bound = Bound()
        values = [m if isinstance(m, Unreadable) else self._compute(m, bound) for m in members]
        bad = next((v for v in values if isinstance(v, Unreadable)), None)
        if bad is not None or len(values) < 2:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", str(bad or "nothing to compare"))
        slip = next((i for i in range(1, len(values)) if not agree_m(values[i - 1], values[i])), None)
        first, last = unwrap(values[0].exact), unwrap(values[-1].exact)
        if slip is None:
            return ClaimCheck(ml.line, ml.text, None, last, first, "correct")
        return ClaimCheck(ml.line, ml.text, None, last, first, "wrong", f"an arithmetic slip: "
                          f"{self.show(values[slip - 1])} is not {self.show(values[slip])}")


def batch(d: MatrixDerivation) -> int:
    """N, the batch size, when the worksheet has no name N: the rows of its first given matrix."""
    rows = [d.values[n].rows for n in d.graph.order if d.graph.nodes[n].kind == "given" and d.values[n].shape != (1, 1)]
    return rows[0] if rows else 1
