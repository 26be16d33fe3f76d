"""Error codes of the wire contract (docs/api.md), the exception that carries them, and parameter
validation that names every bad parameter (code 7). Shared by the API and the service layers."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ErrorCode(IntEnum):
    """The wire's error codes (docs/api.md, "Error codes"); the number is what the client sees."""

    DATABASE_ERROR = 1  # a store call failed after retries
    WRONG_HASH = 3  # ``hash`` is not 32 lowercase hex characters
    NOT_AUTHENTICATED = 4  # no hash, unknown hash, or the session ended
    WRONG_REQUEST_FORMAT = 5  # the body is not parseable JSON or form
    UNEXPECTED = 6  # unexpected error, a misconfigured function, a failed report's retrieve/download
    INVALID_PARAMETERS = 7  # names each bad parameter
    TOO_LARGE_REQUEST = 9  # body over 1 MiB
    ACCESS_DENIED = 11  # blocked user
    NOT_PERMITTED = 13  # a sub-user without the right
    TOO_MANY_REQUESTS = 15  # over the parallel cap of generating reports, or over a caller's request rate
    DEMO_MODE = 101  # ``delete`` by a demo-mode user
    WRONG_LOGIN = 102  # wrong login or password
    WRONG_HANDLER = 111  # an unknown action
    NOT_FOUND = 204  # a report id unknown or another user's (never tells which)
    TIME_SPAN_TOO_BIG = 211  # period longer than the plugin's limit
    ENTITY_NOT_FOUND = 217  # a tracker, sensor, zone or employee unknown or not visible ("nonexistent entities")
    PLUGIN_NOT_FOUND = 222  # unknown plugin
    NOT_READY = 229  # ``retrieve``/``download`` before the report is done
    TARIFF_RESTRICTED = 236  # a tracker whose tariff has no reports


# code -> (description, HTTP status)
CODES: dict[ErrorCode, tuple[str, int]] = {
    ErrorCode.DATABASE_ERROR: ("Database error", 500),
    ErrorCode.WRONG_HASH: ("Wrong hash", 400),
    ErrorCode.NOT_AUTHENTICATED: ("User or API key not found or session ended", 400),
    ErrorCode.WRONG_REQUEST_FORMAT: ("Wrong request format", 400),
    ErrorCode.UNEXPECTED: ("Unexpected error", 500),
    ErrorCode.INVALID_PARAMETERS: ("Invalid parameters", 400),
    ErrorCode.TOO_LARGE_REQUEST: ("Too large request", 412),
    ErrorCode.ACCESS_DENIED: ("Access denied", 403),
    ErrorCode.NOT_PERMITTED: ("Operation not permitted", 403),
    ErrorCode.TOO_MANY_REQUESTS: ("Too many requests (rate limit exceeded)", 429),
    ErrorCode.WRONG_HANDLER: ("Wrong handler", 400),
    ErrorCode.DEMO_MODE: ("In demo mode this function is disabled", 403),
    ErrorCode.WRONG_LOGIN: ("Wrong login or password", 400),
    ErrorCode.NOT_FOUND: ("Entity not found", 404),
    ErrorCode.TIME_SPAN_TOO_BIG: ("Requested time span is too big", 400),
    ErrorCode.ENTITY_NOT_FOUND: ("List contains nonexistent entities", 400),
    ErrorCode.PLUGIN_NOT_FOUND: ("Plugin not found", 400),
    ErrorCode.NOT_READY: ("Requested data is not ready yet", 404),
    ErrorCode.TARIFF_RESTRICTED: ("Feature unavailable due to tariff restrictions", 402),
}


class ApiError(Exception):
    """An error answered in the envelope: ``{"success": false, "status": {code, description}}``.

    ``code`` is an :class:`ErrorCode` (a plain int of the table is accepted too); the wire gets
    its number. ``headers`` go with the answer (``Retry-After`` of a rate limit)."""

    def __init__(
        self,
        code: ErrorCode | int,
        description: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = ErrorCode(code)
        default, self.http_status = CODES[self.code]
        self.description = description or default
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(f"{int(self.code)}: {self.description}")

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"success": False, "status": {"code": int(self.code), "description": self.description}}
        if self.errors is not None:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


def invalid(parameter: str, error: str) -> ApiError:
    """Code 7 naming one parameter."""
    return ApiError(ErrorCode.INVALID_PARAMETERS, errors=[{"parameter": parameter, "error": error}])


def _loc_name(loc: tuple[int | str, ...]) -> str:
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else part
    return name or "body"


def validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    """Code 7 naming every bad parameter."""
    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        name = _loc_name(loc)
        if prefix:
            name = f"{prefix}.{name}" if name != "body" else prefix
        if err["type"] == "parameter" and "parameter" in err.get("ctx", {}):
            name = str(err["ctx"]["parameter"])  # a validator that names a nested parameter itself
        errors.append({"parameter": name, "error": str(err["msg"])})
    return ApiError(ErrorCode.INVALID_PARAMETERS, errors=errors)


def validate(model: type[M], params: Mapping[str, Any], prefix: str = "") -> M:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise validation_error(exc, prefix) from exc
