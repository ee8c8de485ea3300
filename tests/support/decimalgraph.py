"""Seeded random numeric worksheets as a course writes them — decimal inputs (0.35, -1.2), sigmoid,
tanh, exp, log, products and sums, 1 to 6 layers deep — with an mpmath oracle of their own, for the
tests of how sheets write numbers (a module of the tests, not a test).

``generate(seed, depth)`` returns a :class:`DecimalGraph`: the worksheet's YAML text and the same
computation as small trees, which :func:`values` and :func:`gradients` evaluate in mpmath without
SymPy (forward-mode dual numbers for the gradients), at the caller's ``mpmath.mp.dps``.

Trees are tuples: ``("name", str)``, ``(op, a, b)`` for op in ``+ - *``,
``("half", a)`` for a / 2, ``("square", a)`` for a ** 2, ``("call", fname, a)`` for sigmoid, tanh,
exp, log. Magnitudes are kept moderate (|value| <= 60, exp of at most 4, log of at least 0.02, else
of a sigmoid) so that the sheets stay readable and the oracle needs no guard digits of its own.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from fractions import Fraction

import mpmath

Tree = tuple
FUNCTIONS = ("sigmoid", "tanh", "exp", "log")
DIGITS = (None, None, 3, 4, 6, 9)  # decimals: of the worksheet (None: the default)


@dataclass(frozen=True)
class DecimalGraph:
    seed: int
    depth: int
    text: str  # the worksheet, YAML
    given: dict[str, Fraction]  # in the order written
    nodes: dict[str, Tree]  # in order, the loss last
    loss: str
    digits: int | None  # decimals: of the worksheet
    params: tuple[str, ...]  # the weights its update: step changes (lr 1/10), if any


def _decimal(rng: random.Random) -> str:
    """A non-zero decimal as a course gives one: 0.35, -1.2, 0.05, sometimes 0.10 (as written)."""
    places = rng.choice((1, 2, 2))
    while True:
        v = rng.randint(-200, 200) // (10 if places == 1 else 1)
        if v:
            break
    text = f"{abs(v) / 10 ** places:.{places}f}"
    if places == 1 and rng.random() < 0.15:
        text += "0"  # 0.10: written with a trailing zero
    return ("-" if v < 0 else "") + text


def value(tree: Tree, env: dict[str, mpmath.mpf]) -> mpmath.mpf:
    """A tree's value in mpmath at the current precision."""
    return _dual(tree, {n: (v, mpmath.mpf(0)) for n, v in env.items()})[0]


def _dual(tree: Tree, env: dict[str, tuple]) -> tuple:
    """(value, derivative) of a tree, each name's pair taken from ``env``."""
    kind = tree[0]
    if kind == "name":
        return env[tree[1]]
    if kind in ("+", "-", "*"):
        (a, da), (b, db) = _dual(tree[1], env), _dual(tree[2], env)
        if kind == "+":
            return a + b, da + db
        if kind == "-":
            return a - b, da - db
        return a * b, da * b + a * db
    if kind == "half":
        a, da = _dual(tree[1], env)
        return a / 2, da / 2
    if kind == "square":
        a, da = _dual(tree[1], env)
        return a * a, 2 * a * da
    fn, (a, da) = tree[1], _dual(tree[2], env)
    if fn == "sigmoid":
        s = 1 / (1 + mpmath.exp(-a))
        return s, s * (1 - s) * da
    if fn == "tanh":
        t = mpmath.tanh(a)
        return t, (1 - t * t) * da
    if fn == "exp":
        e = mpmath.exp(a)
        return e, e * da
    return mpmath.log(a), da / a


def values(g: DecimalGraph, given: dict[str, mpmath.mpf] | None = None) -> dict[str, mpmath.mpf]:
    """Every given name and node, in mpmath; ``given`` replaces some given values (an update step)."""
    env = {n: mpmath.mpf(v.numerator) / v.denominator for n, v in g.given.items()} | (given or {})
    for name, tree in g.nodes.items():
        env[name] = value(tree, env)
    return env


def gradients(g: DecimalGraph) -> dict[str, mpmath.mpf]:
    """∂L/∂name for every given name and every node but the loss, by forward-mode dual numbers:
    the name's derivative seeded with 1, every other name's with 0."""
    base = values(g)
    out = {}
    for wrt in [*g.given, *list(g.nodes)[:-1]]:
        env = {n: (base[n], mpmath.mpf(n == wrt)) for n in g.given}
        for name, tree in g.nodes.items():
            env[name] = (base[name], mpmath.mpf(1)) if name == wrt else _dual(tree, env)
        out[wrt] = env[g.loss][1]
    return out


