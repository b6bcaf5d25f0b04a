"""Customer counts: retention and churn.

Example:
    >>> retention_rate(customers_start=100, customers_end=110, new_customers=20)
    0.9
    >>> churn_rate(customers_start=100, customers_lost=10)
    0.1
"""

from __future__ import annotations

import math

import pandas as pd


def retention_rate(customers_start: int, customers_end: int, new_customers: int) -> float:
    """(customers at end − new customers) / customers at start."""
    if customers_start <= 0:
        raise ValueError("customers_start must be positive")
    return (customers_end - new_customers) / customers_start


def churn_rate(customers_start: int, customers_lost: int) -> float:
    """Customers lost / customers at start."""
    if customers_start <= 0:
        raise ValueError("customers_start must be positive")
    return customers_lost / customers_start


# -- from a subscriptions table ------------------------------------------------------------------
SUBSCRIPTION_COLUMNS = ("customer_id", "period", "revenue")


def read_subscriptions(path: str) -> pd.DataFrame:
    """Read a subscriptions CSV: one row per customer per period with ``customer_id``, ``period`` (a date in
    the period, e.g. the month) and ``revenue`` (recurring revenue in that period); ``segment`` optional.

    A customer is active in a period when it has a row with revenue > 0.
    """
    from voxlens.core.errors import VoxlensError

    frame = pd.read_csv(path)
    missing = [c for c in SUBSCRIPTION_COLUMNS if c not in frame]
    if missing:
        raise VoxlensError(f"{path}: missing column(s) {', '.join(missing)}; a subscriptions file needs "
                           f"{', '.join(SUBSCRIPTION_COLUMNS)} (segment optional)")
    frame["period"] = pd.to_datetime(frame["period"], errors="coerce")
    frame["revenue"] = pd.to_numeric(frame["revenue"], errors="coerce")
    bad = frame["period"].isna() | frame["revenue"].isna() | frame["customer_id"].isna()
    if bad.any():
        rows = ", ".join(str(i + 2) for i in frame.index[bad][:5])
        raise VoxlensError(f"{path}: unreadable period, revenue or customer_id on line(s) {rows}; fix them and retry")
    return frame


def business_by_period(subscriptions: pd.DataFrame, by: str = "month", segment: str | None = None,
                       gross_margin: float = 1.0) -> pd.DataFrame:
    """Per period (and segment): customers at start/end, new, lost, retention, churn, revenue, net revenue
    retention (NRR), expansion and contraction revenue, ARPU and customer lifetime value.

    - retention = (customers at end − new customers) / customers at start; churn = lost / at start;
    - NRR = this period's revenue from the customers active last period / their revenue last period;
    - expansion = revenue increases of those customers; contraction = decreases of those still active;
    - CLV = ARPU × ``gross_margin`` / churn (the expected revenue over a customer's lifetime).

    Example:
        >>> subs = pd.DataFrame({"customer_id": ["a", "b", "a", "c"], "revenue": [10, 10, 15, 5],
        ...                      "period": pd.to_datetime(["2026-01-05", "2026-01-07", "2026-02-03", "2026-02-09"])})
        >>> business_by_period(subs)[["period", "customers_start", "new", "lost", "retention", "nrr"]].iloc[1:]
               period  customers_start  new  lost  retention   nrr
        1  2026-02-01                2    1     1        0.5  0.75
    """
    from voxlens.metrics.periods import period_start

    frame = subscriptions.copy()
    frame["period"] = period_start(frame["period"], by)
    keys = ["customer_id", "period"] + ([segment] if segment else [])
    if segment:
        frame[segment] = frame[segment].fillna("(none)").astype(str)
    frame = frame.groupby(keys, as_index=False)["revenue"].sum().astype({"revenue": float})
    frame = frame[frame["revenue"] > 0]
    groups = frame.groupby(segment) if segment else [(None, frame)]
    rows = []
    for name, part in groups:
        revenue = part.pivot_table(index="customer_id", columns="period", values="revenue", aggfunc="sum",
                                   fill_value=0.0)
        periods = list(revenue.columns)
        for position, period in enumerate(periods):
            now = revenue[period]
            before = revenue[periods[position - 1]] if position else pd.Series(0.0, index=revenue.index)
            was, active = before > 0, now > 0
            start, end = int(was.sum()), int(active.sum())
            new, lost = int((active & ~was).sum()), int((was & ~active).sum())
            change = (now - before)[was]
            row = {"period": period.date().isoformat(), "customers_start": start, "customers_end": end,
                   "new": new, "lost": lost, "revenue": float(now.sum()),
                   "retention": retention_rate(start, end, new) if start else math.nan,
                   "churn": churn_rate(start, lost) if start else math.nan,
                   "nrr": float(now[was].sum() / before[was].sum()) if start else math.nan,
                   "expansion_revenue": float(change.clip(lower=0).sum()),
                   "contraction_revenue": float(-change[active[was]].clip(upper=0).sum()),
                   "arpu": float(now[active].mean()) if end else math.nan}
            churn = row["churn"]
            row["clv"] = row["arpu"] * gross_margin / churn if churn and not math.isnan(churn) else math.nan
            if segment:
                row = {segment: name, **row}
            rows.append(row)
    return pd.DataFrame(rows)
