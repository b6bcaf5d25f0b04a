"""Embedding-neighbourhood scan: a tight theme whose items land on several topics.

Each item of the last few days is a centre; its neighbourhood is every item whose embedding is at least
``similarity``-cosine close to it. The neighbourhood's count in each window ending today is tested against
its count in the baseline, scaled by the overall volume of window and baseline (the exact conditional test
of two Poisson rates, as for topics). The best window per centre is kept (Bonferroni over windows), and the
best centre is corrected for the number of centres scanned (Bonferroni again: overlapping neighbourhoods
make this conservative). Up to ``max_regions`` regions are returned, each with items no earlier region holds.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> days = np.repeat(pd.date_range("2026-01-01", periods=30), 50)
    >>> vectors = rng.normal(size=(len(days), 8))
    >>> vectors[-60:] = [1, 1, 1, 0, 0, 0, 0, 0] + 0.05 * rng.normal(size=(60, 8))   # 30 a day, last 2 days
    >>> regions = scan_neighbourhoods(vectors, pd.Series(days), baseline_days=27, windows=(1, 2))
    >>> len(regions), len(regions[0]["rows"]) >= 30, regions[0]["p_value"] < 1e-6
    (1, True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def scan_neighbourhoods(vectors: np.ndarray, days: pd.Series, baseline_days: int, windows: tuple[int, ...] = (1, 2, 3),
                        similarity: float = 0.5, min_count: int = 8, min_ratio: float = 1.5, max_regions: int = 3,
                        end: pd.Timestamp | None = None) -> list[dict]:
    """The most surprising neighbourhoods of recent items, best first.

    ``vectors`` (one row per item) and ``days`` (each item's calendar day) are aligned. The windows end at
    ``end`` (default: the last day); the baseline is the ``baseline_days`` before the window of
    ``max(windows)`` days. Each region is ``{"p_value", "window", "count", "expected", "rows"}`` with
    ``rows`` the positions of its items in the window; ``p_value`` is already corrected for the scan.
    """
    days = pd.to_datetime(pd.Series(days)).dt.normalize().to_numpy()
    end = np.datetime64(pd.Timestamp(end).normalize() if end is not None else days.max())
    longest = max(windows)
    recent_start = end - np.timedelta64(longest - 1, "D")
    baseline_start = recent_start - np.timedelta64(baseline_days, "D")
    recent = np.flatnonzero((days >= recent_start) & (days <= end))
    baseline = np.flatnonzero((days >= baseline_start) & (days < recent_start))
    if len(recent) < min_count or len(baseline) == 0:
        return []
    unit = np.asarray(vectors, dtype=np.float32)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    centres = unit[recent]
    near_recent = centres @ unit[recent].T >= similarity
    base_count = (centres @ unit[baseline].T >= similarity).sum(axis=1).astype(float)
    age = ((end - days[recent]) // np.timedelta64(1, "D")).astype(int)
    best_p, best_window = np.ones(len(recent)), np.zeros(len(recent), dtype=int)
    counts = np.zeros(len(recent))
    for window in sorted(windows):
        in_window = age < window
        observed = near_recent[:, in_window].sum(axis=1).astype(float)
        share = in_window.sum() / (in_window.sum() + len(baseline))
        expected = base_count * in_window.sum() / len(baseline)
        p = stats.binom.sf(observed - 1, observed + base_count, share)
        usable = (observed >= min_count) & (observed >= min_ratio * np.maximum(expected, 1e-9))
        p = np.where(usable, p, 1.0)
        better = p < best_p
        best_p[better], best_window[better], counts[better] = p[better], window, observed[better]
    best_p = np.minimum(1.0, best_p * len(windows) * len(recent))
    regions, taken = [], np.zeros(len(recent), dtype=bool)
    for centre in np.argsort(best_p):
        if len(regions) >= max_regions or best_p[centre] >= 1.0:
            break
        members = near_recent[centre] & (age < best_window[centre])
        if taken[members].any():
            continue
        taken |= members
        window = int(best_window[centre])
        expected = base_count[centre] * (age < window).sum() / len(baseline)
        regions.append({"p_value": float(best_p[centre]), "window": window, "count": float(counts[centre]),
                        "expected": float(expected), "rows": recent[members]})
    return regions
