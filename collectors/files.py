"""Reading CSV and JSONL exports into raw records, and finding the columns that matter.

Every record keeps where it came from (``file:row N``) so a bad one can be quarantined with a
location a person can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd

from voxlens.errors import InputError

ENCODINGS = ("utf-8-sig", "cp1250", "latin-1")


@dataclass
class RawRecord:
    """One row as read: its location, its fields (None when unreadable) and why it is unreadable."""

    location: str
    data: dict[str, Any] | None
    raw: str | dict[str, Any]
    error: str | None = None


@dataclass
class TableSource:
    """The records of one file plus its header, read lazily."""

    path: Path
    columns: list[str]
    records: Iterator[RawRecord] = field(repr=False)


def read_table(path: str | Path) -> TableSource:
    """Open a CSV or JSONL file (chosen by extension) and return its header and records.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
        >>> _ = p.write_text("id,text\\n1,Great app\\n")
        >>> source = read_table(p)
        >>> source.columns, [r.data["text"] for r in source.records]
        (['id', 'text'], ['Great app'])
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _read_jsonl(path)
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    raise InputError(f"{path}: unknown file type {suffix!r}; use .csv, .tsv or .jsonl")


def _decode(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: cannot decode the file as {', '.join(ENCODINGS)}")  # pragma: no cover


def _read_csv(path: Path, sep: str) -> TableSource:
    """Read with the stdlib csv module: unlike pandas, it never drops the fields of a ragged row,
    and it knows each record's line number."""
    import csv
    import io

    text, _ = _decode(path)
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: not a readable CSV header ({exc})") from exc
    columns = [c.strip() for c in header]

    def records() -> Iterator[RawRecord]:
        number, line = 0, reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRecord(f"{path.name}:line {reader.line_num}", None, "", f"unreadable CSV ({exc})")
                return
            if not any(f.strip() for f in fields):
                line = reader.line_num + 1
                continue
            number += 1
            location = f"{path.name}:row {number} (line {line})"
            if len(fields) != len(columns):
                yield RawRecord(location, None, sep.join(fields),
                                f"malformed CSV row: {len(fields)} fields where the header has {len(columns)} "
                                "(check quoting around commas)")
            else:
                row = dict(zip(columns, fields))
                yield RawRecord(location, row, row)
            line = reader.line_num + 1

    return TableSource(path, columns, records())


def _read_jsonl(path: Path) -> TableSource:
    text, _ = _decode(path)
    lines = text.splitlines()
    columns: list[str] = []
    for line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            columns = [str(k) for k in value]
            break

    def records() -> Iterator[RawRecord]:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            location = f"{path.name}:line {number}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawRecord(location, None, line, f"invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(value, dict):
                yield RawRecord(location, None, line, "a JSON line must be an object")
                continue
            yield RawRecord(location, value, value)

    return TableSource(path, columns, records())


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_columns(
    columns: list[str],
    synonyms: Mapping[str, tuple[str, ...]],
    explicit: Mapping[str, str] | None = None,
    *,
    path: str | Path = "input",
    required: tuple[str, ...] = (),
) -> dict[str, str]:
    """Map each known field to a column of the file: explicit mapping first, then synonyms.

    Example:
        >>> resolve_columns(["Review Body", "Stars"], {"text": ("review body",), "rating": ("stars",)})
        {'text': 'Review Body', 'rating': 'Stars'}
    """
    explicit = dict(explicit or {})
    unknown = set(explicit) - set(synonyms)
    if unknown:
        raise InputError(
            f"unknown field(s) in the mapping: {', '.join(sorted(unknown))}; "
            f"known fields are {', '.join(synonyms)}"
        )
    by_normal = {_normalise(c): c for c in columns}
    mapping: dict[str, str] = {}
    for target, column in explicit.items():
        if column not in columns:
            raise InputError(
                f"{path}: mapped column {column!r} (for {target}) is not in the file; "
                f"columns are: {', '.join(columns)}"
            )
        mapping[target] = column
    taken = set(mapping.values())
    for target, names in synonyms.items():
        if target in mapping:
            continue
        for name in names:
            column = by_normal.get(_normalise(name))
            if column is not None and column not in taken:
                mapping[target] = column
                taken.add(column)
                break
    missing = [f for f in required if f not in mapping]
    if missing:
        field_name = missing[0]
        raise InputError(
            f"{path}: no {field_name!r} column found (looked for: {', '.join(synonyms[field_name])}); "
            f"columns are: {', '.join(columns) or '(none)'}; name it with --map {field_name}=COLUMN"
        )
    return mapping
