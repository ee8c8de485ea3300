"""Reproducibility and no lost work, for ``solve`` and ``exercise`` (tests/test_variants.py covers
the variants folder): every output is byte-identical across runs and hash seeds, and a failed,
interrupted or killed run leaves an existing output file as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symbackprop import cli, textfile

from support.paths import ROOT, WORKSHEETS

HAS_TEX = shutil.which("pdflatex") is not None
SHEETS = ("000_edge_graph", "004_softmax_choose", "002_relu_skip_symbolic", "004_mlp_classifier", "004_linear_layer_shapes",
          "006_batchnorm_matrix")
COMMANDS = [("solve", fmt) for fmt in ("md", "tex", "json")] + [("exercise", fmt) for fmt in ("md", "tex")]
PDF_COMMANDS = [("solve", "pdf"), ("exercise", "pdf")]

# One process writes every output of every sheet; its hashes are printed as JSON.
WRITE_ALL = """
import hashlib, json, sys
from symbackprop.cli import main
out, jobs = sys.argv[1], json.loads(sys.argv[2])
digests = {}
for sheet, command, fmt, extra in jobs:
    stem = sheet.rsplit("/", 1)[1].removesuffix(".yaml")
    target = f"{out}/{stem}.{command}{''.join(extra)}.{fmt}"
    try:
        main([command, sheet, "--format", fmt, "-o", target, *extra])
    except SystemExit as exc:
        assert exc.code == 0, (sheet, command, fmt, exc.code)
    digests[target.rsplit("/", 1)[1]] = hashlib.sha256(open(target, "rb").read()).hexdigest()
print(json.dumps(digests, sort_keys=True))
"""


def start_writing(out: Path, hashseed: str) -> tuple[subprocess.Popen, int]:
    """Start one process writing every output into ``out`` under PYTHONHASHSEED=hashseed."""
    commands = COMMANDS + (PDF_COMMANDS if HAS_TEX else [])
    jobs = [(str(WORKSHEETS / f"{s}.yaml"), c, f, []) for s in SHEETS for c, f in commands]
    jobs += [(str(WORKSHEETS / f"{s}.yaml"), "solve", f, ["--figure-values"]) for s in SHEETS[:1]
             for f in ("md", "tex") + (("pdf",) if HAS_TEX else ())]
    jobs += [(str(WORKSHEETS / f"{s}.yaml"), "solve", "md", ["--notation", "upstream"]) for s in SHEETS]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONHASHSEED"] = hashseed
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", WRITE_ALL, str(out), json.dumps(jobs)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    return proc, len(jobs)


def digests(started: tuple[subprocess.Popen, int]) -> dict[str, str]:
    proc, n = started
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    result = json.loads(stdout)
    assert len(result) == n
    return result


def test_every_output_is_byte_identical_under_two_hash_seeds(tmp_path):
    """solve md/tex/json/pdf and exercise md/tex/pdf of three sheets (and --figure-values,
    --notation upstream), written by two processes under PYTHONHASHSEED=0 and =12345."""
    runs = [start_writing(tmp_path / "a", "0"), start_writing(tmp_path / "b", "12345")]
    first, second = digests(runs[0]), digests(runs[1])
    assert first == second, {k: (v, second.get(k)) for k, v in first.items() if second.get(k) != v}


def _main(*args: str) -> int:
    try:
        cli.main(list(args))
    except SystemExit as exc:
        return exc.code
    return 0


BAD = "given: {a: 0}\nnodes: {b: 1/a}\n"  # a division by zero, found when solving


@pytest.mark.parametrize("command, fmt", COMMANDS + PDF_COMMANDS)
def test_a_failed_run_leaves_the_previous_output_untouched(tmp_path, capsys, command, fmt):
    out = tmp_path / f"sheet.{fmt}"
    out.write_bytes(b"previous \x00 output")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    assert _main(command, str(bad), "--format", fmt, "-o", str(out)) == 2
    assert out.read_bytes() == b"previous \x00 output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", out.name]
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.skipif(not HAS_TEX, reason="pdflatex is not installed")
@pytest.mark.parametrize("command", ["solve", "exercise"])
def test_a_latex_failure_leaves_the_previous_pdf_untouched(tmp_path, capsys, command):
    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("sheet.tex.j2", "exercise.tex.j2"):
        (templates / name).write_text("\\documentclass{article}\\begin{document}\\undefined\\end{document}\n")
    out = tmp_path / "sheet.pdf"
    out.write_bytes(b"%PDF previous")
    assert _main(command, str(WORKSHEETS / "001_linear_network.yaml"), "--format", "pdf", "-o", str(out),
                 "--templates", str(templates)) == 2
    assert out.read_bytes() == b"%PDF previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.failed.log", "sheet.failed.tex", "sheet.pdf",
                                                          "templates"]


@pytest.mark.parametrize("when", ["writing", "renaming"])
def test_an_interrupted_write_leaves_the_previous_output_untouched(tmp_path, monkeypatch, when):
    """Ctrl-C while the new file is written, or just before it replaces the old one."""
    out = tmp_path / "sheet.md"
    out.write_text("previous")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if when == "renaming":
        monkeypatch.setattr(textfile.os, "replace", interrupt)
    else:
        real_fdopen = os.fdopen

        def fdopen(fd, *args, **kwargs):
            fh = real_fdopen(fd, *args, **kwargs)
            fh.write(b"half a sheet")
            fh.flush()
            fh.write = interrupt
            return fh

        monkeypatch.setattr(textfile.os, "fdopen", fdopen)
    with pytest.raises(KeyboardInterrupt):
        cli.write_atomically(str(out), "the new sheet " * 1000)
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.md"]  # no temporary file left


@pytest.mark.skipif(not HAS_TEX, reason="pdflatex is not installed")
@pytest.mark.parametrize("delay", [0.3, 0.9, 1.6])
def test_a_killed_run_leaves_the_previous_or_the_complete_new_pdf(tmp_path, delay):
    """SIGKILL at some moment of `solve --format pdf`: the output is the previous file or the
    whole new one, never a mix (a killed process cannot remove its temporary file; the next run
    does not need it)."""
    out = tmp_path / "sheet.pdf"
    out.write_bytes(b"previous")
    proc = subprocess.Popen([sys.executable, "-c", "from symbackprop.cli import main; main()", "solve",
                             str(WORKSHEETS / "000_edge_graph.yaml"), "--format", "pdf", "-o", str(out)],
                            cwd=ROOT, process_group=0, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the process and its pdflatex
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    data = out.read_bytes()
    assert data == b"previous" or (data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")), data[:40]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "sheet.pdf"]
    assert all(name.startswith(".sheet.pdf.") and name.endswith(".tmp") for name in leftovers), leftovers


def test_same_inputs_same_json_in_process():
    """Twice in one process (caches warm): the same bytes."""
    from symbackprop import solve

    path = WORKSHEETS / "004_softmax_choose.yaml"
    first = [solve(path).render(f) for f in ("md", "tex", "json")]
    second = [solve(path).render(f) for f in ("md", "tex", "json")]
    assert [hashlib.sha256(t.encode()).digest() for t in first] == [hashlib.sha256(t.encode()).digest() for t in second]
