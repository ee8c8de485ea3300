"""Seeded random small matrix worksheets, for tests/test_matrix_torch.py (a module of the tests,
not a test).

``generate(seed)`` returns ``(yaml_text, description)``: the worksheet, and a
:class:`MatrixGraph` holding the same computation as a small expression tree of its own, so that
a test can rebuild it with another backend (PyTorch) through :func:`fold`, without reading the
YAML back.

Trees are tuples:

    ("name", str)                a given matrix or scalar, or a node
    ("num", Fraction)            a number written in the expression
    ("neg", a) / ("T", a)        -a, a transposed (written ``a.T`` or ``transpose(a)``)
    (op, a, b)                   op in @ + - * / (element-wise ones broadcast as NumPy does)
    ("**", a, k)                 a to the whole power k (an int, not a tree)
    ("call", fname, (args...))   relu sigmoid tanh exp sum mean softmax cross_entropy mse sse l2

What the graphs contain: a batch X of N = 1..3 rows, 1 to 3 layers of widths 1..4, each a
linear map (``H @ W``, ``H @ W.T``, ``(W.T @ H.T).T``) plus a bias broadcast as a row (1×n), a
column (N×1) or a scalar (sometimes none, sometimes subtracted), then an element-wise step:
relu, sigmoid, tanh, exp, ``** 2``, a scalar times it (a given scalar or a number), ``⊙`` with a
given matrix, ``/`` by a given matrix of nonzero entries or by ``exp(Z)``, ``Z * sigmoid(Z)``,
``-Z``, or nothing; then a scalar loss: sum, mean, cross_entropy of a softmax (a node of its own,
or inline, which the engine takes as one step, (P − Y)/N, right when each row of Y sums to 1;
Y is one-hot), mse or sse against a given target, sometimes plus l2 of one or two weights.
Fan-out occurs by construction: a node used twice (``Z * sigmoid(Z)``, ``Z / exp(Z)``, a skip
connection ``… + H``), a weight shared by two layers, a weight also in the l2 term.

Exactness and speed: given numbers are integers −3..3 and dyadic fractions (±1/2, ±3/4, ...),
divisors are powers of two, so every value before a transcendental step is a dyadic rational,
exact in float64 too; a relu argument aimed at 0 (the bias set to minus an entry of X @ W) is
then exactly 0 for PyTorch as well. Transcendental steps are never nested: sigmoid, tanh, exp and
softmax only see rational matrices, with arguments bounded (sigmoid 8, tanh 4, exp 4; a larger
argument is divided by a power of two, ``tanh(Z / 4)``), so that float64 keeps its digits; they
come in the last layer or just before a narrow last one, never under a softmax, and sums of σ(…)
are not squared again. Exact cancelling writes e^(k/q) as u^k with u = e^(1/q): the span of those
powers (``exp_degree``) is kept small under exp and softmax, where a cross-entropy graph also
draws from smaller numbers (a softmax whose logits span more than 30, or too many powers, becomes
an mse instead). A relu after a transcendental step is only kept when no entry of its argument is
near 0 (an exact 0 hidden as σ(1) + σ(−1) − 1 would leave SymPy's sign undecided).
"""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from collections.abc import Callable, Mapping
from typing import Any

from .randgraph import render_number  # exact decimals and fractions, as the scalar generator writes them

Tree = tuple
Mat = tuple  # a matrix as a tuple of rows

VALUES = [Fraction(v) for v in (-3, -2, -1, 0, 1, 2, 3, "1/2", "-1/2", "3/2", "-3/2", "1/4", "-3/4", "3/4")]
DIVISORS = [Fraction(v) for v in (1, -1, 2, -2, "1/2", "-1/2", 4)]  # powers of two: dyadic stays dyadic
SCALES = [Fraction(v) for v in (2, "1/2", -1, 3, "-1/2", "3/2")]
LAMBDAS = ["1/10", "0.01", "1/2", "0.2", "1/3"]  # as written: decimals read exactly
BOUND = {"sigmoid": 8, "tanh": 4, "exp": 4}  # |argument| at most (float64 keeps its digits)
SMALL_VALUES = [Fraction(v) for v in (-2, -1, 0, 1, 2, "1/2", "-1/2")]  # under a softmax, often elsewhere
MAX_DEGREE = 24  # exp(k/q) is u^k with u = e^(1/q) when values are cancelled: keep the span small


