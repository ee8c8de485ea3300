"""Seeded random scalar worksheets, for the oracle tests (a module of the tests, not a test).

``generate(seed)`` returns a :class:`RandomGraph`: the worksheet as YAML text plus the same
computation as a small expression tree of its own, so that each test can rebuild the graph
with an independent backend (SymPy composition, mpmath, torch) through :func:`fold`.

Trees are tuples:

    ("num", Fraction)            an exact number
    ("name", str)                a given name or a node
    ("neg", a)                   unary minus
    (op, a, b)                   op in + - * / **
    ("call", fname, (args...))   a function of the worksheet language

What the graphs contain: + - * / **, exp, log, log(x, b) (numeric or a given base), log10,
sqrt, abs, max, min (2 and 3 arguments), relu, leaky_relu (numeric or a given slope), sigmoid,
tanh, choose (a literal index or a given one); fan-out (a node used by several later ones),
skip connections (operands drawn from the
whole past, not only the last node), shared weights (the same given weight in several linear
maps), 3 to 12 computed nodes, and small exact given numbers (integers, simple fractions and
decimals such as 0.1 that are exact in the worksheet and not in binary).

Domains are guarded by construction: log and sqrt only see arguments that are positive for
every real input (t**2 + c, exp(t) + 1, abs(t) + 1, sigmoid(t)), and divisions only have such denominators
(b**2 + c, 1 + exp(b), 2 + tanh(b)); powers with a fractional or variable exponent only have
such bases. Magnitudes are kept small (|value| <= 1e4, exp of at most 8), exact rationals
short, sigmoid and tanh unsaturated (PyTorch's float64 slope 1 − tanh² keeps 12 digits only
there). ``rational=True`` keeps to the operations that map rationals to rationals (+ - * /,
whole powers, relu, leaky_relu, abs, max, min, choose), so every value and gradient is a
rational number that can be compared exactly.

A relu / abs / leaky_relu argument may be exactly 0 (it is sometimes aimed there on purpose:
``relu(t - k)`` with k the exact value of t), and a max / min of two arguments may tie exactly
(``max(t, k)``, both k); three or more arguments never tie at the top (that case is tested on
its own, in tests/test_torch.py). Every use of those functions and of max/min is
returned as a :class:`KinkSite` so that tests can tell, with :func:`kinks_hit`, which sites sit on
their kink at the given numbers.

"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from collections.abc import Callable, Mapping

Tree = tuple

KINK_FUNCTIONS = ("relu", "abs", "max", "min", "leaky_relu")
SATURATION = {"sigmoid": 8.0, "tanh": 4.0}  # |argument| beyond which the slope (< 1e-3) loses float64 digits


@dataclass(frozen=True)
class KinkSite:
    """One use of a function with a kink: in node ``node``, ``fn`` applied to ``args``.

    For leaky_relu, ``args`` holds only the first argument (the slope is not a kink)."""

    node: str
    fn: str
    args: tuple


@dataclass
class RandomGraph:
    seed: int
    text: str  # the worksheet, YAML
    file: str  # a file name to give loads()
    given: dict[str, Fraction]  # given names and exact values, in the order written
    nodes: dict[str, Tree]  # computed nodes in a topological order (the loss last)
    node_text: dict[str, str]  # the expression text written for each node
    yaml_order: list[str]  # nodes in the order written in the YAML (may be shuffled)
    loss: str
    kinks: tuple[KinkSite, ...]
    relu_at_zero: Fraction = Fraction(0)
    dead: tuple[str, ...] = ()  # nodes the loss does not depend on
    rational: bool = False  # only operations that keep rationals rational

    @property
    def kinked_nodes(self) -> frozenset[str]:
        """Nodes whose expression passes through relu, abs, max, min or leaky_relu."""
        return frozenset(k.node for k in self.kinks)

    @property
    def indices(self) -> frozenset[str]:
        """Given names used as the index of a choose: whole numbers, no gradient flows to them."""
        return frozenset(t[2][0][1] for tree in self.nodes.values() for t in subtrees(tree)
                         if t[0] == "call" and t[1] == "choose" and t[2][0][0] == "name")

    @property
    def names(self) -> list[str]:
        return list(self.given) + list(self.nodes)

    def describe(self) -> str:
        return f"seed {self.seed}:\n{self.text}"


# -- functions on trees ---------------------------------------------------------------------------

def N(value: Any) -> Tree:
    return ("num", Fraction(value))


def V(name: str) -> Tree:
    return ("name", name)


def call(fname: str, *args: Tree) -> Tree:
    return ("call", fname, tuple(args))


def fold(tree: Tree, env: Mapping[str, Any], ops: Mapping[str, Callable]) -> Any:
    """Evaluate ``tree`` with a backend: ``ops`` maps "num", "neg", "+", "-", "*", "/", "**"
    and every function name to a callable; names are looked up in ``env``."""
    kind = tree[0]
    if kind == "num":
        return ops["num"](tree[1])
    if kind == "name":
        return env[tree[1]]
    if kind == "neg":
        return ops["neg"](fold(tree[1], env, ops))
    if kind == "call":
        return ops[tree[1]](*(fold(a, env, ops) for a in tree[2]))
    return ops[kind](fold(tree[1], env, ops), fold(tree[2], env, ops))


def names_in(tree: Tree) -> set[str]:
    kind = tree[0]
    if kind == "num":
        return set()
    if kind == "name":
        return {tree[1]}
    if kind == "neg":
        return names_in(tree[1])
    if kind == "call":
        return set().union(*(names_in(a) for a in tree[2]))
    return names_in(tree[1]) | names_in(tree[2])


def kink_sites(node: str, tree: Tree) -> list[KinkSite]:
    out = []
    kind = tree[0]
    if kind == "call":
        if tree[1] in KINK_FUNCTIONS:
            args = tree[2][:1] if tree[1] == "leaky_relu" else tree[2]
            out.append(KinkSite(node, tree[1], tuple(args)))
        for a in tree[2]:
            out.extend(kink_sites(node, a))
    elif kind in ("neg",):
        out.extend(kink_sites(node, tree[1]))
    elif kind not in ("num", "name"):
        out.extend(kink_sites(node, tree[1]))
        out.extend(kink_sites(node, tree[2]))
    return out


def kinks_hit(graph: RandomGraph, value_of: Callable[[Tree], Any], tol: Any) -> list[KinkSite]:
    """The kink sites whose arguments sit on the kink: a relu/abs/leaky_relu argument within
    ``tol`` of 0, or the two largest (max) / smallest (min) arguments within ``tol`` of each other.
    ``value_of(tree)`` evaluates an argument tree at the given numbers (in any backend)."""
    hit = []
    for site in graph.kinks:
        vals = [value_of(a) for a in site.args]
        if site.fn in ("relu", "abs", "leaky_relu"):
            if abs(vals[0]) <= tol:
                hit.append(site)
        else:
            ordered = sorted(vals, reverse=(site.fn == "max"))
            if abs(ordered[0] - ordered[1]) <= tol:
                hit.append(site)
    return hit


def subtrees(tree: Tree):
    yield tree
    if tree[0] == "call":
        for a in tree[2]:
            yield from subtrees(a)
    elif tree[0] == "neg":
        yield from subtrees(tree[1])
    elif tree[0] not in ("num", "name"):
        yield from subtrees(tree[1])
        yield from subtrees(tree[2])


# What a run of graphs must contain, each at least a few times (see ``census``).
CENSUS_WANTED = ("exp", "log", "log/2", "log10", "sqrt", "abs", "max", "min", "max/3", "min/3", "relu",
                 "leaky_relu", "sigmoid", "tanh", "choose", "+", "-", "*", "/", "**", "neg",
                 "graphs with a given base or slope", "shuffled", "decimal", "shared weight", "fan-out", "skip")


def census(g: RandomGraph) -> dict[str, int]:
    """What one graph contains: each operation (log/2: with a base; max/3: of three arguments)
    and each structure (shared weights, fan-out, skip connections, a shuffled file, ...)."""
    seen: dict[str, int] = {}

    def count(what: str, n: int = 1) -> None:
        seen[what] = seen.get(what, 0) + n

    for tree in g.nodes.values():
        for t in subtrees(tree):
            if t[0] == "call":
                count(t[1] + ("/2" if t[1] == "log" and len(t[2]) == 2 else ""))
                if t[1] in ("max", "min"):
                    count(f"{t[1]}/{len(t[2])}")
            elif t[0] != "name":
                count(t[0])
    trees = list(g.nodes.values())
    count("graphs with a given base or slope", "alpha" in g.given or "base" in g.given)
    count("shuffled", g.yaml_order != list(g.nodes))
    count("decimal", any("." in text for text in g.node_text.values()))
    count("shared weight", any(sum(w in names_in(t) for t in trees) >= 2 for w in g.given if w.startswith("w")))
    count("fan-out", any(sum(n in names_in(t) for t in trees) >= 2 for n in g.nodes))
    count("skip", any(n in names_in(t) for i, t in enumerate(trees) for n in list(g.nodes)[:max(0, i - 2)]))
    return seen


# -- float and exact evaluation, for the generator's own guards -------------------------------------

def _fsig(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


# The operators, for any number type with Python's arithmetic (float, mpmath, SymPy).
ARITHMETIC: dict[str, Callable] = {
    "neg": lambda a: -a,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a ** b,
}

FLOAT_OPS: dict[str, Callable] = {
    **ARITHMETIC,
    "num": float,
    "exp": math.exp,
    "log": lambda x, b=None: math.log(x) if b is None else math.log(x) / math.log(b),
    "log10": math.log10,
    "sqrt": math.sqrt,
    "abs": abs,
    "max": max,
    "min": min,
    "relu": lambda z: max(z, 0.0),
    "leaky_relu": lambda z, a: z if z > 0 else a * z,
    "sigmoid": _fsig,
    "tanh": math.tanh,
    "choose": lambda y, *p: p[int(y) - 1],
}


def _qpow(a: Fraction | None, b: Fraction | None) -> Fraction | None:
    if a is None or b is None or b.denominator != 1 or abs(b) > 16:
        return None
    if a == 0 and b < 0:
        return None
    return a ** int(b)


EXACT_OPS: dict[str, Callable] = {
    "num": lambda f: f,
    "neg": lambda a: None if a is None else -a,
    "+": lambda a, b: None if a is None or b is None else a + b,
    "-": lambda a, b: None if a is None or b is None else a - b,
    "*": lambda a, b: None if a is None or b is None else a * b,
    "/": lambda a, b: None if a is None or b is None or b == 0 else a / b,
    "**": _qpow,
    "abs": lambda a: None if a is None else abs(a),
    "max": lambda *a: None if None in a else max(a),
    "min": lambda *a: None if None in a else min(a),
    "relu": lambda z: None if z is None else max(z, Fraction(0)),
    "leaky_relu": lambda z, a: None if z is None or a is None else (z if z > 0 else a * z),
    "choose": lambda y, *p: p[int(y) - 1],
    # transcendental results are treated as not rational (None), even where they happen to be
    **{f: (lambda *a: None) for f in ("exp", "log", "log10", "sqrt", "sigmoid", "tanh")},
}


def _small(q: Fraction | None) -> bool:
    return q is None or max(abs(q.numerator).bit_length(), q.denominator.bit_length()) <= 96


# -- rendering: minimal parentheses by precedence, sometimes extra ones ---------------------------

PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def render_number(q: Fraction, rng: random.Random) -> tuple[str, int]:
    """Text and precedence of an exact number: 3, -3, 0.25, -1.5, 1/3, -2/3."""
    sign = "-" if q < 0 else ""
    a = abs(q)
    if a.denominator == 1:
        return sign + str(a.numerator), (3 if sign else 5)
    d = a.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1 and rng.random() < 0.6:  # a terminating decimal: write it as one, exactly
        digits = 0
        while (a * 10 ** digits).denominator != 1:
            digits += 1
        whole = a.numerator * 10 ** digits // a.denominator
        text = f"{whole // 10 ** digits}.{str(whole % 10 ** digits).zfill(digits)}"
        return sign + text, (3 if sign else 5)
    return f"{sign}{a.numerator}/{a.denominator}", 2


def render(tree: Tree, rng: random.Random) -> str:
    return _render(tree, rng)[0]


def _render(tree: Tree, rng: random.Random) -> tuple[str, int]:
    kind = tree[0]
    if kind == "num":
        text, prec = render_number(tree[1], rng)
    elif kind == "name":
        text, prec = tree[1], 5
    elif kind == "call":
        sep = rng.choice([", ", ","])
        text, prec = tree[1] + "(" + sep.join(_render(a, rng)[0] for a in tree[2]) + ")", 5
    elif kind == "neg":
        inner, ip = _render(tree[1], rng)
        text, prec = "-" + (inner if ip >= 3 else f"({inner})"), 3
    else:
        p = PREC[kind]
        (lt, lp), (rt, rp) = _render(tree[1], rng), _render(tree[2], rng)
        if kind == "**":
            left = lt if lp > 4 else f"({lt})"
            right = rt if rp >= 3 else f"({rt})"
            op = "**"
        else:
            left = lt if lp >= p else f"({lt})"
            right = rt if rp > p else f"({rt})"
            op = rng.choice([f" {kind} ", f" {kind} ", kind])
        text, prec = left + op + right, p
    if prec < 5 and rng.random() < 0.08:
        text, prec = f"({text})", 5
    return text, prec


# -- the generator ----------------------------------------------------------------------------------

GIVEN_VALUES = [Fraction(v) for v in (
    -3, -2, -1, 0, 1, 2, 3, "1/2", "-1/2", "1/3", "-2/3", "3/2", "0.1", "-0.25", "0.75", "2.5", "-1.5", "1/5",
)]
WEIGHT_VALUES = [Fraction(v) for v in ("1/2", "-1/2", "0.3", "-0.7", "1.25", "2", "-1", "3/4", "-1/3")]
SLOPES = [Fraction(v) for v in ("0.01", "0.1", "1/5", "0.2", "1/4")]
BASES = [Fraction(v) for v in (2, 3, 10, "1/2", 5)]


class _Builder:
    def __init__(self, seed: int, rational: bool = False) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.rational = rational
        self.index: str | None = None
        self.given: dict[str, Fraction] = {}
        self.nodes: dict[str, Tree] = {}
        self.approx: dict[str, float] = {}
        self.exact: dict[str, Fraction | None] = {}
        self.uses: dict[str, int] = {}
        self.weights: list[str] = []
        self.slope: str | None = None
        self.base: str | None = None
        prefixes = self.rng.sample(["h", "z", "a", "u", "v", "s", "n"], 3)
        self.prefixes = prefixes
        self.counter = 0

    # names -------------------------------------------------------------------------------------
    def add_given(self, name: str, value: Fraction) -> str:
        self.given[name] = value
        self.approx[name] = float(value)
        self.exact[name] = value
        self.uses.setdefault(name, 0)
        return name

    def weight(self) -> Tree:
        """A shared weight: reuse an existing one most of the time."""
        if self.weights and (len(self.weights) >= 3 or self.rng.random() < 0.7):
            return V(self.rng.choice(self.weights))
        name = f"w{len(self.weights) + 1}"
        self.weights.append(name)
        self.add_given(name, self.rng.choice(WEIGHT_VALUES))
        return V(name)

    def slope_term(self) -> Tree:
        if self.rng.random() < 0.5:
            return N(self.rng.choice(SLOPES))
        if self.slope is None:
            self.slope = self.add_given("alpha", self.rng.choice(SLOPES))
        return V(self.slope)

    def index_term(self, n: int) -> Tree:
        """The index of a choose of ``n`` options: a literal, or the given name ``y`` (1 or 2)."""
        if self.rng.random() < 0.5:
            return N(self.rng.randint(1, n))
        if self.index is None:
            self.index = self.add_given("y", Fraction(self.rng.randint(1, 2)))
        return V(self.index)

    def tie(self, fn: str, a: Tree, b: Tree) -> Tree:
        """max/min of a and b, often shifted so that the two tie exactly (a kink)."""
        qa, qb = self.qval(a), self.qval(b)
        if qa is not None and qb is not None and qa != qb and self.rng.random() < 0.35:
            return call(fn, a, ("+", b, N(qa - qb)))
        if qa is not None and self.rng.random() < 0.1:
            return call(fn, a, N(qa))
        return call(fn, a, b)

    def base_term(self) -> Tree:
        if self.rng.random() < 0.6:
            return N(self.rng.choice(BASES))
        if self.base is None:
            self.base = self.add_given("base", self.rng.choice(BASES))
        return V(self.base)

    # values --------------------------------------------------------------------------------------
    def fval(self, tree: Tree) -> float:
        return fold(tree, self.approx, FLOAT_OPS)

    def qval(self, tree: Tree) -> Fraction | None:
        return fold(tree, self.exact, EXACT_OPS)

    def pick(self, exclude: tuple[str, ...] = ()) -> str:
        """An operand: usually a recent node (chains, fan-out), sometimes anything (skips)."""
        nodes = [n for n in self.nodes if n not in exclude]
        inputs = [g for g in self.given if g not in exclude and g not in (self.slope, self.base, self.index)]
        unused = [n for n in nodes if self.uses[n] == 0]
        r = self.rng.random()
        if unused and r < 0.45:
            choice = self.rng.choice(unused[-3:])
        elif nodes and r < 0.7:
            choice = self.rng.choice(nodes[-3:])
        elif nodes or inputs:
            choice = self.rng.choice(nodes + inputs)
        else:
            choice = self.rng.choice(list(self.given))
        return choice

    # templates ------------------------------------------------------------------------------------
    def unary(self, t: Tree) -> Tree | None:
        rng = self.rng
        tv = self.fval(t)
        tq = self.qval(t)
        k = rng.choice([7, 8, 9, 12, 14, 15, 16, 17]) if self.rational else rng.randrange(20)
        if k == 0:
            return call("exp", t) if tv < 8 else None
        if k == 1:
            return call("log", ("+", ("**", t, N(2)), N(rng.choice([1, 2, "1/2"]))))
        if k == 2:
            return call("log", ("+", call("exp", t), N(1))) if tv < 30 else None
        if k == 3:
            return call("log10", ("+", ("**", t, N(2)), N(1)))
        if k == 4:
            return call("log", ("+", ("**", t, N(2)), N(1)), self.base_term())
        if k == 5:
            return call("sqrt", ("+", ("**", t, N(2)), N(rng.choice([1, "0.5", 3]))))
        if k == 6:
            return call("sqrt", ("+", call("abs", t), N(1)))
        if k in (7, 8):
            fn = "relu" if k == 7 else "abs"
            if tq is not None and rng.random() < 0.5:  # aim at the kink
                return call(fn, ("-", t, N(tq))) if tq != 0 else call(fn, t)
            if rng.random() < 0.4:
                return call(fn, ("+", ("*", self.weight(), t), N(rng.choice([0, 1, "-1/2"]))))
            return call(fn, t)
        if k == 9:
            arg = ("-", t, N(tq)) if tq is not None and tq != 0 and rng.random() < 0.3 else t
            return call("leaky_relu", arg, self.slope_term())
        if k == 10:
            return call("sigmoid", t)
        if k == 11:
            return call("tanh", t)
        if k == 12:
            return ("**", t, N(rng.choice([2, 3])))
        if k == 13:
            return ("**", ("+", ("**", t, N(2)), N(1)), N(rng.choice(["3/2", "1/2", -1, "-1/2"])))
        if k == 14:
            return ("/", N(1), ("+", N(1), ("**", t, N(2))))
        if k == 15:
            return ("neg", t) if rng.random() < 0.5 else ("*", N(rng.choice([2, "-1/2", "0.1", 3])), t)
        if k == 16:
            return ("-", N(1), ("**", t, N(2)))
        if k == 17:
            return call("relu", t)
        if k == 18:
            return call("tanh", ("*", self.weight(), t))
        return call("log", call("sigmoid", t))  # log-sigmoid, as in a cross-entropy

    def binary(self, a: Tree, b: Tree) -> Tree | None:
        rng = self.rng
        k = rng.choice([0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 13, 15, 16]) if self.rational else rng.randrange(17)
        if k in (0, 1):
            return ("+", a, b)
        if k == 2:
            return ("-", a, b)
        if k in (3, 4):
            return ("*", a, b)
        if k == 5:
            return ("/", a, ("+", ("**", b, N(2)), N(rng.choice([1, 2, "0.5"]))))
        if k == 6:
            return ("/", a, ("+", N(1), call("exp", b))) if self.fval(b) < 30 else None
        if k == 7:
            return ("/", a, ("+", N(2), call("tanh", b)))
        if k in (8, 9):
            return self.tie(rng.choice(["max", "min"]), a, b)
        if k in (10, 11):
            return ("+", ("*", self.weight(), a), b)
        if k == 12:
            return ("**", ("+", ("**", b, N(2)), N(1)), a) if abs(self.fval(a)) < 4 else None
        if k == 13:
            return ("*", ("**", a, N(2)), b)
        if k == 14:
            return ("-", ("*", a, b), call("tanh", a))
        if k == 16:
            return call("choose", self.index_term(2), a, b)
        return call("relu", ("-", a, b))

    def ternary(self, a: Tree, b: Tree, c: Tree) -> Tree | None:
        rng = self.rng
        k = rng.randrange(5)
        if k == 0:
            return call(rng.choice(["max", "min"]), a, b, c)
        if k == 4:
            return call("choose", self.index_term(3), a, b, c)
        if k == 1:
            return ("+", ("+", ("*", self.weight(), a), ("*", self.weight(), b)), c)
        if k == 2:
            return ("+", ("*", a, b), c)
        return call("leaky_relu", ("+", ("-", a, b), c), self.slope_term())

    # guards ---------------------------------------------------------------------------------------
    def acceptable(self, tree: Tree) -> bool:
        try:
            v = self.fval(tree)
            q = self.qval(tree)
        except (OverflowError, ValueError, ZeroDivisionError):
            return False
        if not math.isfinite(v) or abs(v) > 1e4 or (v != 0 and abs(v) < 1e-6) or not _small(q):
            return False
        if self.rational and q is None:
            return False
        for t in subtrees(tree):  # no saturated sigmoid or tanh: float64 loses the slope's digits there
            if t[0] == "call" and t[1] in SATURATION and abs(self.fval(t[2][0])) > SATURATION[t[1]]:
                return False
        for site in kink_sites("", tree):
            vals = [self.fval(x) for x in site.args]
            exact = [self.qval(x) for x in site.args]
            if site.fn in ("max", "min"):
                # the leading two may tie exactly (a kink), never nearly; three never tie
                lead = sorted(zip(vals, exact), key=lambda p: p[0], reverse=site.fn == "max")
                near = [abs(x - lead[0][0]) <= 1e-9 * (1 + abs(lead[0][0])) for x, _ in lead]
                if near[1] and (lead[0][1] is None or lead[0][1] != lead[1][1]) or len(near) > 2 and near[2]:
                    return False
            elif abs(vals[0]) < 1e-9 and exact[0] != 0:
                return False  # near a kink but not on it: finite differences would straddle it
        return True

    def add_node(self, tree: Tree, name: str | None = None) -> str:
        if name is None:
            self.counter += 1
            name = f"{self.rng.choice(self.prefixes)}{self.counter}"
        self.nodes[name] = tree
        self.approx[name] = self.fval(tree)
        self.exact[name] = self.qval(tree)
        self.uses[name] = 0
        for n in names_in(tree):
            self.uses[n] = self.uses.get(n, 0) + 1
        return name

    def new_node(self) -> None:
        rng = self.rng
        for _ in range(60):
            r = rng.random()
            if r < 0.4:
                tree = self.unary(V(self.pick()))
            elif r < 0.85:
                a = self.pick()
                tree = self.binary(V(a), V(self.pick(exclude=(a,)) if rng.random() < 0.9 else a))
            else:
                a = self.pick()
                b = self.pick(exclude=(a,))
                tree = self.ternary(V(a), V(b), V(self.pick(exclude=(a, b))))
            if tree is not None and self.acceptable(tree):
                self.add_node(tree)
                return
        a, b = self.pick(), self.pick()
        self.add_node(("+", V(a), ("*", N(2), V(b))))

    def loss_tree(self, sinks: list[str]) -> Tree:
        for _ in range(20):
            tree = self._loss_tree(sinks)
            if not self.rational or self.qval(tree) is not None:
                return tree
        return ("**", V(sinks[0]), N(2)) if len(sinks) == 1 else ("+", V(sinks[0]), V(sinks[-1]))

    def _loss_tree(self, sinks: list[str]) -> Tree:
        rng = self.rng
        target = N(rng.choice([0, 1, "1/2", -1, "0.2"]))
        if len(sinks) == 1:
            s = V(sinks[0])
            options = [
                ("**", ("-", s, target), N(2)),
                call("log", ("+", N(1), call("exp", s))) if self.approx[sinks[0]] < 30 else ("*", s, s),
                ("*", N("1/2"), ("**", s, N(2))),
                call("abs", ("-", s, target)),
                ("*", s, s),
            ]
            return rng.choice(options)
        terms = [V(s) for s in sinks]
        k = rng.randrange(3)
        if k == 0:
            total = terms[0]
            for t in terms[1:]:
                total = ("+", total, t)
            return ("**", ("-", total, target), N(2))
        if k == 1:
            total = ("**", terms[0], N(2))
            for t in terms[1:]:
                total = ("+", total, ("**", t, N(2)))
            return ("*", N("1/2"), total)
        total = terms[0]
        for t in terms[1:]:
            total = ("*", total, t) if abs(self.approx[t[1]]) < 30 else ("+", total, t)
        return ("+", total, ("*", N("0.1"), ("**", terms[-1], N(2))))


def generate(seed: int, *, min_nodes: int = 3, max_nodes: int = 12, rational: bool = False) -> RandomGraph:
    """A random worksheet, the same for the same arguments (``random.Random(seed)``).

    ``min_nodes``..``max_nodes`` computed nodes, the loss included; ``rational``: rational
    operations only."""
    b = _Builder(seed, rational)
    rng = b.rng
    for i in range(rng.randint(1, 4)):
        b.add_given(f"x{i + 1}", rng.choice(GIVEN_VALUES))
    b.weight()
    if rng.random() < 0.5:
        b.weight()
    n_total = rng.randint(min_nodes, max_nodes)
    for _ in range(n_total - 1):
        b.new_node()
    sinks = [n for n in b.nodes if b.uses[n] == 0]
    dead: tuple[str, ...] = ()
    if len(sinks) >= 2 and rng.random() < 0.15:  # leave one branch out of the loss
        dead_root = sinks.pop(0)
        dead = (dead_root,)
    loss_name = rng.choice(["L", "loss", "J", "E"])
    b.add_node(b.loss_tree(sinks), loss_name)
    if dead:  # everything only the dead node needs is dead too, if nothing live uses it
        live = set()
        stack = [loss_name]
        while stack:
            n = stack.pop()
            if n in live:
                continue
            live.add(n)
            if n in b.nodes:
                stack.extend(names_in(b.nodes[n]))
        dead = tuple(n for n in b.nodes if n not in live)

    # the YAML text
    node_text = {name: render(tree, rng) for name, tree in b.nodes.items()}
    yaml_order = list(b.nodes)
    shuffled = rng.random() < 0.2
    if shuffled:
        rng.shuffle(yaml_order)
    # a dead branch needs loss: (else two nodes feed no other); the same draws either way
    explicit_loss = (shuffled or yaml_order[-1] != loss_name or rng.random() < 0.3) or bool(dead)
    lines = [f"title: random graph {seed}"]
    if rng.random() < 0.3:
        lines.append("# generated by tests/support/randgraph.py")
    lines.append("given:")
    for name, value in b.given.items():
        text, _ = render_number(value, rng)
        if rng.random() < 0.15:
            text = f"'{text}'"
        lines.append(f"  {name}: {text}")
    lines.append("nodes:")
    for name in yaml_order:
        text = node_text[name]
        if text[0] in "-(" and rng.random() < 0.5 or text[0] not in "-(" and not text[0].isalnum():
            text = f'"{text}"'
        lines.append(f"  {name}: {text}")
        if rng.random() < 0.05:
            lines.append("  # a comment between nodes")
    if explicit_loss:
        lines.append(f"loss: {loss_name}")
    kinks = tuple(site for name, tree in b.nodes.items() for site in kink_sites(name, tree))
    return RandomGraph(
        seed=seed,
        text="\n".join(lines) + "\n",
        file=f"random_{seed}.yaml",
        given=dict(b.given),
        nodes=dict(b.nodes),
        node_text=node_text,
        yaml_order=yaml_order,
        loss=loss_name,
        kinks=kinks,
        dead=dead,
        rational=rational,
    )


if __name__ == "__main__":  # python tests/support/randgraph.py SEED: print one graph
    import sys

    g = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(g.text)
    print("kinks:", [(k.node, k.fn) for k in g.kinks], "dead:", g.dead)
