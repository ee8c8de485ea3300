"""A small grammar for the math of a handwritten chain-rule derivation: a recursive-descent
parser of the tokens (tokens.py) into our own tree, which tosympy.py turns into SymPy.

Nothing here evaluates text: no ``eval``, ``sympify`` or ``parse_latex``. The subset is what
backprop notes use — numbers (exact, a decimal with the place of its last digit: it stands for its
rounding), names with subscripts and accents (letters that spell a worksheet name are that name:
``net_{h1}``, ``E_total``), an update mark (``w_5^{+}``, ``w_5 \\leftarrow …``), ``+ - \\cdot
\\times * /``, juxtaposition (``(2)(4)``, ``2D``), powers, ``\\frac``, ``\\boxed``, ``\\sqrt``,
``\\ln``/``\\log`` (natural: a backprop course's log), ``\\exp``, ``cases`` and derivatives written
``\\frac{\\partial L}{\\partial x_1}``, ``∂L/∂x1``, ``dL/dx_1``, ``g_{x_1}`` or ``g-x1``.
"""
from __future__ import annotations

import re
from dataclasses import replace

import sympy as sp

from .tokens import ACCENTS, ALWAYS_FUNCS, FUNCS, GREEK, RELATIONS, TIMES, Token, Unreadable, tokenize
from .tree import PLAIN, UPDATE_ARROWS, Atom, Cases, Deriv, Grad, Lexicon, Node, Num, Op, written_number

MAX_DEPTH = 40  # nesting of groups and parentheses


# -- the parser ------------------------------------------------------------------------------
def parse_chain(text: str, lexicon: Lexicon = PLAIN) -> list[Node | Unreadable]:
    """An equation chain ``a = b = … = v`` into its members; a member that cannot be read is an
    Unreadable in its place (the others are still checked). ``w \\leftarrow e = v`` is the update
    of w: its left side is w after step 1."""
    tokens = tokenize(text)
    members: list[list[Token]] = [[]]
    depth = 0
    arrow = False
    for t in tokens[:-1]:
        if t.kind == "sym" and t.text in "({[":
            depth += 1
        elif t.kind == "sym" and t.text in ")}]":
            depth -= 1
        if depth == 0 and (t.kind == "sym" and t.text == "=" or t.kind == "cmd" and t.text in ("approx", "equiv")
                           or t.kind == "cmd" and t.text in UPDATE_ARROWS and len(members) == 1):
            arrow = arrow or t.text in UPDATE_ARROWS
            members.append([])
        else:
            members[-1].append(t)
    out: list[Node | Unreadable] = []
    for member in members:
        try:
            out.append(parse_tokens(member, lexicon) if member else Unreadable("empty"))
        except Unreadable as exc:
            out.append(exc)
    if arrow:
        out[0] = replace(out[0], step=out[0].step or 1) if isinstance(out[0], Atom) else \
            Unreadable("the left of an update arrow is no name")
    return out


def parse_tokens(tokens: list[Token], lexicon: Lexicon = PLAIN) -> Node:
    p = _Parser(tokens + [Token("end", "")], lexicon)
    node = p.expr()
    if p.peek.kind != "end":
        raise Unreadable(f"unexpected '{_show(p.peek)}'")
    return node


def parse_atom(text: str) -> Atom | None:
    """A name as LaTeX (``x_{1}``, ``\\hat{y}``, ``P_+``, ``out_{o1}``: one name, so its letters
    are one word) as an Atom; None when it is not one."""
    try:
        tokens = tokenize(text)
        p = _Parser(tokens, Lexicon(whole=True))
        atom = p.atom()
        return atom if p.peek.kind == "end" else None
    except Unreadable:
        return None


def _show(t: Token) -> str:
    return ("\\" + t.text) if t.kind == "cmd" else (t.text or "end of line")


MARKERS = {("cmd", "partial"), ("letter", "d"), ("cmd", "delta"), ("num", "2"), ("num", "6")}