def _text(tree: Tree) -> str:
    kind = tree[0]
    if kind == "name":
        return tree[1]
    if kind in ("+", "-"):
        right = _text(tree[2])
        return f"{_text(tree[1])} {kind} " + (f"({right})" if kind == "-" and tree[2][0] in ("+", "-") else right)
    if kind == "*":
        return "*".join(f"({_text(t)})" if t[0] in ("+", "-") else _text(t) for t in tree[1:])
    if kind == "half":
        return f"{_text(tree[1])} / 2"
    if kind == "square":
        return f"({_text(tree[1])})**2"
    return f"{tree[1]}({_text(tree[2])})"


def _names(tree: Tree) -> set[str]:
    if tree[0] == "name":
        return {tree[1]}
    return set().union(*(_names(t) for t in tree[1:] if isinstance(t, tuple)))


def generate(seed: int, depth: int, update: bool = False) -> DecimalGraph:
    """A worksheet of ``depth`` computed layers over decimal inputs; with ``update``, one gradient
    step on its weights."""
    rng = random.Random(f"decimalgraph-{seed}-{depth}")
    texts: dict[str, str] = {}
    for i in range(1, rng.randint(2, 3) + 1):
        texts[f"x{i}"] = _decimal(rng)
    for i in range(1, depth + 3):
        texts[f"w{i}"] = _decimal(rng)
    texts["b"] = _decimal(rng)
    given = {n: Fraction(t) for n, t in texts.items()}
    env = {n: mpmath.mpf(v.numerator) / v.denominator for n, v in given.items()}
    weights = [n for n in given if n.startswith("w")]
    nodes: dict[str, Tree] = {}
    pool = [n for n in given if n.startswith("x")]  # what a layer may read
    with mpmath.workdps(30):
        for layer in range(1, depth + 1):
            name = "L" if layer == depth else f"h{layer}"
            tree = _layer(rng, pool, weights, env)
            nodes[name] = tree
            env[name] = value(tree, env)
            pool.append(name)
    lines = [f"title: Random decimal graph {seed}, depth {depth}", "given:"]
    lines += [f"  {n}: {t}" for n, t in texts.items()]
    lines += ["nodes:"] + [f"  {n}: {_text(t)}" for n, t in nodes.items()]
    digits = rng.choice(DIGITS)
    if digits:
        lines.append(f"decimals: {digits}")
    used = [w for w in weights if any(w in _names(t) for t in nodes.values())]
    g = DecimalGraph(seed, depth, "\n".join(lines) + "\n", given, nodes, "L", digits, tuple(used[:2]) if update else ())
    if not g.params or not _stays_real(g):
        return replace(g, params=())
    lines += ["update:", "  lr: 0.1", f"  params: [{', '.join(g.params)}]"]
    return replace(g, text="\n".join(lines) + "\n")


def _stays_real(g: DecimalGraph) -> bool:
    """Whether every value stays defined after the update step (a log's argument stays positive)."""
    with mpmath.workdps(30):
        before, grads = values(g), gradients(g)
        after = values(g, {w: before[w] - grads[w] / 10 for w in g.params})
    return all(isinstance(v, mpmath.mpf) for v in after.values())


def _layer(rng: random.Random, pool: list[str], weights: list[str], env: dict[str, mpmath.mpf]) -> Tree:
    """One computed node over earlier names: a weighted sum, a product, or a function of either."""
    last = ("name", pool[-1])
    other = ("name", rng.choice(pool[:-1] or pool))
    w1, w2 = (("name", w) for w in rng.sample(weights, 2))
    total = ("+", ("+", ("*", w1, last), ("*", w2, other)), ("name", "b"))
    kind = rng.choice(("sum", "product", "square", *FUNCTIONS, *FUNCTIONS))
    if kind == "sum":
        tree = total
    elif kind == "product":
        tree = ("*", last, other)
    elif kind == "square":
        tree = ("half", ("square", ("-", other, last)))
    else:
        inner = rng.choice((last, total))
        x = value(inner, env)
        if kind == "exp" and abs(x) > 4:
            kind = "sigmoid"
        if kind == "log" and x < mpmath.mpf("0.02"):
            inner = ("call", "sigmoid", inner)
        tree = ("call", kind, inner)
    if abs(value(tree, env)) > 60:
        tree = ("call", "tanh", tree)
    return tree
