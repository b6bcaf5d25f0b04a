"""Customer counts: retention and churn.

Example:
    >>> retention_rate(customers_start=100, customers_end=110, new_customers=20)
    0.9
    >>> churn_rate(customers_start=100, customers_lost=10)
    0.1
"""

from __future__ import annotations


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
