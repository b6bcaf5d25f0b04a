"""The end-to-end demo on bundled SAMPLE data: import → analyze → detect → reports.

Example:
    >>> from voxlens.demo import run_demo, demo_store
    >>> paths = run_demo("demo.duckdb", "report")  # doctest: +SKIP
    >>> db = demo_store()  # built once, reused by later calls (notebooks start here)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from voxlens.collectors.reviews import import_reviews
from voxlens.collectors.subscriptions import import_subscriptions
from voxlens.collectors.survey import import_survey
from voxlens.collectors.tickets import import_tickets
from voxlens.pipeline import Pipeline
from voxlens.report import FORMATS, ReportData, write_report
from voxlens.sample.build import DATA_DIR
from voxlens.core.store import Store


DEMO_MARK = "demo_store"


def default_demo_db() -> Path:
    """Where :func:`demo_store` keeps the demo store: ``$VOXLENS_DEMO_DB`` or ``~/.cache/voxlens/demo.duckdb``."""
    return Path(os.environ.get("VOXLENS_DEMO_DB") or Path.home() / ".cache" / "voxlens" / "demo.duckdb")


def demo_store(db: str | Path | None = None, rebuild: bool = False, progress: bool = True) -> Path:
    """The path of an analysed store of the sample data, built (about a minute) only if missing.

    Later calls reuse it, so every notebook can start with ``demo_store()``.
    """
    db = Path(db) if db is not None else default_demo_db()
    if db.exists() and not rebuild:
        with Store(db, read_only=True) as store:
            if store.get_meta(DEMO_MARK) == "complete":
                return db
    db.parent.mkdir(parents=True, exist_ok=True)
    run_demo(db, db.parent / f"{db.stem}-report", echo=lambda line: None, progress=progress)
    return db


def run_demo(db: str | Path, out: str | Path, echo: Callable[[str], None] = print,
             progress: bool = True) -> dict[str, Path]:
    """Run the whole flow on the sample data into a fresh store; returns the report paths by format."""
    db, out = Path(db), Path(out)
    for stale in (db, Path(f"{db}.wal")):
        stale.unlink(missing_ok=True)
    started = time.time()
    echo("voxlens demo on SAMPLE data (a fictional parcel-delivery app, 90 days, English and Polish)")
    with Store(db) as store:
        for path, source in ((DATA_DIR / "reviews.csv", "appstore"), (DATA_DIR / "posts.jsonl", "reddit")):
            counts = import_reviews(store, path, source=source)
            echo(f"  import {path.name}: {counts.summary()}")
        counts = import_survey(store, DATA_DIR / "survey.csv")
        echo(f"  import survey.csv: {counts.summary()}")
        counts = import_tickets(store, DATA_DIR / "tickets.csv")
        echo(f"  import tickets.csv: {counts.summary()}")
        echo(f"  import subscriptions.csv: {import_subscriptions(store, DATA_DIR / 'subscriptions.csv')} "
             "customer-period rows stored")
        pipeline = Pipeline(store, progress=progress)
        echo(f"  analyze: {pipeline.analyze()}")
        issues = pipeline.detect()
        echo(f"  detect: {len(issues)} issue(s) flagged")
        store.set_meta(DEMO_MARK, "complete")
        data = ReportData.from_store(store)
        paths = {fmt: write_report(store, fmt, out / f"report.{fmt}", sample=True, data=data) for fmt in FORMATS}
    for fmt, path in paths.items():
        echo(f"  report ({fmt}): {path}")
    echo(f"done in {time.time() - started:.0f} s")
    return paths
