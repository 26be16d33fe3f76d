"""Request rates per caller: error 15 (HTTP 429, with ``Retry-After``) beyond.

API Gateway's stage throttling (template ``ApiRateLimit``, ``GenerateRateLimit``) caps all callers
together; these limits are each caller's own, so one client flooding the API is refused without
slowing anyone else. A caller is a user (its sessions together) or one API key, which has a
count of its own (``Principal.caller``), as on Navixy.

Every action that authenticates a caller counts it against :data:`REQUESTS` (the six report
actions and ``/plugin/list``); ``generate``, the one that starts work, also against
:data:`GENERATES`. ``/user/auth`` has no caller yet and ``/user/logout`` ends one: the stage's
throttling covers them, and ``/user/auth`` counts its failed sign-ins per login and per client
address instead (:func:`fleet_reports.service.auth.login`, :mod:`fleet_reports.store.attempts`).
A refused request is not counted.

The counts are fixed windows in the reports table (:mod:`fleet_reports.store.ratelimit`): one
conditional write per request and limit. When the count cannot be written (the table refused
after the client's retries) the request goes through, logged: the limit protects the service, it
must not become the outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools import Logger

from fleet_reports.errors import CODES, ApiError, ErrorCode
from fleet_reports.service.auth import Principal
from fleet_reports.settings import get_settings
from fleet_reports.store import ratelimit
from fleet_reports.store.errors import StoreError

logger = Logger(child=True)


@dataclass(frozen=True)
class RateLimit:
    """One limit: ``setting`` requests per ``window_s`` seconds per caller."""

    name: str
    """The limit as the error names it (``limit`` in the envelope) and as its counts are kept."""
    setting: Literal["caller_rate_limit", "caller_generate_limit"]
    window_s: int
    what: str
    per: str


REQUESTS = RateLimit("requests_per_second", "caller_rate_limit", 1, "requests", "a second")
"""Every authenticated action (template ``CallerRateLimit``)."""

GENERATES = RateLimit("generates_per_minute", "caller_generate_limit", 60, "generate requests", "a minute")
"""``/report/tracker/generate`` on top of :data:`REQUESTS` (template ``CallerGenerateLimit``)."""


def check(principal: Principal, limit: RateLimit) -> None:
    """Count this request of the caller; error 15 naming the limit when it is over it."""
    enforce(principal, limit, count(principal.caller or f"USER#{principal.user.user_id}", limit))


def count(caller: str, limit: RateLimit) -> int | None:
    """Count this request of ``caller`` (``Principal.caller``); the seconds until it may ask
    again when it is over the limit, else None (also when the count could not be written)."""
    allowed: int = getattr(get_settings(), limit.setting)
    try:
        return ratelimit.take(caller, limit.name, allowed, limit.window_s) or None
    except StoreError:
        logger.warning("the request could not be counted; let through", extra={"limit": limit.name})
        return None


def enforce(principal: Principal, limit: RateLimit, retry_after: int | None) -> None:
    """Error 15 naming the limit when :func:`count` said the caller is over it."""
    if not retry_after:
        return
    caller = principal.caller or f"USER#{principal.user.user_id}"
    allowed: int = getattr(get_settings(), limit.setting)
    whose = "per API key" if caller.startswith("KEY#") else "per user"
    logger.info("rate limit exceeded", extra={"limit": limit.name, "user_id": principal.user.user_id})
    raise ApiError(
        ErrorCode.TOO_MANY_REQUESTS,
        f"{CODES[ErrorCode.TOO_MANY_REQUESTS][0]}: at most {allowed} {limit.what} {limit.per} {whose}",
        extra={"limit": limit.name, "retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )
