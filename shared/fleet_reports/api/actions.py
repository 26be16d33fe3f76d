"""One function per API action: parse, authenticate, authorise, validate, call the service.

Each Lambda handler routes its one path here; every failure is an ApiError that the
resolver of ``api.http`` turns into the envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response

from fleet_reports.api.http import ok
from fleet_reports.api.request import Request, parse_request
from fleet_reports.errors import validate
from fleet_reports.service import auth, limits, reports
from fleet_reports.service.auth import Principal
from fleet_reports.service.models import AuthParams, DownloadParams, GenerateParams, ListParams, ReportIdParams
from fleet_reports.settings import get_settings


def _begin(event: Mapping[str, Any], right: str | None = "reports") -> tuple[Request, Principal]:
    request = parse_request(event, max_body_bytes=get_settings().max_body_bytes)  # 5, 9, 3
    # the request is counted while the user is read (one store round trip less)
    principal, retry_after = auth.authenticate_with(request.hash, _count_request)  # 4, 11
    limits.enforce(principal, limits.REQUESTS, retry_after)  # 15
    if right:
        auth.require_right(principal, right)  # 13
    return request, principal


def _count_request(caller: str) -> int | None:
    return limits.count(caller, limits.REQUESTS)


def generate(event: Mapping[str, Any]) -> Response[str]:
    request, principal = _begin(event)
    limits.check(principal, limits.GENERATES)  # 15
    params = validate(GenerateParams, request.params)  # 7
    report_id = reports.generate(principal, params, iso=request.iso)  # 7, 222, 211, 217, 236, 15
    return ok(id=report_id)


def list_reports(event: Mapping[str, Any]) -> Response[str]:
    request, principal = _begin(event)
    params = validate(ListParams, request.params)  # 7
    page = reports.list_reports(principal, iso=request.iso, limit=params.limit, before_id=params.before_id)
    # Navixy's answer, whole for a pool that fits one page; otherwise also where the next page starts
    more = {} if page.next_before_id is None else {"next_before_id": page.next_before_id}
    return ok(list=page.reports, **more)


def status(event: Mapping[str, Any]) -> Response[str]:
    request, principal = _begin(event)
    params = validate(ReportIdParams, request.params)
    return ok(**reports.status(principal, params.report_id))


def retrieve(event: Mapping[str, Any]) -> Response[str]:
    request, principal = _begin(event)
    params = validate(ReportIdParams, request.params)
    return ok(report=reports.retrieve(principal, params.report_id, iso=request.iso))


def download(event: Mapping[str, Any]) -> Response[Any]:
    request, principal = _begin(event)
    params = validate(DownloadParams, request.params)
    answer = reports.download(principal, params.report_id, params.format, params.headless)
    if answer.url is not None:
        return Response(
            status_code=302,
            headers={"Location": answer.url, "Cache-Control": "no-store"},
            content_type=answer.content_type,
            body="",
        )
    assert answer.data is not None
    return Response(
        status_code=200,
        content_type=answer.content_type,
        headers={"Content-Disposition": answer.content_disposition, "Cache-Control": "private, no-store"},
        body=answer.data,  # bytes: the resolver base64-encodes them for API Gateway
        compress=False,
    )


def delete(event: Mapping[str, Any]) -> Response[str]:
    request, principal = _begin(event)
    params = validate(ReportIdParams, request.params)
    reports.delete(principal, params.report_id)
    return ok()


def user_auth(event: Mapping[str, Any]) -> Response[str]:
    request = parse_request(event, max_body_bytes=get_settings().max_body_bytes)
    params = validate(AuthParams, request.params)
    address = _client_address(event)  # failed sign-ins are counted per address too (15 while locked)
    return ok(type="authenticated", hash=auth.login(params.login, params.password, address))


def _client_address(event: Mapping[str, Any]) -> str | None:
    """The address API Gateway saw the request come from (never a header the client could write)."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    address = identity.get("sourceIp")
    return str(address) if address else None


def user_logout(event: Mapping[str, Any]) -> Response[str]:
    request = parse_request(event, max_body_bytes=get_settings().max_body_bytes)
    auth.logout(request.hash)
    return ok()


def plugin_list(event: Mapping[str, Any]) -> Response[str]:
    from fleet_reports.engine.catalog import describe_plugins

    _begin(event, right=None)
    settings = get_settings()
    spans = {
        "max_time_span": settings.max_time_span,
        "point_report_max_time_span": settings.point_report_max_time_span,
    }
    return ok(list=describe_plugins(spans))


def openapi_document(event: Mapping[str, Any]) -> Response[str]:
    """``GET /openapi.json``: the API's OpenAPI document (``api.openapi``); no hash, no right."""
    from fleet_reports.api.http import JSON
    from fleet_reports.api.openapi import openapi_json

    return Response(status_code=200, content_type=JSON, body=openapi_json(), headers={"Cache-Control": "max-age=300"})
