"""The detector's statistics on small hand-checked cases."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from voxlens.metrics.emerging import IssueDetector
from voxlens.metrics.emerging_stats import (count_excess_sf, pearson_dispersion, pooled_dispersion, scan_p_value,
                                    share_excess_sf, shrunk_dispersion, weekday_shares)


def test_count_test_is_the_conditional_binomial_test():
    # 2 items today where 1 is expected, 1 in a baseline that expected 1: given 3 items, each is in the
    # window with probability 1/2, so P(X >= 2) = 3/8 + 1/8.
    assert count_excess_sf(2, 1.0, 1, 1.0) == pytest.approx(0.5)
    assert count_excess_sf(0, 1.0, 5, 5.0) == 1.0


def test_overdispersion_weakens_the_count_test():
    plain = count_excess_sf(30, 15.0, 400, 400.0)
    assert plain < 1e-3
    assert count_excess_sf(30, 15.0, 400, 400.0, dispersion=2.0) > 10 * plain


def test_share_test_is_fishers_exact_test():
    # both window items negative, none of the 2 baseline ones: 1 way in C(4, 2) = 6 to draw both negatives.
    assert share_excess_sf(2, 2, 0, 2) == pytest.approx(1 / 6)
    exact = stats.fisher_exact([[12, 8], [30, 70]], alternative="greater").pvalue
    assert share_excess_sf(12, 20, 30, 100) == pytest.approx(exact)


def test_scan_correction_lies_between_the_best_window_and_bonferroni():
    p_values, sizes = [0.001, 0.004, 0.02], [8.0, 16.0, 24.0]
    corrected = scan_p_value(p_values, sizes)
    assert 0.001 < corrected < 3 * 0.001
    z = stats.norm.isf(0.001)
    pairs = [stats.multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([-z, -z])
             for r in (np.sqrt(8 / 16), np.sqrt(16 / 24))]
    assert corrected == pytest.approx(3 * 0.001 - sum(pairs), rel=1e-4)
    assert scan_p_value([0.001, 0.001], [10.0, 10.0]) == pytest.approx(0.001)   # the same window twice


def test_weekday_shares_follow_a_real_weekday_pattern_and_ignore_noise():
    weekday = np.tile(np.arange(7), 4)
    totals = np.full(28, 200.0)
    busy_mondays = np.where(weekday == 0, 40.0, 10.0)
    shares = weekday_shares(busy_mondays, totals, weekday)
    assert shares[0] > 0.18 and shares[1:].max() < 0.065
    flat = np.array([10, 9, 11, 10, 10, 12, 8] * 4, dtype=float)   # within binomial noise of 5%
    assert np.ptp(weekday_shares(flat, totals, weekday)) < 0.002


def test_dispersion_is_pooled_across_topics_and_shrunk_per_topic():
    observed, trials, share = np.array([5.0, 15.0, 10.0]), np.full(3, 100.0), np.full(3, 0.1)
    chi_square, dof = pearson_dispersion(observed, trials, share)
    assert chi_square == pytest.approx((25 + 25 + 0) / 9) and dof == 2
    assert shrunk_dispersion(chi_square, dof, pooled=1.0, prior_dof=2) == pytest.approx((chi_square + 2) / 4)
    assert shrunk_dispersion(0.0, 10, pooled=0.8) == 1.0
    steady = [(27.0, 27)] * 9 + [(2700.0, 27)]   # one erratic topic among ten
    assert pooled_dispersion(steady) == pytest.approx(1.0)


def _quiet_overdispersed_stream(seed):
    """60 days, 10 topics whose daily shares wobble well beyond binomial noise (gamma day effects)."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in pd.date_range("2026-05-04", periods=60, freq="D"):
        weights = rng.gamma(8.0, size=10)
        topic = rng.choice(10, size=rng.poisson(250), p=weights / weights.sum())
        rows.append(pd.DataFrame({"created_at": day, "topic_id": topic, "negative": rng.random(len(topic)) < 0.3}))
    return pd.concat(rows, ignore_index=True)


def test_an_overdispersed_quiet_stream_raises_nothing_once_dispersion_is_estimated():
    detector = IssueDetector()
    alarms = sum(len(detector.detect(_quiet_overdispersed_stream(seed), as_of=pd.Timestamp("2026-07-02"))) > 0
                 for seed in range(5))
    assert detector.dispersion_["volume"] > 2
    assert alarms == 0


def test_a_mostly_negative_topic_that_turns_all_negative_is_flagged():
    """The share cannot rise 1.5-fold from 75%, but its odds can: the effect is judged on the odds ratio."""
    rng = np.random.default_rng(3)
    rows = []
    for day in pd.date_range("2026-05-04", periods=42, freq="D"):
        late = day >= pd.Timestamp("2026-06-09")
        for topic, size in ((0, 60), (1, 60), (2, 40)):
            negative = rng.random(size) < (0.99 if topic == 2 and late else 0.75 if topic == 2 else 0.3)
            rows.append(pd.DataFrame({"created_at": day, "topic_id": topic, "negative": negative}))
    issues = IssueDetector().detect(pd.concat(rows, ignore_index=True))
    assert issues["topic_id"].tolist() == [2]
    assert issues.iloc[0]["kind"] == "negativity_spike" and issues.iloc[0]["statistic"] < 1.5
