"""The grammar of a derivation written in matrix notation: a recursive-descent parser of the tokens
(tokens.py) into a small tree of our own, which matrixeval.py computes exactly. The rules it
shares with the scalar grammar (sums, products, names, derivatives) are in cursor.py.

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

from .cursor import END, INFIX, Cursor, chain_members, derivative_mark, show, sub_text
from .tokens import Token, Unreadable, tokenize
from .tree import Atom, Deriv, Grad, Lexicon, Num

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
    return chain_members(tokenize(prepare(text)), lambda member: _Parser(member + [END], lexicon).whole(),
                         environments=True)


class _Parser(Cursor[MNode]):
    """The grammar of matrix notation over the tokens."""

    commands = frozenset({"frac", "dfrac", "tfrac", "partial", "sqrt", "boxed", "begin", "ones", "sum", "nabla",
                          "underset", "overset"}) | frozenset(ELEMENTWISE)
    infix = INFIX | {("cmd", "odot"): "had", ("cmd", "circ"): "had", ("cmd", "oslash"): "hdiv"}
    operation = MOp

    def power(self) -> MNode:
        node = self.primary()
        while self.at("sym", "^"):
            self.take()
            sup = self.raw_group() if self.at("sym", "{") else [self.take()]
            texts = [t.text for t in sup if not (t.kind == "sym" and t.text in "{}")]
            if len(texts) == 1 and texts[0] in TRANSPOSE:
                node = MOp("T", (node,))
            elif texts[:1] == ["circ"]:  # A^{\circ 2}: element-wise
                node = MOp("^", (node, self.over(sup[1:]).whole()))
            elif not sup or sup[0].kind == "end":
                raise Unreadable("a superscript is missing")
            else:
                node = MOp("^", (node, self.over(sup).whole()))
        return node

    def read_primary(self) -> MNode:
        t = self.peek
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
            return MOp("sqrt", (self.braced() if self.at("sym", "{") else self.power(),))
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
            return MOp("total" if both else "colsum", (self.power(),))
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
        args = self.arguments() if self.at("sym", "(") else [self.power()]
        if len(args) != (2 if name == "max" else 1):
            raise Unreadable(f"{name} takes {2 if name == 'max' else 1} argument{'s' * (name == 'max')}")
        return MOp(name + "'" * prime, tuple(args))

    def indicator(self) -> MNode:
        """𝟏[A > 0], 𝟏(A > 0), 𝟏_{A > 0}: 1 where the condition holds, else 0."""
        if self.at("sym", "_"):
            self.take()
            inner = self.over(self.raw_group())
            node = inner.condition()
            if not inner.at("end"):
                raise Unreadable(f"unexpected '{show(inner.peek)}'")
            return node
        close = "]" if self.take().text == "[" else ")"
        node = self.condition()
        self.expect("sym", close)
        return node

    def condition(self) -> MNode:
        left = self.expr()
        rel = self.relation()
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

    def fraction(self) -> MNode:
        num, den = self.raw_group(), self.raw_group()
        mark = derivative_mark(num, den)
        if mark is not None and mark[0] != "num":
            if len(num) == 1:
                raise Unreadable("an operator ∂/∂x applied to what follows is not read in matrix notation")
            return Deriv(self.inner_atom(num[1:]), self.inner_atom(den[1:]))
        return MOp("/", (self.over(num).whole(), self.over(den).whole()))

    def inner_atom(self, tokens: list[Token]) -> Atom:
        p = self.over(tokens)
        atom = p.atom()
        if not p.at("end"):
            raise Unreadable(f"cannot read the name at '{show(p.peek)}'")
        return atom

    def letters(self) -> str:
        """The glued letters from here (a word token is one already)."""
        if self.peek.kind == "word":
            return self.peek.text
        run, j = [self.peek.text], self.i + 1
        while self.tokens[j].kind == "letter" and self.tokens[j].glued:
            run.append(self.tokens[j].text)
            j += 1
        return "".join(run)

    def accented(self, tokens: list[Token]) -> Atom:
        return self.inner_atom(tokens)

    def subscript(self, stem: str) -> str:
        group = self.raw_group() if self.at("sym", "{") else [self.take()]
        sub = sub_text(group)
        if group and group[0].kind == "letter" and self.at("sym", "_") and self.peek.glued:  # h1 as h _ { 1 }
            self.take()
            sub += "".join(x.text for x in self.raw_group())
        return sub
