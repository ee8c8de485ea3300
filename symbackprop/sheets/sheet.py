"""The layout rules of a solution sheet: which equations it shows, in what order, how they break.

A Sheet holds LaTeX fragments only; the templates decide how they are set on the page.
Notes are our own sentences with ``$…$`` math: no user text enters them unescaped.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sympy as sp

from ..language import expr as E
from ..engine.derive import Derivation, adjoint_symbol
from ..matrix.derive import MatrixDerivation
from ..language.evaluate import evaluate, symbol
from .figure import Figure, build as build_figure
from ..language.ops import Conventions
from ..worksheet.read import Worksheet
from .printing import SheetPrinter, default_name_latex, tree_latex, tree_terms, tree_terms_with

WIDTH = 60  # estimated width of one line of display math, in characters

Step = tuple[str, ...]  # the terms of one step; after the first, each starts with its sign


@dataclass(frozen=True)
class Equation:
    """``lhs = step = step = …``, already broken into aligned rows."""

    lhs: str
    rows: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Block:
    """The backward step for one name: the local derivatives it uses, then its chain rule."""

    name: str
    heading: str
    note: str
    locals: tuple[Equation, ...]
    equation: Equation | None
    after: tuple[Equation, ...] = ()  # a matrix too wide for a line, entry by entry

    @property
    def equations(self) -> tuple[Equation, ...]:
        return self.locals + ((self.equation,) if self.equation else ()) + self.after


@dataclass(frozen=True)
class UpdateSection:
    """One gradient-descent step: each parameter's new value, then the loss at the new values."""

    number: int
    note: str
    equations: tuple[Equation, ...]


@dataclass(frozen=True)
class Answer:
    """One asked gradient: for a table (quantity, value, approx) or a display (equation)."""

    quantity: str
    value: str
    approx: str
    equation: Equation


@dataclass(frozen=True)
class Sheet:
    """Everything a template needs; ``title``, ``description``, ``course``, ``author`` and ``date``
    are the user's raw text. ``definitions`` state the graph (for an exercise); ``figure`` draws it."""

    title: str
    description: str
    notation: str
    given: tuple[str, ...]
    symbolic: tuple[str, ...]
    edges: tuple[str, ...]
    forward: tuple[Equation, ...]
    backward: tuple[Block, ...]
    answers: tuple[Answer, ...]
    notes: tuple[str, ...]
    loss: str
    course: str = ""
    author: str = ""
    date: str = ""
    paper: str = "a4"
    definitions: tuple[Equation, ...] = ()
    figure: Figure | None = None
    updates: tuple[UpdateSection, ...] = ()
    given_columns: int = 4  # given values set on one line
    matrices: bool = False  # in matrix notation: answers as displayed equations, not a table
    expanded: tuple[Block, ...] = ()  # entries written out in scalars (solve --expand)


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
        clean[-1] = (r"\boxed{" + " ".join(clean[-1]) + "}",)
    if approx and clean:
        clean.append((r"\approx " + approx,))
    rows: list[str] = []
    line, used, empty = lhs + " &= ", visual_length(lhs) + 3, True
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


# The variants of a class print the same symbolic expressions again and again: print each once.
@functools.lru_cache(maxsize=1 << 12)
def _factor_terms(expr: sp.Expr) -> sp.Expr:
    """Common factors pulled out, and a minus sign in front of the factor rather than on the
    first term inside it: -2 (D - t), as a hand would write it, not 2 (-D + t)."""
    factored = sp.factor_terms(expr)
    if not factored.is_Mul:
        return factored
    sums = [a for a in factored.args if a.is_Add]
    if len(sums) != 1 or not sums[0].as_ordered_terms()[0].could_extract_minus_sign():
        return factored
    rest = [a for a in factored.args if a is not sums[0]]
    return sp.Mul(-sp.Mul(*rest), -sums[0], evaluate=False)


@functools.lru_cache(maxsize=64)
def _printed(names: tuple[tuple[sp.Symbol, str], ...]) -> dict[sp.Basic, str]:
    """The LaTeX printed so far with these names (symbol → LaTeX, as items), by value."""
    return {}


