"""Emerging-issue detection: topics whose volume or negativity rises above their own baseline.

For each topic, windows ending at ``as_of`` (the last 1, 2, 3 and ``recent_days`` days) are compared with
the ``baseline_days`` before them:

- volume: the topic's count against the count expected from its baseline share of all items, where the
  share is estimated per weekday (shrunk toward the topic's overall share), so a topic that is always busier
  on Mondays is not flagged every Monday and a quiet weekend does not hide a burst. Day-to-day variation
  beyond binomial noise (overdispersion, estimated on the baseline days) widens the test; one-sided test;
- negativity: the topic's negative share against its baseline negative share (shrunk toward the overall
  negative share so sparse topics are not noisy); one-sided binomial test;
- each test takes its best window, Bonferroni-corrected for the windows scanned;
- a topic first seen within the last ``new_topic_days`` (or nearly absent from the baseline) is a
  ``new_topic``;
- with survey ``responses``, a significant drop in NPS (recent window against baseline, two-sample test)
  is a ``metric_drop``, and the topic whose responses explain most of the drop is named.

p-values across all topics and tests are corrected with Benjamini–Hochberg (false discovery rate
``alpha``), and an issue also needs ``min_count`` topic items and a rate ratio of at least ``min_ratio``.
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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from voxlens.ids import stable_hash

ISSUE_COLUMNS = [
    "issue_id", "kind", "topic_id", "window_start", "window_end", "severity", "statistic", "p_value",
    "q_value", "summary", "evidence",
]
WEEKDAY_PRIOR = 300.0   # items of pseudo-evidence pulling a weekday's share toward the topic's overall share
NEGATIVE_PRIOR = 20.0   # items of pseudo-evidence pulling a topic's negative share toward the overall one


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values)."""
    p_values = np.asarray(p_values, dtype=float)
    if len(p_values) == 0:
        return p_values
    return stats.false_discovery_control(p_values, method="bh")


def overdispersed_binomial_sf(observed: float, trials: float, share: float, dispersion: float) -> float:
    """P(X ≥ observed) for a binomial whose variance is ``dispersion`` times the nominal one.

    Quasi-binomial via effective sample size: counts and trials are divided by the dispersion.
    """
    dispersion = max(1.0, dispersion)
    share = min(max(share, 1e-9), 1 - 1e-9)
    effective_trials = max(1, int(round(trials / dispersion)))
    effective_observed = math.ceil(observed / dispersion - 1e-9)
    return float(stats.binom.sf(effective_observed - 1, effective_trials, share))


