"""The end-to-end demo on bundled SAMPLE data: import → analyze → detect → reports.

Example:
    >>> from voxlens.demo import run_demo
    >>> paths = run_demo("demo.duckdb", "report")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from collectors.reviews import import_reviews
from collectors.survey import import_survey
from voxlens.pipeline import Pipeline
from voxlens.report import FORMATS, write_report
from voxlens.sample.build import DATA_DIR
from voxlens.store import Store


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
        pipeline = Pipeline(store, progress=progress)
        echo(f"  analyze: {pipeline.analyze()}")
        issues = pipeline.detect()
        echo(f"  detect: {len(issues)} issue(s) flagged")
        paths = {fmt: write_report(store, fmt, out / f"report.{fmt}", sample=True) for fmt in FORMATS}
    for fmt, path in paths.items():
        echo(f"  report ({fmt}): {path}")
    echo(f"done in {time.time() - started:.0f} s")
    return paths
