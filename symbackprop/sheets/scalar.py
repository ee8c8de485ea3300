"""The layout of a scalar solution sheet: which equations it shows, and in what order — the forward
pass with the numbers substituted, each local derivative, each chain-rule step, the updates."""
from __future__ import annotations

import functools

import sympy as sp

from ..engine.derive import Derivation, adjoint_symbol
from ..language import expr as E
from ..language.evaluate import symbol
from ..language.ops import closed_form
from .figure import Figure, build as build_figure
from .linebreak import WIDTH, Step, visual_length, wrap
from .model import Answer, Block, Equation, Sheet, UpdateSection, assemble
from .naming import Naming
from .numbers import NumberStyle, as_written, rounded
from .printing import SheetPrinter, parenthesize, tree_latex, tree_terms, tree_terms_with

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
def _printed(names: tuple[tuple[sp.Symbol, str], ...], style: NumberStyle) -> dict[sp.Basic, str]:
    """The LaTeX printed so far with these names (symbol → LaTeX, as items) and this way of
    writing numbers, by value."""
    return {}


class ScalarLayout(Naming):
    """Builds a Sheet from a Derivation; holds the printers and names so each method stays short."""

    def __init__(self, d: Derivation, notation: str) -> None:
        super().__init__(d, notation)
        self.d = d
        ws = d.worksheet
        tex = {symbol(n): t for n, t in self.names.items()}
        tex.update({adjoint_symbol(ws.loss, n): self.grad(n) for n in d.graph.order})
        self.style = NumberStyle.of(ws)
        self.printer = SheetPrinter(tex, style=self.style)
        self.printed = _printed(tuple(tex.items()), self.style)
        self.substituting = SheetPrinter(tex, d.known, self.style)
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
        ``+ c``), and the factors of a product too long for one line; a number written as a
        rounded decimal as ``≈ 0.7514``."""
        d = self.printer.decimal(value)
        if d is not None:
            return ((r"\approx " if d.rounded else "") + d.latex(),)
        value = closed_form(value) if self.style.mode != "exact" else value
        ordered = self.printer.ordered_terms(value) if value.is_Add else [value]
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
            return [sign + parenthesize(tex, self.printer.needs_brackets_in_sum(term))]
        coeff, rest = term.as_coeff_Mul()
        if coeff < 0:
            sign = {"": "- ", "+ ": "- ", "- ": "+ "}[sign]
        pieces = [] if abs(coeff) == 1 else [self.tex(abs(coeff))]
        for factor in sp.Mul.make_args(rest):
            body = self.tex(factor)
            pieces.append(parenthesize(body, factor.is_Add))
        return [sign + pieces[0]] + pieces[1:]

    def paren(self, value: sp.Expr) -> str:
        return parenthesize(self.tex(value))

    def rounded(self, value: sp.Expr) -> bool:
        """Whether the sheet writes this value as a rounded decimal."""
        d = self.printer.decimal(value)
        return d is not None and d.rounded

    def rounds(self, tree: E.Expr, before: E.Expr) -> bool:
        """Whether a step writes a rounded value that the step before it did not have."""
        had = {t.value for t in E.subtrees(before) if isinstance(t, E.Value)}
        return any(isinstance(t, E.Value) and t.value not in had and self.rounded(t.value) for t in E.subtrees(tree))

    @staticmethod
    def about(step: Step, rounding: bool) -> Step:
        """A step joined by ≈ when its numbers are rounded results of the step before."""
        return ((r"\approx " + step[0],) + step[1:]) if rounding and step else step

    def approx(self, value: sp.Expr) -> str:
        """The decimal written after an exact value that is not a fraction (σ(3/2) ≈ 0.8176); none
        after a decimal or a fraction, and in exact mode only when the worksheet sets decimals."""
        if not value.is_number or closed_form(value).is_Rational or self.printer.decimal(value) is not None:
            return ""
        if self.style.mode == "exact" and not self.d.worksheet.decimals:
            return ""
        return rounded(value, self.style.digits).latex()

    # -- sections -------------------------------------------------------------------------
    def given(self) -> tuple[str, ...]:
        """Each given value; a decimal as the worksheet writes it (0.10)."""
        return tuple(self.name(g.name) + " = " + (g.written if as_written(g) else self.tex(g.value))
                     for g in self.d.worksheet.given if g.value is not None)

    def symbolic(self) -> tuple[str, ...]:
        return tuple(self.name(g.name) for g in self.d.worksheet.given if g.value is None)

    def edges(self) -> tuple[str, ...]:
        return tuple(self.partial(e.head, e.tail) + " = " + tree_latex(e.expr, self.name, self.printer)
                     for e in self.d.worksheet.edges)

    def forward(self) -> tuple[Equation, ...]:
        out = []
        for name in self.d.graph.order:
            if name not in self.defs:
                continue
            tree = self.defs[name].expr
            value = self.d.forward[name].value
            steps = [tree_terms(tree, self.name, self.printer)]
            if value.is_number:
                worked = self.d.forward[name]
                substituted = tree_terms(worked.substituted, self.name, self.printer)
                one_step = self.about(tree_terms(worked.one_step, self.name, self.printer),
                                      self.rounds(worked.one_step, worked.substituted))
                steps.extend(step for step in (substituted, one_step) if _breakable(step))
                steps.append(self.terms(value))
            is_loss = name == self.d.loss
            out.append(Equation(self.name(name), wrap(self.name(name), steps, is_loss and value.is_number,
                                                      self.approx(value))))
        return tuple(out)

    def differentiate(self, child: str, name: str) -> str:
        """∂/∂name (the definition of child), as written in the worksheet."""
        body = " ".join(tree_terms_with(self.defs[child].expr, name, self.name, self.printer))
        return r"\frac{\partial}{\partial " + self.name(name) + "}" + parenthesize(body)

    def local(self, child: str, name: str, local: sp.Expr, local_value: sp.Expr) -> Equation:
        """∂child/∂name = ∂/∂name (definition) = symbolic = substituted = value."""
        d = self.d
        lhs = self.partial(child, name)
        steps: list[Step] = []
        note = ""
        written = local  # the form the numbers go into: in the child's own value when it has one
        if child in self.defs:
            steps.append((self.differentiate(child, name),))
            steps.append((self.tex(_factor_terms(local)),))
            rule = d.forward[child].rule
            if rule is not None and not rule.is_Symbol and local.has(rule) and local != rule:
                written = local.xreplace({rule: symbol(child)})
                steps.append((self.tex(written),))
        else:
            steps.append((self.tex(local),))
            note = "given on the edge"
        if local_value != local:
            if not written.is_Symbol and not written.has(sp.Heaviside, sp.KroneckerDelta, sp.sign):
                substituted = self.substituting.doprint(_factor_terms(written))
                if visual_length(substituted) <= WIDTH:  # one piece: a wider one would leave the page
                    steps.append((substituted,))
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
                substituted = self.substituting.doprint(local)
                numbers.append(sign + (substituted if visual_length(substituted) <= WIDTH else self.paren(t.local_value)))
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
                steps.append(self.about(tuple(parts), any(self.rounded(t.contribution) for t in adj.terms)))
        steps.append(self.terms(adj.value))
        lhs = self.grad(name)
        boxed = name in d.wrt
        eq = Equation(lhs, wrap(lhs, steps, boxed, self.approx(adj.value) if boxed else ""))
        return Block(name, self.heading(name), note, locals_, eq)

    def _factor(self, local: sp.Expr) -> str:
        tex = self.tex(local)
        return parenthesize(tex, local.is_Add or local.could_extract_minus_sign())

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
            note = self.update_note(k, eta, " ".join(self.terms(step.loss_before)))
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
            lhs, value, approx = self.grad(n), " ".join(self.terms(self.d.gradient(n))), self.approx(self.d.gradient(n))
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
            of = parenthesize(", ".join(self.name(n) for n in ws.loss_of))
            out.append(Equation(self.loss_tex, wrap(self.loss_tex, [(self.loss_tex + of,)], False), "not specified"))
        return tuple(out)

    def figure(self, values: bool) -> Figure | None:
        """The graph as a figure; ``values``: forward values and gradients written beside the nodes."""
        labels = {(e.tail, e.head): tree_latex(e.expr, self.name, self.printer) for e in self.d.worksheet.edges}
        return build_figure(self.d, self.names, lambda v: " ".join(self.terms(v)), self.approx, labels, values)


def _reordered(total: sp.Expr, parts: list[sp.Expr]) -> bool:
    """The sum only reorders its parts (nothing cancels or combines): one line says it all."""
    return sorted(map(sp.default_sort_key, sp.Add.make_args(total))) == sorted(
        sp.default_sort_key(a) for p in parts for a in sp.Add.make_args(p))


def _breakable(step: Step) -> bool:
    """Whether a step can be set on lines of the page: none of its pieces is wider than one."""
    return all(visual_length(piece) <= WIDTH for piece in step)


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
    lay = ScalarLayout(d, notation or ws.notation)
    return assemble(lay, ws, notation, figure, figure_values)


def blocks(d: Derivation, names: tuple[str, ...], notation: str | None = None) -> tuple[Block, ...]:
    """The backward steps of some names only (one entry of a matrix, written in scalars)."""
    lay = ScalarLayout(d, notation or d.worksheet.notation)
    return tuple(lay.block(n) for n in names if n in d.adjoints)
