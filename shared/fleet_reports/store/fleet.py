"""Fleet table: users, credentials, trackers, tariffs, places.

Keys (pk / sk):
  USER#<id> / PROFILE            UserRecord
  LOGIN#<login> / LOGIN          {user_id}
  CRED#<sha256(hash)> / CRED     CredentialRecord (sessions carry ``ttl``)
  SIGNIN#<who> / SIGNIN          failed sign-ins of a login or a client address (store.attempts)
  TRACKER#<id> / TRACKER         TrackerRecord
  TARIFF#<id> / TARIFF           TariffRecord
  USER#<owner> / PLACE#<id>      PlaceRecord
  USER#<owner> / EMPLOYEE#<id>   EmployeeRecord
  USER#<owner> / ASSIGN#<tracker>#<from_ms, 15 digits>   AssignmentRecord
  USER#<owner> / ZONE#<id>       ZoneRecord
Links, so that one query lists everything a user has (export, prune):
  USER#<owner> / TRACKER#<id>    {tracker_id}        written by put_tracker
  USER#<parent> / SUBUSER#<id>   {user_id}           written by put_user for a sub-user
  USER#<user> / APIKEY#<sha256>  {digest, created}   written by put_credential for an API key
Hashes are stored only as SHA-256 digests: a leaked table opens nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import dynamo, error_code, plain, store_call, table
from fleet_reports.store.errors import StoreError
from fleet_reports.store.records import (
    AssignmentRecord,
    CredentialRecord,
    EmployeeRecord,
    PlaceRecord,
    TariffRecord,
    TrackerRecord,
    UserRecord,
    ZoneRecord,
)


def _table() -> Any:
    return table(get_settings().require("fleet_table"))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _get(pk: str, sk: str) -> dict[str, Any] | None:
    with store_call("fleet get"):
        item = _table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
    return plain(item) if item else None


def _delete(pk: str, sk: str, *, condition: tuple[str, Any] | None = None) -> None:
    """Delete an item; with ``condition`` (attribute, value) only while it still holds."""
    kwargs: dict[str, Any] = {"Key": {"pk": pk, "sk": sk}}
    if condition is not None:
        kwargs["ConditionExpression"] = "attribute_not_exists(pk) OR #c = :c"
        kwargs["ExpressionAttributeNames"] = {"#c": condition[0]}
        kwargs["ExpressionAttributeValues"] = {":c": dynamo(condition[1])}
    try:
        with store_call("fleet delete"):
            _table().delete_item(**kwargs)
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) != "ConditionalCheckFailedException":
            raise


def _query(pk: str, prefix: str = "") -> list[dict[str, Any]]:
    """Every item of partition ``pk`` whose sort key starts with ``prefix`` (all pages)."""
    from boto3.dynamodb.conditions import Key

    condition: Any = Key("pk").eq(pk)
    if prefix:
        condition = condition & Key("sk").begins_with(prefix)
    return list(_pages({"KeyConditionExpression": condition, "ConsistentRead": True}))


def _pages(query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The items of a query, page after page as they are consumed (a consumer that stops early
    reads no further page)."""
    kwargs = dict(query)
    while True:
        with store_call("fleet query"):
            resp = _table().query(**kwargs)
        yield from (plain(i) for i in resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            return
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _links(pk: str, prefix: str) -> list[str]:
    return [str(i["sk"])[len(prefix) :] for i in _query(pk, prefix)]


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


def get_users(user_ids: Iterable[int]) -> dict[int, UserRecord]:
    """The users that exist among ``user_ids``, in one batch read (up to 100)."""
    items = _batch_get([(f"USER#{u}", "PROFILE") for u in user_ids])
    return {int(i["user_id"]): UserRecord.model_validate(i) for i in items}


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
    put_credential_digest(digest(secret), cred)


def put_credential_digest(key_digest: str, cred: CredentialRecord) -> None:
    """Store a credential known only by its SHA-256 digest (API keys are linked to their user)."""
    _put(f"CRED#{key_digest}", "CRED", cred.model_dump(), ttl=cred.expires)
    if cred.kind == "api_key":
        _put(f"USER#{cred.user_id}", f"APIKEY#{key_digest}", {"digest": key_digest, "created": cred.created})


def get_credential_digest(key_digest: str) -> CredentialRecord | None:
    """The credential stored under this SHA-256 digest, expired sessions included."""
    item = _get(f"CRED#{key_digest}", "CRED")
    return CredentialRecord.model_validate(item) if item else None


def delete_api_key(key_digest: str, user_id: int) -> None:
    """Remove an API key (by digest) and its link under the user."""
    _delete(f"CRED#{key_digest}", "CRED", condition=("user_id", user_id))
    _delete(f"USER#{user_id}", f"APIKEY#{key_digest}")


def delete_credential(secret: str) -> None:
    with store_call("fleet delete"):
        _table().delete_item(Key={"pk": f"CRED#{digest(secret)}", "sk": "CRED"})


def put_user(user: UserRecord, *, previous: UserRecord | None = None) -> None:
    """Write the profile and the login (and a sub-user's link under its parent). With the
    ``previous`` version, a login or parent that changed is released as well."""
    if previous is not None:
        if previous.login.lower() != user.login.lower():
            delete_login(previous.login, user.user_id)
        if previous.parent_id is not None and previous.parent_id != user.parent_id:
            _delete(f"USER#{previous.parent_id}", f"SUBUSER#{user.user_id}")
    _put(f"USER#{user.user_id}", "PROFILE", user.model_dump())
    _put(f"LOGIN#{user.login.lower()}", "LOGIN", {"user_id": user.user_id})
    if user.parent_id is not None:
        _put(f"USER#{user.parent_id}", f"SUBUSER#{user.user_id}", {"user_id": user.user_id})


def delete_login(login: str, user_id: int) -> None:
    """Release a login, unless it already names another user."""
    _delete(f"LOGIN#{login.lower()}", "LOGIN", condition=("user_id", user_id))


def delete_user(user_id: int) -> None:
    """Remove a user: profile, login, link under the parent and API keys (sessions expire by
    themselves and open nothing once the profile is gone). Owned entities are not touched."""
    user = get_user(user_id)
    for key_digest in _links(f"USER#{user_id}", "APIKEY#"):
        delete_api_key(key_digest, user_id)
    if user is not None:
        delete_login(user.login, user_id)
        if user.parent_id is not None:
            _delete(f"USER#{user.parent_id}", f"SUBUSER#{user_id}")
    _delete(f"USER#{user_id}", "PROFILE")


# --- trackers, tariffs, places -----------------------------------------------------------
BATCH_GET_KEYS = 100
"""Keys one BatchGetItem reads (DynamoDB's maximum)."""


def _batch_get(keys: list[tuple[str, str]], fields: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The items that exist among ``keys`` (pk, sk), read ``BATCH_GET_KEYS`` at a time (consistent
    reads; unprocessed keys are read again), in no particular order; only ``fields`` when given."""
    name = get_settings().require("fleet_table")
    items: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(keys))
    projection: dict[str, Any] = {}
    if fields:
        aliases = {f"#f{n}": f for n, f in enumerate(fields)}
        projection = {"ProjectionExpression": ", ".join(aliases), "ExpressionAttributeNames": aliases}
    for start in range(0, len(unique), BATCH_GET_KEYS):
        chunk = [{"pk": pk, "sk": sk} for pk, sk in unique[start : start + BATCH_GET_KEYS]]
        request: dict[str, Any] = {name: {"Keys": chunk, "ConsistentRead": True, **projection}}
        while request:
            with store_call("fleet batch get"):
                resp = _table().meta.client.batch_get_item(RequestItems=request)
            # The resource's client (un)marshals DynamoDB types itself: items are plain Python.
            items.extend({k: plain(v) for k, v in item.items()} for item in resp["Responses"].get(name, []))
            request = resp.get("UnprocessedKeys") or {}
    return items


def get_trackers(tracker_ids: Iterable[int]) -> dict[int, TrackerRecord]:
    """The trackers that exist among ``tracker_ids`` (batch reads, 100 keys a call)."""
    found: dict[int, TrackerRecord] = {}
    for item in _batch_get([(f"TRACKER#{i}", "TRACKER") for i in sorted(set(tracker_ids))]):
        rec = TrackerRecord.model_validate(item)
        found[rec.tracker_id] = rec
    return found


def put_tracker(tracker: TrackerRecord, *, previous: TrackerRecord | None = None) -> None:
    """Write the tracker and its link under the owner (the ``previous`` owner's link goes)."""
    if previous is not None and previous.owner_id != tracker.owner_id:
        _delete(f"USER#{previous.owner_id}", f"TRACKER#{tracker.tracker_id}")
    _put(f"TRACKER#{tracker.tracker_id}", "TRACKER", tracker.model_dump())
    _put(f"USER#{tracker.owner_id}", f"TRACKER#{tracker.tracker_id}", {"tracker_id": tracker.tracker_id})


def delete_tracker(tracker_id: int, owner_id: int) -> None:
    """Remove a tracker of ``owner_id`` and its link (its track data stays in S3)."""
    _delete(f"TRACKER#{tracker_id}", "TRACKER", condition=("owner_id", owner_id))
    _delete(f"USER#{owner_id}", f"TRACKER#{tracker_id}")


def get_tariff(tariff_id: int) -> TariffRecord | None:
    item = _get(f"TARIFF#{tariff_id}", "TARIFF")
    return TariffRecord.model_validate(item) if item else None


def get_tariffs(tariff_ids: Iterable[int]) -> dict[int, TariffRecord]:
    """The tariffs that exist among ``tariff_ids`` (batch reads, 100 keys a call)."""
    records = (TariffRecord.model_validate(i) for i in _batch_get([(f"TARIFF#{t}", "TARIFF") for t in tariff_ids]))
    return {r.tariff_id: r for r in records}


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


def delete_place(owner_id: int, place_id: int) -> None:
    _delete(f"USER#{owner_id}", f"PLACE#{place_id}")


def get_tracker(tracker_id: int) -> TrackerRecord | None:
    item = _get(f"TRACKER#{tracker_id}", "TRACKER")
    return TrackerRecord.model_validate(item) if item else None


def delete_tariff(tariff_id: int) -> None:
    _delete(f"TARIFF#{tariff_id}", "TARIFF")


# --- employees, driver assignments, zones ----------------------------------------------
def _assignment_sk(tracker_id: int, from_ms: int) -> str:
    return f"ASSIGN#{tracker_id}#{from_ms:015d}"


def get_employees(owner_id: int) -> list[EmployeeRecord]:
    return [EmployeeRecord.model_validate(i) for i in _query(f"USER#{owner_id}", "EMPLOYEE#")]


def get_employee(owner_id: int, employee_id: int) -> EmployeeRecord | None:
    item = _get(f"USER#{owner_id}", f"EMPLOYEE#{employee_id}")
    return EmployeeRecord.model_validate(item) if item else None


def known_employee_ids(owner_id: int, employee_ids: Iterable[int]) -> set[int]:
    """Those of ``employee_ids`` the owner has (batch reads of the ids alone, 100 keys a call)."""
    keys = [(f"USER#{owner_id}", f"EMPLOYEE#{e}") for e in employee_ids]
    return {int(i["employee_id"]) for i in _batch_get(keys, ("employee_id",))}


def put_employee(employee: EmployeeRecord) -> None:
    _put(f"USER#{employee.owner_id}", f"EMPLOYEE#{employee.employee_id}", employee.model_dump())


def delete_employee(owner_id: int, employee_id: int) -> None:
    _delete(f"USER#{owner_id}", f"EMPLOYEE#{employee_id}")


ASSIGNMENTS_PAGE = 25
"""How many of a tracker's assignments :func:`assignments_during` reads a call."""


def assignments_during(owner_id: int, tracker_id: int, from_ms: int, to_ms: int) -> list[AssignmentRecord]:
    """The tracker's driver assignments that overlap ``[from_ms, to_ms]``, by start time.

    A tracker has one driver at a time (the manifest refuses overlaps), so its assignments end in
    the order they start: they are read backwards from the last one starting by ``to_ms`` and the
    reading stops at the first that ended by ``from_ms``. The reads grow with the period's
    assignments, never with the tracker's history of drivers."""
    from boto3.dynamodb.conditions import Key

    prefix = f"ASSIGN#{tracker_id}#"
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(f"USER#{owner_id}") & Key("sk").between(prefix, f"{prefix}{to_ms:015d}"),
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": ASSIGNMENTS_PAGE,
    }
    newest_first: list[AssignmentRecord] = []
    for item in _pages(kwargs):
        assignment = AssignmentRecord.model_validate(item)
        if assignment.to_ms is not None and assignment.to_ms <= from_ms:
            break
        newest_first.append(assignment)
    return newest_first[::-1]


def put_assignment(assignment: AssignmentRecord) -> None:
    sk = _assignment_sk(assignment.tracker_id, assignment.from_ms)
    _put(f"USER#{assignment.owner_id}", sk, assignment.model_dump())


def delete_assignment(owner_id: int, tracker_id: int, from_ms: int) -> None:
    _delete(f"USER#{owner_id}", _assignment_sk(tracker_id, from_ms))


def get_zones(owner_id: int) -> list[ZoneRecord]:
    return [ZoneRecord.model_validate(i) for i in _query(f"USER#{owner_id}", "ZONE#")]


def known_zone_ids(owner_id: int, zone_ids: Iterable[int]) -> set[int]:
    """Those of ``zone_ids`` the owner has (batch reads of the ids alone, not the shapes, 100 keys a call)."""
    keys = [(f"USER#{owner_id}", f"ZONE#{z}") for z in zone_ids]
    return {int(i["zone_id"]) for i in _batch_get(keys, ("zone_id",))}


def put_zone(zone: ZoneRecord) -> None:
    _put(f"USER#{zone.owner_id}", f"ZONE#{zone.zone_id}", zone.model_dump())


def delete_zone(owner_id: int, zone_id: int) -> None:
    _delete(f"USER#{owner_id}", f"ZONE#{zone_id}")


# --- everything a user has, in one query -------------------------------------------------
@dataclass(frozen=True)
class Owned:
    """What the partition ``USER#<id>`` holds: owned entities and links (ids, digests)."""

    user_id: int
    tracker_ids: list[int] = field(default_factory=list)
    sub_user_ids: list[int] = field(default_factory=list)
    api_key_digests: list[str] = field(default_factory=list)
    employees: list[EmployeeRecord] = field(default_factory=list)
    assignments: list[AssignmentRecord] = field(default_factory=list)
    zones: list[ZoneRecord] = field(default_factory=list)
    places: list[PlaceRecord] = field(default_factory=list)


def list_owned(user_id: int) -> Owned:
    owned = Owned(user_id)
    for item in _query(f"USER#{user_id}"):
        kind, _, rest = str(item["sk"]).partition("#")
        if kind == "TRACKER":
            owned.tracker_ids.append(int(rest))
        elif kind == "SUBUSER":
            owned.sub_user_ids.append(int(rest))
        elif kind == "APIKEY":
            owned.api_key_digests.append(rest)
        elif kind == "EMPLOYEE":
            owned.employees.append(EmployeeRecord.model_validate(item))
        elif kind == "ASSIGN":
            owned.assignments.append(AssignmentRecord.model_validate(item))
        elif kind == "ZONE":
            owned.zones.append(ZoneRecord.model_validate(item))
        elif kind == "PLACE":
            owned.places.append(PlaceRecord.model_validate(item))
    return owned
