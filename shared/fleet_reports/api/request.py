"""Turning an API Gateway (REST, v1) event into parameters and credentials.

Every action accepts POST JSON, POST form and GET. In GET and form requests arrays and
objects are JSON text (``trackers=[669673]``). The session hash is looked up in the body's
root, then the query string, then ``Authorization: NVX <hash>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fleet_reports.errors import ApiError, ErrorCode

HASH_RE = re.compile(r"[0-9a-f]{32}")  # use fullmatch
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Request:
    params: dict[str, Any]
    hash: str | None
    iso: bool


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items() if v is not None}


def _query(event: Mapping[str, Any]) -> dict[str, str]:
    multi = event.get("multiValueQueryStringParameters") or {}
    single = event.get("queryStringParameters") or {}
    out = {str(k): str(v) for k, v in single.items() if v is not None}
    for k, values in multi.items():
        if values:
            out[str(k)] = str(values[-1])
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str) -> Any:
    """Strict JSON: ValueError (with a short reason) for bad syntax, NaN/Infinity, numbers too
    long to convert, or nesting too deep for the parser; never another exception."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    except ValueError as exc:
        raise ValueError(str(exc).split(";")[0][:120]) from exc


def _decode_text_values(values: Mapping[str, str]) -> dict[str, Any]:
    """Form and query values: JSON text for arrays and objects, plain strings otherwise."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        text = value.strip()
        if text[:1] in ("[", "{"):
            try:
                out[key] = loads(text)
                continue
            except ValueError:
                pass  # left as text; the parameter's validation names it
        out[key] = value
    return out


def _body_text(event: Mapping[str, Any], limit: int) -> str:
    raw = event.get("body")
    if raw is None:
        return ""
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: body is not valid base64") from exc
    else:
        data = str(raw).encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise ApiError(ErrorCode.TOO_LARGE_REQUEST, f"Too large request: the body is over {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: body is not UTF-8") from exc


def parse_request(event: Mapping[str, Any], *, max_body_bytes: int) -> Request:
    """Parameters merged from the query string and the body (the body wins); code 5 or 9 on a bad body."""
    headers = _headers(event)
    query = _query(event)
    params: dict[str, Any] = _decode_text_values(query)
    text = _body_text(event, max_body_bytes)
    if text.strip():
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        is_json = ctype == "application/json" or ctype.endswith("+json")
        if not is_json:
            # No, an odd, or curl's default form content type (`curl -d '{...}'`): a body that
            # opens a JSON object is JSON (no form field starts with a brace).
            is_json = text.lstrip()[:1] == "{"
        if is_json:
            try:
                body = loads(text)
            except ValueError as exc:
                raise ApiError(
                    ErrorCode.WRONG_REQUEST_FORMAT, f"Wrong request format: body is not valid JSON ({exc})"
                ) from exc
            if not isinstance(body, dict):
                raise ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: the JSON body must be an object")
            params.update(body)
        else:
            try:
                pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
            except ValueError as exc:
                raise ApiError(
                    ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: body is not a valid form"
                ) from exc
            params.update(_decode_text_values(dict(pairs)))

    credential: str | None = None
    if "hash" in params and params["hash"] is not None:
        credential = str(params["hash"])
    elif "hash" in query:
        credential = query["hash"]
    else:
        auth = headers.get("authorization", "")
        if auth[:4].upper() == "NVX ":
            credential = auth[4:].strip()
    if credential is not None and not HASH_RE.fullmatch(credential):
        raise ApiError(ErrorCode.WRONG_HASH)

    iso = str(params.get("iso_datetime", "")).lower() in _TRUE or (headers.get("nvx-iso-datetime", "").lower() in _TRUE)
    return Request(params=params, hash=credential, iso=iso)
