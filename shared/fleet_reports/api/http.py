"""Powertools resolver factory: one place where every failure becomes the envelope."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from fleet_reports.errors import ApiError, ErrorCode
from fleet_reports.settings import ConfigError
from fleet_reports.store.errors import StoreError

logger = Logger(child=True)

JSON = "application/json; charset=utf-8"


def json_response(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=dict(headers) if headers else None,
    )


def ok(**fields: Any) -> Response[str]:
    return json_response({"success": True, **fields})


def error_response(err: ApiError) -> Response[str]:
    return json_response(err.body(), err.http_status, err.headers)


def make_app() -> APIGatewayRestResolver:
    """A REST resolver whose errors are all JSON in the service's envelope."""
    app = APIGatewayRestResolver()

    @app.exception_handler(ApiError)  # type: ignore[untyped-decorator]
    def _api_error(exc: ApiError) -> Response[str]:
        if exc.http_status >= 500:
            logger.error("request failed", extra={"code": int(exc.code), "description": exc.description})
        return error_response(exc)

    @app.exception_handler(StoreError)  # type: ignore[untyped-decorator]
    def _store_error(exc: StoreError) -> Response[str]:
        logger.exception("store call failed")
        return error_response(ApiError(ErrorCode.DATABASE_ERROR))

    @app.exception_handler(ConfigError)  # type: ignore[untyped-decorator]
    def _misconfigured(exc: ConfigError) -> Response[str]:
        # The variables at fault go to the log (fleet_reports.settings logged them too), not to the caller.
        correlation = _correlation_id(app)
        logger.error("function misconfigured", extra={"correlation_id": correlation, "variables": list(exc.variables)})
        return error_response(
            ApiError(
                ErrorCode.UNEXPECTED,
                f"Unexpected error: the service is misconfigured (correlation id {correlation})",
                extra={"correlation_id": correlation},
            )
        )

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        correlation = _correlation_id(app)
        logger.exception("unexpected error", extra={"correlation_id": correlation})
        return error_response(
            ApiError(
                ErrorCode.UNEXPECTED,
                f"Unexpected error (correlation id {correlation})",
                extra={"correlation_id": correlation},
            )
        )

    @app.not_found
    def _not_found(exc: Exception) -> Response[str]:
        return error_response(
            ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: unknown action or method")
        )

    return app


def _correlation_id(app: APIGatewayRestResolver) -> str:
    try:
        rid = app.current_event.request_context.request_id
    except Exception:  # pragma: no cover - the event always has one on API Gateway
        rid = None
    return str(rid or uuid.uuid4())


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route on the resource path (stage and base-path mappings never matter)."""
    resource = event.get("resource")
    if isinstance(resource, str) and resource.startswith("/"):
        event = {**event, "path": resource}
    return app.resolve(event, context)
