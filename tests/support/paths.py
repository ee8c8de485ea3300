"""Where the tests find the checkout and its worked-example worksheets, wherever pytest is started from."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKSHEETS = ROOT / "worksheets"
