"""Metric definitions, checked against hand-computed values."""

import math

import pytest

from voxlens.metrics import ces, churn_rate, csat, nps, retention_rate, wilson_interval


def test_nps_is_percent_promoters_minus_percent_detractors():
    # 3 promoters (9, 10, 10), 2 passives (7, 8), 5 detractors (0, 3, 5, 6, 6) of 10
    result = nps([9, 10, 10, 7, 8, 0, 3, 5, 6, 6])
    assert result.value == pytest.approx(30 - 50)
    assert result.n == 10
    # variance of p_P - p_D for one multinomial sample: (pP + pD - (pP - pD)^2) / n
    half = 1.959963984540054 * math.sqrt((0.3 + 0.5 - 0.04) / 10) * 100
    assert (result.ci_low, result.ci_high) == pytest.approx((-20 - half, -20 + half))


def test_nps_boundaries_6_is_detractor_7_and_8_passive_9_promoter():
    assert nps([6]).value == -100
    assert nps([7, 8]).value == 0
    assert nps([9]).value == 100


def test_csat_counts_only_the_top_two_boxes():
    assert csat([5, 4, 3, 2, 1]).value == pytest.approx(40.0)
    assert csat([7, 6, 5], scale=7).value == pytest.approx(200 / 3)
    low, high = wilson_interval(2, 5)
    assert (csat([5, 4, 3, 2, 1]).ci_low, csat([5, 4, 3, 2, 1]).ci_high) == pytest.approx((100 * low, 100 * high))


def test_wilson_interval_matches_the_textbook_value():
    # 8 of 10: Wilson 95% interval is [0.490, 0.943]
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_ces_reports_mean_and_easy_share_and_can_flip_the_scale():
    result = ces([7, 6, 5, 2], scale=7)
    assert result.value == pytest.approx(5.0)
    assert result.easy_share == pytest.approx(50.0)
    flipped = ces([1, 2, 3, 6], scale=7, higher_is_easier=False)
    assert flipped.value == pytest.approx(5.0) and flipped.easy_share == pytest.approx(50.0)
    assert 1 <= result.ci_low <= result.value <= result.ci_high <= 7


def test_missing_answers_are_skipped_and_off_scale_answers_rejected():
    assert nps([10, None, float("nan")]).n == 1
    with pytest.raises(ValueError, match="NPS answer 11 at position 1 is outside 0–10"):
        nps([10, 11])
    with pytest.raises(ValueError, match="outside 1–5"):
        csat([0])
    with pytest.raises(ValueError, match="not a number"):
        ces(["easy"])


def test_small_samples_are_flagged_and_empty_input_gives_no_value():
    assert nps([10] * 5).small_sample
    assert not nps([10] * 30).small_sample
    empty = csat([])
    assert empty.n == 0 and math.isnan(empty.value)
    assert str(empty) == "CSAT: no answers"


def test_retention_and_churn_follow_their_definitions():
    assert retention_rate(customers_start=200, customers_end=210, new_customers=30) == pytest.approx(0.9)
    assert churn_rate(customers_start=200, customers_lost=20) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        churn_rate(0, 1)
