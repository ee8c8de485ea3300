"""The ``random:`` block of a worksheet: for some given names, the finite set of exact numbers a
variant draws from (integers, a choice list, fractions, decimals), read with its lines.

Under a matrix's name the distribution draws every entry; ``W1[1,2]`` (1-based, as ``--expand``
writes it) overrides one entry. A draw is one number: a matrix gives a draw per entry, in a fixed
order (each name in the order of ``random:``, a matrix row by row, then the overridden entries).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from math import ceil, floor, prod
from typing import Protocol

import sympy as sp

from ..errors import WorksheetError
from .yamlread import Map, Scalar, Seq, YNode

KINDS = ("integers", "choice", "fractions", "decimals")
OPTIONS = {"integers": ("exclude",), "choice": (), "fractions": ("denominators", "exclude"),
           "decimals": ("digits", "exclude")}
DEFAULT_DENOMINATORS = (2, 3, 4)
DEFAULT_DIGITS = 1
MAX_DIGITS = 6
MAX_VALUES = 100_000  # values of one distribution
ENTRY = re.compile(r"^\s*(\w+)\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]\s*$")  # W1[1,2], an entry of a matrix


class Reader(Protocol):
    """What the worksheet reader lends: its errors (with the file) and its exact numbers."""

    def fail(self, message: str, line: int | None) -> WorksheetError: ...

    def number(self, node: YNode, where: str) -> sp.Expr | None: ...


@dataclass(frozen=True)
class Draw:
    """A given name, or one ``entry`` (row, column from 0) of a given matrix, drawn uniformly from
    ``values`` (exact, in a fixed order); ``text`` says how, ``kind`` from which distribution; a
    choice keeps its numbers as written."""

    name: str
    values: tuple[sp.Expr, ...]
    text: str
    line: int
    kind: str = "choice"
    written: tuple[Scalar, ...] = ()  # a choice's numbers as the worksheet writes them
    entry: tuple[int, int] | None = None  # the entry of a matrix drawn (None: a number)

    def current(self, value: sp.Expr | sp.MatrixBase) -> sp.Expr:
        """What the given ``value`` (the name's) holds at the drawn place: itself, or the entry."""
        return value if self.entry is None else value[self.entry]

    def scalar(self, value: sp.Expr) -> Scalar:
        """A drawn number as ``given:`` writes it, so that a variant's worksheet shows its numbers as
        its distribution writes them: a choice's as written, a drawn decimal as a decimal (1.0 for
        a whole one), a fraction as p/q, an integer as itself."""
        if self.written:
            return self.written[self.values.index(value)]
        if self.kind == "decimals":
            return Scalar(decimal_text(value), "float", self.line)
        return Scalar(sp.sstr(value), "int" if value.is_Integer else "str", self.line)


def decimal_text(value: sp.Rational) -> str:
    """A rational whose denominator divides a power of 10 as a decimal: -3/4 is -0.75, 2 is 2.0."""
    p, q = int(value.p), int(value.q)
    places = next(k for k in range(MAX_DIGITS + 1) if 10 ** k % q == 0)
    digits = str(abs(p) * 10 ** places // q).rjust(places + 1, "0")
    whole, fraction = (digits[:-places], digits[-places:]) if places else (digits, "0")
    return "-" * (p < 0) + whole + "." + fraction


def space_size(draws: tuple[Draw, ...]) -> int:
    """How many different sets of numbers the draws allow."""
    return prod(len(d.values) for d in draws)


def read_random(node: YNode | None, reader: Reader,
                numbers: dict[str, sp.Expr | sp.MatrixBase | None]) -> tuple[Draw, ...]:
    """Read ``random:``; ``numbers`` maps each given name to its value (None: symbolic)."""
    if node is None or isinstance(node, Scalar) and node.kind == "null":
        return ()
    if not isinstance(node, Map):
        raise reader.fail("random: expected a mapping of given name: distribution", node.line)
    whole, overrides = [], []
    for key, line, spec in node.entries:
        found = ENTRY.match(key)
        if "[" in key and not found:
            raise reader.fail(f"random: '{key}': an entry of a matrix is NAME[row,column], counted from 1 "
                              "(W1[1,2])", line)
        name = found.group(1) if found else key
        if name not in numbers:
            raise reader.fail(f"random: '{name}' is not a given name (only given numbers are drawn)", line)
        value = numbers[name]
        if value is None:
            raise reader.fail(f"random: '{name}' has no value under given: (a symbolic name is not drawn)", line)
        draw = _read_draw(name, line, spec, reader, key.strip())
        if found:
            overrides.append(replace(draw, entry=_entry(found, value, key.strip(), line, reader)))
        else:
            whole.append(draw)
    taken: dict[tuple[str, tuple[int, int]], int] = {}
    for d in overrides:
        if (d.name, d.entry) in taken:
            raise reader.fail(f"random: entry {entry_text(d.name, d.entry)} is drawn twice (first on line "
                              f"{taken[d.name, d.entry]})", d.line)
        taken[d.name, d.entry] = d.line
    out = []
    for d in whole:
        value = numbers[d.name]
        if not isinstance(value, sp.MatrixBase):
            out.append(d)
            continue
        out += [replace(d, entry=(i, j)) for i in range(value.rows) for j in range(value.cols)
                if (d.name, (i, j)) not in taken]
    return tuple(out + overrides)


def entry_text(name: str, entry: tuple[int, int]) -> str:
    """An entry as the worksheet writes it, 1-based: ``W1[1,2]``."""
    return f"{name}[{entry[0] + 1},{entry[1] + 1}]"


def _entry(found: re.Match, value: sp.Expr | sp.MatrixBase, key: str, line: int, reader: Reader) -> tuple[int, int]:
    """The entry (from 0) that ``NAME[i,j]`` overrides: the name must be a matrix, i and j within it."""
    name, i, j = found.group(1), int(found.group(2)), int(found.group(3))
    if not isinstance(value, sp.MatrixBase):
        raise reader.fail(f"random: '{key}': {name} is a number, not a matrix (only a matrix's entry is drawn "
                          f"alone; draw {name} with random: {name}: …)", line)
    if not (1 <= i <= value.rows and 1 <= j <= value.cols):
        raise reader.fail(f"random: '{key}' is outside {name}, which is {value.rows}×{value.cols} (its entries "
                          f"run from {name}[1,1] to {name}[{value.rows},{value.cols}], counted from 1)", line)
    return i - 1, j - 1


def _read_draw(name: str, line: int, spec: YNode, reader: Reader, key: str) -> Draw:
    where = f"random {key}"
    if not isinstance(spec, Map):
        raise reader.fail(f"{where}: expected a distribution such as {{integers: [-3, 3]}} "
                          f"(one of {', '.join(KINDS)})", spec.line)
    kinds = [k for k, _, _ in spec.entries if k in KINDS]
    if len(kinds) != 1:
        raise reader.fail(f"{where}: expected exactly one of {', '.join(KINDS)}", spec.line)
    kind = kinds[0]
    for key, key_line, _ in spec.entries:
        if key != kind and key not in OPTIONS[kind]:
            known = ", ".join((kind,) + OPTIONS[kind])
            raise reader.fail(f"{where}: unknown key '{key}' for {kind} (known: {known})", key_line)
    where = f"{where} {kind}"
    main = spec.get(kind)
    if kind == "choice":
        values = _numbers(main, reader, where, at_least=1)
        for i, v in enumerate(values):
            if v in values[:i]:
                raise reader.fail(f"{where}: {sp.sstr(v)} is listed twice", main.line)
        return Draw(name, tuple(values), "one of " + ", ".join(sp.sstr(v) for v in values), line, kind, main.items)
    low, high = _range(main, reader, where)
    if kind == "integers":
        if low.denominator != 1 or high.denominator != 1:
            raise reader.fail(f"{where}: the bounds must be whole numbers", main.line)
        denominators = (1,)
        text = f"integers from {low} to {high}"
    elif kind == "fractions":
        denominators = _denominators(spec.get("denominators"), reader, where)
        text = f"fractions from {low} to {high} with denominators {', '.join(map(str, denominators))}"
    else:
        digits = _digits(spec.get("digits"), reader, where)
        denominators = tuple(q for q in range(1, 10 ** digits + 1) if 10 ** digits % q == 0)
        text = f"decimals from {low} to {high} with {digits} digit{'s' if digits > 1 else ''}"
    values = _grid(low, high, denominators, reader, where, main.line)
    excluded = _exclude(spec.get("exclude"), values, reader, where)
    values = [v for v in values if v not in excluded]
    if not values:
        raise reader.fail(f"{where}: no value is left to draw", spec.line)
    if excluded:
        text += " except " + ", ".join(sp.sstr(v) for v in excluded)
    return Draw(name, tuple(values), text, line, kind)


def _numbers(node: YNode | None, reader: Reader, where: str, at_least: int) -> list[sp.Expr]:
    if not isinstance(node, Seq) or len(node.items) < at_least:
        raise reader.fail(f"{where}: expected a list of numbers", getattr(node, "line", None))
    out = []
    for item in node.items:
        value = reader.number(item, where)
        if value is None:
            raise reader.fail(f"{where}: expected a number, not an empty value", item.line)
        out.append(value)
    return out


def _range(node: YNode | None, reader: Reader, where: str) -> tuple[Fraction, Fraction]:
    bounds = _numbers(node, reader, where, at_least=2)
    if len(bounds) != 2 or not all(b.is_Rational for b in bounds):
        raise reader.fail(f"{where}: expected [low, high], two rational numbers", node.line)
    low, high = (Fraction(int(b.p), int(b.q)) for b in bounds)
    if low > high:
        raise reader.fail(f"{where}: the low end {low} is above the high end {high}", node.line)
    return low, high


def _denominators(node: YNode | None, reader: Reader, where: str) -> tuple[int, ...]:
    if node is None:
        return DEFAULT_DENOMINATORS
    values = _numbers(node, reader, where + " denominators", at_least=1)
    if not all(v.is_Integer and v > 0 for v in values):
        raise reader.fail(f"{where}: denominators must be whole numbers above 0", node.line)
    return tuple(sorted({int(v) for v in values}))


def _grid(low: Fraction, high: Fraction, denominators: tuple[int, ...], reader: Reader, where: str,
          line: int) -> list[sp.Rational]:
    """Every number in [low, high] whose denominator in lowest terms is one of ``denominators``, in order."""
    too_many = reader.fail(f"{where}: too many values to draw from (at most {MAX_VALUES})", line)
    if sum(floor(high * q) - ceil(low * q) + 1 for q in denominators) > 10 * MAX_VALUES:
        raise too_many
    found = {Fraction(p, q) for q in denominators for p in range(ceil(low * q), floor(high * q) + 1)}
    values = sorted(f for f in found if f.denominator in denominators)
    if len(values) > MAX_VALUES:
        raise too_many
    return [sp.Rational(f.numerator, f.denominator) for f in values]


def _digits(node: YNode | None, reader: Reader, where: str) -> int:
    if node is None:
        return DEFAULT_DIGITS
    if not isinstance(node, Scalar) or node.kind != "int" or not 1 <= int(node.text) <= MAX_DIGITS:
        raise reader.fail(f"{where}: digits is a whole number from 1 to {MAX_DIGITS}", node.line)
    return int(node.text)


def _exclude(node: YNode | None, values: list[sp.Expr], reader: Reader, where: str) -> list[sp.Expr]:
    if node is None:
        return []
    excluded = _numbers(node, reader, where + " exclude", at_least=1)
    for v in excluded:
        if v not in values:
            raise reader.fail(f"{where}: exclude {sp.sstr(v)} is not one of the values", node.line)
    return excluded
