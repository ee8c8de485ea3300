#!/usr/bin/env python
"""Benchmark of the symbackprop core on scalar MLP worksheets (a standalone script, not a test).

For graphs of about 100, 300 and 1000 names (given names, weights included, plus nodes) it times

  * the full pipeline ``solve(yaml_text)`` → ``.markdown()``, ``.latex()``, ``.json()``, with the
    time of each phase (reading the worksheet, the derivation, the sheet layout, each rendering);
  * the baseline: the loss composed into one SymPy expression (each node substituted into the
    next, ``relu`` as ``Max(z, 0)``), ``sympy.diff`` for every given name, then the numbers
    substituted — run in a child process with a time limit;
  * the whole process ``symbackprop solve worksheets/001_linear_network.yaml``;

checks on the 100-name graph that both ways give the same gradients (exactly, with a 50-digit
fallback), prints a Markdown table and PASS/FAIL for each target, and always exits 0.

Usage:  python tests/benchmarks/bench_core.py [--full] [--baseline-timeout SECONDS]
        [--profile | --profile-only] [--profile-top N]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sympy as sp
from sympy.core.cache import clear_cache

# symbackprop is imported by load_engine(), in the parent only: the baseline child is pure SymPy.
symbackprop = api = solve = None


def load_engine() -> None:
    global symbackprop, api, solve
    import symbackprop as _pkg
    import symbackprop.api as _api

    symbackprop, api, solve = _pkg, _api, _pkg.solve

SEED_WORKSHEET = ROOT / "worksheets" / "001_linear_network.yaml"


# ---------------------------------------------------------------------------------------------
# The worksheets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Size:
    """A network shape: n_in inputs, hidden ReLU layers of the given widths, K classes."""

    label: str
    n_in: int
    hidden: tuple[int, ...]
    classes: int
    target: int  # the class y of the loss L = -log(p_y), from 1
    seed: int


# Shapes chosen so the number of names is close to 100, 300 and 1000 (the exact counts are
# printed). Two hidden layers each, so the depth is the same and only the width grows.
SIZES = (
    Size("~100", n_in=3, hidden=(5, 5), classes=3, target=2, seed=100),
    Size("~300", n_in=4, hidden=(11, 11), classes=4, target=3, seed=300),
    Size("~1000", n_in=5, hidden=(25, 25), classes=4, target=1, seed=1000),
)


@dataclass
class Network:
    """A generated worksheet: its YAML text and the same graph in plain data for the baseline."""

    size: Size
    yaml: str
    given: dict[str, int]  # name → integer value, in order
    nodes: list[tuple[str, str, tuple]]  # (name, kind, data) in topological order
    scale: int  # the logits are (Σ w h + b) / scale
    active: int = 0  # hidden units with a positive pre-activation
    units: int = 0

    @property
    def n_given(self) -> int:
        return len(self.given)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_names(self) -> int:
        return self.n_given + self.n_nodes


def _weight(rng: random.Random) -> int:
    return rng.choice((-2, -1, 1, 2))


def _linear_text(terms: list[tuple[str, str]], bias: str) -> str:
    return " + ".join(f"{w}*{x}" for w, x in terms) + f" + {bias}"


def make_network(size: Size) -> Network:
    """A deterministic MLP worksheet; biases are re-drawn so that no ReLU sits on its kink
    (relu'(0) is a convention, 0 here, while d/dz Max(z, 0) at 0 is SymPy's Heaviside(0) = 1/2)."""
    rng = random.Random(size.seed)
    given: dict[str, int] = {}
    values: dict[str, Fraction] = {}
    nodes: list[tuple[str, str, tuple]] = []
    node_text: dict[str, str] = {}

    prev = []
    for i in range(1, size.n_in + 1):
        name = f"x{i}"
        given[name] = rng.choice((-3, -2, -1, 1, 2, 3))
        values[name] = Fraction(given[name])
        prev.append(name)

    active = units = 0
    layer_weights: list[list[tuple[list[tuple[str, str]], str]]] = []
    for layer, width in enumerate(size.hidden, start=1):
        units_here = []
        for j in range(1, width + 1):
            terms = []
            for i, x in enumerate(prev, start=1):
                w = f"w{layer}_{j}_{i}"
                given[w] = _weight(rng)
                terms.append((w, x))
            b = f"b{layer}_{j}"
            units_here.append((terms, b))
        layer_weights.append(units_here)
        # Biases last (after all weights of the layer), re-drawn away from a kink.
        cur = []
        for j, (terms, b) in enumerate(units_here, start=1):
            pre = sum(given[w] * values[x] for w, x in terms)
            bias = _weight(rng)
            if pre + bias == 0:
                bias = -bias if bias != 0 else 1  # pre + (-bias) = 2*pre ≠ 0 since pre = -bias ≠ 0
            given[b] = bias
            z, h = f"z{layer}_{j}", f"h{layer}_{j}"
            values[z] = pre + bias
            values[h] = max(values[z], Fraction(0))
            units += 1
            active += values[z] > 0
            nodes.append((z, "linear", (tuple(terms), b, 1)))
            nodes.append((h, "relu", (z,)))
            node_text[z] = _linear_text(terms, b)
            node_text[h] = f"relu({z})"
            cur.append(h)
        prev = cur

    # Output logits, scaled so that every exp(s_k) stays moderate (values stay exact anyway).
    out_units = []
    for k in range(1, size.classes + 1):
        terms = []
        for i, h in enumerate(prev, start=1):
            w = f"v_{k}_{i}"
            given[w] = _weight(rng)
            terms.append((w, h))
        out_units.append((terms, f"c_{k}"))
    for _, c in out_units:
        given[c] = _weight(rng)
    raw = [sum(given[w] * values[h] for w, h in terms) + given[c] for terms, c in out_units]
    biggest = max(abs(r) for r in raw)
    scale = 1
    while biggest / scale > 4:
        scale *= 2
    for k, (terms, c) in enumerate(out_units, start=1):
        s = f"s{k}"
        nodes.append((s, "linear", (tuple(terms), c, scale)))
        node_text[s] = f"({_linear_text(terms, c)})/{scale}" if scale != 1 else _linear_text(terms, c)
    for k in range(1, size.classes + 1):
        nodes.append((f"e{k}", "exp", (f"s{k}",)))
        node_text[f"e{k}"] = f"exp(s{k})"
    nodes.append(("S", "sum", tuple(f"e{k}" for k in range(1, size.classes + 1))))
    node_text["S"] = " + ".join(f"e{k}" for k in range(1, size.classes + 1))
    for k in range(1, size.classes + 1):
        nodes.append((f"p{k}", "div", (f"e{k}", "S")))
        node_text[f"p{k}"] = f"e{k}/S"
    nodes.append(("L", "nll", (f"p{size.target}",)))
    node_text["L"] = f"-log(p{size.target})"

    lines = [
        f"title: Benchmark MLP {size.n_in}-{'-'.join(map(str, size.hidden))}-{size.classes} with softmax cross-entropy",
        "description: >-",
        f"  A generated scalar network (seed {size.seed}) with ReLU hidden layers, a softmax written with",
        f"  exp and a sum, and the loss L = -log(p{size.target}).",
        "given:",
        *(f"  {n}: {v}" for n, v in given.items()),
        "nodes:",
        *(f"  {n}: {node_text[n]}" for n, _, _ in nodes),
        "loss: L",
        "wrt: [" + ", ".join(given) + "]",
        "",
    ]
    return Network(size, "\n".join(lines), given, nodes, scale, active, units)


# ---------------------------------------------------------------------------------------------
# The baseline: the composed loss and sympy.diff
# ---------------------------------------------------------------------------------------------
def composed_loss(net: Network) -> tuple[sp.Expr, dict[str, sp.Symbol]]:
    """Substitute each node's expression into the next: one expression in the given symbols."""
    syms = {n: sp.Symbol(n, real=True) for n in net.given}
    env: dict[str, sp.Expr] = dict(syms)
    for name, kind, data in net.nodes:
        if kind == "linear":
            terms, b, scale = data
            e = sp.Add(*(env[w] * env[x] for w, x in terms)) + env[b]
            env[name] = e / scale if scale != 1 else e
        elif kind == "relu":
            env[name] = sp.Max(env[data[0]], 0)
        elif kind == "exp":
            env[name] = sp.exp(env[data[0]])
        elif kind == "sum":
            env[name] = sp.Add(*(env[e] for e in data))
        elif kind == "div":
            env[name] = env[data[0]] / env[data[1]]
        elif kind == "nll":
            env[name] = -sp.log(env[data[0]])
        else:
            raise AssertionError(kind)
    return env["L"], syms


