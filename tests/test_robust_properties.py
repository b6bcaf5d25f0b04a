"""Property tests: whatever garbage a file holds, every row read is stored, quarantined with its raw
content and a reason, or skipped as a duplicate; and stored text is the text that was in the file."""

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxlens.collectors import import_reviews, import_survey
from voxlens.core.errors import InputError
from voxlens.core.store import Store
from tests.accounting import assert_every_row_accounted

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

garbage = st.sampled_from(["", " ", "\t", "nan", "NaN", "inf", "-inf", "1e309", "null", "5,0", "½", "٣",
                           "2026-02-30", "2999-01-01", "<script>x</script>", "=cmd|'/c calc'!A1", '"', '""', "\\"])
texts = st.one_of(st.text(max_size=60), garbage, st.text(alphabet="ąćęłńóśźż 😀\u200f\u2028\r\n,;\"'", max_size=30))
scores = st.one_of(st.integers(-3, 14).map(str), st.floats(allow_nan=True).map(str), garbage, st.text(max_size=5))
dates = st.one_of(st.dates().map(str), st.datetimes().map(lambda d: d.isoformat() + "Z"), garbage, st.text(max_size=12))
ids = st.one_of(st.sampled_from(["1", "2", "3", "a", ""]), st.text(max_size=6))

review_rows = st.lists(st.fixed_dictionaries(
    {"id": ids, "text": texts, "rating": scores, "date": dates, "author": st.one_of(st.just(""), st.text(max_size=8))}),
    max_size=25)
survey_rows = st.lists(st.fixed_dictionaries(
    {"id": ids, "nps": scores, "csat": scores, "ces": scores, "comment": texts, "submitted_at": dates}),
    max_size=25)
file_formats = st.tuples(st.sampled_from(["utf-8", "utf-8-sig", "cp1250", "utf-16"]), st.sampled_from(["\n", "\r\n", "\r"]))


def field(value):
    """Quoted as spreadsheet programs do: when it holds a comma, a quote or any line break."""
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\r\n') else value


def write_csv(folder, rows, columns, encoding, newline):
    lines = [",".join(columns)] + [",".join(field(row[c]) for c in columns) for row in rows]
    text = newline.join(lines) + newline
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        encoding, data = "utf-8", text.encode("utf-8")
    path = Path(folder) / "export.csv"
    path.write_bytes(data)
    return path, encoding


def clean(value):
    return value.replace("\x00", "").strip()


def non_blank(rows):
    return [r for r in rows if any(clean(v) for v in r.values())]


def check_quarantined_raw_is_a_row_of_the_file(store, rows):
    written = [{k: v.replace("\x00", "") for k, v in r.items()} for r in rows]
    for raw in store.query("SELECT raw FROM quarantine")["raw"]:
        assert json.loads(raw) in written


@SETTINGS
@given(rows=review_rows, fmt=file_formats)
def test_review_csv_with_random_garbage_accounts_for_every_row(rows, fmt):
    with tempfile.TemporaryDirectory() as folder, Store(":memory:") as store:
        path, encoding = write_csv(folder, rows, ["id", "text", "rating", "date", "author"], *fmt)
        counts = import_reviews(store, path)

        assert_every_row_accounted(store, counts, rows_in_file=len(non_blank(rows)))
        if encoding.startswith("utf"):
            assert set(store.query("SELECT text FROM items")["text"]) <= {clean(r["text"]) for r in rows}
            check_quarantined_raw_is_a_row_of_the_file(store, rows)
        again = import_reviews(store, path)
        assert again.new == again.updated == 0
        assert_every_row_accounted(store, again, rows_in_file=len(non_blank(rows)))


@SETTINGS
@given(rows=survey_rows, fmt=file_formats)
def test_survey_csv_with_random_scores_accounts_for_every_row(rows, fmt):
    with tempfile.TemporaryDirectory() as folder, Store(":memory:") as store:
        path, encoding = write_csv(folder, rows, ["id", "nps", "csat", "ces", "comment", "submitted_at"], *fmt)
        counts = import_survey(store, path)

        assert_every_row_accounted(store, counts, rows_in_file=len(non_blank(rows)))
        stored = store.query("SELECT nps, csat, ces FROM responses")
        assert stored["nps"].dropna().between(0, 10).all()
        assert stored["csat"].dropna().between(1, 5).all()
        assert stored["ces"].dropna().between(1, 7).all()
        if encoding.startswith("utf"):
            check_quarantined_raw_is_a_row_of_the_file(store, rows)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)
json_lines = st.one_of(
    st.fixed_dictionaries({"id": ids, "text": st.one_of(texts, json_values)}, optional={"rating": json_values}).map(
        lambda d: json.dumps(d, ensure_ascii=False)),
    json_values.map(json.dumps),
    st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s),
)


def parsed(line):
    try:
        return json.loads(line)
    except ValueError:
        return None


@SETTINGS
@given(lines=st.lists(json_lines, max_size=25))
def test_jsonl_with_random_lines_accounts_for_every_line(lines):
    with tempfile.TemporaryDirectory() as folder, Store(":memory:") as store:
        path = Path(folder) / "posts.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        lines = [line.replace("\x00", "") for line in lines]  # a stray NUL byte is dropped on reading
        objects = [v for v in map(parsed, lines) if isinstance(v, dict)]
        if not any("text" in v for v in objects):
            with pytest.raises(InputError, match="posts.jsonl: in no JSON object: no 'text' column found"):
                import_reviews(store, path)
            return
        counts = import_reviews(store, path)

        assert_every_row_accounted(store, counts, rows_in_file=sum(1 for line in lines if line.strip()))
        for raw in store.query("SELECT raw FROM quarantine")["raw"]:
            assert raw in lines
