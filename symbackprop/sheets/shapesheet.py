"""The layout of a shapes-only sheet: matrices declared by their shapes (``N×D_in``), every step in
matrix notation with the shape under each factor, as the notes of a course derive a layer.

The same Sheet and templates as a numeric matrix sheet: the given shapes, each definition with
its shapes, each gradient's one-step chain rule (the fan-out said in words, a shape check for each
matrix product), then the answers in closed form.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import reduce

from ..engine.derive import adjoint_symbol
from ..language import expr as E
from ..language.evaluate import symbol
from ..matrix.dims import Shape
from ..matrix.mexpr import Grad, Leaf, MExpr, Op, Part
from ..matrix.symbolic import ShapeDerivation, lifted
from .figure import Figure, build as build_figure
from .linebreak import WIDTH, Step, pack, visual_length, wrap
from .matprint import MatrixPrinter, dim_latex, shape_under
from .matrix import definition_with_shapes
from .model import Answer, Block, Equation, Sheet, UpdateSection, assemble
from .naming import Naming
from .printing import SheetPrinter
from .scalar import descendants

LONGEST_ANSWER = 4 * WIDTH  # a closed form longer than this is left as its chain rule


class ShapePrinter(MatrixPrinter):
    """The matrix printer, each formula's shape taken from the declaration instead of a value."""

    def __init__(self, d: ShapeDerivation, name: Callable[[str], str], grad: Callable[[str], str],
                 printer: SheetPrinter) -> None:
        super().__init__(name, grad, printer, d.evaluator, {})  # type: ignore[arg-type]
        self.d = d

    def shape(self, f: MExpr) -> Shape:
        return self.d.formula_shape(f)


