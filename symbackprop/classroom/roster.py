"""A class roster: a CSV file with an ``id`` column, one student a row, in the file's order."""
from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import SymbackpropError
from ..textfile import read_text

MAX_ID = 100  # characters of one id
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def read_roster(path: str | Path) -> tuple[str, ...]:
    """The student ids of a roster; a missing column, an empty or repeated id is an error with its line."""
    file = str(path)
    text = read_text(path, SymbackpropError, "utf-8-sig")
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise SymbackpropError(f"not a CSV file: {exc}", file) from None
    if not rows:
        raise SymbackpropError("the roster is empty; expected a header row with an id column", file, 1)
    header = [h.strip().lower() for h in rows[0]]
    if "id" not in header:
        raise SymbackpropError("the roster has no 'id' column (the header row names the columns)", file, 1)
    column = header.index("id")
    seen: dict[str, int] = {}
    files: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        sid = row[column].strip() if column < len(row) else ""
        if not sid:
            raise SymbackpropError("a student without an id", file, line)
        if len(sid) > MAX_ID:
            raise SymbackpropError(f"the id is longer than {MAX_ID} characters", file, line)
        if sid in seen:
            raise SymbackpropError(f"the id '{sid}' is listed twice (first on line {seen[sid]})", file, line)
        name = file_name(sid)
        if name.lower() in files:
            raise SymbackpropError(f"the ids '{files[name.lower()]}' and '{sid}' give the same file name "
                                   f"'{name}'", file, line)
        seen[sid] = line
        files[name.lower()] = sid
    if not seen:
        raise SymbackpropError("the roster lists no student", file)
    return tuple(seen)


def file_name(key: str) -> str:
    """A variant's file name stem: its id with every character but letters, digits, . _ - as _."""
    name = _SAFE.sub("_", key)
    return "_" + name if name.startswith(".") else name
