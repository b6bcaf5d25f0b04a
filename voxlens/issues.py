"""The issue log over the store: daily detection runs, their replay over history (backfill), and forget.

Each detection run merges its findings into the ``issues`` table (see :mod:`voxlens.metrics.issue_log`), so
issues persist across runs with an onset, a status and an end. :meth:`IssueTracker.catch_up` runs detection
on every day since the last run (all of the history on the first run: a backfill), so the log holds what a
daily schedule would have produced. The replay loads the daily series of the whole store (counted in the store)
and the items and vectors of the days its windows read (from the first replayed day's window on: a daily run
reads a few weeks, whatever the store's size) once, and runs the detector on every day, but
its costly part, the similar-items scan (Monte Carlo shuffles), only every ``step`` days; where either of two
such runs flagged with the scan, the days between are run with it too. So first and last days flagged are those
of a daily run; only a scan flag that a daily schedule would have raised on the days between two scan runs
that flagged nothing (shorter than ``step`` days, which a burst rarely is: the scan's 7-day window keeps
flagging it) is not replayed.

Example:
    >>> from voxlens.core.store import Store
    >>> with Store(":memory:") as store:
    ...     IssueTracker(store, model="offline").log().empty
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from tqdm.auto import tqdm

from voxlens.collectors.base import utc_now
from voxlens.core.errors import InputError
from voxlens.core.store import DETECTED_THROUGH, DETECTION_NOTE, Store
from voxlens.metrics.emerging import ISSUE_COLUMNS, IssueDetector
from voxlens.metrics.issue_log import LOG_COLUMNS, IssueLog, empty_log
from voxlens.metrics.onset import estimate_end, estimate_onset

OUTLIER = -1
STORED = [*LOG_COLUMNS, "detected_at"]
CREATED = "coalesce(i.created_at, i.collected_at)"
ANALYSED = ("FROM items i JOIN scores s ON s.item_id = i.item_id AND s.model = ? "
            "LEFT JOIN topics t ON t.item_id = i.item_id")


@dataclass
class History:
    """What detection reads, loaded once for a replay: items by day, their vectors, responses and topics, and
    ``daily`` (:meth:`IssueTracker.daily`: every analysed item counted by day and topic), from which the daily
    series of :meth:`series` come."""

    items: pd.DataFrame
    vectors: np.ndarray | None
    responses: pd.DataFrame | None
    topics: pd.DataFrame | None
    daily: pd.DataFrame
    totals: pd.Series = field(init=False)
    counts: pd.DataFrame = field(init=False)
    negatives: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.items = self.items.reset_index(drop=True)
        self.days_ = self.items["day"].to_numpy()
        topical = self.daily[self.daily["topic_id"] >= 0]
        self.totals = self.daily.groupby("day")["items"].sum()
        self.counts = topical.pivot_table(index="topic_id", columns="day", values="items", aggfunc="sum", fill_value=0)
        self.negatives = topical.pivot_table(index="topic_id", columns="day", values="negatives", aggfunc="sum",
                                             fill_value=0)

    def window(self, end: pd.Timestamp, days: int) -> tuple[pd.DataFrame, np.ndarray | None]:
        """Items of the ``days`` days ending at ``end`` (sorted by day) and their vectors."""
        lo = np.searchsorted(self.days_, np.datetime64(end - pd.Timedelta(days=days - 1)), side="left")
        hi = np.searchsorted(self.days_, np.datetime64(end), side="right")
        return self.items.iloc[lo:hi], (self.vectors[lo:hi] if self.vectors is not None else None)

    def series(self, topic_ids: list[int], negativity: bool) -> tuple[pd.Series, pd.Series]:
        """A theme's daily hits and trials: its items among all (volume) or its negatives among its items."""
        known = [t for t in topic_ids if t in self.counts.index]
        counts = self.counts.loc[known].sum(axis=0) if known else pd.Series(dtype=float)
        if negativity:
            return self.negatives.loc[known].sum(axis=0) if known else counts, counts
        return counts, self.totals


