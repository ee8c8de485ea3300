"""The layout of a solution sheet in matrix notation: the same Sheet as a scalar one, so the same
templates set it.

Each backward step is written three times, as a hand writes it: the formula with the shape of
each factor under it (Xᵀ · ∂L/∂Z), the formula with the numbers as matrices, and the result. A
matrix too wide for a line is written entry by entry, and as decimals when the worksheet asks.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import sympy as sp

from ..language import expr as E
from ..engine.derive import adjoint_symbol
from ..language.evaluate import symbol
from .figure import Figure, build as build_figure
from ..matrix.derive import MatrixDerivation, as_matrix
from ..matrix.expand import Expansion, entry_name
from ..matrix.matops import Op
from .matprint import MatrixPrinter, bmatrix, entry_latex, shape_under
from ..matrix.mexpr import Matrix, MExpr
from .printing import SheetPrinter, default_name_latex
from .linebreak import WIDTH, Step, pack, visual_length, wrap
from .model import Answer, Block, Equation, Sheet, UpdateSection, assemble
from .naming import Naming
from .numbers import NumberStyle, decimal_of
from .scalar import blocks, descendants

REDUCTIONS = {"sum", "mean", "cross_entropy", "mse", "sse", "l2"}


class _MatrixLayout(Naming):
    """Builds a Sheet from a MatrixDerivation."""

    def __init__(self, d: MatrixDerivation, notation: str) -> None:
        super().__init__(d, notation)
        self.d = d
        ws = d.worksheet
        self.printer = SheetPrinter({symbol(n): t for n, t in self.names.items()}
                                    | {adjoint_symbol(ws.loss, n): self.grad(n) for n in d.graph.order})
        self.grads = {n: a.value for n, a in d.adjoints.items()}
        self.m = MatrixPrinter(self.names.__getitem__, self.grad, self.printer, d.evaluator, self.grads)
        self.defs = {n.name: n for n in ws.nodes}
        style = NumberStyle.of(ws)
        self.digits = style.digits if ws.decimals or style.mode != "exact" else None  # decimals shown

    # -- values -----------------------------------------------------------------------------
    def fits(self, m: Matrix, room: int = WIDTH) -> bool:
        return visual_length(self.m.matrix(m)) <= room

    def decimal(self, m: Matrix) -> str:
        return bmatrix(m, lambda x: self.printer.doprint(x) if x.is_Integer else decimal_of(x, self.digits).latex())

    def exact_or_decimal(self, m: Matrix, room: int) -> Step | None:
        """A matrix as one step: exact if it fits, else as decimals when asked, else nothing."""
        if self.fits(m, room):
            return (self.m.matrix(m),)
        if self.digits and visual_length(self.decimal(m)) <= room:
            return (r"\approx " + self.decimal(m),)
        return None

    def result(self, lhs: str, steps: list[Step], m: Matrix, boxed: bool) -> list[Equation]:
        """``lhs = steps = value``; a value too wide for a line follows entry by entry (and as
        decimals, when the worksheet asks for them)."""
        if m.shape == (1, 1):
            approx = decimal_of(m[0, 0], self.digits).latex() if self.digits and not m[0, 0].is_Integer else ""
            return [Equation(lhs, wrap(lhs, steps + [self.terms(m[0, 0])], boxed, approx))]
        last = self.exact_or_decimal(m, WIDTH - visual_length(lhs) - 3)
        exact = bool(last) and not last[0].startswith(r"\approx")
        main = steps + ([last] if last else [])
        approx = self.decimal(m) if exact and self.digits and not all(x.is_Rational for x in m) else ""
        out = [Equation(lhs, wrap(lhs, main, boxed and exact, approx))] if main else []
        if not exact:
            for i in range(m.rows):
                for j in range(m.cols):
                    entry = entry_latex(lhs, _index(i, j, m))
                    out.append(Equation(entry, wrap(entry, [self.terms(m[i, j])], False)))
        return out

    def terms(self, x: sp.Expr) -> Step:
        """An exact value as pieces a line may break between (its terms)."""
        if not x.is_Add:
            return (self.printer.doprint(x),)
        ordered = self.printer.ordered_terms(x)
        out = []
        for i, t in enumerate(ordered):
            if i and t.could_extract_minus_sign():
                out.append("- " + self.printer.doprint(-t))
            else:
                out.append(("+ " if i else "") + self.printer.doprint(t))
        return tuple(out)

    def numbers_fit(self, pieces: Step) -> bool:
        return all(visual_length(p) <= WIDTH - 6 for p in pieces)

    # -- sections -------------------------------------------------------------------------
    def symbolic(self) -> tuple[str, ...]:
        return ()  # every value of a worksheet in matrices is given

    def edges(self) -> tuple[str, ...]:
        return ()  # no graph stated by its edges

    def given(self) -> tuple[str, ...]:
        """Each given value, shapes under the names; packed a few to a line when they fit."""
        items = [shape_under(self.names[g.name], as_matrix(g.value)) + " = " + self.m.matrix(as_matrix(g.value))
                 for g in self.d.worksheet.given]
        return pack(items)

    def forward(self) -> tuple[Equation, ...]:
        out: list[Equation] = []
        for name in self.d.graph.order:
            if name not in self.defs:
                continue
            tree = self.defs[name].expr
            lhs = shape_under(self.names[name], self.d.values[name])
            steps: list[Step] = [(self.m.definition(tree),)]
            shapes = self.shapes_of(tree)
            if shapes != steps[0][0]:
                steps = [(shapes,)]
            if not _has(tree, REDUCTIONS):
                numbers = self.m.definition(tree, numbers=True)
                if visual_length(numbers) <= WIDTH:
                    steps.append((numbers,))
            out.extend(self.result(lhs, steps, self.d.values[name], name == self.d.loss))
        return tuple(out)

    def shapes_of(self, tree: E.Expr) -> str:
        return definition_with_shapes(self.m, tree, self.names, self.d.values.__getitem__)

    def block(self, name: str) -> Block:
        adj = self.d.adjoints[name]
        note = self.fan_out(name, [t.child for t in adj.terms])
        formula = _sum([t.formula for t in adj.terms])
        lhs = self.grad(name)
        steps: list[Step] = [self.m.pieces(formula, "shapes")]
        fused = adj.fused
        if fused is not None:
            formula = fused
            steps.append(self.m.pieces(fused, "shapes"))
            note = (note + " " if note else "") + (
                f"Softmax then cross-entropy: the gradient of the logits is $\\frac{{1}}{{N}}(P - Y)$, "
                f"here with $N = {self.d.values[name].rows}$.")
        numbers = self.m.pieces(formula, "numbers")
        if self.numbers_fit(numbers):
            steps.append(numbers)
        eqs = self.result(lhs, steps, adj.value, name in self.d.wrt)
        return Block(name, self.heading(name), note, (), eqs[0], tuple(eqs[1:]))  # steps: never empty

    def notes(self) -> tuple[str, ...]:
        """Where relu's argument is exactly 0, the convention used for its derivative."""
        out = []
        at = self.d.worksheet.relu_at_zero
        for name in self.d.graph.order:
            if name not in self.defs:
                continue
            for t in E.subtrees(self.defs[name].expr):
                if not (isinstance(t, E.Apply) and t.op == "relu"):
                    continue
                m = self.d.evaluator(t.args[0])
                zeros = [(i, j) for i in range(m.rows) for j in range(m.cols) if m[i, j].is_zero]
                if zeros:
                    where = ", ".join(f"$({i + 1}, {j + 1})$" for i, j in zeros)
                    arg = self.m.definition(t.args[0])
                    out.append(f"In ${self.names[name]}$ the argument ${arg}$ of relu is exactly $0$ at the "
                               f"entr{'y' if len(zeros) == 1 else 'ies'} {where}: relu$'(0) = {self.printer.doprint(at)}$ "
                               "is used there (PyTorch's convention, which a worksheet may change).")
        return tuple(dict.fromkeys(out))

    def figure(self, values: bool) -> Figure | None:
        """The graph; where the scalar figure writes values, this one writes shapes."""
        def approx(x: sp.Expr) -> str:
            return decimal_of(x, self.digits).latex() if self.digits else ""
        return build_figure(self.d, self.names, self.printer.doprint, approx, {}, values)

    def backward(self) -> tuple[Block, ...]:
        """The steps from the loss down to the names asked (not to the targets, say)."""
        reach = descendants(self.d, self.d.wrt)
        return tuple(self.block(n) for n in self.d.backward_order if n in self.d.adjoints and n in reach)

    def answers(self) -> tuple[Answer, ...]:
        out = []
        for n in self.d.wrt:
            m = self.d.gradient_matrix(n)
            lhs = self.grad(n)
            out.extend(Answer(e.lhs, e.rows[0], "", e) for e in self.result(lhs, [], m, False))
        return tuple(out)

    def definitions(self) -> tuple[Equation, ...]:
        out = []
        for n in self.d.graph.order:
            if n in self.defs:
                lhs = shape_under(self.names[n], self.d.values[n])
                out.append(Equation(lhs, wrap(lhs, [(self.shapes_of(self.defs[n].expr),)], False)))
        return tuple(out)

    def updates(self) -> tuple[UpdateSection, ...]:
        d = self.d
        if not d.updates:
            return ()
        lr = d.worksheet.update.lr
        eta = self.printer.doprint(lr)
        out = []
        for step in d.updates:
            k = step.number
            note = self.update_note(k, eta, self.printer.doprint(step.loss_before))
            eqs: list[Equation] = []
            for ps in step.params:
                lhs = f"{self.names[ps.name]}^{{({k})}}"
                previous = self.names[ps.name] + (f"^{{({k - 1})}}" if k > 1 else "")
                before_m, grad_m = as_matrix(ps.before), as_matrix(ps.gradient)
                steps: list[Step] = [(previous, r"- \eta \, " + self.grad(ps.name))]
                numbers = (self.m.matrix(before_m), "- " + self.printer.doprint(lr) + r" \, " + self.m.matrix(grad_m))
                if self.numbers_fit(numbers):
                    steps.append(numbers)
                eqs.extend(self.result(lhs, steps, as_matrix(ps.after), True))
            lhs = f"{self.loss_tex}^{{({k})}}"
            eqs.extend(self.result(lhs, [], as_matrix(step.loss_after), False))
            out.append(UpdateSection(k, note, tuple(eqs)))
        return tuple(out)


