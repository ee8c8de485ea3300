#!/usr/bin/env python
"""Benchmark of ``symbackprop check`` (a standalone script, not a test).

It times, the median of 5 runs each,

  * the whole process ``symbackprop check`` on a typed 40-line derivation of worksheet 001
    (target: under 2 s) and on each seed transcription found in SEEDS (default /work/shared/seeds);
  * the whole process ``symbackprop check`` on a 40-line derivation of worksheet 005 (the 2-2-2
    sigmoid network) as a student writes it, every number rounded to 4 significant digits and
    carried forward rounded, the updated weights included, one line with σ' missing (target:
    under 2 s);
  * in one process, a 30-node chain-and-fan-out worksheet checked against wrong claims that each
    need the full diagnosis search (target: under 5 s);

and counts, for the seed transcriptions, how many equation chains each LaTeX reader turns into
members: the project's own grammar, and SymPy's ``parse_latex`` (ANTLR and lark backends) when
their runtimes are installed. Prints a Markdown table and always exits 0.

Usage:  python tests/benchmarks/bench_check.py [SEEDS]
"""
from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from symbackprop.check.answer_text import math_lines, read_answer  # noqa: E402
from symbackprop.api import check  # noqa: E402
from symbackprop.check.latexmath import parse_chain  # noqa: E402
from symbackprop.check.tokens import Unreadable  # noqa: E402
from symbackprop.api import worksheet  # noqa: E402
from symbackprop.engine.derive import derive  # noqa: E402
from support.student import Student  # noqa: E402

WORKSHEETS = ROOT / "worksheets"
SEED_WORKSHEETS = {"000": "000_edge_graph", "001": "001_linear_network", "002": "002_relu_skip_symbolic",
                   "004": "004_softmax_choose"}


def process_time(*args: str) -> float:
    """The median wall-clock time of the whole process over 5 runs; the median CPU time (user +
    system) goes to ``cpu_times``, a figure the machine's other work moves less."""
    times, cpu = [], []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from symbackprop.cli import main; main()", "check", *args],
                       capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    cpu_times.append(statistics.median(cpu))
    return statistics.median(times)


cpu_times: list[float] = []


def forty_lines() -> str:
    """A typed derivation of 001 with 40 chains: the forward pass, the backward pass with chain
    rules, and restatements, some of them wrong."""
    lines = [r"$$B_1 = w_1 A_1 + w_2 A_2 = (-2)(-1) + (1)(1) = 3$$", r"$$B_2 = w_3 A_1 + w_4 A_2 = -1 + 2 = 1$$",
             r"$$C_1 = w_5 B_1 + w_6 B_2 = 3 - 2 = 1$$", r"$$C_2 = w_7 B_1 + w_8 B_2 = -3$$",
             r"$$D = w_9 C_1 + w_{10} C_2 = 1 + 3 = 4$$", r"$$L = (D - t)^2 = 1$$",
             r"$$\frac{\partial L}{\partial D} = 2(D - t) = 2$$",
             r"$$\frac{\partial L}{\partial C_1} = \frac{\partial L}{\partial D} w_9 = 2$$",
             r"$$\frac{\partial L}{\partial C_2} = \frac{\partial L}{\partial D} w_{10} = -2$$",
             r"$$\frac{\partial L}{\partial B_1} = \frac{\partial L}{\partial C_1} w_5 = 2$$",
             r"$$\frac{\partial L}{\partial B_2} = \frac{\partial L}{\partial C_1} w_6"
             r" + \frac{\partial L}{\partial C_2} w_8 = -4$$",
             r"$$\frac{\partial L}{\partial A_1} = \frac{\partial L}{\partial B_1} w_1"
             r" + \frac{\partial L}{\partial B_2} w_3 = -8$$",
             r"$$\frac{\partial L}{\partial A_2} = 3$$"]
    return "\n\n".join((lines * 4)[:40]) + "\n"


def forty_rounded() -> str:
    """40 chains of worksheet 005 as a student writes them (tests/support/student.py): 4
    significant digits carried forward, the gradients of the targets and inputs left out (the
    post does not ask them), one wrong line (σ' without its factor (1 − σ)) to diagnose."""
    student = Student(derive(worksheet(WORKSHEETS / "005_step_by_step.yaml")), 4)
    student.text()
    lines = [f"$${line}$$" for label, line in student.lines if not label.endswith(("target_o1", "target_o2", "di1",
                                                                                   "di2"))]
    lines.insert(14, r"$$\frac{\partial E_{total}}{\partial w_5} = 0.7414 \cdot 0.7514 \cdot 0.5933 = 0.3305$$")
    assert len(lines) == 40
    return "\n\n".join(lines) + "\n"


