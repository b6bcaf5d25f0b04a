"""What ``voxlens status`` shows: per source and channel, the last run, last success and last error;
and what ``voxlens quarantine`` shows: the rows that were set aside, each with its reason.

Example:
    >>> from voxlens.core.store import Store
    >>> with Store(":memory:") as store:
    ...     source_status(store).columns.tolist()
    ['collector', 'channel', 'last_run', 'last_status', 'last_success', 'runs', 'items_new', 'items_updated', 'quarantined', 'last_error']
    >>> with Store(":memory:") as store:
    ...     quarantined_rows(store).columns.tolist()
    ['source', 'location', 'reason', 'raw', 'runs', 'first_seen', 'last_seen']
"""

from __future__ import annotations

import pandas as pd

from voxlens.core.store import Store


def source_status(store: Store) -> pd.DataFrame:
    """One row per (collector, channel) in ``runs``, newest first."""
    return store.query("""
        SELECT collector, channel,
               max(started_at) AS last_run,
               arg_max(status, started_at) AS last_status,
               max(finished_at) FILTER (WHERE status = 'ok') AS last_success,
               count(*) AS runs,
               coalesce(sum(rows_new), 0)::BIGINT AS items_new,
               coalesce(sum(rows_updated), 0)::BIGINT AS items_updated,
               coalesce(sum(rows_quarantined), 0)::BIGINT AS quarantined,
               arg_max(error, started_at) FILTER (WHERE error IS NOT NULL) AS last_error
        FROM runs GROUP BY collector, channel ORDER BY last_run DESC
    """)


def quarantined_rows(store: Store, source: str | None = None) -> pd.DataFrame:
    """Distinct quarantined rows, most recently seen first.

    Every run records the bad rows it read, so a file imported again repeats them; here each row appears
    once with ``runs`` (how many runs set it aside) and when it was first and last seen. ``source``
    keeps one source (``reviews``, ``survey``, ``reddit``...).
    """
    return store.query("""
        SELECT source, location, reason, raw,
               count(DISTINCT run_id) AS runs,
               min(quarantined_at) AS first_seen,
               max(quarantined_at) AS last_seen
        FROM quarantine WHERE ? IS NULL OR source = ?
        GROUP BY source, location, reason, raw
        ORDER BY last_seen DESC, source, location
    """, [source, source])
