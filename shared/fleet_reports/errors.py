"""Error codes of the wire contract (api.md), the exception that carries them, and parameter
validation that names every bad parameter (code 7). Shared by the API and the service layers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# code -> (description, HTTP status)
CODES: dict[int, tuple[str, int]] = {
    1: ("Database error", 500),
    3: ("Wrong hash", 400),
    4: ("User or API key not found or session ended", 400),
    5: ("Wrong request format", 400),
    6: ("Unexpected error", 500),
    7: ("Invalid parameters", 400),
    9: ("Too large request", 412),
    11: ("Access denied", 403),
    13: ("Operation not permitted", 403),
    15: ("Too many requests (rate limit exceeded)", 429),
    111: ("Wrong handler", 400),
    101: ("In demo mode this function is disabled", 403),
    102: ("Wrong login or password", 400),
    204: ("Entity not found", 404),
    211: ("Requested time span is too big", 400),
    217: ("List contains nonexistent entities", 400),
    222: ("Plugin not found", 400),
    229: ("Requested data is not ready yet", 404),
    236: ("Feature unavailable due to tariff restrictions", 402),
}


class ApiError(Exception):
    """An error answered in the envelope: ``{"success": false, "status": {code, description}}``."""

    def __init__(
        self,
        code: int,
        description: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        default, self.http_status = CODES[code]
        self.code = code
        self.description = description or default
        self.errors = errors
        self.extra = extra or {}
        super().__init__(f"{code}: {self.description}")

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"success": False, "status": {"code": self.code, "description": self.description}}
        if self.errors is not None:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


def invalid(parameter: str, error: str) -> ApiError:
    """Code 7 naming one parameter."""
    return ApiError(7, errors=[{"parameter": parameter, "error": error}])


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
    return ApiError(7, errors=errors)


def validate(model: type[M], params: Mapping[str, Any], prefix: str = "") -> M:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise validation_error(exc, prefix) from exc
