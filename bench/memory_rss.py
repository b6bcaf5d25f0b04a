"""Peak memory (RSS) of ``Pipeline.analyze`` on stores of 10k, 100k and 1M synthetic items.

Each size runs in two fresh subprocesses: one builds the store (synthetic short review texts, language
preset so only scoring and topics are measured), one runs the full analysis (sentiment + topics, default
model, streamed in chunks) and reports its own peak RSS from ``resource.getrusage``. The stores are
kept in ``--workdir``: re-running with the same folder resumes an interrupted analysis where it stopped.

Run:
    python bench/memory_rss.py                               # 10k and 100k
    python bench/memory_rss.py --sizes 10000 100000 1000000 --workdir /var/tmp/voxlens-rss
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

SUBJECTS = ["courier", "parcel locker", "payment", "the app", "tracking", "customer support", "refund",
            "delivery time", "the driver", "pickup point"]
VERDICTS = ["was great", "failed again", "is slow", "works fine", "never answered", "was lovely",
            "crashed twice", "took a week", "was damaged", "is confusing"]


def build(db: str, n: int) -> None:
    from voxlens.core.store import Store

    subjects = ", ".join(f"'{s}'" for s in SUBJECTS)
    verdicts = ", ".join(f"'{v}'" for v in VERDICTS)
    with Store(db) as store:
        if store.count("items"):
            return
        store.execute(
            "INSERT INTO items (item_id, source, external_id, created_at, collected_at, text, lang, content_hash) "
            "SELECT printf('i%08d', r), 'bench', printf('%d', r), TIMESTAMP '2026-07-01' + to_minutes(r % 129600), "
            f"TIMESTAMP '2026-10-01', list_extract([{subjects}], 1 + r % 10) || ' ' || "
            f"list_extract([{verdicts}], 1 + (r // 10) % 10) || ', order ' || (r % 5000), 'en', md5(r::VARCHAR) "
            f"FROM range({n}) t(r)")


def analyse(db: str) -> dict:
    from voxlens.pipeline import Pipeline
    from voxlens.core.store import Store

    started = time.perf_counter()
    with Store(db) as store:
        summary = Pipeline(store, progress=True).analyze()
        items = store.count("items")
    return {"items": items, "scored": summary.scored, "assigned": summary.assigned,
            "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=Path("bench-rss"))
    parser.add_argument("--child", choices=["build", "analyse"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "build":
        return build(args.db, args.n)
    if args.child == "analyse":
        print(json.dumps(analyse(args.db)))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'items':>10} {'scored':>10} {'seconds':>9} {'peak RSS MB':>12}")
    for n in args.sizes:
        db = str(args.workdir / f"items-{n}.duckdb")
        script = [sys.executable, __file__, "--db", db, "--n", str(n)]
        subprocess.run([*script, "--child", "build"], check=True)
        out = subprocess.run([*script, "--child", "analyse"], check=True, stdout=subprocess.PIPE, text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{row['items']:>10,} {row['scored']:>10,} {row['seconds']:>9} {row['peak_rss_mb']:>12}", flush=True)


if __name__ == "__main__":
    main()
