"""The grammar of a derivation written in matrix notation: a recursive-descent parser of the tokens
(tokens.py) into a small tree of our own, which matrixeval.py computes exactly.

Beyond the scalar grammar (numbers, names, ``\\frac``, derivatives) it reads matrices written
inline (``bmatrix``, ``pmatrix``, ``matrix`` inside ``\\left[ … \\right]``), transposes (``X^T``,
``X^\\top``, ``X^{\\mathsf T}``, ``X^{T}``, ``Xᵀ``), ``\\odot``/``\\circ`` (element-wise product),
``\\oslash``, the indicator ``\\mathbb{1}[A > 0]`` (also ``\\mathbb{I}``, ``\\mathbf{1}``,
``relu'(A)``), the vector of ones ``\\mathbf{1}^\\top G`` (column sums) and ``G \\mathbf{1}`` (row
sums), ``\\sum_i G`` (the sum over the batch, one row) and ``\\sum_{i,j}`` (every entry),
juxtaposition as the matrix product, and the gradient notations ``\\frac{\\partial L}{\\partial
W_1}``, ``∂L/∂W1``, ``dL/dW_1``, ``\\nabla_{W_1} L``, ``\\delta_A``, ``dW_1``, ``g_{Z}``.
Nothing here evaluates text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .latexmath import MARKERS
from .tokens import ACCENTS, GREEK, RELATIONS, TIMES, Token, Unreadable, tokenize
from .tree import UPDATE_ARROWS, Atom, Deriv, Grad, Lexicon, Num, written_number

MAX_DEPTH = 40
MATRIX_ENVS = ("bmatrix", "pmatrix", "matrix", "Bmatrix", "smallmatrix", "bmatrix*", "pmatrix*")
ELEMENTWISE = {"relu": "relu", "ReLU": "relu", "sigma": "sigmoid", "sigmoid": "sigmoid", "exp": "exp", "log": "log",
               "ln": "log", "tanh": "tanh", "sqrt": "sqrt", "softmax": "softmax", "max": "max",
               "rowsum": "rowsum", "colsum": "colsum", "sum": "total"}
TRANSPOSE = {"T", "top", "intercal", "mathsf"}
_TEXT = [  # Unicode and the ways of writing a vector of ones, before the tokens
    (re.compile(r"\\(?:mathbb|mathbf|boldsymbol|bm|mathds|mathbbm)\s*(?:\{\s*1\s*\}|1(?!\d))"), r" \\ones "),
    (re.compile(r"\\(?:mathbb|mathds|mathbbm)\s*(?:\{\s*I\s*\}|I(?![A-Za-z]))"), r" \\ones "),
    (re.compile("𝟙|𝟏"), r" \\ones "), (re.compile("⊙"), r" \\odot "), (re.compile("∘"), r" \\circ "),
    (re.compile("⊘"), r" \\oslash "), (re.compile("ᵀ"), "^{T}"), (re.compile("⊤"), r" \\top "),
    (re.compile("∇"), r" \\nabla "), (re.compile("∑"), r" \\sum "), (re.compile("η"), r" \\eta "),
    (re.compile("λ"), r" \\lambda "), (re.compile("δ"), r" \\delta "),
]


@dataclass(frozen=True)
class Mat:
    """A matrix written inline: its rows of entries."""

    rows: tuple[tuple[MNode, ...], ...]


@dataclass(frozen=True)
class Ones:
    """The vector of ones 𝟏: its length is what the product it stands in needs."""


@dataclass(frozen=True)
class MOp:
    """An operation: ``+ neg * had hdiv / ^ T`` (``*`` is the matrix product, or a scaling when
    one side is a number), ``ind`` (the indicator of ``rel``), ``colsum rowsum total``, an
    element-wise function (relu, sigmoid, exp, log, tanh, sqrt, max), ``softmax`` (row by row),
    ``relu'`` and ``sigmoid'``."""

    op: str
    args: tuple[MNode, ...]
    rel: str = ""


MNode = Num | Atom | Deriv | Grad | Mat | Ones | MOp


def prepare(text: str) -> str:
    """Unicode signs and the many ways of writing 𝟏 as the commands the parser reads."""
    for pattern, replacement in _TEXT:
        text = pattern.sub(replacement, text)
    return text


def parse_matrix_chain(text: str, lexicon: Lexicon) -> list[MNode | Unreadable]:
    """An equation chain ``a = b = … = v`` (``\\approx`` too) into its members; a member that cannot
    be read is an Unreadable in its place. ``W \\leftarrow e = v`` is the update of W."""
    tokens = tokenize(prepare(text))
    members: list[list[Token]] = [[]]
    depth = 0
    arrow = False
    for t in tokens[:-1]:
        if t.kind == "sym" and t.text in "({[":
            depth += 1
        elif t.kind == "sym" and t.text in ")}]":
            depth -= 1
        elif t.kind == "cmd" and t.text in ("begin", "end"):
            depth += 1 if t.text == "begin" else -1
        if depth == 0 and (t.kind == "sym" and t.text == "=" or t.kind == "cmd" and t.text in ("approx", "equiv")
                           or t.kind == "cmd" and t.text in UPDATE_ARROWS and len(members) == 1):
            arrow = arrow or t.text in UPDATE_ARROWS
            members.append([])
        else:
            members[-1].append(t)
    out: list[MNode | Unreadable] = []
    for member in members:
        try:
            out.append(_Parser(member + [Token("end", "")], lexicon).whole() if member else Unreadable("empty"))
        except Unreadable as exc:
            out.append(exc)
    if arrow:
        first = out[0]
        out[0] = Atom(first.base, first.sub, first.accent, first.step or 1) if isinstance(first, Atom) else \
            Unreadable("the left of an update arrow is no name")
    return out


class _Parser:
    """Recursive descent over the tokens, depth-limited."""

    def __init__(self, tokens: list[Token], lexicon: Lexicon) -> None:
        self.tokens = tokens
        self.lexicon = lexicon
        self.i = 0
        self.depth = 0

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
            raise Unreadable(f"expected '{text}' but found '{_show(self.peek)}'")
        self.take()

    def whole(self) -> MNode:
        node = self.expr()
        if not self.at("end"):
            raise Unreadable(f"unexpected '{_show(self.peek)}'")
        return node

    def expr(self) -> MNode:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unreadable("nested too deeply")
        node = self.term()
        while self.at("sym", "+") or self.at("sym", "-"):
            op = self.take().text
            right = self.term()
            node = MOp("+", (node, right if op == "+" else MOp("neg", (right,))))
        self.depth -= 1
        return node

    def term(self) -> MNode:
        node = self.unary()
        while True:
            t = self.peek
            if t.kind == "sym" and t.text == "*" or t.kind == "cmd" and t.text in TIMES:
                self.take()
                node = MOp("*", (node, self.unary()))
            elif t.kind == "cmd" and t.text in ("odot", "circ"):
                self.take()
                node = MOp("had", (node, self.unary()))
            elif t.kind == "cmd" and t.text == "oslash":
                self.take()
                node = MOp("hdiv", (node, self.unary()))
            elif t.kind == "sym" and t.text == "/" or t.kind == "cmd" and t.text == "div":
                self.take()
                node = MOp("/", (node, self.unary()))
            elif self.starts_primary():
                node = MOp("*", (node, self.postfix()))
            else:
                return node

    def unary(self) -> MNode:
        if self.at("sym", "-"):
            self.take()
            return MOp("neg", (self.unary(),))
        if self.at("sym", "+"):
            self.take()
            return self.unary()
        return self.postfix()

    def postfix(self) -> MNode:
        node = self.primary()
        while self.at("sym", "^"):
            self.take()
            sup = self.raw_group() if self.at("sym", "{") else [self.take()]
            texts = [t.text for t in sup if not (t.kind == "sym" and t.text in "{}")]
            if len(texts) == 1 and texts[0] in TRANSPOSE:
                node = MOp("T", (node,))
            elif texts[:1] == ["circ"]:  # A^{\circ 2}: element-wise
                node = MOp("^", (node, _Parser(sup[1:] + [Token("end", "")], self.lexicon).whole()))
            elif not sup or sup[0].kind == "end":
                raise Unreadable("a superscript is missing")
            else:
                node = MOp("^", (node, _Parser(sup + [Token("end", "")], self.lexicon).whole()))
        return node

    def starts_primary(self) -> bool:
        t = self.peek
        if t.kind in ("num", "letter", "word", "grad"):
            return True
        if t.kind == "sym":
            return t.text in "([{"
        return t.kind == "cmd" and (t.text in ("frac", "dfrac", "tfrac", "partial", "sqrt", "boxed", "begin", "ones",
                                               "sum", "nabla", "underset", "overset") or t.text in GREEK
                                    or t.text in ACCENTS or t.text in ELEMENTWISE)

    def primary(self) -> MNode:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unreadable("nested too deeply")
        node = self._primary()
        self.depth -= 1
        return node

    def _primary(self) -> MNode:
        t = self.peek
        if t.kind == "num":
            self.take()
            return written_number(t.text)
        if t.kind == "sym" and t.text in "([{":
            close = {"(": ")", "[": "]", "{": "}"}[self.take().text]
            node = self.expr()
            self.expect("sym", close)
            return node
        if t.kind == "cmd":
            return self.command(t)
        if t.kind == "letter" and t.text == "d" and self.slash_ahead():
            return self.slash_derivative("d")
        if t.kind == "letter" and t.text == "d" and self.ahead().kind == "letter" and self.ahead().glued \
                and not self.lexicon.key("d"):  # dW1, dZ: the gradient of W1, of Z
            self.take()
            return Grad(self.atom())
        if t.kind in ("word", "letter"):
            run = self.letters()
            name = ELEMENTWISE.get(run)
            if name is not None and (self.ahead(len(run) if t.kind == "letter" else 1).text in ("(", "'")):
                self.i += len(run) if t.kind == "letter" else 1
                return self.function(name)
            if t.kind == "letter" and t.text == "g" and self.ahead().text == "_":
                self.take()
                self.take()
                return Grad(self.atom() if not self.at("sym", "{") else self.inner_atom(self.raw_group()))
        return self.atom()

    def command(self, t: Token) -> MNode:
        name = t.text
        if name in ("frac", "dfrac", "tfrac"):
            self.take()
            return self.fraction()
        if name == "boxed":
            self.take()
            return self.braced()
        if name in ("underset", "overset"):  # \underset{2\times 3}{A}: the shape label dropped
            self.take()
            self.raw_group()
            return self.braced()
        if name == "sqrt":
            self.take()
            return MOp("sqrt", (self.braced() if self.at("sym", "{") else self.postfix(),))
        if name == "begin":
            return self.matrix()
        if name == "partial":
            return self.slash_derivative("partial")
        if name == "nabla":
            self.take()
            self.expect("sym", "_")
            bottom = self.inner_atom(self.raw_group()) if self.at("sym", "{") else self.atom()
            return Deriv(self.atom(), bottom)
        if name == "ones":
            self.take()
            return self.indicator() if self.peek.text in ("[", "(", "_") else Ones()
        if name == "sum":
            self.take()
            index = ""
            if self.at("sym", "_"):
                self.take()
                index = "".join(x.text for x in (self.raw_group() if self.at("sym", "{") else [self.take()]))
            if self.at("sym", "^"):
                self.take()
                self.raw_group() if self.at("sym", "{") else self.take()
            both = "," in index or len(re.sub(r"=.*", "", index)) > 1
            return MOp("total" if both else "colsum", (self.postfix(),))
        if name in ELEMENTWISE and name not in ("sigma",) or name == "sigma" and self.ahead().text in ("(", "'"):
            self.take()
            return self.function(ELEMENTWISE[name])
        return self.atom()

    def function(self, name: str) -> MNode:
        prime = self.at("sym", "'")
        if prime:
            self.take()
            if name not in ("relu", "sigmoid"):
                raise Unreadable(f"the derivative {name}' is not read")
        if self.at("sym", "("):
            self.take()
            args = [self.expr()]
            while self.at("sym", ","):
                self.take()
                args.append(self.expr())
            self.expect("sym", ")")
        else:
            args = [self.postfix()]
        if len(args) != (2 if name == "max" else 1):
            raise Unreadable(f"{name} takes {2 if name == 'max' else 1} argument{'s' * (name == 'max')}")
        return MOp(name + "'" * prime, tuple(args))

    def indicator(self) -> MNode:
        """𝟏[A > 0], 𝟏(A > 0), 𝟏_{A > 0}: 1 where the condition holds, else 0."""
        if self.at("sym", "_"):
            self.take()
            inner = _Parser(self.raw_group() + [Token("end", "")], self.lexicon)
            node = inner.condition()
            if not inner.at("end"):
                raise Unreadable(f"unexpected '{_show(inner.peek)}'")
            return node
        close = "]" if self.take().text == "[" else ")"
        node = self.condition()
        self.expect("sym", close)
        return node

    def condition(self) -> MNode:
        left = self.expr()
        t = self.take()
        rel = RELATIONS.get(t.text) if t.kind in ("sym", "cmd") else None
        if rel is None:
            raise Unreadable(f"cannot read the condition at '{_show(t)}'")
        if rel in ("<", ">") and self.at("sym", "="):
            self.take()
            rel += "="
        return MOp("ind", (left, self.expr()), rel)

    def matrix(self) -> MNode:
        self.take()
        env = "".join(t.text for t in self.raw_group())
        if env not in MATRIX_ENVS:
            raise Unreadable(f"the environment '{env}' is not read")
        rows: list[list[MNode]] = [[]]
        while True:
            if self.at("cmd", "end"):
                self.take()
                self.raw_group()
                break
            if self.at("end"):
                raise Unreadable(f"\\begin{{{env}}} has no \\end")
            rows[-1].append(self.expr())
            if self.at("sym", "&"):
                self.take()
            elif self.at("cmd", "\\"):
                self.take()
                rows.append([])
        rows = [r for r in rows if r]
        if not rows or len({len(r) for r in rows}) != 1:
            raise Unreadable("the rows of a matrix have different lengths")
        return Mat(tuple(tuple(r) for r in rows))

    def braced(self) -> MNode:
        self.expect("sym", "{")
        node = self.expr()
        self.expect("sym", "}")
        return node

    def raw_group(self) -> list[Token]:
        """The tokens of one ``{…}`` argument (or one token: ``\\frac12``)."""
        if not self.at("sym", "{"):
            t = self.peek
            if t.kind == "num" and t.text.isdigit() and len(t.text) > 1:
                self.tokens[self.i] = Token("num", t.text[1:], True)
                return [Token("num", t.text[0])]
            if t.kind == "end":
                raise Unreadable("an argument is missing")
            self.take()
            return [t]
        self.take()
        level, out = 1, []
        while True:
            t = self.take()
            if t.kind == "end":
                raise Unreadable("a brace is not closed")
            if t.kind == "sym" and t.text == "{":
                level += 1
            elif t.kind == "sym" and t.text == "}":
                level -= 1
                if level == 0:
                    return out
            out.append(t)

    def fraction(self) -> MNode:
        num, den = self.raw_group(), self.raw_group()
        if num and den and (num[0].kind, num[0].text) in MARKERS and (den[0].kind, den[0].text) == \
                (num[0].kind, num[0].text) and num[0].kind != "num":
            if len(num) == 1:
                raise Unreadable("an operator ∂/∂x applied to what follows is not read in matrix notation")
            return Deriv(self.inner_atom(num[1:]), self.inner_atom(den[1:]))
        return MOp("/", (_Parser(num + [Token("end", "")], self.lexicon).whole(),
                         _Parser(den + [Token("end", "")], self.lexicon).whole()))

    def inner_atom(self, tokens: list[Token]) -> Atom:
        p = _Parser(tokens + [Token("end", "")], self.lexicon)
        atom = p.atom()
        if not p.at("end"):
            raise Unreadable(f"cannot read the name at '{_show(p.peek)}'")
        return atom

    def slash_ahead(self) -> bool:
        start = self.i
        try:
            self.take()
            self.atom()
            ok = self.at("sym", "/") and self.ahead().kind == "letter" and self.ahead().text == "d"
        except Unreadable:
            ok = False
        self.i = start
        return ok

    def slash_derivative(self, marker: str) -> MNode:
        self.take()
        top = self.atom()
        self.expect("sym", "/")
        if not (self.at("cmd", "partial") if marker == "partial" else self.at("letter", "d")):
            raise Unreadable(f"expected ∂ after '/' in ∂{top.text}/…")
        self.take()
        return Deriv(top, self.atom())

    def letters(self) -> str:
        """The glued letters from here (a word token is one already)."""
        if self.peek.kind == "word":
            return self.peek.text
        run, j = [self.peek.text], self.i + 1
        while self.tokens[j].kind == "letter" and self.tokens[j].glued:
            run.append(self.tokens[j].text)
            j += 1
        return "".join(run)

    def atom(self) -> Atom:
        """A name: a letter (or the longest worksheet name the glued letters spell), a word, a Greek
        letter or an accented one, with a subscript and an update mark (``^{(1)}``, ``^{+}``)."""
        t = self.take()
        accent = ""
        if t.kind == "cmd" and t.text in ACCENTS:
            accent = {"widehat": "hat", "overline": "bar"}.get(t.text, t.text)
            inner = self.inner_atom(self.raw_group() if self.at("sym", "{") else [self.take()])
            base, sub = inner.base, inner.sub
        elif t.kind == "letter":
            run = [t.text]
            j = self.i
            while self.tokens[j].kind == "letter" and self.tokens[j].glued:
                run.append(self.tokens[j].text)
                j += 1
            taken = next((n for n in range(len(run), 1, -1) if self.lexicon.word("".join(run[:n]))), 1)
            self.i += taken - 1
            base, sub = "".join(run[:taken]), ""
        elif t.kind == "word":
            base, sub = t.text, ""
        elif t.kind == "sym" and t.text == "{":  # \mathcal{L}: the wrapper is dropped
            inner = self.atom()
            self.expect("sym", "}")
            base, sub, accent = inner.base, inner.sub, inner.accent
        elif t.kind == "cmd" and t.text in GREEK:
            base, sub = t.text, ""
        else:
            raise Unreadable(f"unexpected '{_show(t)}'")
        step = self.update_mark()
        if self.at("sym", "_"):
            self.take()
            if self.at("end"):
                raise Unreadable("a subscript is missing")
            group = self.raw_group() if self.at("sym", "{") else [self.take()]
            sub = "".join(x.text for x in group if not (x.kind == "sym" and x.text in "{}_,"))
            if group[0].kind == "letter" and self.at("sym", "_") and self.peek.glued:  # h1 as h _ { 1 }
                self.take()
                sub += "".join(x.text for x in self.raw_group())
        return Atom(base, sub, accent, step or self.update_mark())

    def update_mark(self) -> int:
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


def _show(t: Token) -> str:
    return ("\\" + t.text) if t.kind == "cmd" else (t.text or "end of line")

