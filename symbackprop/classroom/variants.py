"""Drawing a class's variants of a worksheet: each variant's numbers from its own seeded stream,
kept when they meet every ``require:`` condition and differ from the variants before it.

Variant ``key`` (its id: "1", "2", … or a student id) draws from ``random.Random`` seeded with
SHA-256 of (seed, key), never Python's ``hash``: the same key and seed give the same stream on
any machine, so a variant does not depend on how many others are drawn, nor on a roster's other
students, except that a variant whose numbers repeat an earlier one's takes its stream's next
candidate. Variant 0 is the worksheet as written. The symbolic work (``derive.prepare``) is done
once; each draw only substitutes numbers (in matrices, each draw is derived again: the matrix
engine has no symbolic part). Several processes (forked, on Linux) share the work.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import random
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar
from collections.abc import Callable, Sequence

import sympy as sp

from .conditions import environment, holds
from ..engine.derive import Prepared, derive, prepare
from ..engine.protocol import Derivation
from ..errors import EvaluationError, SymbackpropError, WorksheetError
from ..matrix.derive import MatrixDerivation, derive_matrices
from ..worksheet.random_spec import space_size
from ..engine.update import with_updates
from ..worksheet.read import Worksheet
from ..worksheet.yamlread import decimal_written

MAX_DRAWS = 1000  # candidates of one variant's stream before giving up
PARALLEL_MIN = 40  # fewer variants than this are drawn in one process
UNDEFINED = "undefined"  # a rejection: the numbers make a value undefined
REPEAT = "repeat"  # a rejection: the numbers of an earlier variant

T = TypeVar("T")
Values = tuple[sp.Expr, ...]


@dataclass(frozen=True)
class Plan:
    """A worksheet with its symbolic work done (in matrices: derived as written, which checks every
    shape and gives the graph and what it asks), and the seed of a class."""

    worksheet: Worksheet
    prepared: Prepared | MatrixDerivation
    seed: int

    @property
    def written(self) -> Values:
        """The numbers of variant 0, the worksheet as written."""
        given = {g.name: g.value for g in self.worksheet.given}
        return tuple(d.current(given[d.name]) for d in self.worksheet.random)

    def derive(self, ws: Worksheet) -> Derivation:
        """A variant's derivation: the prepared symbolic work at its numbers, or in matrices the
        derivation again."""
        if self.worksheet.has_matrices:
            return self.prepared.again(ws)
        return derive(ws, self.prepared)


def plan(ws: Worksheet, seed: int) -> Plan:
    """Check that the worksheet draws something and do its symbolic work once."""
    if not ws.random:
        raise WorksheetError("no random: block, so every variant would be the same; give distributions "
                             "for some given names, e.g. random: {w1: {integers: [-3, 3]}}", ws.path)
    return Plan(ws, derive_matrices(ws) if ws.has_matrices else prepare(ws), seed)


@dataclass(frozen=True)
class Variant:
    """One variant: its numbers (in the order of ``random:``), its worksheet (numbers drawn, title
    marked) and derivation."""

    key: str
    values: Values
    worksheet: Worksheet
    derivation: Derivation


@dataclass
class Tally:
    """Draws made and why each rejected draw was rejected (a constraint's index, UNDEFINED, REPEAT)."""

    draws: int = 0
    rejected: Counter = field(default_factory=Counter)
    example: str = ""  # the first undefined value met, for the message

    def add(self, other: Tally) -> None:
        self.draws += other.draws
        self.rejected.update(other.rejected)
        self.example = self.example or other.example


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a process sends back for one variant: its numbers (None: no draw met the conditions),
    its tally and the job's result; ``error`` (message, file, line) for a mistake found on the way."""

    key: str
    values: Values | None
    tally: Tally
    result: T | None
    error: tuple[str, str | None, int | None] | None = None


def stream(seed: int, key: str) -> random.Random:
    """The random stream of one variant: SHA-256 of the seed and the key."""
    digest = hashlib.sha256(f"symbackprop variant\0{seed}\0{key}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def title(ws: Worksheet, key: str, seed: int) -> str:
    """The title of a variant's sheets: the worksheet's, with the variant's id and seed."""
    return f"{ws.title} — variant {key} (seed {seed})"


def variant_worksheet(p: Plan, key: str, values: Values) -> Worksheet:
    """The worksheet with the drawn numbers in place of the given ones (``dataclasses.replace``),
    each written as its distribution writes it (a drawn decimal shows as a decimal), as the
    variant's own worksheet file gives it; a matrix gets its drawn entries."""
    drawn = {d.name: (v, decimal_written(d.scalar(v))) for d, v in zip(p.worksheet.random, values) if d.entry is None}
    entries: dict[str, dict[tuple[int, int], sp.Expr]] = {}
    for d, v in zip(p.worksheet.random, values):
        if d.entry is not None:
            entries.setdefault(d.name, {})[d.entry] = v
    for name, new in entries.items():
        m = next(g.value for g in p.worksheet.given if g.name == name)
        drawn[name] = (sp.ImmutableMatrix(m.rows, m.cols, lambda i, j: new.get((i, j), m[i, j])), None)
    given = tuple(replace(g, value=drawn[g.name][0], written=drawn[g.name][1]) if g.name in drawn else g
                  for g in p.worksheet.given)
    return replace(p.worksheet, given=given, title=title(p.worksheet, key, p.seed))


def attempt(p: Plan, key: str, values: Values, tally: Tally) -> Variant | None:
    """The variant at these numbers if they meet every condition; otherwise count why not."""
    ws = variant_worksheet(p, key, values)
    tally.draws += 1
    try:
        d = with_updates(p.derive(ws))  # a class's sheets show the update: steps too
    except EvaluationError as exc:
        tally.rejected[UNDEFINED] += 1
        tally.example = tally.example or exc.message + (f" (line {exc.line})" if exc.line else "")
        return None
    env = environment(d)
    failed = [i for i, c in enumerate(ws.require) if not holds(c, d, env)]
    tally.rejected.update(failed)
    return None if failed else Variant(key, values, ws, d)


def search(p: Plan, key: str, taken: frozenset[Values] = frozenset()) -> tuple[Variant | None, bool, Tally]:
    """The first candidate of the key's stream that meets the conditions and is not ``taken``; if
    none within MAX_DRAWS, the first that meets them (``True``: it repeats), or None."""
    rng, tally, fallback = stream(p.seed, key), Tally(), None
    for _ in range(MAX_DRAWS):
        values = tuple(d.values[rng.randrange(len(d.values))] for d in p.worksheet.random)
        found = attempt(p, key, values, tally)
        if found is None:
            continue
        if values not in taken:
            return found, False, tally
        tally.rejected[REPEAT] += 1
        fallback = fallback or found
    return fallback, fallback is not None, tally


def impossible(p: Plan, tally: Tally) -> SymbackpropError:
    """The error when no draw met the conditions: the one that rejected most draws, with its line."""
    ws = p.worksheet
    reason, count = max(tally.rejected.items(), key=lambda kv: (kv[1], -_rank(kv[0])))
    share = f"{count} of {tally.draws} draws"
    if reason == UNDEFINED:
        return WorksheetError(f"random: none of {tally.draws} draws gave numbers at which every value is "
                              f"defined ({share} undefined, e.g. {tally.example})", ws.path, ws.random[0].line)
    c = ws.require[reason]
    return WorksheetError(f"require: none of {tally.draws} draws met every condition; '{c.text}' rejected "
                          f"most ({share})", ws.path, c.line)


def _rank(reason: object) -> int:
    return reason if isinstance(reason, int) else -1


# -- running a job on every variant, in one process or several ------------------------------------
_JOB: tuple[Plan, Callable[[Variant], object]] | None = None


def _install(p: Plan, job: Callable[[Variant], object]) -> None:
    global _JOB
    _JOB = (p, job)


def _outcome(key: str) -> Outcome:
    """Draw one variant (ignoring the others) and run the job on it, in a worker or here."""
    p, job = _JOB
    try:
        found, _, tally = search(p, key)
        return Outcome(key, found.values, tally, job(found)) if found else Outcome(key, None, tally, None)
    except SymbackpropError as exc:
        return Outcome(key, None, Tally(), None, (exc.message, exc.file, exc.line))


def _outcomes(keys: Sequence[str]) -> list[Outcome]:
    return [_outcome(k) for k in keys]


@dataclass
class Run(Generic[T]):
    """The variants of a class in order: each key with its numbers, whether they repeat an
    earlier variant's, and the job's result; the keys no draw could serve; the tally of every draw."""

    keys: list[str]
    values: list[Values]
    repeats: list[bool]
    results: list[T]
    missing: list[str]
    tally: Tally


def run(p: Plan, keys: Sequence[str], job: Callable[[Variant], T], jobs: int = 0,
        progress: Callable[[int], None] | None = None, missing_ok: bool = False) -> Run[T]:
    """Draw the variant of each key and run ``job`` on it (a module-level function: it may run in
    another process). ``jobs``: processes (0: one per core when there are PARALLEL_MIN keys or
    more). A key whose draws all fail the conditions is an error naming the condition that
    rejected most, or with ``missing_ok`` is listed in ``missing``. The result is the same with
    any number of processes."""
    _install(p, job)
    workers = _workers(jobs, len(keys))
    outcomes: list[Outcome] = []
    for key in keys if workers == 1 else keys[:1]:  # the first here: its caches are then every worker's
        outcomes.append(_outcome(key))
        if progress:
            progress(1)
    if workers > 1:
        outcomes += _parallel(keys[1:], workers, progress)
    out: Run[T] = Run([], [], [], [], [], Tally())
    taken = {p.written}
    for o in outcomes:
        if o.error:
            raise WorksheetError(*o.error)
        out.tally.add(o.tally)
        if o.values is None:
            if not missing_ok:
                raise impossible(p, o.tally)
            out.missing.append(o.key)
            continue
        values, result, repeat = o.values, o.result, False
        if values in taken:  # the same numbers as an earlier variant: search the stream again
            found, repeat, tally = search(p, o.key, frozenset(taken))
            values, result = found.values, job(found)
            out.tally.add(tally)
        taken.add(values)
        out.keys.append(o.key)
        out.values.append(values)
        out.repeats.append(repeat)
        out.results.append(result)
    return out


def _workers(jobs: int, n: int) -> int:
    if "fork" not in multiprocessing.get_all_start_methods() or sys.platform != "linux":
        return 1
    if jobs:
        return max(1, min(jobs, n))
    return multiprocessing.cpu_count() if n >= PARALLEL_MIN else 1


def _parallel(keys: Sequence[str], workers: int, progress: Callable[[int], None] | None) -> list[Outcome]:
    size = max(1, min(25, len(keys) // (workers * 4)))
    chunks = [list(keys[i:i + size]) for i in range(0, len(keys), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_install, initargs=_JOB) as pool:
        futures = [pool.submit(_outcomes, chunk) for chunk in chunks]
        results = []
        for future in futures:
            chunk = future.result()
            results.extend(chunk)
            if progress:
                progress(len(chunk))
    return results


def warnings(p: Plan, r: Run) -> list[str]:
    """The warning when some variants had to repeat an earlier one's numbers (too few to draw from)."""
    repeats = sum(r.repeats)
    if not repeats:
        return []
    before = ", before require:," if p.worksheet.require else ""
    return [f"{repeats} of {len(r.keys)} variants repeat the numbers of an earlier one or of the worksheet as "
            f"written: no new numbers met the conditions in {MAX_DRAWS} draws (random: allows{before} "
            f"{space_size(p.worksheet.random)} sets of numbers)"]
