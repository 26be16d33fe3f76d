"""Lambda: GET|POST /user/logout."""

from fleet_reports.api.actions import user_logout
from fleet_reports.entry import api_handler

handler = api_handler("/user/logout", user_logout)
