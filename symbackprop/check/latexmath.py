"""A small grammar for the math of a handwritten chain-rule derivation: a recursive-descent
parser of the tokens (tokens.py) into our own tree, which tosympy.py turns into SymPy. The rules
it shares with matrix notation (sums, products, names, derivatives) are in cursor.py.

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

import sympy as sp

from .cursor import END, Cursor, chain_members, derivative_mark, sub_text
from .tokens import ALWAYS_FUNCS, FUNCS, Token, Unreadable, tokenize
from .tree import PLAIN, Atom, Cases, Deriv, Grad, Lexicon, Node, Num, Op, written_number


# -- the parser ------------------------------------------------------------------------------
def parse_chain(text: str, lexicon: Lexicon = PLAIN) -> list[Node | Unreadable]:
    """An equation chain ``a = b = … = v`` into its members; a member that cannot be read is an
    Unreadable in its place (the others are still checked). ``w \\leftarrow e = v`` is the update
    of w: its left side is w after step 1."""
    return chain_members(tokenize(text), lambda member: parse_tokens(member, lexicon), environments=False)


def parse_tokens(tokens: list[Token], lexicon: Lexicon = PLAIN) -> Node:
    return _Parser(tokens + [END], lexicon).whole()


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


class _Parser(Cursor[Node]):
    """The scalar grammar over the tokens."""

    commands = frozenset({"frac", "dfrac", "tfrac", "partial", "sqrt", "boxed", "exp", "log", "ln", "begin"}) \
        | frozenset(FUNCS)
    argument_missing = "\\frac needs two arguments"
    operation = Op

    def expr(self) -> Node:
        node = super().expr()
        if self.at("cmd", "pm"):
            raise Unreadable("± is not read")
        return node

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

    def read_primary(self) -> Node:
        t = self.peek
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
            if t.text in FUNCS and (t.text in ALWAYS_FUNCS or self.applied()):
                return self.function()
        if t.kind == "letter" and t.text == "d" and self.slash_ahead():
            return self.slash_derivative("d")
        if t.kind == "word" and re.match(r"^grad[-_]", t.text):
            self.take()
            atom = parse_atom(t.text[5:])
            if atom is None:
                raise Unreadable(f"cannot read the name in '{t.text}'")
            return Grad(atom)
        if t.kind == "word" and t.text in FUNCS and self.applied():
            return self.function()
        return self.atom_or_grad()

    def applied(self) -> bool:
        return self.ahead().kind == "sym" and self.ahead().text == "("

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

    def function(self) -> Node:
        name = FUNCS[self.take().text]
        if name == "log" and self.at("sym", "_"):
            self.take()
            base = self.group_or_single()
            if base != Num(sp.Integer(10)):
                raise Unreadable("only \\log_{10} has a base that is read")
            name = "log10"
        if self.at("sym", "("):
            return Op(name, tuple(self.arguments()))
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
        rel = self.relation()
        return left, rel, self.expr()

    def atom_or_grad(self) -> Node:
        """A name, or the upstream notation ``g_{x_1}`` / ``g_{-x}`` (a g whose subscript is a name)."""
        if self.at("letter", "g") and self.ahead().kind == "sym" and self.ahead().text == "_":
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

    def accented(self, tokens: list[Token]) -> Atom:
        return self.over(tokens).atom()

    def subscript(self, stem: str) -> str:
        return sub_text(self.raw_group()) if self.at("sym", "{") else self.plain_subscript(stem)

    def plain_subscript(self, stem: str) -> str:
        """An unbraced subscript: one token as in LaTeX (``x_1``, ``h_o``; ``h1`` as one, as the
        tokens split it), or the longest run of glued letters and digits after it that makes a
        worksheet name with ``stem`` (``E_total``, ``net_h1``)."""
        first = self.take()
        if first.kind not in ("letter", "num"):
            return sub_text([first])
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


def _derivative(num: list[Token], den: list[Token], lexicon: Lexicon) -> Deriv | None:
    """``\\frac{∂A}{∂B}`` (∂ also written d, δ, or OCR's 2 and 6) as a Deriv; None if it is not one."""
    marker = derivative_mark(num, den)
    if marker is None:
        return None
    bottom = _only_atom(den[1:], lexicon)
    if bottom is None:
        return None
    if len(num) == 1:
        return Deriv(None, bottom) if marker[0] != "num" else None
    top = _only_atom(num[1:], lexicon)
    return Deriv(top, bottom) if top is not None else None


def _only_atom(tokens: list[Token], lexicon: Lexicon) -> Atom | None:
    p = _Parser(tokens + [END], lexicon)
    try:
        node = p.atom_or_grad()
    except Unreadable:
        return None
    return node if isinstance(node, Atom) and p.peek.kind == "end" else None
