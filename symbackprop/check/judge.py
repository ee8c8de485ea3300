"""Checking a handwritten derivation line by line against the worksheet's exact derivation.

Each chain ``LHS = e1 = … = value`` is a claim about one quantity. Its value is compared with
the exact one — a written decimal as the rounding it stands for, within the rounding the writer's
earlier values carry (numeric.py, carried.py); a wrong value is ECF when the right formula with the
writer's own earlier values gives it; otherwise the diagnosis search names the likeliest mistake.
The writer's values are remembered as the lines go, so each claim is judged with what the writer
had at that point.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import sympy as sp

from .answer_text import MathLine, math_lines
from .carried import Carried, Chain, Said
from .chainpaths import path_issues, relabel_candidates
from .claims import Names, Quantity, Resolver, UnknownName, quantity_of
from ..engine.protocol import Derivation
from .diagnose import NO_DIAGNOSIS, diagnose
from ..errors import AnswerError
from ..language.equality import same
from ..language.evaluate import symbol
from .latexmath import parse_atom, parse_chain
from .numeric import DIGITS, Value, deviation, enclose, magnitude, short_decimal, shown, widen
from ..sheets.jsonout import gradient_names
from .tokens import Unreadable
from .tosympy import to_sympy
from .tree import Atom, Node, Num

JUDGED = ("correct", "wrong", "ecf")  # the verdicts that score: the others say nothing of the writer
LINE_BOUND = 2.0  # seconds to read and judge one line
MAX_CLAIMS = 2_000  # equation chains in one derivation
L = TypeVar("L")  # the left side of a chain, as a checker reads it


@dataclass(frozen=True)
class ClaimCheck:
    """One claim: where, what was written, the quantity, both values, the verdict and why."""

    line: int
    text: str
    quantity: str | None
    claimed: sp.Expr | sp.ImmutableMatrix | None  # a matrix for a claim in matrix notation
    expected: sp.Expr | sp.ImmutableMatrix | None
    verdict: str
    diagnosis: str = ""
    steps: tuple[str, ...] = ()  # remarks on the intermediate steps
    note: str = ""  # on a right value: rounded, and the exact value


@dataclass(frozen=True)
class CheckReport:
    """Every claim of a derivation, judged, and the counts."""

    worksheet: str
    title: str
    answer: str
    loss: str
    claims: tuple[ClaimCheck, ...]
    asked: tuple[str, ...] = ()  # the quantities the exercise asks, by label
    digits: int = DIGITS  # significant digits of a value shown
    note: str = ""  # how the lines were judged, when a reader must be told (a shapes-only worksheet)

    def count(self, verdict: str) -> int:
        return sum(c.verdict == verdict for c in self.claims)

    @property
    def score(self) -> sp.Rational | None:
        """Right claims (ECF counts as right) over the claims that could be judged."""
        judged = sum(self.count(v) for v in JUDGED)
        return sp.Rational(self.count("correct") + self.count("ecf"), judged) if judged else None

    @property
    def asked_score(self) -> tuple[int, int]:
        """(right, judged) over the asked quantities the writer gave a value for, each judged by its
        last claim (the writer's answer; ECF counts as right)."""
        last = {c.quantity: c.verdict for c in self.claims if c.verdict in JUDGED and c.quantity in self.asked}
        return sum(v != "wrong" for v in last.values()), len(last)

    @property
    def mistaken(self) -> bool:
        return self.count("wrong") + self.count("ecf") > 0


def check_text(d: Derivation, text: str, answer: str = "<answer>", tolerance: sp.Rational = sp.S.Zero) -> CheckReport:
    """Judge every equation chain in ``text`` (Markdown or LaTeX); no math at all is an AnswerError.
    A written decimal stands for its rounding; ``tolerance`` (relative) widens every written
    number to ``value · (1 ± tolerance)`` as well."""
    lines = chains(text, answer)
    walk = _Walk(d, tolerance)
    claims = tuple(walk.judge(ml) for ml in lines)
    return CheckReport(d.worksheet.path, d.worksheet.title, answer, d.loss, claims, asked(d), walk.digits)


def chains(text: str, answer: str) -> tuple[MathLine, ...]:
    """The equation chains of a derivation; none at all, or more than any derivation has, is an AnswerError."""
    lines = math_lines(text)
    if not lines:
        raise AnswerError("no math found: expected $$ … $$, $ … $ or \\[ … \\] blocks, or a LaTeX file "
                          "with equation environments", answer)
    if len(lines) > MAX_CLAIMS:
        raise AnswerError(f"{len(lines)} equation chains: more than {MAX_CLAIMS}, which no handwritten "
                          "derivation has", answer)
    return lines


def asked(d: Derivation) -> tuple[str, ...]:
    """The labels of what the exercise asks: the loss, each asked gradient, each updated value."""
    u = d.worksheet.update
    updates = [Quantity("update", p, step=k) for k in range(1, u.steps + 1) for p in u.params] if u else []
    return tuple(q.label(d.loss) for q in [Quantity("value", d.loss), *(Quantity("grad", n) for n in
                                                                          gradient_names(d)), *updates])


class LineWalk(Generic[L]):
    """What the scalar and the matrix checkers do alike with each line: judge it within LINE_BOUND,
    and read its left side — none after a claim continues that claim's (``= 0.08217`` on the next
    line), none at all makes a line of arithmetic alone. A checker reads a chain into its members
    (``read``), judges a line of arithmetic (``arithmetic``) and a claim about a left side
    (``judge_left``); ``last`` is the left side a line starting with ``=`` continues."""

    last: L | None = None

    def judge(self, ml: MathLine) -> ClaimCheck:
        try:
            with time_limit(LINE_BOUND):
                return self.judge_line(ml)
        except TimeoutError:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable",
                              f"judging this line took longer than {LINE_BOUND:g} s")
        except (RecursionError, MemoryError):
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", "too large or nested too deeply")

    def judge_line(self, ml: MathLine) -> ClaimCheck:
        try:
            members = self.read(ml.text)
        except Unreadable as exc:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", str(exc))
        lhs, rhs = members[0], members[1:]
        continued = isinstance(lhs, Unreadable) and str(lhs) == "empty" and self.last is not None
        if continued:
            lhs = self.last
        if isinstance(lhs, Unreadable):
            if str(lhs) == "empty":
                return self.arithmetic(ml, rhs)
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", f"the left side: {lhs}")
        return self.judge_left(ml, lhs, members, continued)

    def read(self, text: str) -> list[L | Unreadable]:
        raise NotImplementedError

    def arithmetic(self, ml: MathLine, members: list) -> ClaimCheck:
        raise NotImplementedError

    def judge_left(self, ml: MathLine, lhs: L, members: list, continued: bool) -> ClaimCheck:
        """A claim about the quantity ``lhs`` names (or arithmetic, when it is a formula)."""
        raise NotImplementedError