def exp_degree(m: Mat | None) -> int:
    """The span of the powers of u = e^(1/q) that exp of the entries of ``m`` makes (q: the lcm
    of their denominators), the degree of the polynomials that exact cancelling then meets."""
    if m is None:
        return 0
    q = math.lcm(*(x.denominator for x in entries(m)))
    return int(q * (max(entries(m)) - min(entries(m))))


@dataclass
class MatrixGraph:
    """The worksheet as trees: given values (every one a matrix; ``scalars`` were written as
    numbers), nodes in order (the loss last), and what it contains."""

    seed: int
    text: str
    file: str
    given: dict[str, Mat]
    scalars: frozenset[str]
    nodes: dict[str, Tree]
    loss: str
    features: Counter = field(default_factory=Counter)
    relu_zeros: int = 0  # relu argument entries exactly 0

    @property
    def names(self) -> list[str]:
        return list(self.given) + list(self.nodes)


# -- matrices of any number type -------------------------------------------------------------------

def shape(m: Mat) -> tuple[int, int]:
    return len(m), len(m[0])


def ewise(f: Callable, *ms: Mat) -> Mat:
    rows = max(len(m) for m in ms)
    cols = max(len(m[0]) for m in ms)
    for m in ms:
        assert len(m) in (1, rows) and len(m[0]) in (1, cols), [shape(m) for m in ms]

    def at(m: Mat, i: int, j: int) -> Any:
        return m[i if len(m) > 1 else 0][j if len(m[0]) > 1 else 0]

    return tuple(tuple(f(*(at(m, i, j) for m in ms)) for j in range(cols)) for i in range(rows))


def matmul(a: Mat, b: Mat) -> Mat:
    assert len(a[0]) == len(b), (shape(a), shape(b))
    return tuple(tuple(sum((a[i][k] * b[k][j] for k in range(len(b))), a[i][0] * 0) for j in range(len(b[0])))
                 for i in range(len(a)))


def transpose(a: Mat) -> Mat:
    return tuple(zip(*a))


def entries(m: Mat) -> list:
    return [x for row in m for x in row]


def one(x: Any) -> Mat:
    return ((x,),)


def _softmax(z: Mat) -> Mat:
    out = []
    for row in z:
        top = max(row)
        e = [math.exp(x - top) for x in row]
        out.append(tuple(x / sum(e) for x in e))
    return tuple(out)


def _fsig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


FLOAT_OPS: dict[str, Callable] = {
    "num": lambda q: one(float(q)),
    "neg": lambda a: ewise(lambda x: -x, a),
    "T": transpose,
    "@": matmul,
    "+": lambda a, b: ewise(lambda x, y: x + y, a, b),
    "-": lambda a, b: ewise(lambda x, y: x - y, a, b),
    "*": lambda a, b: ewise(lambda x, y: x * y, a, b),
    "/": lambda a, b: ewise(lambda x, y: x / y, a, b),
    "**": lambda a, k: ewise(lambda x: x ** k, a),
    "relu": lambda a: ewise(lambda x: max(x, 0.0), a),
    "sigmoid": lambda a: ewise(_fsig, a),
    "tanh": lambda a: ewise(math.tanh, a),
    "exp": lambda a: ewise(math.exp, a),
    "sum": lambda a: one(sum(entries(a))),
    "mean": lambda a: one(sum(entries(a)) / len(entries(a))),
    "softmax": _softmax,
    "cross_entropy": lambda p, y: one(-sum(yv * math.log(pv) for pv, yv in zip(entries(p), entries(y)) if yv)
                                      / len(p)),
    "mse": lambda z, t: one(sum((tv - zv) ** 2 for zv, tv in zip(entries(z), entries(t))) / (2 * len(z))),
    "sse": lambda z, t: one(sum((tv - zv) ** 2 for zv, tv in zip(entries(z), entries(t)))),
    "l2": lambda w, lam: one(lam[0][0] / 2 * sum(x * x for x in entries(w))),
}


def _none_if(f: Callable) -> Callable:
    return lambda *a: None if any(x is None for x in a) else f(*a)


