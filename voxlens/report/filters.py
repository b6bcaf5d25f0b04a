"""Which part of the store a report covers: dates, sources and survey segments.

Example:
    >>> ReportFilter(since="2026-09-01", sources=("appstore",)).describe()
    'from 2026-09-01 · source appstore'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from voxlens.core.errors import InputError


def _day(value: str | date | None, option: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        return pd.Timestamp(value if isinstance(value, date) else date.fromisoformat(str(value).strip()))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. {option} 2026-09-01") from exc


@dataclass(frozen=True)
class ReportFilter:
    """Dates (inclusive), sources and survey segments a report covers; empty means everything.

    A segment belongs to survey responses, so ``segments`` keeps survey answers of those segments and
    the items written with them; reviews and posts have no segment and drop out.
    """

    since: str | date | None = None
    until: str | date | None = None
    sources: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    @property
    def start(self) -> pd.Timestamp | None:
        return _day(self.since, "--since")

    @property
    def end(self) -> pd.Timestamp | None:
        return _day(self.until, "--until")

    def describe(self) -> str:
        """One line for the report header ("" when nothing is filtered)."""
        parts = []
        if self.start is not None:
            parts.append(f"from {self.start.date()}")
        if self.end is not None:
            parts.append(f"until {self.end.date()}")
        if self.sources:
            parts.append(("source " if len(self.sources) == 1 else "sources ") + ", ".join(self.sources))
        if self.segments:
            parts.append(("segment " if len(self.segments) == 1 else "segments ") + ", ".join(self.segments))
        return " · ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"since": None if self.start is None else self.start.date().isoformat(),
                "until": None if self.end is None else self.end.date().isoformat(),
                "sources": list(self.sources), "segments": list(self.segments)}

    def check(self, items: pd.DataFrame, responses: pd.DataFrame) -> None:
        """Raise :class:`InputError` (saying what exists) for an empty store or a filter matching nothing."""
        if items.empty and responses.empty:
            raise InputError("the store has no feedback yet: import some first "
                             "(voxlens import reviews FILE, voxlens import survey FILE), then voxlens analyze")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise InputError(f"--since {self.start.date()} is after --until {self.end.date()}: swap them")
        known = sorted(set(items["source"]) | set(responses["source"]))
        unknown = [s for s in self.sources if s not in known]
        if unknown:
            raise InputError(f"no source named {', '.join(unknown)} in the store; sources: {', '.join(known)}")
        segments = sorted(responses["segment"].dropna().unique())
        unknown = [s for s in self.segments if s not in segments]
        if unknown:
            raise InputError(f"no segment named {', '.join(unknown)} in the store; segments: "
                             f"{', '.join(segments) or 'none (import a survey with a segment column)'}")

    def _keep(self, frame: pd.DataFrame, time_column: str) -> pd.Series:
        keep = pd.Series(True, index=frame.index)
        times = pd.to_datetime(frame[time_column])
        if self.start is not None:
            keep &= times >= self.start
        if self.end is not None:
            keep &= times < self.end + pd.Timedelta(days=1)
        if self.sources:
            keep &= frame["source"].isin(self.sources)
        if self.segments:
            keep &= frame["segment"].isin(self.segments)
        return keep

    def items(self, items: pd.DataFrame) -> pd.DataFrame:
        """Items in the dates, sources and segments (items need ``created_at``, ``source``, ``segment``)."""
        return items[self._keep(items, "created_at")].reset_index(drop=True)

    def responses(self, responses: pd.DataFrame) -> pd.DataFrame:
        """Survey responses in the dates, sources and segments."""
        return responses[self._keep(responses, "submitted_at")].reset_index(drop=True)

    def periods(self, *days: pd.Series, period_days: int = 30) -> tuple[tuple[str | None, str | None], ...]:
        """The reported period and the one of equal length before it, as ISO date pairs.

        Without ``since``/``until`` the period is the last ``period_days`` days with data.
        """
        known = pd.concat([d.dropna() for d in days]) if days else pd.Series(dtype="datetime64[ns]")
        if known.empty and (self.start is None or self.end is None):
            return (None, None), (None, None)
        end = self.end if self.end is not None else known.max().normalize()
        start = self.start if self.start is not None else end - pd.Timedelta(days=period_days - 1)
        length = end - start + pd.Timedelta(days=1)
        previous = (start - length, start - pd.Timedelta(days=1))
        return ((start.date().isoformat(), end.date().isoformat()),
                (previous[0].date().isoformat(), previous[1].date().isoformat()))

    def issues(self, records: list[dict[str, Any]], items: pd.DataFrame) -> list[dict[str, Any]]:
        """Issues whose window overlaps the dates; with sources or segments, only their evidence and
        issues that still have evidence remain."""
        kept = []
        allowed = set(zip(items["source"], items["external_id"]))
        for issue in records:
            if self.start is not None and pd.Timestamp(issue["end"]) < self.start:
                continue
            if self.end is not None and pd.Timestamp(issue["start"]) > self.end:
                continue
            if self.sources or self.segments:
                evidence = [e for e in issue["evidence"] if (e["source"], e["external_id"]) in allowed]
                if not evidence:
                    continue
                issue = {**issue, "evidence": evidence}
            kept.append(issue)
        return kept
