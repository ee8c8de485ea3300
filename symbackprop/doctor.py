"""``symbackprop doctor``: the optional tools and TeX packages found, with their versions."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from .sheets.pdf import ENGINE, INSTALL

TOOLS = (  # name, the flag that prints its version, what it is for
    (ENGINE, "--version", "--format pdf compiles the LaTeX with it"),
    ("latexmk", "-v", "optional: to compile a saved .tex yourself"),
    ("pdftoppm", "-v", "optional (poppler-utils): PDF pages as images, to look at the figures"),
    ("pdftotext", "-v", "optional (poppler-utils): the text of a PDF; the tests read the answers with it"),
    ("dvisvgm", "--version", "optional: the TikZ figure as SVG, from a DVI you make yourself"),
    ("kpsewhich", "--version", "finds the TeX packages below"),
)
PACKAGES = ("amsmath.sty", "amssymb.sty", "geometry.sty", "lmodern.sty", "tabularx.sty", "tikz.sty", "xcolor.sty")


@dataclass(frozen=True)
class Found:
    name: str
    version: str  # "" when not found
    use: str


def tools() -> tuple[Found, ...]:
    return tuple(Found(name, _version(name, flag), use) for name, flag, use in TOOLS)


def packages() -> tuple[Found, ...]:
    """The TeX packages the sheets use, each with the file kpsewhich finds ("" when none)."""
    if shutil.which("kpsewhich") is None:
        return tuple(Found(p, "", "") for p in PACKAGES)
    return tuple(Found(p, _run(["kpsewhich", p]), "") for p in PACKAGES)


def report() -> str:
    """What ``symbackprop doctor`` prints."""
    found = tools()
    width = max(len(t.version or "not found") for t in found)
    lines = ["Optional tools:"]
    lines += [f"  {t.name:<10} {t.version or 'not found':<{width}}  {t.use}" for t in found]
    files = packages()
    lines.append("TeX packages: " + ", ".join(f"{p.name[:-4]} {'found' if p.version else 'MISSING'}" for p in files))
    ready = found[0].version and all(p.version for p in files)
    lines.append("PDF output: " + ("ready" if ready else f"not available; on Debian or Ubuntu: {INSTALL}"))
    return "\n".join(lines) + "\n"


def _version(name: str, flag: str) -> str:
    path = shutil.which(name)
    return _run([path, flag]) if path else ""


def _run(command: list[str]) -> str:
    """The first line a command prints (on stdout or stderr), or "" if it fails."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return lines[0] if lines and proc.returncode == 0 else ""
