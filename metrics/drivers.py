"""Key drivers: which topics, said with which sentiment, explain differences in NPS, CSAT or CES.

Each response becomes one row: its score (NPS as +100 promoter / 0 passive / −100 detractor, so the mean
is the NPS; CSAT as 100 for a top-two-box answer; CES as the answer) and one 0/1 column per
"topic × sentiment" its text mentions. An ordinary
least-squares regression with heteroskedasticity-robust (HC3) standard errors (``statsmodels``) gives each
driver's ``coefficient``: the score difference associated with mentioning it, holding the others fixed,
with a 95% interval and a p-value. ``importance`` = coefficient × share of responses with the driver (its
contribution to the overall score); the table is sorted by its absolute value.

Example:
    >>> import pandas as pd
    >>> items = pd.DataFrame({"item_id": [f"i{k}" for k in range(50)], "topic_id": [0] * 30 + [1] * 20,
    ...                       "label": ["negative"] * 30 + ["positive"] * 20, "score": 0.0,
    ...                       "response_id": [f"r{k}" for k in range(50)]})
    >>> responses = pd.DataFrame({"response_id": [f"r{k}" for k in range(70)],
    ...                           "nps": [k % 4 for k in range(30)] + [9 + k % 2 for k in range(20)] + [8] * 20})
    >>> key_drivers(items, responses)[["driver", "coefficient", "n"]].round(1)
                   driver  coefficient   n
    0  topic 0 (negative)       -100.0  30
    1  topic 1 (positive)        100.0  20
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from voxlens.metrics.joins import OUTLIER, ces_on_scale, csat_top_box

DRIVER_COLUMNS = ["driver", "topic_id", "sentiment", "coefficient", "ci_low", "ci_high", "p_value", "n",
                  "share", "importance"]
TARGETS = ("nps", "csat", "ces")


def response_scores(responses: pd.DataFrame, target: str = "nps") -> pd.Series:
    """Per-response score whose mean is the metric: NPS ±100/0, CSAT 100/0, CES the (rescaled) answer."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if target == "nps":
        answer = pd.to_numeric(responses["nps"], errors="coerce")
        return pd.Series(np.select([answer >= 9, answer <= 6], [100.0, -100.0], 0.0),
                         index=responses.index).where(answer.notna())
    if target == "csat":
        return 100 * csat_top_box(responses)
    return ces_on_scale(responses)


def key_drivers(items: pd.DataFrame, responses: pd.DataFrame, target: str = "nps",
                min_count: int = 5) -> pd.DataFrame:
    """Rank topic × sentiment drivers of ``target`` ("nps", "csat" or "ces"); see the module docstring.

    Drivers mentioned by fewer than ``min_count`` scored responses are left out (too few to estimate).
    """
    import statsmodels.api as sm

    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    answers = responses.drop_duplicates("response_id").set_index("response_id")
    if target not in answers:
        return pd.DataFrame(columns=DRIVER_COLUMNS)
    score = response_scores(answers, target).dropna()
    linked = items.dropna(subset=["response_id"]).copy()
    linked = linked[linked["response_id"].isin(score.index)]
    linked["topic_id"] = pd.to_numeric(linked["topic_id"], errors="coerce").fillna(OUTLIER).astype(int)
    linked = linked[linked["topic_id"] != OUTLIER]
    if linked.empty or len(score) < 3:
        return pd.DataFrame(columns=DRIVER_COLUMNS)
    linked["driver"] = [f"topic {t} ({s})" for t, s in zip(linked["topic_id"], linked["label"].astype(str))]
    indicators = (pd.crosstab(linked["response_id"], linked["driver"]).clip(upper=1)
                  .reindex(score.index, fill_value=0).astype(float))
    counts = indicators.sum()
    indicators = indicators.loc[:, counts >= min_count]
    if indicators.empty:
        return pd.DataFrame(columns=DRIVER_COLUMNS)
    design = sm.add_constant(indicators, has_constant="add")
    fit = sm.OLS(score.to_numpy(), design.to_numpy()).fit(cov_type="HC3")
    names = list(design.columns)
    interval = np.asarray(fit.conf_int(0.05))
    meta = linked.drop_duplicates("driver").set_index("driver")
    rows = []
    for position, name in enumerate(names):
        if name not in indicators:
            continue
        coefficient = float(fit.params[position])
        share = float(indicators[name].mean())
        rows.append({"driver": name, "topic_id": int(meta.loc[name, "topic_id"]),
                     "sentiment": str(meta.loc[name, "label"]), "coefficient": coefficient,
                     "ci_low": float(interval[position, 0]), "ci_high": float(interval[position, 1]),
                     "p_value": float(fit.pvalues[position]) if not math.isnan(fit.pvalues[position]) else 1.0,
                     "n": int(indicators[name].sum()), "share": share, "importance": coefficient * share})
    table = pd.DataFrame(rows, columns=DRIVER_COLUMNS)
    return table.reindex(table["importance"].abs().sort_values(ascending=False).index).reset_index(drop=True)
