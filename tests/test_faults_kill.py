"""A collector or `analyze` killed with SIGKILL mid-run, then re-run: nothing lost, nothing duplicated,
scores complete. The kill is real: a subprocess, ``os.kill(pid, SIGKILL)`` while its progress shows it
is half-way."""

import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from voxlens.core.store import Store

KILL_TIMEOUT = 300


def run_until(command, pattern, ready, env=None):
    """Start ``command``; SIGKILL it as soon as its output matches ``pattern`` and ``ready(match)``."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    seen, killed = [], threading.Event()

    def watch():
        buffer = b""
        while chunk := process.stdout.read1(4096):
            buffer = (buffer + chunk)[-4096:]
            seen.append(chunk)
            for match in re.finditer(pattern, buffer.decode("utf-8", "replace")):
                if not killed.is_set() and ready(match):
                    os.kill(process.pid, signal.SIGKILL)
                    killed.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    process.wait(timeout=KILL_TIMEOUT)
    watcher.join(timeout=10)
    output = b"".join(seen).decode("utf-8", "replace")
    assert killed.is_set() and process.returncode == -signal.SIGKILL, f"not killed mid-run:\n{output[-2000:]}"
    return output


def test_import_killed_mid_run_then_rerun_stores_every_row_once(tmp_path):
    total = 40_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("id,text,rating\n")
        for n in range(total):
            out.write(f"r{n},Review number {n} about delivery,{n % 5 + 1}\n")
        out.write("bad,,9\n")
    db = str(tmp_path / "s.duckdb")
    command = [sys.executable, "-m", "voxlens", "import", "reviews", str(path), "--db", db]

    run_until(command, r"import-reviews: (\d+)row", lambda m: 5_000 <= int(m.group(1)) < total - 5_000)

    with Store(db) as store:
        kept = store.count("items")
        assert 0 < kept < total  # the kill came mid-run; what was committed survived
    finished = subprocess.run(command, capture_output=True, text=True, timeout=KILL_TIMEOUT)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"rows read {total + 1}: stored {total - kept} ({total - kept} new, 0 updated), quarantined 1, " \
           f"duplicates skipped {kept}" in finished.stdout
    with Store(db) as store:
        assert store.count("items") == total
        assert store.execute("SELECT count(DISTINCT external_id) FROM items") == [(total,)]
        runs = store.query("SELECT status, error FROM runs ORDER BY started_at")
        assert runs["status"].tolist() == ["interrupted", "ok"]
        assert "stopped before the run finished" in runs["error"][0]


ANALYZE = """
import sys
from voxlens.pipeline import Pipeline
from voxlens.core.store import Store
with Store(sys.argv[1]) as store:
    print(Pipeline(store, chunk_size=20, fit_sample=40, progress=True).analyze(), flush=True)
"""


@pytest.mark.slow
def test_analyze_killed_mid_run_then_rerun_scores_every_item_once(tmp_path):
    from voxlens.collectors import import_reviews
    from voxlens.sample.build import build

    reviews = build()["reviews"].head(160)
    reviews.to_csv(tmp_path / "reviews.csv", index=False)
    db = str(tmp_path / "s.duckdb")
    with Store(db) as store:
        import_reviews(store, tmp_path / "reviews.csv")
    command = [sys.executable, "-c", ANALYZE, db]

    # topics are fitted on a 40-item sample first, then the other 120 items stream in chunks of 20
    run_until(command, r"analysing:.*?(\d+)/(\d+)", lambda m: 20 <= int(m.group(1)) <= int(m.group(2)) - 40)

    with Store(db) as store:
        scored_before = store.count("scores")
        assigned_before = store.count("topics")
        topics_before = store.query("SELECT topic_id, label FROM topic_info ORDER BY topic_id")
        assert 40 < scored_before < 160 and 40 <= assigned_before <= scored_before
        assert not topics_before.empty  # saved before any item pointed at a topic
    finished = subprocess.run(command, capture_output=True, text=True, timeout=KILL_TIMEOUT)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"sentiment scored {160 - scored_before}, topics assigned {160 - assigned_before}" in finished.stdout
    with Store(db) as store:
        assert store.count("items") == 160
        assert store.execute("SELECT count(*), count(DISTINCT item_id) FROM scores") == [(160, 160)]
        assert store.execute("SELECT count(*), count(DISTINCT item_id) FROM topics") == [(160, 160)]
        unscored = store.execute("SELECT count(*) FROM items i ANTI JOIN scores s USING (item_id)")
        dangling = store.execute("SELECT count(*) FROM topics t WHERE t.topic_id >= 0 "
                                 "AND t.topic_id NOT IN (SELECT topic_id FROM topic_info)")
        assert dangling == [(0,)]
        kept = store.query("SELECT topic_id, label FROM topic_info WHERE topic_id IN "
                           f"({', '.join(map(str, topics_before['topic_id'])) or '-99'}) ORDER BY topic_id")
        assert kept.equals(topics_before)  # the re-run kept the killed run's topic ids
        assert unscored == [(0,)]
