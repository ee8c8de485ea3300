"""``gradescope.zip``: a Gradescope autograder that grades each submission against its student's
own variant.

Gradescope unzips the file into /autograder/source/, runs ``setup.sh`` once to build the image,
then ``run_autograder`` for each submission (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
The zip holds both scripts, the class folder (``class/``: the variant worksheets, the roster, the
answer key; no PDFs) with the results' visibility in ``class/gradescope.json``, and a wheel of
this very package, built here from the installed files, so that the autograder grades with the
same version that wrote the variants and needs nothing from the network but the dependencies.
Every zip has fixed dates, sorted entries and set mode bits: the same class gives the same bytes.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import json
import zipfile
from pathlib import Path

from ..errors import SymbackpropError
from ..sheets.render import builtin_templates

ZIP = "gradescope.zip"
ROOT_VARIABLE = "SYMBACKPROP_AUTOGRADER_ROOT"
CLASS = "class"  # the class folder's name in the zip, beside setup.sh and run_autograder
SETTINGS = "gradescope.json"  # in the class folder of the zip: {"visibility": …}
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")  # Gradescope's: when a student sees a result
DISTRIBUTION = "symbackprop"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FILE, EXECUTABLE = 0o100644, 0o100755  # a regular file's mode bits, as zip's external attributes keep them
LEFT_OUT = (".pdf", ".zip")  # the combined PDFs and the other packages: the autograder reads neither
PACKAGE = Path(__file__).resolve().parent.parent

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: Python 3.11 or newer
# (the Ubuntu 24.04 base image has 3.12), then symbackprop from the wheel beside this script and its
# dependencies from PyPI.
set -euo pipefail
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-pip
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "symbackprop needs Python 3.11 or newer, and this image has $(python3 --version 2>&1):" \\
         "choose the Ubuntu 24.04 base image in the autograder settings" >&2
    exit 1
fi
# Ubuntu 24.04 marks its Python as externally managed; an older pip ignores the variable.
PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install /autograder/source/{wheel}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: the student's variant found from the roster, their
# file graded against it, /autograder/results/results.json written. For a trial run on one's own
# machine, the environment variable
#     {variable}
# names another folder than /autograder.
exec python3 -m symbackprop.classroom.autograder "${{{variable}:-/autograder}}/source/{folder}"
"""


def package(folder: Path, visibility: str) -> bytes:
    """The autograder zip for the class folder ``folder`` (written by ``variants``); ``visibility``
    is when a student sees the result (Gradescope's hidden, after_due_date, after_published, visible)."""
    if visibility not in VISIBILITIES:
        raise SymbackpropError(f"'{visibility}' is not one of {', '.join(VISIBILITIES)}", "--visibility")
    name, data = wheel()
    files: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP.format(wheel=name).encode("utf-8"), EXECUTABLE),
        "run_autograder": (RUN.format(variable=ROOT_VARIABLE, folder=CLASS).encode("utf-8"), EXECUTABLE),
        name: (data, FILE),
        f"{CLASS}/{SETTINGS}": (_json({"visibility": visibility}), FILE),
    }
    for path in sorted(Path(folder).rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and path.suffix.lower() not in LEFT_OUT and not any(p.startswith(".") for p in relative.parts):
            files[f"{CLASS}/{relative.as_posix()}"] = (path.read_bytes(), FILE)
    return _zip(files)


def wheel() -> tuple[str, bytes]:
    """The file name and bytes of a wheel of the installed package (PEP 427): every module, the
    templates, and a ``.dist-info`` whose METADATA, entry points and RECORD say what pip needs."""
    dist = importlib.metadata.distribution(DISTRIBUTION)
    version = dist.version
    info = f"{DISTRIBUTION}-{version}.dist-info"
    files = {f"{DISTRIBUTION}/{p.relative_to(PACKAGE).as_posix()}": p.read_bytes()
             for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    files |= {f"{DISTRIBUTION}/templates/{p.name}": p.read_bytes() for p in builtin_templates().glob("*.j2")}
    files[f"{info}/METADATA"] = _metadata(dist).encode("utf-8")
    files[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: {DISTRIBUTION} ({version})\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n").encode()
    entry_points = dist.read_text("entry_points.txt")
    if entry_points:
        files[f"{info}/entry_points.txt"] = entry_points.encode("utf-8")
    files[f"{info}/RECORD"] = record(files, f"{info}/RECORD").encode("utf-8")
    return f"{DISTRIBUTION}-{version}-py3-none-any.whl", _zip({k: (v, FILE) for k, v in files.items()})


def record(files: dict[str, bytes], name: str) -> str:
    """A wheel's RECORD (PEP 376, PEP 427): each file, its ``sha256=`` digest in URL-safe base64
    without padding, and its size; the RECORD itself last, with neither."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path in sorted(files):
        digest = base64.urlsafe_b64encode(hashlib.sha256(files[path]).digest()).rstrip(b"=").decode("ascii")
        writer.writerow([path, f"sha256={digest}", len(files[path])])
    writer.writerow([name, "", ""])
    return out.getvalue()


def _metadata(dist: importlib.metadata.Distribution) -> str:
    """The core metadata pip reads: name, version, Python, and the dependencies of a plain
    install (the installed distribution's, without its extras for tests and documentation)."""
    meta = dist.metadata
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {dist.version}"]
    lines += [f"{field}: {meta[field]}" for field in ("Summary", "Requires-Python") if meta[field]]
    lines += [f"Requires-Dist: {r}" for r in dist.requires or () if "extra ==" not in r]
    return "\n".join(lines) + "\n"


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _zip(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A zip of ``files`` (name → bytes and mode) in the names' order, every date the same."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = mode << 16
            info.create_system = 3  # Unix, so that unzip applies the mode bits
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()
