"""Survey and business metrics, text × metric joins, and emerging-issue detection."""

from metrics.business import churn_rate, retention_rate
from metrics.survey import CesResult, MetricResult, ces, csat, nps, wilson_interval

__all__ = ["CesResult", "MetricResult", "ces", "churn_rate", "csat", "nps", "retention_rate", "wilson_interval"]
