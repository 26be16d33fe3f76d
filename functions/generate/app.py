"""Lambda: GET|POST /report/tracker/generate."""

from fleet_reports.api.actions import generate
from fleet_reports.entry import api_handler

handler = api_handler("/report/tracker/generate", generate)
