"""Topic × survey metrics and key drivers on small hand-computed examples."""

import numpy as np
import pandas as pd
import pytest

from voxlens.metrics.drivers import key_drivers
from voxlens.metrics.joins import topic_metrics


def _responses(nps, csat=None, ces=None):
    n = len(nps)
    return pd.DataFrame({"response_id": [f"r{k}" for k in range(n)], "nps": nps,
                         "csat": csat if csat is not None else [None] * n,
                         "ces": ces if ces is not None else [None] * n, "csat_scale": 5, "ces_scale": 7,
                         "submitted_at": pd.Timestamp("2026-03-01"), "segment": "pro"})


def test_topic_metrics_match_hand_computed_values():
    # r0, r1 mention "delivery" (topic 0, negative); r2 mentions "app" (topic 1, positive); r3 has no text.
    items = pd.DataFrame({"item_id": ["a", "b", "c", "d"], "topic_id": [0, 0, 1, -1],
                          "label": ["negative", "negative", "positive", "neutral"], "score": [-0.9, -0.7, 0.8, 0.0],
                          "response_id": ["r0", "r1", "r2", None]})
    responses = _responses(nps=[0, 6, 10, 9], csat=[1, 4, 5, 5], ces=[2, 4, 7, 6])
    table = topic_metrics(items, responses).set_index("topic_id")
    delivery, app = table.loc[0], table.loc[1]
    assert delivery["items"] == 2 and delivery["share"] == pytest.approx(0.5)
    assert delivery["net_sentiment"] == pytest.approx(-100)
    assert delivery["nps_with"] == pytest.approx(-100)       # two detractors
    assert delivery["nps_without"] == pytest.approx(100)     # 10 and 9: two promoters
    assert delivery["nps_impact"] == pytest.approx(0 - 100)  # overall NPS is 0
    assert delivery["csat_with"] == pytest.approx(50)        # 1 and 4 → one top-box answer
    assert delivery["ces_with"] == pytest.approx(3.0) and delivery["ces_without"] == pytest.approx(6.5)
    assert app["nps_without"] == pytest.approx(-100 / 3)     # 0, 6, 9 → 1 promoter, 2 detractors
    assert app["nps_impact"] == pytest.approx(100 / 3)
    assert app["n_responses"] == 1
    assert list(table.index) == [0, 1]                       # outliers get no row


def test_topic_metrics_put_seven_point_csat_on_its_own_top_boxes():
    items = pd.DataFrame({"item_id": ["a", "b"], "topic_id": [0, 0], "label": "neutral", "score": 0.0,
                          "response_id": ["r0", "r1"]})
    responses = _responses(nps=[8, 8], csat=[6, 5])
    responses["csat_scale"] = 7
    assert topic_metrics(items, responses).loc[0, "csat_with"] == pytest.approx(50)


def test_key_drivers_find_the_topic_that_lowers_nps():
    rng = np.random.default_rng(3)
    n = 400
    late = rng.random(n) < 0.3        # complaints about late parcels: detractors
    praise = ~late & (rng.random(n) < 0.4)   # praise for couriers: promoters
    base = rng.choice([7, 8, 9, 10], size=n)
    score = np.where(late, rng.choice([0, 3, 5, 6], size=n), np.where(praise, rng.choice([9, 10], size=n), base))
    responses = _responses(nps=score.tolist())
    rows = [(f"l{k}", 0, "negative", f"r{k}") for k in np.flatnonzero(late)]
    rows += [(f"p{k}", 1, "positive", f"r{k}") for k in np.flatnonzero(praise)]
    rows += [(f"n{k}", 2, "neutral", f"r{k}") for k in range(0, n, 7)]   # a topic unrelated to the score
    items = pd.DataFrame(rows, columns=["item_id", "topic_id", "label", "response_id"]).assign(score=0.0)
    drivers = key_drivers(items, responses, target="nps")
    assert drivers.iloc[0]["driver"] == "topic 0 (negative)"
    top = drivers.iloc[0]
    assert top["coefficient"] < -100 and top["ci_high"] < 0 and top["p_value"] < 1e-6
    praise_row = drivers.set_index("driver").loc["topic 1 (positive)"]
    assert praise_row["coefficient"] > 0 and praise_row["ci_low"] > 0
    neutral = drivers.set_index("driver").loc["topic 2 (neutral)"]
    assert neutral["ci_low"] < 0 < neutral["ci_high"]          # no effect: the interval spans zero
    assert list(drivers.columns[:8]) == ["driver", "topic_id", "sentiment", "coefficient", "ci_low", "ci_high",
                                         "p_value", "n"]


def test_key_drivers_reject_an_unknown_target():
    items = pd.DataFrame(columns=["item_id", "topic_id", "label", "score", "response_id"])
    with pytest.raises(ValueError, match="target must be one of"):
        key_drivers(items, _responses(nps=[1, 2, 3]), target="revenue")
