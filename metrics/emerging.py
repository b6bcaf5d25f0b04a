"""Emerging-issue detection: topics whose volume or negativity rises above their own baseline.

For each topic, windows ending at ``as_of`` (the last 1, 2, 3 and ``recent_days`` days) are compared with
the ``baseline_days`` before them:

- volume: the topic's count against the count expected from its baseline share of each day's volume.
  The share is estimated per weekday and shrunk toward the topic's overall share by empirical Bayes, as
  far as the weekdays really differ: a topic that is always busier on Mondays is not flagged every Monday,
  and without such a pattern no noise is added. The test is the exact conditional test of two Poisson
  rates (the baseline's own uncertainty counts), widened by the day-to-day variation beyond binomial noise
  (overdispersion: each topic's Pearson chi-square on the baseline, shrunk toward the median topic's);
- negativity: the topic's negative share in the window against its baseline share, Fisher's exact test
  (widened the same way by the overdispersion of daily negative counts);
- both keep their best window; scanning several nested windows is corrected with the Hunter–Worsley
  bound, a little less strict than Bonferroni because the windows are correlated;
- given the topics' centroids, small groups of neighbouring topics (see :mod:`voxlens.metrics.emerging_groups`)
  are tested for volume like one more topic; a flagged group is one issue naming its topics;
- given the items' embeddings, a spatial scan looks for recent items more alike than their topics show (a
  theme scattered over topics that are not neighbours, see :mod:`voxlens.metrics.emerging_scan`); given their
  ``text`` and ``scan_word_share``, the items of each word are scanned with them (a theme told in one
  word, in any language); a significant neighbourhood or word is one issue naming the fewest topics
  (at most ``group_topics``) that hold half of its rise, quoting its own items;
- a topic first seen within the last ``new_topic_days`` (or nearly absent from the baseline) is a
  ``new_topic``;
- with survey ``responses``, a significant drop in NPS, CSAT or CES (recent window against baseline,
  two-sample test, see :mod:`voxlens.metrics.metric_drops`) is a ``metric_drop``, and the topic whose responses
  explain most of the drop is named.

p-values across all topics and tests are corrected with Benjamini–Hochberg (false discovery rate
``alpha``; the scan, already corrected for all it tries, has its own budget ``scan_alpha``), and an
issue also needs ``min_count`` topic items and an effect of at least ``min_ratio``: the rate ratio for
volume, the odds ratio for the negative share (a share of 60% cannot double, but its odds can).
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
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from voxlens.metrics.emerging_groups import topic_groups
from voxlens.metrics.emerging_scan import scan_similar, word_sets
from voxlens.metrics.emerging_stats import (benjamini_hochberg, calendar_days, count_excess_sf, pearson_dispersion,
                                    pooled_dispersion, scan_p_value, share_excess_sf, shrunk_dispersion,
                                    weekday_shares)
from voxlens.metrics.metric_drops import describe, metric_drops
from voxlens.core.errors import InputError
from voxlens.core.ids import stable_hash

SIMILAR_ITEMS = "similar items up"     # how a similar-items scan issue's summary begins

ISSUE_COLUMNS = [
    "issue_id", "kind", "topic_id", "window_start", "window_end", "severity", "statistic", "p_value",
    "q_value", "summary", "evidence", "topic_ids", "detail",
]


@dataclass
class IssueDetector:
    """Flag topics whose volume or negativity jumps in the recent window, and survey-metric drops.

    Args:
        recent_days: the longest window under test, ending at ``as_of``.
        baseline_days: the days before the window that set each topic's normal level.
        short_windows: shorter windows also scanned, so a burst is caught within a day or two.
        alpha: false discovery rate across the topic and group tests of one run (the survey-metric drops are
            a family of their own, at the same rate). With ``scan_alpha`` it is a budget per run, and run daily
            the budgets add up over a week: 7 × (0.005 + 0.002) ≤ 5%, so at least 95% of quiet weeks raise no
            issue from the items, at any volume.
        min_count: fewest topic items in the window for an issue.
        min_ratio: smallest window/baseline rate ratio (volume) or odds ratio (negative share) worth reporting.
        new_topic_days: a topic first seen this recently counts as new.
        evidence: how many quotes each issue carries.
        metric_drop_points: smallest survey-metric drop worth reporting: NPS points, CSAT percentage points,
            CES as a percentage of its scale's range.
        group_topics: with ``topics`` given to :meth:`detect`, groups of up to this many neighbouring topics
            are also tested for volume (0 or 1: no groups).
        group_distance: largest cosine distance (average linkage) at which topics form a group.
        scan_replicates: with ``embeddings`` (or words) given to :meth:`detect`, the Monte Carlo shuffles
            that calibrate the similar-items scan (see :mod:`voxlens.metrics.emerging_scan`); 0 turns it off.
        scan_centres: about how many items of the last ``max(short_windows)`` days the scan uses as centres.
        scan_mean_shift: the scan's neighbourhoods are centred on the mean of each centre and its nearest
            items, this share of all items (one mean-shift step; see :mod:`voxlens.metrics.emerging_scan`): on the
            planted-issue benchmark this finds 5% bursts sooner (see the README). 0 centres them on the item.
        scan_word_share: above 0 and with a ``text`` column in the items, the items of each word used by at
            least this share of them (and by ``min_count``; 0.005 is the size of the scan's smallest
            neighbourhood) and by at most a fifth, stop words of the items' languages aside, are scanned too,
            a word being its lemma in its item's language (see :mod:`voxlens.sentiment.lemmas`),
            with or without embeddings: on the planted-issue benchmark words find themes that embeddings
            scatter (see the README), for less than twice the scan's time. 0 scans neighbourhoods only.
        min_baseline_days: fewest days of history before the longest window that detection needs: with
            less (counted from the first item to ``as_of``), :meth:`detect` tests nothing and :attr:`note_`
            says why, as it does when no item falls in a topic.
        word_negativity: with ``scan_word_share`` above 0 and a ``text`` column, the items of each word are also
            tested for negativity like a topic (Fisher's test, widened by the topics' pooled overdispersion) in the
            topic tests' Benjamini–Hochberg family: a theme told in one word that turns negative inside a large
            topic. A flagged word is a ``negativity_spike`` naming the fewest topics that hold half of its
            negative items in the window.
        scan_alpha: the scan's own false-alarm budget per run: a neighbourhood or word is flagged when its
            p-value (already corrected for every centre, word, size and window the scan tried) is below it,
            and the topic and group tests keep the false discovery rate ``alpha`` among themselves. None
            puts the scan's p-values into that Benjamini–Hochberg family instead.
    """

    recent_days: int = 7
    baseline_days: int = 28
    short_windows: tuple[int, ...] = (1, 2, 3)
    alpha: float = 0.005
    min_count: int = 8
    min_ratio: float = 1.5
    new_topic_days: int = 21
    evidence: int = 5
    metric_drop_points: float = 5.0
    group_topics: int = 4
    group_distance: float = 0.5
    scan_replicates: int = 99
    scan_centres: int = 100
    scan_word_share: float = 0.005
    scan_alpha: float | None = 0.002
    scan_mean_shift: float = 0.02
    min_baseline_days: int = 7
    word_negativity: bool = True

    @property
    def history_needed(self) -> int:
        """Days of history (first item to ``as_of``, both counted) that detection needs.

        >>> IssueDetector().history_needed
        14
        """
        return self.recent_days + self.min_baseline_days

    def history_note(self, days: pd.Series, end: pd.Timestamp | None = None) -> str | None:
        """Why ``days`` (the items' calendar days) are too little history to test, or None when they suffice.

        >>> IssueDetector().history_note(pd.Series(pd.to_datetime(["2026-05-04"] * 24)))
        'emerging issues: not enough history to test (1 day; at least 14 needed)'
        """
        days = pd.to_datetime(pd.Series(days)).dropna()
        if days.empty:
            return "emerging issues: no dated items to test"
        end = days.max() if end is None else pd.Timestamp(end)
        span = (end.normalize() - days.min().normalize()).days + 1
        if span >= self.history_needed:
            return None
        return (f"emerging issues: not enough history to test ({span} day{'' if span == 1 else 's'}; "
                f"at least {self.history_needed} needed)")

    def detect(self, items: pd.DataFrame, as_of: pd.Timestamp | None = None,
               responses: pd.DataFrame | None = None, topics: pd.DataFrame | None = None,
               embeddings: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
        """Issues found in ``items``, most severe first.

        ``items`` needs ``created_at``, ``topic_id`` and ``negative`` (bool); optional ``item_id``,
        ``probability`` (topic fit) and ``response_id`` choose the evidence and link survey answers.
        ``responses`` (optional) needs ``response_id``, ``submitted_at`` and any of ``nps``, ``csat``, ``ces``
        (with optional ``csat_scale``/``ces_scale``). ``topics`` (optional, as ``TopicModel.info()``) needs
        ``topic_id`` and ``centroid`` (``label`` names groups): small groups of neighbouring topics are then
        tested as well (see :mod:`voxlens.metrics.emerging_groups`). ``embeddings`` (optional: a 2-D array with one
        row per item of ``items``, or a sequence of per-item vectors, None or NaN where an item has none) adds
        a scan for recent items more alike than their topics show (see :mod:`voxlens.metrics.emerging_scan`); items
        without a vector are left out of it. With ``scan_word_share`` set, a ``text`` column adds the items
        of each word to that scan (optional ``lang`` chooses the stop words and the lemmas). ``topic_ids``
        lists the topics an issue covers.
        """
        if embeddings is not None and len(embeddings) != len(items):
            raise InputError(f"embeddings have {len(embeddings)} rows for {len(items)} items: pass one per item")
        self.tests_ = pd.DataFrame()
        frame = items.assign(_row=np.arange(len(items))).dropna(subset=["created_at"])
        frame["day"] = calendar_days(frame["created_at"])
        end = pd.Timestamp(as_of).normalize() if as_of is not None else frame["day"].max()
        frame = frame[frame["day"] <= end]
        self.note_ = self.history_note(frame["day"], end)
        if self.note_ is not None:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        self.first_days_ = frame[frame["topic_id"] >= 0].groupby("topic_id")["day"].quantile(0.02)
        windows = sorted({w for w in (*self.short_windows, self.recent_days) if 0 < w <= self.recent_days})
        recent_start = end - pd.Timedelta(days=self.recent_days - 1)
        baseline_start = recent_start - pd.Timedelta(days=self.baseline_days)
        days = pd.date_range(baseline_start, end, freq="D")
        frame = frame[frame["day"] >= baseline_start]
        topical = frame[frame["topic_id"] >= 0]
        if topical.empty or (topical["day"] >= recent_start).sum() == 0:
            self.note_ = (f"emerging issues: nothing to test (no item of the last {self.recent_days} days "
                          "belongs to a topic)")
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        totals = frame.groupby("day").size().reindex(days, fill_value=0).to_numpy(dtype=float)
        counts = topical.pivot_table(index="topic_id", columns="day", values="negative", aggfunc="size",
                                     fill_value=0).reindex(columns=days, fill_value=0)
        negatives = topical.pivot_table(index="topic_id", columns="day", values="negative", aggfunc="sum",
                                        fill_value=0).reindex(index=counts.index, columns=days, fill_value=0)
        in_baseline = days < recent_start
        weekday = days.day_of_week.to_numpy()
        new_since = end - pd.Timedelta(days=self.new_topic_days - 1)
        fits, volume_chi, negative_chi, shares = [], [], [], {}
        for topic in counts.index:
            count_row = counts.loc[topic].to_numpy(dtype=float)
            share = weekday_shares(count_row[in_baseline], totals[in_baseline], weekday[in_baseline])[weekday]
            shares[topic] = share
            if count_row[~in_baseline].sum() == 0:
                continue
            negative_row = negatives.loc[topic].to_numpy(dtype=float)
            volume_chi.append(pearson_dispersion(count_row[in_baseline], totals[in_baseline], share[in_baseline]))
            base_negative = (negative_row[in_baseline].sum() + 0.5) / (count_row[in_baseline].sum() + 1)
            negative_chi.append(pearson_dispersion(negative_row[in_baseline], count_row[in_baseline],
                                                   np.full(int(in_baseline.sum()), base_negative)))
            fits.append((topic, count_row, negative_row, totals * share))
        pooled_volume, pooled_negative = pooled_dispersion(volume_chi), pooled_dispersion(negative_chi)
        self.dispersion_ = {"volume": pooled_volume, "negativity": pooled_negative}
        tests = []
        for (topic, count_row, negative_row, expected), own_volume, own_negative in zip(fits, volume_chi, negative_chi):
            new = self.first_days_[topic] >= new_since or count_row[in_baseline].sum() < self.min_count / 2
            tests.append(self._scan_volume(topic, "new_topic" if new else "volume_spike", count_row, expected,
                                           in_baseline, windows, shrunk_dispersion(*own_volume, pooled_volume)))
            tests.append(self._scan_negativity(topic, negative_row, count_row, in_baseline, windows,
                                               shrunk_dispersion(*own_negative, pooled_negative)))
        new_topics = {t for t in counts.index if self.first_days_[t] >= new_since}
        tests += self._scan_groups(topics, counts, shares, totals, in_baseline, windows, pooled_volume, new_topics)
        if self.word_negativity and self._scans_words(frame):
            tests += self._scan_word_negativity(frame, days, in_baseline, windows, pooled_negative)
        if self.scan_replicates > 0 and (embeddings is not None or self._scans_words(frame)):
            tests += self._scan_similar(frame, embeddings, windows, pooled_volume)
        issues = []
        if tests:
            table = pd.DataFrame(tests)
            scanned = table["rows"].notna() if "rows" in table else pd.Series(False, index=table.index)
            alpha = pd.Series(self.alpha, index=table.index)
            if self.scan_alpha is None:
                table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy())
            else:   # the scan as its own family: its p-values are already corrected for every centre it tried
                table.loc[~scanned, "q_value"] = benjamini_hochberg(table.loc[~scanned, "p_value"].to_numpy())
                table.loc[scanned, "q_value"] = table.loc[scanned, "p_value"]
                alpha[scanned] = self.scan_alpha
            flagged = table[(table["q_value"] < alpha) & (table["count"] >= self.min_count)
                            & (table["effect"] >= self.min_ratio)]
            recent = frame[frame["day"] >= recent_start]
            single = flagged[flagged["members"].isna()] if "members" in flagged else flagged
            issues = [self._issue(group, recent, end) for _, group in single.groupby("topic_id")]
            if "members" in flagged:
                labels = (dict(zip(topics["topic_id"], topics["label"]))
                          if topics is not None and "label" in topics else {})
                covered = set(single["topic_id"].astype(int))
                for _, test in flagged[flagged["members"].notna()].sort_values("p_value").iterrows():
                    if covered.isdisjoint(test["members"]):   # one issue per theme: members and nested groups
                        covered.update(test["members"])
                        issues.append(self._group_issue(test, recent, end, labels))
        if responses is not None:
            issues += self._metric_drops(frame, responses, recent_start, baseline_start, end)
        self.tests_ = pd.DataFrame(tests)
        if not issues:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        return pd.DataFrame(issues, columns=ISSUE_COLUMNS).sort_values(
            "severity", ascending=False, ignore_index=True)

    def _scan_similar(self, frame: pd.DataFrame, embeddings: Any, windows: list[int],
                      dispersion: float) -> list[dict]:
        """Neighbourhoods of recent items in embedding space (and items sharing a word), named by the topics
        where their items rose."""
        vectors = None
        if embeddings is not None:
            vectors, present = _vectors_at(embeddings, frame["_row"].to_numpy())
            frame = frame[present]
        sets, words = None, None
        if self._scans_words(frame):
            langs = frame["lang"].tolist() if "lang" in frame else None
            sets, words = word_sets(frame["text"].tolist(), self.word_min_items(len(frame)),
                                    stop_words=self._stop_words(frame), langs=langs)
        tests = []
        for cluster in scan_similar(vectors, frame["day"], windows, replicates=self.scan_replicates,
                                    max_centres=self.scan_centres, centre_days=max(self.short_windows, default=1),
                                    dispersion=dispersion, alpha=max(self.alpha, self.scan_alpha or 0.0),
                                    word_sets=sets, words=words, mean_shift=self.scan_mean_shift,
                                    overwrite_vectors=True):     # the rows _vectors_at copied for this scan
            named = self._topics_explaining(frame["topic_id"], cluster)
            if not named:     # only outliers: no topic to name
                continue
            ratio = cluster["count"] / max(cluster["expected"], 1e-9)
            excess = cluster["count"] - cluster["expected"]
            tests.append({"topic_id": named[0], "kind": "volume_spike", "window": cluster["window"],
                          "count": cluster["count"], "p_value": cluster["p_value"], "statistic": ratio,
                          "effect": ratio, "excess": excess, "excess_recent": excess, "members": tuple(sorted(named)),
                          "rows": frame["_row"].to_numpy()[cluster["rows"]], "words": cluster["words"],
                          "series": _daily_counts(frame["day"].iloc[cluster["members"]])})
        return tests

    def _topics_explaining(self, topic_ids: pd.Series, cluster: dict) -> list[int]:
        """The fewest topics (at most ``group_topics``) holding half of a scanned set's excess in its window,
        the largest share first: its items in the window by topic less what the set's items elsewhere in
        time lead one to expect there."""
        inside = topic_ids.iloc[np.intersect1d(cluster["rows"], cluster["members"])].value_counts()
        around = topic_ids.iloc[cluster["members"]].value_counts()
        rate = cluster["expected"] / max(cluster["size"], 1)
        excess = inside.sub(rate * around, fill_value=0.0)
        excess = excess[(excess.index >= 0) & (excess > 0)].sort_values(ascending=False, kind="stable")
        if excess.empty:
            return []
        needed = int(np.searchsorted(excess.cumsum().to_numpy(), excess.sum() / 2)) + 1
        return [int(t) for t in excess.index[:min(needed, max(1, self.group_topics))]]

    def word_min_items(self, items: int) -> int:
        """The fewest of ``items`` that must use a word for the scan to test it (``scan_word_share``, ``min_count``).

        >>> IssueDetector().word_min_items(7000)
        35
        """
        return max(self.min_count, int(np.ceil(self.scan_word_share * items)))

    def _scans_words(self, frame: pd.DataFrame) -> bool:
        return self.scan_word_share > 0 and "text" in frame

    @staticmethod
    def _stop_words(frame: pd.DataFrame) -> list[str]:
        """Stop words of the languages the items are in (English and Polish when unknown or undetermined)."""
        from voxlens.sentiment.language import UNDETERMINED
        from voxlens.sentiment.topics import multilingual_stop_words

        languages = sorted(set(frame["lang"].dropna().astype(str)) - {UNDETERMINED}) if "lang" in frame else []
        return multilingual_stop_words(languages) if languages else multilingual_stop_words()

    def _scan_word_negativity(self, frame: pd.DataFrame, days: pd.DatetimeIndex, in_baseline: np.ndarray,
                              windows: list[int], dispersion: float) -> list[dict]:
        """Negativity tests of the items of each word (as for a topic), named by the topics of their negatives."""
        langs = frame["lang"].tolist() if "lang" in frame else None
        sets, words = word_sets(frame["text"].tolist(), self.word_min_items(len(frame)),
                                stop_words=self._stop_words(frame), langs=langs)
        if not words:
            return []
        position = days.get_indexer(frame["day"])
        daily = sparse.csr_matrix((np.ones(len(frame)), (np.arange(len(frame)), position)), shape=(len(frame), len(days)))
        negative = frame["negative"].to_numpy(dtype=float)
        counts = (sets @ daily).toarray()
        negatives = (sets @ sparse.diags(negative) @ daily).toarray()
        recent = ~in_baseline[position]
        topic_ids = frame["topic_id"].to_numpy()
        iso_days = [d.date().isoformat() for d in days]
        tests = []
        for index, word in enumerate(words):
            if counts[index, ~in_baseline].sum() < self.min_count:
                continue
            test = self._scan_negativity(-1, negatives[index], counts[index], in_baseline, windows, dispersion)
            rows = sets[index].indices
            bad = rows[(negative[rows] > 0) & recent[rows] & (topic_ids[rows] >= 0)]
            share = pd.Series(topic_ids[bad]).value_counts()
            if share.empty:
                continue
            needed = int(np.searchsorted(share.cumsum().to_numpy(), share.sum() / 2)) + 1
            named = [int(t) for t in share.index[:min(needed, max(1, self.group_topics))]]
            series = {"hits": dict(zip(iso_days, negatives[index].astype(int).tolist())),
                      "trials": dict(zip(iso_days, counts[index].astype(int).tolist()))}
            tests.append({**test, "topic_id": named[0], "members": tuple(sorted(named)), "words": (word,),
                          "negative_series": series,
                          "word_rows": frame["_row"].to_numpy()[rows[recent[rows]]]})
        return tests

    def _scan_groups(self, topics: pd.DataFrame | None, counts: pd.DataFrame, shares: dict, totals: np.ndarray,
                     in_baseline: np.ndarray, windows: list[int], pooled: float, new_topics: set) -> list[dict]:
        """Volume tests of small groups of neighbouring topics (their summed counts), lead = largest excess."""
        if topics is None or self.group_topics < 2:
            return []
        tests = []
        for group in topic_groups(topics, self.group_topics, self.group_distance):
            if not set(group) <= set(counts.index) or new_topics & set(group):
                continue
            rows = counts.loc[list(group)].to_numpy(dtype=float)
            expected_rows = np.stack([totals * shares[t] for t in group])
            observed, expected = rows.sum(axis=0), expected_rows.sum(axis=0)
            if observed[~in_baseline].sum() == 0:
                continue
            share = np.sum([shares[t] for t in group], axis=0)
            own = pearson_dispersion(observed[in_baseline], totals[in_baseline], share[in_baseline])
            test = self._scan_volume(group[0], "volume_spike", observed, expected, in_baseline, windows,
                                     shrunk_dispersion(*own, pooled))
            excess = rows[:, -test["window"]:].sum(axis=1) - expected_rows[:, -test["window"]:].sum(axis=1)
            tests.append({**test, "topic_id": int(group[int(np.argmax(excess))]), "members": tuple(group)})
        return tests

    @staticmethod
    def _scan_volume(topic: int, kind: str, observed: np.ndarray, expected: np.ndarray, in_baseline: np.ndarray,
                     windows: list[int], dispersion: float) -> dict:
        """The topic's count in windows ending today against its expected count (conditional on the baseline)."""
        base_observed, base_expected = observed[in_baseline].sum(), expected[in_baseline].sum()
        counts = np.array([observed[-w:].sum() for w in windows])
        means = np.array([expected[-w:].sum() for w in windows])
        p_values = [count_excess_sf(c, m, base_observed, base_expected, dispersion) for c, m in zip(counts, means)]
        best = int(np.argmin(p_values))
        ratio = counts[best] / max(means[best], 1e-9)
        return {"topic_id": int(topic), "kind": kind, "window": windows[best], "count": float(counts[best]),
                "p_value": scan_p_value(p_values, means), "statistic": ratio, "effect": ratio,
                "excess": float(counts[best] - means[best]), "excess_recent": float(counts[-1] - means[-1])}

    @staticmethod
    def _scan_negativity(topic: int, negatives: np.ndarray, counts: np.ndarray, in_baseline: np.ndarray,
                         windows: list[int], dispersion: float) -> dict:
        """The topic's negative share in windows ending today against its baseline share (Fisher's test)."""
        base_hits, base_trials = negatives[in_baseline].sum(), counts[in_baseline].sum()
        base_share = (base_hits + 0.5) / (base_trials + 1)
        hits = np.array([negatives[-w:].sum() for w in windows])
        trials = np.array([counts[-w:].sum() for w in windows])
        p_values = [share_excess_sf(h, n, base_hits, base_trials, dispersion) for h, n in zip(hits, trials)]
        best = int(np.argmin(p_values))
        expected = trials * base_share
        odds_ratio = ((hits[best] + 0.5) / (trials[best] - hits[best] + 0.5)
                      / ((base_hits + 0.5) / (base_trials - base_hits + 0.5)))
        return {"topic_id": int(topic), "kind": "negativity_spike", "window": windows[best],
                "count": float(trials[best]), "p_value": scan_p_value(p_values, expected),
                "statistic": hits[best] / max(expected[best], 1e-9), "effect": odds_ratio,
                "excess": float(hits[best] - expected[best]),
                "excess_recent": float(hits[-1] - expected[-1])}

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
            "topic_ids": [topic], "detail": {"window_days": int(lead["window"]),
                                             "negative_share": round(negative_share, 4)},
        }

    def _group_issue(self, test: pd.Series, recent: pd.DataFrame, end: pd.Timestamp, labels: dict) -> dict:
        """One issue for a flagged group of topics, led by the member with the largest excess."""
        members = [int(t) for t in test["members"]]
        window_start = end - pd.Timedelta(days=int(test["window"]) - 1)
        similar = isinstance(test.get("rows"), np.ndarray)    # a scanned neighbourhood: its own items
        by_word = isinstance(test.get("word_rows"), np.ndarray)  # a word's items turned negative
        if similar or by_word:
            in_window = recent[recent["_row"].isin(test["rows"] if similar else test["word_rows"])]
        else:
            in_window = recent[recent["topic_id"].isin(members) & (recent["day"] >= window_start)]
        negative_share = float(in_window["negative"].mean()) if len(in_window) else 0.0
        excess = max(test["excess"], test["excess_recent"], 0.0)
        names = "; ".join(str(labels.get(t, f"topic {t}")) for t in members)
        words = test.get("words") if similar or by_word else None
        mention = f" (mentioning {' or '.join(map(repr, words))})" if isinstance(words, tuple) and words else ""
        what = SIMILAR_ITEMS + mention if similar else ("negativity up" + mention if by_word else "volume up")
        kind = "negativity_spike" if by_word else "volume_spike"
        rate = "the expected negative items" if by_word else "the baseline rate"
        summary = (f"{what} across topics {', '.join(map(str, members))} ({names}): {len(in_window)} items in "
                   f"the last {int(test['window'])} day(s), {test['statistic']:.1f}× {rate}; "
                   f"{100 * negative_share:.0f}% negative")
        return {
            "issue_id": stable_hash(kind, *members, window_start.date()),
            "kind": kind, "topic_id": int(test["topic_id"]), "window_start": window_start.date(),
            "window_end": end.date(), "severity": round(excess * (0.5 + negative_share), 3),
            "statistic": float(test["statistic"]), "p_value": float(test["p_value"]),
            "q_value": float(test["q_value"]), "summary": summary, "evidence": self._evidence(in_window),
            "topic_ids": members, "detail": {"window_days": int(test["window"]),
                                             "negative_share": round(negative_share, 4),
                                             **({"series": test["series"]} if similar else {}),
                                             **({"negative_series": test["negative_series"]} if by_word else {})},
        }

    def _metric_drops(self, items: pd.DataFrame, responses: pd.DataFrame, recent_start: pd.Timestamp,
                      baseline_start: pd.Timestamp, end: pd.Timestamp) -> list[dict]:
        """NPS, CSAT and CES drops in the recent window, each with the topic that explains most of it."""
        issues = []
        for drop in metric_drops(responses, items, recent_start, baseline_start, end, self.alpha,
                                 self.metric_drop_points, self.min_count):
            topic, metric, change = drop["topic_id"], drop["metric"], drop["change"]
            key = ("metric_drop", topic) if metric == "nps" else ("metric_drop", metric, topic)
            issues.append({
                "issue_id": stable_hash(*key, recent_start.date()),
                "kind": "metric_drop", "topic_id": topic, "window_start": recent_start.date(),
                "window_end": end.date(), "severity": round(-drop["points"] * change.after.n / 200, 3),
                "statistic": float(change.difference), "p_value": float(drop["p_value"]),
                "q_value": float(drop["q_value"]), "summary": describe(drop),
                "evidence": self._evidence(drop["evidence_items"]),
                "topic_ids": [] if topic is None else [int(topic)],
                "detail": {"metric": metric, "before": float(change.before.value), "after": float(change.after.value),
                           "change": float(change.difference), "ci_low": float(change.ci_low),
                           "ci_high": float(change.ci_high), "n": int(change.after.n)},
            })
        return issues

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


def _daily_counts(days: pd.Series) -> dict[str, int]:
    """Items per calendar day (ISO dates): a scanned set's series, which dates its onset."""
    return {day.date().isoformat(): int(n) for day, n in days.value_counts().sort_index().items()}


def _vectors_at(embeddings: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vectors at positions ``rows`` (stacked) and which of those rows have one."""
    if isinstance(embeddings, np.ndarray) and embeddings.ndim == 2:     # one copy: a window can hold 10^5 items
        picked = embeddings[rows].astype(np.float32, copy=False)
        present = np.isfinite(picked).all(axis=1)
        return (picked if present.all() else picked[present]), present
    values = list(pd.Series(list(embeddings)).iloc[rows])
    present = np.array([v is not None and np.ndim(v) == 1 and len(v) > 0 and bool(np.isfinite(v).all())
                        for v in values], dtype=bool)
    kept = [np.asarray(v, dtype=np.float32) for v, keep in zip(values, present) if keep]
    if len({v.shape for v in kept}) > 1:
        raise InputError("embeddings differ in length: embed every item with the same encoder")
    return (np.stack(kept) if kept else np.zeros((0, 0), np.float32)), present
