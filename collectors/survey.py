"""Import survey exports: one row per response with NPS/CSAT/CES scores and optional free text.

Free text becomes an item (source ``survey``) linked to its response by ``response_id``.

Example:
    >>> from voxlens.core.store import Store
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "survey.csv"
    >>> _ = path.write_text("id,nps,text\\n1,9,Fast delivery\\n2,11,\\n")
    >>> with Store(":memory:") as store:
    ...     import_survey(store, path).summary()
    'rows read 2: stored 1 (1 new, 0 updated), quarantined 1, duplicates skipped 0'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from voxlens.collectors.base import (
    RESPONSES, Ingest, RowError, RunCounts, check_length, clean_text, content_hash, extra_fields,
    parse_score, parse_time, utc_now,
)
from voxlens.collectors.files import RawRecord, TableSource, _header, read_table, resolve_columns
from voxlens.collectors.reviews import item_row
from voxlens.core.ids import hash_author, stable_hash
from voxlens.core.privacy import redact_text
from voxlens.core.store import Store

SURVEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "response_id", "responseid", "respondent_id", "submission_id", "external_id"),
    "submitted_at": ("submitted_at", "date", "timestamp", "submitted", "created_at", "enddate",
                     "end_date", "recorded_date", "recordeddate"),
    "nps": ("nps", "likelihood_to_recommend", "recommend", "nps_score"),
    "csat": ("csat", "satisfaction", "csat_score"),
    "ces": ("ces", "effort", "customer_effort", "ces_score"),
    "text": ("text", "comment", "comments", "feedback", "verbatim", "why", "reason", "open_text"),
    "customer_id": ("customer_id", "customer", "account_id", "user_id"),
    "segment": ("segment", "plan", "tier", "region", "country"),
    "lang": ("lang", "language", "locale"),
}


def import_survey(
    store: Store,
    path: str | Path,
    *,
    source: str = "survey",
    mapping: Mapping[str, str] | None = None,
    csat_scale: int = 5,
    ces_scale: int = 7,
    progress: bool = False,
    table: TableSource | None = None,
    more_text: tuple[str, ...] = (),
    redact: bool = False,
) -> RunCounts:
    """Import a survey export (CSV/JSONL). NPS is 0–10, CSAT 1–``csat_scale``, CES 1–``ces_scale``.

    ``table`` gives records already read (:mod:`voxlens.collectors.survey_formats` reads tool exports);
    ``more_text`` names further open-text columns, each answer becoming its own linked item.
    ``redact`` replaces e-mail addresses and phone numbers in stored free text, meta and quarantined rows.
    """
    if csat_scale not in (5, 7) or ces_scale not in (5, 7):
        raise ValueError("csat_scale and ces_scale must be 5 or 7")
    table = table or read_table(path)
    columns = resolve_columns(table.columns, SURVEY_COLUMNS, mapping, path=path)
    scored = [f for f in ("nps", "csat", "ces", "text") if f in columns]
    if not scored:
        from voxlens.core.errors import InputError

        raise InputError(
            f"{path}: {_header(path)}: no nps, csat, ces or text column found; columns are: {', '.join(table.columns)}; "
            "name them with --map nps=COLUMN (or csat=, ces=, text=)"
        )
    salt = store.author_salt
    channel = Path(path).stem
    scrub = redact_text if redact else (lambda value: value)
    name = lambda field_name: columns.get(field_name, field_name)  # noqa: E731  (the file's own column name)

    def normalise(record: RawRecord) -> list[dict[str, Any]]:
        data = record.data or {}
        get = lambda name: data.get(columns[name]) if name in columns else None  # noqa: E731
        nps = parse_score(get("nps"), name("nps"), 0, 10, ": NPS answers are 0–10")
        csat = parse_score(get("csat"), name("csat"), 1, csat_scale, f": CSAT answers are 1–{csat_scale}")
        ces = parse_score(get("ces"), name("ces"), 1, ces_scale, f": CES answers are 1–{ces_scale}")
        text = clean_text(get("text"))
        if text is not None:
            text = scrub(check_length(text, name("text")))
        answers = {column: clean_text(data.get(column)) for column in more_text}
        answers = {column: scrub(check_length(a, column)) if a else a for column, a in answers.items()}
        meta = extra_fields(data, [*columns.values(), *more_text])
        meta = scrub(check_length(meta, "other columns")) if meta else None
        if nps is None and csat is None and ces is None and text is None and not any(answers.values()):
            raise RowError("the response has no score and no text")
        submitted_at = parse_time(get("submitted_at"), columns.get("submitted_at", "submitted_at"))
        customer = clean_text(get("customer_id"))
        external = clean_text(get("external_id")) or stable_hash(submitted_at, customer, nps, csat, ces, text)
        response_id = stable_hash(source, external)
        response = {
            "response_id": response_id, "source": source, "external_id": external,
            "customer_id": hash_author(customer, salt), "submitted_at": submitted_at,
            "nps": nps, "csat": csat, "csat_scale": csat_scale, "ces": ces, "ces_scale": ces_scale,
            "segment": clean_text(get("segment")), "meta": meta,
        }
        response["content_hash"] = content_hash({**response, "text": text, **answers}, exclude=("response_id",))
        rows = [response]
        if text is not None:
            rows.append(item_row(
                source=source, external_id=external, text=text, salt=salt, channel=channel,
                created_at=submitted_at, author=customer, lang=clean_text(get("lang")),
                response_id=response_id,
            ))
        for column, answer in answers.items():
            if answer is not None:
                rows.append(item_row(
                    source=source, external_id=f"{external}:{column}", text=answer, salt=salt, channel=channel,
                    created_at=submitted_at, author=customer, title=column, lang=clean_text(get("lang")),
                    response_id=response_id,
                ))
        return rows

    ingest = Ingest(store, f"import-{source}", channel=channel, progress=progress,
                    redact=redact_text if redact else None)
    return ingest.run([(RESPONSES, table.records, normalise)])
