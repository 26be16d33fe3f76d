"""Lambda: GET|POST /report/tracker/status."""

from fleet_reports.api.actions import status
from fleet_reports.entry import api_handler

handler = api_handler("/report/tracker/status", status)