class Naming:
    """The LaTeX of a sheet's names and gradients (∂L/∂x or g_x), shared by the scalar and the
    matrix layouts."""

    def __init__(self, d: Derivation | MatrixDerivation, notation: str) -> None:
        ws = d.worksheet
        self.upstream = notation == "upstream"
        overrides = dict(ws.symbols)
        self.names = {n: overrides.get(n) or default_name_latex(n) for n in d.graph.order}
        self.loss_tex = self.names.get(ws.loss) or default_name_latex(ws.loss)

    def heading(self, n: str) -> str:
        """A gradient written inline, for headings."""
        if self.upstream:
            return self.grad(n)
        return r"\partial " + self.loss_tex + r" / \partial " + self.names[n]

    def grad(self, n: str) -> str:
        if self.upstream:
            return "g_{" + self.names[n] + "}"
        return r"\frac{\partial " + self.loss_tex + r"}{\partial " + self.names[n] + "}"

    def fan_out(self, name: str, children: list[str]) -> str:
        """The sentence that says a name feeds several nodes ("" when it feeds one)."""
        if len(children) < 2:
            return ""
        listed = ", ".join(f"${self.names[c]}$" for c in children[:-1]) + f" and ${self.names[children[-1]]}$"
        return (f"${self.names[name]}$ feeds {listed}: its gradient is the sum over "
                f"{'both paths' if len(children) == 2 else f'all {len(children)} paths'}.")

    def update_note(self, k: int, eta: str, loss_before: str) -> str:
        """The sentence that opens gradient-descent step k."""
        before = f"${self.loss_tex} = {loss_before}$"
        if k == 1:
            return f"With the learning rate $\\eta = {eta}$ and the gradients of the backward pass above (at {before}):"
        return (f"With the gradients at the numbers of step {k - 1} (at {before}; a forward and backward "
                "pass like the one above, not written out):")


