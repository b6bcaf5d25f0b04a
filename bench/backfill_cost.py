"""What a backfill costs: detection replayed over a year of history at 1,000 items a day, and whether stepping
(``IssueTracker.step``: the similar-items scan every 7 days, every day near a scan flag) gives the log a daily
replay gives.

A synthetic store: ``--days`` days at ``--daily`` items a day (Poisson), 30 topics, 384-d unit vectors around
each topic's centre (so the similar-items scan has work to do), made-up words, a tenth negative; two bursts
(a quarter of a day's volume for 10 days) and one negativity shift are planted. The store is written once, then
the replay runs with the default detector (topic, group, similar-items and word scans), timed. With
``--compare-days N`` the last N days are also replayed day by day and with the default step, side by side.

    python -m bench.backfill_cost --days 365 --daily 1000 --compare-days 60
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from voxlens.core.store import Store
from voxlens.issues import IssueTracker
from voxlens.metrics.emerging import IssueDetector

MODEL = "bench"
WORDS = [f"w{i:03d}" for i in range(400)]


def write(path: Path, days: int, daily: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2026-06-30")
    counts = rng.poisson(daily, days)
    day_index = np.repeat(np.arange(days), counts)
    n = len(day_index)
    topics = rng.integers(0, 30, n)
    back = days - 1 - day_index
    for start, topic in ((200, 7), (40, 19)):                 # bursts of a quarter of the volume for 10 days
        hit = (back < start) & (back >= start - 10) & (rng.random(n) < 0.25)
        topics[hit] = topic
    negative = rng.random(n) < 0.1
    negative |= (topics == 3) & (back < 25)                  # topic 3 turns negative for its last 25 days
    centres = rng.normal(size=(30, 384)).astype(np.float32)
    vectors = centres[topics] + rng.normal(scale=1.2, size=(n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    created = end - pd.to_timedelta(back, unit="D") + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")
    text = [" ".join(rng.choice(WORDS, 6)) + f" t{t}" for t in topics]
    ids = [f"i{k:07d}" for k in range(n)]
    with Store(path) as store:
        store.upsert("items", pd.DataFrame({"item_id": ids, "source": "bench", "external_id": ids, "created_at": created,
                                            "collected_at": created, "text": text, "lang": "en", "content_hash": ids}),
                     key=["item_id"])
        store.upsert("scores", pd.DataFrame({"item_id": ids, "model": MODEL,
                                             "label": np.where(negative, "negative", "positive"), "score": 0.0,
                                             "p_negative": 0.0, "p_neutral": 0.0, "p_positive": 0.0,
                                             "scored_at": end}), key=["item_id", "model"])
        store.upsert("topics", pd.DataFrame({"item_id": ids, "topic_id": topics, "probability": 0.9,
                                             "vector": list(vectors)}), key=["item_id"])
        store.upsert("topic_info", pd.DataFrame({"topic_id": range(30), "label": [f"topic {t}" for t in range(30)],
                                                 "keywords": [[f"t{t}"] for t in range(30)], "size": 0,
                                                 "centroid": list(centres / np.linalg.norm(centres, axis=1, keepdims=True))}),
                     key=["topic_id"])
    return pd.DataFrame({"day": back})


def replay(path: Path, step: int, through: pd.Timestamp | None = None, since_days: int | None = None) -> tuple[float, int, pd.DataFrame]:
    with Store(path) as store:
        store.execute("DELETE FROM issues")
        store.execute("DELETE FROM meta WHERE key = 'detected_through'")
        tracker = IssueTracker(store, IssueDetector(), model=MODEL, step=step, progress=True)
        if since_days is not None:        # a store detected on until then: replay only the last days
            last = pd.Timestamp(store.execute("SELECT max(created_at) FROM items")[0][0]).normalize()
            store.set_meta("detected_through", (last - pd.Timedelta(days=since_days)).date().isoformat())
        started = time.perf_counter()
        tracker.catch_up(through)
        seconds = time.perf_counter() - started
        return seconds, tracker.runs_, tracker.log()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--daily", type=int, default=1000)
    parser.add_argument("--compare-days", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "year.duckdb"
        started = time.perf_counter()
        write(path, args.days, args.daily)
        print(f"store written: {args.days} days at {args.daily} a day in {time.perf_counter() - started:.0f} s")
        rows = []
        seconds, runs, log = replay(path, step=7)
        rows.append({"replay": f"all {args.days} days, scan every 7 days (default)", "runs with the scan": runs,
                     "seconds": round(seconds), "issues": len(log)})
        print(log[["topic_ids", "onset", "first_flagged", "last_seen", "ended", "status"]].to_string())
        if args.compare_days:
            logs = {}
            for step in (1, 7):
                seconds, runs, logs[step] = replay(path, step=step, since_days=args.compare_days)
                rows.append({"replay": f"last {args.compare_days} days, scan every {step} day(s)", "runs with the scan": runs,
                             "seconds": round(seconds), "issues": len(logs[step])})
            columns = ["issue_id", "onset", "first_flagged", "last_seen", "ended", "status"]
            same = logs[1].sort_values("issue_id")[columns].astype(str).reset_index(drop=True).equals(
                logs[7].sort_values("issue_id")[columns].astype(str).reset_index(drop=True))
            print(f"the default replay gives the log of a daily one over the last {args.compare_days} days: {same}")
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
