"""Has a metric changed between two periods or two segments? Difference, 95% interval and p-value.

- NPS: the two samples are independent, so the variance of the difference is the sum of each NPS's
  multinomial variance; two-sided z-test.
- CSAT and CES "easy" share: difference of two proportions, Newcombe (Wilson-based) interval and a
  two-sided z-test (``statsmodels``).
- CES mean: Welch's t-test and interval (``scipy``).

Example:
    >>> result = compare([10] * 60 + [0] * 40, [10] * 40 + [0] * 60, metric="nps")
    >>> round(result.difference, 1), round(result.p_value, 3)
    (-40.0, 0.004)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy import stats

from voxlens.metrics.survey import Z95, MetricResult, _answers, ces, csat, nps

METRICS = ("nps", "csat", "ces")


@dataclass(frozen=True)
class Comparison:
    """``after`` − ``before``: the difference with its 95% interval and a two-sided p-value."""

    metric: str
    before: MetricResult
    after: MetricResult
    difference: float
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def small_sample(self) -> bool:
        return self.before.small_sample or self.after.small_sample

    def __str__(self) -> str:
        note = " (small sample)" if self.small_sample else ""
        return (f"{self.metric.upper()} {self.before.value:.1f} → {self.after.value:.1f}: "
                f"{self.difference:+.1f} [{self.ci_low:+.1f}, {self.ci_high:+.1f}], p={self.p_value:.3g}{note}")


def _nps_variance(values: np.ndarray) -> float:
    n = len(values)
    promoters, detractors = (values >= 9).mean(), (values <= 6).mean()
    return (promoters + detractors - (promoters - detractors) ** 2) / n


def compare(before: Iterable[float | int | None], after: Iterable[float | int | None], metric: str = "nps",
            scale: int | None = None, higher_is_easier: bool = True) -> Comparison:
    """Compare two independent samples of answers (e.g. last month vs this month, or two segments).

    ``scale`` is the CSAT/CES scale (default 5 for CSAT, 7 for CES). For CES the comparison is on the mean.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    before, after = list(before), list(after)
    if metric == "nps":
        first, second = nps(before), nps(after)
        a, b = _answers(before, 0, 10, "NPS"), _answers(after, 0, 10, "NPS")
        if not len(a) or not len(b):
            return Comparison(metric, first, second, math.nan, math.nan, math.nan, math.nan)
        difference = (second.value - first.value) / 100
        se = math.sqrt(_nps_variance(a) + _nps_variance(b))
        if se > 0:
            p_value = float(2 * stats.norm.sf(abs(difference) / se))
        else:  # every answer identical in both samples
            p_value = 1.0 if difference == 0 else 0.0
        return Comparison(metric, first, second, 100 * difference, 100 * (difference - Z95 * se),
                          100 * (difference + Z95 * se), p_value)
    if metric == "csat":
        scale = scale or 5
        first, second = csat(before, scale=scale), csat(after, scale=scale)
        return _proportions(metric, first, second)
    scale = scale or 7
    first, second = ces(before, scale, higher_is_easier), ces(after, scale, higher_is_easier)
    a = _answers(before, 1, scale, "CES").astype(float)
    b = _answers(after, 1, scale, "CES").astype(float)
    if not higher_is_easier:
        a, b = scale + 1 - a, scale + 1 - b
    if len(a) < 2 or len(b) < 2 or (a.std() == 0 and b.std() == 0):
        difference = second.value - first.value
        return Comparison(metric, first, second, difference, math.nan, math.nan, math.nan)
    test = stats.ttest_ind(b, a, equal_var=False)
    interval = test.confidence_interval(0.95)
    return Comparison(metric, first, second, float(b.mean() - a.mean()), float(interval.low),
                      float(interval.high), float(test.pvalue))


def _proportions(metric: str, first: MetricResult, second: MetricResult) -> Comparison:
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    if first.n == 0 or second.n == 0:
        return Comparison(metric, first, second, math.nan, math.nan, math.nan, math.nan)
    hits = np.array([round(second.value * second.n / 100), round(first.value * first.n / 100)])
    sizes = np.array([second.n, first.n])
    low, high = confint_proportions_2indep(hits[0], sizes[0], hits[1], sizes[1], method="newcomb")
    pooled = hits.sum() / sizes.sum()
    p_value = 1.0 if pooled in (0.0, 1.0) else float(proportions_ztest(hits, sizes)[1])
    return Comparison(metric, first, second, second.value - first.value, 100 * float(low), 100 * float(high),
                      p_value)
