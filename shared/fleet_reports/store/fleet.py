"""Fleet table: users, credentials, trackers, tariffs, places.

Keys (pk / sk):
  USER#<id> / PROFILE            UserRecord
  LOGIN#<login> / LOGIN          {user_id}
  CRED#<sha256(hash)> / CRED     CredentialRecord (sessions carry ``ttl``)
  TRACKER#<id> / TRACKER         TrackerRecord
  TARIFF#<id> / TARIFF           TariffRecord
  USER#<owner> / PLACE#<id>      PlaceRecord
Hashes are stored only as SHA-256 digests: a leaked table opens nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import dynamo, plain, store_call, table
from fleet_reports.store.records import (
    CredentialRecord,
    PlaceRecord,
    TariffRecord,
    TrackerRecord,
    UserRecord,
)


def _table() -> Any:
    return table(get_settings().require("fleet_table"))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _get(pk: str, sk: str) -> dict[str, Any] | None:
    with store_call("fleet get"):
        item = _table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
    return plain(item) if item else None


def _put(pk: str, sk: str, record: dict[str, Any], ttl: int | None = None) -> None:
    item = {"pk": pk, "sk": sk, **dynamo(record)}
    if ttl is not None:
        item["ttl"] = ttl
    with store_call("fleet put"):
        _table().put_item(Item=item)


# --- users and credentials -------------------------------------------------------------
def get_user(user_id: int) -> UserRecord | None:
    item = _get(f"USER#{user_id}", "PROFILE")
    return UserRecord.model_validate(item) if item else None


def user_id_for_login(login: str) -> int | None:
    item = _get(f"LOGIN#{login.lower()}", "LOGIN")
    return int(item["user_id"]) if item else None


def get_credential(secret: str) -> CredentialRecord | None:
    item = _get(f"CRED#{digest(secret)}", "CRED")
    if not item:
        return None
    cred = CredentialRecord.model_validate(item)
    if cred.expires is not None and cred.expires <= int(time.time()):
        return None  # TTL deletion lags; an expired session is ended now
    return cred


def put_credential(secret: str, cred: CredentialRecord) -> None:
    _put(f"CRED#{digest(secret)}", "CRED", cred.model_dump(), ttl=cred.expires)


def delete_credential(secret: str) -> None:
    with store_call("fleet delete"):
        _table().delete_item(Key={"pk": f"CRED#{digest(secret)}", "sk": "CRED"})


def put_user(user: UserRecord) -> None:
    _put(f"USER#{user.user_id}", "PROFILE", user.model_dump())
    _put(f"LOGIN#{user.login.lower()}", "LOGIN", {"user_id": user.user_id})


# --- trackers, tariffs, places -----------------------------------------------------------
def get_trackers(tracker_ids: Iterable[int]) -> dict[int, TrackerRecord]:
    """The trackers that exist among ``tracker_ids`` (batch reads, 100 keys a call)."""
    ids = sorted(set(tracker_ids))
    found: dict[int, TrackerRecord] = {}
    name = get_settings().require("fleet_table")
    for start in range(0, len(ids), 100):
        keys: list[dict[str, Any]] = [{"pk": f"TRACKER#{i}", "sk": "TRACKER"} for i in ids[start : start + 100]]
        request: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True}}
        while request:
            with store_call("fleet batch get"):
                resp = _table().meta.client.batch_get_item(RequestItems=request)
            for item in resp["Responses"].get(name, []):
                # The resource's client (un)marshals DynamoDB types itself: items are plain Python.
                rec = TrackerRecord.model_validate({k: plain(v) for k, v in item.items()})
                found[rec.tracker_id] = rec
            request = resp.get("UnprocessedKeys") or {}
    return found


def put_tracker(tracker: TrackerRecord) -> None:
    _put(f"TRACKER#{tracker.tracker_id}", "TRACKER", tracker.model_dump())


def get_tariff(tariff_id: int) -> TariffRecord | None:
    item = _get(f"TARIFF#{tariff_id}", "TARIFF")
    return TariffRecord.model_validate(item) if item else None


def put_tariff(tariff: TariffRecord) -> None:
    _put(f"TARIFF#{tariff.tariff_id}", "TARIFF", tariff.model_dump())


def get_places(owner_id: int) -> list[PlaceRecord]:
    from boto3.dynamodb.conditions import Key

    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(f"USER#{owner_id}") & Key("sk").begins_with("PLACE#")
    }
    while True:
        with store_call("fleet query"):
            resp = _table().query(**kwargs)
        items.extend(resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    return [PlaceRecord.model_validate(plain(i)) for i in items]


def put_place(place: PlaceRecord) -> None:
    _put(f"USER#{place.owner_id}", f"PLACE#{place.place_id}", place.model_dump())