class _Layout(Naming):
    """Builds a Sheet from a Derivation; holds the printers and names so each method stays short."""

    def __init__(self, d: Derivation, notation: str) -> None:
        super().__init__(d, notation)
        self.d = d
        ws = d.worksheet
        tex = {symbol(n): t for n, t in self.names.items()}
        tex.update({adjoint_symbol(ws.loss, n): self.grad(n) for n in d.graph.order})
        self.printer = SheetPrinter(tex)
        self.printed = _printed(tuple(tex.items()))
        self.substituting = SheetPrinter(tex, d.known)
        self.numbers = {n: d.forward[n].value for n in d.graph.order if d.forward[n].value.is_number}
        self.conventions = Conventions(ws.relu_at_zero)
        self.defs = {n.name: n for n in ws.nodes}

    # -- names ----------------------------------------------------------------------------
    def name(self, n: str) -> str:
        return self.names[n]

    def partial(self, top: str, bottom: str) -> str:
        return r"\frac{\partial " + self.names[top] + r"}{\partial " + self.names[bottom] + "}"

    def tex(self, value: sp.Expr) -> str:
        text = self.printed.get(value)
        if text is None:
            if len(self.printed) > 1 << 16:
                self.printed.clear()
            text = self.printed[value] = self.printer.doprint(value)
        return text

    def terms(self, value: sp.Expr) -> Step:
        """A value as pieces a line may break between: its top-level terms (``a``, ``- b``,
        ``+ c``), and the factors of a product too long for one line."""
        ordered = self.printer._as_ordered_terms(value) if value.is_Add else [value]
        out: list[str] = []
        for i, term in enumerate(ordered):
            negative = i > 0 and term.could_extract_minus_sign()
            sign = "- " if negative else "+ " if i else ""
            out.extend(self.factors(-term if negative else term, sign))
        return tuple(out)

    def factors(self, term: sp.Expr, sign: str) -> list[str]:
        """One term after its sign; a product longer than a line as one piece per factor."""
        tex = self.tex(term)
        if not term.is_Mul or visual_length(tex) <= WIDTH:
            return [sign + (r"\left(" + tex + r"\right)" if self.printer._needs_add_brackets(term) else tex)]
        coeff, rest = term.as_coeff_Mul()
        if coeff < 0:
            sign = {"": "- ", "+ ": "- ", "- ": "+ "}[sign]
        pieces = [] if abs(coeff) == 1 else [self.tex(abs(coeff))]
        for factor in sp.Mul.make_args(rest):
            body = self.tex(factor)
            pieces.append(r"\left(" + body + r"\right)" if factor.is_Add else body)
        return [sign + pieces[0]] + pieces[1:]

    def paren(self, value: sp.Expr) -> str:
        return r"\left(" + self.tex(value) + r"\right)"

    def approx(self, value: sp.Expr) -> str:
        digits = self.d.worksheet.decimals
        if not digits or not value.is_number or value.is_Integer:
            return ""
        return str(sp.N(value, digits))

    # -- sections -------------------------------------------------------------------------
    def given(self) -> tuple[str, ...]:
        return tuple(self.name(g.name) + " = " + self.tex(g.value)
                     for g in self.d.worksheet.given if g.value is not None)

    def symbolic(self) -> tuple[str, ...]:
        return tuple(self.name(g.name) for g in self.d.worksheet.given if g.value is None)

    def edges(self) -> tuple[str, ...]:
        return tuple(self.partial(e.head, e.tail) + " = " + tree_latex(e.expr, self.name, self.printer)
                     for e in self.d.worksheet.edges)

    def substitute(self, tree: E.Expr) -> E.Expr:
        """The tree with every name whose value is a number replaced by that number."""
        if isinstance(tree, E.Name) and tree.id in self.numbers:
            return E.Value(self.numbers[tree.id])
        if isinstance(tree, E.Apply):
            return E.Apply(tree.op, tuple(self.substitute(a) for a in tree.args))
        return tree

    def one_step(self, tree: E.Expr) -> E.Expr:
        """Evaluate each operand of the outermost operation (each term of a top-level sum)."""
        if not isinstance(tree, E.Apply):
            return tree
        if tree.op in ("+", "-"):
            left = self.one_step(tree.args[0]) if _is_sum(tree.args[0]) else self.value_of(tree.args[0])
            right = self.value_of(tree.args[1])
            if isinstance(right, E.Value) and right.value.could_extract_minus_sign():
                flipped = "-" if tree.op == "+" else "+"
                return E.Apply(flipped, (left, E.Value(-right.value)))
            return E.Apply(tree.op, (left, right))
        return E.Apply(tree.op, tuple(self.value_of(a) for a in tree.args))

    def value_of(self, tree: E.Expr) -> E.Expr:
        if isinstance(tree, E.Apply):
            return E.Value(evaluate(tree, self.numbers, self.conventions))
        return tree

    def forward(self) -> tuple[Equation, ...]:
        out = []
        for name in self.d.graph.order:
            if name not in self.defs:
                continue
            tree = self.defs[name].expr
            value = self.d.forward[name].value
            steps = [tree_terms(tree, self.name, self.printer)]
            if value.is_number:
                substituted = self.substitute(tree)
                steps.append(tree_terms(substituted, self.name, self.printer))
                steps.append(tree_terms(self.one_step(substituted), self.name, self.printer))
                steps.append(self.terms(value))
            is_loss = name == self.d.loss
            out.append(Equation(self.name(name), wrap(self.name(name), steps, is_loss and value.is_number,
                                                      self.approx(value))))
        return tuple(out)

    def differentiate(self, child: str, name: str) -> str:
        """∂/∂name (the definition of child), as written in the worksheet."""
        body = " ".join(tree_terms_with(self.defs[child].expr, name, self.name, self.printer))
        return r"\frac{\partial}{\partial " + self.name(name) + r"}\left(" + body + r"\right)"

    def local(self, child: str, name: str, local: sp.Expr, local_value: sp.Expr) -> Equation:
        """∂child/∂name = ∂/∂name (definition) = symbolic = substituted = value."""
        d = self.d
        lhs = self.partial(child, name)
        steps: list[Step] = []
        note = ""
        if child in self.defs:
            steps.append((self.differentiate(child, name),))
            steps.append((self.tex(_factor_terms(local)),))
            rule = d.forward[child].rule
            if rule is not None and not rule.is_Symbol and local.has(rule) and local != rule:
                steps.append((self.tex(local.xreplace({rule: symbol(child)})),))
        else:
            steps.append((self.tex(local),))
            note = "given on the edge"
        if local_value != local:
            if not local.is_Symbol and not local.has(sp.Heaviside, sp.KroneckerDelta, sp.sign):
                steps.append((self.substituting.doprint(_factor_terms(local)),))
            steps.append(self.terms(local_value))
        return Equation(lhs, wrap(lhs, steps, False), note)

    def block(self, name: str) -> Block:
        d = self.d
        adj = d.adjoints[name]
        loss = d.loss
        specified = not d.worksheet.loss_unspecified
        children = [t.child for t in adj.terms]
        note = self.fan_out(name, children)
        if not specified and children == [loss]:
            return Block(name, self.heading(name),
                         f"The loss ${self.loss_tex}$ is not specified, so ${self.grad(name)}$ stays a symbol.",
                         (), None)
        only_loss = children == [loss]
        locals_ = tuple(self.local(t.child, name, t.local, t.local_value)
                        for t in adj.terms if t.child != loss or len(children) > 1 and specified)
        chain, symbolic, numbers, parts = [], [], [], []
        for i, t in enumerate(adj.terms):
            sign = "" if i == 0 else "+ "
            if t.child == loss:
                local = _factor_terms(t.local)
                chain.append(sign + (self.differentiate(loss, name) if only_loss else self.partial(loss, name)))
                symbolic.append(sign + self.tex(local))
                numbers.append(sign + self.substituting.doprint(local))
            else:
                chain.append(sign + self.grad(t.child) + r" \cdot " + self.partial(t.child, name))
                symbolic.append(sign + self.grad(t.child) + r" \cdot " + self._factor(t.local))
                upstream, local = sign + self.paren(t.upstream), self.paren(t.local_value)
                fits = visual_length(upstream) + visual_length(local) <= WIDTH
                numbers.extend((upstream + local,) if fits else (upstream, local))
            parts.append(sign + self.tex(t.contribution) if i == 0 or not t.contribution.could_extract_minus_sign()
                         else "- " + self.tex(-t.contribution))
        steps: list[Step] = [tuple(chain), tuple(symbolic)]
        if all(t.upstream.is_number and t.local_value.is_number for t in adj.terms):
            steps.append(tuple(numbers))
            if len(parts) > 1 and not _reordered(adj.value, [t.contribution for t in adj.terms]):
                steps.append(tuple(parts))
        steps.append(self.terms(adj.value))
        lhs = self.grad(name)
        boxed = name in d.wrt
        eq = Equation(lhs, wrap(lhs, steps, boxed, self.approx(adj.value) if boxed else ""))
        return Block(name, self.heading(name), note, locals_, eq)

    def _factor(self, local: sp.Expr) -> str:
        tex = self.tex(local)
        return r"\left(" + tex + r"\right)" if local.is_Add or local.could_extract_minus_sign() else tex

    def backward(self) -> tuple[Block, ...]:
        d = self.d
        reach = descendants(d, d.wrt)
        return tuple(self.block(n) for n in d.backward_order if n != d.loss and n in reach)

    def updates(self) -> tuple[UpdateSection, ...]:
        """w^(k) = w − η ∂L/∂w at step k − 1, with the numbers, for each parameter; then L^(k)."""
        d = self.d
        if not d.updates:
            return ()
        eta = self.tex(d.worksheet.update.lr)
        out = []
        for step in d.updates:
            k = step.number
            note = self.update_note(k, eta, self.tex(step.loss_before))
            eqs = []
            for ps in step.params:
                lhs = f"{self.name(ps.name)}^{{({k})}}"
                previous = self.name(ps.name) + (f"^{{({k - 1})}}" if k > 1 else "")
                steps = [(previous, r"- \eta \cdot " + self.grad(ps.name)),
                         (self.paren(ps.before) if ps.before.could_extract_minus_sign() else self.tex(ps.before),
                          "- " + self.paren(d.worksheet.update.lr) + self.paren(ps.gradient)),
                         self.terms(ps.after)]
                eqs.append(Equation(lhs, wrap(lhs, steps, True, self.approx(ps.after))))
            lhs = f"{self.loss_tex}^{{({k})}}"
            eqs.append(Equation(lhs, wrap(lhs, [self.terms(step.loss_after)], False, self.approx(step.loss_after))))
            out.append(UpdateSection(k, note, tuple(eqs)))
        return tuple(out)

    def answers(self) -> tuple[Answer, ...]:
        out = []
        for n in self.d.wrt:
            lhs, value, approx = self.grad(n), self.tex(self.d.gradient(n)), self.approx(self.d.gradient(n))
            out.append(Answer(lhs, value, approx, Equation(lhs, wrap(lhs, [(value,)], False, approx))))
        return tuple(out)

    def notes(self) -> tuple[str, ...]:
        out = []
        for k in self.d.kinks:
            out.append(f"In ${self.partial(k.child, k.name)}$ the step's argument "
                       f"${self.tex(k.argument)}$ is exactly $0$ at the given numbers: "
                       f"the convention used there is the value ${self.tex(k.used)}$.")
        for n in self.d.wrt:
            if n not in self.d.adjoints:
                out.append(f"${self.loss_tex}$ does not depend on ${self.name(n)}$, so ${self.grad(n)} = 0$.")
        return tuple(out)

    def definitions(self) -> tuple[Equation, ...]:
        """Each node as the worksheet defines it; an unspecified loss as a function of its nodes."""
        out = [Equation(self.name(n), wrap(self.name(n), [tree_terms(self.defs[n].expr, self.name, self.printer)], False))
               for n in self.d.graph.order if n in self.defs]
        ws = self.d.worksheet
        if ws.loss_unspecified:
            of = r"\left(" + ", ".join(self.name(n) for n in ws.loss_of) + r"\right)"
            out.append(Equation(self.loss_tex, wrap(self.loss_tex, [(self.loss_tex + of,)], False), "not specified"))
        return tuple(out)

    def figure(self, values: bool) -> Figure | None:
        """The graph as a figure; ``values``: forward values and gradients written beside the nodes."""
        labels = {(e.tail, e.head): tree_latex(e.expr, self.name, self.printer) for e in self.d.worksheet.edges}
        return build_figure(self.d, self.names, self.tex, self.approx, labels, values)


