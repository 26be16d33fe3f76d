"""Request counts per caller, in the reports table: fixed windows, one item per window.

Keys (pk / sk):
  RATE#<caller> / <limit>#<window start, epoch s, 12 digits>   {n, ttl}: requests counted in it

``<caller>`` is ``USER#<id>`` (a user's sessions together) or ``KEY#<digest>`` (one API key; the
first half of its SHA-256, never the key). Counting a request is one conditional UpdateItem,
``ADD n 1`` while ``n`` is under the limit: a new window is a new item, so nothing is read or
reset, and every item expires (TTL) a little after its window ends; nothing reads an old one.
"""

from __future__ import annotations

import math
import time
from typing import Any

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import error_code, store_call, table
from fleet_reports.store.errors import StoreError

EXPIRY_MARGIN_S = 60
"""An item outlives its window by this much (DynamoDB's TTL deletes late anyway)."""


def _clock() -> float:
    return time.time()


def _table() -> Any:
    return table(get_settings().require("reports_table"))


def key(caller: str, limit: str, window_start: int) -> dict[str, str]:
    return {"pk": f"RATE#{caller}", "sk": f"{limit}#{window_start:012d}"}


def take(caller: str, limit: str, allowed: int, window_s: int) -> int:
    """Count one request of ``caller`` against ``allowed`` per ``window_s`` seconds.

    0 when the request is within the limit (and now counted); otherwise it is not counted, and
    the answer is the whole seconds until the window ends (at least 1): the ``Retry-After``."""
    now = _clock()
    start = int(now) - int(now) % window_s
    try:
        with store_call("rate count"):
            _table().update_item(
                Key=key(caller, limit, start),
                UpdateExpression="SET #ttl = :ttl ADD n :one",
                ConditionExpression="attribute_not_exists(n) OR n < :allowed",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":one": 1, ":allowed": allowed, ":ttl": start + window_s + EXPIRY_MARGIN_S},
            )
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) != "ConditionalCheckFailedException":
            raise
        return max(1, math.ceil(start + window_s - now))
    return 0
