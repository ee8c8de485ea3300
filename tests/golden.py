"""Regenerate the sheets beside each worksheet: ``python tests/golden.py``.

The test suite compares these files byte for byte with a fresh run, so a change in the output
is always a reviewed change of these files.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symbackprop import solve  # noqa: E402

FORMATS = ("md", "tex", "json")


def worksheets() -> list[Path]:
    return sorted((ROOT / "worksheets").glob("*.yaml"))


def expected(path: Path) -> dict[str, str]:
    solution = solve(path)
    return {fmt: solution.render(fmt) for fmt in FORMATS}


def main() -> None:
    for path in worksheets():
        for fmt, text in expected(path).items():
            path.with_suffix("." + fmt).write_text(text, encoding="utf-8")
            print("wrote", path.with_suffix("." + fmt).relative_to(ROOT))


if __name__ == "__main__":
    main()
