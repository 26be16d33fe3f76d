"""Lambda: GET|POST /plugin/list."""

from fleet_reports.api.actions import plugin_list
from fleet_reports.entry import api_handler

handler = api_handler("/plugin/list", plugin_list)
