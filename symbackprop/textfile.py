"""Reading a user's text file, every failure a one-line error naming the file."""
from __future__ import annotations

from pathlib import Path

from .errors import SymbackpropError


def read_text(path: str | Path, error: type[SymbackpropError] = SymbackpropError,
              encoding: str = "utf-8") -> str:
    """The file's text; a missing file, a folder, bytes that are not UTF-8 or an unreadable file
    raise ``error`` (the caller's kind: a worksheet, a roster, an answer) with the file's name."""
    file = str(path)
    try:
        return Path(path).read_text(encoding=encoding)
    except FileNotFoundError:
        raise error("no such file", file) from None
    except IsADirectoryError:
        raise error("is a folder, not a file", file) from None
    except UnicodeDecodeError:
        raise error("is not UTF-8 text", file) from None
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror}", file) from None