@dataclass
class IssueDetector:
    """Flag topics whose volume or negativity jumps in the recent window, and survey-metric drops.

    Args:
        recent_days: the longest window under test, ending at ``as_of``.
        baseline_days: the days before the window that set each topic's normal level.
        short_windows: shorter windows also scanned, so a burst is caught within a day or two.
        alpha: false discovery rate across all topics and tests.
        min_count: fewest topic items in the window for an issue.
        min_ratio: smallest window/baseline rate ratio worth reporting.
        new_topic_days: a topic first seen this recently counts as new.
        evidence: how many quotes each issue carries.
        metric_drop_points: smallest NPS drop (points) worth reporting.
    """

    recent_days: int = 7
    baseline_days: int = 28
    short_windows: tuple[int, ...] = (1, 2, 3)
    alpha: float = 0.01
    min_count: int = 8
    min_ratio: float = 1.5
    new_topic_days: int = 21
    evidence: int = 5
    metric_drop_points: float = 5.0

    def detect(self, items: pd.DataFrame, as_of: pd.Timestamp | None = None,
               responses: pd.DataFrame | None = None) -> pd.DataFrame:
        """Issues found in ``items``, most severe first.

        ``items`` needs ``created_at``, ``topic_id`` and ``negative`` (bool); optional ``item_id``,
        ``probability`` (topic fit) and ``response_id`` choose the evidence and link survey answers.
        ``responses`` (optional) needs ``response_id``, ``submitted_at`` and ``nps``.
        """
        frame = items.dropna(subset=["created_at"]).copy()
        if frame.empty:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        frame["day"] = _days(frame["created_at"])
        end = pd.Timestamp(as_of).normalize() if as_of is not None else frame["day"].max()
        frame = frame[frame["day"] <= end]
        self.first_days_ = frame[frame["topic_id"] >= 0].groupby("topic_id")["day"].quantile(0.02)
        windows = sorted({w for w in (*self.short_windows, self.recent_days) if 0 < w <= self.recent_days})
        recent_start = end - pd.Timedelta(days=self.recent_days - 1)
        baseline_start = recent_start - pd.Timedelta(days=self.baseline_days)
        days = pd.date_range(baseline_start, end, freq="D")
        frame = frame[frame["day"] >= baseline_start]
        topical = frame[frame["topic_id"] >= 0]
        if topical.empty or (topical["day"] >= recent_start).sum() == 0:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        totals = frame.groupby("day").size().reindex(days, fill_value=0).to_numpy(dtype=float)
        counts = topical.pivot_table(index="topic_id", columns="day", values="negative", aggfunc="size",
                                     fill_value=0).reindex(columns=days, fill_value=0)
        negatives = topical.pivot_table(index="topic_id", columns="day", values="negative", aggfunc="sum",
                                        fill_value=0).reindex(index=counts.index, columns=days, fill_value=0)
        in_baseline = days < recent_start
        weekday = days.day_of_week.to_numpy()
        overall_negative = float(frame.loc[frame["day"] < recent_start, "negative"].mean()) \
            if (frame["day"] < recent_start).any() else float(frame["negative"].mean())
        new_since = end - pd.Timedelta(days=self.new_topic_days - 1)
        tests = []
        for topic in counts.index:
            count_row = counts.loc[topic].to_numpy(dtype=float)
            if count_row[~in_baseline].sum() == 0:
                continue
            expected, dispersion = self._expected_counts(count_row, totals, in_baseline, weekday)
            new = self.first_days_[topic] >= new_since or count_row[in_baseline].sum() < self.min_count / 2
            tests.append(self._scan(topic, "new_topic" if new else "volume_spike", count_row, expected,
                                    totals, in_baseline, windows, dispersion))
            negative_row = negatives.loc[topic].to_numpy(dtype=float)
            base_negative = ((negative_row[in_baseline].sum() + NEGATIVE_PRIOR * overall_negative)
                             / (count_row[in_baseline].sum() + NEGATIVE_PRIOR))
            tests.append(self._scan(topic, "negativity_spike", negative_row, base_negative * count_row,
                                    count_row, in_baseline, windows, 1.0))
        issues = []
        if tests:
            table = pd.DataFrame(tests)
            table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy())
            flagged = table[(table["q_value"] < self.alpha) & (table["count"] >= self.min_count)
                            & (table["statistic"] >= self.min_ratio)]
            recent = frame[frame["day"] >= recent_start]
            issues = [self._issue(group, recent, end) for _, group in flagged.groupby("topic_id")]
        if responses is not None:
            drop = self._metric_drop(frame, responses, recent_start, baseline_start, end)
            if drop is not None:
                issues.append(drop)
        self.tests_ = pd.DataFrame(tests)
        if not issues:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        return pd.DataFrame(issues, columns=ISSUE_COLUMNS).sort_values(
            "severity", ascending=False, ignore_index=True)

    def _expected_counts(self, counts: np.ndarray, totals: np.ndarray, in_baseline: np.ndarray,
                         weekday: np.ndarray) -> tuple[np.ndarray, float]:
        """Expected daily counts from weekday-specific baseline shares, and the baseline overdispersion."""
        base_counts, base_totals = counts[in_baseline], totals[in_baseline]
        share = (base_counts.sum() + 0.5) / (base_totals.sum() + 1)
        by_day = np.full(7, share)
        for day in range(7):
            mask = weekday[in_baseline] == day
            by_day[day] = (base_counts[mask].sum() + WEEKDAY_PRIOR * share) / (base_totals[mask].sum() + WEEKDAY_PRIOR)
        expected = totals * by_day[weekday]
        base_expected = expected[in_baseline]
        used = base_expected > 0
        if used.sum() > 2:
            pearson = ((base_counts[used] - base_expected[used]) ** 2
                       / (base_expected[used] * (1 - by_day[weekday][in_baseline][used]))).sum()
            dispersion = max(1.0, pearson / (used.sum() - 1))
        else:
            dispersion = 1.0
        return expected, dispersion

    @staticmethod
    def _scan(topic: int, kind: str, observed: np.ndarray, expected: np.ndarray, trials: np.ndarray,
              in_baseline: np.ndarray, windows: list[int], dispersion: float) -> dict:
        """The window (ending today) with the smallest p-value, Bonferroni-corrected for the windows scanned.

        The test conditions on the total count in baseline + window, so the baseline's own uncertainty is
        accounted for: under no change, the window's count is binomial with the window's share of the
        expected count.
        """
        base_observed, base_expected = observed[in_baseline].sum(), expected[in_baseline].sum()
        best = None
        for window in windows:
            count, mean = observed[-window:].sum(), expected[-window:].sum()
            if trials[-window:].sum() <= 0 or mean <= 0:
                continue
            share = mean / (mean + base_expected)
            p_value = (overdispersed_binomial_sf(count, count + base_observed, share, dispersion)
                       if count > 0 else 1.0)
            if best is None or p_value < best["p_value"]:
                best = {"topic_id": int(topic), "kind": kind, "window": window, "count": float(count),
                        "p_value": p_value, "statistic": count / max(mean, 1e-9), "excess": count - mean,
                        "excess_recent": float(observed[-windows[-1]:].sum() - expected[-windows[-1]:].sum())}
        if best is None:
            best = {"topic_id": int(topic), "kind": kind, "window": windows[-1], "count": 0.0, "p_value": 1.0,
                    "statistic": 0.0, "excess": 0.0, "excess_recent": 0.0}
        best["p_value"] = min(1.0, best["p_value"] * len(windows))
        if kind == "negativity_spike":
            best["count"] = float(trials[-best["window"]:].sum())  # topic items in the window
        return best

    def _issue(self, tests: pd.DataFrame, recent: pd.DataFrame, end: pd.Timestamp) -> dict:
        priority = {"new_topic": 0, "volume_spike": 1, "negativity_spike": 2}
        tests = tests.assign(order=tests["kind"].map(priority)).sort_values("order")
        lead = tests.iloc[0]
        topic = int(lead["topic_id"])
        in_topic = recent[recent["topic_id"] == topic]
        window_start = end - pd.Timedelta(days=int(lead["window"]) - 1)
        in_window = in_topic[in_topic["day"] >= window_start]
        negative_share = float(in_window["negative"].mean()) if len(in_window) else 0.0
        volume = tests[tests["kind"] != "negativity_spike"]
        negativity = tests[tests["kind"] == "negativity_spike"]
        volume_excess = float(volume[["excess", "excess_recent"]].max(axis=1).clip(lower=0).sum())
        negative_excess = float(negativity[["excess", "excess_recent"]].max(axis=1).clip(lower=0).sum())
        severity = volume_excess * (0.5 + negative_share) + negative_excess
        start = self.first_days_[topic].normalize() if lead["kind"] == "new_topic" else window_start
        what = {"new_topic": "new topic", "volume_spike": "volume up", "negativity_spike": "negativity up"}
        summary = (f"{what[lead['kind']]}: {len(in_window)} items in the last {int(lead['window'])} day(s), "
                   f"{lead['statistic']:.1f}× the baseline rate; {100 * negative_share:.0f}% negative")
        return {
            "issue_id": stable_hash(lead["kind"], topic, start.date()),
            "kind": lead["kind"], "topic_id": topic, "window_start": start.date(), "window_end": end.date(),
            "severity": round(severity, 3), "statistic": float(lead["statistic"]),
            "p_value": float(lead["p_value"]), "q_value": float(lead["q_value"]),
            "summary": summary, "evidence": self._evidence(in_window if len(in_window) else in_topic),
        }

    def _metric_drop(self, items: pd.DataFrame, responses: pd.DataFrame, recent_start: pd.Timestamp,
                     baseline_start: pd.Timestamp, end: pd.Timestamp) -> dict | None:
        """An NPS drop in the recent window, with the topic whose responses explain most of it."""
        from metrics.compare import compare
        from metrics.joins import topic_metrics

        answers = responses.dropna(subset=["submitted_at", "nps"]).copy()
        if answers.empty:
            return None
        day = _days(answers["submitted_at"])
        recent = answers[(day >= recent_start) & (day <= end)]
        baseline = answers[(day >= baseline_start) & (day < recent_start)]
        if len(recent) < self.min_count or len(baseline) < self.min_count:
            return None
        change = compare(baseline["nps"], recent["nps"], metric="nps")
        p_one_sided = change.p_value / 2 if change.difference < 0 else 1.0
        if p_one_sided >= self.alpha or -change.difference < self.metric_drop_points:
            return None
        linked = items[items["response_id"].isin(recent["response_id"])] if "response_id" in items else items.iloc[:0]
        topic, evidence_items = None, linked.iloc[:0]
        if not linked.empty:
            joined = topic_metrics(linked.assign(label=np.where(linked["negative"], "negative", "other"),
                                                 score=0.0), recent)
            joined = joined[joined["n_responses"] >= 3].sort_values("nps_impact")
            if len(joined) and joined.iloc[0]["nps_impact"] < 0:
                topic = int(joined.iloc[0]["topic_id"])
                evidence_items = linked[linked["topic_id"] == topic]
        explained = f"; most explained by topic {topic}" if topic is not None else ""
        summary = (f"NPS down {-change.difference:.1f} points ({change.before.value:.1f} → "
                   f"{change.after.value:.1f}, n={change.after.n}){explained}")
        return {
            "issue_id": stable_hash("metric_drop", topic, recent_start.date()),
            "kind": "metric_drop", "topic_id": topic, "window_start": recent_start.date(),
            "window_end": end.date(), "severity": round(-change.difference * change.after.n / 200, 3),
            "statistic": float(change.difference), "p_value": float(p_one_sided), "q_value": float(p_one_sided),
            "summary": summary, "evidence": self._evidence(evidence_items),
        }

    def _evidence(self, in_topic: pd.DataFrame) -> list[str]:
        """The most representative quotes: negative first, then closest to the topic centre.

        With a ``text`` column, quotes that repeat another's words (case and punctuation aside) are
        used only when there are not enough distinct ones.
        """
        if "item_id" not in in_topic or in_topic.empty:
            return []
        ranked = in_topic.assign(
            fit=in_topic["probability"] if "probability" in in_topic else 0.0
        ).sort_values(["negative", "fit"], ascending=[False, False])
        if "text" in ranked:
            words = ranked["text"].fillna("").str.lower().str.replace(r"[\W_]+", " ", regex=True).str.strip()
            ranked = pd.concat([ranked[~words.duplicated()], ranked[words.duplicated()]])
        return ranked["item_id"].head(self.evidence).tolist()


def _days(timestamps: pd.Series) -> pd.Series:
    """Calendar days (naive, UTC for aware timestamps)."""
    moments = pd.to_datetime(timestamps)
    if moments.dt.tz is not None:
        moments = moments.dt.tz_convert("UTC").dt.tz_localize(None)
    return moments.dt.normalize()
