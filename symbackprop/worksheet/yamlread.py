"""Reading YAML safely while keeping each value's line, and refusing duplicate keys.

PyYAML's own constructors silently keep the last of two equal keys and turn ``0.1`` into a
float; composing the node tree ourselves keeps every scalar as its exact text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import yaml

from ..errors import WorksheetError

MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Scalar:
    """A YAML scalar as written (``text``), with its tag resolved by YAML (int, float, str, null, bool)."""

    text: str
    kind: str
    line: int


@dataclass(frozen=True)
class Seq:
    items: tuple[YNode, ...]
    line: int


@dataclass(frozen=True)
class Map:
    """A mapping in file order: (key text, key line, value)."""

    entries: tuple[tuple[str, int, YNode], ...]
    line: int

    def get(self, key: str) -> YNode | None:
        for k, _, v in self.entries:
            if k == key:
                return v
        return None


YNode = Union[Scalar, Seq, Map]


def decimal_written(node: YNode) -> str | None:
    """A number's text when YAML reads it as a decimal (a float): a sheet shows it as written (0.10)."""
    return node.text.strip() if isinstance(node, Scalar) and node.kind == "float" else None

_KINDS = {
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:str": "str",
}


def read_yaml(text: str, file: str) -> YNode | None:
    """Parse YAML text into line-carrying nodes; any problem is a WorksheetError with its line."""
    if len(text) > MAX_BYTES:
        raise WorksheetError(f"the file is larger than {MAX_BYTES} bytes", file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = _error_line(exc, text)
        raise WorksheetError(_tab_problem(exc, text) or f"YAML syntax error: {exc.problem or exc.context}",
                             file, line) from None
    except yaml.YAMLError as exc:
        raise WorksheetError(f"YAML error: {exc}", file) from None
    except RecursionError:
        raise WorksheetError("the YAML is nested too deeply", file) from None
    if root is None:
        return None
    return _convert(root, file, 0, set())


def _error_line(exc: yaml.MarkedYAMLError, text: str) -> int | None:
    """The line to blame: where YAML stopped, unless it stopped past the end of the file (an
    unclosed bracket or quote), where the line that opened the construct is the useful one."""
    marks = [m for m in (exc.problem_mark, exc.context_mark) if m is not None]
    if not marks:
        return None
    last_line = text.count("\n") - text.endswith("\n")
    inside = [m for m in marks if m.line <= last_line]
    return (inside or marks)[0].line + 1


def _tab_problem(exc: yaml.MarkedYAMLError, text: str) -> str | None:
    """What a tab that stopped YAML means for its author (an editor's indentation, usually), or None."""
    mark = exc.problem_mark
    if mark is None or "'\\t'" not in str(exc.problem):
        return None
    lines = text.splitlines()
    before = lines[mark.line][: mark.column] if mark.line < len(lines) else ""
    if before.strip(" \t"):
        return "a tab cannot separate YAML's values: use spaces"
    return "tabs cannot indent YAML: use spaces"


def _convert(node: yaml.Node, file: str, depth: int, seen_nodes: set[int]) -> YNode:
    """Convert one composed node; a node met twice is an alias (``*name``), refused because
    expanding nested aliases grows exponentially (a few hundred bytes can take hours)."""
    line = node.start_mark.line + 1
    if depth > 50:
        raise WorksheetError("the YAML is nested too deeply", file, line)
    if id(node) in seen_nodes:
        raise WorksheetError("YAML aliases (*name) are not supported: write the value out", file, line)
    seen_nodes.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        return Scalar(node.value, _KINDS.get(node.tag, "str"), line)
    if isinstance(node, yaml.SequenceNode):
        return Seq(tuple(_convert(n, file, depth + 1, seen_nodes) for n in node.value), line)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        entries = []
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise WorksheetError("a key must be a plain name", file, key_line)
            key = key_node.value
            if key in seen:
                raise WorksheetError(f"'{key}' is defined twice (first on line {seen[key]})", file, key_line)
            seen[key] = key_line
            entries.append((key, key_line, _convert(value_node, file, depth + 1, seen_nodes)))
        return Map(tuple(entries), line)
    raise WorksheetError("YAML aliases and tags are not supported here", file, line)
