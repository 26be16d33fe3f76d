"""Lambda: GET|POST /user/auth."""

from fleet_reports.api.actions import user_auth
from fleet_reports.entry import api_handler

handler = api_handler("/user/auth", user_auth)