def run_baseline(net: Network, keep: bool) -> tuple[float, dict[str, str]]:
    """Time: compose, diff for every given name, substitute the numbers. Returns the time and,
    if ``keep``, the gradients as srepr strings."""
    clear_cache()
    t0 = time.perf_counter()
    loss, syms = composed_loss(net)
    numbers = {syms[n]: sp.Integer(v) for n, v in net.given.items()}
    grads = {}
    for n in net.given:
        g = sp.diff(loss, syms[n])
        grads[n] = g.xreplace(numbers)
    elapsed = time.perf_counter() - t0
    return elapsed, ({n: sp.srepr(g) for n, g in grads.items()} if keep else {})


def baseline_child(label: str, keep: bool) -> None:
    """Entry of the child process: one baseline run, its result as one JSON line on stdout."""
    net = make_network(next(s for s in SIZES if s.label == label))
    elapsed, grads = run_baseline(net, keep)
    sys.stdout.write(json.dumps({"time": elapsed, "gradients": grads}) + "\n")


FAILED = -1.0  # the baseline child crashed (distinct from None: over the time limit)


def baseline(label: str, limit: float, repeats: int, keep: bool) -> tuple[float | None, dict[str, str]]:
    """Best of ``repeats`` child runs, each killed after ``limit`` seconds (None: over the limit,
    FAILED: the child crashed)."""
    best, grads = None, {}
    for r in range(repeats):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_baseline-child", label]
        if keep and r == 0:
            cmd.append("--_keep")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Allow for the child's start-up (importing SymPy); the run itself is timed inside it.
        try:
            out, err = proc.communicate(timeout=limit + 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None, grads
        if proc.returncode != 0:
            print(f"  baseline {label}: child failed (exit {proc.returncode}):\n{err[-2000:]}", file=sys.stderr)
            return FAILED, grads
        result = json.loads(out.strip().splitlines()[-1])
        if result["time"] > limit:
            return None, grads
        if result["gradients"]:
            grads = result["gradients"]
        best = result["time"] if best is None else min(best, result["time"])
    return best, grads


# ---------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------
@dataclass
class Phases:
    read: float = 0.0
    derive: float = 0.0
    layout: float = 0.0
    md: float = 0.0
    tex: float = 0.0
    json: float = 0.0
    total: float = 0.0
    out_chars: dict[str, int] = field(default_factory=dict)


class _Timed:
    """Wrap a function of ``symbackprop.api`` to add its time to a Phases field (the module is
    not edited; the wrapper is only installed inside this process)."""

    def __init__(self, attr: str, field_name: str) -> None:
        self.attr, self.field, self.orig, self.phases = attr, field_name, getattr(api, attr), None

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.orig(*args, **kwargs)
        finally:
            if self.phases is not None:
                setattr(self.phases, self.field, getattr(self.phases, self.field) + time.perf_counter() - t0)


_WRAPPERS = []


def install_timers() -> None:
    """Time ``derive`` and ``layout`` as ``api.solve`` calls them; reading is solve minus both."""
    for attr, name in (("derive", "derive"), ("layout", "layout")):
        w = _Timed(attr, name)
        setattr(api, attr, w)
        _WRAPPERS.append(w)


def pipeline_once(text: str) -> tuple[Phases, object]:
    clear_cache()
    ph = Phases()
    for w in _WRAPPERS:
        w.phases = ph
    t0 = time.perf_counter()
    s = solve(text)
    t1 = time.perf_counter()
    md = s.markdown()
    t2 = time.perf_counter()
    tex = s.latex()
    t3 = time.perf_counter()
    js = s.json()
    t4 = time.perf_counter()
    for w in _WRAPPERS:
        w.phases = None
    ph.read = (t1 - t0) - ph.derive - ph.layout
    ph.md, ph.tex, ph.json, ph.total = t2 - t1, t3 - t2, t4 - t3, t4 - t0
    ph.out_chars = {"md": len(md), "tex": len(tex), "json": len(js)}
    return ph, s


def pipeline(text: str, repeats: int) -> tuple[Phases, object]:
    best, sol = None, None
    for _ in range(repeats):
        ph, sol = pipeline_once(text)
        if best is None or ph.total < best.total:
            best = ph
    return best, sol


# ---------------------------------------------------------------------------------------------
# The correctness check and the seed process
# ---------------------------------------------------------------------------------------------
def _exactly_zero(diff: sp.Expr) -> bool:
    """An exact zero test: the numerator over a common denominator expands to 0 (exp of
    rationals multiply into one exp), else ``simplify(diff) == 0``."""
    num, _ = sp.fraction(sp.together(diff))
    return sp.expand(num) == 0 or sp.simplify(diff) == 0


def check_gradients(sol, grads: dict[str, str]) -> tuple[int, int, int, list[str]]:
    """Compare solve's gradient of every given name with the composed-diff one: exactly first
    (the difference reduces to 0), else to 50 digits. Returns (exact, by 50 digits, total, bad)."""
    exact = digits = 0
    bad = []
    for name, text in grads.items():
        a = sol.derivation.gradient(name)
        b = eval(text, dict(vars(sp)))  # an srepr string written by our own child process
        diff = a - b
        if diff == 0 or _exactly_zero(diff):
            exact += 1
            continue
        va, vb = sp.N(a, 50), sp.N(b, 50)
        if abs(va - vb) <= sp.Float("1e-45", 50) * max(1, abs(va)):
            digits += 1
        else:
            bad.append(f"{name}: solve {va} vs diff {vb}")
    return exact, digits, len(grads), bad


def seed_command() -> tuple[list[str], str]:
    exe = shutil.which("symbackprop")
    if exe:
        return [exe, "solve", str(SEED_WORKSHEET)], "symbackprop (console script on PATH)"
    return ([sys.executable, "-c", "from symbackprop.cli import main; main()", "solve", str(SEED_WORKSHEET)],
            f"{sys.executable} -c 'from symbackprop.cli import main; main()' (no console script on PATH)")


def seed_process(repeats: int = 5) -> tuple[float, str]:
    cmd, how = seed_command()
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
        t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    return best, how


def import_floor(repeats: int = 5) -> dict[str, float]:
    """For reading the seed-process time: a bare interpreter, importing SymPy, importing the CLI."""
    out = {}
    for label, code in (("python -c pass", "pass"), ("python -c 'import sympy'", "import sympy"),
                        ("python -c 'import symbackprop.cli'", "import symbackprop.cli")):
        best = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
        out[label] = best
    return out


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
def profile(net: Network, top: int) -> None:
    """cProfile one pipeline run; list the top cumulative entries of symbackprop, SymPy and Jinja2."""
    print(f"\n## cProfile of the pipeline at {net.n_names} names (top {top} cumulative, "
          "symbackprop/sympy/jinja2 only)\n")
    clear_cache()
    prof = cProfile.Profile()
    prof.enable()
    s = solve(net.yaml)
    s.markdown(), s.latex(), s.json()
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("cumulative").print_stats(r"symbackprop|sympy|jinja2|templates", top)
    text = buf.getvalue()
    start = text.find("   ncalls")
    total = text[:start].strip().splitlines()[-1] if start > 0 else ""
    print("```")
    print(total)
    print(text[start:].rstrip() if start >= 0 else text.rstrip())
    print("```")


def fmt_s(t: float | None, limit: float | None = None) -> str:
    if t == FAILED:
        return "failed"
    if t is None:
        return f"> {limit:g}" if limit is not None else "not run"
    return f"{t:.3f}"


def verdict(ok: bool | None) -> str:
    return "PASS" if ok else ("FAIL" if ok is not None else "N/A")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="also run the composed-diff baseline at ~1000 names")
    ap.add_argument("--baseline-timeout", type=float, default=120.0, help="seconds per baseline run (default 120)")
    ap.add_argument("--profile", action="store_true", help="cProfile the pipeline at ~1000 names")
    ap.add_argument("--profile-only", action="store_true", help="only the cProfile at ~1000 names (no timings)")
    ap.add_argument("--profile-top", type=int, default=10, help="how many cumulative entries to list")
    ap.add_argument("--_baseline-child", dest="child", help=argparse.SUPPRESS)
    ap.add_argument("--_keep", dest="keep", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        baseline_child(args.child, args.keep)
        return

    load_engine()
    if args.profile_only:
        profile(make_network(SIZES[2]), args.profile_top)
        return
    print("# symbackprop core benchmark\n")
    print(f"Python {sys.version.split()[0]}, SymPy {sp.__version__}, symbackprop {symbackprop.__version__}, "
          f"{os.cpu_count()} CPUs; command: {' '.join([Path(sys.executable).name] + sys.argv)}\n")
    install_timers()

    nets = [make_network(s) for s in SIZES]
    print("| graph | shape (in-hidden-out) | given names | nodes | names | active ReLUs | logit scale |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for net in nets:
        s = net.size
        print(f"| {s.label} | {s.n_in}-{'-'.join(map(str, s.hidden))}-{s.classes} | {net.n_given} | "
              f"{net.n_nodes} | {net.n_names} | {net.active}/{net.units} | 1/{net.scale} |")
    print()

    results = []
    for idx, net in enumerate(nets):
        repeats = 3 if net.n_names < 500 else 2
        try:
            ph, sol = pipeline(net.yaml, repeats)
        except Exception as exc:  # the engine is reported, the benchmark goes on
            ph, sol = None, None
            print(f"- {net.size.label}: the pipeline FAILED: {type(exc).__name__}: {exc}", flush=True)
        run_base = idx < 2 or args.full
        keep = idx == 0 and sol is not None
        if run_base:
            base, grads = baseline(net.size.label, args.baseline_timeout, 3 if idx == 0 else 1, keep)
        else:
            base, grads = None, {}
        check = check_gradients(sol, grads) if keep and grads else None
        results.append((net, ph, base, run_base, check))
        print(f"- {net.size.label} ({net.n_names} names): pipeline "
              f"{f'{ph.total:.3f} s (best of {repeats})' if ph else 'failed'}, "
              f"baseline {fmt_s(base, args.baseline_timeout) if run_base else 'skipped (use --full)'}",
              flush=True)

    print("\n## Results\n")
    print("| nodes (names) | solve→md+tex+json (s) | of which derive (s) | read (s) | layout (s) | "
          "md (s) | tex (s) | json (s) | composed sympy.diff (s) | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for net, ph, base, run_base, _ in results:
        base_txt = fmt_s(base, args.baseline_timeout) if run_base else "not run (--full)"
        if ph is None:
            print(f"| {net.n_names} | failed | | | | | | | {base_txt} | — |")
            continue
        if base == FAILED:
            speed = "—"
        elif base is not None:
            speed = f"{base / ph.total:.1f}×"
        elif run_base:
            speed = f"> {args.baseline_timeout / ph.total:.0f}×"
        else:
            speed = "—"
        print(f"| {net.n_names} | {ph.total:.3f} | {ph.derive:.3f} | {ph.read:.3f} | {ph.layout:.3f} | "
              f"{ph.md:.3f} | {ph.tex:.3f} | {ph.json:.3f} | {base_txt} | {speed} |")
    t100, t300, t1000 = (r[1].total if r[1] else None for r in results)
    ratio = t1000 / t300 if t1000 and t300 else None
    names_ratio = results[2][0].n_names / results[1][0].n_names
    if ratio is not None:
        print(f"\nt(1000)/t(300) = {t1000:.3f}/{t300:.3f} = {ratio:.2f} (names ratio {names_ratio:.2f})")
    sizes = ", ".join(f"{r[0].n_names}: md {r[1].out_chars['md']:,} / tex {r[1].out_chars['tex']:,} / "
                      f"json {r[1].out_chars['json']:,} chars" for r in results if r[1])
    print(f"output sizes — {sizes}")

    try:
        seed_t, how = seed_process()
        print(f"seed process `symbackprop solve worksheets/001_linear_network.yaml`: {seed_t:.3f} s "
              f"(best of 5; {how})")
    except subprocess.CalledProcessError as exc:
        seed_t = None
        print(f"seed process FAILED (exit {exc.returncode})")
    floor = import_floor()
    print("  start-up alone (best of 5): " + ", ".join(f"{k}: {v:.3f} s" for k, v in floor.items()))

    check = results[0][4]
    print("\n## Correctness (100-name graph)\n")
    if check is None:
        print("not checked: no gradients from the pipeline or the baseline")
        check_ok = False
    else:
        exact, digits, total, bad = check
        check_ok = not bad and exact + digits == total
        print(f"{total} gradients (every given name): {exact} equal exactly (a - b reduces to 0), "
              f"{digits} equal to 50 digits, {len(bad)} differ — {verdict(check_ok)}")
        for line in bad[:10]:
            print("  " + line)

    base100 = results[0][2]
    t = lambda v, unit=" s": f"{v:.3f}{unit}" if v is not None else "failed"
    if t100 is None or base100 == FAILED:
        speed100, speed_ok = "failed", False
    elif base100 is None:
        speed100, speed_ok = f"> {args.baseline_timeout / t100:.0f}×", True
    else:
        speed100, speed_ok = f"{base100 / t100:.1f}×", base100 / t100 >= 10
    targets = [
        ("1000 names: solve→md+tex+json < 3 s", t(t1000), t1000 is not None and t1000 < 3),
        ("t(1000)/t(300) ≤ 4", t(ratio, ""), ratio is not None and ratio <= 4),
        ("100 names: ≥ 10× faster than composed sympy.diff", speed100, speed_ok),
        ("seed process < 1 s", t(seed_t), seed_t is not None and seed_t < 1),
        ("gradients at 100 names equal composed diff", "see above", check_ok),
    ]
    print("\n## Targets\n")
    print("| target | measured | result |")
    print("|---|---:|---|")
    for what, measured, ok in targets:
        print(f"| {what} | {measured} | {verdict(ok)} |")

    if args.profile:
        profile(nets[2], args.profile_top)
    sys.exit(0)


if __name__ == "__main__":
    main()