# Exact values where they are rational (Fractions); None past a transcendental step.
EXACT_OPS: dict[str, Callable] = {
    "num": lambda q: one(Fraction(q)),
    **{op: _none_if(FLOAT_OPS[op]) for op in ("neg", "T", "@", "+", "-", "*", "/", "**", "sse")},
    "relu": _none_if(lambda a: ewise(lambda x: max(x, Fraction(0)), a)),
    "sum": _none_if(lambda a: one(sum(entries(a)))),
    "mean": _none_if(lambda a: one(Fraction(sum(entries(a)), len(entries(a))))),
    "mse": _none_if(lambda z, t: one(Fraction(sum((tv - zv) ** 2 for zv, tv in zip(entries(z), entries(t))),
                                              2 * len(z)))),
    "l2": _none_if(lambda w, lam: one(lam[0][0] / 2 * sum(x * x for x in entries(w)))),
    **{f: (lambda *a: None) for f in ("sigmoid", "tanh", "exp", "softmax", "cross_entropy")},
}


def fold(tree: Tree, env: Mapping[str, Any], ops: Mapping[str, Callable]) -> Any:
    """Evaluate ``tree`` with a backend: ``ops`` maps "num", "neg", "T", the binary operators,
    "**" (called with the base and an int) and every function name to a callable."""
    kind = tree[0]
    if kind == "num":
        return ops["num"](tree[1])
    if kind == "name":
        return env[tree[1]]
    if kind in ("neg", "T"):
        return ops[kind](fold(tree[1], env, ops))
    if kind == "**":
        return ops["**"](fold(tree[1], env, ops), tree[2])
    if kind == "call":
        return ops[tree[1]](*(fold(a, env, ops) for a in tree[2]))
    return ops[kind](fold(tree[1], env, ops), fold(tree[2], env, ops))


def subtrees(tree: Tree):
    yield tree
    kind = tree[0]
    if kind == "call":
        for a in tree[2]:
            yield from subtrees(a)
    elif kind in ("neg", "T", "**"):
        yield from subtrees(tree[1])
    elif kind not in ("num", "name"):
        yield from subtrees(tree[1])
        yield from subtrees(tree[2])


# -- rendering -----------------------------------------------------------------------------------------

PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "neg": 3, "**": 4}


def render(tree: Tree, rng: random.Random) -> str:
    return _render(tree, rng)[0]


def _render(tree: Tree, rng: random.Random) -> tuple[str, int]:
    kind = tree[0]
    if kind == "num":
        return render_number(tree[1], rng)
    if kind == "name":
        return tree[1], 5
    if kind == "call":
        return tree[1] + "(" + ", ".join(_render(a, rng)[0] for a in tree[2]) + ")", 5
    if kind == "T":
        inner, ip = _render(tree[1], rng)
        if rng.random() < 0.3:
            return f"transpose({inner})", 5
        return (inner if ip >= 5 else f"({inner})") + ".T", 5
    if kind == "neg":
        inner, ip = _render(tree[1], rng)
        return "-" + (inner if ip >= 3 else f"({inner})"), 3
    if kind == "**":
        inner, ip = _render(tree[1], rng)
        return (inner if ip >= 5 else f"({inner})") + f" ** {tree[2]}", 4
    p = PREC[kind]
    (lt, lp), (rt, rp) = _render(tree[1], rng), _render(tree[2], rng)
    left = lt if lp >= p else f"({lt})"
    right = rt if rp > p else f"({rt})"
    return f"{left} {kind} {right}", p


