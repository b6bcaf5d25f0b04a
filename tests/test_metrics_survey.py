"""CSAT, NPS and CES: exact values on hand-computed answers, interval coverage, and period comparisons."""

import math

import numpy as np
import pytest

from voxlens.metrics import ces, csat, nps
from voxlens.metrics.compare import compare


def test_nps_counts_promoters_minus_detractors():
    # 3 promoters (9, 10, 10), 2 passives (7, 8), 5 detractors (0..6) of 10 → 30% − 50% = −20
    result = nps([10, 10, 9, 8, 7, 6, 5, 3, 1, 0])
    assert result.value == pytest.approx(-20.0)
    assert result.n == 10 and result.small_sample
    # variance of p − d for one multinomial sample: (p + d − (p − d)²) / n = (0.8 − 0.04) / 10
    half = 1.959963984540054 * math.sqrt(0.076)
    assert result.ci_low == pytest.approx(100 * (-0.2 - half))
    assert result.ci_high == pytest.approx(100 * (-0.2 + half))
    assert "small sample" in str(result)


def test_csat_is_the_top_two_box_share_with_a_wilson_interval():
    result = csat([5, 4, 4, 3, 2, 1, 5, 5, 4, 1])   # 6 of 10 answers are 4 or 5
    assert result.value == pytest.approx(60.0)
    # Wilson 95% for 6/10, computed by hand: centre (0.6 + 1.92/10)/1.384, half-width 1.96·√(0.024 + 0.00096)/1.384
    assert result.ci_low == pytest.approx(31.27, abs=0.01)
    assert result.ci_high == pytest.approx(83.18, abs=0.01)
    assert csat([7, 6, 5, 1], scale=7).value == pytest.approx(50.0)


def test_ces_reports_mean_and_easy_share_and_can_flip_the_scale():
    result = ces([7, 6, 5, 2], scale=7)
    assert result.value == pytest.approx(5.0) and result.easy_share == pytest.approx(50.0)
    flipped = ces([1, 2, 3, 6], scale=7, higher_is_easier=False)   # 1 = easiest → 7 after flipping
    assert flipped.value == pytest.approx(5.0) and flipped.easy_share == pytest.approx(50.0)
    assert ces([5, 4, 1], scale=5).easy_share == pytest.approx(200 / 3)


def test_answers_off_the_scale_are_rejected_with_their_position():
    with pytest.raises(ValueError, match="position 1 is outside 0–10"):
        nps([9, 11])
    with pytest.raises(ValueError, match="outside 1–5"):
        csat([6])


def test_missing_answers_are_skipped_and_an_empty_sample_is_reported_not_hidden():
    assert nps([10, None, float("nan"), 0]).n == 2
    empty = csat([])
    assert empty.n == 0 and math.isnan(empty.value) and str(empty) == "CSAT: no answers"


@pytest.mark.parametrize("metric", ["nps", "csat"])
def test_95_percent_intervals_cover_the_true_value_about_95_percent_of_the_time(metric):
    rng = np.random.default_rng(7)
    probabilities = np.full(11, 0.04)
    probabilities[[7, 8]] = 0.12
    probabilities[[9, 10]] = 0.2
    probabilities /= probabilities.sum()
    true_nps = 100 * (probabilities[9:].sum() - probabilities[:7].sum())
    true_csat = 100 * 0.7
    covered, trials = 0, 2000
    for _ in range(trials):
        if metric == "nps":
            result, truth = nps(rng.choice(11, size=120, p=probabilities)), true_nps
        else:
            result, truth = csat(rng.choice([5, 1], size=120, p=[0.7, 0.3])), true_csat
        covered += result.ci_low <= truth <= result.ci_high
    # a 95% interval over 2,000 samples: coverage within 93–97% (binomial sd ≈ 0.5 points)
    assert 0.93 <= covered / trials <= 0.97


def test_compare_detects_a_real_nps_drop_and_not_a_null_one():
    rng = np.random.default_rng(1)
    before = rng.choice([10, 8, 3], size=400, p=[0.5, 0.3, 0.2])
    worse = rng.choice([10, 8, 3], size=400, p=[0.35, 0.3, 0.35])
    same = rng.choice([10, 8, 3], size=400, p=[0.5, 0.3, 0.2])
    drop = compare(before, worse, metric="nps")
    assert drop.difference < -15 and drop.ci_high < 0 and drop.p_value < 0.001
    null = compare(before, same, metric="nps")
    assert null.ci_low < 0 < null.ci_high and null.p_value > 0.05


def test_compare_csat_and_ces_give_a_difference_interval_and_p_value():
    result = compare([5] * 30 + [1] * 20, [5] * 20 + [1] * 30, metric="csat")   # 60% → 40%
    assert result.difference == pytest.approx(-20.0)
    assert result.ci_low < -20 < result.ci_high < 0 and 0.01 < result.p_value < 0.1
    effort = compare([6, 7, 6, 5, 7, 6], [3, 2, 4, 3, 2, 3], metric="ces", scale=7)
    assert effort.difference == pytest.approx(17 / 6 - 37 / 6) and effort.p_value < 0.001
    assert effort.small_sample and "small sample" in str(effort)


def test_nps_difference_intervals_cover_the_true_change_about_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    p_before, p_after = [0.5, 0.3, 0.2], [0.4, 0.3, 0.3]       # promoters, passives, detractors
    truth = 100 * ((0.4 - 0.3) - (0.5 - 0.2))
    covered = 0
    for _ in range(1000):
        before = rng.choice([10, 8, 2], size=150, p=p_before)
        after = rng.choice([10, 8, 2], size=150, p=p_after)
        result = compare(before, after, metric="nps")
        covered += result.ci_low <= truth <= result.ci_high
    assert 0.925 <= covered / 1000 <= 0.975
