"""A class roster: a CSV file with an ``id`` column, one student a row, in the file's order; the
optional ``name`` and ``email`` columns are printed in the header of that student's sheets, and
every column is kept (``roster.csv`` of the class folder) for the grade book that ``grade`` writes."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import SymbackpropError
from ..textfile import read_text

MAX_ID = 100  # characters of one id
MAX_TEXT = 200  # characters of a name or an email (the limit of a worksheet's author:)
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Student:
    """One row of a roster: the id draws the variant and names its files; the name and the email
    (raw text, "" when absent) only mark the student's sheets, so they never change the numbers."""

    id: str
    name: str = ""
    email: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # every column of the row, (header as written, cell)


def numbered(n: int) -> tuple[Student, ...]:
    """A class without a roster: students 1 … n, with no names."""
    return tuple(Student(str(i)) for i in range(1, n + 1))


def read_roster(path: str | Path) -> tuple[Student, ...]:
    """The students of a roster; a missing column, an empty or repeated id, or a name or an email
    longer than MAX_TEXT, is an error with its line."""
    file = str(path)
    text = read_text(path, SymbackpropError, "utf-8-sig")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))  # a quoted cell keeps its line breaks
    except csv.Error as exc:
        raise SymbackpropError(f"not a CSV file: {exc}", file) from None
    if not rows:
        raise SymbackpropError("the roster is empty; expected a header row with an id column", file, 1)
    written = [h.strip() for h in rows[0]]
    header = [h.lower() for h in written]
    if "id" not in header:
        raise SymbackpropError("the roster has no 'id' column (the header row names the columns)", file, 1)
    column = header.index("id")
    extra = {key: header.index(key) for key in ("name", "email") if key in header}
    seen: dict[str, int] = {}
    students: list[Student] = []
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
        columns = tuple((h, sid if i == column else " ".join(row[i].split()) if i < len(row) else "")
                        for i, h in enumerate(written) if h)
        students.append(Student(sid, **{key: _text(row, i, key, file, line) for key, i in extra.items()},
                                columns=columns))
    if not students:
        raise SymbackpropError("the roster lists no student", file)
    return tuple(students)


def roster_csv(students: Sequence[Student]) -> str:
    """The roster as the class folder keeps it (``roster.csv``): its columns as written, one row a
    student in the roster's order; a class without a roster has the ``id`` column alone."""
    header = [h for h, _ in students[0].columns] or ["id"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for s in students:
        writer.writerow([v for _, v in s.columns] or [s.id])
    return out.getvalue()


def _text(row: list[str], column: int, key: str, file: str, line: int) -> str:
    """A name or an email as one line: a cell's runs of whitespace (a line break too) become one space."""
    text = " ".join(row[column].split()) if column < len(row) else ""
    if len(text) > MAX_TEXT:
        raise SymbackpropError(f"the {key} is longer than {MAX_TEXT} characters", file, line)
    return text


def file_name(key: str) -> str:
    """A variant's file name stem: its id with every character but letters, digits, . _ - as _."""
    name = _SAFE.sub("_", key)
    return "_" + name if name.startswith(".") else name


def class_of(n: int | None = None, roster: str | Path | None = None,
             ids: Sequence[str] | None = None) -> tuple[Student, ...]:
    """A class's students, given one way: variants 1 … n, a roster file, or (from Python) a list of ids."""
    if sum(x is not None for x in (n, roster, ids)) != 1:
        raise SymbackpropError("give the class one way: -n N (variants 1 to N) or --roster FILE", "--roster")
    if roster is not None:
        return read_roster(roster)
    if ids is None:
        if type(n) is not int or n < 1:  # bool is not a count
            raise SymbackpropError("expected a whole number of variants, 1 or more", "-n")
        return numbered(n)
    if not ids or any(not isinstance(i, str) or not i.strip() for i in ids) or len(set(ids)) != len(ids):
        raise SymbackpropError("expected a list of different ids, each a non-empty string", "ids")
    return tuple(Student(i) for i in ids)
