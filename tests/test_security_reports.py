"""Hostile text in reports: every user string (quotes, topic labels and keywords derived from them) is
escaped, no event-handler attribute or script gets in, and links are only http(s)."""

import json
import re
from html.parser import HTMLParser

import pytest

from voxlens.collectors import import_reviews
from voxlens.report import write_report

ATTACKS = [
    "<script>alert('quote')</script> payment failed",
    '<img src=x onerror="alert(1)"> checkout broken',
    "</blockquote><a href=\"javascript:alert(2)\">click</a>",
    "[click me](javascript:alert(3)) and <iframe src=//evil>",
    "\"'><svg/onload=alert(4)>",
]
URLS = {
    "h0": "https://example.com/review/1",
    "h1": "javascript:alert(5)",
    "h2": " JavaScript:alert(6)",
    "h3": "data:text/html,<script>alert(7)</script>",
    "h4": 'https://example.com/x"onclick="alert(8)"',
}
LABEL = "<b onmouseover=alert(9)>payments</b>"
KEYWORDS = ["<script>alert(10)</script>", "javascript:alert(11)", "onerror=alert(12)"]


@pytest.fixture
def hostile_store(store, tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps({"id": f"h{n}", "text": text, "created_at": "2026-09-20"}) + "\n"
                            for n, text in enumerate(ATTACKS)))
    import_reviews(store, path)
    for external_id, url in URLS.items():  # as a careless collector might store them
        store.execute("UPDATE items SET url = ? WHERE external_id = ?", [url, external_id])
    ids = [r[0] for r in store.execute("SELECT item_id FROM items ORDER BY external_id")]
    store.execute("INSERT INTO topic_info VALUES (0, ?, ?, DATE '2026-09-17', 5, NULL)", [LABEL, KEYWORDS])
    store.execute("INSERT INTO topics SELECT item_id, 0, 1.0, [0.1, 0.2] FROM items")
    store.execute("INSERT INTO scores SELECT item_id, 'm', 'negative', -0.9, 0.9, 0.05, 0.05, now() FROM items")
    store.execute("INSERT INTO issues (issue_id, kind, topic_id, window_start, window_end, severity, statistic, "
                  "p_value, q_value, summary, evidence, detected_at, topic_ids) VALUES ("
                  "'i1', 'new_topic', 0, DATE '2026-09-17', DATE '2026-09-23', 9.5, 3.0, "
                  "0.001, 0.01, ?, ?, now(), [0])", ["<u>summary</u> with onerror=x", ids])
    return store


class Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attributes, self.text, self.scripts, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.attributes += [(tag, name, value) for name, value in attrs]
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def test_html_report_escapes_every_user_string_and_links_only_to_http(hostile_store, tmp_path):
    html = write_report(hostile_store, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    page = Collect()
    page.feed(html)
    shown = "".join(page.text)

    for attack in ATTACKS + [LABEL] + KEYWORDS:
        assert attack in shown  # displayed as text, character for character
    assert not [a for a in page.attributes if a[1].startswith("on")]
    hrefs = [value for tag, name, value in page.attributes if name in ("href", "src", "action", "formaction")]
    assert hrefs == ["https://example.com/review/1", 'https://example.com/x"onclick="alert(8)"']  # quote stays inside
    assert not {tag for tag, _, _ in page.attributes} & {"img", "iframe", "object", "embed", "form", "svg", "u", "b"}
    # user text reaches scripts only as JSON strings with < > & escaped, so it can never close the element
    assert not any(attack in script for script in page.scripts for attack in ATTACKS + [LABEL] + KEYWORDS
                   if "<" in attack)


def test_markdown_report_shows_no_raw_html_and_no_clickable_user_links(hostile_store, tmp_path):
    markdown = write_report(hostile_store, "md", tmp_path / "r.md").read_text(encoding="utf-8")

    assert "<" not in markdown.replace("&lt;", "")
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown)  # every ] of user text is escaped
    assert "\\[click me\\](javascript:alert(3))" in markdown
    assert "&lt;script&gt;alert('quote')&lt;/script&gt; payment failed" in markdown


def test_json_report_carries_only_http_links(hostile_store, tmp_path):
    report = json.loads(write_report(hostile_store, "json", tmp_path / "r.json").read_text(encoding="utf-8"))
    urls = {e["external_id"]: e["url"] for e in report["issues"][0]["evidence"]}

    assert urls == {"h0": "https://example.com/review/1", "h1": None, "h2": None, "h3": None,
                    "h4": 'https://example.com/x"onclick="alert(8)"'}
    assert report["issues"][0]["evidence"][0]["text"] in ATTACKS  # JSON keeps text as it is; consumers escape


def test_csv_report_cells_from_user_text_do_not_run_as_spreadsheet_formulas(hostile_store, tmp_path):
    import csv

    hostile_store.execute("UPDATE topic_info SET label = '=HYPERLINK(\"http://evil\",\"x\")', "
                          "keywords = ['+cmd', '@sum', 'fine']")
    path = write_report(hostile_store, "csv", tmp_path / "r.csv")
    row = next(csv.DictReader(path.open(encoding="utf-8")))

    assert row["topic_label"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert row["topic_keywords"] == "'+cmd;@sum;fine"
    assert row["severity"] == "9.5"


def test_importers_store_only_http_links(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,text,url\n1,a,javascript:alert(1)\n2,b,HTTPS://Example.com/ok\n3,c,https://x.com/a b\n"
                    "4,d,ftp://x.com/f\n5,e,//evil.com\n")
    import_reviews(store, path)

    assert dict(store.execute("SELECT external_id, url FROM items")) == {
        "1": None, "2": "HTTPS://Example.com/ok", "3": None, "4": None, "5": None}
