"""Reports table: the report pools, their state machine and the id counter.

Keys (pk / sk):
  POOL#<user id> / REPORT#<id, 12 digits>   one report of that (sub-)user's pool
  POOL#<user id> / ACTIVE                   {active}: reports queued or running (parallel cap)
  COUNTER / REPORT_ID                       {n}: the last report id handed out
  RATE#<caller> / <limit>#<window>          {n, ttl}: a caller's requests (store.ratelimit)

Every report item carries ``ttl`` (created + RetentionDays): past it the report is gone for
every reader (:func:`_live`), before DynamoDB's TTL deletes it.

A report item is a :class:`~fleet_reports.store.records.ReportRecord` (plus its keys and, when
small, its gzip'd document ``doc``); this module takes and gives records, never raw items.

States (:class:`~fleet_reports.store.records.ReportState`): queued -> running -> done | failed.
Every move is a conditional write, so a job delivered twice, a report deleted mid-run and a
crashed worker all resolve to one outcome. Entering a final state (or deleting an unfinished
report) releases its ACTIVE slot in the same transaction.
"""

from __future__ import annotations

import random
import time
from enum import StrEnum
from typing import Any

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import dynamo, error_code, plain, store_call, table
from fleet_reports.store.errors import StoreError
from fleet_reports.store.records import ReportOutput, ReportRecord, ReportState

QUEUED, RUNNING, DONE, FAILED = (s.value for s in ReportState)
ACTIVE_STATES = (QUEUED, RUNNING)
LIST_FIELDS = (
    "id",
    "title",
    "created",
    "from",
    "to",
    "time_filter",
    "percent",
    "state",
    "type",
    "plugin",
    "trackers",
    "geocoder",
    "locale_info",
    "error",
    "ttl",
    "employees",
    "owner_id",
)
TIME_FIELDS = ("pool", "lease_until", "final_attempt", "created_ms", "from_ms", "to_ms")
STATUS_FIELDS = (*LIST_FIELDS, *TIME_FIELDS, "files", "doc_key", "claim", "parts_total")


def _projection(fields: tuple[str, ...]) -> dict[str, Any]:
    """A projection with every attribute aliased: DynamoDB reserves many plain words (percent, state...)."""
    names = {f"#a{n}": field for n, field in enumerate(fields)}
    return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}


class TooManyActive(Exception):
    """The pool already has the maximum number of reports generating."""


class Claim(StrEnum):
    """What a worker's attempt to take a report found."""

    CLAIMED = "claimed"  # it is this worker's now
    GONE = "gone"  # deleted (or expired)
    FINISHED = "finished"  # done or failed already
    BUSY = "busy"  # another worker holds a live lease


def _name() -> str:
    return get_settings().require("reports_table")


def _table() -> Any:
    return table(_name())


def report_key(pool: int, report_id: int) -> dict[str, str]:
    return {"pk": f"POOL#{pool}", "sk": f"REPORT#{report_id:012d}"}


def _active_key(pool: int) -> dict[str, str]:
    return {"pk": f"POOL#{pool}", "sk": "ACTIVE"}


def _now() -> int:
    return int(time.time())


def _live(item: dict[str, Any] | None) -> ReportRecord | None:
    """Items past their TTL are gone, even before DynamoDB removes them."""
    if not item:
        return None
    ttl = item.get("ttl")
    if ttl is not None and int(ttl) <= _now():
        return None
    return ReportRecord.from_item(plain(item))


