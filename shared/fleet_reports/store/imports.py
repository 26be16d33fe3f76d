"""Import bookkeeping: uploads and outcome JSON in the track bucket; ledger and outcomes in the fleet table.

Track bucket::

    incoming/<tracker_id>/<name>          an upload (fixes), as sent
    incoming/<tracker_id>/events/<name>   an upload (device events)
    outcomes/<tracker_id>/<name>.json     the latest outcome of the upload with that name, for an
                                          uploader who has S3 access only

Uploads are kept after their import, an audit trail of what was sent byte for byte; the
bucket's lifecycle expires ``incoming/`` after 30 days and ``outcomes/`` after 90.

Fleet table (pk / sk), only under the partition keys of ``contract.IMPORT_KEY_PREFIXES``, the
only ones the import function may write::

    IMPORT#<tracker_id>  / <kind>#<sha256>                       ledger: one item per content imported
    IMPORTS#<tracker_id> / <finished>#<sha16>#<key8>             an outcome (ttl 90 days)
    IMPORTS#ALL          / <finished>#<tracker_id>#<sha16>#<key8>  the same outcome, in the feed of all

A ledger item is ``running`` while an import holds it (with a lease), then ``done`` (with its
outcome) or ``failed`` (a later import of the same content may take it over). Outcomes are
written twice so that both "this tracker's imports" and "all imports" are one query, newest
first; imports are rare enough (one per file) that the second write costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from fleet_reports.contract import IMPORT_KEY_PREFIXES
from fleet_reports.settings import get_settings
from fleet_reports.store.aws import dynamo, error_code, plain, s3, store_call, table
from fleet_reports.store.errors import StoreError

LEDGER_PREFIX, OUTCOMES_PREFIX = IMPORT_KEY_PREFIXES
ALL = "ALL"
OUTCOME_TTL_S = 90 * 86_400
OUTCOMES_KEY_PREFIX = "outcomes/"


@dataclass(frozen=True)
class Upload:
    """An uploaded object as read for its import."""

    body: bytes  # empty when not read (``complete`` False)
    etag: str
    modified: str  # S3's Last-Modified, ISO 8601 UTC: with the ETag, identifies this upload
    size: int
    complete: bool = True  # False: larger than the reader's limit, so left unread


def _table() -> Any:
    return table(get_settings().require("fleet_table"))


def _now() -> int:
    return int(time.time())


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------- uploads (S3)
def get_upload(bucket: str, key: str, max_bytes: int | None = None) -> Upload | None:
    """The uploaded object; None when it is gone (deleted or expired before its import).

    With ``max_bytes``, the object's size is asked first (HEAD): a larger object is not read at
    all (its Upload has an empty body and ``complete`` False), and no more than ``max_bytes`` + 1
    bytes are ever read, whatever the length said."""
    try:
        if max_bytes is not None:
            with store_call(f"upload head {key}"):
                head = s3().head_object(Bucket=bucket, Key=key)
            if int(head.get("ContentLength", 0)) > max_bytes:
                etag, modified = str(head["ETag"]).strip('"'), _iso(head["LastModified"])
                return Upload(b"", etag, modified, int(head["ContentLength"]), complete=False)
        with store_call(f"upload get {key}"):
            resp = s3().get_object(Bucket=bucket, Key=key)
            stream = resp["Body"]
            body = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
            stream.close()
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    etag, modified = str(resp["ETag"]).strip('"'), _iso(resp["LastModified"])
    if max_bytes is not None and len(body) > max_bytes:  # it grew between the two requests
        return Upload(b"", etag, modified, max(len(body), int(resp.get("ContentLength", 0))), complete=False)
    return Upload(body, etag, modified, len(body))


def head_upload(bucket: str, key: str) -> tuple[str, str] | None:
    """(ETag, Last-Modified) of an uploaded object; None when there is none."""
    try:
        with store_call(f"upload head {key}"):
            resp = s3().head_object(Bucket=bucket, Key=key)
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return str(resp["ETag"]).strip('"'), _iso(resp["LastModified"])


def put_upload(
    bucket: str, key: str, fileobj: IO[bytes], size: int, progress: Callable[[int], None] | None = None
) -> None:
    """Upload a file (multipart when large; parts sized so that any file fits S3's 10,000 parts).

    ``progress`` gets the bytes sent since its previous call, from the transfer's threads.
    """
    from boto3.s3.transfer import TransferConfig

    part = max(8 * 1024 * 1024, -(-size // 9_000))
    config = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=8)
    with store_call(f"upload put {key}"):
        s3().upload_fileobj(fileobj, bucket, key, Callback=progress, Config=config)


def outcome_object_key(tracker_part: str, name: str) -> str:
    return f"{OUTCOMES_KEY_PREFIX}{tracker_part}/{name}.json"


def put_outcome_json(bucket: str, key: str, outcome: dict[str, Any]) -> None:
    body = json.dumps(outcome, indent=2, ensure_ascii=False).encode()
    with store_call(f"outcome put {key}"):
        s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def get_outcome_json(bucket: str, key: str) -> dict[str, Any] | None:
    try:
        with store_call(f"outcome get {key}"):
            body = s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) in ("NoSuchKey", "404"):
            return None
        raise
    data = json.loads(body)
    return data if isinstance(data, dict) else None


# ----------------------------------------------------------------------------- ledger (DynamoDB)
def _ledger_key(tracker_id: int, kind: str, sha256: str) -> dict[str, str]:
    return {"pk": f"{LEDGER_PREFIX}{tracker_id}", "sk": f"{kind}#{sha256}"}


def claim(
    tracker_id: int,
    kind: str,
    sha256: str,
    *,
    key: str,
    upload: tuple[str, str],
    token: str,
    lease_s: int,
) -> tuple[str, dict[str, Any] | None]:
    """Take the content for this import.

    ``("claimed", None)`` when it is new, failed before, abandoned (lease over), or held by an
    earlier attempt at this very upload (``key`` and ``upload`` = (ETag, Last-Modified) equal: a
    retry or a redelivered event; merging twice is harmless). Else ``("done", item)`` (imported
    already; its outcome inside) or ``("busy", item)`` (another upload of the same content is
    being imported right now).
    """
    for _ in range(3):
        taken, current = _try_claim(tracker_id, kind, sha256, key=key, upload=upload, token=token, lease_s=lease_s)
        if taken:
            return "claimed", None
        if current is not None and current.get("state") != "failed":
            return ("done" if current.get("state") == "done" else "busy"), current
        # it was released or removed between the write and the read: try again
    raise StoreError(f"import ledger of tracker {tracker_id}: the entry of {sha256[:16]} kept changing")


def _try_claim(
    tracker_id: int, kind: str, sha256: str, *, key: str, upload: tuple[str, str], token: str, lease_s: int
) -> tuple[bool, dict[str, Any] | None]:
    now = _now()
    item = {
        **_ledger_key(tracker_id, kind, sha256),
        "state": "running",
        "claim": token,
        "lease_until": now + lease_s,
        "source_key": key,
        "source_etag": upload[0],
        "source_modified": upload[1],
        "started": now,
    }
    try:
        with store_call("import claim"):
            _table().put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #st = :failed OR "
                "(#st = :running AND (#lu < :now OR (#sk = :key AND #se = :etag AND #sm = :modified)))",
                ExpressionAttributeNames={
                    "#st": "state",
                    "#lu": "lease_until",
                    "#sk": "source_key",
                    "#se": "source_etag",
                    "#sm": "source_modified",
                },
                ExpressionAttributeValues={
                    ":failed": "failed",
                    ":running": "running",
                    ":now": now,
                    ":key": key,
                    ":etag": upload[0],
                    ":modified": upload[1],
                },
            )
        return True, None
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) != "ConditionalCheckFailedException":
            raise
    return False, get_ledger(tracker_id, kind, sha256)


def get_ledger(tracker_id: int, kind: str, sha256: str) -> dict[str, Any] | None:
    with store_call("import ledger get"):
        item = _table().get_item(Key=_ledger_key(tracker_id, kind, sha256), ConsistentRead=True).get("Item")
    return plain(item) if item else None


def finish(tracker_id: int, kind: str, sha256: str, token: str, outcome: dict[str, Any]) -> bool:
    """Mark the content imported, with its outcome; False if this import no longer held it."""
    return _settle(tracker_id, kind, sha256, token, "done", outcome)


def release(tracker_id: int, kind: str, sha256: str, token: str, outcome: dict[str, Any]) -> bool:
    """Mark the import failed: a later import of the same content may take it over."""
    return _settle(tracker_id, kind, sha256, token, "failed", outcome)


def _settle(tracker_id: int, kind: str, sha256: str, token: str, state: str, outcome: dict[str, Any]) -> bool:
    try:
        with store_call("import ledger settle"):
            _table().update_item(
                Key=_ledger_key(tracker_id, kind, sha256),
                UpdateExpression="SET #st = :state, #oc = :outcome, #fi = :now REMOVE #lu",
                ConditionExpression="#cl = :token AND #st = :running",
                ExpressionAttributeNames={
                    "#st": "state",
                    "#oc": "outcome",
                    "#fi": "finished",
                    "#lu": "lease_until",
                    "#cl": "claim",
                },
                ExpressionAttributeValues={
                    ":state": state,
                    ":outcome": dynamo(outcome),
                    ":now": _now(),
                    ":token": token,
                    ":running": "running",
                },
            )
        return True
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) == "ConditionalCheckFailedException":
            return False
        raise


# ----------------------------------------------------------------------------- outcomes (DynamoDB)
def put_outcome(outcome: dict[str, Any]) -> None:
    """Record an outcome under its tracker and in the feed of all imports (TTL 90 days).

    The sort key starts with the ISO finish time, so a query reads newest first; writing the
    same outcome again overwrites the same two items.
    """
    tracker_id = int(outcome["tracker_id"])
    finished = outcome["finished"]
    tail = f"{str(outcome.get('sha256') or '-')[:16]}#{hashlib.sha256(str(outcome['key']).encode()).hexdigest()[:8]}"
    ttl = _now() + OUTCOME_TTL_S
    body = {k: v for k, v in dynamo(outcome).items() if v is not None}
    with store_call("import outcome put"):
        for pk, sk in (
            (f"{OUTCOMES_PREFIX}{tracker_id}", f"{finished}#{tail}"),
            (f"{OUTCOMES_PREFIX}{ALL}", f"{finished}#{tracker_id}#{tail}"),
        ):
            _table().put_item(Item={"pk": pk, "sk": sk, "ttl": ttl, **body})


def list_outcomes(tracker_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Newest first: one tracker's outcomes, or all trackers' (expired ones left out)."""
    from boto3.dynamodb.conditions import Key

    pk = f"{OUTCOMES_PREFIX}{ALL if tracker_id is None else tracker_id}"
    out: list[dict[str, Any]] = []
    now = _now()
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "ScanIndexForward": False}
    while len(out) < limit:
        kwargs["Limit"] = max(limit - len(out), 10)
        with store_call("import outcomes list"):
            resp = _table().query(**kwargs)
        for item in resp.get("Items", []):
            if int(item.get("ttl", now + 1)) > now:
                out.append({k: v for k, v in plain(item).items() if k not in ("pk", "sk", "ttl")})
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    return out[:limit]
