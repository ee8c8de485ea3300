"""The command line run as a real process, so tests see exit codes and streams as a user does."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .paths import ROOT


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``symbackprop ARGS`` as a real process, the way a user does."""
    return subprocess.run(
        [sys.executable, "-c", "from symbackprop.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout,
    )


def solve_fails_in_one_line(text: str, message: str, folder: Path) -> None:
    """``symbackprop solve`` of a worksheet ``text`` fails as every user mistake must: exit code 2,
    one line on stderr naming the file and saying ``message``, nothing on stdout."""
    path = folder / "bad.yaml"
    path.write_text(text)
    proc = run_cli("solve", str(path))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"symbackprop: {path}") and message in lines[0], lines[0]
    assert proc.stdout == ""
