"""A student's derivation, written as a student writes it (a module of the tests, not a test).

``Student(d, digits, style).text()`` works a scalar derivation the way a student does by hand:
each forward value, each local derivative and each gradient computed from the student's own
earlier values as written — every number rounded to ``digits`` significant digits and carried
forward rounded — then each parameter after the update step. Names are written in one of the
``STYLES`` (``net_{h1}``, ``net_h1``, ``\\text{net}_{h1}``, ``\\mathrm{net}_{h1}``); ``wrong`` plants
a mistake: a label's value replaced by what a function of the student's values gives, and every
later line computed from it, as a student carries a mistake forward.

``random_worksheet(seed)`` is a small random numeric graph with decimal inputs (weighted sums,
sigmoid, tanh, log, products, a squared-error loss) whose values stay below 100 in magnitude.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

import mpmath
import sympy as sp

from symbackprop.engine.protocol import Derivation
from symbackprop.language.evaluate import symbol
from symbackprop.language.ops import Relu, Sigmoid

STYLES = ("braced", "plain", "text", "mathrm")
LR_NAMES = ("eta", "alpha")


def name_latex(name: str, style: str) -> str:
    """A worksheet name as a student writes it: ``net_h1`` as net_{h1}, net_h1, \\text{net}_{h1} or
    \\mathrm{net}_{h1}; ``E_total`` as E_{total}, E_total, E_{\\text{total}}; ``w5`` as w_{5} or w_5."""
    base, _, sub = name.partition("_")
    if not sub:
        letters = base.rstrip("0123456789")
        base, sub = letters, base[len(letters):]
    word = {"text": r"\text{%s}", "mathrm": r"\mathrm{%s}"}.get(style, "%s")
    written_base = word % base if len(base) > 1 else base
    written_sub = word % sub if sub.isalpha() and len(sub) > 1 else sub
    if not sub:
        return written_base
    if style == "plain":
        return f"{base}_{sub}"
    return f"{written_base}_{{{written_sub}}}"


def rounded(value: sp.Expr | mpmath.mpf, digits: int) -> str:
    """``value`` to ``digits`` significant digits, as a decimal with its trailing zeros: 0.7500."""
    exact = Decimal(mpmath.nstr(mpmath.mpf(sp.N(value, 40)) if isinstance(value, sp.Expr) else value, 40))
    if exact == 0:
        return "0"
    text = format(exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), ROUND_HALF_EVEN), "f")
    assert "." in text, f"{text}: a value of {digits} digits or more would be written as an integer"
    return text


def decimal_text(value: sp.Rational) -> str:
    """An exact number of the worksheet as a decimal (2/5 as 0.4)."""
    text = format(Decimal(int(value.p)) / Decimal(int(value.q)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def tex(expr: sp.Expr, names: Mapping[sp.Symbol, str]) -> str:
    """LaTeX of a rule or a local derivative, with each symbol written as ``names`` gives it (a name,
    or a number): products with \\cdot, σ and tanh and ln by name, enough brackets."""
    return _tex(expr, names)[0]


def _tex(e: sp.Expr, names: Mapping[sp.Symbol, str]) -> tuple[str, int]:
    if e in names:
        text = names[e]
        return (f"({text})", 9) if text.startswith("-") else (text, 9)
    if e.is_Rational:
        text = str(e) if e.q == 1 else rf"\frac{{{abs(e.p)}}}{{{e.q}}}"
        return (f"-{text}" if e.q != 1 and e < 0 else text), (9 if e >= 0 else 1)
    if isinstance(e, sp.Add):
        out = ""
        for i, a in enumerate(sp.Add.make_args(e)):
            text, prec = _tex(a, names)
            out += text if i == 0 else (f" - {text[1:]}" if text.startswith("-") else f" + {text}")
        return out, 1
    if isinstance(e, sp.Mul):
        coeff, rest = e.as_coeff_Mul()
        if coeff == -1:
            text, prec = _tex(rest, names)
            return "-" + (text if prec > 1 else f"({text})"), 1
        parts = [_tex(a, names) for a in sp.Mul.make_args(e)]
        return r" \cdot ".join(t if p > 2 else f"({t})" for t, p in parts), 2
    if isinstance(e, sp.Pow):
        base, exponent = _tex(e.base, names), e.exp
        if exponent == -1:
            return rf"\frac{{1}}{{{base[0]}}}", 9
        return (base[0] if base[1] > 3 else f"({base[0]})") + f"^{{{_tex(exponent, names)[0]}}}", 3
    function = {Sigmoid: r"\sigma", sp.tanh: r"\tanh", sp.log: r"\ln", sp.exp: r"\exp",
                Relu: r"\operatorname{relu}"}.get(type(e))
    if function is not None:
        return rf"{function}\left({_tex(e.args[0], names)[0]}\right)", 9
    raise ValueError(f"no LaTeX for {e!r} in the student's printer")


@dataclass
class Student:
    """Works a scalar derivation by hand, rounding every number it writes (see the module)."""

    d: Derivation
    digits: int
    style: str = "braced"
    wrong: Mapping[str, Callable[[Student], mpmath.mpf]] = field(default_factory=dict)
    said: dict[str, str] = field(default_factory=dict)  # label → the number written
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, line of LaTeX)

    # -- values ---------------------------------------------------------------------------------
    def number(self, name: str) -> str:
        """The number the student writes for a name: the worksheet's own for a given one."""
        node = self.d.graph.nodes[name]
        return decimal_text(self.d.forward[name].value) if node.kind == "given" else self.said[name]

    def value(self, expr: sp.Expr) -> mpmath.mpf:
        """``expr`` (in the worksheet's symbols) at the student's written numbers."""
        at = {symbol(n): sp.Rational(v) for n, v in self.numbers_by_name().items()}
        return mpmath.mpf(str(sp.N(expr.xreplace(at), 40)))

    def numbers_by_name(self) -> dict[str, str]:
        return {n: self.number(n) for n in self.d.graph.order if n in self.said or self.d.graph.nodes[n].kind == "given"}

    def numbers(self) -> dict[sp.Symbol, str]:
        return {symbol(n): v for n, v in self.numbers_by_name().items()}

    def names(self) -> dict[sp.Symbol, str]:
        return {symbol(n): self.name(n) for n in self.d.graph.order}

    def write(self, label: str, value: mpmath.mpf) -> str:
        """Round ``value`` (or the planted mistake's) and remember it as written."""
        if label in self.wrong:
            value = self.wrong[label](self)
        self.said[label] = rounded(value, self.digits)
        return self.said[label]

    # -- names ----------------------------------------------------------------------------------
    def name(self, name: str) -> str:
        return name_latex(name, self.style)

    def partial(self, top: str, bottom: str) -> str:
        if self.style == "plain":
            return f"∂{self.name(top)}/∂{self.name(bottom)}"
        return rf"\frac{{\partial {self.name(top)}}}{{\partial {self.name(bottom)}}}"

    # -- the derivation -------------------------------------------------------------------------
    def text(self) -> str:
        """The whole derivation, a chain a display: the forward pass, the backward pass (each
        local derivative on a line of its own, then the chain rule), the update step."""
        self.forward()
        self.backward()
        self.update()
        return "\n\n".join(f"$${line}$$" for _, line in self.lines) + "\n"

    def forward(self) -> None:
        for n in self.d.graph.order:
            f = self.d.forward[n]
            if self.d.graph.nodes[n].kind != "node":
                continue
            symbolic, numeric = tex(f.rule, self.names()), tex(f.rule, self.numbers())
            value = self.write(n, self.value(f.rule))
            self.lines.append((n, f"{self.name(n)} = {symbolic} = {numeric} = {value}"))

    def backward(self) -> None:
        d = self.d
        loss = d.loss
        for n in d.backward_order:
            if n == loss:
                continue
            terms, numbers, total = [], [], mpmath.mpf(0)
            for t in d.adjoints[n].terms:
                if t.child not in d.adjoints:
                    continue
                local = self.local(n, t.child, d.prepared.locals[(n, t.child)][1])
                if t.child == loss:
                    terms.append(tex(d.prepared.locals[(n, t.child)][1], self.names()))
                    numbers.append(local)
                    total += mpmath.mpf(local)
                else:
                    upstream = self.said[f"d{loss}/d{t.child}"]
                    terms.append(rf"{self.partial(loss, t.child)} \cdot {self.partial(t.child, n)}")
                    numbers.append(rf"{_signed(upstream)} \cdot {_signed(local)}")
                    total += mpmath.mpf(upstream) * mpmath.mpf(local)
            label = f"d{loss}/d{n}"
            value = self.write(label, total)
            self.lines.append((label, f"{self.partial(loss, n)} = {' + '.join(terms)} = "
                                      f"{' + '.join(numbers)} = {value}"))

    def local(self, parent: str, child: str, local: sp.Expr) -> str:
        """The value of ∂child/∂parent the student uses: a number or a name's number as it is (a
        ReLU's step at its side, 1); else worked out at the student's values, rounded, and — below
        the loss — written on a line of its own."""
        if local.is_Symbol:
            return self.number(next(n for n in self.d.graph.order if symbol(n) == local))
        if not local.free_symbols or local.has(sp.Heaviside):
            return decimal_text(local.xreplace({symbol(n): sp.Rational(v) for n, v in self.numbers_by_name().items()}))
        if child == self.d.loss:
            return rounded(self.value(local), self.digits)
        label = f"d{child}/d{parent}"
        value = self.write(label, self.value(local))
        self.lines.append((label, f"{self.partial(child, parent)} = {tex(local, self.names())} = "
                                  f"{tex(local, self.numbers())} = {value}"))
        return value

    def update(self) -> None:
        u = self.d.worksheet.update
        if u is None:
            return
        lr = decimal_text(u.lr)
        for i, p in enumerate(u.params):
            before = self.number(p)
            g = self.said[f"d{self.d.loss}/d{p}"]
            label = f"{p}^(1)"
            value = self.write(label, mpmath.mpf(before) - mpmath.mpf(lr) * mpmath.mpf(g))
            w = self.name(p)
            head = [rf"{w}^{{+}}", rf"{w}^{{(1)}}", rf"{w}^{{new}}", rf"{w} \leftarrow {w} - \eta \cdot "
                    rf"{self.partial(self.d.loss, p)}"][i % 4]
            eta = LR_NAMES[i % 2]
            middle = "" if "leftarrow" in head else rf" = {w} - \{eta} {self.partial(self.d.loss, p)}"
            self.lines.append((label, f"{head}{middle} = {before} - {lr} \\cdot {_signed(g)} = {value}"))


