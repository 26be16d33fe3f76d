"""Failed sign-ins (``/user/auth``), in the fleet table: one item per login and per client address.

Keys (pk / sk):
  SIGNIN#<who> / SIGNIN   {n, until, ttl}

``<who>`` is ``login#<digest>`` (the login, lower-cased as logins are looked up) or
``address#<digest>`` (the client's IPv4 address, or the /64 network of an IPv6 one): the first half
of a SHA-256, never the login or the address itself. ``n`` counts failed sign-ins in a row;
``until`` (epoch ms) is the end of the lock that the last failure over the limit set. An item is
forgotten (``ttl``) ``forget_s`` seconds after its last failure or its lock's end, whichever is
later; readers treat an item past its ``ttl`` as absent (DynamoDB's TTL deletes late).

A failure is one conditional UpdateItem (``ADD n 1`` on a live item; a fresh count otherwise),
plus one more when it sets a lock; clearing (a successful sign-in) is one UpdateItem. Nothing here
decides what a failure or a lock is: :mod:`fleet_reports.service.auth` does.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from typing import Any

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import error_code, plain, store_call, table
from fleet_reports.store.errors import StoreError

SK = "SIGNIN"


def clock() -> float:
    """Now, epoch seconds (the tests freeze it)."""
    return time.time()


def _table() -> Any:
    return table(get_settings().require("fleet_table"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def login_key(login: str) -> str:
    return f"SIGNIN#login#{_digest(login.lower())}"


def address_key(address: str) -> str:
    """An IPv6 client is counted by its /64 network (one host usually has a whole one)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"SIGNIN#address#{_digest(address)}"
    network = str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
    return f"SIGNIN#address#{_digest(network)}"


@dataclass(frozen=True)
class Attempts:
    """A key's failed sign-ins in a row (``n``) and the end of its lock (``until_ms``, epoch ms; 0
    for none)."""

    n: int = 0
    until_ms: int = 0

    def locked_for(self, now: float) -> float:
        """Seconds the lock still holds (0 when there is none)."""
        return max(0.0, self.until_ms / 1000 - now)


def _attempts(item: dict[str, Any] | None, now: float) -> Attempts:
    if not item or int(item.get("ttl", 0)) <= now:
        return Attempts()
    return Attempts(n=int(item.get("n", 0)), until_ms=int(item.get("until", 0)))


def read(key: str, now: float) -> Attempts:
    with store_call("sign-in attempts get"):
        item = _table().get_item(Key={"pk": key, "sk": SK}, ConsistentRead=True).get("Item")
    return _attempts(plain(item) if item else None, now)


def _update(key: str, **kwargs: Any) -> dict[str, Any] | None:
    """One UpdateItem; its new attributes, or None when its condition did not hold."""
    try:
        with store_call("sign-in attempts update"):
            resp = _table().update_item(Key={"pk": key, "sk": SK}, ReturnValues="ALL_NEW", **kwargs)
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) != "ConditionalCheckFailedException":
            raise
        return None
    return dict(plain(resp.get("Attributes") or {}))


def fail(key: str, now: float, forget_s: int) -> Attempts:
    """Count one more failure of ``key``; its count now (a stale count starts again at 1)."""
    t = int(now)
    for _ in range(2):
        item = _update(
            key,
            UpdateExpression="ADD n :one SET #ttl = :ttl",
            ConditionExpression="#ttl > :now",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":one": 1, ":now": t, ":ttl": t + forget_s},
        )
        if item is None:  # no live count: start one (unless another failure just did)
            item = _update(
                key,
                UpdateExpression="SET n = :one, #ttl = :ttl REMOVE #until",
                ConditionExpression="attribute_not_exists(#ttl) OR #ttl <= :now",
                ExpressionAttributeNames={"#ttl": "ttl", "#until": "until"},
                ExpressionAttributeValues={":one": 1, ":now": t, ":ttl": t + forget_s},
            )
        if item is not None:
            return _attempts(item, now)
    raise StoreError("sign-in attempts: the count kept changing")


def lock(key: str, until_ms: int, forget_s: int) -> None:
    """Lock ``key`` until ``until_ms`` (epoch ms), unless a longer lock is set already."""
    _update(
        key,
        UpdateExpression="SET #until = :until, #ttl = :ttl",
        ConditionExpression="attribute_not_exists(#until) OR #until < :until",
        ExpressionAttributeNames={"#ttl": "ttl", "#until": "until"},
        ExpressionAttributeValues={":until": until_ms, ":ttl": until_ms // 1000 + 1 + forget_s},
    )


def clear(key: str, now: float) -> None:
    """Forget ``key``'s failures (a successful sign-in): the item expires at once."""
    _update(
        key,
        UpdateExpression="SET n = :zero, #ttl = :now REMOVE #until",
        ExpressionAttributeNames={"#ttl": "ttl", "#until": "until"},
        ExpressionAttributeValues={":zero": 0, ":now": int(now)},
    )
