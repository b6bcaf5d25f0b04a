"""Two processes on one store (a scheduled run plus a manual one): the second waits or refuses with a
clear message, and the store is never corrupted."""

import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from voxlens.cli import main
from voxlens.core.errors import StoreError
from voxlens.core.store import TABLES, Store

HOLD = """
import sys
from voxlens.core.store import Store
store = Store(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
store.close()
"""


@pytest.fixture
def held_store(tmp_path):
    """A store held open for writing by another process until the test lets it go."""
    db = str(tmp_path / "s.duckdb")
    Store(db).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"

    def release():
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=30)

    yield db, holder, release
    release()


def test_a_second_process_is_refused_with_the_holders_pid_and_what_to_do(held_store):
    db, holder, _ = held_store
    with pytest.raises(StoreError, match=rf"in use by another voxlens process \(process {holder.pid}\); "
                                         r"wait for it to finish \(or pass --wait SECONDS\)"):
        Store(db)
    with pytest.raises(StoreError, match="in use"):
        Store(db, read_only=True)


def test_the_cli_refuses_with_one_clear_line_and_exit_code_2(held_store, tmp_path):
    db, holder, _ = held_store
    path = tmp_path / "r.csv"
    path.write_text("id,text\n1,Fine\n")
    result = CliRunner().invoke(main, ["import", "reviews", str(path), "--db", db])

    assert result.exit_code == 2
    assert result.output == (f"error: the store {db} is in use by another voxlens process (process {holder.pid}); "
                              "wait for it to finish (or pass --wait SECONDS) or use another --db\n")


def test_waiting_opens_the_store_once_the_other_process_lets_go(held_store):
    db, _, release = held_store
    with pytest.raises(StoreError, match=r"after waiting 0\.3 s"):
        Store(db, wait=0.3)
    threading.Timer(1.0, release).start()
    with Store(db, wait=30) as store:
        assert store.count("items") == 0


def test_two_imports_started_together_both_finish_and_the_store_holds_both(tmp_path):
    db = str(tmp_path / "s.duckdb")
    files = []
    for name in ("scheduled", "manual"):
        path = tmp_path / f"{name}.csv"
        path.write_text("id,text\n" + "".join(f"{name}{n},{name} review {n}\n" for n in range(3000)))
        files.append(path)
    processes = [subprocess.Popen([sys.executable, "-m", "voxlens", "--wait", "120", "import", "reviews", str(path),
                                   "--db", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for path in files]
    outputs = [p.communicate(timeout=300) for p in processes]

    assert [p.returncode for p in processes] == [0, 0], [err[-1000:] for _, err in outputs]
    with Store(db) as store:
        assert store.count("items") == 6000
        assert store.execute("SELECT channel, count(*) FROM items GROUP BY channel ORDER BY channel") == \
            [("manual", 3000), ("scheduled", 3000)]
        assert store.query("SELECT status FROM runs")["status"].tolist() == ["ok", "ok"]
        for table in TABLES:  # every table still reads back whole
            store.query(f"SELECT * FROM {table}")
