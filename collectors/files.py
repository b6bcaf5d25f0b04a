"""Reading CSV, JSONL and JSON exports into raw records, and finding the columns that matter.

Every record keeps where it came from (``file:row N (line L)``) so a bad one can be quarantined with
a location a person can act on. A file that cannot be read at all raises :class:`InputError` naming the
file, line and column.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from voxlens.core.errors import InputError

ENCODINGS = ("utf-8-sig", "utf-16", "cp1250", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
BINARY_MAGIC = {b"PK\x03\x04": "an Excel workbook or a zip archive", b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file",
                b"%PDF": "a PDF", b"\x89PNG": "a PNG image", b"\x1f\x8b": "a gzip archive"}
# Fields may be long (a 1 MB review); normalisers decide what is too long, the reader never drops it.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_POLISH = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


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
    encoding: str = "utf-8"


def read_table(path: str | Path) -> TableSource:
    """Open a CSV/TSV, JSONL or JSON-array file (chosen by extension) and return its header and records.

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
        text, encoding = decode_file(path)
        first = text.lstrip().split("\n", 1)[0]
        if first.startswith("[") and (suffix == ".json" or not _is_json(first)):  # also a pretty-printed
            try:                                                                # array saved as .jsonl
                return _read_json_array(path, text, encoding)
            except InputError:
                if suffix == ".json":
                    raise
        return _read_jsonl(path, text, encoding)
    if suffix in (".csv", ".tsv", ".txt"):
        text, encoding = decode_file(path)
        return _read_csv(path, text, encoding, sep="\t" if suffix == ".tsv" else None)
    raise InputError(f"{path}: unknown file type {suffix!r}; use .csv, .tsv, .jsonl or .json")


def decode_file(path: str | Path) -> tuple[str, str]:
    """The file's text and encoding: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1250 or latin-1.

    A single-byte file is cp1250 (Polish Windows exports) unless its bytes read as Western European
    letters only in latin-1. A workbook, archive or other binary file is refused with its line and column;
    a stray NUL byte in a text file is dropped.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "pl.csv"
        >>> _ = p.write_bytes("text\\nŚwietnie, dziękuję\\n".encode("cp1250"))
        >>> decode_file(p)
        ('text\\nŚwietnie, dziękuję\\n', 'cp1250')
    """
    path = Path(path)
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").replace("\x00", ""), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: starts with a UTF-16 mark but is not UTF-16 ({exc.reason})") from exc
    for magic, kind in BINARY_MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{path}: line 1, column 1: this is {kind}, not a text export; "
                             "save it as CSV (UTF-8) or JSONL")
    head = data[:8192]
    if head.count(b"\x00") > max(2, len(head) // 100) and not _is_utf8(head.replace(b"\x00", b"")):
        nul = data.find(b"\x00")
        line = data.count(b"\n", 0, nul) + 1
        column = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        raise InputError(
            f"{path}: line {line}, column {column}: binary data (NUL bytes); this is not a text "
            "export: save it as CSV (UTF-8) or JSONL")
    data = data.replace(b"\x00", b"")  # a stray NUL in a text export carries nothing
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _single_byte_encoding(data)
    return data.decode(encoding), encoding


_decode = decode_file  # the name survey-tool readers import


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3  # only a character cut at the end of the sample
    return True


def _single_byte_encoding(data: bytes) -> str:
    """cp1250 or latin-1: each byte the two read differently votes for the more plausible reading
    (a letter of the language: Polish for cp1250, any for latin-1; then any printable character);
    ties go to cp1250."""
    try:
        data.decode("cp1250")
    except UnicodeDecodeError:
        return "latin-1"  # bytes undefined in cp1250
    votes = 0
    for byte, count in Counter(b for b in data if b >= 0x80).items():
        as_cp, as_latin = bytes([byte]).decode("cp1250"), bytes([byte]).decode("latin-1")
        if as_cp != as_latin:
            votes += count * (_plausible(as_cp, as_cp in _POLISH) - _plausible(as_latin, as_latin.isalpha()))
    return "cp1250" if votes >= 0 else "latin-1"


def _plausible(char: str, letter: bool) -> int:
    """2 for a letter of the language, 0 for a control character or a lone accent (˝ ˇ), else 1."""
    return 2 if letter else 0 if unicodedata.category(char) in ("Cc", "Cf", "Cn", "Co", "Sk") else 1


def _lines(text: str) -> list[str]:
    """Lines with their endings; \\r\\n, \\r and \\n all end a line (mixed endings are common)."""
    return _LINE.findall(text)


def _unique_names(names: list[str]) -> list[str]:
    """Header names made unique and non-empty: a second ``text`` becomes ``text (2)``."""
    seen: Counter[str] = Counter()
    out = []
    for position, name in enumerate(names, start=1):
        name = _scrub(name).strip() or f"column {position}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _scrub(text: str) -> str:
    """Replace lone surrogates (from JSON escapes): they cannot be stored or hashed."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _delimiter(header: str, default: str | None) -> str:
    if default is not None:
        return default
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _read_csv(path: Path, text: str, encoding: str, sep: str | None) -> TableSource:
    """Read with the stdlib csv module: it keeps every field of a ragged row and each record's line.

    A quote that never closes would swallow the rest of the file into one field; that line is
    quarantined alone and reading resumes on the next line.
    """
    lines = _lines(text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise InputError(f"{path}: the file is empty")
    sep = _delimiter(lines[first], sep)
    try:
        header = next(csv.reader([lines[first]], delimiter=sep))
    except csv.Error as exc:
        raise InputError(f"{path}: line {first + 1}: not a readable CSV header ({exc})") from exc
    columns = _unique_names(header)

    def records() -> Iterator[RawRecord]:
        number, start = 0, first + 1
        while start < len(lines):
            position = start
            feed = iter(lines[start:])
            reader = csv.reader(feed, delimiter=sep)
            restart = None
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    number += 1
                    line = start + reader.line_num
                    yield RawRecord(f"{path.name}:row {number} (line {line})", None, lines[line - 1].rstrip("\r\n"),
                                    f"line {line}: unreadable CSV ({exc})")
                    position = start + reader.line_num
                    continue
                end = start + reader.line_num  # 1-based line where this record ends
                line_from = position + 1
                position = end
                if not any(f.strip() for f in fields):
                    continue
                number += 1
                location = f"{path.name}:row {number} (line {line_from})"
                raw_text = "".join(lines[line_from - 1:end])
                if end == len(lines) and end > line_from and raw_text.count('"') % 2 == 1:
                    yield RawRecord(location, None, lines[line_from - 1].rstrip("\r\n"),
                                    f"line {line_from}: a quote opens and never closes; fix the quoting "
                                    "(the lines after it are read as their own rows)")
                    restart = line_from
                    break
                if len(fields) != len(columns):
                    spans = f", spans lines {line_from}–{end}: check for a stray quote" if end > line_from else ""
                    yield RawRecord(location, None, sep.join(fields),
                                    f"line {line_from}: malformed CSV row: {len(fields)} fields where the header has "
                                    f"{len(columns)} (check quoting around '{sep}'{spans})")
                    continue
                row = dict(zip(columns, (_scrub(f) for f in fields)))
                yield RawRecord(location, row, row)
            if restart is None:
                return
            start = restart

    return TableSource(path, columns, records(), encoding)


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose repeated keys are all kept (``text``, ``text (2)``)."""
    names = _unique_names([k for k, _ in pairs])
    return {name: _scrub(v) if isinstance(v, str) else v for name, (_, v) in zip(names, pairs)}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return False
    return True


def _parse_json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_object_pairs)


