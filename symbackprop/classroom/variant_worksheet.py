"""A class variant as a worksheet of its own: drawn alone, for ``check --variant``, and written as
YAML, the ``worksheets/ID.yaml`` of the class folder that ``solve``, ``exercise`` and ``check`` read
like any other worksheet.

The YAML is the original text with the variant's title and drawn numbers (a matrix's drawn
entries, each in its place in the list) spliced in at the places YAML reports, and ``random:`` and
``require:`` cut out (the numbers were drawn and meet the
conditions), so the author's comments, key order and every other key stay as written. Nothing is
evaluated: the text is only composed by PyYAML's safe loader, never constructed.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import SymbackpropError
from .roster import class_of
from .variants import Variant, plan, run, variant_worksheet
from ..worksheet.read import Worksheet
from ..worksheet.yamlread import Scalar

DRAWING = ("random", "require")  # the keys a variant's worksheet leaves out
HEADER = ("# A class variant: the numbers it drew stand under given:; random: and require: are left out "
          "(its numbers meet them).\n")
MAX_LISTED = 5  # ids named in the message for an unknown one


def variant_yaml(text: str, v: Variant) -> str:
    """The variant's own worksheet: ``text`` (the worksheet it was drawn from) with the variant's
    title, its drawn numbers under ``given:`` and no ``random:`` or ``require:``; the same text
    and variant always give the same bytes."""
    drawn = {(d.name, d.entry): d.scalar(value) for d, value in zip(v.worksheet.random, v.values)}
    title = json.dumps(v.worksheet.title, ensure_ascii=False)  # a JSON string is a double-quoted YAML scalar
    for start, end, what, place in _spans(text):
        if what == "number":
            if place not in drawn:
                continue
            new = _yaml_number(drawn[place])
        else:
            new = {"title": title, "cut": "", "insert": f"title: {title}{place}"}[what]
        text = text[:start] + new + text[end:]
    return HEADER + text


@functools.lru_cache(maxsize=16)
def _spans(text: str) -> tuple[tuple[int, int, str, Any], ...]:
    """The places a variant's worksheet changes in ``text``, last first: (start, end, what, place),
    what being "title" (the title's value), "insert" (no title: one goes first, ``place`` its
    separator), "cut" (random: or require:) or "number" (a given number or entry, ``place`` its
    (name, entry)). Composed once a text: every variant of a class asks again."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    spans: list[tuple[int, int, str, Any]] = []
    entries = root.value
    for i, (key, value) in enumerate(entries):
        if key.value == "title":
            spans.append((value.start_mark.index, _end(value, text), "title", None))
        elif key.value == "given" and isinstance(value, yaml.MappingNode):
            spans += [(node.start_mark.index, _end(node, text), "number", (name.value, entry))
                      for name, given in value.value for entry, node in _places(given)]
        elif key.value in DRAWING:
            spans.append((*_cut(entries, i, text, root.flow_style), "cut", None))
    if not any(key.value == "title" for key, _ in entries):
        first = entries[0][0].start_mark.index
        start = first if root.flow_style else text.rfind("\n", 0, first) + 1
        spans.append((start, start, "insert", ", " if root.flow_style else "\n"))
    return tuple(sorted(spans, key=lambda s: (s[0], s[1]), reverse=True))


def _places(node: yaml.Node) -> list[tuple[tuple[int, int] | None, yaml.Node]]:
    """Where a given value's numbers stand: a number (entry None), or each entry (row, column from
    0) of a matrix, a list of rows or one flat row, as worksheet/read.py reads it."""
    if not isinstance(node, yaml.SequenceNode):
        return [(None, node)]
    nested = node.value and all(isinstance(r, yaml.SequenceNode) for r in node.value)
    rows = node.value if nested else [node]
    return [((i, j), item) for i, row in enumerate(rows) for j, item in enumerate(row.value)]


def _yaml_number(s: Scalar) -> str:
    """A number as a YAML scalar: plain when YAML reads it as a number, else quoted ('1/3')."""
    if s.kind in ("int", "float"):
        return s.text.strip()
    return "'" + " ".join(s.text.split()).replace("'", "''") + "'"


def _end(node: yaml.Node, text: str) -> int:
    """Where a node's content ends: a block collection's, or a block scalar's, span runs on over the
    line breaks (and comments) after it."""
    if isinstance(node, yaml.ScalarNode) or node.flow_style:
        start = node.start_mark.index
        return start + len(text[start:node.end_mark.index].rstrip())
    children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
    return max(_end(n, text) for n in children)


def _cut(entries: list[tuple[yaml.Node, yaml.Node]], i: int, text: str, flow: bool) -> tuple[int, int]:
    """Removing entry ``i`` of the top mapping: its whole lines (the comments on them too), or in a
    flow mapping the entry up to the next one (the last leaves a trailing comma, which YAML allows)."""
    key, value = entries[i]
    if flow:
        return key.start_mark.index, entries[i + 1][0].start_mark.index if i + 1 < len(entries) else _end(value, text)
    end = text.find("\n", _end(value, text))
    return text.rfind("\n", 0, key.start_mark.index) + 1, len(text) if end < 0 else end + 1


def class_variant(ws: Worksheet, key: str | None, seed: int | None, n: int | None = None,
                  roster: str | Path | None = None, jobs: int = 0) -> Worksheet:
    """The worksheet of variant ``key`` as ``variants --seed SEED`` draws it for the class of ``n``
    variants or of a roster, without its folder. The class matters: a variant that would repeat an
    earlier one's numbers draws again, so the variants before it are drawn too (those after it
    cannot change it). A numbered class's id may be written as its file name pads it (07)."""
    if key is None:
        raise SymbackpropError("--seed, --roster and -n choose a class's variant: give --variant ID too", "--variant")
    if seed is None:
        raise SymbackpropError("--variant needs the class's seed: --seed S, as given to variants", "--variant")
    ids = [s.id for s in class_of(n, roster)]
    found = key.lstrip("0") if key.isdigit() and key not in ids else key
    if found not in ids:
        listed = ", ".join(ids[:MAX_LISTED]) + (", …" if len(ids) > MAX_LISTED else "")
        raise SymbackpropError(f"no variant '{key}' in this class (its ids: {listed})", "--variant")
    p = plan(ws, seed)
    drawn = run(p, ids[:ids.index(found) + 1], _numbers_only, jobs)
    return variant_worksheet(p, found, drawn.values[-1])


def _numbers_only(v: Variant) -> None:
    """The job of a run that wants only each variant's numbers (the run holds them)."""
