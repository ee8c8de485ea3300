"""Line breaking for display math: a rough measure of the width a reader sees, and equations set
on aligned rows of at most ``WIDTH``, broken between the steps, the terms of a sum or the factors
of a product."""
from __future__ import annotations

import functools
import re

WIDTH = 60  # estimated width of one line of display math, in characters

Step = tuple[str, ...]  # the terms of one step; after the first, each starts with its sign

_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_MATRIX = re.compile(r"\\begin\{bmatrix\}((?:(?!\\begin\{bmatrix\}).)*?)\\end\{bmatrix\}")
_UNDERSET = re.compile(r"\\underset\{[^{}]*\}")


@functools.lru_cache(maxsize=1 << 16)
def visual_length(tex: str) -> int:
    """A rough count of the characters a reader sees, for line breaking; a matrix is as wide as
    its widest row."""
    while "bmatrix" in tex:
        tex = _MATRIX.sub(lambda m: "m" * (2 + max(visual_length(r.replace("&", r"\quad ")) for r in m.group(1).split(r"\\"))),
                          tex)
    tex = _UNDERSET.sub("", tex)
    t = re.sub(r"\\(left|right)(?![A-Za-z])\\?", "", tex)
    t = re.sub(r"\\cdot(?![A-Za-z])", " x ", t)
    t = re.sub(r"\\(quad|,)(?![A-Za-z])", " ", t)
    t = re.sub(r"\\(?!frac)[A-Za-z]+ ?", "x", t)
    t = re.sub(r"[_^]\{([^{}]*)\}", lambda m: "y" * ((len(m.group(1)) + 1) // 2), t)
    while _FRAC.search(t):
        t = _FRAC.sub(lambda m: "z" * (max(len(m.group(1)), len(m.group(2))) + 1), t)
    t = re.sub(r"[{}_^&]", "", t)
    t = re.sub(r"\s*([=+\-])\s*", r" \1 ", t)
    return len(re.sub(r"\s+", " ", t).strip())


def pack(items: list[str], separator: str = r",\quad ") -> tuple[str, ...]:
    """Items (``X = …``) a few to a line, as many as fit the width: the given values of a sheet."""
    rows: list[str] = []
    line: list[str] = []
    for item in items:
        if line and visual_length(separator.join(line + [item])) > WIDTH:
            rows.append(separator.join(line))
            line = []
        line.append(item)
    if line:
        rows.append(separator.join(line))
    return tuple(rows)


def wrap(lhs: str, steps: list[Step], boxed: bool, approx: str = "") -> tuple[str, ...]:
    """Set ``lhs = s1 = s2 …`` on aligned rows of at most WIDTH, breaking long sums at their terms."""
    return _wrap(lhs, tuple(steps), boxed, approx)


@functools.lru_cache(maxsize=1 << 14)  # a class's variants set many equal equations
def _wrap(lhs: str, steps: tuple[Step, ...], boxed: bool, approx: str) -> tuple[str, ...]:
    clean: list[Step] = []
    for step in steps:
        text = " ".join(step)
        if step and not any(_same(text, seen) for seen in [lhs] + [" ".join(c) for c in clean]):
            clean.append(step)
    if boxed and clean and (len(clean[-1]) == 1 or visual_length(" ".join(clean[-1])) + 3 <= WIDTH):
        # A box cannot break across lines: a long sum stays unboxed, so that it can.
        last = " ".join(clean[-1])
        about = last.startswith(r"\approx ")  # ≈ stays outside the box: the boxed value is the answer
        clean[-1] = ((r"\approx " if about else "") + r"\boxed{" + last.removeprefix(r"\approx ") + "}",)
    if approx and clean:
        clean.append((r"\approx " + approx,))
    rows: list[str] = []
    about = bool(clean) and clean[0][0].startswith(r"\approx")  # no "= ≈": the relation is ≈ alone
    line, used, empty = lhs + (" &" if about else " &= "), visual_length(lhs) + 3, True
    for step in clean:
        text = " ".join(step)
        joint = "" if empty or text.startswith(r"\approx") else "= "
        if not empty and used + visual_length(text) + 3 > WIDTH:
            rows.append(line.rstrip())
            line, used, joint = "&= " if joint else "&", 3, ""
            if text.startswith(r"\approx"):
                line = "&"
        line += joint
        for i, term in enumerate(step):
            length = visual_length(term)
            if i > 0 and used + length > WIDTH:
                rows.append(line.rstrip())
                line, used = r"&\quad ", 4
                if not term.startswith(("+ ", "- ", r"\odot", r"\oslash")):  # a product broken between its factors
                    line, used = line + r"\cdot ", 6
            line += term + " "
            used += length + 1
        empty = False
    rows.append(line.rstrip())
    return tuple(rows)


@functools.lru_cache(maxsize=1 << 16)
def _same(a: str, b: str) -> bool:
    """Two LaTeX steps that differ only in spacing are the same step."""
    return re.sub(r"\s+", "", a) == re.sub(r"\s+", "", b)
