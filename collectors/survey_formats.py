"""Survey tool exports: detect Qualtrics, SurveyMonkey, Typeform or Google Forms and import them.

Each tool lays out its CSV differently: Qualtrics adds a question-text row and an ``ImportId`` row
under the header, SurveyMonkey puts answer labels in a second header row, Typeform and Google Forms
use the question texts as headers. :func:`read_survey_export` turns any of them into one header and
finds the score questions (NPS, CSAT, CES) and the open-text question by their wording; then
:func:`voxlens.collectors.survey.import_survey` stores responses and their linked text items.

Contact columns (e-mail, names, IP address, location) are dropped; the respondent id is hashed.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "form.csv"
    >>> _ = path.write_text("Timestamp,How likely are you to recommend us?,Why?\\n2026/09/17 10:15:42,9,Fast\\n")
    >>> export = read_survey_export(path)
    >>> export.tool, export.mapping
    ('googleforms', {'submitted_at': 'Timestamp', 'nps': 'How likely are you to recommend us?', 'text': 'Why?'})
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from voxlens.collectors.base import RunCounts
from voxlens.collectors.files import RawRecord, TableSource, _decode
from voxlens.collectors.survey import import_survey
from voxlens.core.errors import InputError
from voxlens.core.store import Store

QUESTION_PATTERNS = {
    "nps": re.compile(r"recommend|polecił|polecisz|nps", re.I),
    "ces": re.compile(r"\beasy\b|\beasier\b|effort|\bease\b|łatw|wysił", re.I),
    "csat": re.compile(r"satisf|zadowol|csat", re.I),
}
TEXT_PATTERN = re.compile(r"\bwhy\b|comment|tell us|feedback|anything else|reason|improve|dlaczego|uwagi|"
                          r"suggest|describe|what could|open.?ended", re.I)
CONTACT_COLUMNS = re.compile(r"^(ip ?address|ipaddress|e-?mail( address)?|recipient(email|firstname|lastname)|"
                             r"first name|last name|location(latitude|longitude)|network id)$", re.I)
TOOL_COLUMNS = {
    "qualtrics": {"external_id": "ResponseId", "submitted_at": "RecordedDate", "customer_id": "ExternalReference",
                  "lang": "UserLanguage"},
    "surveymonkey": {"external_id": "Respondent ID", "submitted_at": "End Date", "customer_id": "Custom Data 1"},
    "typeform": {"external_id": "#", "submitted_at": "Submit Date (UTC)"},
    "googleforms": {"submitted_at": "Timestamp"},
}
LEADING_NUMBER = re.compile(r"^\s*(\d{1,2})\b|\b(\d{1,2})\s*$")


@dataclass
class SurveyExport:
    """An export read into one header: the tool, the records and which column holds which field."""

    tool: str
    table: TableSource
    mapping: dict[str, str]
    more_text: tuple[str, ...] = ()
    csat_scale: int = 5
    ces_scale: int = 7


def detect_tool(header: list[str], second_row: list[str]) -> str:
    """Name the survey tool that wrote a CSV from its header and first data row."""
    names = set(header)
    if {"ResponseId", "StartDate"} <= names or (second_row[:1] and second_row[0].startswith('{"ImportId"')):
        return "qualtrics"
    if "Respondent ID" in names and "Collector ID" in names:
        return "surveymonkey"
    if header[:1] == ["#"] and any(h.startswith("Submit Date") for h in header):
        return "typeform"
    if header[:1] == ["Timestamp"]:
        return "googleforms"
    return "generic"


def read_survey_export(path: str | Path) -> SurveyExport:
    """Read a survey tool's CSV export into one header and map its questions to fields."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    text, _ = _decode(path)
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        raise InputError(f"{path}: a survey export needs a header and at least one response")
    tool = detect_tool(rows[0], rows[1])
    header, first_data = _header(tool, rows)
    keep = [i for i, name in enumerate(header) if not CONTACT_COLUMNS.match(name.strip())]
    columns = [header[i] for i in keep]
    mapping = {field: column for field, column in TOOL_COLUMNS.get(tool, {}).items() if column in columns}
    questions = rows[1] if tool == "qualtrics" else header
    wordings = [questions[i] if i < len(questions) else "" for i in keep]
    mapping.update(_questions(columns, wordings, mapping))
    more_text = tuple(c for c, q in zip(columns, wordings) if c not in mapping.values()
                      and TEXT_PATTERN.search(f"{c} {q}") and not _scored(c, q))
    if not {"nps", "csat", "ces", "text"} & set(mapping):
        raise InputError(
            f"{path}: found no NPS, CSAT, CES or open-text question in this {tool} export; columns are: "
            f"{', '.join(columns)}; import it with voxlens import survey FILE --map nps=COLUMN"
        )
    data = [row for row in rows[first_data:] if any(cell.strip() for cell in row)]
    score_columns = [mapping[f] for f in ("nps", "csat", "ces") if f in mapping]
    records = _records(path, tool, data, keep, columns, score_columns, first_data)
    export = SurveyExport(tool, TableSource(path, columns, records), mapping, more_text)
    export.csat_scale = _scale(data, keep, columns, mapping.get("csat"), default=5)
    export.ces_scale = _scale(data, keep, columns, mapping.get("ces"), default=7)
    return export


