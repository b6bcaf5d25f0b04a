"""The issue log: one row per theme episode, updated by each detection run (DataFrames in and out).

A detection run (:class:`voxlens.metrics.emerging.IssueDetector`) returns findings: a topic's volume or
negativity up, a new topic, a group or similar-items rise, a survey-metric drop. :class:`IssueLog` merges
them into the log:

- findings of one theme become one issue: findings that share a topic or an evidence item are one theme
  (so a new topic and the NPS, CSAT and CES drops it explains are one issue with four facets);
- a theme that matches an open issue (a shared topic; for a metric drop no topic explains, the same metric)
  updates it: ``last_seen``, the latest and peak ``severity``, its facets and evidence; a theme matching an
  issue resolved less than ``reopen_days`` ago reopens it; any other theme is a new issue whose ``onset``
  is estimated by the ``onset`` function given (see :mod:`voxlens.metrics.onset`);
- an open issue not seen for ``resolve_after`` days is resolved, unless the ``elevated`` function says its
  theme's rate is still above its level before the onset (a lasting shift the detector's baseline has
  absorbed is still going: it stays open and counts as seen); ``ended`` is the ``end`` function's
  estimate, else its last day seen.

A theme becomes an issue once flagged on ``confirm`` days within ``confirm_days`` of its first flag (a
one-day blip of a daily run's false-alarm budget never enters the log; a real change keeps being flagged, its
windows being up to 7 days long); until then it is a ``candidate``, dropped when not confirmed in time.
``status`` is ``new`` in the run that confirms an issue, then ``ongoing``; ``resolved``; ``reopened`` from the
run that sees a resolved issue again until it resolves anew. No issue is deleted.

Example:
    >>> import pandas as pd
    >>> finding = pd.DataFrame([{"issue_id": "x", "kind": "volume_spike", "topic_id": 3, "topic_ids": [3],
    ...     "window_start": pd.Timestamp("2026-05-08").date(), "window_end": pd.Timestamp("2026-05-10").date(),
    ...     "severity": 12.0, "statistic": 3.0, "p_value": 1e-6, "q_value": 1e-5, "summary": "volume up",
    ...     "evidence": ["a", "b"]}])
    >>> log = IssueLog(confirm=1).update(empty_log(), finding, pd.Timestamp("2026-05-10"))
    >>> log[["status", "onset", "last_seen"]].astype(str).values.tolist()
    [['new', '2026-05-08', '2026-05-10']]
    >>> IssueLog().update(log, finding.iloc[:0], pd.Timestamp("2026-05-20"))["status"].tolist()
    ['resolved']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

import numpy as np
import pandas as pd

from voxlens.core.ids import stable_hash

LOG_COLUMNS = [
    "issue_id", "kind", "topic_id", "topic_ids", "onset", "first_flagged", "last_seen", "ended", "status",
    "severity", "peak_severity", "facets", "evidence", "summary", "statistic", "p_value", "q_value",
    "window_start", "window_end", "reopened", "days_flagged",
]
OPEN = ("new", "ongoing", "reopened")
CANDIDATE = "candidate"      # flagged once, not yet an issue (see IssueLog.confirm)
KIND_ORDER = {"new_topic": 0, "volume_spike": 1, "negativity_spike": 2, "metric_drop": 3}
FACET_NAMES = {"new_topic": "new_topic", "volume_spike": "volume", "negativity_spike": "negativity"}

OnsetFunction = Callable[[list[int], set[str], pd.Timestamp, list[dict]], "pd.Timestamp | None"]
EndFunction = Callable[[dict], "pd.Timestamp | None"]
ElevatedFunction = Callable[[dict], bool]


def empty_log() -> pd.DataFrame:
    """A log with no issue, with the log's columns."""
    return pd.DataFrame(columns=LOG_COLUMNS)


def facet_name(finding: dict) -> str:
    """The facet a finding adds to its theme: ``volume``, ``negativity``, ``new_topic`` or ``metric_drop:nps``...

    >>> facet_name({"kind": "metric_drop", "detail": {"metric": "csat"}})
    'metric_drop:csat'
    """
    if finding["kind"] == "metric_drop":
        detail = finding.get("detail") if isinstance(finding.get("detail"), dict) else {}
        return f"metric_drop:{detail.get('metric', 'metric')}"
    return FACET_NAMES.get(finding["kind"], str(finding["kind"]))


