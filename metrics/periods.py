"""Survey and ticket metrics by period (day/week/month) and segment, as DataFrames.

Each survey row carries every metric with its 95% interval, ``small_sample`` when a metric has fewer than
30 answers, and ``*_p_change``: the p-value of the change from the previous period of the same segment
(see :mod:`voxlens.metrics.compare`).

Example:
    >>> import pandas as pd
    >>> responses = pd.DataFrame({"submitted_at": pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-10"]),
    ...                           "nps": [10, 0, 9], "csat": [5, 2, 4], "ces": [6, 3, 7], "segment": "pro"})
    >>> survey_by_period(responses, by="week")[["period", "n", "nps", "csat"]]
           period  n    nps   csat
    0  2026-03-02  2    0.0   50.0
    1  2026-03-09  1  100.0  100.0
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from voxlens.metrics.compare import compare
from voxlens.metrics.joins import ces_on_scale
from voxlens.metrics.survey import SMALL_SAMPLE, ces, csat, nps, wilson_interval

PERIODS = ("day", "week", "month")


def period_start(timestamps: pd.Series, by: str) -> pd.Series:
    """The first day of each timestamp's day, week (Monday) or month."""
    if by not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {by!r}")
    moments = pd.to_datetime(timestamps, utc=True).dt.tz_localize(None)
    if by == "day":
        return moments.dt.normalize()
    if by == "week":
        return (moments - pd.to_timedelta(moments.dt.day_of_week, unit="D")).dt.normalize()
    return moments.dt.to_period("M").dt.start_time


def _groups(frame: pd.DataFrame, time_column: str, by: str, segment: str | None) -> tuple[pd.DataFrame, list[str]]:
    frame = frame.dropna(subset=[time_column]).copy()
    frame["period"] = period_start(frame[time_column], by)
    keys = ["period"]
    if segment:
        if segment not in frame:
            raise ValueError(f"no column {segment!r} to segment by; columns are {', '.join(frame.columns)}")
        frame[segment] = frame[segment].fillna("(none)").astype(str)
        keys = [segment, "period"]
    return frame, keys


def survey_by_period(responses: pd.DataFrame, by: str = "week", segment: str | None = None,
                     csat_scale: int | None = None, ces_scale: int | None = None) -> pd.DataFrame:
    """NPS, CSAT and CES per period (and segment) with intervals and a change test against the previous period."""
    frame, keys = _groups(responses, "submitted_at", by, segment)
    if "csat_scale" in frame and csat_scale is None:
        csat_scale = int(frame["csat_scale"].dropna().mode().iloc[0]) if frame["csat_scale"].notna().any() else 5
    if "ces_scale" in frame and ces_scale is None and frame["ces"].notna().any():
        frame["ces"] = ces_on_scale(frame).round()
        ces_scale = int(frame["ces_scale"].dropna().mode().iloc[0]) if frame["ces_scale"].notna().any() else 7
    csat_scale, ces_scale = csat_scale or 5, ces_scale or 7
    rows, previous = [], {}
    for key, group in frame.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        row["period"] = row["period"].date().isoformat()
        row["n"] = len(group)
        segment_key = key[:-1]
        before = previous.get(segment_key)
        for name, function, kwargs in (("nps", nps, {}), ("csat", csat, {"scale": csat_scale}),
                                       ("ces", ces, {"scale": ces_scale})):
            answers = group[name].dropna().tolist() if name in group else []
            result = function(answers, **kwargs)
            row.update({name: result.value, f"{name}_ci_low": result.ci_low, f"{name}_ci_high": result.ci_high,
                        f"{name}_n": result.n})
            if name == "ces":
                row.update(ces_easy_share=result.easy_share)
            change = (compare(before[name], answers, metric=name, **({"scale": kwargs["scale"]} if kwargs else {}))
                      if before is not None and answers and before[name] else None)
            row[f"{name}_p_change"] = change.p_value if change else math.nan
            row[f"{name}_answers"] = answers
        row["small_sample"] = min(row["nps_n"] or math.inf, row["csat_n"] or math.inf,
                                  row["ces_n"] or math.inf) < SMALL_SAMPLE
        previous[segment_key] = {name: row.pop(f"{name}_answers") for name in ("nps", "csat", "ces")}
        rows.append(row)
    return pd.DataFrame(rows)


def tickets_by_period(tickets: pd.DataFrame, by: str = "week", segment: str | None = None) -> pd.DataFrame:
    """Ticket counts, first response and resolution time (hours: median and mean) and reopen rate (Wilson CI).

    ``tickets`` needs ``opened_at``; ``first_response_at``, ``resolved_at`` and ``reopened`` may be missing.
    """
    frame, keys = _groups(tickets, "opened_at", by, segment)
    opened = pd.to_datetime(frame["opened_at"], utc=True)
    for column, target in (("first_response_at", "_first"), ("resolved_at", "_resolve")):
        times = pd.to_datetime(frame[column], utc=True) if column in frame else pd.Series(pd.NaT, index=frame.index)
        hours = (times - opened).dt.total_seconds() / 3600
        frame[target] = hours.where(hours >= 0)
    frame["_reopened"] = pd.to_numeric(frame.get("reopened", np.nan), errors="coerce").gt(0).astype(float).where(
        pd.to_numeric(frame.get("reopened", np.nan), errors="coerce").notna() & frame["_resolve"].notna())
    rows = []
    for key, group in frame.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        row["period"] = row["period"].date().isoformat()
        reopened = group["_reopened"].dropna()
        low, high = wilson_interval(int(reopened.sum()), len(reopened))
        row.update(tickets=len(group), resolved=int(group["_resolve"].notna().sum()),
                   first_response_hours_median=group["_first"].median(),
                   first_response_hours_mean=group["_first"].mean(),
                   resolution_hours_median=group["_resolve"].median(),
                   resolution_hours_mean=group["_resolve"].mean(),
                   reopen_rate=100 * reopened.mean() if len(reopened) else math.nan,
                   reopen_ci_low=100 * low, reopen_ci_high=100 * high,
                   small_sample=len(reopened) < SMALL_SAMPLE)
        rows.append(row)
    return pd.DataFrame(rows)


def topic_series(items: pd.DataFrame, by: str = "day") -> pd.DataFrame:
    """Per period and topic: ``items``, ``share`` of the period's items and ``negative_share`` (fractions).

    ``items`` needs ``created_at``, ``topic_id`` and ``label`` (or a boolean ``negative``).

    Example:
        >>> items = pd.DataFrame({"created_at": pd.to_datetime(["2026-03-02"] * 3), "topic_id": [0, 0, 1],
        ...                       "label": ["negative", "positive", "negative"]})
        >>> topic_series(items)[["topic_id", "items", "negative_share"]].values.tolist()
        [[0.0, 2.0, 0.5], [1.0, 1.0, 1.0]]
    """
    frame, _ = _groups(items, "created_at", by, None)
    negative = frame["negative"] if "negative" in frame else frame["label"].eq("negative")
    frame = frame.assign(_negative=negative.astype(float))
    table = frame.groupby(["period", "topic_id"]).agg(items=("_negative", "size"),
                                                     negative_share=("_negative", "mean")).reset_index()
    table["share"] = table["items"] / table.groupby("period")["items"].transform("sum")
    return table[["period", "topic_id", "items", "share", "negative_share"]]
