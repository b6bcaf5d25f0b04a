"""The store: schema, migrations, metadata."""

import duckdb
import pytest

from voxlens.core.errors import StoreError
from voxlens.core.store import MIGRATIONS, SCHEMA_VERSION, TABLES, Store


def test_new_store_has_every_table_and_the_current_schema_version(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        assert store.schema_version() == SCHEMA_VERSION
        for table in TABLES:
            assert store.count(table) == 0


def test_reopening_keeps_data_and_the_author_salt(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        salt = store.author_salt
        store.set_meta("note", "kept")
    with Store(path) as store:
        assert store.author_salt == salt and len(salt) == 32
        assert store.get_meta("note") == "kept"


def test_each_store_gets_its_own_salt(tmp_path):
    with Store(tmp_path / "a.duckdb") as a, Store(tmp_path / "b.duckdb") as b:
        assert a.author_salt != b.author_salt


def test_a_store_from_a_newer_voxlens_is_refused(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(StoreError, match="newer than this voxlens"):
        Store(path)


def test_an_unversioned_file_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE unrelated (x INTEGER)")
    con.close()
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.execute("SELECT count(*) FROM unrelated") == [(0,)]


def test_a_version_1_store_gains_topic_vectors_and_issue_topics_and_keeps_its_rows(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO topics VALUES ('a', 3, 0.9)")
    con.close()
    with pytest.raises(StoreError, match="schema version 1"):
        Store(path, read_only=True)
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 3
        assert store.execute("SELECT item_id, topic_id, vector FROM topics") == [("a", 3, None)]
        store.execute("INSERT INTO topics VALUES ('b', 1, 0.5, [0.25, 0.5])")
        assert store.execute("SELECT vector FROM topics WHERE item_id = 'b'") == [([0.25, 0.5],)]
        assert "topic_ids" in store.query("SELECT * FROM issues").columns


def test_read_only_open_of_a_missing_schema_says_how_to_fix(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(StoreError, match="without read_only"):
        Store(path, read_only=True)


def test_count_rejects_unknown_tables(store):
    with pytest.raises(ValueError, match="unknown table"):
        store.count("items; DROP TABLE items")


def test_store_files_cap_duckdbs_memory(tmp_path):
    with Store(tmp_path / "capped.duckdb") as store:
        assert store.execute("SELECT current_setting('memory_limit')")[0][0] == "244.1 MiB"
    with Store(tmp_path / "wide.duckdb", memory_limit="2GB") as store:
        assert store.execute("SELECT current_setting('memory_limit')")[0][0] == "1.8 GiB"
