#!/usr/bin/env python
"""Benchmark of matrix notation (a standalone script, not a test).

Times ``solve(yaml_text)`` → ``.markdown()`` and ``.latex()`` on a two-layer classifier
X (N×4) → relu(X W1 + b1) (8 hidden) → softmax(H W2 + b2) (3 classes) → mean cross-entropy,
for batches of N = 1, 2, 4 and 8, with random small exact numbers (seeded), best of ``--repeats``;
then the whole process ``symbackprop solve worksheets/004_mlp_classifier.yaml``. The target
(4-8-3, batch 4, both renderings) is 2 s. Prints a Markdown table; always exits 0.

Usage:  python tests/benchmarks/bench_matrix.py [--repeats N] [--batches 1,2,4,8]
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from symbackprop import solve  # noqa: E402

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


def timed(text: str) -> tuple[float, int]:
    start = time.perf_counter()
    s = solve(text)
    size = len(s.markdown()) + len(s.latex())
    return time.perf_counter() - start, size


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