class _Walk(LineWalk[Node]):
    """The state carried from line to line: the writer's values (carried.py), their local names
    (``Q`` for the gate at hand) and the left side that a line starting with ``=`` continues."""

    def __init__(self, d: Derivation, tolerance: sp.Rational) -> None:
        self.names = Names(d)
        self.carried = Carried(self.names, tolerance)
        self.tolerance = tolerance
        self.digits = d.worksheet.decimals or DIGITS
        self.bindings: dict[str, str] = {}
        self.bad_paths: dict[Quantity, tuple[str, int]] = {}
        self.last: Node | None = None
        self.text_aliases = [(w, n) for w, n in d.worksheet.aliases if parse_atom(w) is None]

    @property
    def d(self) -> Derivation:
        return self.names.derivation

    def read(self, text: str) -> list[Node | Unreadable]:
        for written, name in self.text_aliases:
            text = text.replace(written, r"\text{" + name + "}")
        return parse_chain(text, self.names.lexicon)

    def judge_left(self, ml: MathLine, lhs: Node, members: list, continued: bool) -> ClaimCheck:
        rhs = members[1:]
        if isinstance(lhs, Atom) and lhs.key in self.bindings and members[0] is lhs:
            self.bindings.pop(lhs.key)  # "Q = …" again: the writer's Q is now another gate
        try:
            q = quantity_of(lhs, self.names, self.bindings)
        except UnknownName as exc:
            return self._unknown(ml, lhs, rhs, exc)
        except Unreadable as exc:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", f"the left side: {exc}")
        if q is None:
            built = _build(lhs, self._resolver())
            if isinstance(built, UnknownName):
                return self._unknown(ml, lhs, rhs, built)
            return self.arithmetic(ml, members)
        if not self._given(q):  # restating a given number is no step a later '=' continues
            self.last = lhs
        return self._claim(ml, q, rhs, self.carried.said.get(q) if continued else None)

    def _resolver(self) -> Resolver:
        return Resolver(self.names, self.bindings, self.tolerance)

    def _given(self, q: Quantity) -> bool:
        return q.kind == "value" and self.d.graph.nodes[q.name].kind == "given"

    def show(self, value: sp.Expr) -> str:
        return shown(value, self.digits)

    # -- a claim about a quantity ---------------------------------------------------------------
    def _claim(self, ml: MathLine, q: Quantity, rhs: list[Node | Unreadable],
               before: Said | None = None) -> ClaimCheck:
        """Judge a claim about ``q``; ``before`` is the writer's value of the line it continues (the
        chain goes on from it: ``= 0.1385 · 0.5933`` on one line, ``= 0.08217`` on the next)."""
        loss = self.d.loss
        try:
            expected = self.carried.truth(q)
        except Unreadable as exc:
            return ClaimCheck(ml.line, ml.text, q.label(loss), None, None, "unknown", str(exc))
        resolver = self._resolver()
        exprs = [m if isinstance(m, Unreadable) else _build(m, resolver) for m in rhs]
        values = [e if isinstance(e, Unreadable) else self._value(e, resolver) for e in exprs]
        if not values:
            return ClaimCheck(ml.line, ml.text, q.label(loss), None, expected.exact, "unreadable",
                              "no value after '='")
        if isinstance(rhs[-1], Num):  # the value itself is a rounding, whatever number it is
            values[-1] = self.carried.number(rhs[-1])
        steps = self._step_notes(values)
        claimed = values[-1]
        if isinstance(claimed, Unreadable):
            return ClaimCheck(ml.line, ml.text, q.label(loss), None, expected.exact, "unreadable",
                              f"the value cannot be read: {claimed}", steps)
        issues = self._path_issues(q, exprs, resolver)
        readable = ([before.value] if before else []) + [v for v in values if not isinstance(v, Unreadable)]
        verdict, diagnosis, note, relabel = self._verdict(ml, q, readable, expected, issues, rhs, before)
        renamed = self._renamed(q, exprs[-1], resolver) if verdict == "wrong" else ""
        if renamed:  # a better cause than the numbers alone can give
            diagnosis = renamed
        if relabel:
            q, issues = relabel, self._path_issues(relabel, exprs, resolver)
        if verdict == "correct" and issues:
            steps += tuple(f"the chain rule as written: {i}" for i in issues)
        self.carried.remember(q, claimed, ml.line, verdict == "correct")
        return ClaimCheck(ml.line, ml.text, q.label(loss), claimed.exact, self.carried.truth(q).exact, verdict,
                          diagnosis, steps, note)

    def _renamed(self, q: Quantity, written: sp.Expr | Unreadable, resolver: Resolver) -> str:
        """When a node's definition is written with other given names in the same places
        (``C_1 = w_1 B_1 + w_2 B_2`` where the worksheet has w5, w6), say so: notes often name
        each layer's weights w_1, w_2 again, and a student may have taken another unit's weights;
        the numbers cannot tell which. "" when the line is not that."""
        rule = self.d.forward[q.name].rule if q.kind == "value" else None
        if rule is None or isinstance(written, Unreadable):
            return ""
        written = resolver.exact(written)
        graph = self.d.graph
        given = {symbol(n) for n in graph.order if graph.nodes[n].kind == "given"}
        if not written.free_symbols & given:
            return ""
        wilds = {g: sp.Wild(f"_{g.name}", properties=[lambda e, given=given: e in given])
                 for g in sorted(rule.free_symbols & given, key=sp.default_sort_key)}
        match = written.match(rule.xreplace(wilds))
        if not match:
            return ""
        pairs = {g: match.get(w, g) for g, w in wilds.items()}
        if len(set(pairs.values())) != len(pairs) or all(a == b for a, b in pairs.items()):
            return ""
        written_names = ", ".join(str(b) for a, b in pairs.items() if a != b)
        names = ", ".join(str(a) for a, b in pairs.items() if a != b)
        return (f"the form of the definition is right, but with {written_names} where the worksheet has "
                f"{names} (weights named again in each layer, or another unit's weights?)")

    def _path_issues(self, q: Quantity, exprs: list, resolver: Resolver) -> list[str]:
        issues: list[str] = []
        if q.kind == "grad":
            for e in exprs:
                if not isinstance(e, Unreadable):
                    issues += [i for i in path_issues(self.d, q.name, e, resolver.quantities) if i not in issues]
        return issues

    def _verdict(self, ml: MathLine, q: Quantity, steps: list[Value], expected: Value, issues: list[str],
                 rhs: list, before: Said | None) -> tuple[str, str, str, Quantity | None]:
        """The verdict, its reason, a note on a right value, and the quantity the line really
        computes when its label is contradicted by its own chain rule and value."""
        d, c = self.d, self.carried
        chain = c.chain(steps)
        carried, _ = c.reference(q, right_only=True)
        if chain.reaches(expected) or (carried.rounded and chain.reaches(carried)):
            return "correct", "", self._rounded(steps[-1], expected), None
        if q.kind == "grad":
            members = [m for m in rhs if not isinstance(m, Unreadable)]
            for other in relabel_candidates(d, members, self.names, self.bindings):
                if other != q.name and chain.reaches(c.truth(Quantity("grad", other))):
                    return "correct", (f"labelled ∂{d.loss}/∂{q.name}, but its chain rule and value are those of "
                                       f"∂{d.loss}/∂{other}"), "", Quantity("grad", other)
        if issues:
            self.bad_paths[q] = ("; ".join(issues), ml.line)
            return "wrong", "; ".join(issues), "", None
        if q in self.bad_paths:
            cause, line = self.bad_paths[q]
            return "wrong", f"{cause} (the chain rule of line {line})", "", None
        ecf, sources = c.reference(q, right_only=False)
        if sources and chain.reaches(ecf):
            used = ", ".join(f"{s.label(d.loss)} = {self.show(c.said[s].value.exact)} (line {c.said[s].line})"
                             for s in sources)
            return "ecf", f"right with the earlier values {used}", "", None
        if self._given(q):
            return "wrong", (f"the worksheet gives {q.name} = {self.show(expected.exact)} (another naming of the "
                             "numbers?)"), "", None
        cause = diagnose(d, q, self._fits(chain, expected, carried))
        if cause.startswith(NO_DIAGNOSIS):
            targets = [expected, carried] + ([ecf] if sources else []) + ([before.value] if before and before.right
                                                                           else [])
            for i, v in enumerate(steps[:-1]):
                if any(c.agree(v, t) for t in targets):
                    k = next((k for k in range(i + 1, len(steps)) if not c.agree(steps[k - 1], steps[k])), None)
                    if k is not None:
                        return "wrong", (f"an arithmetic slip: a step equals {self.show(v.exact)}, a later one "
                                         f"{self.show(steps[k].exact)}"), "", None
        return "wrong", cause, "", None

    def _rounded(self, claimed: Value, expected: Value) -> str:
        """The note on a right value that is a rounding (its own, or carried from earlier values)."""
        if not claimed.rounded or self.carried.agree(Value(claimed.exact, enclose(claimed.exact)), expected):
            return ""
        return f"rounded; exact {short_decimal(expected.exact, self.digits) or self.show(expected.exact)}"

    def _fits(self, chain: Chain, expected: Value, carried: Value) -> Callable[[sp.Expr], bool]:
        """Whether the writer's steps arrive at a mistake's value, the rounding they carry allowed
        for: the candidate is widened by as much as the rounding moves the right value."""
        rounded = chain.steps[-1].rounded or carried.rounded
        spread = deviation(carried.span, expected.span) if rounded and carried.span is not None and \
            expected.span is not None else 0
        scale = magnitude(expected.span) if spread else 0

        def fits(candidate: sp.Expr) -> bool:
            span = enclose(candidate)
            if span is not None and rounded:
                extra = spread * (1 + magnitude(span) / scale) if scale else spread
                return chain.reaches(Value(candidate, widen(span, extra), True))
            return chain.reaches(Value(candidate, span))
        return fits

    def _value(self, expr: sp.Expr, resolver: Resolver) -> Value | Unreadable:
        """A written expression at the writer's values (their earlier claims, else the exact ones)."""
        try:
            value, _ = self.carried.evaluate(expr, resolver.quantities, resolver.literals)
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            return Unreadable(f"cannot be evaluated ({type(exc).__name__})")
        return value

    def _step_notes(self, values: list) -> tuple[str, ...]:
        """Remarks on the steps between the left side and the value: unreadable ones, and a step
        that is neither equal to the one before nor a rounding of it."""
        notes = [f"step {i} not read: {v}" for i, v in enumerate(values, start=1) if isinstance(v, Unreadable)]
        readable = [(i, v) for i, v in enumerate(values, start=1) if not isinstance(v, Unreadable)]
        for (i, a), (j, b) in zip(readable, readable[1:]):
            if not self.carried.agree(a, b):
                notes.append(f"step {i} gives {self.show(a.exact)} but step {j} gives {self.show(b.exact)}")
        return tuple(notes)

    # -- lines that are not about a worksheet quantity ------------------------------------------
    def _unknown(self, ml: MathLine, lhs: Node, rhs: list, exc: UnknownName) -> ClaimCheck:
        """A left side the worksheet does not know: a local name for the gate at hand (``Q = c + d``
        binds Q when a node is defined so), or a quantity that does not exist here."""
        resolver = self._resolver()
        first = _build(rhs[0], resolver) if rhs and not isinstance(rhs[0], Unreadable) else None
        if isinstance(lhs, Atom) and isinstance(first, sp.Expr) and not resolver.quantities:
            node = self._gate(resolver.exact(first))
            if node is not None:
                self.bindings[lhs.key] = node
                self.last = lhs
                result = self._claim(ml, Quantity("value", node), rhs)
                note = f"{exc.written} stands for {node} here"
                return replace(result, diagnosis="; ".join(filter(None, (note, result.diagnosis))))
        self.last = None
        exprs = [m if isinstance(m, Unreadable) else _build(m, resolver) for m in rhs]
        value = exprs[-1] if exprs else None
        claimed = self._value(value, resolver) if isinstance(value, sp.Expr) else None
        reason = str(exc)
        if isinstance(claimed, Value):
            matches = self._matches(claimed)
            if matches:
                reason += f"; the value {self.show(claimed.exact)} is that of {', '.join(matches)}"
        return ClaimCheck(ml.line, ml.text, None, claimed.exact if isinstance(claimed, Value) else None, None,
                          "unknown", reason)

    def _gate(self, expr: sp.Expr) -> str | None:
        """The node whose rule ``expr`` is (given numbers substituted), if any."""
        given = {symbol(g.name): g.value for g in self.d.worksheet.given if g.value is not None}
        written = expr.xreplace(given)
        for name in self.d.graph.order:
            rule = self.d.forward[name].rule
            if rule is not None and same(written, rule.xreplace(given), self.carried.ground):
                return name
        return None

    def _matches(self, value: Value) -> list[str]:
        d, c = self.d, self.carried
        found = [f"d{d.loss}/d{n}" for n in d.backward_order
                 if n != d.loss and c.agree(value, c.truth(Quantity("grad", n)))]
        found += [n for n in d.graph.order if symbol(n) in c.ground and c.agree(value, c.truth(Quantity("value", n)))]
        return found[:4]

    def arithmetic(self, ml: MathLine, members: list) -> ClaimCheck:
        """A chain of numbers alone (``(2)(4) - 6 = 2``): each step must equal the one before, or
        be a rounding of it."""
        self.last = None
        resolver = self._resolver()
        exprs = [m if isinstance(m, Unreadable) else _build(m, resolver) for m in members]
        values = [e if isinstance(e, Unreadable) else self._value(e, resolver) for e in exprs]
        bad = next((v for v in values if isinstance(v, Unreadable)), None)
        if bad is not None or len(values) < 2:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", str(bad or "nothing to compare"))
        slip = next((i for i in range(1, len(values)) if not self.carried.agree(values[i - 1], values[i])), None)
        if slip is None:
            return ClaimCheck(ml.line, ml.text, None, values[-1].exact, values[0].exact, "correct")
        return ClaimCheck(ml.line, ml.text, None, values[-1].exact, values[0].exact, "wrong",
                          f"an arithmetic slip: {self.show(values[slip - 1].exact)} is not "
                          f"{self.show(values[slip].exact)}")


def _build(node: Node, resolver: Resolver) -> sp.Expr | Unreadable:
    try:
        return to_sympy(node, resolver)
    except Unreadable as exc:
        return exc


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the main thread after ``seconds`` (SymPy work cannot be interrupted
    otherwise), then give back an enclosing timer; elsewhere (a worker thread) no limit is set."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    start = time.monotonic()
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # an enclosing timer (a test runner's) keeps running
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 0.001))
