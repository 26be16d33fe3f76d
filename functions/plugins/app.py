"""Lambda: GET|POST /plugin/list, and GET /openapi.json (contract.DOCUMENT_ROUTES)."""

from fleet_reports.api.actions import openapi_document, plugin_list
from fleet_reports.entry import api_handler

handler = api_handler("/plugin/list", plugin_list, documents={"/openapi.json": openapi_document})
