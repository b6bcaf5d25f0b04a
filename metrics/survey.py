"""CSAT, NPS and CES with 95% confidence intervals.

Definitions:
- CSAT: share of answers in the top two boxes (4–5 on a 1–5 scale, 6–7 on 1–7), in percent.
- NPS: answers 0–10; %promoters (9–10) − %detractors (0–6), from −100 to 100.
- CES: mean answer on 1–5 or 1–7 (higher = easier unless ``higher_is_easier=False``), plus the share of
  "easy" answers (the top two boxes after orienting the scale).

Missing answers (None, NaN) are skipped; answers off the scale raise ``ValueError``.

Example:
    >>> nps([10, 9, 8, 6, 0]).value
    0.0
    >>> round(csat([5, 4, 3, 1]).value, 1)
    50.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy import stats

Z95 = 1.959963984540054
SMALL_SAMPLE = 30


@dataclass(frozen=True)
class MetricResult:
    """A metric value with its sample size and 95% interval."""

    name: str
    value: float
    n: int
    ci_low: float
    ci_high: float

    @property
    def small_sample(self) -> bool:
        """Fewer than 30 answers: the interval is wide; say so rather than hide it."""
        return self.n < SMALL_SAMPLE

    def __str__(self) -> str:
        if self.n == 0:
            return f"{self.name}: no answers"
        note = " (small sample)" if self.small_sample else ""
        return f"{self.name} {self.value:.1f} [{self.ci_low:.1f}, {self.ci_high:.1f}] n={self.n}{note}"


@dataclass(frozen=True)
class CesResult(MetricResult):
    """CES: ``value`` is the mean; ``easy_share`` (percent) with its own interval."""

    easy_share: float = math.nan
    easy_ci_low: float = math.nan
    easy_ci_high: float = math.nan
    scale: int = 7


def _answers(values: Iterable[float | int | None], low: int, high: int, name: str) -> np.ndarray:
    clean = []
    for position, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} answer {value!r} at position {position} is not a number") from None
        if number != int(number) or not low <= number <= high:
            raise ValueError(f"{name} answer {value!r} at position {position} is outside {low}–{high}")
        clean.append(int(number))
    return np.asarray(clean, dtype=int)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion, as fractions.

    Example:
        >>> [round(x, 3) for x in wilson_interval(8, 10)]
        [0.49, 0.943]
    """
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def _share(name: str, successes: int, n: int) -> MetricResult:
    if n == 0:
        return MetricResult(name, math.nan, 0, math.nan, math.nan)
    low, high = wilson_interval(successes, n)
    return MetricResult(name, 100 * successes / n, n, 100 * low, 100 * high)


def csat(answers: Iterable[float | int | None], scale: int = 5) -> MetricResult:
    """CSAT in percent: share of top-two-box answers on a 1–``scale`` scale, Wilson interval."""
    if scale not in (5, 7):
        raise ValueError("CSAT scale must be 5 or 7")
    values = _answers(answers, 1, scale, "CSAT")
    return _share("CSAT", int((values >= scale - 1).sum()), len(values))


def nps_counts(values: np.ndarray) -> tuple[int, int, int]:
    """(promoters, passives, detractors) of 0–10 answers."""
    return int((values >= 9).sum()), int(((values >= 7) & (values <= 8)).sum()), int((values <= 6).sum())


def nps_from_counts(promoters: int, passives: int, detractors: int) -> MetricResult:
    """NPS with a normal interval from the multinomial variance of %promoters − %detractors."""
    n = promoters + passives + detractors
    if n == 0:
        return MetricResult("NPS", math.nan, 0, math.nan, math.nan)
    p_promoter, p_detractor = promoters / n, detractors / n
    score = p_promoter - p_detractor
    variance = (p_promoter + p_detractor - score * score) / n
    half = Z95 * math.sqrt(max(variance, 0.0))
    return MetricResult("NPS", 100 * score, n, max(-100.0, 100 * (score - half)), min(100.0, 100 * (score + half)))


def nps(answers: Iterable[float | int | None]) -> MetricResult:
    """Net Promoter Score (−100..100) of 0–10 answers, with a 95% interval."""
    return nps_from_counts(*nps_counts(_answers(answers, 0, 10, "NPS")))


def ces(answers: Iterable[float | int | None], scale: int = 7, higher_is_easier: bool = True) -> CesResult:
    """Customer Effort Score: mean (t interval) and share of easy answers (Wilson interval)."""
    if scale not in (5, 7):
        raise ValueError("CES scale must be 5 or 7")
    values = _answers(answers, 1, scale, "CES")
    if not higher_is_easier:
        values = scale + 1 - values
    n = len(values)
    if n == 0:
        return CesResult("CES", math.nan, 0, math.nan, math.nan, scale=scale)
    mean = float(values.mean())
    if n > 1 and values.std(ddof=1) > 0:
        half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    else:
        half = 0.0 if n > 1 else math.nan
    easy = int((values >= scale - 1).sum())
    low, high = wilson_interval(easy, n)
    low_mean, high_mean = max(1.0, mean - half), min(float(scale), mean + half)
    return CesResult("CES", mean, n, low_mean, high_mean, easy_share=100 * easy / n,
                     easy_ci_low=100 * low, easy_ci_high=100 * high, scale=scale)
