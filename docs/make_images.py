"""Make the pictures of the documentation: the first page of real sheets, as PNG.

Run from anywhere: ``python docs/make_images.py`` (needs the package installed, pdflatex and
pdftoppm). Each picture is a page of a PDF that ``symbackprop`` itself writes, so it shows the
sheets as they are; run it again after a change to the templates and commit the PNGs.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"

# (picture, the symbackprop command that writes its PDF)
PICTURES = [
    ("005_step_by_step_solution.png", ["solve", "worksheets/005_step_by_step.yaml", "--format", "pdf"]),
    ("000_edge_graph_exercise.png", ["exercise", "worksheets/000_edge_graph.yaml", "--format", "pdf"]),
]


def main() -> None:
    for tool in ("pdflatex", "pdftoppm"):
        if shutil.which(tool) is None:
            sys.exit(f"make_images: {tool} is not on PATH (see `symbackprop doctor`)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for png, args in PICTURES:
            pdf = Path(tmp) / "page.pdf"
            cli = [sys.executable, "-c", "from symbackprop.cli import main; main()"]
            subprocess.run([*cli, *args, "-o", str(pdf)], cwd=ROOT, check=True)
            stem = Path(tmp) / "page"
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                           check=True)
            shutil.move(stem.with_suffix(".png"), IMAGES / png)
            print(IMAGES / png)


if __name__ == "__main__":
    main()