class _Parser:
    """Recursive descent over the tokens; depth-limited, so no input nests it too deeply."""

    def __init__(self, tokens: list[Token], lexicon: Lexicon = PLAIN) -> None:
        self.tokens = tokens
        self.lexicon = lexicon
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return t

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.peek.kind == kind and (text is None or self.peek.text == text)

    def expect(self, kind: str, text: str) -> None:
        if not self.at(kind, text):
            raise Unreadable(f"expected '{text}' but found '{_show(self.peek)}'")
        self.take()

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unreadable("nested too deeply")

    # expr := term (('+'|'-') term)*
    def expr(self) -> Node:
        self.nested()
        node = self.term()
        while self.at("sym", "+") or self.at("sym", "-") or self.at("cmd", "pm"):
            op = self.take().text
            if op == "pm":
                raise Unreadable("± is not read")
            right = self.term()
            node = Op("+", (node, right if op == "+" else Op("neg", (right,))))
        self.depth -= 1
        return node

    # term := unary (('·'|'×'|'*'|'/'|juxtaposition) unary)*
    def term(self) -> Node:
        node = self.unary()
        while True:
            if self.at("sym", "*") or (self.at("cmd") and self.peek.text in TIMES):
                self.take()
                node = Op("*", (node, self.unary()))
            elif self.at("sym", "/") or self.at("cmd", "div"):
                self.take()
                node = Op("/", (node, self.unary()))
            elif self.starts_primary():
                node = Op("*", (node, self.power()))
            else:
                return node

    def unary(self) -> Node:
        if self.at("sym", "-"):
            self.take()
            return Op("neg", (self.unary(),))
        if self.at("sym", "+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Node:
        node = self.primary()
        while self.at("sym", "'"):
            self.take()
            node = Op("prime", (node,))
        if self.at("sym", "^"):
            self.take()
            exponent = self.group_or_single()
            node = Op("^", (node, exponent))
        return node

    def group_or_single(self) -> Node:
        if self.at("sym", "{"):
            return self.braced()
        if self.at("num"):
            return written_number(self.take().text)
        if self.at("sym", "-"):
            self.take()
            return Op("neg", (self.group_or_single(),))
        return self.primary()

    def braced(self) -> Node:
        self.expect("sym", "{")
        node = self.expr()
        self.expect("sym", "}")
        return node

    def starts_primary(self) -> bool:
        t = self.peek
        if t.kind in ("num", "letter", "word", "grad"):
            return True
        if t.kind == "sym":
            return t.text in "([{"
        return t.kind == "cmd" and (t.text in ("frac", "dfrac", "tfrac", "partial", "sqrt", "boxed", "exp",
                                               "log", "ln", "begin") or t.text in GREEK or t.text in ACCENTS
                                    or t.text in FUNCS)

    def primary(self) -> Node:
        self.nested()
        node = self._primary()
        self.depth -= 1
        return node

    def _primary(self) -> Node:
        t = self.peek
        if t.kind == "num":
            self.take()
            return written_number(t.text)
        if t.kind == "sym" and t.text in "([":
            close = ")" if self.take().text == "(" else "]"
            node = self.expr()
            self.expect("sym", close)
            return node
        if t.kind == "sym" and t.text == "{":
            return self.braced()
        if t.kind == "grad":
            self.take()
            return Grad(self.atom())
        if t.kind == "cmd":
            if t.text in ("frac", "dfrac", "tfrac"):
                return self.fraction()
            if t.text == "boxed":
                self.take()
                return self.braced()
            if t.text == "sqrt":
                self.take()
                return Op("sqrt", (self.group_or_single(),))
            if t.text == "partial":
                return self.slash_derivative("partial")
            if t.text == "begin":
                return self.cases()
            if t.text in FUNCS and (t.text in ALWAYS_FUNCS or self._applied()):
                return self.function()
        if t.kind == "letter" and t.text == "d" and self._slash_ahead():
            return self.slash_derivative("d")
        if t.kind == "word" and re.match(r"^grad[-_]", t.text):
            self.take()
            atom = parse_atom(t.text[5:])
            if atom is None:
                raise Unreadable(f"cannot read the name in '{t.text}'")
            return Grad(atom)
        if t.kind == "word" and t.text in FUNCS and self._applied():
            return self.function()
        return self.atom_or_grad()

    def _applied(self) -> bool:
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else Token("end", "")
        return nxt.kind == "sym" and nxt.text == "("

    def _slash_ahead(self) -> bool:
        """``d NAME / d NAME``: a derivative in slash form (tried, then undone if it is not)."""
        start = self.i
        try:
            self.take()
            self.atom()
            ok = self.at("sym", "/")
            if ok:
                self.take()
                ok = self.at("letter", "d")
        except Unreadable:
            ok = False
        self.i = start
        return ok

    def slash_derivative(self, marker: str) -> Node:
        self.take()
        top = self.atom()
        self.expect("sym", "/")
        if not (self.at("cmd", "partial") if marker == "partial" else self.at("letter", "d")):
            raise Unreadable(f"expected ∂ after '/' in ∂{top.text}/…")
        self.take()
        return Deriv(top, self.atom())

    def fraction(self) -> Node:
        self.take()
        num = self.raw_group()
        den = self.raw_group()
        d = _derivative(num, den, self.lexicon)
        if d is not None:
            if d.top is None:  # the operator ∂/∂x applied to what follows
                return Op("apply", (d, self.power()))
            return d
        if num and den and num[0] == den[0] == Token("cmd", "partial"):
            raise Unreadable("cannot read the names in ∂" + "".join(t.text for t in num[1:]) + "/∂"
                             + "".join(t.text for t in den[1:]))
        return Op("/", (parse_tokens(num, self.lexicon), parse_tokens(den, self.lexicon)))

    def raw_group(self) -> list[Token]:
        """The tokens of one ``{…}`` argument (or of a single token: ``\\frac12``)."""
        if not self.at("sym", "{"):
            t = self.peek
            if t.kind == "num" and t.text.isdigit() and len(t.text) > 1:  # \frac12: one digit each
                self.tokens[self.i] = Token("num", t.text[1:], True)
                return [Token("num", t.text[0])]
            self.take()
            if t.kind == "end":
                raise Unreadable("\\frac needs two arguments")
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

    def function(self) -> Node:
        name = FUNCS[self.take().text]
        if name == "log" and self.at("sym", "_"):
            self.take()
            base = self.group_or_single()
            if base != Num(sp.Integer(10)):
                raise Unreadable("only \\log_{10} has a base that is read")
            name = "log10"
        if self.at("sym", "("):
            self.take()
            args = [self.expr()]
            while self.at("sym", ","):
                self.take()
                args.append(self.expr())
            self.expect("sym", ")")
            return Op(name, tuple(args))
        return Op(name, (self.power(),))

    def cases(self) -> Node:
        self.take()
        env = self.raw_group()
        if "".join(t.text for t in env) != "cases":
            raise Unreadable(f"the environment '{''.join(t.text for t in env)}' is not read")
        rows: list[tuple[Node, tuple[Node, str, Node] | None]] = []
        while True:
            value = self.expr()
            if self.at("sym", ","):
                self.take()
            condition = None
            if self.at("sym", "&"):
                self.take()
            if not (self.at("cmd", "\\") or self.at("cmd", "end")):
                condition = self.condition()
            rows.append((value, condition))
            if self.at("cmd", "\\"):
                self.take()
                continue
            self.expect("cmd", "end")
            self.raw_group()
            return Cases(tuple(rows))

    def condition(self) -> tuple[Node, str, Node] | None:
        if self.at("word") and self.peek.text.rstrip(".,:").lower() in ("else", "otherwise", "elsewhere"):
            self.take()
            while self.at("sym", "."):
                self.take()
            return None
        if self.at("word") and self.peek.text.lower() in ("if", "for"):
            self.take()
        left = self.expr()
        t = self.take()
        rel = RELATIONS.get(t.text) if t.kind in ("sym", "cmd") else None
        if rel is None:
            raise Unreadable(f"cannot read the condition at '{_show(t)}'")
        if rel in ("<", ">") and self.at("sym", "="):
            self.take()
            rel += "="
        return left, rel, self.expr()

    def atom_or_grad(self) -> Node:
        """A name, or the upstream notation ``g_{x_1}`` / ``g_{-x}`` (a g whose subscript is a name)."""
        if self.at("letter", "g") and self.tokens[self.i + 1].kind == "sym" and self.tokens[self.i + 1].text == "_":
            start = self.i
            self.take()
            self.take()
            sub = self.raw_group() if self.at("sym", "{") else [self.take()]
            if sub and sub[0].kind == "sym" and sub[0].text == "-":
                sub = sub[1:]
            inner = _only_atom(sub, self.lexicon)
            if inner is not None and inner.base[0].isalpha():
                return Grad(inner)
            self.i = start
        return self.atom()

    def atom(self) -> Atom:
        """A name: a letter, a word (the longest of the worksheet's that the letters spell), a Greek
        letter, an accent on one, with an optional subscript and an update mark (``^{+}``)."""
        t = self.take()
        accent = ""
        if t.kind == "cmd" and t.text in ACCENTS:
            accent = {"widehat": "hat", "overline": "bar"}.get(t.text, t.text)
            inner = self.raw_group() if self.at("sym", "{") else [self.take()]
            base_atom = _Parser(inner + [Token("end", "")], self.lexicon).atom()
            base, sub0 = base_atom.base, base_atom.sub
        elif t.kind == "letter":
            base, sub0 = self.word(t.text), ""
        elif t.kind == "word":
            base, sub0 = t.text, ""
        elif t.kind == "sym" and t.text == "{":  # \mathcal{L}: the wrapper is dropped, its group stays
            inner = self.atom()
            self.expect("sym", "}")
            base, sub0, accent = inner.base, inner.sub, inner.accent
        elif t.kind == "cmd" and t.text in GREEK:
            base, sub0 = t.text, ""
        else:
            raise Unreadable(f"unexpected '{_show(t)}'")
        step = self.update_mark()
        sub = sub0
        if self.at("sym", "_"):
            self.take()
            if self.at("sym", "{"):
                sub = _sub_text(self.raw_group())
            elif self.at("end"):
                raise Unreadable("a subscript is missing")
            else:
                sub = self.plain_subscript(base + accent)
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

    def plain_subscript(self, stem: str) -> str:
        """An unbraced subscript: one token as in LaTeX (``x_1``, ``h_o``; ``h1`` as one, as the
        tokens split it), or the longest run of glued letters and digits after it that makes a
        worksheet name with ``stem`` (``E_total``, ``net_h1``)."""
        first = self.take()
        if first.kind not in ("letter", "num"):
            return _sub_text([first])
        text = first.text + (self.digits() if first.kind == "letter" else "")
        choices = [(self.i, text)]
        while self.peek.glued and self.peek.kind in ("letter", "num"):
            t = self.take()
            text += t.text + (self.digits() if t.kind == "letter" else "")
            choices.append((self.i, text))
        named = [c for c in choices if self.lexicon.key(stem + c[1])]
        self.i, text = named[-1] if named else choices[0]
        return text

    def digits(self) -> str:
        """The digits of a plain ``h1``, which the tokens split as h _ { 1 }: taken, or ""."""
        window = self.tokens[self.i:self.i + 4]
        if len(window) == 4 and window[0].glued and [(t.kind, t.text) for t in window[:2]] == [
                ("sym", "_"), ("sym", "{")] and window[2].kind == "num" and window[3].text == "}":
            self.i += 4
            return window[2].text
        return ""

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


def _sub_text(tokens: list[Token]) -> str:
    """A subscript as plain text: ``{\\mathrm{out}}`` → out, ``{1}`` → 1, ``{C_1}`` → C1."""
    return "".join(t.text for t in tokens if not (t.kind == "sym" and t.text in "{}_,"))


def _derivative(num: list[Token], den: list[Token], lexicon: Lexicon) -> Deriv | None:
    """``\\frac{∂A}{∂B}`` (∂ also written d, δ, or OCR's 2 and 6) as a Deriv; None if it is not one."""
    if not num or not den:
        return None
    marker = (num[0].kind, num[0].text)
    if marker not in MARKERS or (den[0].kind, den[0].text) != marker:
        return None
    bottom = _only_atom(den[1:], lexicon)
    if bottom is None:
        return None
    if len(num) == 1:
        return Deriv(None, bottom) if marker[0] != "num" else None
    top = _only_atom(num[1:], lexicon)
    return Deriv(top, bottom) if top is not None else None


def _only_atom(tokens: list[Token], lexicon: Lexicon) -> Atom | None:
    p = _Parser(tokens + [Token("end", "")], lexicon)
    try:
        node = p.atom_or_grad()
    except Unreadable:
        return None
    return node if isinstance(node, Atom) and p.peek.kind == "end" else None
