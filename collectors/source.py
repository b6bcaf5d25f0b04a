"""What every remote collector is: records since a cursor, a normaliser, one shared run procedure.

A source subclasses :class:`Source`, sets ``collector`` (its name in ``runs``) and implements
``channel``, ``records(cursor)`` and ``normalise(record)``. :meth:`Source.run` does the rest through
:class:`voxlens.collectors.base.Ingest`: it resumes from the last checkpoint, stores, deduplicates,
quarantines, records the run and returns a :class:`RunOutcome` with a one-line summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator

from voxlens.collectors.base import (
    ITEMS, Checkpoint, Ingest, RowError, RunCounts, TableSpec, clean_text, resume_cursor,
)
from voxlens.collectors.files import RawRecord
from voxlens.collectors.http import HttpClient
from voxlens.core.store import Store


@dataclass
class RunOutcome:
    """What one run of one source did, for logs and the CLI."""

    name: str
    counts: RunCounts
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        c = self.counts
        line = (f"{self.name}: {c.new} new, {c.updated} updated, {c.quarantined} quarantined, "
                f"{0 if self.ok else 1} errors (read {c.read}, duplicates skipped {c.duplicates})")
        line += "".join(f"; note: {note}" for note in self.notes)
        return line if self.ok else f"{line}; failed: {self.error}"


class Source:
    """Base class of the remote collectors. Subclasses keep their settings as attributes."""

    collector: ClassVar[str] = "source"
    table: ClassVar[TableSpec] = ITEMS
    redact: bool = False
    retries: int = 5
    backoff: float = 1.0
    timeout: float = 30.0

    def http_client(self, base_url: str, **options: Any) -> HttpClient:
        """An :class:`HttpClient` with this source's retry policy (``options``: headers, auth)."""
        return HttpClient(base_url, retries=self.retries, backoff=self.backoff, timeout=self.timeout, **options)

    @property
    def channel(self) -> str:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return f"{self.collector} {self.channel}"

    def records(self, cursor: str | None) -> Iterator[RawRecord | Checkpoint]:
        """Records newer than ``cursor``; yield a :class:`Checkpoint` whenever the run may resume there."""
        raise NotImplementedError

    def normalise(self, record: RawRecord, salt: str) -> list[dict[str, Any]]:
        """The stored rows for one record (primary first); raise :class:`RowError` to quarantine it."""
        raise NotImplementedError

    def note(self, text: str) -> None:
        """Tell the user something about this run; it is added to the run's summary line."""
        self.__dict__.setdefault("notes", []).append(text)

    def text(self, value: Any, what: str = "text") -> str:
        """Clean text, redacted when ``redact`` is set; empty text is a :class:`RowError`."""
        text = self.optional_text(value)
        if text is None:
            raise RowError(f"empty {what}: an item needs text")
        return text

    def optional_text(self, value: Any) -> str | None:
        text = clean_text(value)
        if text is not None and self.redact:
            from voxlens.core.privacy import redact_text

            text = redact_text(text)
        return text

    def collect(self, store: Store, progress: bool = False) -> RunCounts:
        """Run once; raise on failure (after recording the failed run)."""
        outcome = self.run(store, progress=progress, raise_errors=True)
        return outcome.counts

    def run(self, store: Store, progress: bool = False, raise_errors: bool = False) -> RunOutcome:
        """Run once from the last checkpoint; a failure is recorded and reported, not raised."""
        self.notes = []
        cursor = resume_cursor(store, self.collector, self.channel)
        ingest = Ingest(store, self.collector, channel=self.channel, progress=progress)
        salt = store.author_salt
        try:
            ingest.run([(self.table, self.records(cursor), lambda record: self.normalise(record, salt))])
        except Exception as exc:
            if raise_errors:
                raise
            return RunOutcome(self.name, ingest.counts, str(exc) or type(exc).__name__, list(self.notes))
        return RunOutcome(self.name, ingest.counts, notes=list(self.notes))
