"""When did a change begin? A change-point estimate of an issue's onset (and end) on its daily series.

A theme's daily series is a binomial sequence: its items among all items of each day (volume), or its
negative items among its items (negativity). :func:`change_point` finds the day where the rate shifts by
maximum likelihood: for every candidate day, the series is split into a before and an after segment, each
with its own rate, and the split with the largest log-likelihood ratio against one rate for all days wins
(the likelihood-ratio change-point statistic of a binomial sequence, as in binary segmentation's first
step). It is computed for every candidate day at once from cumulative sums, so a year of days costs
microseconds. ``direction`` keeps only rises (an onset) or falls (an end).

The onset is this estimate, not the first day of the detector's window: a burst that began 15 days ago is
dated 15 days ago even when its 7-day window starts 8 days later.

Example:
    >>> import numpy as np
    >>> totals = np.full(40, 200)
    >>> counts = np.r_[np.full(25, 10), np.full(15, 40)]      # 5% of the volume, then 20% from day 25
    >>> change_point(counts, totals)
    25
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import xlogy

from voxlens.core.errors import InputError


def _log_likelihood(hits: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Binomial log-likelihood at the maximum-likelihood rate (constants dropped), elementwise."""
    misses = trials - hits
    with np.errstate(divide="ignore", invalid="ignore"):
        return xlogy(hits, hits / np.where(trials > 0, trials, 1)) + xlogy(misses, misses / np.where(trials > 0, trials, 1))


def change_point(hits: np.ndarray, trials: np.ndarray, direction: str = "up", min_segment: int = 1) -> int | None:
    """Index of the first day after a change in the rate ``hits / trials`` (None when no split rises/falls).

    ``direction`` is ``"up"`` (the rate after is higher), ``"down"`` or ``"any"``; each segment keeps at
    least ``min_segment`` days.

    >>> change_point(np.r_[[30] * 10, [2] * 5], np.full(15, 100), direction="down")
    10
    """
    hits, trials = np.asarray(hits, dtype=float), np.asarray(trials, dtype=float)
    if hits.shape != trials.shape or hits.ndim != 1:
        raise InputError("hits and trials must be 1-D arrays of the same length")
    if np.any(hits < 0) or np.any(hits > trials):
        raise InputError("hits must lie between 0 and trials")
    n = len(hits)
    if n < 2 * min_segment:
        return None
    cum_hits, cum_trials = np.cumsum(hits), np.cumsum(trials)
    splits = np.arange(min_segment, n - min_segment + 1)          # first index of the after segment
    before_h, before_t = cum_hits[splits - 1], cum_trials[splits - 1]
    after_h, after_t = cum_hits[-1] - before_h, cum_trials[-1] - before_t
    gain = (_log_likelihood(before_h, before_t) + _log_likelihood(after_h, after_t)
            - _log_likelihood(cum_hits[-1:], cum_trials[-1:]))
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = after_h / after_t - before_h / before_t
    valid = (before_t > 0) & (after_t > 0)
    if direction == "up":
        valid &= rise > 0
    elif direction == "down":
        valid &= rise < 0
    elif direction != "any":
        raise InputError(f"direction must be 'up', 'down' or 'any', not {direction!r}")
    if not valid.any():
        return None
    return int(splits[np.argmax(np.where(valid, gain, -np.inf))])


def estimate_onset(hits: pd.Series, trials: pd.Series, not_after: pd.Timestamp | None = None) -> pd.Timestamp | None:
    """The day a rise in ``hits / trials`` began: the change point of the daily series up to ``not_after``.

    ``hits`` and ``trials`` are indexed by day (missing days count as zero). With ``not_after`` (the day
    the issue was first flagged), the rise is searched before that day only, where it stands out most.

    >>> days = pd.date_range("2026-03-01", periods=30, freq="D")
    >>> hits = pd.Series([5] * 20 + [30] * 10, index=days)
    >>> estimate_onset(hits, pd.Series(100, index=days)).date()
    datetime.date(2026, 3, 21)
    """
    if trials.empty:
        return None
    days = pd.date_range(trials.index.min(), not_after if not_after is not None else trials.index.max(), freq="D")
    if len(days) < 2:
        return None
    h = hits.reindex(days, fill_value=0).to_numpy(dtype=float)
    t = trials.reindex(days, fill_value=0).to_numpy(dtype=float)
    at = change_point(np.minimum(h, t), t, direction="up")
    return None if at is None else days[at]


def estimate_end(hits: pd.Series, trials: pd.Series, onset: pd.Timestamp, not_after: pd.Timestamp) -> pd.Timestamp | None:
    """The last day of an episode that began at ``onset``: the day before the rate fell back (None if it
    did not fall by ``not_after``).

    >>> days = pd.date_range("2026-03-01", periods=30, freq="D")
    >>> hits = pd.Series([5] * 10 + [30] * 10 + [5] * 10, index=days)
    >>> estimate_end(hits, pd.Series(100, index=days), days[10], days[-1]).date()
    datetime.date(2026, 3, 20)
    """
    days = pd.date_range(onset, not_after, freq="D")
    if len(days) < 2:
        return None
    h = hits.reindex(days, fill_value=0).to_numpy(dtype=float)
    t = trials.reindex(days, fill_value=0).to_numpy(dtype=float)
    at = change_point(np.minimum(h, t), t, direction="down")
    return None if at is None else days[at - 1]
