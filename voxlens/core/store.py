"""The embedded store: one DuckDB file holding every table of the data model.

Example:
    >>> from voxlens.core.store import Store
    >>> with Store(":memory:") as store:
    ...     store.count("items")
    0
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Iterable, Iterator, Sequence

import duckdb
import pandas as pd

from voxlens.core.errors import StoreError

SCHEMA_VERSION = 3
DETECTION_NOTE = "detection_note"    # meta key: why the last detection run could test nothing ('' when it could)
DETECTED_THROUGH = "detected_through"  # meta key: the last day detection ran on (ISO date), so a run replays the days since

# Each entry migrates the store from version i to i + 1; index 0 creates the first schema.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
    CREATE TABLE IF NOT EXISTS items (
        item_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        external_id VARCHAR NOT NULL,
        channel VARCHAR,
        created_at TIMESTAMP,
        collected_at TIMESTAMP NOT NULL,
        author VARCHAR,
        title VARCHAR,
        text VARCHAR NOT NULL,
        lang VARCHAR,
        rating DOUBLE,
        rating_scale INTEGER,
        url VARCHAR,
        response_id VARCHAR,
        meta JSON,
        content_hash VARCHAR NOT NULL
    );
    CREATE TABLE IF NOT EXISTS responses (
        response_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        external_id VARCHAR NOT NULL,
        customer_id VARCHAR,
        submitted_at TIMESTAMP,
        nps INTEGER,
        csat INTEGER,
        csat_scale INTEGER,
        ces INTEGER,
        ces_scale INTEGER,
        segment VARCHAR,
        meta JSON,
        content_hash VARCHAR NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tickets (
        ticket_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        external_id VARCHAR NOT NULL,
        opened_at TIMESTAMP,
        first_response_at TIMESTAMP,
        resolved_at TIMESTAMP,
        reopened INTEGER,
        tags VARCHAR[],
        meta JSON,
        content_hash VARCHAR NOT NULL
    );
    CREATE TABLE IF NOT EXISTS scores (
        item_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        score DOUBLE NOT NULL,
        p_negative DOUBLE NOT NULL,
        p_neutral DOUBLE NOT NULL,
        p_positive DOUBLE NOT NULL,
        scored_at TIMESTAMP NOT NULL,
        PRIMARY KEY (item_id, model)
    );
    CREATE TABLE IF NOT EXISTS topics (
        item_id VARCHAR PRIMARY KEY,
        topic_id INTEGER NOT NULL,
        probability DOUBLE
    );
    CREATE TABLE IF NOT EXISTS topic_info (
        topic_id INTEGER PRIMARY KEY,
        label VARCHAR NOT NULL,
        keywords VARCHAR[] NOT NULL,
        first_seen DATE,
        size INTEGER,
        centroid FLOAT[]
    );
    CREATE TABLE IF NOT EXISTS issues (
        issue_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        topic_id INTEGER,
        window_start DATE NOT NULL,
        window_end DATE NOT NULL,
        severity DOUBLE NOT NULL,
        statistic DOUBLE,
        p_value DOUBLE,
        q_value DOUBLE,
        summary VARCHAR,
        evidence VARCHAR[],
        detected_at TIMESTAMP NOT NULL
    );
    CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        collector VARCHAR NOT NULL,
        channel VARCHAR,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        cursor VARCHAR,
        rows_read INTEGER,
        rows_new INTEGER,
        rows_updated INTEGER,
        rows_duplicate INTEGER,
        rows_quarantined INTEGER,
        status VARCHAR NOT NULL,
        error VARCHAR
    );
    CREATE TABLE IF NOT EXISTS quarantine (
        run_id VARCHAR,
        source VARCHAR NOT NULL,
        location VARCHAR,
        raw VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        quarantined_at TIMESTAMP NOT NULL
    );
    """,
    # 2: the embedding each topic was assigned from (for the similar-items scan), and every topic an issue covers
    """
    ALTER TABLE topics ADD COLUMN vector FLOAT[];
    ALTER TABLE issues ADD COLUMN topic_ids INTEGER[];
    """,
    # 3: issues become a log of theme episodes with a lifecycle (rows of earlier runs are kept, as ongoing)
    """
    ALTER TABLE issues ADD COLUMN onset DATE;
    ALTER TABLE issues ADD COLUMN first_flagged DATE;
    ALTER TABLE issues ADD COLUMN last_seen DATE;
    ALTER TABLE issues ADD COLUMN ended DATE;
    ALTER TABLE issues ADD COLUMN status VARCHAR;
    ALTER TABLE issues ADD COLUMN peak_severity DOUBLE;
    ALTER TABLE issues ADD COLUMN facets JSON;
    ALTER TABLE issues ADD COLUMN reopened DATE;
    ALTER TABLE issues ADD COLUMN days_flagged INTEGER;
    ALTER TABLE issues ADD COLUMN notified_at TIMESTAMP;
    UPDATE issues SET onset = window_start, first_flagged = window_end, last_seen = window_end,
        status = 'ongoing', peak_severity = severity;
    """,
]

TABLES = (
    "items", "responses", "tickets", "scores", "topics", "topic_info", "issues", "runs", "quarantine",
)

DEFAULT_MEMORY_LIMIT = "256MB"