def _yaml_number(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f'"{q.numerator}/{q.denominator}"'


def yaml_matrix(m: Mat, rng: random.Random) -> str:
    if len(m) == 1 and rng.random() < 0.6:  # a flat list: one row
        return "[" + ", ".join(_yaml_number(x) for x in m[0]) + "]"
    return "[" + ", ".join("[" + ", ".join(_yaml_number(x) for x in row) + "]" for row in m) + "]"


# -- the generator ------------------------------------------------------------------------------------

def N(q: Any) -> Tree:
    return ("num", Fraction(q))


def V(name: str) -> Tree:
    return ("name", name)


def call(fname: str, *args: Tree) -> Tree:
    return ("call", fname, tuple(args))


RATIONAL_STEPS = ["relu", "relu", "relu", "square", "scale", "hadamard", "divide", "neg", "none"]
TRANSCENDENTAL_STEPS = ["sigmoid", "tanh", "exp", "swish", "over_exp"]


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.given: dict[str, Mat] = {}
        self.scalars: set[str] = set()
        self.nodes: dict[str, Tree] = {}
        self.exact: dict[str, Mat | None] = {}
        self.approx: dict[str, Mat] = {}
        self.features: Counter = Counter()
        self.weights: list[str] = []
        self.pool = VALUES
        self.softmax_ahead = False  # the loss is a cross-entropy of a softmax: keep logits small
        self.lam_text: str | None = None  # λ as written in the YAML

    def matrix(self, rows: int, cols: int, pool: list[Fraction] | None = None) -> Mat:
        pool = pool or self.pool
        return tuple(tuple(self.rng.choice(pool) for _ in range(cols)) for _ in range(rows))

    def add_given(self, name: str, m: Mat, scalar: bool = False) -> Tree:
        self.given[name] = m
        if scalar:
            self.scalars.add(name)
        self.exact[name] = m
        self.approx[name] = tuple(tuple(float(x) for x in row) for row in m)
        return V(name)

    def add_node(self, name: str, tree: Tree) -> Tree:
        self.nodes[name] = tree
        self.exact[name] = self.exact_of(tree)
        self.approx[name] = self.approx_of(tree)
        return V(name)

    def exact_of(self, tree: Tree) -> Mat | None:
        return fold(tree, self.exact, EXACT_OPS)

    def approx_of(self, tree: Tree) -> Mat:
        return fold(tree, self.approx, FLOAT_OPS)

    # one layer -------------------------------------------------------------------------------------
    def linear(self, h: Tree, n: int, d_in: int, d_out: int, layer: int) -> Tree:
        """h @ W (in one of three writings), W new or shared with an earlier layer."""
        rng = self.rng
        form = rng.choice(["@", "@", "@", "@W.T", "(W.T@H.T).T"])
        square = [w for w in self.weights if shape(self.given[w]) == (d_in, d_in)]
        if square and d_in == d_out and rng.random() < 0.5:
            w = V(rng.choice(square))
            self.features["shared weight"] += 1
        else:
            stored = (d_out, d_in) if form == "@W.T" else (d_in, d_out)
            w = self.add_given(f"W{layer}", self.matrix(*stored))
            self.weights.append(w[1])
        if form == "@":
            return ("@", h, w)
        self.features["transpose"] += 1
        if form == "@W.T":
            return ("@", h, ("T", w))
        return ("T", ("@", ("T", w), ("T", h)))

    def bias(self, a: Tree, n: int, d: int, layer: int, aim: bool) -> Tree:
        """a plus (or minus) a bias broadcast as a row, a column or a scalar; with ``aim``, a
        row bias that makes one entry exactly 0."""
        rng = self.rng
        kind = rng.choice(["row"] * 6 + ["column", "scalar", "none", "none"])
        if aim:
            kind = "row"
        if kind == "none":
            return a
        self.features[f"bias {kind}"] += 1
        rows, cols = {"row": (1, d), "column": (n, 1), "scalar": (1, 1)}[kind]
        value = [list(r) for r in self.matrix(rows, cols)]
        sign = rng.choice(["+", "+", "+", "-"])
        exact = self.exact_of(a)
        if aim and exact is not None:
            i, j = rng.randrange(n), rng.randrange(d)
            value[0][j] = -exact[i][j] if sign == "+" else exact[i][j]
            self.features["relu aimed at 0"] += 1
        name = {"row": "b", "column": "c", "scalar": "s"}[kind] + str(layer)
        b = self.add_given(name, tuple(tuple(r) for r in value), scalar=kind == "scalar" and rng.random() < 0.7)
        if sign == "+" and rng.random() < 0.25:
            return ("+", b, a)
        return (sign, a, b)

    def step(self, z: Tree, n: int, d: int, layer: int, kind: str) -> Tree:
        """The element-wise step after the linear map (z is a node name or an inline tree)."""
        rng = self.rng
        self.features[kind] += 1
        if kind in ("relu", "sigmoid", "tanh", "exp"):
            return call(kind, z)
        if kind == "square":
            return ("**", z, 2)
        if kind == "neg":
            return ("neg", z)
        if kind == "scale":
            if rng.random() < 0.5:
                name = f"alpha{layer}"
                c = self.add_given(name, one(rng.choice(SCALES)), scalar=True)
                self.features["given scalar"] += 1
            else:
                c = N(rng.choice(SCALES))
            return ("*", c, z) if rng.random() < 0.6 else ("*", z, c)
        if kind == "hadamard":
            rows = rng.choice([n, 1])
            m = self.add_given(f"M{layer}", self.matrix(rows, d))
            return ("*", z, m) if rng.random() < 0.5 else ("*", m, z)
        if kind == "divide":
            rows, cols = rng.choice([(n, d), (1, d), (n, d), (1, 1)])
            return ("/", z, self.add_given(f"D{layer}", self.matrix(rows, cols, DIVISORS)))
        if kind == "swish":
            return ("*", z, call("sigmoid", z))
        if kind == "over_exp":
            return ("/", z, call("exp", z))
        assert kind == "none"
        return z

    def layer(self, h: Tree, n: int, d_in: int, d_out: int, layer: int, rational_only: bool) -> Tree:
        rng = self.rng
        h_exact = self.exact_of(h)
        if h_exact is None or self.softmax_ahead:  # no squares of sums of σ(…), or of logits
            steps = [s for s in RATIONAL_STEPS if s != "square"]
        else:
            steps = RATIONAL_STEPS if rational_only or rng.random() < 0.5 else TRANSCENDENTAL_STEPS
        kind = rng.choice(steps)
        a = self.linear(h, n, d_in, d_out, layer)
        z = self.bias(a, n, d_out, layer, aim=kind == "relu" and h_exact is not None and rng.random() < 0.6)
        zv = self.approx_of(z)
        if kind in TRANSCENDENTAL_STEPS:
            bound = BOUND.get(kind, 8 if kind == "swish" else 4)
            top = max(abs(x) for x in entries(zv))
            k = 2 ** math.ceil(math.log2(top / bound)) if top > bound else 1
            if k > 8 or (kind in ("exp", "over_exp") and exp_degree(self.exact_of(z)) > MAX_DEGREE):
                kind = rng.choice(["relu", "square", "none"])
            elif k > 1:  # scaled into range: sigmoid(Z / 4)
                z = ("/", z, N(k))
                self.features["scaled argument"] += 1
        if kind == "relu" and self.exact_of(z) is None and min(abs(x) for x in entries(zv)) < 1e-6:
            kind = "none"  # an exact 0 that SymPy may not see as one
        twice = kind in ("swish", "over_exp")
        if kind != "none" and (twice or rng.random() < 0.5):
            z = self.add_node(f"Z{layer}", z)
        out = self.step(z, n, d_out, layer, kind)
        if d_in == d_out and h[0] == "name" and rng.random() < 0.25:
            out = ("+", out, h)  # a skip connection: h feeds the layer and the sum
            self.features["skip"] += 1
        return self.add_node(f"H{layer}", out)

    # the loss --------------------------------------------------------------------------------------
    def loss(self, h: Tree, n: int, d: int, kind: str) -> Tree:
        rng = self.rng
        if kind == "cross_entropy" and (max(max(row) - min(row) for row in self.approx_of(h)) > 30
                                        or exp_degree(self.exact_of(h)) > MAX_DEGREE):
            kind = "mse"  # P would underflow in float64 (log P = -inf for PyTorch), or be slow to cancel
        self.features[kind] += 1
        if kind in ("sum", "mean"):
            data = call(kind, h)
        elif kind == "cross_entropy":
            y = [[0] * d for _ in range(n)]
            for row in y:
                row[rng.randrange(d)] = 1
            yt = self.add_given("Y", tuple(tuple(Fraction(v) for v in row) for row in y))
            if rng.random() < 0.5:
                p = self.add_node("P", call("softmax", h))
                self.features["softmax node"] += 1
            else:
                p = call("softmax", h)
                self.features["softmax inline"] += 1
            data = call("cross_entropy", p, yt)
        else:
            t = self.add_given("T", self.matrix(n, d))
            data = call(kind, h, t)
        terms = [data]
        if rng.random() < 0.4:
            lam_text = rng.choice(LAMBDAS)
            lam = Fraction(lam_text)
            if rng.random() < 0.25:
                lam_tree = N(lam)
            else:
                lam_tree = self.add_given("lam", one(lam), scalar=True)
                self.lam_text = lam_text
            for w in rng.sample(self.weights, min(len(self.weights), rng.choice([1, 1, 2]))):
                terms.append(call("l2", V(w), lam_tree))
                self.features["l2"] += 1
        if len(terms) > 1 and rng.random() < 0.4:  # the parts as nodes of their own
            names = []
            for k, t in enumerate(terms):
                names.append(self.add_node(f"R{k}" if k else "E", t))
            terms = names
        total = terms[0]
        for t in terms[1:]:
            total = ("+", total, t)
        return self.add_node("L", total)

    def text(self, rng: random.Random) -> str:
        lines = ["given:"]
        for name, m in self.given.items():
            if name in self.scalars:
                text = self.lam_text if name == "lam" else None
                q = m[0][0]
                lines.append(f"  {name}: {text or (_yaml_number(q) if rng.random() < 0.5 else render_number(q, rng)[0])}")
            else:
                lines.append(f"  {name}: {yaml_matrix(m, rng)}")
        lines.append("nodes:")
        for name, tree in self.nodes.items():
            lines.append(f"  {name}: {render(tree, rng)}")
        lines.append("loss: L")
        wrt = [n for n in self.given]
        lines.append("wrt: [" + ", ".join(wrt) + "]")
        return "\n".join(lines) + "\n"


def generate(seed: int) -> tuple[str, MatrixGraph]:
    """A random matrix worksheet (YAML text) and its description (the same computation as trees)."""
    b = _Builder(seed)
    rng = b.rng
    n = rng.randint(1, 3)
    widths = [rng.randint(1, 4)]
    layers = rng.choice([1, 2, 2, 3])
    loss = rng.choice(["sum", "mean", "cross_entropy", "cross_entropy", "mse", "sse"])
    for k in range(layers):
        d = widths[-1] if rng.random() < 0.3 else rng.randint(1, 4)
        if k == layers - 1 and loss == "cross_entropy":
            d = max(d, 2)
        widths.append(d)
    b.softmax_ahead = loss == "cross_entropy"
    if loss == "cross_entropy" or rng.random() < 0.4:
        b.pool = SMALL_VALUES
    h = b.add_given("X", b.matrix(n, widths[0]))
    for k in range(layers):
        # softmax needs rational logits (no exp of exp): then the whole chain stays rational. A
        # transcendental step comes last, or just before a last layer of width 1 or 2 (the sums of
        # exponentials that later layers build are what makes exact arithmetic slow)
        late = k == layers - 1 or (k == layers - 2 and widths[-1] <= 2)
        h = b.layer(h, n, widths[k], widths[k + 1], k + 1, rational_only=loss == "cross_entropy" or not late)
    b.loss(h, n, widths[-1], loss)
    trees = list(b.nodes.values())
    uses = Counter(t[1] for tree in trees for t in subtrees(tree) if t[0] == "name")
    if any(uses[name] >= 2 for name in b.nodes):
        b.features["fan-out (node)"] += 1
    if any(uses[name] >= 2 for name in b.given):
        b.features["fan-out (given)"] += 1
    for tree in trees:
        for t in subtrees(tree):
            if t[0] not in ("name", "num", "call"):
                b.features["op " + t[0]] += 1
    zeros = 0
    for tree in trees:
        for t in subtrees(tree):
            if t[0] == "call" and t[1] == "relu":
                arg = b.exact_of(t[2][0])
                zeros += 0 if arg is None else sum(x == 0 for x in entries(arg))
    text_rng = random.Random(seed * 7919 + 1)
    text = b.text(text_rng)
    graph = MatrixGraph(seed, text, f"matrix-{seed}.yaml", dict(b.given), frozenset(b.scalars), dict(b.nodes), "L",
                        b.features, zeros)
    return text, graph
