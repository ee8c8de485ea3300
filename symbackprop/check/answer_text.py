"""A derivation to check, as the writer gave it: Markdown with ``$$ … $$``, ``$ … $`` or
``\\[ … \\]`` math, or a LaTeX file; split into the equation chains it states, with line numbers.

The scan is linear (an opener without a closer is given up once), so no input makes it slow;
side notes (``\\quad``, ``;``, an ``array`` of rows) become chains of their own.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import AnswerError
from ..textfile import read_text

MAX_BYTES = 1_000_000
ROW_ENVS = ("array", "aligned", "align", "align*", "gathered", "gather", "gather*", "split", "eqnarray",
            "eqnarray*", "alignat", "alignat*", "flalign", "flalign*")
DISPLAY_ENVS = ("equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*",
                "eqnarray", "eqnarray*", "displaymath", "math", "flalign", "flalign*")
SEPARATORS = (r"\qquad", r"\quad", r"\Longrightarrow", r"\Rightarrow", r"\implies", r"\rightarrow", r"\to",
              r"\\", ";")
_OPENER = re.compile(r"\$\$|\\\[|\\\(|\\begin\{(" + "|".join(re.escape(e) for e in DISPLAY_ENVS) + r")\}|(?<!\\)\$")
_CLOSERS = {"$$": "$$", r"\[": r"\]", r"\(": r"\)", "$": "$"}
_DROP = re.compile(r"\\textcircled\{[^{}]*\}|\\tag\*?\{[^{}]*\}|\\label\{[^{}]*\}|\\left\\\{|\\right\\\}|"
                   r"\\right\.|\\left\.|\^\{?\*\}?|\\nonumber|\\notag")
_ROW_SPACING = re.compile(r"\*?\s*\[\s*-?[\d.]+\s*(pt|ex|em|mm|cm|in|bp|mu|pc)\s*\]")  # \\[4pt], \\[1ex]
_UPDATE = re.compile(r"\\(leftarrow|gets|longleftarrow)(?![A-Za-z])|←")  # w \leftarrow w − η g: a claim too
_KEEP_AMPERSANDS = re.compile(r"(\\(?:begin|end)\{(?:cases|[bpBvV]?matrix\*?|smallmatrix)\}|&)")
_LABEL = re.compile(r"^((\\Rightarrow|\\implies|\\therefore)\s*|\\text\{[^{}]*\}(?!\s*[_^])\s*)+")


@dataclass(frozen=True)
class MathLine:
    """One equation chain (or side note) of the derivation and the line it starts on."""

    line: int
    text: str


def read_answer(path: str | Path) -> str:
    """The derivation file as text; too large, binary or unreadable is an AnswerError."""
    text = read_text(path, AnswerError, max_bytes=MAX_BYTES)
    if "\0" in text:
        raise AnswerError("is binary, not text (Markdown or LaTeX expected)", str(path))
    return text


def math_lines(text: str) -> tuple[MathLine, ...]:
    """Every equation chain in the math of ``text``, in order, with its line number."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    out: list[MathLine] = []
    for offset, body in _blocks(text):
        for at, piece in _pieces(body, 0):
            line = bisect.bisect_right(starts, offset + at + len(piece) - len(piece.lstrip()))
            out.extend(MathLine(line, chain) for chain in _split_commas(_clean(piece)) if chain)
    return tuple(out)


def _blocks(text: str) -> list[tuple[int, str]]:
    """(offset, math) of each math block; an opener with no closer is skipped for good."""
    out: list[tuple[int, str]] = []
    dead: set[str] = set()
    pos = 0
    while True:
        m = _OPENER.search(text, pos)
        if m is None:
            return out
        opener = m.group(0)
        closer = rf"\end{{{m.group(1)}}}" if m.group(1) else _CLOSERS[opener]
        if opener in dead:
            pos = m.end()
            continue
        end = text.find(closer, m.end())
        if opener == "$" and end >= 0 and "\n\n" in text[m.end():end]:
            pos = m.end()  # a lone dollar sign in prose, not math
            continue
        if end < 0:
            dead.add(opener)
            pos = m.end()
            continue
        out.append((m.end(), text[m.end():end]))
        pos = end + len(closer)


