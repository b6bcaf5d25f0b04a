"""Emerging-issue detection: topics whose volume or negativity rises above their own baseline.

For each topic, the last ``recent_days`` are compared with the ``baseline_days`` before them:

- volume: the topic's share of all items, one-sided binomial test against its (smoothed) baseline share;
- negativity: the topic's negative share, one-sided binomial test against its baseline negative share
  (shrunk toward the overall negative share so sparse topics are not noisy);
- a topic first seen (2nd percentile of its dates) within the last ``new_topic_days`` is a ``new_topic``,
  and its window starts on that day.

p-values across all topics and both tests are corrected with Benjamini–Hochberg (false discovery rate
``alpha``), and an issue also needs ``min_count`` items and a rate ratio of at least ``min_ratio``.
``severity`` is the number of excess items in the window, weighted toward negative ones: higher is worse.

Example:
    >>> import pandas as pd
    >>> days = pd.date_range("2026-01-01", periods=40, freq="D")
    >>> rows = [(d, 0, False) for d in days for _ in range(20)]
    >>> rows += [(d, 1, True) for d in days[-5:] for _ in range(6)]
    >>> items = pd.DataFrame(rows, columns=["created_at", "topic_id", "negative"])
    >>> IssueDetector().detect(items)[["kind", "topic_id"]].values.tolist()
    [['new_topic', 1]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from voxlens.ids import stable_hash

ISSUE_COLUMNS = [
    "issue_id", "kind", "topic_id", "window_start", "window_end", "severity", "statistic", "p_value",
    "q_value", "summary", "evidence",
]


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values)."""
    p_values = np.asarray(p_values, dtype=float)
    if len(p_values) == 0:
        return p_values
    return stats.false_discovery_control(p_values, method="bh")


