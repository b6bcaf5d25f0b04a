"""Subscriptions (customer × period × recurring revenue), the input of retention, churn, NRR and CLV.

Example:
    >>> import pathlib, tempfile
    >>> from voxlens.core.store import Store
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "subscriptions.csv"
    >>> _ = path.write_text("customer_id,period,revenue\\nc1,2026-07-01,10\\nc1,2026-08-01,12\\n")
    >>> with Store(":memory:") as store:
    ...     import_subscriptions(store, path), len(stored_subscriptions(store))
    (2, 2)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from voxlens.metrics.business import read_subscriptions
from voxlens.core.store import Store

SUBSCRIPTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS subscriptions (
    customer_id VARCHAR NOT NULL, period DATE NOT NULL, revenue DOUBLE NOT NULL, segment VARCHAR,
    PRIMARY KEY (customer_id, period)
)"""


def import_subscriptions(store: Store, path: str | Path) -> int:
    """Store a subscriptions CSV (see :func:`voxlens.metrics.business.read_subscriptions`); rows of one customer and
    period are summed, and importing again replaces them. Returns the customer-period rows stored."""
    frame = read_subscriptions(str(path))
    frame["segment"] = frame["segment"].astype(str) if "segment" in frame else None
    frame = frame.groupby(["customer_id", frame["period"].dt.date], as_index=False).agg(
        revenue=("revenue", "sum"), segment=("segment", "last"))
    frame["customer_id"] = frame["customer_id"].astype(str)
    with store.transaction():
        store.execute(SUBSCRIPTIONS_TABLE)
        store.con.register("_subs", frame[["customer_id", "period", "revenue", "segment"]])
        try:
            store.execute("INSERT INTO subscriptions SELECT customer_id, period, revenue, segment FROM _subs "
                          "ON CONFLICT (customer_id, period) DO UPDATE SET revenue = excluded.revenue, "
                          "segment = excluded.segment")
        finally:
            store.con.unregister("_subs")
    return len(frame)


def stored_subscriptions(store: Store) -> pd.DataFrame | None:
    """The stored subscriptions, or None when none were ever imported."""
    exists = store.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'subscriptions'")
    return store.query("SELECT * FROM subscriptions") if exists[0][0] else None