class _ShapeLayout(Naming):
    """Builds a Sheet from a ShapeDerivation."""

    def __init__(self, d: ShapeDerivation, notation: str) -> None:
        super().__init__(d, notation)
        self.d = d
        ws = d.worksheet
        dims = {s: dim_latex(s) for s in d.dimensions}
        self.printer = SheetPrinter({symbol(n): t for n, t in self.names.items()} | dims
                                    | {adjoint_symbol(ws.loss, n): self.grad(n) for n in d.graph.order})
        self.m = ShapePrinter(d, self.names.__getitem__, self.grad, self.printer)
        self.defs = {n.name: n for n in ws.nodes}

    def shape_tex(self, shape: Shape) -> str:
        return dim_latex(shape[0]) + r" \times " + dim_latex(shape[1])

    # -- sections -------------------------------------------------------------------------------
    def given(self) -> tuple[str, ...]:
        """Each given name with its shape, X ∈ ℝ^{N×D}; packed a few to a line when they fit."""
        items = []
        for g in self.d.worksheet.given:
            shape = self.d.shapes[g.name]
            space = r"\mathbb{R}" if shape == (1, 1) else r"\mathbb{R}^{" + self.shape_tex(shape) + "}"
            items.append(self.names[g.name] + r" \in " + space)
        return pack(items)

    def symbolic(self) -> tuple[str, ...]:
        return ()  # every given name is listed with its shape

    def edges(self) -> tuple[str, ...]:
        return ()

    def definitions(self) -> tuple[Equation, ...]:
        out = []
        for n in self.d.graph.order:
            if n in self.defs:
                lhs = shape_under(self.names[n], self.d.shapes[n])
                body = definition_with_shapes(self.m, self.defs[n].expr, self.names, self.d.shapes.__getitem__)
                out.append(Equation(lhs, wrap(lhs, [(body,)], False)))
        return tuple(out)

    def forward(self) -> tuple[Equation, ...]:
        return self.definitions()

    def backward(self) -> tuple[Block, ...]:
        """The steps from the loss down to the names asked."""
        reach = descendants(self.d, self.d.wrt)  # type: ignore[arg-type]
        return tuple(self.block(n) for n in self.d.backward_order if n in self.d.adjoints and n in reach)

    def block(self, name: str) -> Block:
        adj = self.d.adjoints[name]
        formula = reduce(lambda a, b: Op("add", (a, b)), [t.formula for t in adj.terms])
        notes = [self.fan_out(name, [t.child for t in adj.terms])]
        steps: list[Step] = [self.m.pieces(formula, "shapes")]
        if adj.fused is not None:
            steps.append(self.m.pieces(adj.fused, "shapes"))
            notes.append(self.fused_note(name))
        notes += [self.shape_check(f, name, top) for t in adj.terms for f, top in _products(t.formula)]
        lhs = self.grad(name)
        eq = Equation(lhs, wrap(lhs, steps, False))
        return Block(name, self.heading(name), " ".join(n for n in notes if n), (), eq)

    def fused_note(self, name: str) -> str:
        kid = self.d.graph.children[name][0]
        ce = next(t for t in E.subtrees(self.defs[self.d.graph.children[kid][0]].expr)
                  if isinstance(t, E.Apply) and t.op == "cross_entropy" and t.args[0] == E.Name(kid))
        y, n = self.names[ce.args[1].id], dim_latex(self.d.shapes[name][0])
        return (f"Softmax then cross-entropy: every row of ${y}$ sums to $1$ (declared one-hot), so the gradient of "
                f"the logits is $\\frac{{1}}{{{n}}}({self.names[kid]} - {y})$.")

    def shape_check(self, f: Op, name: str, top: bool) -> str:
        """The shapes of a matrix product's factors, which must meet, and of the product."""
        a, b = f.args
        sa, sb = self.d.formula_shape(a), self.d.formula_shape(b)
        out = self.d.formula_shape(f)
        whose = f", the shape of ${self.names[name]}$" if top and out == self.d.shapes[name] else ""
        return (f"${self._factor(a)}$ is ${self.shape_tex(sa)}$ and ${self._factor(b)}$ is ${self.shape_tex(sb)}$, "
                f"so the product is ${self.shape_tex(out)}${whose}.")

    def _factor(self, f: MExpr) -> str:
        tex, prec = self.m.formula(f, "names")
        return tex if isinstance(f, (Leaf, Grad, Part)) or (isinstance(f, Op) and f.kind == "T") else \
            r"\left(" + tex + r"\right)"

    def answers(self) -> tuple[Answer, ...]:
        """Each asked gradient in closed form, in the given names and the nodes (its chain rule
        when the closed form is too long to read)."""
        out = []
        for n in self.d.wrt:
            lhs = self.grad(n)
            closed = self.m.pieces(lifted(self.d.gradient(n)), "names")
            if visual_length(" ".join(closed)) > LONGEST_ANSWER and n in self.d.adjoints:
                closed = self.m.pieces(reduce(lambda a, b: Op("add", (a, b)), self.d.chain_rule(n)), "names")
            eq = Equation(lhs, wrap(lhs, [closed], False))
            out.append(Answer(lhs, eq.rows[0], "", eq))
        return tuple(out)

    def notes(self) -> tuple[str, ...]:
        out = []
        dims = self.d.dimensions
        if dims:
            listed = ", ".join(f"${dim_latex(s)}$" for s in dims)
            out.append(f"The dimensions {listed} stand for any sizes: each step holds whatever their values.")
        for n in self.d.one_hot:
            out.append(f"${self.names[n]}$ is declared one-hot: every row of ${self.names[n]}$ sums to $1$ (a one-hot "
                       "or probability target).")
        targets = {t.args[1].id for nd in self.defs.values() for t in E.subtrees(nd.expr)
                   if isinstance(t, E.Apply) and t.op == "cross_entropy" and isinstance(t.args[1], E.Name)}
        for n in sorted(targets - set(self.d.one_hot) - set(self.defs)):
            out.append(f"${self.names[n]}$ is not declared one-hot, so softmax followed by cross-entropy is "
                       "differentiated by the general rule (one_hot: true, when every row sums to $1$, gives "
                       "$\\frac{1}{N}(P - Y)$ for the logits).")
        if any(isinstance(t, E.Apply) and t.op == "relu" for nd in self.defs.values() for t in E.subtrees(nd.expr)):
            at = self.printer.doprint(self.d.worksheet.relu_at_zero)
            out.append(f"relu$'(0) = {at}$ in $\\mathbb{{I}}[\\cdot > 0]$ (PyTorch's convention, which a worksheet may "
                       "change).")
        return tuple(out)

    def figure(self, values: bool) -> Figure | None:
        return build_figure(self.d, self.names, self.printer.doprint, lambda x: "", {}, values)  # type: ignore[arg-type]

    def updates(self) -> tuple[UpdateSection, ...]:
        return ()


def _products(f: MExpr, top: bool = True) -> list[tuple[Op, bool]]:
    """The matrix products in a formula, outermost first; ``top``: the product is the whole term."""
    if not isinstance(f, Op):
        return []
    here = [(f, top)] if f.kind == "matmul" else []
    return here + [p for a in f.args for p in _products(a, False)]


def layout_shapes(d: ShapeDerivation, notation: str | None = None, figure: bool = True,
                  figure_values: bool = False) -> Sheet:
    """Arrange a shapes-only derivation as a solution sheet (``notation`` overrides the worksheet's)."""
    lay = _ShapeLayout(d, notation or d.worksheet.notation)
    return assemble(lay, d.worksheet, notation, figure, figure_values, given_columns=1, matrices=True)  # type: ignore[arg-type]

