"""Reading a user's text file, every failure a one-line error naming the file; writing a file
atomically, so that no reader ever sees it half-written."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import SymbackpropError


def read_text(path: str | Path, error: type[SymbackpropError] = SymbackpropError, encoding: str = "utf-8",
              max_bytes: int | None = None) -> str:
    """The file's text; a missing file, a folder, a file over ``max_bytes``, bytes that are not
    UTF-8 or an unreadable file raise ``error`` (the caller's kind: a worksheet, a roster, an
    answer) with the file's name. At most ``max_bytes + 1`` bytes are read."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(-1 if max_bytes is None else max_bytes + 1)
    except FileNotFoundError:
        raise error("no such file", file) from None
    except IsADirectoryError:
        raise error("is a folder, not a file", file) from None
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror}", file) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise error(f"is larger than {max_bytes:,} bytes", file)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error(f"is not UTF-8 text (byte {exc.start + 1})", file) from None


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="." + target.name + ".", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~umask)  # not mkstemp's 0600: others may read the file
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
