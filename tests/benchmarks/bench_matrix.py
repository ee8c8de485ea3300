#!/usr/bin/env python
"""Benchmark of matrix notation (a standalone script, not a test).

Times ``solve(yaml_text)`` → ``.markdown()`` and ``.latex()`` on a two-layer classifier
X (N×4) → relu(X W1 + b1) (8 hidden) → softmax(H W2 + b2) (3 classes) → mean cross-entropy,
for batches of N = 1, 2, 4 and 8, with random small exact numbers (seeded), each run in a fresh
process (cold caches; the import of SymPy not counted), best of ``--repeats``; then the whole
process ``symbackprop solve worksheets/004_mlp_classifier.yaml``. The target (4-8-3, batch 4,
both renderings) is 2 s. Prints a Markdown table; always exits 0.

Usage:  python tests/benchmarks/bench_matrix.py [--repeats N] [--batches 1,2,4,8]
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TARGET = 2.0


def matrix(rng: random.Random, rows: int, cols: int, values: list[str]) -> str:
    return "[" + ", ".join("[" + ", ".join(rng.choice(values) for _ in range(cols)) + "]" for _ in range(rows)) + "]"


def mlp(n: int, d_in: int = 4, hidden: int = 8, classes: int = 3, seed: int = 1) -> str:
    """The classifier's worksheet with exact small inputs, weights and one-hot labels."""
    rng = random.Random(seed)
    small = ["-1", "0", "1", "2", "1/2", "-1/2"]
    labels = [rng.randrange(classes) for _ in range(n)]
    y = "[" + ", ".join("[" + ", ".join("1" if k == c else "0" for k in range(classes)) + "]" for c in labels) + "]"
    return f"""title: MLP {d_in}-{hidden}-{classes}, batch {n}
given:
  X: {matrix(rng, n, d_in, small)}
  W1: {matrix(rng, d_in, hidden, small)}
  b1: {matrix(rng, 1, hidden, ["0", "1", "-1"])}
  W2: {matrix(rng, hidden, classes, small)}
  b2: {matrix(rng, 1, classes, ["0", "1"])}
  Y: {y}
nodes:
  A: X @ W1 + b1
  H: relu(A)
  Z: H @ W2 + b2
  P: softmax(Z)
  L: cross_entropy(P, Y)
loss: L
wrt: [W1, b1, W2, b2]
"""


CHILD = """
import json, sys, time
from symbackprop import solve
text = sys.stdin.read()
start = time.perf_counter()
s = solve(text)
size = len(s.markdown()) + len(s.latex())
print(json.dumps([time.perf_counter() - start, size]))
"""


def timed(text: str) -> tuple[float, int]:
    """solve → Markdown + LaTeX in a new process: no cache of an earlier run helps."""
    out = subprocess.run([sys.executable, "-c", CHILD], input=text, capture_output=True, text=True, check=True,
                         cwd=ROOT)
    seconds, size = json.loads(out.stdout)
    return seconds, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", default="1,2,4,8")
    args = parser.parse_args()
    print("| MLP | batch | md + tex | sheets (kB) |")
    print("|---|---|---|---|")
    for n in [int(b) for b in args.batches.split(",")]:
        text = mlp(n)
        best, size = min(timed(text) for _ in range(args.repeats))
        mark = f" (target {TARGET:.0f} s: {'PASS' if best < TARGET else 'FAIL'})" if n == 4 else ""
        print(f"| 4-8-3 | {n} | {best:.2f} s{mark} | {size / 1000:.0f} |")
    cmd = [sys.executable, "-c", "from symbackprop.cli import main; main()", "solve",
           str(ROOT / "worksheets" / "004_mlp_classifier.yaml")]
    runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append(time.perf_counter() - start)
    print(f"\nWhole process, solve worksheets/004_mlp_classifier.yaml: {min(runs):.2f} s (best of {args.repeats})")


if __name__ == "__main__":
    main()