def _read_jsonl(path: Path, text: str, encoding: str) -> TableSource:
    lines = [line.rstrip("\r\n") for line in _lines(text)]
    columns: dict[str, None] = {}  # every key of every object, in first-seen order
    for line in lines:
        try:
            value = _parse_json(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict):
            columns.update(dict.fromkeys(value))

    def records() -> Iterator[RawRecord]:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            location = f"{path.name}:line {number}"
            try:
                value = _parse_json(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                yield RawRecord(location, None, line, f"line {number}: invalid JSON ({detail})")
                continue
            if not isinstance(value, dict):
                yield RawRecord(location, None, line, f"line {number}: a JSON line must be an object {{...}}")
                continue
            yield RawRecord(location, value, _scrub(line))

    return TableSource(path, list(columns), records(), encoding)


def _read_json_array(path: Path, text: str, encoding: str) -> TableSource:
    try:
        values = _parse_json(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: JSON nested too deeply") from exc
    if not isinstance(values, list):
        raise InputError(f"{path}: line 1, column 1: a .json file must hold an array of objects [...]")
    columns = list({k: None for v in values if isinstance(v, dict) for k in v})

    def records() -> Iterator[RawRecord]:
        for number, value in enumerate(values, start=1):
            location = f"{path.name}:item {number}"
            if isinstance(value, dict):
                yield RawRecord(location, value, value)
            else:
                yield RawRecord(location, None, json.dumps(value, ensure_ascii=False, default=str),
                                f"item {number}: an element of the array must be an object {{...}}")

    return TableSource(path, columns, records(), encoding)


def _header(path: str | Path) -> str:
    """Where a file's column names are: its first line, or the keys of its JSON objects."""
    return "in no JSON object" if Path(path).suffix.lower() in (".jsonl", ".ndjson", ".json") else "line 1 (header)"


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
                f"{path}: {_header(path)}: mapped column {column!r} (for {target}) is not in the file; "
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
            f"{path}: {_header(path)}: no {field_name!r} column found (looked for: {', '.join(synonyms[field_name])}); "
            f"columns are: {', '.join(columns) or '(none)'}; name it with --map {field_name}=COLUMN"
        )
    return mapping
