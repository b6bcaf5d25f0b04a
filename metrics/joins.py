"""Text × metrics: what each topic's responses score against the responses that do not mention it.

Example:
    >>> import pandas as pd
    >>> items = pd.DataFrame({"item_id": ["a", "b", "c"], "topic_id": [0, 0, 1],
    ...                       "label": ["negative", "negative", "positive"], "score": [-0.8, -0.6, 0.9],
    ...                       "response_id": ["r1", "r2", "r3"]})
    >>> responses = pd.DataFrame({"response_id": ["r1", "r2", "r3", "r4"], "nps": [0, 6, 10, 9],
    ...                           "csat": [1, 2, 5, 5], "ces": [2, 3, 7, 6], "csat_scale": 5, "ces_scale": 7,
    ...                           "submitted_at": pd.Timestamp("2026-01-01"), "segment": "pro"})
    >>> topic_metrics(items, responses)[["topic_id", "nps_with", "nps_without", "nps_impact"]].round(1)
       topic_id  nps_with  nps_without  nps_impact
    0         0    -100.0        100.0      -100.0
    1         1     100.0        -33.3        33.3
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from voxlens.metrics.survey import nps_counts, nps_from_counts

OUTLIER = -1
TOPIC_METRIC_COLUMNS = [
    "topic_id", "items", "share", "net_sentiment", "nps_with", "nps_without", "nps_impact", "csat_with",
    "csat_without", "ces_with", "ces_without", "n_responses",
]


def csat_top_box(responses: pd.DataFrame) -> pd.Series:
    """1.0 for a top-two-box CSAT answer on its own scale (4–5 of 5, 6–7 of 7), 0.0 otherwise, NaN if missing."""
    scale = responses.get("csat_scale", pd.Series(5, index=responses.index)).fillna(5).astype(float)
    answer = pd.to_numeric(responses["csat"], errors="coerce").astype(float)
    return (answer >= scale - 1).astype(float).where(answer.notna())


def ces_on_scale(responses: pd.DataFrame, scale: int | None = None) -> pd.Series:
    """CES answers rescaled linearly onto one scale (default: the most common one), so means compare."""
    answer = pd.to_numeric(responses["ces"], errors="coerce").astype(float)
    own = responses.get("ces_scale", pd.Series(7, index=responses.index)).fillna(7).astype(float)
    if scale is None:
        scale = int(own[answer.notna()].mode().iloc[0]) if answer.notna().any() else 7
    return 1 + (answer - 1) * (scale - 1) / (own - 1)


def _nps(values: pd.Series) -> float:
    values = values.dropna().to_numpy(dtype=int)
    return nps_from_counts(*nps_counts(values)).value if len(values) else math.nan


def _mean(values: pd.Series, factor: float = 1.0) -> float:
    values = values.dropna()
    return float(values.mean()) * factor if len(values) else math.nan


def topic_metrics(items: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """One row per topic: volume, share of items, net sentiment and survey metrics with/without it.

    - ``items``: items on the topic; ``share``: of all items (outliers included in the total);
    - ``net_sentiment``: % positive − % negative items, from −100 to 100;
    - ``nps_with`` / ``nps_without``: NPS of responses whose text mentions the topic / of all others;
    - ``nps_impact``: overall NPS − NPS without the topic's responses (negative = the topic drags NPS down);
    - ``csat_*``: CSAT in % (top two boxes of each answer's scale); ``ces_*``: mean CES on the most common scale;
    - ``n_responses``: responses mentioning the topic.
    """
    frame = items.copy()
    frame["topic_id"] = pd.to_numeric(frame["topic_id"], errors="coerce").fillna(OUTLIER).astype(int)
    total = len(frame)
    answers = responses.drop_duplicates("response_id").set_index("response_id")
    answers = answers.assign(_top=csat_top_box(answers) if "csat" in answers else np.nan,
                             _ces=ces_on_scale(answers) if "ces" in answers else np.nan)
    nps_all = answers["nps"] if "nps" in answers else pd.Series(dtype=float)
    overall_nps = _nps(nps_all)
    rows = []
    for topic, group in frame[frame["topic_id"] != OUTLIER].groupby("topic_id"):
        labels = group["label"].astype(str)
        linked = set(group["response_id"].dropna()) & set(answers.index)
        mentions = answers.index.isin(list(linked))
        with_, without = answers[mentions], answers[~mentions]
        nps_without = _nps(without["nps"]) if "nps" in answers else math.nan
        rows.append({
            "topic_id": int(topic),
            "items": len(group),
            "share": len(group) / total if total else math.nan,
            "net_sentiment": 100 * float((labels == "positive").mean() - (labels == "negative").mean()),
            "nps_with": _nps(with_["nps"]) if "nps" in answers else math.nan,
            "nps_without": nps_without,
            "nps_impact": overall_nps - nps_without if not math.isnan(nps_without) else math.nan,
            "csat_with": _mean(with_["_top"], 100), "csat_without": _mean(without["_top"], 100),
            "ces_with": _mean(with_["_ces"]), "ces_without": _mean(without["_ces"]),
            "n_responses": int(mentions.sum()),
        })
    return pd.DataFrame(rows, columns=TOPIC_METRIC_COLUMNS)
