"""Collectors: one module per source, all writing through one ingest mechanism (:mod:`collectors.base`)."""

from collectors.base import Ingest, RowError, RunCounts
from collectors.reviews import import_reviews
from collectors.survey import import_survey
from collectors.survey_formats import import_survey_export
from collectors.tickets import import_tickets

__all__ = ["Ingest", "RowError", "RunCounts", "import_reviews", "import_survey", "import_survey_export",
           "import_tickets"]
