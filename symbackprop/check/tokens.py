"""The tokens of a handwritten derivation's math, LaTeX or plain (``∂L/∂x1``): the first stage of
reading it (latexmath.py parses the tokens, tosympy.py builds SymPy from the tree).

Unicode math signs become their LaTeX commands, ``\\text{…}`` and its kin one word, spacing and
sizing commands nothing; a character outside the grammar is Unreadable here, before parsing. A
number keeps its digits as written (``0.150``, ``4.386e-4``: the last digit is its rounding), and
each token knows whether a space came before it (``net`` may be a name, ``n e t`` is a product).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TEXT = 2_000  # characters of one equation chain
MAX_DIGITS = 100


class Unreadable(Exception):
    """This math cannot be read; the message says why, for the report."""


UNICODE = {
    "−": "-", "–": "-", "·": r" \cdot ", "⋅": r" \cdot ", "×": r" \times ", "∂": r" \partial ",
    "÷": "/", "≥": r" \geq ", "≤": r" \leq ", "≈": r" \approx ", "⇒": r" \Rightarrow ", "→": r" \to ",
    "ŷ": r"\hat{y}", "′": "'", "√": r"\sqrt ", "∗": "*", "←": r" \leftarrow ",
}
GREEK_UNICODE = dict(zip("αβγδεζηθικλμνξπρστυφχψωΔΣΘΛΦΨΩ", (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi chi psi omega Delta Sigma Theta Lambda Phi Psi Omega").split()))
GREEK = set(GREEK_UNICODE.values()) | {"varepsilon", "varphi", "vartheta", "Gamma", "Xi", "Pi", "Upsilon"}
FUNCS = {"log": "log", "ln": "log", "exp": "exp", "sqrt": "sqrt", "tanh": "tanh", "max": "max", "min": "min",
         "relu": "relu", "ReLU": "relu", "sigmoid": "sigma", "sigma": "sigma"}
ALWAYS_FUNCS = {"log", "ln", "exp", "sqrt", "tanh", "max", "min"}  # the others are names unless applied
IGNORED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
           "textstyle", "limits", "nonumber", "notag", "mathcal", "mathbf", "boldsymbol", "bm", "mathit",
           "mathsf", "mathbb", "quad", "qquad", ",", ";", ":", "!", " ", "Rightarrow", "implies"}
WORD_COMMANDS = {"text", "mathrm", "operatorname", "textrm", "textit", "operatorname*"}
ACCENTS = {"hat", "bar", "tilde", "dot", "vec", "widehat", "overline"}
TIMES = {"cdot", "times", "ast"}
RELATIONS = {"<": "<", ">": ">", "lt": "<", "gt": ">", "le": "<=", "leq": "<=", "leqslant": "<=",
             "ge": ">=", "geq": ">=", "geqslant": ">="}

_UNICODE_TABLE = str.maketrans({**UNICODE, **{g: f" \\{n} " for g, n in GREEK_UNICODE.items()}})
_TOKEN = re.compile(r"(?P<grad>(?<![A-Za-z\\])g-(?=[A-Za-z\\]))|(?P<cmd>\\(?:[A-Za-z]+\*?|.))|"
                    r"(?P<num>\d+\.\d+[eE][-+]?\d+|\d*\.\d+|\d+)|"
                    r"(?P<letter>[A-Za-z])(?P<digits>\d+(?![.\d]))?|(?P<space>\s+)|(?P<sym>.)", re.S)


@dataclass(frozen=True)
class Token:
    kind: str  # cmd, num, letter, word, sym, grad, end
    text: str
    glued: bool = field(default=False, compare=False)  # no space before it: n e t is not net


def scientific(text: str) -> tuple[str, int]:
    """A number token as its digits and power of ten: ``4.386e-4`` → ("4.386", -4)."""
    mantissa, _, exponent = text.lower().partition("e")
    return mantissa, int(exponent or 0)


def tokenize(text: str) -> list[Token]:
    """LaTeX (or plain ``∂L/∂x1``) into tokens; ``\\text{…}`` and its kin become one word."""
    if len(text) > MAX_TEXT:
        raise Unreadable(f"longer than {MAX_TEXT} characters")
    text = text.translate(_UNICODE_TABLE)
    out: list[Token] = []
    pos = last = 0  # pos: where reading goes on; last: where the previous token ended
    for m in _TOKEN.finditer(text):
        if m.start() < pos:
            continue
        kind = next(k for k in ("grad", "cmd", "num", "letter", "space", "sym") if m.group(k) is not None)
        value = m.group()
        if kind == "space":
            continue
        glued, last = m.start() == last, m.end()
        if kind == "cmd":
            name = value[1:]
            if name in WORD_COMMANDS:
                body, pos = _group_text(text, m.end())
                last = pos
                word = re.sub(r"\\[,;:! ]|\s+", "", body)
                if word:
                    out.append(Token("letter" if len(word) == 1 and word.isalpha() else "word", word))
                continue
            if name in ("left", "right", "bigl", "bigr", "Bigl", "Bigr"):
                rest = text[m.end():].lstrip()
                if rest.startswith("."):
                    pos = last = len(text) - len(rest) + 1
                continue
            if name in IGNORED:
                continue
            out.append(Token("cmd", name))
            continue
        if kind == "num" and len(value) > MAX_DIGITS:
            raise Unreadable(f"the number {value[:20]}… is too long")
        if kind == "letter" and m.group("digits"):  # plain x1: the digits are a subscript
            out += [Token("letter", value[0], glued), Token("sym", "_", True), Token("sym", "{", True),
                    Token("num", m.group("digits"), True), Token("sym", "}", True)]
            continue
        if kind == "sym" and value not in "+-*/^_()[]{}=,;'&<>|.!":
            raise Unreadable(f"the character '{value}' is not read")
        out.append(Token(kind, value, glued))
    out.append(Token("end", ""))
    return out


def _group_text(text: str, start: int) -> tuple[str, int]:
    """The raw text of the ``{…}`` group at ``start`` (after spaces) and the position after it."""
    i = start
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text) or text[i] != "{":
        return "", start
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{" and text[j - 1] != "\\":
            depth += 1
        elif text[j] == "}" and text[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
    raise Unreadable("a brace is not closed")
