"""Statistical building blocks of the emerging-issue detector.

- :func:`weekday_shares`: a topic's share of the day's volume per weekday, shrunk toward its overall
  share by empirical Bayes (as far as the weekdays really differ, no further);
- :func:`pearson_dispersion`, :func:`pooled_dispersion` and :func:`shrunk_dispersion`: day-to-day
  variation beyond binomial noise, pooled across topics (robustly) and shrunk per topic;
- :func:`count_excess_sf` and :func:`share_excess_sf`: one-sided tests of a window against its baseline
  (a count against its expected count, conditional on the baseline; a share, Fisher's exact test);
- :func:`scan_p_value`: the smallest p-value over nested windows ending today, corrected for scanning them
  with the Hunter–Worsley bound (nested windows are correlated, so it is a little less strict than
  Bonferroni);
- :func:`benjamini_hochberg`: q-values across topics and tests.

Example:
    >>> round(scan_p_value([0.001, 0.002], [10.0, 20.0]), 5)   # Bonferroni would say 0.002
    0.00183
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values)."""
    p_values = np.asarray(p_values, dtype=float)
    if len(p_values) == 0:
        return p_values
    return stats.false_discovery_control(p_values, method="bh")


def weekday_shares(counts: np.ndarray, totals: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """A topic's expected share of each weekday's volume (index 0 = Monday), from baseline days.

    Each weekday's own share is pulled toward the overall share with weight ``tau² / (tau² + v)``: ``v`` is
    its binomial sampling variance, ``tau²`` the variance between weekdays beyond sampling noise (method
    of moments). Without a real weekday pattern the weights are near 0 and no noise is added.

    >>> weekday_shares(np.array([10, 11]), np.array([100, 100]), np.array([0, 1]))[:3].round(3).tolist()
    [0.107, 0.107, 0.107]
    """
    counts, totals = np.asarray(counts, dtype=float), np.asarray(totals, dtype=float)
    share = (counts.sum() + 0.5) / (totals.sum() + 1)
    trials = np.bincount(weekday, weights=totals, minlength=7)[:7]
    hits = np.bincount(weekday, weights=counts, minlength=7)[:7]
    seen = trials > 0
    shares = np.full(7, share)
    if seen.sum() < 2:
        return shares
    own = hits[seen] / trials[seen]
    sampling = share * (1 - share) / trials[seen]
    between = max(0.0, float(np.mean((own - share) ** 2 - sampling)))
    shares[seen] = share + between / (between + sampling) * (own - share)
    return np.clip(shares, 1e-9, 1 - 1e-9)


def pearson_dispersion(observed: np.ndarray, trials: np.ndarray, share: np.ndarray) -> tuple[float, int]:
    """Pearson chi-square of daily counts against binomial expectations, and its degrees of freedom."""
    expected = trials * share
    used = expected > 0
    if used.sum() < 3:
        return 0.0, 0
    residual = (observed[used] - expected[used]) ** 2 / (expected[used] * (1 - share[used]))
    return float(residual.sum()), int(used.sum() - 1)


def pooled_dispersion(chi_squares: Sequence[tuple[float, int]]) -> float:
    """The dispersion common to all topics: the median of their own ``chi_square / dof`` estimates.

    The median keeps one erratic topic (say, a new one with a few stray items in its baseline) from
    inflating every other topic's dispersion.

    >>> pooled_dispersion([(27.0, 27), (30.0, 27), (24.0, 27), (900.0, 27)])
    1.0555555555555556
    """
    ratios = [chi / dof for chi, dof in chi_squares if dof > 0]
    return float(np.median(ratios)) if ratios else 1.0


def shrunk_dispersion(chi_square: float, dof: int, pooled: float, prior_dof: float = 20.0) -> float:
    """A topic's dispersion: its own Pearson estimate shrunk toward the ``pooled`` one, at least 1.

    ``prior_dof`` days of pseudo-evidence at the pooled value; a topic that is much noisier than the rest
    still shows it, but 28 days of one topic alone do not make a noisy estimate.

    >>> shrunk_dispersion(54.0, 27, pooled=1.0)   # (54 + 20) / (27 + 20)
    1.574468085106383
    """
    return max(1.0, (chi_square + prior_dof * pooled) / (dof + prior_dof))


def count_excess_sf(observed: float, expected: float, base_observed: float, base_expected: float,
                    dispersion: float = 1.0) -> float:
    """P(a window count this high | baseline + window total), one-sided.

    Under no change the window holds ``expected / (expected + base_expected)`` of the combined count
    (the exact conditional test for two Poisson rates, so the baseline's own uncertainty counts).
    ``dispersion`` > 1 divides counts by it (quasi-likelihood effective sample size).

    >>> round(count_excess_sf(20, 10, 100, 100), 5)   # P(Bin(120, 1/11) >= 20)
    0.00585
    """
    if observed <= 0 or expected <= 0:
        return 1.0
    share = expected / (expected + base_expected)
    dispersion = max(1.0, dispersion)
    trials = (observed + base_observed) / dispersion
    effective_trials = max(1, int(round(trials)))
    effective_observed = min(effective_trials, math.ceil(observed / dispersion - 1e-9))
    share = min(max(share, 1e-12), 1 - 1e-12)
    return float(stats.binom.sf(effective_observed - 1, effective_trials, share))


def share_excess_sf(hits: float, trials: float, base_hits: float, base_trials: float,
                    dispersion: float = 1.0) -> float:
    """One-sided Fisher exact test: is the window's share ``hits / trials`` above the baseline's?

    ``dispersion`` > 1 divides all counts by it before the test.

    >>> round(share_excess_sf(12, 20, 30, 100), 4)   # 60% negative against 30% before
    0.0116
    """
    if hits <= 0 or trials <= 0:
        return 1.0
    scale = max(1.0, dispersion)
    window_hits, window_trials = math.ceil(hits / scale - 1e-9), max(1, int(round(trials / scale)))
    other_hits, other_trials = int(round(base_hits / scale)), int(round(base_trials / scale))
    window_hits = min(window_hits, window_trials)
    total, drawn, successes = window_trials + other_trials, window_trials, window_hits + other_hits
    return float(stats.hypergeom.sf(window_hits - 1, total, successes, drawn))


def scan_p_value(p_values: Sequence[float], sizes: Sequence[float]) -> float:
    """P(the best of nested windows is this extreme) under no change.

    ``p_values`` and ``sizes`` (expected counts) are per window, shortest first; windows are nested, so the
    standardised counts of windows ``a`` and ``b`` correlate by ``sqrt(size_a / size_b)``. The
    Hunter–Worsley bound ``sum P(Z_i ≥ z) − sum P(Z_i ≥ z, Z_i+1 ≥ z)`` at the best window's ``z`` is an
    upper bound below Bonferroni's (which multiplies by the number of windows); the more the windows
    overlap, the lower.
    """
    p_values, sizes = np.asarray(p_values, dtype=float), np.asarray(sizes, dtype=float)
    if len(p_values) == 0:
        return 1.0
    best = float(np.clip(p_values.min(), 1e-300, 1.0))
    if len(p_values) == 1 or best >= 0.5:
        return min(1.0, best * len(p_values))
    z = float(stats.norm.isf(best))
    rho = np.sqrt(np.clip(sizes[:-1] / np.maximum(sizes[1:], 1e-12), 0.0, 1.0))
    both = stats.norm.sf(z) - 2 * special.owens_t(z, np.sqrt((1 - rho) / (1 + rho)))
    return float(min(1.0, len(p_values) * best - np.clip(both, 0.0, best).sum()))


def calendar_days(timestamps: pd.Series) -> pd.Series:
    """Calendar days (naive, UTC for aware timestamps)."""
    moments = pd.to_datetime(timestamps)
    if moments.dt.tz is not None:
        moments = moments.dt.tz_convert("UTC").dt.tz_localize(None)
    return moments.dt.normalize()
