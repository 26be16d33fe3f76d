"""Lambda: GET|POST /report/tracker/list."""

from fleet_reports.api.actions import list_reports
from fleet_reports.entry import api_handler

handler = api_handler("/report/tracker/list", list_reports)
