"""LaTeX to PDF with pdflatex: sandboxed, time-limited, and its errors made readable.

pdflatex runs in a fresh temporary folder, without shell escape and with paranoid file access
(openin_any=p, openout_any=p: no absolute paths, parent folders or dot files; variables of the
caller's environment that would loosen these are removed), in nonstop mode,
stopping at the first error; it runs again only when its log asks for it. The PDF's dates and ID
come from SOURCE_DATE_EPOCH (0 unless set), so the same document gives the same bytes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import LatexError, SymbackpropError

ENGINE = "pdflatex"
TIMEOUT = 60.0  # seconds for one run of pdflatex
RUNS = 3  # at most
DEBIAN_PACKAGES = ("texlive-latex-base", "texlive-latex-recommended", "texlive-fonts-recommended",
                   "texlive-pictures", "lmodern")
INSTALL = "apt-get install " + " ".join(DEBIAN_PACKAGES)
_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|No file sheet\.(toc|lof|lot)\.")
_MISSING = re.compile(r"File `[^']+\.(sty|cls|fd|def)' not found")
_REFUSED = re.compile(r"Not (?:reading from|writing to) \S+ \(open\w+_any = p\)")
_BOILERPLATE = re.compile(r"Type X to quit|or enter new name|Enter file name|See the LaTeX manual|Type +H <return>|"
                          r"! Emergency stop|<read \*>|\.\.\.$")
CONTEXT = 12  # log lines read after the "!" line, looking for the source line it names


def compile_pdf(tex: str, timeout: float = TIMEOUT) -> bytes:
    """The PDF of a LaTeX document; a LatexError carries the log's error when pdflatex fails."""
    return compile_with_log(tex, timeout)[0]


def compile_with_log(tex: str, timeout: float = TIMEOUT) -> tuple[bytes, str]:
    """The PDF of a LaTeX document and the log of pdflatex's last run."""
    engine = shutil.which(ENGINE)
    if engine is None:
        raise SymbackpropError(f"{ENGINE} is not on PATH; install TeX Live (Debian, Ubuntu: {INSTALL})")
    with tempfile.TemporaryDirectory(prefix="symbackprop-") as tmp:
        folder = Path(tmp)
        (folder / "sheet.tex").write_text(tex, encoding="utf-8")
        for _ in range(RUNS):
            log = _run(engine, folder, timeout)
            if not _RERUN.search(log):
                break
        return (folder / "sheet.pdf").read_bytes(), log


# Variables that loosen TeX's file access: kpathsea reads NAME.pdflatex and NAME_pdflatex before
# NAME, and paranoid mode lets TeX read and write absolute paths under TEXMFOUTPUT.
_LOOSENING = re.compile(r"^(openin_any|openout_any|shell_escape|shell_escape_commands|TEXMFOUTPUT)([._].*)?$")


def _environment() -> dict[str, str]:
    """The environment of pdflatex: the caller's, without any variable that loosens the sandbox,
    and with paranoid file access and no shell escape."""
    env = {k: v for k, v in os.environ.items() if not _LOOSENING.match(k)}
    env.update(openin_any="p", openout_any="p", shell_escape="f")
    env.setdefault("SOURCE_DATE_EPOCH", "0")
    return env


def _run(engine: str, folder: Path, timeout: float) -> str:
    """One run of pdflatex in ``folder``; its log."""
    command = [engine, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "sheet.tex"]
    log_file = folder / "sheet.log"
    try:
        proc = subprocess.run(command, cwd=folder, env=_environment(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
        raise LatexError(f"{ENGINE} did not finish within {timeout:g} s", None, log) from None
    log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    if proc.returncode != 0 or not (folder / "sheet.pdf").exists():
        message, line = log_error(log)
        refused = _REFUSED.search(proc.stdout + proc.stderr)
        if refused:
            message += f" ({refused.group(0)}: TeX reads and writes only the files of its own folder)"
        raise LatexError(message, line, log)
    return log


def log_error(log: str) -> tuple[str, int | None]:
    """The first error of a LaTeX log in one line (its "!" line and the lines after, up to the
    source line shown), and the line of the .tex it names."""
    lines = log.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("!")), None)
    if start is None:
        tail = [line.strip() for line in lines if line.strip()][-CONTEXT:]
        return "LaTeX error: " + (" ".join(tail) or f"{ENGINE} stopped without a log"), None
    kept, line = [], None
    for i in range(start, min(start + CONTEXT + 1, len(lines))):
        text = lines[i].strip().removesuffix("^^M")
        found = re.match(r"l\.(\d+)", text)
        if found:
            line = int(found.group(1))
            kept += [text, lines[i + 1].strip().removesuffix("^^M") if i + 1 < len(lines) else ""]
            break
        if i == start or not _BOILERPLATE.match(text):
            kept.append(text)
    first = re.sub(r"^! (LaTeX Error: )?", "", kept[0])
    message = "LaTeX error: " + re.sub(r"\s+", " ", " ".join([first] + [t for t in kept[1:] if t]))
    if _MISSING.search(message):
        message += f" (a TeX package is missing; Debian, Ubuntu: {INSTALL})"
    return message, line