def import_survey_export(store: Store, path: str | Path, *, source: str = "survey", progress: bool = False) -> RunCounts:
    """Detect the export's tool, then import its responses and open-text answers."""
    export = read_survey_export(path)
    return import_survey(store, path, source=source, mapping=export.mapping, csat_scale=export.csat_scale,
                         ces_scale=export.ces_scale, progress=progress, table=export.table,
                         more_text=export.more_text)


def _header(tool: str, rows: list[list[str]]) -> tuple[list[str], int]:
    if tool == "qualtrics":
        has_import_ids = len(rows) > 2 and rows[2][:1] and rows[2][0].startswith('{"ImportId"')
        return rows[0], 3 if has_import_ids else 2
    if tool == "surveymonkey":
        header, labels, current = [], rows[1], ""
        for i, name in enumerate(rows[0]):
            current = name or current  # a matrix question spans columns with empty header cells
            label = labels[i] if i < len(labels) else ""
            sub = label if label and label not in ("Response", "Open-Ended Response") else ""
            header.append(f"{current} - {sub}" if sub and not name else current)
        return header, 2
    return rows[0], 1


def _questions(columns: list[str], questions: list[str], taken: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    used = set(taken.values())
    for column, question in zip(columns, questions):
        if column in used:
            continue
        wording = f"{column} {question}"
        for field, pattern in QUESTION_PATTERNS.items():
            if field not in found and pattern.search(wording):
                found[field] = column
                break
        else:
            if "text" not in found and TEXT_PATTERN.search(wording):
                found["text"] = column
    return found


def _scored(column: str, question: str) -> bool:
    return any(pattern.search(f"{column} {question}") for pattern in QUESTION_PATTERNS.values())


def _score(value: str) -> str:
    match = LEADING_NUMBER.search(value) if value and not value.strip().isdigit() else None
    return next(g for g in match.groups() if g) if match else value


def _records(path: Path, tool: str, data: list[list[str]], keep: list[int], columns: list[str],
             score_columns: list[str], first_data: int) -> Iterator[RawRecord]:
    for offset, row in enumerate(data):
        location = f"{path.name}:row {first_data + offset + 1}"
        values = {columns[j]: row[i] if i < len(row) else "" for j, i in enumerate(keep)}
        for column in score_columns:
            values[column] = _score(values[column])  # "10 - Extremely likely" → "10"
        status = values.get("Status", "")
        if tool == "qualtrics" and status in ("Survey Preview", "Survey Test", "Spam", "1", "2", "8", "9"):
            yield RawRecord(location, None, values, f"Qualtrics {status!r} response: not a real respondent")
            continue
        yield RawRecord(location, values, values)


def _scale(data: list[list[str]], keep: list[int], columns: list[str], column: str | None, default: int) -> int:
    if column is None:
        return default
    index = keep[columns.index(column)]
    numbers = [int(_score(row[index])) for row in data if index < len(row) and _score(row[index]).isdigit()]
    return 7 if 5 < max(numbers, default=0) <= 7 else default