def _pieces(body: str, base: int) -> list[tuple[int, str]]:
    """Split a block into chains: rows of array-like environments, and at separators."""
    out: list[tuple[int, str]] = []
    outer: list[str] = []
    outer_at = base
    i = 0
    depth = 0
    start = 0
    env_depth = 0
    while i < len(body):
        c = body[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "\\" and body.startswith(r"\begin{", i):
            name = body[i + 7:body.find("}", i + 7)] if body.find("}", i + 7) >= 0 else ""
            if name in ROW_ENVS and depth == 0 and env_depth == 0:
                end, inner_start, inner_end = _env_span(body, i, name)
                outer.append(body[start:i])
                for row_at, row in _rows(body[inner_start:inner_end], name):
                    out.extend(_pieces(row, base + inner_start + row_at))
                i = start = end
                continue
            env_depth += 1
        elif c == "\\" and body.startswith(r"\end{", i):
            env_depth -= 1
        if depth == 0 and env_depth == 0:
            sep = next((s for s in SEPARATORS if body.startswith(s, i) and not
                        (s[-1].isalpha() and body[i + len(s):i + len(s) + 1].isalpha())), None)
            if sep is not None:
                outer.append(body[start:i])
                out.append((outer_at, "".join(outer)))
                outer = []
                i = start = _after_row_break(body, i + len(sep)) if sep == "\\\\" else i + len(sep)
                outer_at = base + i
                continue
        i += 2 if c == "\\" else 1
    outer.append(body[start:])
    out.append((outer_at, "".join(outer)))
    return sorted(out, key=lambda p: p[0])


def _env_span(body: str, i: int, name: str) -> tuple[int, int, int]:
    """(end of the environment, start and end of its body) for the ``\\begin{name}`` at ``i``."""
    begin, end = rf"\begin{{{name}}}", rf"\end{{{name}}}"
    inner_start = i + len(begin)
    if name in ("array", "alignat", "alignat*"):  # the column spec {l} or {2}
        m = re.match(r"\s*\{[^{}]*\}", body[inner_start:])
        inner_start += m.end() if m else 0
    level, j = 1, inner_start
    while level:
        nb, ne = body.find(begin, j), body.find(end, j)
        if ne < 0:
            return len(body), inner_start, len(body)
        if 0 <= nb < ne:
            level, j = level + 1, nb + len(begin)
        else:
            level, j = level - 1, ne + len(end)
    return j, inner_start, j - len(end)


def _rows(inner: str, name: str) -> list[tuple[int, str]]:
    """The rows of an environment body, split at ``\\\\`` outside braces and nested environments."""
    rows: list[tuple[int, str]] = []
    depth = env = 0
    start = i = 0
    while i < len(inner):
        if inner.startswith(r"\begin{", i):
            env += 1
        elif inner.startswith(r"\end{", i):
            env -= 1
        elif inner[i] == "{":
            depth += 1
        elif inner[i] == "}":
            depth -= 1
        elif inner.startswith(r"\\", i) and depth == 0 and env == 0:
            rows.append((start, inner[start:i]))
            i = start = _after_row_break(inner, i + 2)
            continue
        i += 2 if inner[i] == "\\" else 1
    rows.append((start, inner[start:]))
    return rows


def _clean(piece: str) -> str:
    """Drop decoration (``&``, ``\\tag``, ``^*`` marks, ``\\left\\{``), brackets around a whole
    chain, ``\\boxed{a = b}`` around a chain, trailing punctuation; keep only chains with ``=`` (or
    an update arrow)."""
    text = _ampersands(_DROP.sub(" ", piece)).strip().rstrip(".,;:").strip()
    for opener, closer in ((r"\left[", r"\right]"), ("[", "]"), (r"\boxed{", "}")):
        if text.startswith(opener) and text.endswith(closer) and "=" in text:
            inner = text[len(opener):-len(closer)]
            if _balanced(inner):
                text = inner.strip()
    text = _LABEL.sub("", text)
    return text if "=" in text.replace(r"\neq", "").replace(r"\ne ", "") or _UPDATE.search(text) else ""


def _after_row_break(text: str, i: int) -> int:
    """Where a row starts after ``\\\\`` at ``i``: past a spacing such as ``[4pt]`` or ``[1ex]``."""
    m = _ROW_SPACING.match(text, i)
    return m.end() if m else i


def _ampersands(text: str) -> str:
    """Drop the alignment marks ``&``, except in ``cases``, where one parts a value from its condition,
    and in a matrix (``bmatrix``, ``pmatrix``, ``matrix``…), where they part its columns."""
    out, depth = [], 0
    for part in _KEEP_AMPERSANDS.split(text):
        if part.startswith("\\begin{"):
            depth += 1
        elif part.startswith("\\end{"):
            depth -= 1
        out.append(" " if part == "&" and depth == 0 else part)
    return "".join(out)


def _split_commas(text: str) -> list[str]:
    """``w_1 = -2, w_2 = 1`` is two chains; a comma inside an expression (``\\max(0, z)``) is not."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"{": 1, "}": -1, "(": 1, ")": -1, "[": 1, "]": -1}.get(c, 0)
        if c == "," and depth == 0 and text[i - 1:i] != "\\":  # \, is a space
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts] if len(parts) > 1 and all("=" in p for p in parts) else [text]


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"{": 1, "}": -1, "[": 1, "]": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0
