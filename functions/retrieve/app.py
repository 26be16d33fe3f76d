"""Lambda: GET|POST /report/tracker/retrieve."""

from fleet_reports.api.actions import retrieve
from fleet_reports.entry import api_handler

handler = api_handler("/report/tracker/retrieve", retrieve)
