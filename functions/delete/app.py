"""Lambda: GET|POST /report/tracker/delete."""

from fleet_reports.api.actions import delete
from fleet_reports.entry import api_handler

handler = api_handler("/report/tracker/delete", delete)
