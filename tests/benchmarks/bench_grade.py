#!/usr/bin/env python
"""Benchmark of ``symbackprop grade`` (a standalone script, not a timed test).

Draws a class of N students (default 200) of worksheets/001_linear_network_random.yaml with an
update step on six weights (30 lines of derivation a student: 6 forward values, 18 gradients, 6
updated weights), writes each student's derivation as tests/support/student.py writes it (every
tenth with a slip carried forward), then times the whole command as a user runs it (a fresh
process, start-up included, Markdown feedback, no PDF):

    symbackprop grade CLASS SUBMISSIONS -o OUT

Prints the time, the lines judged and PASS/FAIL for the target (200 students in under 60 s), and
always exits 0.

Usage:  python tests/benchmarks/bench_grade.py [-n 200]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support.student import Student  # noqa: E402
from symbackprop.engine.derive import derive  # noqa: E402
from symbackprop.language.evaluate import symbol  # noqa: E402
from symbackprop.worksheet.read import load  # noqa: E402

UPDATE = "update:\n  lr: 0.1\n  params: [w1, w2, w3, w4, w5, w6]\n"
TARGET = 60.0  # seconds for 200 students


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-c", "from symbackprop.cli import main; main()", *args], check=True,
                   capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        worksheet = root / "class_worksheet.yaml"
        worksheet.write_text((ROOT / "worksheets" / "001_linear_network_random.yaml").read_text() + UPDATE)
        cli("variants", str(worksheet), "-n", str(n), "--seed", "1", "--sheets", "solution", "--format", "md",
            "-o", str(root / "class"))
        subs = root / "subs"
        subs.mkdir()
        lines = 0
        for path in sorted((root / "class" / "worksheets").glob("*.yaml")):
            d = derive(load(path))
            slip = {"dL/dD": lambda st: st.value(2 * (symbol("D") - symbol("t")) + 1)} if int(path.stem) % 10 == 0 \
                else {}
            text = Student(d, 4, wrong=slip).text()
            lines += text.count("$$") // 2
            (subs / f"{path.stem}.md").write_text(text, encoding="utf-8")
        start = time.perf_counter()
        cli("grade", str(root / "class"), str(subs), "-o", str(root / "out"))
        seconds = time.perf_counter() - start
    print(f"{n} students, {lines / n:.0f} lines each: symbackprop grade in {seconds:.1f} s "
          f"({1000 * seconds / n:.0f} ms a student)")
    print(("PASS" if seconds < TARGET * n / 200 else "FAIL") + f": target {TARGET * n / 200:.0f} s")


if __name__ == "__main__":
    main()
