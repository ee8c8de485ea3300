"""The LaTeX of a sheet's names and gradients (∂L/∂x or g_x) and the sentences built from them."""
from __future__ import annotations

from ..engine.protocol import Derivation
from .printing import default_name_latex

APPROX = r"\approx"


class Naming:
    """The LaTeX of a sheet's names and gradients (∂L/∂x or g_x), shared by the scalar and the
    matrix layouts."""

    def __init__(self, d: Derivation, notation: str) -> None:
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
        relation = "" if loss_before.startswith(APPROX) else "= "
        before = f"${self.loss_tex} {relation}{loss_before}$"
        if k == 1:
            return f"With the learning rate $\\eta = {eta}$ and the gradients of the backward pass above (at {before}):"
        return (f"With the gradients at the numbers of step {k - 1} (at {before}; a forward and backward "
                "pass like the one above, not written out):")
