"""Alerts for new and reopened issues: a local webhook and a local SMTP server, cooldown, masked secrets,
``[alerts]`` in voxlens.toml and the scheduler's detect step."""

from __future__ import annotations

import json
import socket
import textwrap
import threading
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.issue_store import END, MODEL, stream, write_store
from voxlens.alerts import AlertSettings, pending_alerts, send_alerts, slack_payload
from voxlens.config import load_config
from voxlens.core.errors import ConfigError
from voxlens.core.store import Store
from voxlens.issues import IssueTracker
from voxlens.metrics.emerging import IssueDetector

NOW = datetime(2026, 10, 1, 8, 0)
SECRET = "T0000/B0000/s3cr3t-hook-token"


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/services/{SECRET}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collect(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    handler = Collect()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def store(tmp_path):
    """A store whose log has one issue, first flagged in the last days."""
    with Store(write_store(tmp_path / "s.duckdb", stream(burst_from=3, seed=8, days=40))) as opened:
        IssueTracker(opened, IssueDetector(scan_replicates=0), model=MODEL).catch_up()
        yield opened


def test_a_new_issue_alerts_once_by_webhook_and_email(store, webhook, smtp_server):
    url, hook = webhook
    port, mail = smtp_server
    settings = AlertSettings(webhook=url, email_to=["cx@example.com"], smtp_host="127.0.0.1", smtp_port=port)
    log = IssueTracker(store).log()
    assert log["status"].tolist() == ["ongoing"] and log["first_flagged"].astype(str).tolist() >= ["2026-09-28"]
    first = send_alerts(store, settings, now=NOW)
    assert len(first.sent) == 1 and not first.errors
    path, content_type, payload = hook.received[0]
    assert content_type == "application/json" and path.endswith(SECRET)
    assert payload["text"].startswith("voxlens: new issue: topic 3 · word3")
    assert payload["blocks"][0]["type"] == "section" and "mrkdwn" == payload["blocks"][0]["text"]["type"]
    subject = str(make_header(decode_header(mail.messages[0]["Subject"]))).replace("\n", "")
    assert " ".join(subject.split()) == payload["text"] and mail.messages[0]["To"] == "cx@example.com"
    again = send_alerts(store, settings, now=NOW + timedelta(days=3))
    assert again.sent == [] and len(hook.received) == 1 and len(mail.messages) == 1


def test_a_reopened_issue_alerts_again_but_not_within_the_cooldown(store, webhook):
    url, hook = webhook
    settings = AlertSettings(webhook=url, cooldown_hours=48)
    issue_id = send_alerts(store, settings, now=NOW).sent[0]
    store.execute("UPDATE issues SET status = 'reopened', reopened = DATE '2026-10-01' WHERE issue_id = ?", [issue_id])
    assert send_alerts(store, settings, now=NOW + timedelta(hours=12)).sent == []        # cooldown
    assert send_alerts(store, settings, now=NOW + timedelta(hours=49)).sent == [issue_id]
    assert hook.received[-1][2]["text"].startswith("voxlens: reopened issue")
    assert send_alerts(store, settings, now=NOW + timedelta(days=5)).sent == []


def test_old_issues_found_by_a_backfill_do_not_alert(store):
    settings = AlertSettings(webhook="https://hooks.example/x", max_age_days=0)
    store.execute("UPDATE issues SET first_flagged = first_flagged - INTERVAL 5 DAY")
    assert pending_alerts(store, settings, NOW) == []


def test_a_failed_delivery_is_reported_masked_and_retried(store, webhook):
    url, hook = webhook
    hook.status = 500
    settings = AlertSettings.from_mapping({"webhook_env": "TEST_HOOK"}, environ={"TEST_HOOK": url})
    failed = send_alerts(store, settings, now=NOW)
    assert failed.sent == [] and len(failed.errors) == 1
    assert SECRET not in failed.errors[0] and "***" in failed.errors[0]
    hook.status = 200
    assert len(send_alerts(store, settings, now=NOW).sent) == 1


def test_the_payload_escapes_user_text_for_slack():
    issue = {"issue_id": "x", "reason": "new", "kind": "new_topic", "onset": "2026-09-20", "severity": 3.0,
             "topic": {"label": "<!channel> & co"}, "summary": "s", "facets": {},
             "evidence": [{"text": "<https://evil|click> me"}]}
    text = slack_payload(issue)["blocks"][0]["text"]["text"]
    assert "<" not in text and "&lt;!channel&gt; &amp; co" in text and "&lt;https://evil|click&gt;" in text


def test_alerts_in_the_config_file_are_checked(tmp_path, monkeypatch):
    path = tmp_path / "voxlens.toml"
    monkeypatch.setenv("VOXLENS_WEBHOOK_URL", f"https://hooks.example/{SECRET}")
    path.write_text('[alerts]\nwebhook_env = "VOXLENS_WEBHOOK_URL"\ncooldown_hours = 6\n')
    settings = load_config(path).alerts
    assert settings.webhook.endswith(SECRET) and settings.cooldown_hours == 6.0
    path.write_text('[alerts]\nwebhook = "https://hooks.example/x"\ncooldown = 6\n')
    with pytest.raises(ConfigError, match="unknown key.*cooldown"):
        load_config(path)
    path.write_text('[alerts]\nemail_to = ["a@example.com"]\n')
    with pytest.raises(ConfigError, match="smtp_host"):
        load_config(path)


def test_the_detection_page_alerts_example_loads(monkeypatch, tmp_path):
    page = (Path(__file__).parent.parent / "docs" / "detection.md").read_text()
    sample = page.split("### Alerts in `voxlens.toml`\n", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("VOXLENS_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/abc")
    monkeypatch.setenv("VOXLENS_SMTP_PASSWORD", "pw-123456")
    (tmp_path / "voxlens.toml").write_text(sample)
    settings = load_config(tmp_path / "voxlens.toml").alerts
    assert settings.enabled and settings.email_to and settings.smtp_password == "pw-123456"


class _FakeSentiment:
    name = MODEL

    def __init__(self, **kwargs):
        pass


def test_the_schedulers_detect_step_sends_alerts(tmp_path, webhook, monkeypatch):
    from voxlens import pipeline
    from voxlens.schedule import run_job

    url, hook = webhook
    write_store(tmp_path / "feedback.duckdb", stream(burst_from=3, seed=8, days=40))
    (tmp_path / "voxlens.toml").write_text(textwrap.dedent(f"""
        [store]
        db = "feedback.duckdb"

        [jobs.nightly]
        cron = "0 3 * * *"
        steps = ["detect"]

        [alerts]
        webhook = "{url}"
        """))
    monkeypatch.setattr(pipeline, "SentimentModel", _FakeSentiment)
    monkeypatch.setattr(pipeline, "IssueDetector", lambda: IssueDetector(scan_replicates=0))
    config = load_config(tmp_path / "voxlens.toml")
    lines = []
    result = run_job(config, config.jobs["nightly"], echo=lines.append)
    assert result.ok, result.errors
    assert "alerts: 1 sent" in lines and len(hook.received) == 1
    assert SECRET not in " ".join(lines)
    run_job(config, config.jobs["nightly"], echo=lines.append)
    assert lines[-1] == "alerts: 0 sent" and len(hook.received) == 1
