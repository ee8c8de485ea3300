"""Checking a handwritten derivation line by line against the worksheet's exact derivation.

Each chain ``LHS = e1 = … = value`` is a claim about one quantity. Its value is compared with
the exact one; a wrong value is ECF when the right formula with the writer's own earlier values
gives it; otherwise the diagnosis search names the likeliest mistake. The writer's values are
remembered as the lines go, so each claim is judged with what the writer had at that point.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from collections.abc import Callable, Iterator

import sympy as sp

from .answer_text import MathLine, math_lines
from .chainpaths import path_issues, relabel_candidates
from .claims import Names, Quantity, Resolver, UnknownName, path_children, quantity_of, truth
from ..engine.derive import Derivation
from .diagnose import NO_DIAGNOSIS, diagnose
from ..errors import AnswerError
from ..language.evaluate import symbol
from .latexmath import Atom, Node, parse_atom, parse_chain
from .tokens import Unreadable
from .tosympy import to_sympy
from ..language.equality import same as same_value

LINE_BOUND = 2.0  # seconds to read and judge one line
MAX_CLAIMS = 2_000  # equation chains in one derivation


@dataclass(frozen=True)
class ClaimCheck:
    """One claim: where, what was written, the quantity, both values, the verdict and why."""

    line: int
    text: str
    quantity: str | None
    claimed: sp.Expr | None
    expected: sp.Expr | None
    verdict: str
    diagnosis: str = ""
    steps: tuple[str, ...] = ()  # remarks on the intermediate steps


@dataclass(frozen=True)
class CheckReport:
    """Every claim of a derivation, judged, and the counts."""

    worksheet: str
    title: str
    answer: str
    loss: str
    claims: tuple[ClaimCheck, ...]

    def count(self, verdict: str) -> int:
        return sum(c.verdict == verdict for c in self.claims)

    @property
    def score(self) -> sp.Rational | None:
        """Right claims (ECF counts as right) over the claims that could be judged."""
        judged = self.count("correct") + self.count("wrong") + self.count("ecf")
        return sp.Rational(self.count("correct") + self.count("ecf"), judged) if judged else None

    @property
    def mistaken(self) -> bool:
        return self.count("wrong") + self.count("ecf") > 0


def check_text(d: Derivation, text: str, answer: str = "<answer>") -> CheckReport:
    """Judge every equation chain in ``text`` (Markdown or LaTeX); no math at all is an AnswerError."""
    lines = math_lines(text)
    if not lines:
        raise AnswerError("no math found: expected $$ … $$, $ … $ or \\[ … \\] blocks, or a LaTeX file "
                          "with equation environments", answer)
    if len(lines) > MAX_CLAIMS:
        raise AnswerError(f"{len(lines)} equation chains: more than {MAX_CLAIMS}, which no handwritten "
                          "derivation has", answer)
    walk = _Walk(d)
    claims = tuple(walk.judge(ml) for ml in lines)
    return CheckReport(d.worksheet.path, d.worksheet.title, answer, d.loss, claims)


class _Walk:
    """The state carried from line to line: the writer's values, their local names (``Q`` for
    the gate at hand) and the left side that a line starting with ``=`` continues."""

    def __init__(self, d: Derivation) -> None:
        self.d = d
        self.names = Names(d)
        self.bindings: dict[str, str] = {}
        self.writer: dict[Quantity, tuple[sp.Expr, int]] = {}
        self.bad_paths: dict[Quantity, tuple[str, int]] = {}
        self.last: Node | None = None
        self.text_aliases = [(w, n) for w, n in d.worksheet.aliases if parse_atom(w) is None]
        self.base = {symbol(n): f.value for n, f in d.forward.items() if d.graph.nodes[n].kind in ("given", "node")}

    def judge(self, ml: MathLine) -> ClaimCheck:
        try:
            with _time_limit(LINE_BOUND):
                return self._judge(ml)
        except TimeoutError:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable",
                              f"judging this line took longer than {LINE_BOUND:g} s")
        except (RecursionError, MemoryError):
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", "too large or nested too deeply")

    def _judge(self, ml: MathLine) -> ClaimCheck:
        text = ml.text
        for written, name in self.text_aliases:
            text = text.replace(written, r"\text{" + name + "}")
        try:
            members = parse_chain(text)
        except Unreadable as exc:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", str(exc))
        lhs, rhs = members[0], members[1:]
        if isinstance(lhs, Unreadable) and str(lhs) == "empty" and self.last is not None:
            lhs = self.last
        if isinstance(lhs, Unreadable):
            if str(lhs) == "empty":
                return self._arithmetic(ml, rhs)
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", f"the left side: {lhs}")
        if isinstance(lhs, Atom) and lhs.key in self.bindings and members[0] is lhs:
            self.bindings.pop(lhs.key)  # "Q = …" again: the writer's Q is now another gate
        try:
            q = quantity_of(lhs, self.names, self.bindings)
        except UnknownName as exc:
            return self._unknown(ml, lhs, rhs, exc)
        if q is None:
            built = _build(lhs, Resolver(self.names, self.bindings))
            if isinstance(built, UnknownName):
                return self._unknown(ml, lhs, rhs, built)
            return self._arithmetic(ml, members)
        if not self._given(q):  # restating a given number is no step a later '=' continues
            self.last = lhs
        return self._claim(ml, q, rhs)

    def same(self, a: sp.Expr, b: sp.Expr) -> bool:
        return same_value(a, b, self.base)

    def _given(self, q: Quantity) -> bool:
        return q.kind == "value" and self.d.graph.nodes[q.name].kind == "given"

    # -- a claim about a quantity ---------------------------------------------------------------
    def _claim(self, ml: MathLine, q: Quantity, rhs: list[Node | Unreadable]) -> ClaimCheck:
        d, loss = self.d, self.d.loss
        try:
            expected = truth(d, q)
        except Unreadable as exc:
            return ClaimCheck(ml.line, ml.text, q.label(loss), None, None, "unknown", str(exc))
        resolver = Resolver(self.names, self.bindings)
        exprs = [m if isinstance(m, Unreadable) else _build(m, resolver) for m in rhs]
        values = [e if isinstance(e, Unreadable) else self._value(e, resolver) for e in exprs]
        if not values:
            return ClaimCheck(ml.line, ml.text, q.label(loss), None, expected, "unreadable", "no value after '='")
        steps = _step_notes(values, self.same)
        claimed = values[-1]
        if isinstance(claimed, Unreadable):
            return ClaimCheck(ml.line, ml.text, q.label(loss), None, expected, "unreadable",
                              f"the value cannot be read: {claimed}", steps)
        issues = self._path_issues(q, exprs, resolver)
        verdict, diagnosis, relabel = self._verdict(ml, q, claimed, expected, values, issues, rhs)
        renamed = self._renamed(q, exprs[-1]) if verdict == "wrong" else ""
        if renamed:  # a better cause than the numbers alone can give
            diagnosis = renamed
        if relabel:
            q, issues = relabel, self._path_issues(relabel, exprs, resolver)
        if verdict == "correct" and issues:
            steps += tuple(f"the chain rule as written: {i}" for i in issues)
        if not self._given(q):  # the exercise's numbers stay the exercise's
            self.writer[q] = (claimed, ml.line)
        label = q.label(loss)
        return ClaimCheck(ml.line, ml.text, label, claimed, truth(d, q), verdict, diagnosis, steps)

    def _renamed(self, q: Quantity, written: sp.Expr | Unreadable) -> str:
        """When a node's definition is written with other given names in the same places
        (``C_1 = w_1 B_1 + w_2 B_2`` where the worksheet has w5, w6), say so: notes often name
        each layer's weights w_1, w_2 again, and a student may have taken another unit's weights;
        the numbers cannot tell which. "" when the line is not that."""
        rule = self.d.forward[q.name].rule if q.kind == "value" else None
        if rule is None or isinstance(written, Unreadable):
            return ""
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

    def _verdict(self, ml: MathLine, q: Quantity, claimed: sp.Expr, expected: sp.Expr, values: list,
                 issues: list[str], rhs: list) -> tuple[str, str, Quantity | None]:
        """The verdict, its reason, and the quantity the line really computes when its label
        is contradicted by its own chain rule and value."""
        d = self.d
        if self.same(claimed, expected):
            return "correct", "", None
        if q.kind == "grad":
            members = [m for m in rhs if not isinstance(m, Unreadable)]
            for other in relabel_candidates(d, members, self.names, self.bindings):
                if other != q.name and self.same(claimed, d.gradient(other)):
                    return "correct", (f"labelled ∂{d.loss}/∂{q.name}, but its chain rule and value are those of "
                                       f"∂{d.loss}/∂{other}"), Quantity("grad", other)
        if issues:
            self.bad_paths[q] = ("; ".join(issues), ml.line)
            return "wrong", "; ".join(issues), None
        if q in self.bad_paths:
            cause, line = self.bad_paths[q]
            return "wrong", f"{cause} (the chain rule of line {line})", None
        ecf_value, sources = self._ecf(q)
        if sources and self.same(claimed, ecf_value):
            used = ", ".join(f"{s.label(d.loss)} = {self.writer[s][0]} (line {self.writer[s][1]})" for s in sources)
            return "ecf", f"right with the earlier values {used}", None
        if self._given(q):
            return "wrong", f"the worksheet gives {q.name} = {expected} (another naming of the numbers?)", None
        cause = diagnose(d, q, claimed, self.base)
        readable = [v for v in values if not isinstance(v, Unreadable)]
        for i, v in enumerate(readable[:-1]):
            if cause.startswith(NO_DIAGNOSIS) and (self.same(v, expected) or (sources and self.same(v, ecf_value))):
                slip = next(w for w in readable[i + 1:] if not self.same(w, v))
                return "wrong", f"an arithmetic slip: a step equals {v}, a later one {slip}", None
        return "wrong", cause, None

    def _ecf(self, q: Quantity) -> tuple[sp.Expr, list[Quantity]]:
        """The right formula for ``q`` with the writer's own earlier values, and which of those
        values differ from the exact ones (the error carried forward)."""
        d = self.d
        sources: list[Quantity] = []

        def w(x: Quantity) -> sp.Expr:
            exact = truth(d, x)
            if x != q and x in self.writer and not self.same(self.writer[x][0], exact):
                sources.append(x)
                return self.writer[x][0]
            return exact

        if q.kind == "grad":
            value = sp.Add(*(w(Quantity("grad", c)) * w(Quantity("local", q.name, c) if c != d.loss
                                                         else Quantity("grad", q.name))
                             for c in path_children(d, q.name)))
        else:
            node = q.name if q.kind == "value" else q.of
            rule = d.forward[node].rule if q.kind == "value" else next(
                t.local for t in d.adjoints[q.name].terms if t.child == q.of)
            if rule is None:
                return truth(d, q), []
            parents = d.graph.nodes[node].parents
            value = rule.xreplace({symbol(p): w(Quantity("value", p)) for p in parents
                                   if d.graph.nodes[p].kind in ("given", "node")}).xreplace(self.base)
        return value, list(dict.fromkeys(sources))

    def _value(self, expr: sp.Expr, resolver: Resolver) -> sp.Expr | Unreadable:
        """A written expression at the writer's values (their earlier claims, else the exact ones)."""
        env = dict(self.base)
        for n, (v, _) in self.writer.items():
            if n.kind == "value":
                env[symbol(n.name)] = v
        for s, x in resolver.quantities.items():
            env[s] = self.writer[x][0] if x in self.writer else truth(self.d, x)
        try:
            return expr.xreplace(env)
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            return Unreadable(f"cannot be evaluated ({type(exc).__name__})")

    # -- lines that are not about a worksheet quantity ------------------------------------------
    def _unknown(self, ml: MathLine, lhs: Node, rhs: list, exc: UnknownName) -> ClaimCheck:
        """A left side the worksheet does not know: a local name for the gate at hand (``Q = c + d``
        binds Q when a node is defined so), or a quantity that does not exist here."""
        resolver = Resolver(self.names, self.bindings)
        first = _build(rhs[0], resolver) if rhs and not isinstance(rhs[0], Unreadable) else None
        if isinstance(lhs, Atom) and isinstance(first, sp.Expr) and not resolver.quantities:
            node = self._gate(first)
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
        if isinstance(claimed, sp.Expr):
            matches = self._matches(claimed)
            if matches:
                reason += f"; the value {claimed} is that of {', '.join(matches)}"
        else:
            claimed = None
        return ClaimCheck(ml.line, ml.text, None, claimed, None, "unknown", reason)

    def _gate(self, expr: sp.Expr) -> str | None:
        """The node whose rule ``expr`` is (given numbers substituted), if any."""
        given = {symbol(g.name): g.value for g in self.d.worksheet.given if g.value is not None}
        written = expr.xreplace(given)
        for name in self.d.graph.order:
            rule = self.d.forward[name].rule
            if rule is not None and self.same(written, rule.xreplace(given)):
                return name
        return None

    def _matches(self, value: sp.Expr) -> list[str]:
        d = self.d
        found = [f"d{d.loss}/d{n}" for n in d.backward_order if n != d.loss and self.same(value, d.gradient(n))]
        found += [n for n in d.graph.order if n in self.base and self.same(value, self.base[symbol(n)])]
        return found[:4]

    def _arithmetic(self, ml: MathLine, members: list) -> ClaimCheck:
        """A chain of numbers alone (``(2)(4) - 6 = 2``): each step must equal the one before."""
        self.last = None
        resolver = Resolver(self.names, self.bindings)
        exprs = [m if isinstance(m, Unreadable) else _build(m, resolver) for m in members]
        values = [e if isinstance(e, Unreadable) else self._value(e, resolver) for e in exprs]
        bad = next((v for v in values if isinstance(v, Unreadable)), None)
        if bad is not None or len(values) < 2:
            return ClaimCheck(ml.line, ml.text, None, None, None, "unreadable", str(bad or "nothing to compare"))
        slip = next((i for i in range(1, len(values)) if not self.same(values[i - 1], values[i])), None)
        if slip is None:
            return ClaimCheck(ml.line, ml.text, None, values[-1], values[0], "correct")
        return ClaimCheck(ml.line, ml.text, None, values[-1], values[0], "wrong",
                          f"an arithmetic slip: {values[slip - 1]} is not {values[slip]}")


def _build(node: Node, resolver: Resolver) -> sp.Expr | Unreadable:
    try:
        return to_sympy(node, resolver)
    except Unreadable as exc:
        return exc


def _step_notes(values: list, same: Callable[[sp.Expr, sp.Expr], bool]) -> tuple[str, ...]:
    """Remarks on the steps between the left side and the value: unreadable ones, and a step
    that does not equal the one before it."""
    notes = []
    for i, v in enumerate(values, start=1):
        if isinstance(v, Unreadable):
            notes.append(f"step {i} not read: {v}")
    readable = [(i, v) for i, v in enumerate(values, start=1) if not isinstance(v, Unreadable)]
    for (i, a), (j, b) in zip(readable, readable[1:]):
        if not same(a, b):
            notes.append(f"step {i} gives {a} but step {j} gives {b}")
    return tuple(notes)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
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