class IssueTracker:
    """Keep the store's issue log: detection runs, replays over history, forget.

    Args:
        store: the store to read and write.
        detector: the emerging-issue detector run on each day.
        log: the lifecycle rules (resolution, reopening).
        model: the sentiment model whose scores say which items are negative.
        step: days between replayed runs of the similar-items scan, the costly part of detection (every day is
            run without it; the days between two runs with it are run with it too when either flagged with it).
        progress: show a progress bar over the replayed days.
    """

    def __init__(self, store: Store, detector: IssueDetector | None = None, log: IssueLog | None = None,
                 model: str = "", step: int = 7, progress: bool = False) -> None:
        self.store, self.detector, self.rules = store, detector or IssueDetector(), log or IssueLog()
        self.model, self.step, self.progress = model, max(1, int(step)), progress
        self.lookback = self.detector.recent_days + self.detector.baseline_days + self.detector.new_topic_days
        self.note_: str | None = None
        self.runs_ = 0          # runs with the similar-items scan (a daily schedule runs it once per day)

    # -- the stored log -------------------------------------------------------------------------
    def log(self) -> pd.DataFrame:
        """The stored log (every issue, resolved ones too), as :func:`IssueLog.update` takes it."""
        frame = self.store.query(f"SELECT {', '.join(LOG_COLUMNS)} FROM issues WHERE status IS NOT NULL")
        if frame.empty:
            return empty_log()
        frame["facets"] = [json.loads(f) if isinstance(f, str) else (f or {}) for f in frame["facets"]]
        return frame

    def save(self, log: pd.DataFrame) -> None:
        """Write the log's rows (replacing rows with the same id; no issue is deleted, expired candidates are)."""
        if log.empty:
            self.store.execute("DELETE FROM issues WHERE status = 'candidate'")
            return
        rows = log.copy()
        rows["facets"] = [json.dumps(f, default=str) for f in rows["facets"]]
        rows["evidence"] = [list(e) for e in rows["evidence"]]
        rows["topic_ids"] = [[int(t) for t in ids] for ids in rows["topic_ids"]]
        rows["window_start"], rows["window_end"] = rows["onset"], rows["last_seen"]
        rows["detected_at"] = utc_now()
        self.store.execute("DELETE FROM issues WHERE status = 'candidate'")    # unconfirmed ones left are re-written
        for column in ("onset", "first_flagged", "last_seen", "ended", "window_start", "window_end", "reopened"):
            rows[column] = pd.to_datetime(rows[column]).dt.date
        self.store.upsert("issues", rows[STORED], key=["issue_id"])

    def forget(self, issue_id: str) -> bool:
        """Delete one issue from the log (True when it was there). A later run may flag its theme anew."""
        with self.store.transaction():
            found = self.store.execute("SELECT count(*) FROM issues WHERE issue_id = ?", [issue_id])[0][0]
            self.store.execute("DELETE FROM issues WHERE issue_id = ?", [issue_id])
        return bool(found)

    # -- runs ---------------------------------------------------------------------------------
    def daily(self) -> pd.DataFrame:
        """Analysed items counted by day and topic (``day``, ``topic_id``, ``items``, ``negatives``), in the store."""
        daily = self.store.query(
            f"SELECT CAST({CREATED} AS DATE) AS day, coalesce(t.topic_id, {OUTLIER}) AS topic_id, count(*) AS items, "
            f"count(*) FILTER (WHERE s.label = 'negative') AS negatives {ANALYSED} GROUP BY ALL ORDER BY day, topic_id",
            [self.model])
        daily["day"] = pd.to_datetime(daily["day"])
        return daily.astype({"topic_id": int, "items": int, "negatives": int})

    def history(self, since: pd.Timestamp | None = None, daily: pd.DataFrame | None = None) -> History:
        """Analysed items (created on or after ``since``; default all) with their topic, negativity and vector;
        the daily counts of all of them (``daily``, default :meth:`daily`); survey responses; topics."""
        where, parameters = ("", [self.model]) if since is None else \
            (f" WHERE {CREATED} >= ?", [self.model, pd.Timestamp(since).to_pydatetime()])
        items = self.store.query(
            f"SELECT i.item_id, {CREATED} AS created_at, i.text, i.lang, i.response_id, s.label, t.topic_id, "
            f"t.probability {ANALYSED}{where} ORDER BY created_at, i.item_id", parameters)
        items["negative"] = items["label"] == "negative"
        items["topic_id"] = items["topic_id"].fillna(OUTLIER).astype(int)
        items = items.dropna(subset=["created_at"])
        items["day"] = pd.to_datetime(items["created_at"]).dt.normalize()
        items = items.sort_values("day", kind="stable").reset_index(drop=True)
        topics = self.store.query("SELECT topic_id, label, centroid FROM topic_info ORDER BY topic_id")
        vectors = None
        if self.detector.scan_replicates > 0:
            vectors = self._vectors(items["item_id"], f"{ANALYSED}{where}", parameters, _centroid_length(topics))
        responses = self.store.query("SELECT response_id, submitted_at, nps, csat, csat_scale, ces, ces_scale "
                                     "FROM responses")
        return History(items, vectors, responses if len(responses) else None, topics if len(topics) else None,
                       self.daily() if daily is None else daily)

    def _vectors(self, item_ids: pd.Series, source: str, parameters: list, length: int | None) -> np.ndarray | None:
        """The topic vectors of ``item_ids``, in their order, from the rows of ``source`` (a FROM clause): float32,
        NaN where an item has no vector of ``length`` (default: the store's commonest). Read in chunks straight
        into the matrix: sorting or holding a million vectors in DuckDB or pandas would take several times its
        size (and a store's memory cap stops the sort)."""
        if length is None:
            common = self.store.execute("SELECT len(vector) AS n FROM topics WHERE vector IS NOT NULL "
                                        "GROUP BY n ORDER BY count(*) DESC, n LIMIT 1")
            length = int(common[0][0]) if common else 0
        if not length:
            return None
        position = pd.Series(np.arange(len(item_ids)), index=item_ids.to_numpy())
        out = np.full((len(item_ids), length), np.nan, dtype=np.float32)
        for chunk in self.store.query_chunks(f"SELECT i.item_id, t.vector {source}", parameters):
            rows = position.reindex(chunk["item_id"].to_numpy()).to_numpy()
            known = ~np.isnan(rows)
            out[rows[known].astype(np.int64)] = _stack(chunk["vector"][known], length)
        return out

    def detect_on(self, history: History, day: pd.Timestamp, detector: IssueDetector | None = None) -> pd.DataFrame:
        """The detector's (or ``detector``'s) findings on ``day`` (its windows ending that day)."""
        detector = detector or self.detector
        self.runs_ += detector is self.detector
        items, vectors = history.window(day, self.lookback)
        findings = detector.detect(items.drop(columns=["day"]), as_of=day, responses=history.responses,
                                        topics=history.topics, embeddings=vectors)
        self.note_ = detector.note_
        return findings

    def catch_up(self, through: date | None = None, backfill: bool = False) -> pd.DataFrame:
        """Run detection on every day since the last run through ``through`` (default: the latest item's day).

        On a store never detected on (or with ``backfill``) every day with enough history before it is
        replayed. Returns the findings of the last day (the detector's frame).
        """
        daily = self.daily()
        if daily.empty:
            self.note_ = self.detector.history_note(pd.Series(dtype="datetime64[ns]"))
            self._finish(None)
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        last = pd.Timestamp(through).normalize() if through is not None else daily["day"].max()
        first_possible = daily["day"].min() + pd.Timedelta(days=self.detector.history_needed - 1)
        done = self.store.get_meta(DETECTED_THROUGH)
        start = first_possible if backfill or not done else pd.Timestamp(done) + pd.Timedelta(days=1)
        start = min(max(start, first_possible), last)
        days = list(pd.date_range(start, last, freq="D"))
        log = self.log()
        if backfill:    # issues first flagged before the replayed days are kept, the rest are found again
            log = log[pd.to_datetime(log["first_flagged"]) < start] if len(log) else empty_log()
        history = self.history(since=start - pd.Timedelta(days=self.lookback - 1), daily=daily)
        return self.replay(history, days, log)

    def replay(self, history: History, days: list[pd.Timestamp], log: pd.DataFrame) -> pd.DataFrame:
        """Run every day (the similar-items scan every ``step`` days, and every day near a scan flag), update
        and save the log."""
        found: dict[pd.Timestamp, pd.DataFrame] = {}
        notes: dict[pd.Timestamp, str | None] = {}
        cheap = replace(self.detector, scan_replicates=0) if self.detector.scan_replicates > 0 and self.step > 1 else None
        coarse = sorted(set(days[:: self.step]) | set(days[-1:]))
        bar = tqdm(total=len(days), desc="detecting", unit="day", disable=not self.progress or len(days) < 2)
        for day in days:
            found[day] = self.detect_on(history, day, None if cheap is None or day in coarse else cheap)
            notes[day] = self.note_
            bar.update(1)
        if cheap is not None:       # a scan flag: the days around it are run with the scan too
            refine = [between for before, after in zip(coarse, coarse[1:])
                      if _scanned(found[before]) or _scanned(found[after])
                      for between in pd.date_range(before + pd.Timedelta(days=1), after - pd.Timedelta(days=1))]
            bar.total += len(refine)
            for day in refine:
                found[day] = self.detect_on(history, day)
                bar.update(1)
        bar.close()
        self.note_ = notes[days[-1]] if days else self.note_
        for day in days:
            current = day
            log = self.rules.update(log, found[day], day,
                                    onset=lambda topics, facets, d, theme: self._onset(history, topics, facets, d, theme),
                                    end=lambda row, d=current: self._end(history, row, d),
                                    elevated=lambda row, d=current: self._elevated(history, row, d))
        with self.store.transaction():
            self.save(log)
            self._finish(days[-1] if days else None)
        return found[days[-1]] if days else pd.DataFrame(columns=ISSUE_COLUMNS)

    def _finish(self, day: pd.Timestamp | None) -> None:
        self.store.set_meta(DETECTION_NOTE, self.note_ or "")
        if day is not None and self.note_ is None:
            self.store.set_meta(DETECTED_THROUGH, day.date().isoformat())

    def _onset(self, history: History, topics: list[int], facets: set[str], day: pd.Timestamp,
               theme: list[dict] | None = None) -> pd.Timestamp | None:
        """The change point of the theme's daily series in the detector's span before ``day``: the series of
        the items a similar-items scan flagged when it flagged them (a theme told in a word inside a large
        topic), the negative share of a word's items for a word turned negative, else the theme's topics'
        items (or negative items)."""
        since = day - pd.Timedelta(days=self.detector.recent_days + self.detector.baseline_days - 1)
        details = [f["detail"] for f in theme or [] if isinstance(f.get("detail"), dict)]
        scanned = [d["series"] for d in details if d.get("series")]
        worded = [d["negative_series"] for d in details if d.get("negative_series")]
        if worded and not scanned and not ({"volume", "new_topic"} & facets):
            chosen = max(worded, key=lambda s: sum(s["hits"].values()))
            hits, trials = (pd.Series(chosen[k]) for k in ("hits", "trials"))
            hits.index, trials.index = pd.to_datetime(hits.index), pd.to_datetime(trials.index)
        elif scanned:
            hits = pd.Series(max(scanned, key=lambda s: sum(s.values())))
            hits.index = pd.to_datetime(hits.index)
            trials = history.totals
        elif topics:
            hits, trials = history.series(topics, negativity=not ({"volume", "new_topic"} & facets))
        else:
            return None
        trials = trials[(trials.index >= since) & (trials.index <= day)]
        return estimate_onset(hits, trials, not_after=day)

    def _end(self, history: History, row: dict, day: pd.Timestamp) -> pd.Timestamp | None:
        if not row["topic_ids"] or row["onset"] is None:
            return None
        negativity = not ({"volume", "new_topic"} & set(row["facets"]))
        hits, trials = history.series(row["topic_ids"], negativity)
        return estimate_end(hits, trials, pd.Timestamp(row["onset"]), day)

    def _elevated(self, history: History, row: dict, day: pd.Timestamp) -> bool:
        """Whether the theme's rate over the last ``resolve_after`` days is still clearly above (one-sided
        binomial test at ``alpha``, and ``min_ratio`` times) its rate in the baseline before its onset."""
        if not row["topic_ids"] or row["onset"] is None:
            return False
        negativity = not ({"volume", "new_topic"} & set(row["facets"]))
        hits, trials = history.series(row["topic_ids"], negativity)
        onset = pd.Timestamp(row["onset"])
        before = (trials.index < onset) & (trials.index >= onset - pd.Timedelta(days=self.detector.baseline_days))
        recent = (trials.index > day - pd.Timedelta(days=self.rules.resolve_after)) & (trials.index <= day)
        h0, n0 = hits.reindex(trials.index[before], fill_value=0).sum(), trials[before].sum()
        h1, n1 = hits.reindex(trials.index[recent], fill_value=0).sum(), trials[recent].sum()
        if n1 == 0:
            return False
        base = (h0 + 0.5) / (n0 + 1)
        if h1 / n1 < self.detector.min_ratio * base:
            return False
        return bool(binomtest(int(h1), int(n1), min(base, 1.0), alternative="greater").pvalue < self.detector.alpha)


def _scanned(findings: pd.DataFrame) -> bool:
    """Whether a run's findings hold one of the similar-items scan (its items' series in the detail)."""
    return "detail" in findings and any(isinstance(d, dict) and "series" in d for d in findings["detail"])


def _centroid_length(topics: pd.DataFrame) -> int | None:
    lengths = {len(c) for c in topics["centroid"] if hasattr(c, "__len__") and len(c)} if len(topics) else set()
    return lengths.pop() if len(lengths) == 1 else None


def _stack(vectors: pd.Series, length: int) -> np.ndarray:
    """One float32 row per item, NaN where an item has no vector of ``length``."""
    lengths = vectors.map(lambda v: len(v) if v is not None and hasattr(v, "__len__") else 0)
    out = np.full((len(vectors), length), np.nan, dtype=np.float32)
    keep = (lengths == length).to_numpy()
    if keep.any():
        out[keep] = np.stack([np.asarray(v, dtype=np.float32) for v in vectors[keep]])
    return out


def check_issue_id(issue_id: str) -> str:
    """An issue id as typed, stripped; empty ids are refused."""
    issue_id = issue_id.strip()
    if not issue_id:
        raise InputError("give the id of an issue (voxlens issues --all lists them)")
    return issue_id