class Store:
    """A DuckDB file with the voxlens tables; opens (and migrates) on construction.

    Args:
        path: file path, or ``":memory:"`` for a throw-away store.
        read_only: open without taking the write lock (reports, notebooks).
        wait: seconds to keep retrying while another process holds the store (one process may write
            a store file at a time); 0 refuses at once. Either way a busy store raises
            :class:`StoreError` naming the process that holds it.
        memory_limit: DuckDB's memory limit for a store file (None: DuckDB's default, 80% of RAM).
            DuckDB keeps the pages it wrote cached up to its limit, so without one a long ``analyze``
            grows with the store; above the limit it spills to a temporary file beside the store.
    """

    def __init__(self, path: str | Path = "voxlens.duckdb", read_only: bool = False, wait: float = 0.0,
                 memory_limit: str | None = DEFAULT_MEMORY_LIMIT) -> None:
        self.path = str(path)
        config = {"memory_limit": memory_limit} if memory_limit and self.path != ":memory:" else {}
        deadline = time.monotonic() + max(wait, 0.0)
        delay = 0.05
        while True:
            try:
                self.con = duckdb.connect(self.path, read_only=read_only, config=config)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
                if time.monotonic() + delay > deadline:
                    holder = re.search(r"PID (\d+)", str(exc))
                    by = f" (process {holder.group(1)})" if holder else ""
                    waited = f" after waiting {wait:g} s" if wait > 0 else ""
                    raise StoreError(
                        f"the store {self.path} is in use by another voxlens process{by}{waited}; "
                        "wait for it to finish (or pass --wait SECONDS) or use another --db"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        if not read_only:
            self._migrate()
        elif self.schema_version() != SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} has schema version {self.schema_version()}, "
                f"this voxlens expects {SCHEMA_VERSION}; open it once without read_only to migrate"
            )

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} has schema version {version}, newer than this voxlens "
                f"({SCHEMA_VERSION}); upgrade voxlens"
            )
        for step in range(version, SCHEMA_VERSION):
            _run(self.con, "BEGIN TRANSACTION")
            _run(self.con, MIGRATIONS[step])
            self.set_meta("schema_version", str(step + 1))
            _run(self.con, "COMMIT")
        if self.get_meta("author_salt") is None:
            self.set_meta("author_salt", secrets.token_hex(16))

    def schema_version(self) -> int:
        exists = _run(
            self.con,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        )[0][0]
        if not exists:
            return 0
        value = self.get_meta("schema_version")
        return int(value) if value else 0

    # -- key/value metadata ----------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = (_run(self.con, "SELECT value FROM meta WHERE key = ?", [key]) or [None])[0]
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        _run(
            self.con,
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    @property
    def author_salt(self) -> str:
        return self.get_meta("author_salt") or ""

    # -- generic access ----------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run SQL and return the result as a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def query_chunks(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[pd.DataFrame]:
        """Run SQL and yield its result in DataFrames of a few thousand rows (a wide result, such as vectors, is
        never held whole in pandas). The store's connection serves this result until the last chunk: run no
        other query on the store in between."""
        cursor = self.con.execute(sql, params or [])
        while len(chunk := cursor.fetch_df_chunk()):
            yield chunk

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run SQL to completion and return its rows (DuckDB needs every result finished)."""
        return _run(self.con, sql, params)

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; tables are {', '.join(TABLES)}")
        return int(_run(self.con, f"SELECT count(*) FROM {table}")[0][0])

    def upsert(self, table: str, frame: pd.DataFrame, key: Sequence[str]) -> int:
        """Insert rows of ``frame`` into ``table``, replacing rows with the same key."""
        if frame.empty:
            return 0
        columns = list(frame.columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}" if updates else (
            f"ON CONFLICT ({', '.join(key)}) DO NOTHING")
        self.con.register("_incoming", frame)
        try:
            _run(
                self.con,
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {', '.join(columns)} FROM _incoming {conflict}"
            )
        finally:
            self.con.unregister("_incoming")
        return len(frame)

    def existing_hashes(self, table: str, key: str, ids: Iterable[str]) -> dict[str, str]:
        """Map each id already in ``table`` to its stored content hash."""
        ids = list(ids)
        if not ids:
            return {}
        frame = pd.DataFrame({"id": ids})
        self.con.register("_ids", frame)
        try:
            rows = _run(
                self.con,
                f"SELECT t.{key}, t.content_hash FROM {table} t JOIN _ids ON t.{key} = _ids.id"
            )
        finally:
            self.con.unregister("_ids")
        return dict(rows)

    def transaction(self) -> "_Transaction":
        """Context manager: commit on success, roll back on error."""
        return _Transaction(self.con)

    # -- run bookkeeping -------------------------------------------------------------------
    def last_cursor(self, collector: str, channel: str | None) -> str | None:
        row = (_run(
            self.con,
            "SELECT cursor FROM runs WHERE collector = ? AND channel IS NOT DISTINCT FROM ? "
            "AND status = 'ok' AND cursor IS NOT NULL ORDER BY finished_at DESC LIMIT 1",
            [collector, channel],
        ) or [None])[0]
        return row[0] if row else None

    def quarantine_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            frame = pd.DataFrame(rows)
            frame["raw"] = frame["raw"].map(
                lambda raw: raw if isinstance(raw, str) else json.dumps(raw, default=str, ensure_ascii=False)
            )
            self.append("quarantine", frame)

    def append(self, table: str, frame: pd.DataFrame) -> None:
        """Append rows to a table without a key (quarantine)."""
        self.con.register("_incoming", frame)
        try:
            _run(
                self.con,
                f"INSERT INTO {table} ({', '.join(frame.columns)}) SELECT * FROM _incoming"
            )
        finally:
            self.con.unregister("_incoming")


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    result = con.execute(sql, params or [])
    try:
        return result.fetchall()
    except duckdb.InvalidInputException:  # statements without a result set
        return []


class _Transaction:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> None:
        _run(self.con, "BEGIN TRANSACTION")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _run(self.con, "ROLLBACK" if exc_type else "COMMIT")