def thirty_nodes() -> str:
    """A worksheet of 30 names: 6 inputs, three layers of 6 with fan-out to the next, a loss."""
    given = {f"x{i}": i - 3 or 1 for i in range(6)}
    nodes: dict[str, str] = {}
    prev = list(given)
    for layer in range(3):
        cur = [f"h{layer}{j}" for j in range(6)]
        for j, name in enumerate(cur):
            nodes[name] = f"{prev[j]} + {j + 1}*{prev[(j + 1) % 6]} - {prev[(j + 2) % 6]}"
        prev = cur
    nodes["L"] = "(" + " + ".join(prev) + ")**2 / 2"
    return ("given:\n" + "".join(f"  {k}: {v}\n" for k, v in given.items()) + "nodes:\n"
            + "".join(f"  {k}: {v}\n" for k, v in nodes.items()) + "loss: L\n")


def readers(seeds: Path) -> list[tuple[str, int, int, str, str]]:
    """(seed, chains, chains read whole by our grammar, parse_latex antlr, parse_latex lark)."""
    from sympy.parsing.latex import parse_latex
    rows = []
    for f in sorted(seeds.glob("*.txt")):
        chains = [ml.text for ml in math_lines(read_answer(f))]
        ours = sum(all(not isinstance(m, Unreadable) for m in parse_chain(c)) for c in chains)
        results = []
        for backend in ("antlr", "lark"):
            ok = 0
            try:
                for c in chains:
                    try:
                        parse_latex(c, backend=backend)
                        ok += 1
                    except ImportError:
                        raise
                    except Exception:
                        pass
                results.append(str(ok))
            except ImportError as exc:
                results.append(f"not installed ({str(exc).split(',')[0]})")
        rows.append((f.name[:3], len(chains), ours, *results))
    return rows


def main() -> None:
    seeds = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/seeds")
    print("| run | median of 5 (CPU) | target |\n|---|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp) / "forty.md"
        answer.write_text(forty_lines())
        t = process_time(str(WORKSHEETS / "001_linear_network.yaml"), str(answer))
        print(f"| `check` 40-line derivation (001), whole process | {t:.2f} s (CPU {cpu_times[-1]:.2f} s) | "
              f"< 2 s {'PASS' if t < 2 else 'FAIL'} |")
        rounded = Path(tmp) / "forty_rounded.md"
        rounded.write_text(forty_rounded())
        t = process_time(str(WORKSHEETS / "005_step_by_step.yaml"), str(rounded))
        print(f"| `check` 40-line rounded derivation (005), whole process | {t:.2f} s (CPU {cpu_times[-1]:.2f} s) | "
              f"< 2 s {'PASS' if t < 2 else 'FAIL'} |")
    for prefix, ws in SEED_WORKSHEETS.items():
        found = sorted(seeds.glob(prefix + "_*.txt"))
        if found:
            t = process_time(str(WORKSHEETS / f"{ws}.yaml"), str(found[0]))
            print(f"| `check` seed {prefix} against {ws}, whole process | {t:.2f} s (CPU {cpu_times[-1]:.2f} s) | |")
    worksheet = thirty_nodes()
    wrong = "\n".join(f"$$\\frac{{\\partial L}}{{\\partial {n}}} = {7919 + k}$$" for k, n in
                      enumerate(["x0", "x1", "x2", "h00", "h11", "h22"]))
    times = []
    for _ in range(5):
        start = time.perf_counter()
        report = check(worksheet, wrong)
        times.append(time.perf_counter() - start)
    t = statistics.median(times)
    print(f"| 30-node worksheet, 6 wrong claims (full diagnosis search each), in process | {t:.2f} s | "
          f"< 5 s {'PASS' if t < 5 else 'FAIL'} |")
    assert all(c.verdict == "wrong" for c in report.claims)
    if seeds.is_dir():
        print("\n| seed | chains | read whole by our grammar | parse_latex (ANTLR) | parse_latex (lark) |")
        print("|---|---:|---:|---|---|")
        for row in readers(seeds):
            print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