@dataclass
class IssueDetector:
    """Flag topics whose volume or negativity jumps in the recent window.

    Args:
        recent_days: the window under test, ending at ``as_of``.
        baseline_days: the window before it that sets each topic's normal level.
        alpha: false discovery rate across all topics and tests.
        min_count: fewest topic items in the recent window for an issue.
        min_ratio: smallest recent/baseline rate ratio worth reporting.
        new_topic_days: a topic first seen this recently counts as new.
        evidence: how many quotes each issue carries.
    """

    recent_days: int = 7
    baseline_days: int = 28
    alpha: float = 0.01
    min_count: int = 8
    min_ratio: float = 1.5
    new_topic_days: int = 21
    evidence: int = 5

    def detect(self, items: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
        """Issues found in ``items``, most severe first.

        ``items`` needs ``created_at``, ``topic_id`` and ``negative`` (bool); optional ``item_id`` and
        ``probability`` (topic fit) choose the evidence.
        """
        frame = items.dropna(subset=["created_at"]).copy()
        frame = frame[frame["topic_id"] >= 0]
        if frame.empty:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        frame["day"] = pd.to_datetime(frame["created_at"]).dt.normalize()
        end = pd.Timestamp(as_of).normalize() if as_of is not None else frame["day"].max()
        recent_start = end - pd.Timedelta(days=self.recent_days - 1)
        baseline_start = recent_start - pd.Timedelta(days=self.baseline_days)
        recent = frame[(frame["day"] >= recent_start) & (frame["day"] <= end)]
        baseline = frame[(frame["day"] >= baseline_start) & (frame["day"] < recent_start)]
        if recent.empty:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        overall_negative = float(baseline["negative"].mean()) if len(baseline) else float(frame["negative"].mean())

        first_days = frame.groupby("topic_id")["day"].quantile(0.02)
        self.first_days_ = first_days
        new_since = end - pd.Timedelta(days=self.new_topic_days - 1)
        tests = []
        for topic, in_recent in recent.groupby("topic_id"):
            in_baseline = baseline[baseline["topic_id"] == topic]
            count, total = len(in_recent), len(recent)
            base_share = (len(in_baseline) + 0.5) / (len(baseline) + 1)
            expected = total * base_share
            new = first_days[topic] >= new_since or len(in_baseline) < self.min_count / 2
            tests.append(self._test(topic, "new_topic" if new else "volume_spike", count,
                                    stats.binom.sf(count - 1, total, base_share), count / max(expected, 1e-9),
                                    count - expected, in_recent))
            negatives = int(in_recent["negative"].sum())
            prior = 5.0
            base_negative = (in_baseline["negative"].sum() + prior * overall_negative) / (len(in_baseline) + prior)
            expected_negative = count * base_negative
            tests.append(self._test(topic, "negativity_spike", negatives,
                                    stats.binom.sf(negatives - 1, count, base_negative),
                                    (negatives / count) / max(base_negative, 1e-9),
                                    negatives - expected_negative, in_recent))
        table = pd.DataFrame(tests)
        table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy())
        flagged = table[(table["q_value"] < self.alpha) & (table["count"] >= self.min_count)
                        & (table["statistic"] >= self.min_ratio)]
        issues = [self._issue(group, recent, baseline_start, recent_start, end)
                  for _, group in flagged.groupby("topic_id")]
        if not issues:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        return pd.DataFrame(issues, columns=ISSUE_COLUMNS).sort_values(
            "severity", ascending=False, ignore_index=True)

    @staticmethod
    def _test(topic: int, kind: str, count: int, p_value: float, ratio: float, excess: float,
              in_recent: pd.DataFrame) -> dict:
        return {"topic_id": int(topic), "kind": kind, "count": count, "p_value": float(p_value),
                "statistic": float(ratio), "excess": float(excess),
                "negative_share": float(in_recent["negative"].mean())}

    def _issue(self, tests: pd.DataFrame, recent: pd.DataFrame, baseline_start: pd.Timestamp,
               recent_start: pd.Timestamp, end: pd.Timestamp) -> dict:
        priority = {"new_topic": 0, "volume_spike": 1, "negativity_spike": 2}
        tests = tests.assign(order=tests["kind"].map(priority)).sort_values("order")
        lead = tests.iloc[0]
        topic = int(lead["topic_id"])
        in_topic = recent[recent["topic_id"] == topic]
        volume = tests[tests["kind"] != "negativity_spike"]
        negativity = tests[tests["kind"] == "negativity_spike"]
        volume_excess = float(volume["excess"].clip(lower=0).sum())
        negative_excess = float(negativity["excess"].clip(lower=0).sum())
        severity = volume_excess * (0.5 + float(lead["negative_share"])) + negative_excess
        start = (self.first_days_[topic].normalize() if lead["kind"] == "new_topic"
                 else self._window_start(in_topic, recent, recent_start, end))
        what = {"new_topic": "new topic", "volume_spike": "volume up", "negativity_spike": "negativity up"}
        summary = (f"{what[lead['kind']]}: {len(in_topic)} items in the last {self.recent_days} days, "
                   f"{lead['statistic']:.1f}× the baseline rate; {100 * lead['negative_share']:.0f}% negative")
        return {
            "issue_id": stable_hash(lead["kind"], topic, start.date()),
            "kind": lead["kind"], "topic_id": topic, "window_start": start.date(), "window_end": end.date(),
            "severity": round(severity, 3), "statistic": float(lead["statistic"]),
            "p_value": float(lead["p_value"]), "q_value": float(lead["q_value"]),
            "summary": summary, "evidence": self._evidence(in_topic),
        }

    @staticmethod
    def _window_start(in_topic: pd.DataFrame, recent: pd.DataFrame, recent_start: pd.Timestamp,
                      end: pd.Timestamp) -> pd.Timestamp:
        """The start day that maximises the topic's cumulative excess over its recent average share."""
        days = pd.date_range(recent_start, end, freq="D")
        counts = in_topic.groupby("day").size().reindex(days, fill_value=0)
        totals = recent.groupby("day").size().reindex(days, fill_value=0)
        share = counts.sum() / max(totals.sum(), 1)
        excess = (counts - 0.5 * share * totals).to_numpy()[::-1].cumsum()[::-1]
        return days[int(np.argmax(excess))]

    def _evidence(self, in_topic: pd.DataFrame) -> list[str]:
        if "item_id" not in in_topic:
            return []
        ranked = in_topic.assign(
            fit=in_topic["probability"] if "probability" in in_topic else 0.0
        ).sort_values(["negative", "fit"], ascending=[False, False])
        return ranked["item_id"].head(self.evidence).tolist()
