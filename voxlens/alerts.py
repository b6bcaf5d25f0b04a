"""Alerts: a new or reopened issue notifies once, by webhook (Slack-compatible JSON) and/or e-mail (SMTP).

Configured under ``[alerts]`` in ``voxlens.toml``; the scheduler's ``detect`` step sends them::

    [alerts]
    webhook_env = "VOXLENS_WEBHOOK_URL"      # or webhook = "https://hooks.slack.com/services/..."
    email_to = ["cx-team@example.com"]
    email_from = "voxlens@example.com"
    smtp_host = "smtp.example.com"
    smtp_port = 587
    smtp_user = "voxlens"
    smtp_password_env = "VOXLENS_SMTP_PASSWORD"
    cooldown_hours = 24

An issue is notified once per episode: when it is first flagged (within ``max_age_days`` of the last day
detection ran on, so a backfill over old history does not announce old issues) and again when it reopens,
never twice within ``cooldown_hours``. The webhook URL and the SMTP password are secrets: they are masked in
every message (:func:`voxlens.core.privacy.mask_secrets`). A failed delivery is reported and retried by the
next run.

Example:
    >>> settings = AlertSettings.from_mapping({"webhook": "https://hooks.example/T0/B0/secret-xyz"})
    >>> settings.enabled, settings.cooldown_hours
    (True, 24.0)
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Callable

import pandas as pd
import requests

from voxlens.collectors.base import utc_now
from voxlens.core.errors import ConfigError
from voxlens.core.privacy import mask_secrets, register_secret
from voxlens.core.store import DETECTED_THROUGH, Store

KEYS = {"webhook", "webhook_env", "email_to", "email_from", "smtp_host", "smtp_port", "smtp_user",
        "smtp_password_env", "starttls", "cooldown_hours", "max_age_days", "min_severity", "timeout"}


@dataclass
class AlertSettings:
    """Where and when alerts go (see the module docstring for the ``[alerts]`` keys)."""

    webhook: str | None = None
    email_to: list[str] = field(default_factory=list)
    email_from: str = "voxlens@localhost"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    starttls: bool = False
    cooldown_hours: float = 24.0
    max_age_days: int = 2
    min_severity: float = 0.0
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.webhook or (self.email_to and self.smtp_host))

    @classmethod
    def from_mapping(cls, options: dict[str, Any], source: str = "[alerts]",
                     environ: dict[str, str] | None = None) -> "AlertSettings":
        """Settings from a config table; secrets named by ``*_env`` keys are read from the environment."""
        environ = dict(os.environ) if environ is None else environ
        unknown = set(options) - KEYS
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; keys are {', '.join(sorted(KEYS))}")
        webhook = options.get("webhook")
        if options.get("webhook_env"):
            webhook = environ.get(str(options["webhook_env"])) or None
            if webhook is None:
                raise ConfigError(f"{source}: webhook_env names {options['webhook_env']}, which is not set")
        password = environ.get(str(options["smtp_password_env"])) if options.get("smtp_password_env") else None
        for secret in (webhook, password):
            register_secret(secret)
        if webhook is not None and not str(webhook).startswith(("https://", "http://")):
            raise ConfigError(f"{source}: webhook must be an http(s) URL")
        recipients = options.get("email_to", [])
        recipients = [recipients] if isinstance(recipients, str) else list(recipients)
        if recipients and not options.get("smtp_host"):
            raise ConfigError(f"{source}: email_to needs smtp_host (and smtp_port, default 25)")
        try:
            return cls(webhook=webhook, email_to=recipients, email_from=str(options.get("email_from", cls.email_from)),
                       smtp_host=options.get("smtp_host"), smtp_port=int(options.get("smtp_port", 25)),
                       smtp_user=options.get("smtp_user"), smtp_password=password,
                       starttls=bool(options.get("starttls", False)),
                       cooldown_hours=float(options.get("cooldown_hours", 24)),
                       max_age_days=int(options.get("max_age_days", 2)),
                       min_severity=float(options.get("min_severity", 0)), timeout=float(options.get("timeout", 10)))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: {exc}") from None


@dataclass
class AlertResult:
    sent: list[str] = field(default_factory=list)       # issue ids notified
    errors: list[str] = field(default_factory=list)     # masked delivery errors


def pending_alerts(store: Store, settings: AlertSettings, now: datetime | None = None) -> list[dict[str, Any]]:
    """Open issues not yet notified for their current episode (first flag or reopening), outside the cooldown."""
    from voxlens.report.data import issue_records

    now = now or utc_now()
    through = store.get_meta(DETECTED_THROUGH)
    recent = (pd.Timestamp(through) - pd.Timedelta(days=settings.max_age_days)).date().isoformat() if through else ""
    state = {r[0]: (r[1], r[2]) for r in store.execute("SELECT issue_id, notified_at, reopened FROM issues")}
    pending = []
    for issue in issue_records(store, "open"):
        notified, reopened = state.get(issue["issue_id"], (None, None))
        if issue["severity"] < settings.min_severity:
            continue
        if notified is not None and now - pd.Timestamp(notified).to_pydatetime() < timedelta(hours=settings.cooldown_hours):
            continue
        if notified is None and issue["first_flagged"] >= recent:
            pending.append({**issue, "reason": "new"})
        elif reopened is not None and (notified is None or pd.Timestamp(notified).date() <= reopened):
            pending.append({**issue, "reason": "reopened"})
    return pending


def send_alerts(store: Store, settings: AlertSettings, now: datetime | None = None,
                post: Callable[..., Any] = requests.post, smtp: Callable[..., Any] = smtplib.SMTP) -> AlertResult:
    """Notify every pending issue once (webhook and/or e-mail) and mark it notified."""
    result = AlertResult()
    if not settings.enabled:
        return result
    for issue in pending_alerts(store, settings, now):
        try:
            if settings.webhook:
                response = post(settings.webhook, json=slack_payload(issue), timeout=settings.timeout)
                response.raise_for_status()
            if settings.email_to and settings.smtp_host:
                _send_email(settings, issue, smtp)
        except (requests.RequestException, OSError, smtplib.SMTPException) as exc:
            result.errors.append(mask_secrets(f"alert for issue {issue['issue_id']} not sent: {exc}"))
            continue
        store.execute("UPDATE issues SET notified_at = ? WHERE issue_id = ?", [now or utc_now(), issue["issue_id"]])
        result.sent.append(issue["issue_id"])
    return result


def headline(issue: dict[str, Any]) -> str:
    """One line: what, where and since when.

    >>> headline({"reason": "new", "topic": {"label": "battery · drain"}, "onset": "2026-09-17",
    ...           "severity": 12.5, "facets": {"volume": {}}, "kind": "volume_spike"})
    'voxlens: new issue: battery · drain (volume) since 2026-09-17, severity 12.5'
    """
    facets = ", ".join(issue.get("facets") or {}) or issue["kind"]
    return (f"voxlens: {issue['reason']} issue: {issue['topic']['label']} ({facets}) since {issue['onset']}, "
            f"severity {issue['severity']:.1f}")


def slack_payload(issue: dict[str, Any], quotes: int = 3) -> dict[str, Any]:
    """A Slack-compatible message (``text`` and one mrkdwn section), user text escaped as Slack asks."""
    lines = [f"*{_slack(headline(issue))}*", _slack(issue.get("summary") or "")]
    lines += [f"> {_slack(q['text'][:300])}" for q in issue.get("evidence", [])[:quotes]]
    lines.append(f"id `{issue['issue_id']}` · `voxlens issues --all` lists the log")
    return {"text": headline(issue), "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]}


def _slack(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _send_email(settings: AlertSettings, issue: dict[str, Any], smtp: Callable[..., Any]) -> None:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = headline(issue), settings.email_from, ", ".join(settings.email_to)
    body = [headline(issue), "", issue.get("summary") or "", ""]
    body += [f"“{q['text'][:300]}”" for q in issue.get("evidence", [])[:3]]
    body += ["", f"issue id {issue['issue_id']}; voxlens issues --all lists the log"]
    message.set_content("\n".join(body))
    with smtp(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as client:
        if settings.starttls:
            client.starttls()
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password or "")
        client.send_message(message)