@functools.lru_cache(maxsize=1 << 16)
def _same(a: str, b: str) -> bool:
    """Two LaTeX steps that differ only in spacing are the same step."""
    return re.sub(r"\s+", "", a) == re.sub(r"\s+", "", b)


def _reordered(total: sp.Expr, parts: list[sp.Expr]) -> bool:
    """The sum only reorders its parts (nothing cancels or combines): one line says it all."""
    return sorted(map(sp.default_sort_key, sp.Add.make_args(total))) == sorted(
        sp.default_sort_key(a) for p in parts for a in sp.Add.make_args(p))


def _is_sum(tree: E.Expr) -> bool:
    return isinstance(tree, E.Apply) and tree.op in ("+", "-")


def descendants(d: Derivation, roots: tuple[str, ...]) -> set[str]:
    seen = set(roots)
    stack = list(roots)
    while stack:
        for c in d.graph.children[stack.pop()]:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def layout(d: Derivation, notation: str | None = None, figure: bool = True, figure_values: bool = False) -> Sheet:
    """Arrange a derivation as a solution sheet (``notation`` overrides the worksheet's); ``figure``
    draws the graph, ``figure_values`` writes each node's value and gradient in the figure."""
    ws = d.worksheet
    lay = _Layout(d, notation or ws.notation)
    return assemble(lay, ws, notation, figure, figure_values)


def assemble(lay: _Layout, ws: Worksheet, notation: str | None, figure: bool, figure_values: bool,
             **extra: object) -> Sheet:
    """A Sheet from a layout's sections (a scalar or a matrix layout: the same methods)."""
    return Sheet(
        title=ws.title,
        description=ws.description,
        notation=notation or ws.notation,
        given=lay.given(),
        symbolic=lay.symbolic(),
        edges=lay.edges(),
        forward=lay.forward(),
        backward=lay.backward(),
        answers=lay.answers(),
        notes=lay.notes(),
        loss=lay.loss_tex,
        course=ws.course,
        author=ws.author,
        date=ws.date,
        paper=ws.paper,
        definitions=lay.definitions(),
        figure=lay.figure(figure_values) if figure else None,
        updates=lay.updates(),
        **extra,
    )


def blocks(d: Derivation, names: tuple[str, ...], notation: str | None = None) -> tuple[Block, ...]:
    """The backward steps of some names only (one entry of a matrix, written in scalars)."""
    lay = _Layout(d, notation or d.worksheet.notation)
    return tuple(lay.block(n) for n in names if n in d.adjoints)
