"""Lambda: GET|POST /report/tracker/download."""

from fleet_reports.api.actions import download
from fleet_reports.entry import api_handler

handler = api_handler("/report/tracker/download", download)
