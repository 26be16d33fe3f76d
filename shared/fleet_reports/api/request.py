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
import zlib
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


def _too_large(limit: int, how: str = "") -> ApiError:
    return ApiError(ErrorCode.TOO_LARGE_REQUEST, f"Too large request: the body is over {limit} bytes{how}")


def _body_bytes(event: Mapping[str, Any], limit: int) -> bytes:
    """The body as sent, refused (9) on its size before it is decoded: a base64 body (API Gateway
    sends every body so, BinaryMediaTypes */*) by the size its text stands for."""
    raw = event.get("body")
    if raw is None:
        return b""
    text = str(raw)
    if event.get("isBase64Encoded"):
        if len(text) // 4 * 3 - text.endswith("=") - text.endswith("==") > limit:
            raise _too_large(limit)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: body is not valid base64") from exc
    if len(text) > limit:  # every character is at least one byte
        raise _too_large(limit)
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _gunzip(data: bytes, limit: int) -> bytes:
    """A ``Content-Encoding: gzip`` body, inflated no further than ``limit`` bytes (9 beyond: a
    gzip bomb costs at most that much memory); 5 when it is not one whole gzip stream."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: body is not valid gzip") from exc
    if len(out) > limit:
        raise _too_large(limit, " once decompressed")
    if not inflater.eof or inflater.unused_data:
        raise ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: body is not valid gzip")
    return out


def _body_text(event: Mapping[str, Any], headers: Mapping[str, str], limit: int) -> str:
    data = _body_bytes(event, limit)
    if data and headers.get("content-encoding", "").strip().lower() in ("gzip", "x-gzip"):
        data = _gunzip(data, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(ErrorCode.WRONG_REQUEST_FORMAT, "Wrong request format: body is not UTF-8") from exc


def parse_request(event: Mapping[str, Any], *, max_body_bytes: int) -> Request:
    """Parameters merged from the query string and the body (the body wins); code 5 or 9 on a bad body.

    ``max_body_bytes`` bounds the body as sent and, when it is gzip'd, once inflated."""
    headers = _headers(event)
    query = _query(event)
    params: dict[str, Any] = _decode_text_values(query)
    text = _body_text(event, headers, max_body_bytes)
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
