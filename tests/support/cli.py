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
