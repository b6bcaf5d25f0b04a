"""Similar-items scan: a theme whose items land on several topics, found in embedding space.

The spatial scan statistic (Kulldorff's Bernoulli model, as SaTScan uses it) with embeddings for space:
up to ``max_centres`` items of the last ``centre_days`` days (default: the longest window), chosen at
random, are centres, and a centre's neighbourhoods are its nearest other items (cosine) among all items of
the baseline and the scanned days, in several sizes (``sizes``, as shares of those items). A
neighbourhood's statistic is the log-likelihood ratio of "more of its items fall in the window ending
today than the window's share of all items" against "no difference", maximised over centres, sizes and
windows.

The maximum is calibrated by Monte Carlo: the items' days are shuffled ``replicates`` times and the whole
scan is repeated on each shuffle, centres included (they are drawn from the items the shuffle makes
recent, as the real centres are: otherwise recent centres, which sit in each other's neighbourhoods,
would make the real data look richer in recent items than any shuffle). A Gumbel distribution fitted to
the shuffles' maxima gives the p-value (SaTScan's Gumbel approximation, which resolves p-values far below
``1 / replicates``). The statistic is divided by ``dispersion`` first (day-to-day variation beyond
sampling noise, as the topic tests estimate it), so busy days that bring related items together are not
taken for a theme.

The best neighbourhood is reported, and then further ones that share no item with those already reported
(SaTScan's secondary clusters), each with its p-value against the same null maxima (conservative).

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> days = pd.Series(np.repeat(pd.date_range("2026-01-01", periods=31), 60))
    >>> vectors = rng.normal(size=(len(days), 8))
    >>> vectors[-30:] = [3, 3, 3, 0, 0, 0, 0, 0] + rng.normal(size=(30, 8))   # 30 similar items on the last day
    >>> found = scan_similar(vectors, days, windows=(1, 2, 3))
    >>> planted = found[0]["rows"] >= len(days) - 30
    >>> found[0]["window"], int(planted.sum()) >= 10, bool(planted.mean() > 0.8), found[0]["p_value"] < 1e-4
    (1, True, True, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def scan_similar(vectors: np.ndarray, days: pd.Series, windows: Sequence[int] = (1, 2, 3),
                 sizes: Sequence[float] = (0.005, 0.01, 0.02, 0.04), replicates: int = 99,
                 max_centres: int = 100, centre_days: int | None = None, max_clusters: int = 3,
                 dispersion: float = 1.0, alpha: float = 0.05, random_state: int = 0) -> list[dict]:
    """Neighbourhoods of recent items that are over-represented in a window ending on the last day.

    ``vectors`` (one row per item) and ``days`` (calendar days, aligned) cover the baseline and the scanned
    days. Returns at most ``max_clusters`` dicts, those with ``p_value < alpha``: ``rows`` (positions of
    the neighbourhood's items in the window, its centre included), ``window`` (days), ``size`` (items
    around the centre), ``count`` (those in the window, the centre not counted), ``expected``, ``llr`` and
    ``p_value``.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) < 10:
        return []
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    day = pd.to_datetime(pd.Series(days)).dt.normalize().to_numpy()
    end = day.max()
    windows = sorted(set(windows))
    age = ((end - day) / np.timedelta64(1, "D")).astype(int)     # 0 = the last day
    total = len(vectors)
    counts = np.unique(np.clip([int(round(s * total)) for s in sizes], 2, total - 1))
    rng = np.random.default_rng(random_state)
    centres = np.flatnonzero(age < (centre_days or max(windows)))
    if len(centres) == 0:
        return []
    if len(centres) > max_centres:
        centres = np.sort(rng.choice(centres, size=max_centres, replace=False))
    others = np.setdiff1d(np.arange(total), centres)      # the items counted; centres are only places
    if len(others) <= counts.max():
        return []
    neighbours = _nearest(vectors, centres, others, int(counts.max()))
    observed = _statistics(neighbours, age[others], windows, counts) / max(1.0, dispersion)
    null_maxima = np.array([_statistics(neighbours, rng.permutation(age[others]), windows, counts).max()
                            for _ in range(replicates)]) / max(1.0, dispersion)
    location, scale = stats.gumbel_r.fit(null_maxima)
    found, taken = [], np.zeros(total, dtype=bool)
    for flat in np.argsort(observed, axis=None)[::-1]:
        llr = float(observed.flat[flat])
        p_value = float(stats.gumbel_r.sf(llr, location, scale))
        if p_value >= alpha or llr <= 0 or len(found) >= max_clusters:
            break
        centre, size, window = np.unravel_index(flat, observed.shape)
        members = others[neighbours[centre, :counts[size]]]
        in_window = np.append(members[age[members] < windows[window]], centres[centre])
        if taken[members].any() or taken[centres[centre]]:
            continue
        taken[members] = taken[centres[centre]] = True
        expected = counts[size] * (age[others] < windows[window]).mean()
        found.append({"rows": np.sort(in_window), "window": int(windows[window]), "size": int(counts[size]),
                      "count": float(len(in_window) - 1), "expected": float(expected), "llr": llr, "p_value": p_value})
    return found


def _nearest(vectors: np.ndarray, centres: np.ndarray, others: np.ndarray, count: int,
             chunk: int = 256) -> np.ndarray:
    """Per centre, the ``count`` most similar of ``others`` (positions into ``others``), most similar first."""
    rows = []
    for start in range(0, len(centres), chunk):
        similarity = vectors[centres[start:start + chunk]] @ vectors[others].T
        top = np.argpartition(-similarity, count - 1, axis=1)[:, :count]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1, kind="stable")
        rows.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(rows)


def _statistics(neighbours: np.ndarray, age: np.ndarray, windows: Sequence[int], counts: np.ndarray) -> np.ndarray:
    """Bernoulli log-likelihood ratios, shaped (centres, sizes, windows); 0 where the window is not richer."""
    out = np.zeros((len(neighbours), len(counts), len(windows)))
    for w, window in enumerate(windows):
        inside = age < window
        share = inside.mean()
        hits = np.cumsum(inside[neighbours], axis=1)[:, counts - 1].astype(float)
        out[:, :, w] = _bernoulli_llr(hits, counts[None, :].astype(float), share)
    return out


def _bernoulli_llr(hits: np.ndarray, size: np.ndarray, share: float) -> np.ndarray:
    """Kulldorff's Bernoulli log-likelihood ratio of ``hits`` of ``size`` against the overall ``share``."""
    rate = hits / size
    with np.errstate(divide="ignore", invalid="ignore"):
        llr = (np.where(hits > 0, hits * np.log(rate / share), 0.0)
               + np.where(size > hits, (size - hits) * np.log((1 - rate) / (1 - share)), 0.0))
    return np.where(rate > share, llr, 0.0)
