"""Shared test helpers: the repository root and a CLI runner that reports exit code and streams."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKSHEETS = ROOT / "worksheets"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``symbackprop ARGS`` as a real process, the way a user does."""
    return subprocess.run(
        [sys.executable, "-c", "from symbackprop.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli
