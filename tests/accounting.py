"""The import invariant every robustness test checks: every row read is accounted for."""

from __future__ import annotations


def assert_every_row_accounted(store, counts, rows_in_file: int | None = None) -> None:
    """rows read = stored + quarantined + duplicates; each quarantined row keeps raw content and a reason."""
    assert counts.read == counts.stored + counts.quarantined + counts.duplicates, counts.summary()
    if rows_in_file is not None:
        assert counts.read == rows_in_file, counts.summary()
    run = store.query("SELECT * FROM runs ORDER BY started_at DESC LIMIT 1").iloc[0]
    assert (run["status"], run["rows_read"], run["rows_quarantined"]) == ("ok", counts.read, counts.quarantined)
    quarantined = store.query("SELECT location, raw, reason FROM quarantine WHERE run_id = ?", [run["run_id"]])
    assert len(quarantined) == counts.quarantined
    for row in quarantined.itertuples():
        assert row.raw.strip(), f"{row.location}: quarantined without its raw content"
        assert len(row.reason) > 10 and row.location, f"{row.location}: no usable reason"
