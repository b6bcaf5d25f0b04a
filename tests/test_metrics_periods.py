"""Metrics by period and segment, subscription metrics and ticket metrics on hand-computed examples."""

import pandas as pd
import pytest

from voxlens.metrics.business import business_by_period, churn_rate, retention_rate
from voxlens.metrics.periods import survey_by_period, tickets_by_period, topic_series


def test_survey_by_week_and_segment_with_change_p_values():
    responses = pd.DataFrame({
        "submitted_at": pd.to_datetime(["2026-03-02"] * 4 + ["2026-03-09"] * 4 + ["2026-03-03"] * 2),
        "nps": [10, 10, 9, 0, 0, 0, 3, 10, 8, 8],
        "csat": [5, 5, 4, 1, 1, 2, 2, 5, 4, 4],
        "ces": [7, 6, 6, 2, 1, 2, 3, 7, 5, 5],
        "segment": ["pro"] * 8 + ["free"] * 2,
    })
    table = survey_by_period(responses, by="week", segment="segment").set_index(["segment", "period"])
    first, second = table.loc[("pro", "2026-03-02")], table.loc[("pro", "2026-03-09")]
    assert first["nps"] == pytest.approx(50.0) and second["nps"] == pytest.approx(-50.0)
    assert first["csat"] == pytest.approx(75.0) and second["csat"] == pytest.approx(25.0)
    assert second["ces"] == pytest.approx(13 / 4)
    assert pd.isna(first["nps_p_change"]) and 0 < second["nps_p_change"] < 1
    assert table.loc[("free", "2026-03-02"), "nps"] == pytest.approx(0.0)
    assert table["small_sample"].all()


def test_survey_by_month_rejects_an_unknown_period():
    with pytest.raises(ValueError, match="period must be one of"):
        survey_by_period(pd.DataFrame({"submitted_at": [], "nps": []}), by="quarter")


def test_subscriptions_give_retention_churn_nrr_expansion_and_clv():
    subscriptions = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "a", "b", "c", "e"],
        "period": pd.to_datetime(["2026-01-01"] * 4 + ["2026-02-01"] * 4),
        "revenue": [10, 20, 30, 40, 15, 20, 25, 50],
    })
    february = business_by_period(subscriptions, by="month").set_index("period").loc["2026-02-01"]
    # start 4 (a–d), end 4 (a, b, c, e), new 1 (e), lost 1 (d)
    assert february["retention"] == pytest.approx(retention_rate(4, 4, 1)) == pytest.approx(0.75)
    assert february["churn"] == pytest.approx(churn_rate(4, 1)) == pytest.approx(0.25)
    assert february["nrr"] == pytest.approx((15 + 20 + 25) / 100)       # revenue kept from last month's customers
    assert february["expansion_revenue"] == pytest.approx(5)            # a: 10 → 15
    assert february["contraction_revenue"] == pytest.approx(5)          # c: 30 → 25
    assert february["arpu"] == pytest.approx(110 / 4)
    assert february["clv"] == pytest.approx((110 / 4) / 0.25)


def test_tickets_by_period_measure_response_resolution_and_reopen_rate():
    tickets = pd.DataFrame({
        "opened_at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 10:00", "2026-03-03 12:00"]),
        "first_response_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-02 13:00", None]),
        "resolved_at": pd.to_datetime(["2026-03-03 09:00", "2026-03-02 22:00", None]),
        "reopened": [1, 0, None],
    })
    row = tickets_by_period(tickets, by="week").iloc[0]
    assert row["tickets"] == 3 and row["resolved"] == 2
    assert row["first_response_hours_median"] == pytest.approx(2.0)   # 1 h and 3 h
    assert row["resolution_hours_mean"] == pytest.approx((24 + 12) / 2)
    assert row["reopen_rate"] == pytest.approx(50.0) and row["small_sample"]


def test_topic_series_give_daily_volume_share_and_negative_share():
    items = pd.DataFrame({"created_at": pd.to_datetime(["2026-03-02 08:00", "2026-03-02 18:00", "2026-03-02 19:00",
                                                        "2026-03-03 09:00"]),
                          "topic_id": [4, 4, 7, 4], "label": ["negative", "neutral", "positive", "negative"]})
    series = topic_series(items).set_index(["period", "topic_id"])
    monday = series.loc[(pd.Timestamp("2026-03-02"), 4)]
    assert monday["items"] == 2 and monday["share"] == pytest.approx(2 / 3) and monday["negative_share"] == 0.5
    assert series.loc[(pd.Timestamp("2026-03-03"), 4), "share"] == 1.0
