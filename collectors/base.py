"""The one mechanism every collector shares: validate, deduplicate, store, quarantine, count.

A collector turns its source into :class:`RawRecord` objects and a *normaliser* that maps a record to
a row of the target table (or raises :class:`RowError`). :class:`Ingest` does the rest, so no source
has its own copy of dedup, quarantine or run bookkeeping.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

import pandas as pd
from tqdm.auto import tqdm

from voxlens.collectors.files import RawRecord
from voxlens.core.store import Store

BATCH_SIZE = 1000
MAX_TEXT_CHARS = 100_000  # a longer "review" is a pasted log or an attack; it is quarantined, not stored


class RowError(ValueError):
    """A row that cannot be stored; the message is the quarantine reason."""


@dataclass(frozen=True)
class Checkpoint:
    """Yielded among a source's records: everything before it is complete; resume from ``cursor``.

    :class:`Ingest` commits the rows read so far and records the cursor on the run, so a run that fails
    later resumes from here (see :func:`resume_cursor`).
    """

    cursor: str


@dataclass
class RunCounts:
    """What one collector run did with the rows it read."""

    read: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0

    @property
    def stored(self) -> int:
        return self.new + self.updated

    @property
    def balanced(self) -> bool:
        """Rows read = rows stored + rows quarantined + duplicates skipped."""
        return self.read == self.stored + self.quarantined + self.duplicates

    def summary(self) -> str:
        return (
            f"rows read {self.read}: stored {self.stored} ({self.new} new, {self.updated} updated), "
            f"quarantined {self.quarantined}, duplicates skipped {self.duplicates}"
        )


@dataclass
class TableSpec:
    """Where normalised rows go: the table, its key column and the column holding the content hash."""

    table: str
    key: str
    dependants: tuple[str, ...] = ()  # tables whose rows are stale when a row changes


ITEMS = TableSpec("items", "item_id", dependants=("scores", "topics"))
RESPONSES = TableSpec("responses", "response_id")
TICKETS = TableSpec("tickets", "ticket_id")


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def content_hash(row: dict[str, Any], exclude: Iterable[str] = ()) -> str:
    from voxlens.core.ids import stable_hash

    skip = set(exclude) | {"collected_at", "content_hash"}
    return stable_hash(json.dumps({k: row[k] for k in sorted(row) if k not in skip}, default=str))


@dataclass
class Ingest:
    """Write records of one source into the store, one run at a time.

    Args:
        store: the target store.
        collector: the run's name in ``runs`` (``import-reviews``, ``reddit``...).
        channel: the part of the source (subreddit, app id, file name).
        progress: show a progress bar.
        redact: a function applied to the raw content of quarantined rows (``redact_text`` when
            importing with ``--redact``), so no copy of the personal data it removes is kept.
    """

    store: Store
    collector: str
    channel: str | None = None
    progress: bool = False
    redact: Callable[[str], str] | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    cursor: str | None = None  # the last checkpoint reached in this run

    def run(
        self,
        groups: Iterable[tuple[TableSpec, Iterable[RawRecord], Callable[[RawRecord], list[dict[str, Any]]]]],
        cursor: str | None = None,
    ) -> RunCounts:
        """Ingest each (table, records, normaliser) group; record the run, commit per batch.

        A normaliser returns the rows a record produces, primary first: a survey response yields its
        response row and, when it has text, an item row.
        """
        started = utc_now()
        self._started = started
        self._record_run(started, status="running")
        try:
            for spec, records, normalise in groups:
                self._ingest(spec, records, normalise)
        except BaseException as exc:
            self._record_run(started, status="failed", cursor=self.cursor,
                             error=f"{type(exc).__name__}: {exc}")
            raise
        self._record_run(started, status="ok", cursor=cursor or self.cursor)
        return self.counts

    def _ingest(self, spec: TableSpec, records: Iterable[RawRecord],
                normalise: Callable[[RawRecord], list[dict[str, Any]]]) -> None:
        normalise = _guarded(normalise)
        batch: list[tuple[RawRecord, list[dict[str, Any]]]] = []
        quarantined: list[dict[str, Any]] = []
        bar = tqdm(records, desc=f"{self.collector}", unit="row", disable=not self.progress)
        try:
            self._consume(spec, bar, normalise, batch, quarantined)
        except BaseException:
            self._write(spec, batch, quarantined)  # keep what was read before the failure
            raise

    def _consume(self, spec: TableSpec, records: Iterable[RawRecord | Checkpoint],
                 normalise: Callable[[RawRecord], list[dict[str, Any]]],
                 batch: list[tuple[RawRecord, list[dict[str, Any]]]],
                 quarantined: list[dict[str, Any]]) -> None:
        for record in records:
            if isinstance(record, Checkpoint):
                self._write(spec, batch, quarantined)
                batch.clear()
                quarantined.clear()
                self.cursor = record.cursor
                self._record_run(self._started, status="running", cursor=self.cursor)
                continue
            self.counts.read += 1
            if record.error is not None:
                quarantined.append(self._quarantine(record, record.error))
                continue
            try:
                rows = normalise(record)
            except RowError as exc:
                quarantined.append(self._quarantine(record, str(exc)))
                continue
            batch.append((record, rows))
            if len(batch) >= BATCH_SIZE:
                self._write(spec, batch, quarantined)
                batch.clear()
                quarantined.clear()
        self._write(spec, batch, quarantined)
        batch.clear()
        quarantined.clear()

    def _quarantine(self, record: RawRecord, reason: str) -> dict[str, Any]:
        self.counts.quarantined += 1
        raw = record.raw if isinstance(record.raw, str) else json.dumps(record.raw, default=str, ensure_ascii=False)
        if self.redact is not None:
            raw, reason = self.redact(raw), self.redact(reason)
        return {
            "run_id": self.run_id, "source": self.collector, "location": record.location,
            "raw": raw, "reason": reason, "quarantined_at": utc_now(),
        }

    def _close_interrupted_runs(self) -> None:
        """Runs of this collector still marked running belong to a killed process (the store lock
        admits one writer process): mark them so, and the re-run picks up their rows."""
        self.store.execute(
            "UPDATE runs SET status = 'interrupted', error = 'the process stopped before the run finished; "
            "rows committed before that are kept' WHERE status = 'running' AND collector = ? "
            "AND channel IS NOT DISTINCT FROM ? AND run_id <> ?", [self.collector, self.channel, self.run_id])

    def _write(self, spec: TableSpec, batch: list[tuple[RawRecord, list[dict[str, Any]]]],
               quarantined: list[dict[str, Any]]) -> None:
        primary: dict[str, dict[str, Any]] = {}
        first_seen_at: dict[str, str] = {}
        extra_rows: dict[str, list[dict[str, Any]]] = {}
        for record, rows in batch:
            head, *rest = rows
            key = head[spec.key]
            if key in primary:
                if primary[key]["content_hash"] == head["content_hash"]:
                    self.counts.duplicates += 1
                else:
                    quarantined.append(self._quarantine(
                        record, f"duplicate id {head.get('external_id')!r} with different content "
                                f"(first seen at {first_seen_at[key]})"))
                continue
            primary[key] = head
            first_seen_at[key] = record.location
            extra_rows[key] = rest
        stored = self.store.existing_hashes(spec.table, spec.key, primary)
        fresh = [row for key, row in primary.items() if stored.get(key) != row["content_hash"]]
        changed = [key for key in primary if key in stored and stored[key] != primary[key]["content_hash"]]
        self.counts.duplicates += len(primary) - len(fresh)
        self.counts.updated += len(changed)
        self.counts.new += len(fresh) - len(changed)
        fresh_keys = {row[spec.key] for row in fresh}
        with self.store.transaction():
            self.store.upsert(spec.table, pd.DataFrame(fresh), key=[spec.key])
            linked = [r for key in fresh_keys for r in extra_rows[key]]
            self._write_linked(linked)
            for table in spec.dependants:
                self._forget(table, "item_id", changed)
            self.store.quarantine_rows(quarantined)

    def _write_linked(self, rows: list[dict[str, Any]]) -> None:
        """Rows a primary row brings along (survey free text as items); they follow its fate."""
        if not rows:
            return
        frame = pd.DataFrame(rows)
        stored = self.store.existing_hashes("items", "item_id", frame["item_id"])
        changed = [k for k, h in zip(frame["item_id"], frame["content_hash"]) if k in stored and stored[k] != h]
        self.store.upsert("items", frame, key=["item_id"])
        for table in ITEMS.dependants:
            self._forget(table, "item_id", changed)

    def _forget(self, table: str, key: str, ids: list[str]) -> None:
        if ids:
            frame = pd.DataFrame({"id": ids})
            self.store.con.register("_stale", frame)
            try:
                self.store.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT id FROM _stale)")
            finally:
                self.store.con.unregister("_stale")

    def _record_run(self, started: datetime, status: str, cursor: str | None = None,
                    error: str | None = None) -> None:
        from voxlens.core.privacy import mask_secrets

        if status == "running" and not self.store.execute("SELECT 1 FROM runs WHERE run_id = ?", [self.run_id]):
            self._close_interrupted_runs()
        error = mask_secrets(error) if error else error
        c = self.counts
        row = {
            "run_id": self.run_id, "collector": self.collector, "channel": self.channel,
            "started_at": started, "finished_at": None if status == "running" else utc_now(),
            "cursor": cursor, "rows_read": c.read, "rows_new": c.new, "rows_updated": c.updated,
            "rows_duplicate": c.duplicates, "rows_quarantined": c.quarantined,
            "status": status, "error": error,
        }
        self.store.upsert("runs", pd.DataFrame([row]), key=["run_id"])


def _guarded(normalise: Callable[[RawRecord], list[dict[str, Any]]]) -> Callable[[RawRecord], list[dict[str, Any]]]:
    """The normaliser, with a value no rule foresaw turned into a quarantine reason instead of a crash."""
    def guarded(record: RawRecord) -> list[dict[str, Any]]:
        try:
            return normalise(record)
        except RowError:
            raise
        except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
            raise RowError(f"unreadable value ({type(exc).__name__}: {exc}); fix the row and import again") from exc
    return guarded


# -- value parsing shared by normalisers -----------------------------------------------------------

def clean_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None


def parse_time(value: Any, field_name: str, *, allow_future: timedelta = timedelta(days=1)) -> datetime | None:
    """Parse an ISO-like date or datetime to naive UTC; empty gives None, garbage raises RowError."""
    text = clean_text(value)
    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text)
    except Exception:  # pandas raises many kinds (ValueError, OverflowError, OutOfBounds...) on garbage
        raise RowError(f"{field_name} {text!r} is not a date (use ISO 8601, e.g. 2026-03-01T12:00:00Z)") from None
    if pd.isna(stamp):
        raise RowError(f"{field_name} {text!r} is not a date (use ISO 8601, e.g. 2026-03-01T12:00:00Z)")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    moment = stamp.to_pydatetime()
    if moment > utc_now() + allow_future:
        raise RowError(f"{field_name} {text!r} is in the future")
    return moment


def parse_number(value: Any, field_name: str, low: float, high: float, *, integer: bool = False,
                 hint: str = "") -> float | None:
    """Parse a finite number in [low, high] (a decimal comma is accepted); empty gives None."""
    text = clean_text(value)
    if text is None:
        return None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise RowError(f"{field_name} {text!r} is not a number{hint}") from None
    if not math.isfinite(number) or (integer and number != int(number)):
        raise RowError(f"{field_name} {text!r} is not a {'whole ' if integer else ''}number{hint}")
    if not low <= number <= high:
        raise RowError(f"{field_name} {text!r} is outside {low:g}–{high:g}{hint}")
    return number


def parse_score(value: Any, field_name: str, low: int, high: int, hint: str = "") -> int | None:
    """Parse a whole-number answer in [low, high]; empty gives None."""
    number = parse_number(value, field_name, low, high, integer=True, hint=hint)
    return None if number is None else int(number)


def check_length(text: str, column: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The text, or RowError when it is longer than ``limit`` characters."""
    if len(text) > limit:
        raise RowError(f"{column!r} has {len(text):,} characters, more than the {limit:,} a feedback text may have; "
                       "split it or check the export")
    return text


def extra_fields(data: dict[str, Any], used: Iterable[str]) -> str | None:
    """The columns no field took, as a JSON object for ``meta``."""
    used = set(used)
    rest = {k: v for k, v in data.items() if k not in used and clean_text(v) is not None}
    return json.dumps(rest, ensure_ascii=False, default=str) if rest else None


def resume_cursor(store: Store, collector: str, channel: str | None) -> str | None:
    """The cursor the next run of a source starts from: the latest checkpoint of a finished run.

    Unlike :meth:`Store.last_cursor` it also takes the last checkpoint of a *failed* run, so a run
    that broke mid-way resumes where it stopped instead of starting over.
    """
    rows = store.execute(
        "SELECT cursor FROM runs WHERE collector = ? AND channel IS NOT DISTINCT FROM ? "
        "AND status IN ('ok', 'failed') AND cursor IS NOT NULL ORDER BY finished_at DESC LIMIT 1",
        [collector, channel],
    )
    return rows[0][0] if rows else None