def _index(i: int, j: int, m: Matrix) -> str:
    return f"{i + 1}{j + 1}" if max(m.shape) < 10 else f"{i + 1},{j + 1}"


def _entry_symbols(d: MatrixDerivation) -> tuple[tuple[str, str], ...]:
    """How the scalar sheet writes each entry's name: as an entry of its matrix (W_1_2 → W_{12})."""
    symbols = dict(d.worksheet.symbols)
    out: list[tuple[str, str]] = []
    for name, m in d.values.items():
        if m.shape != (1, 1):
            tex = symbols.get(name) or default_name_latex(name)
            out.extend((entry_name(name, i + 1, j + 1), entry_latex(tex, _index(i, j, m)))
                       for i in range(m.rows) for j in range(m.cols))
    return tuple(out)


def _sum(fs: list[MExpr]) -> MExpr:
    out = fs[0]
    for f in fs[1:]:
        out = Op("add", (out, f))
    return out


def definition_with_shapes(m: MatrixPrinter, tree: E.Expr, names: Mapping[str, str],
                           shape: Callable[[str], Matrix | tuple[sp.Expr, sp.Expr]]) -> str:
    """A definition with each name's shape under it (not inside a sum over entries)."""
    if _has(tree, REDUCTIONS):
        return m.definition(tree)
    under = dict(names)
    for n in E.names(tree):
        under[n] = shape_under(names[n], shape(n))
    return m.named(under.__getitem__).definition(tree)