def themes(findings: pd.DataFrame) -> list[list[int]]:
    """Positions of ``findings`` grouped by theme: findings sharing a topic or an evidence item are one.

    >>> frame = pd.DataFrame({"topic_ids": [[1], [2], [1, 5], []], "evidence": [["a"], ["b"], [], ["b"]]})
    >>> themes(frame)
    [[0, 2], [1, 3]]
    """
    parent = list(range(len(findings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owners: dict[Any, int] = {}
    for position, row in enumerate(findings.itertuples(index=False)):
        keys = [("topic", int(t)) for t in _ids(row.topic_ids)] + [("item", e) for e in _ids(row.evidence)]
        for key in keys:
            if key in owners:
                parent[root(position)] = root(owners[key])
            else:
                owners[key] = position
    groups: dict[int, list[int]] = {}
    for position in range(len(findings)):
        groups.setdefault(root(position), []).append(position)
    return sorted(groups.values())


@dataclass
class IssueLog:
    """Merge detection runs into the issue log.

    Args:
        resolve_after: an open issue not seen for this many days is resolved (the detector's 7-day window
            keeps flagging a theme for some days after it calms down).
        reopen_days: a theme seen again within this many days of its issue's end reopens it; later it is a
            new issue.
        evidence: most evidence item ids an issue keeps over its episode (the first half from its first
            days, the rest the latest).
        confirm: days a theme must be flagged on (within ``confirm_days`` of its first flag) to become an issue.
        confirm_days: days a candidate has to be confirmed; then it is dropped.
    """

    resolve_after: int = 7
    reopen_days: int = 28
    evidence: int = 10
    confirm: int = 2
    confirm_days: int = 3

    def update(self, log: pd.DataFrame, findings: pd.DataFrame, as_of: pd.Timestamp | date,
               onset: OnsetFunction | None = None, end: EndFunction | None = None,
               elevated: ElevatedFunction | None = None) -> pd.DataFrame:
        """The log after a detection run on ``as_of`` that returned ``findings`` (the detector's frame).

        ``onset(topic_ids, facets, as_of, findings)`` dates a new issue (default: its findings' earliest window
        start); ``end(issue)`` dates a resolved one (default: its last day seen); ``elevated(issue)`` keeps
        an issue about to resolve open (default: none is).
        """
        day = pd.Timestamp(as_of).normalize().date()
        rows = [_as_row(r) for r in log.to_dict("records")] if len(log) else []
        findings = findings.reset_index(drop=True) if findings is not None else pd.DataFrame()
        touched: set[int] = set()
        for positions in themes(findings) if len(findings) else []:
            theme = findings.iloc[positions].to_dict("records")
            index = self._match(rows, theme, day)
            if index is None:
                rows.append(self._new(theme, day, onset))
                touched.add(len(rows) - 1)
            else:
                self._extend(rows[index], theme, day)
                touched.add(index)
        expired = {i for i, row in enumerate(rows) if i not in touched and row["status"] == CANDIDATE
                   and (day - row["first_flagged"]).days >= self.confirm_days}
        rows = [row for i, row in enumerate(rows) if i not in expired]
        touched = {i - sum(e < i for e in expired) for i in touched}
        for index, row in enumerate(rows):
            if index in touched or row["status"] not in OPEN:
                continue
            if row["first_flagged"] < day and row["status"] == "new":
                row["status"] = "ongoing"
            if (day - row["last_seen"]).days >= self.resolve_after:
                if elevated is not None and elevated(row):
                    row["last_seen"] = day
                    continue
                row["status"] = "resolved"
                estimate = end(row) if end is not None else None
                ended = pd.Timestamp(estimate).date() if estimate is not None else row["last_seen"]
                row["ended"] = min(max(ended, row["onset"]), row["last_seen"])
        return pd.DataFrame(rows, columns=LOG_COLUMNS)

    def _match(self, rows: list[dict], theme: list[dict], day: date) -> int | None:
        """The open issue (else the recently resolved one) this theme continues."""
        topics = {t for f in theme for t in _ids(f["topic_ids"])}
        facets = {facet_name(f) for f in theme}
        best, best_key = None, None
        for index, row in enumerate(rows):
            if row["first_flagged"] > day:
                continue
            shared = topics & set(_ids(row["topic_ids"])) if topics else (
                not _ids(row["topic_ids"]) and facets & set(row["facets"]))
            if not shared:
                continue
            if row["status"] in OPEN or row["status"] == CANDIDATE:
                key = (0, row["first_flagged"])
            elif row["ended"] is not None and (day - row["ended"]).days <= self.reopen_days:
                key = (1, -row["ended"].toordinal())
            else:
                continue
            if best_key is None or key < best_key:
                best, best_key = index, key
        return best

    def _new(self, theme: list[dict], day: date, onset: OnsetFunction | None) -> dict:
        topics = sorted({t for f in theme for t in _ids(f["topic_ids"])})
        starts = [pd.Timestamp(f["window_start"]).date() for f in theme]
        facets = {facet_name(f) for f in theme}
        estimate = onset(topics, facets, pd.Timestamp(day), theme) if onset is not None else None
        first = pd.Timestamp(estimate).date() if estimate is not None else min(starts)
        first = min(first, day)
        row = {"issue_id": stable_hash("issue", *topics, *(sorted(facets) if not topics else []), first),
               "topic_ids": topics, "onset": first, "first_flagged": day, "last_seen": day, "ended": None,
               "status": CANDIDATE, "reopened": None, "days_flagged": 0, "peak_severity": 0.0, "facets": {}, "evidence": [], "window_start": min(starts)}
        self._extend(row, theme, day)
        return row

    def _extend(self, row: dict, theme: list[dict], day: date) -> None:
        """Add one run's findings of the row's theme."""
        if row["status"] == "resolved":
            row["status"], row["ended"], row["reopened"] = "reopened", None, day
        elif row["status"] == "new" and day > row["first_flagged"]:
            row["status"] = "ongoing"
        if row["days_flagged"] == 0 or day > row["last_seen"]:
            row["days_flagged"] += 1
        if row["status"] == CANDIDATE and row["days_flagged"] >= self.confirm:
            row["status"] = "new"
        row["last_seen"] = max(row["last_seen"], day)
        theme = sorted(theme, key=lambda f: (KIND_ORDER.get(f["kind"], 9), -float(f["severity"])))
        lead = max(theme, key=lambda f: float(f["severity"]))
        row["topic_ids"] = sorted(set(_ids(row["topic_ids"])) | {t for f in theme for t in _ids(f["topic_ids"])})
        facets = dict(row["facets"])
        for finding in theme:
            name = facet_name(finding)
            before = facets.get(name, {})
            facets[name] = {
                "kind": finding["kind"], "first_seen": before.get("first_seen", day.isoformat()),
                "last_seen": day.isoformat(), "statistic": _float(finding.get("statistic")),
                "p_value": _float(finding.get("p_value")), "q_value": _float(finding.get("q_value")),
                "window_start": pd.Timestamp(finding["window_start"]).date().isoformat(),
                "summary": finding.get("summary"),
                **{k: v for k, v in (finding["detail"] if isinstance(finding.get("detail"), dict) else {}).items()
                   if k not in ("series", "negative_series")},
            }
        row["facets"] = facets
        kinds = sorted((f["kind"] for f in facets.values()), key=lambda k: KIND_ORDER.get(k, 9))
        row["kind"] = kinds[0]
        row["topic_id"] = _lead_topic(lead, row)
        severity = float(sum(float(f["severity"]) for f in theme if f["kind"] != "metric_drop")
                         or max(float(f["severity"]) for f in theme))
        row["severity"] = round(severity, 3)
        row["peak_severity"] = max(float(row["peak_severity"] or 0.0), row["severity"])
        for key in ("summary", "statistic", "p_value", "q_value"):
            row[key] = lead.get(key)
        row["window_end"] = day
        row["evidence"] = _merge_evidence(_ids(row["evidence"]), [e for f in theme for e in _ids(f["evidence"])],
                                          self.evidence)


def _lead_topic(lead: dict, row: dict) -> int | None:
    if lead.get("topic_id") is not None and not pd.isna(lead.get("topic_id")):
        return int(lead["topic_id"])
    return row["topic_ids"][0] if row["topic_ids"] else row.get("topic_id")


def _merge_evidence(old: list, new: list, cap: int) -> list:
    """Evidence of a whole episode: the first ids kept, then the latest run's."""
    merged = list(dict.fromkeys([*old, *new]))
    if len(merged) <= cap:
        return merged
    head = merged[: cap // 2]
    tail = [e for e in dict.fromkeys(new) if e not in head][: cap - len(head)]
    rest = [e for e in merged if e not in head and e not in tail]
    return head + tail + rest[: cap - len(head) - len(tail)]


def _as_row(record: dict) -> dict:
    """A stored log row with dates as dates, lists as lists and facets as a dict."""
    import json

    row = {k: record.get(k) for k in LOG_COLUMNS}
    for key in ("onset", "first_flagged", "last_seen", "ended", "window_start", "window_end", "reopened"):
        value = row[key]
        row[key] = None if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)) \
            else pd.Timestamp(value).date()
    row["topic_ids"] = [int(t) for t in _ids(row["topic_ids"])]
    row["evidence"] = list(_ids(row["evidence"]))
    facets = row["facets"]
    row["facets"] = json.loads(facets) if isinstance(facets, str) else dict(facets or {})
    row["peak_severity"] = float(row["peak_severity"] or 0.0)
    flagged = row.get("days_flagged")
    row["days_flagged"] = 1 if flagged is None or pd.isna(flagged) else int(flagged)
    return row


def _ids(value: Any) -> list:
    if value is None or isinstance(value, float) and np.isnan(value):
        return []
    return list(value)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
