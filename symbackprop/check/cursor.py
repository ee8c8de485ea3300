"""What the two grammars of a derivation read alike — the scalar one (latexmath.py) and matrix
notation (matrixmath.py): a cursor over the tokens, an argument taken whole, a name with its
subscript and update mark, a relation, the derivative forms ``∂A/∂B`` and ``\\frac{∂A}{∂B}``,
and an equation chain split into its members. Each grammar adds its own rules to the Cursor.
Nothing here evaluates text.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Generic, TypeVar

from .tokens import ACCENTS, GREEK, RELATIONS, TIMES, Token, Unreadable
from .tree import UPDATE_ARROWS, Atom, Deriv, Lexicon, written_number

MAX_DEPTH = 40  # nesting of groups and parentheses
MARKERS = {("cmd", "partial"), ("letter", "d"), ("cmd", "delta"), ("num", "2"), ("num", "6")}
END = Token("end", "")
INFIX = {("sym", "*"): "*", ("sym", "/"): "/", ("cmd", "div"): "/"} | {("cmd", c): "*" for c in TIMES}

N = TypeVar("N")  # the node a grammar builds


def show(t: Token) -> str:
    """A token as it was written, for a message."""
    return ("\\" + t.text) if t.kind == "cmd" else (t.text or "end of line")


def sub_text(tokens: list[Token]) -> str:
    """A subscript as plain text: ``{\\mathrm{out}}`` → out, ``{1}`` → 1, ``{C_1}`` → C1."""
    return "".join(t.text for t in tokens if not (t.kind == "sym" and t.text in "{}_,"))


def derivative_mark(num: list[Token], den: list[Token]) -> tuple[str, str] | None:
    """The mark both sides of a fraction start with when it is a derivative ``\\frac{∂A}{∂B}`` (∂
    also written d, δ, or OCR's 2 and 6), as (kind, text); None when it is none."""
    if not num or not den:
        return None
    mark = (num[0].kind, num[0].text)
    return mark if mark in MARKERS and (den[0].kind, den[0].text) == mark else None


def chain_members(tokens: list[Token], read: Callable[[list[Token]], N], environments: bool) -> list[N | Unreadable]:
    """An equation chain ``a = b = … = v`` (``\\approx``, ``\\equiv`` too) into its members, each
    read by ``read``; a member that cannot be read is an Unreadable in its place. ``w \\leftarrow
    e = v`` is the update of w: its left side is w after step 1. With ``environments``, what
    stands between ``\\begin`` and ``\\end`` is not split."""
    members: list[list[Token]] = [[]]
    depth = 0
    arrow = False
    for t in tokens[:-1]:
        if t.kind == "sym" and t.text in "({[":
            depth += 1
        elif t.kind == "sym" and t.text in ")}]":
            depth -= 1
        elif environments and t.kind == "cmd" and t.text in ("begin", "end"):
            depth += 1 if t.text == "begin" else -1
        if depth == 0 and (t.kind == "sym" and t.text == "=" or t.kind == "cmd" and t.text in ("approx", "equiv")
                           or t.kind == "cmd" and t.text in UPDATE_ARROWS and len(members) == 1):
            arrow = arrow or t.text in UPDATE_ARROWS
            members.append([])
        else:
            members[-1].append(t)
    out: list[N | Unreadable] = []
    for member in members:
        try:
            out.append(read(member) if member else Unreadable("empty"))
        except Unreadable as exc:
            out.append(exc)
    if arrow:
        first = out[0]
        out[0] = replace(first, step=first.step or 1) if isinstance(first, Atom) else \
            Unreadable("the left of an update arrow is no name")
    return out


class Cursor(Generic[N]):
    """Recursive descent over tokens that end with an ``end`` token, depth-limited, so that no input
    nests it too deeply. A grammar supplies ``operation`` (its node of an operation, from the
    operation's name and arguments), ``power`` (a primary with its superscripts), ``read_primary``
    (the primaries of its own), ``accented`` (the name under an accent) and ``subscript``."""

    operation: Callable[[str, tuple[N, ...]], N]
    infix: dict[tuple[str, str], str] = INFIX  # the operators of a term, by (kind, text) of their token
    commands: frozenset[str] = frozenset()  # the commands a primary starts with, besides Greek letters and accents
    argument_missing = "an argument is missing"

    def __init__(self, tokens: list[Token], lexicon: Lexicon) -> None:
        self.tokens = tokens
        self.lexicon = lexicon
        self.i = 0
        self.depth = 0

    def over(self, tokens: list[Token]) -> Cursor[N]:
        """A cursor of the same grammar over a group's tokens."""
        return type(self)(tokens + [END], self.lexicon)

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def ahead(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return t

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.peek.kind == kind and (text is None or self.peek.text == text)

    def expect(self, kind: str, text: str) -> None:
        if not self.at(kind, text):
            raise Unreadable(f"expected '{text}' but found '{show(self.peek)}'")
        self.take()

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unreadable("nested too deeply")

    # -- the rules a grammar supplies -----------------------------------------------------------
    def power(self) -> N:
        raise NotImplementedError

    def read_primary(self) -> N:
        """A primary that is neither a number nor a group in parentheses, brackets or braces."""
        raise NotImplementedError

    def accented(self, tokens: list[Token]) -> Atom:
        raise NotImplementedError

    def subscript(self, stem: str) -> str:
        """The subscript after ``_`` (not at the end) of the name ``stem``."""
        raise NotImplementedError

    # -- the rules both grammars read alike -----------------------------------------------------
    # expr := term (('+'|'-') term)*
    def expr(self) -> N:
        self.nested()
        node = self.term()
        while self.at("sym", "+") or self.at("sym", "-"):
            op = self.take().text
            right = self.term()
            node = self.operation("+", (node, right if op == "+" else self.operation("neg", (right,))))
        self.depth -= 1
        return node

    # term := unary ((infix | juxtaposition) unary)*
    def term(self) -> N:
        node = self.unary()
        while True:
            op = self.infix.get((self.peek.kind, self.peek.text))
            if op is not None:
                self.take()
                node = self.operation(op, (node, self.unary()))
            elif self.starts_primary():
                node = self.operation("*", (node, self.power()))
            else:
                return node

    def unary(self) -> N:
        if self.at("sym", "-"):
            self.take()
            return self.operation("neg", (self.unary(),))
        if self.at("sym", "+"):
            self.take()
            return self.unary()
        return self.power()

    def whole(self) -> N:
        """An expression that is all the tokens."""
        node = self.expr()
        if not self.at("end"):
            raise Unreadable(f"unexpected '{show(self.peek)}'")
        return node

    def primary(self) -> N:
        """A number, a group ``(…)``, ``[…]``, ``{…}``, or what the grammar reads (``read_primary``)."""
        self.nested()
        t = self.peek
        if t.kind == "num":
            self.take()
            node = written_number(t.text)
        elif t.kind == "sym" and t.text in "([{":
            close = {"(": ")", "[": "]", "{": "}"}[self.take().text]
            node = self.expr()
            self.expect("sym", close)
        else:
            node = self.read_primary()
        self.depth -= 1
        return node

    def starts_primary(self) -> bool:
        t = self.peek
        if t.kind in ("num", "letter", "word", "grad"):
            return True
        if t.kind == "sym":
            return t.text in "([{"
        return t.kind == "cmd" and (t.text in self.commands or t.text in GREEK or t.text in ACCENTS)

    def braced(self) -> N:
        self.expect("sym", "{")
        node = self.expr()
        self.expect("sym", "}")
        return node

    def arguments(self) -> list[N]:
        """The arguments ``(e, e, …)`` of a function."""
        self.expect("sym", "(")
        args = [self.expr()]
        while self.at("sym", ","):
            self.take()
            args.append(self.expr())
        self.expect("sym", ")")
        return args

    def raw_group(self) -> list[Token]:
        """The tokens of one ``{…}`` argument (or of a single token: ``\\frac12``)."""
        if not self.at("sym", "{"):
            t = self.peek
            if t.kind == "num" and t.text.isdigit() and len(t.text) > 1:  # \frac12: one digit each
                self.tokens[self.i] = Token("num", t.text[1:], True)
                return [Token("num", t.text[0])]
            if t.kind == "end":
                raise Unreadable(self.argument_missing)
            self.take()
            return [t]
        self.take()
        depth, out = 1, []
        while True:
            t = self.take()
            if t.kind == "end":
                raise Unreadable("a brace is not closed")
            if t.kind == "sym" and t.text == "{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise Unreadable("nested too deeply")
            elif t.kind == "sym" and t.text == "}":
                depth -= 1
                if depth == 0:
                    return out
            out.append(t)

    def relation(self) -> str:
        """A relation of a condition: ``<``, ``>``, ``<=`` (``\\leq``, ``<=``), ``>=``."""
        t = self.take()
        rel = RELATIONS.get(t.text) if t.kind in ("sym", "cmd") else None
        if rel is None:
            raise Unreadable(f"cannot read the condition at '{show(t)}'")
        if rel in ("<", ">") and self.at("sym", "="):
            self.take()
            rel += "="
        return rel

    def slash_ahead(self) -> bool:
        """``d NAME / d NAME``: a derivative in slash form (tried, then undone if it is not)."""
        start = self.i
        try:
            self.take()
            self.atom()
            ok = self.at("sym", "/") and self.ahead().kind == "letter" and self.ahead().text == "d"
        except Unreadable:
            ok = False
        self.i = start
        return ok

    def slash_derivative(self, marker: str) -> Deriv:
        """``∂A/∂B`` (``marker`` partial) or ``dA/dB`` (``marker`` d)."""
        self.take()
        top = self.atom()
        self.expect("sym", "/")
        if not (self.at("cmd", "partial") if marker == "partial" else self.at("letter", "d")):
            raise Unreadable(f"expected ∂ after '/' in ∂{top.text}/…")
        self.take()
        return Deriv(top, self.atom())

    def atom(self) -> Atom:
        """A name: a letter (or the longest worksheet name the glued letters spell), a word, a Greek
        letter or an accented one, with a subscript and an update mark (``^{+}``, ``^{(1)}``)."""
        t = self.take()
        accent = ""
        if t.kind == "cmd" and t.text in ACCENTS:
            accent = {"widehat": "hat", "overline": "bar"}.get(t.text, t.text)
            inner = self.accented(self.raw_group() if self.at("sym", "{") else [self.take()])
            base, sub = inner.base, inner.sub
        elif t.kind == "letter":
            base, sub = self.word(t.text), ""
        elif t.kind == "word":
            base, sub = t.text, ""
        elif t.kind == "sym" and t.text == "{":  # \mathcal{L}: the wrapper is dropped, its group stays
            inner = self.atom()
            self.expect("sym", "}")
            base, sub, accent = inner.base, inner.sub, inner.accent
        elif t.kind == "cmd" and t.text in GREEK:
            base, sub = t.text, ""
        else:
            raise Unreadable(f"unexpected '{show(t)}'")
        step = self.update_mark()
        if self.at("sym", "_"):
            self.take()
            if self.at("end"):
                raise Unreadable("a subscript is missing")
            sub = self.subscript(base + accent)
        return Atom(base, sub, accent, step or self.update_mark())

    def word(self, first: str) -> str:
        """The letters glued to ``first`` that spell the longest word of the lexicon (``net``), or
        ``first`` alone: letters side by side are a product unless they spell a name."""
        run, j = [first], self.i
        while self.tokens[j].kind == "letter" and self.tokens[j].glued:
            run.append(self.tokens[j].text)
            j += 1
        taken = next((n for n in range(len(run), 1, -1) if self.lexicon.word("".join(run[:n]))), 1)
        self.i += taken - 1
        return "".join(run[:taken])

    def update_mark(self) -> int:
        """``^{+}``, ``^+``, ``^{(k)}``, ``^{new}`` after a name: the value after update step k (1 for
        + and new); 0, with nothing taken, for any other superscript (a power)."""
        if not self.at("sym", "^"):
            return 0
        start = self.i
        self.take()
        group = self.raw_group() if self.at("sym", "{") else [self.take()]
        text = "".join(t.text for t in group)
        step = 1 if text in ("+", "new", "(new)", "(t+1)", "(k+1)") else (
            int(text[1:-1]) if re.fullmatch(r"\(\d{1,2}\)", text) else 0)
        if not step:
            self.i = start
        return step