def next_report_id() -> int:
    with store_call("report id"):
        resp = _table().update_item(
            Key={"pk": "COUNTER", "sk": "REPORT_ID"},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
    return int(resp["Attributes"]["n"])


def ensure_id_floor(floor: int) -> None:
    """Make the next ids start above ``floor`` (used by the demo loader; never lowers it)."""
    with store_call("report id floor"):
        try:
            _table().update_item(
                Key={"pk": "COUNTER", "sk": "REPORT_ID"},
                UpdateExpression="SET n = :f",
                ConditionExpression="attribute_not_exists(n) OR n < :f",
                ExpressionAttributeValues={":f": floor},
            )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise


def _client() -> Any:
    return _table().meta.client


def _ser(value: Any) -> Any:
    # The resource's client marshals DynamoDB types itself: give it plain Python (floats as Decimal).
    return dynamo(value)


def _transact(items: list[dict[str, Any]]) -> list[str]:
    """Run a transaction; the cancellation reason per item ([] on success).

    ``TransactionConflict`` (another transaction on the same items at that instant, e.g. two
    reports of one user finishing together) is retried with jittered backoff: botocore does not.
    """
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            with store_call("reports transaction"):
                try:
                    _client().transact_write_items(TransactItems=items)
                    return []
                except Exception as exc:
                    if error_code(exc) != "TransactionCanceledException":
                        raise
                    reasons = getattr(exc, "response", {}).get("CancellationReasons", [])
                    codes = [str(r.get("Code", "None")) for r in reasons] or ["ConditionalCheckFailed"]
        except StoreError:
            raise
        if "TransactionConflict" not in codes or attempt == _CONFLICT_RETRIES:
            return codes
        time.sleep(random.uniform(0.02, 0.05) * 2**attempt)
    return codes


_CONFLICT_RETRIES = 6
_CHECK_FAILED = "ConditionalCheckFailed"


def _reason(codes: list[str], index: int) -> str:
    return codes[index] if index < len(codes) else "None"


def _active_delta(pool: int, delta: int, cap: int | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": _name(),
        "Key": {k: _ser(v) for k, v in _active_key(pool).items()},
        "UpdateExpression": "ADD active :d",
        "ExpressionAttributeValues": {":d": _ser(delta)},
    }
    if cap is not None:
        update["ConditionExpression"] = "attribute_not_exists(active) OR active < :cap"
        update["ExpressionAttributeValues"][":cap"] = _ser(cap)
    elif delta < 0:
        update["ConditionExpression"] = "active > :zero"
        update["ExpressionAttributeValues"][":zero"] = _ser(0)
    return {"Update": update}


def create_report(report: ReportRecord, cap: int) -> None:
    """Store a queued report and take an ACTIVE slot, atomically; TooManyActive over the cap."""
    pool, rid = report.pool, report.id
    item = report.to_item()
    put = {
        "Put": {
            "TableName": _name(),
            "Item": {k: _ser(v) for k, v in {**report_key(pool, rid), **item}.items()},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    for attempt in range(2):
        reasons = _transact([_active_delta(pool, 1, cap), put])
        if not reasons:
            return
        if _reason(reasons, 0) != _CHECK_FAILED:
            raise StoreError(f"create report cancelled: {reasons}")
        if attempt == 0 and _recount_active(pool) < cap:
            continue  # the counter had drifted (e.g. a report expired while queued): healed, retry
        raise TooManyActive


def _recount_active(pool: int) -> int:
    """Count the pool's unfinished reports and store that as its ACTIVE counter.

    Reports past their TTL and abandoned ones (:func:`is_stale`: left ``running`` by a worker that
    died for good, or ``queued`` longer than a job message lives) no longer count. The
    counter is only overwritten if nobody changed it while we counted.
    """
    from boto3.dynamodb.conditions import Attr, Key

    with store_call("reports counter"):
        seen = _table().get_item(Key=_active_key(pool), ConsistentRead=True).get("Item", {}).get("active")
    now, settings = _now(), get_settings()
    count = 0
    # what is_stale says, as a filter: leases over (long enough ago, or at all on a last attempt)
    # and queued reports older than any job message can be do not count
    lease_live = (
        Attr("lease_until").not_exists()
        | Attr("lease_until").gt(now)
        | (Attr("lease_until").gt(now - settings.stale_after_seconds) & Attr("final_attempt").ne(True))
    )
    queue_live = (
        Attr("state").eq(RUNNING)
        | Attr("created_ms").not_exists()
        | Attr("created_ms").gte((now - settings.queued_stale_after_seconds) * 1000)
    )
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(f"POOL#{pool}") & Key("sk").begins_with("REPORT#"),
        "FilterExpression": Attr("state").is_in(list(ACTIVE_STATES)) & Attr("ttl").gt(now) & lease_live & queue_live,
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    while True:
        with store_call("reports count"):
            resp = _table().query(**kwargs)
        count += int(resp.get("Count", 0))
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    try:
        with store_call("reports recount"):
            _table().update_item(
                Key=_active_key(pool),
                UpdateExpression="SET active = :c",
                ConditionExpression="attribute_not_exists(active)" if seen is None else "active = :seen",
                ExpressionAttributeValues={":c": count} | ({} if seen is None else {":seen": seen}),
            )
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) != "ConditionalCheckFailedException":
            raise
    return count


def is_stale(report: ReportRecord) -> bool:
    """A report no job will ever finish: left running by a worker that stopped for good (timeout or
    crash) on its last allowed attempt, or on an earlier one longer ago than a redelivery could
    take; or still queued after its job message can no longer exist."""
    settings, now = get_settings(), _now()
    if report.state is ReportState.QUEUED:
        created = report.created_ms
        return created is not None and created // 1000 < now - settings.queued_stale_after_seconds
    lease = report.lease_until
    if report.state is not ReportState.RUNNING or lease is None:
        return False
    return lease < now - (0 if report.final_attempt else settings.stale_after_seconds)


def get_report(pool: int, report_id: int, *, with_document: bool = False) -> ReportRecord | None:
    kwargs: dict[str, Any] = {"Key": report_key(pool, report_id), "ConsistentRead": True}
    if not with_document:
        kwargs |= _projection(STATUS_FIELDS)
    with store_call("report get"):
        item = _table().get_item(**kwargs).get("Item")
    return _live(item)


REPORT_ID_DIGITS = 12
"""Report ids in sort keys are zero-padded to this many digits (``REPORT#<id>``)."""


def list_reports(pool: int, limit: int, before_id: int | None = None) -> tuple[list[ReportRecord], int | None]:
    """Up to ``limit`` of the pool's live reports, newest first, only those with an id below
    ``before_id`` when given (documents not read), and the id to continue below when older ones
    may follow (else None).

    Reads at most ``limit + 1`` items (the one more tells whether a next page exists), whatever the
    pool's size: a pool of any size never makes one call read it all."""
    from boto3.dynamodb.conditions import Key

    partition = Key("pk").eq(f"POOL#{pool}")
    if before_id is None:
        condition = partition & Key("sk").begins_with("REPORT#")
    else:
        below = min(before_id, 10**REPORT_ID_DIGITS) - 1  # larger ids than a key can hold: all of them
        if below < 0:
            return [], None
        condition = partition & Key("sk").between("REPORT#" + "0" * REPORT_ID_DIGITS, f"REPORT#{below:012d}")
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": condition,
        "ScanIndexForward": False,
        **_projection((*LIST_FIELDS, *TIME_FIELDS)),
    }
    items: list[dict[str, Any]] = []
    while len(items) <= limit:
        kwargs["Limit"] = limit + 1 - len(items)
        with store_call("reports list"):
            resp = _table().query(**kwargs)
        items.extend(resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    more = len(items) > limit
    page = items[:limit]
    out = [r for r in (_live(i) for i in page) if r]
    return out, (int(page[-1]["id"]) if more else None)


def claim(
    pool: int, report_id: int, token: str, lease_seconds: int, *, final: bool = False
) -> tuple[Claim, ReportRecord | None]:
    """Take the report for this worker: (CLAIMED, report), or (GONE, None), (FINISHED | BUSY, report).

    ``final``: this is the job's last allowed delivery, so once the lease is over without a result
    the report is abandoned at once (:func:`is_stale`) rather than after a redelivery's wait."""
    now = _now()
    try:
        with store_call("report claim"):
            resp = _table().update_item(
                Key=report_key(pool, report_id),
                UpdateExpression="SET #st = :running, #cl = :token, lease_until = :lease, "
                "#pc = if_not_exists(#pc, :zero), started = :now, final_attempt = :final",
                ConditionExpression="attribute_exists(pk) AND (#st = :queued OR "
                "(#st = :running AND lease_until < :now))",
                ExpressionAttributeNames={"#st": "state", "#cl": "claim", "#pc": "percent"},
                ExpressionAttributeValues={
                    ":running": RUNNING,
                    ":queued": QUEUED,
                    ":token": token,
                    ":lease": now + lease_seconds,
                    ":now": now,
                    ":zero": 0,
                    ":final": final,
                },
                ReturnValues="ALL_NEW",
            )
        return Claim.CLAIMED, ReportRecord.from_item(plain(resp["Attributes"]))
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) != "ConditionalCheckFailedException":
            raise
    report = get_report(pool, report_id)
    if report is None:
        return Claim.GONE, None
    if not report.state.active:
        return Claim.FINISHED, report
    return Claim.BUSY, report


def _update_held(
    pool: int,
    report_id: int,
    token: str,
    what: str,
    update: str,
    values: dict[str, Any],
    *,
    names: dict[str, str] | None = None,
    also: str = "",
    returns: str = "NONE",
) -> dict[str, Any] | None:
    """Apply ``update`` to the report only while ``token``'s claim holds it (running), and
    ``also`` when given; the attributes ``returns`` asks for, or None when the report had moved on
    (its claim lost, deleted, finished)."""
    condition = "#cl = :token AND #st = :running" + (f" AND {also}" if also else "")
    try:
        with store_call(what):
            resp = _table().update_item(
                Key=report_key(pool, report_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#cl": "claim", "#st": "state", **(names or {})},
                ExpressionAttributeValues={":token": token, ":running": RUNNING, **values},
                ReturnValues=returns,
            )
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) == "ConditionalCheckFailedException":
            return None
        raise
    return dict(resp.get("Attributes", {}))


def set_progress(pool: int, report_id: int, token: str, percent: int) -> bool:
    update = "SET #pc = :p"
    return _update_held(pool, report_id, token, "report progress", update, {":p": percent}, names=_PERCENT) is not None


_PERCENT = {"#pc": "percent"}
SPLIT_PERCENT = 5
"""percent_ready once a report is split: its parts then take it to 75 (:func:`part_done`)."""


def start_parts(pool: int, report_id: int, token: str, total: int, lease_seconds: int) -> bool:
    """The claimed report is split into ``total`` parts run by other workers under this claim
    (``token`` becomes the split's run token), percent_ready :data:`SPLIT_PERCENT`; False if the
    claim was lost. The lease now runs from part to part (:func:`part_done`), and the claim is no
    longer a last attempt's."""
    update = "SET parts_total = :n, lease_until = :lease, final_attempt = :no, #pc = :p REMOVE parts_done, assembling"
    values = {":n": total, ":lease": _now() + lease_seconds, ":no": False, ":p": SPLIT_PERCENT}
    return _update_held(pool, report_id, token, "report parts", update, values, names=_PERCENT) is not None


def part_done(pool: int, report_id: int, token: str, part: int, lease_seconds: int) -> int | None:
    """Count the part as stored (a set: a part done twice counts once) and extend the run's
    lease; how many parts are done now, or None when the run no longer holds the report."""
    values = {":part": {part}, ":lease": _now() + lease_seconds}
    update = "ADD parts_done :part SET lease_until = :lease"
    # ALL_NEW: UPDATED_NEW leaves out a set that a duplicate part did not change
    got = _update_held(pool, report_id, token, "report part done", update, values, returns="ALL_NEW")
    return None if got is None else len(got.get("parts_done", ()))


def take_assembly(pool: int, report_id: int, token: str) -> bool:
    """Whether this caller is the one to enqueue the run's assembly (exactly one is, however
    many saw the last part done)."""
    also = "attribute_not_exists(assembling)"
    got = _update_held(pool, report_id, token, "report assembly", "SET assembling = :token", {}, also=also)
    return got is not None


def finish(pool: int, report_id: int, token: str, output: ReportOutput) -> bool:
    """Mark done with the ``output`` (document location, files); False if the claim was lost."""
    fields = output.attributes()
    sets = ", ".join(f"#x{i} = :x{i}" for i in range(len(fields)))
    names = {f"#x{i}": k for i, k in enumerate(fields)} | {"#st": "state", "#cl": "claim", "#pc": "percent"}
    values = {f":x{i}": _ser(v) for i, v in enumerate(fields.values())} | {
        ":done": _ser(DONE),
        ":token": _ser(token),
        ":running": _ser(RUNNING),
        ":hundred": _ser(100),
    }
    update = {
        "Update": {
            "TableName": _name(),
            "Key": {k: _ser(v) for k, v in report_key(pool, report_id).items()},
            "UpdateExpression": f"SET #st = :done, #pc = :hundred, {sets} REMOVE lease_until",
            "ConditionExpression": "#cl = :token AND #st = :running",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }
    return _update_and_release(pool, update)


def _update_and_release(pool: int, update: dict[str, Any]) -> bool:
    """Apply a final state change and free the report's ACTIVE slot, atomically.

    False when the state change's own condition failed (the claim was lost, or the report was
    deleted). When only the counter's condition failed (already 0: healed by a recount), the
    state change still lands, alone.
    """
    reasons = _transact([update, _active_delta(pool, -1)])
    if not reasons:
        return True
    if _reason(reasons, 0) == _CHECK_FAILED:
        return False
    if _reason(reasons, 1) == _CHECK_FAILED:
        again = _transact([update])
        if not again:
            return True
        if _reason(again, 0) == _CHECK_FAILED:
            return False
        raise StoreError(f"report update cancelled: {again}")
    raise StoreError(f"report update cancelled: {reasons}")


def fail(
    pool: int,
    report_id: int,
    reason: str,
    token: str | None = None,
    *,
    lease_until: int | None = None,
    only_queued: bool = False,
) -> bool:
    """Mark failed with ``reason`` and free the slot; only if still held by ``token`` / still on
    the lease ``lease_until`` / still queued (never claimed) when given. False when the report had
    moved on."""
    condition = "#st = :queued" if only_queued else "#st IN (:queued, :running)"
    values = {":failed": _ser(FAILED), ":queued": _ser(QUEUED), ":reason": _ser(reason[:1000])}
    if not only_queued:
        values[":running"] = _ser(RUNNING)
    if token is not None:
        condition += " AND #cl = :token"
        values[":token"] = _ser(token)
    if lease_until is not None:
        condition += " AND lease_until = :lease"
        values[":lease"] = _ser(lease_until)
    update = {
        "Update": {
            "TableName": _name(),
            "Key": {k: _ser(v) for k, v in report_key(pool, report_id).items()},
            "UpdateExpression": "SET #st = :failed, #e = :reason REMOVE lease_until",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#st": "state", "#e": "error", "#cl": "claim"}
            if token
            else {"#st": "state", "#e": "error"},
            "ExpressionAttributeValues": values,
        }
    }
    return _update_and_release(pool, update)


def release(pool: int, report_id: int, token: str, error: str) -> None:
    """Give a claimed report back to the queue after a failed attempt (it will be retried)."""
    update = "SET #st = :queued, last_error = :err ADD attempts :one REMOVE #cl, lease_until"
    values = {":queued": QUEUED, ":err": error[:1000], ":one": 1}
    _update_held(pool, report_id, token, "report release", update, values)


def delete_report(pool: int, report_id: int) -> ReportRecord | None:
    """Remove the report; the removed report (or None if there was none). Frees its slot if unfinished."""
    for _ in range(5):
        report = get_report(pool, report_id)
        if report is None:
            return None
        delete = {
            "Delete": {
                "TableName": _name(),
                "Key": {k: _ser(v) for k, v in report_key(pool, report_id).items()},
                "ConditionExpression": "#st = :s",
                "ExpressionAttributeNames": {"#st": "state"},
                "ExpressionAttributeValues": {":s": _ser(report.state.value)},
            }
        }
        ops = [delete, _active_delta(pool, -1)] if report.state.active else [delete]
        reasons = _transact(ops)
        if not reasons:
            return report
        if _reason(reasons, 0) == _CHECK_FAILED:
            continue  # its state changed meanwhile: look again
        if len(ops) == 2 and _reason(reasons, 1) == _CHECK_FAILED:
            again = _transact([delete])  # counter was already 0
            if not again:
                return report
            if _reason(again, 0) == _CHECK_FAILED:
                continue
        raise StoreError(f"delete report cancelled: {reasons}")
    raise StoreError("delete report: the report kept changing state")


def read_document(report: ReportRecord) -> bytes | None:
    """The gzip'd JSON document when it is stored inline."""
    with store_call("report document"):
        resp = _table().get_item(
            Key=report_key(report.pool, report.id), ProjectionExpression="doc", ConsistentRead=True
        )
    doc = resp.get("Item", {}).get("doc")
    if doc is None:
        return None
    return bytes(getattr(doc, "value", doc))