def _signed(number: str) -> str:
    return f"({number})" if number.startswith("-") else number


# -- random numeric graphs --------------------------------------------------------------------------
def random_worksheet(seed: int) -> str:
    """A random numeric graph with decimal inputs: two or three layers of weighted sums through
    sigmoid, tanh or a log, a product of two units, and a squared error (YAML text)."""
    rng = random.Random(seed)
    decimals = ["0.05", "0.1", "0.15", "0.2", "0.25", "0.35", "0.4", "0.45", "0.6", "0.75", "-0.3", "-0.55",
                "1.2", "-0.8", "0.9"]
    given: dict[str, str] = {}
    nodes: dict[str, str] = {}
    layer = [f"x{i}" for i in range(1, rng.randint(2, 3) + 1)]
    for x in layer:
        given[x] = rng.choice(decimals)
    for depth in range(1, rng.randint(2, 3) + 1):
        units = []
        for j in range(1, rng.randint(2, 3) + 1):
            terms = []
            for x in layer:
                if rng.random() < 0.8 or not terms:
                    w = f"w{len([g for g in given if g.startswith('w')]) + 1}"
                    given[w] = rng.choice(decimals)
                    terms.append(f"{w}*{x}")
            z, h = f"z{depth}{j}", f"h{depth}{j}"
            nodes[z] = " + ".join(terms)
            nodes[h] = rng.choice(["sigmoid({z})", "tanh({z})", "log(1 + {z}**2)", "sigmoid({z})"]).format(z=z)
            units.append(h)
        if len(units) > 1 and rng.random() < 0.6:
            p = f"p{depth}"
            nodes[p] = f"{units[0]}*{units[1]}"
            units.append(p)
        layer = units
    given["t"] = rng.choice(decimals)
    nodes["y"] = " + ".join(layer)
    nodes["L"] = "(y - t)**2 / 2"
    return ("given:\n" + "".join(f"  {k}: {v}\n" for k, v in given.items()) + "nodes:\n"
            + "".join(f"  {k}: {v}\n" for k, v in nodes.items()) + "loss: L\n")
