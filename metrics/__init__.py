"""Survey and business metrics, text × metric joins, and emerging-issue detection."""

from voxlens.metrics.business import business_by_period, churn_rate, read_subscriptions, retention_rate
from voxlens.metrics.compare import Comparison, compare
from voxlens.metrics.drivers import key_drivers
from voxlens.metrics.joins import topic_metrics
from voxlens.metrics.periods import survey_by_period, tickets_by_period, topic_series
from voxlens.metrics.survey import CesResult, MetricResult, ces, csat, nps, wilson_interval

__all__ = [
    "CesResult", "Comparison", "MetricResult", "business_by_period", "ces", "churn_rate", "compare", "csat",
    "key_drivers", "nps", "read_subscriptions", "retention_rate", "survey_by_period", "tickets_by_period",
    "topic_metrics", "topic_series", "wilson_interval",
]
