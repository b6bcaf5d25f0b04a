"""Collectors: one module per source, all writing through one ingest mechanism (:mod:`voxlens.collectors.base`)."""

from voxlens.collectors.base import Ingest, RowError, RunCounts
from voxlens.collectors.reviews import import_reviews
from voxlens.collectors.survey import import_survey
from voxlens.collectors.survey_formats import import_survey_export
from voxlens.collectors.tickets import import_tickets

__all__ = ["Ingest", "RowError", "RunCounts", "import_reviews", "import_survey", "import_survey_export",
           "import_tickets"]