def _has(t: E.Expr, ops: set[str]) -> bool:
    return any(isinstance(x, E.Apply) and x.op in ops for x in E.subtrees(t))


def layout_matrices(d: MatrixDerivation, notation: str | None = None, figure: bool = True,
                    figure_values: bool = False) -> Sheet:
    """Arrange a matrix derivation as a solution sheet (``notation`` overrides the worksheet's);
    ``figure`` draws the graph, each name's shape beside it with ``figure_values``."""
    lay = _MatrixLayout(d, notation or d.worksheet.notation)
    return assemble(lay, d.worksheet, notation, figure, figure_values, given_columns=1, matrices=True)


def expanded(x: Expansion, notation: str | None = None) -> tuple[Block, ...]:
    """The scalar chain rule of each expanded entry, noted as an entry of the matrix gradient."""
    d = x.derivation
    named = replace(d, worksheet=replace(d.worksheet, symbols=d.worksheet.symbols + _entry_symbols(x.matrices)))
    found = {b.name: b for b in blocks(named, tuple(n for n, _, _ in x.entries), notation)}
    out = []
    for scalar_name, i, j in x.entries:
        if scalar_name in found:  # none for an entry the loss does not depend on
            block = found[scalar_name]
            note = f"Entry $({i}, {j})$ of the matrix gradient above, written out in scalars."
            out.append(replace(block, note=(block.note + " " if block.note else "") + note))
    return tuple(out)
