"""The local stack's state across restarts: every DynamoDB table's items and every S3 bucket's
objects, read and written back through the AWS API of the stack's moto server (moto keeps
nothing of its own), in a folder (``.local/state/`` for ``make run``).

The folder::

    snapshot.json     format, when it was taken, the tables' items (DynamoDB JSON, binaries in
                      base64), each object's key, headers, metadata and blob, and the stack's
                      notes (the demo fleet's hashes and example report)
    blobs/<sha256>    the objects' bytes, one file per distinct content
    lock              held (``flock``) by the stack that uses the folder

A save is atomic: new blobs first (each to a temporary name, then renamed), then
``snapshot.json`` the same way, then the blobs it no longer names are removed; a crash at any
point leaves the previous snapshot or the new one, whole. A save is incremental: an object
whose ETag and Last-Modified are those of the last save or restore is not read again.
:class:`WriteCounter` counts the requests that change something, so a periodic save is skipped
when nothing did.

SQS messages are not kept: what they stood for is resumed by the stack after a restore (see
:func:`fleet_reports.local.stack.resume_unfinished_work`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

__all__ = ["Counts", "ObjectEntry", "Restored", "StateError", "StateFolder", "WriteCounter"]

FORMAT = 1
SNAPSHOT = "snapshot.json"
BLOBS = "blobs"
LOCK = "lock"
_WORKERS = 8
_BATCH = 25  # BatchWriteItem's limit
# The object headers a snapshot keeps (get_object's name -> put_object's parameter).
_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")
# The service of a SigV4 signature: Credential=<key>/<date>/<region>/<service>/aws4_request
_SCOPE = re.compile(r"Credential=[^/,\s]+/[0-9]{8}/[^/]+/([a-z0-9-]+)/aws4_request")
# DynamoDB operations that only read; any other DynamoDB call changes the state.
_DYNAMODB_READS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "DescribeTable",
        "ListTables",
        "DescribeTimeToLive",
        "DescribeContinuousBackups",
        "ListTagsOfResource",
        "DescribeEndpoints",
        "DescribeLimits",
    }
)


class StateError(Exception):
    """The state folder cannot be used (locked, damaged, or written by another format)."""


@dataclass(frozen=True)
class Counts:
    """What a save or a restore moved, and how long it took."""

    items: int
    objects: int
    size: int
    seconds: float

    def describe(self) -> str:
        return f"{self.items} items, {self.objects} objects, {self.size / 1e6:.1f} MB"


@dataclass(frozen=True)
class ObjectEntry:
    """One S3 object of a snapshot."""

    key: str
    blob: str
    size: int
    etag: str
    modified: str
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Restored:
    """The outcome of :meth:`StateFolder.restore`."""

    counts: Counts
    taken: str
    """When the snapshot was taken (ISO 8601, UTC)."""
    notes: dict[str, Any]
    """What the stack kept beside the data (see :meth:`StateFolder.save`)."""
    deferred: list[tuple[str, ObjectEntry]]
    """Objects held back by the ``defer`` rule, to be put with :meth:`StateFolder.put_objects`."""
    skipped: list[str]
    """Tables and buckets of the snapshot that the stack no longer has."""


class WriteCounter:
    """WSGI middleware in front of moto's server: counts the requests that change DynamoDB or S3.

    SQS traffic (the pollers' constant receives) and reads do not count, so an unchanged stack
    is not saved again.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.writes = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if changes_state(environ):
            with self._lock:
                self.writes += 1
        return self.app(environ, start_response)


def changes_state(environ: dict[str, Any]) -> bool:
    """Whether a request to moto may change a table or a bucket (when unsure: yes)."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    scope = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", ""))) or _SCOPE.search(
        unquote(str(environ.get("QUERY_STRING", "")))
    )
    service = scope.group(1) if scope else ""
    if service == "dynamodb":
        return str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2] not in _DYNAMODB_READS
    return service in ("s3", "")  # SQS, STS...: not kept


# ----------------------------------------------------------------------------- DynamoDB JSON
def _encode(value: dict[str, Any]) -> dict[str, Any]:
    """A typed attribute value with binaries as base64 text (DynamoDB's own JSON form)."""
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64encode(bytes(inner)).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(bytes(b)).decode() for b in inner]}
    if kind == "L":
        return {"L": [_encode(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _encode(v) for k, v in inner.items()}}
    return {kind: inner}


def _decode(value: dict[str, Any]) -> dict[str, Any]:
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "L":
        return {"L": [_decode(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _decode(v) for k, v in inner.items()}}
    return {kind: inner}


def _item_size(item: dict[str, Any]) -> int:
    return len(json.dumps(item, separators=(",", ":")))


# ----------------------------------------------------------------------------- the folder
class StateFolder:
    """A state folder and the moto endpoint it saves from and restores into."""

    def __init__(self, folder: Path, endpoint: str, region: str = "us-east-1") -> None:
        self.folder = folder
        self.endpoint, self.region = endpoint, region
        self._clients: tuple[DynamoDBClient, S3Client] | None = None
        self._clients_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._known: dict[tuple[str, str], ObjectEntry] = {}
        self._lock_file: IO[bytes] | None = None

    @property
    def snapshot_path(self) -> Path:
        return self.folder / SNAPSHOT

    @property
    def blobs(self) -> Path:
        return self.folder / BLOBS

    def exists(self) -> bool:
        return self.snapshot_path.is_file()

    def clients(self) -> tuple[DynamoDBClient, S3Client]:
        """Its own boto3 session's clients, pointed at the endpoint (thread-safe once made)."""
        with self._clients_lock:
            if self._clients is None:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(
                    aws_access_key_id="local", aws_secret_access_key="local", region_name=self.region
                )
                config = Config(max_pool_connections=_WORKERS * 2, retries={"max_attempts": 3, "mode": "standard"})
                self._clients = (
                    session.client("dynamodb", endpoint_url=self.endpoint, config=config),
                    session.client("s3", endpoint_url=self.endpoint, config=config),
                )
            return self._clients

    # ------------------------------------------------------------------------- lock, wipe
    def lock(self) -> None:
        """Take the folder for this process; StateError when another stack holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = (self.folder / LOCK).open("a+b")
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one stack per folder is then up to the user
            self._lock_file = handle
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StateError(
                f"another local stack uses {self.folder}: stop it first, or give this one --state-dir"
            ) from None
        self._lock_file = handle

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def wipe(self) -> None:
        """Forget the snapshot (its file, its blobs, leftovers of an interrupted save)."""
        self.snapshot_path.unlink(missing_ok=True)
        for path in self.folder.glob(f".{SNAPSHOT}.*"):
            path.unlink(missing_ok=True)
        if self.blobs.is_dir():
            for path in self.blobs.iterdir():
                path.unlink(missing_ok=True)
            self.blobs.rmdir()
        self._known = {}

    # ------------------------------------------------------------------------- save
    def save(self, notes: dict[str, Any] | None = None) -> Counts:
        """Snapshot every table and bucket of the endpoint into the folder, atomically."""
        with self._save_lock:
            t0 = time.monotonic()
            tables, items, item_bytes = self._read_tables()
            objects = self._read_objects()
            snapshot = {
                "format": FORMAT,
                "taken": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                "notes": notes or {},
                "tables": tables,
                "buckets": {b: [asdict(e) for e in entries] for b, entries in objects.items()},
            }
            _write_atomically(self.snapshot_path, json.dumps(snapshot, separators=(",", ":")).encode())
            kept = {e.blob for entries in objects.values() for e in entries}
            for path in self.blobs.iterdir() if self.blobs.is_dir() else ():
                if path.name not in kept:
                    path.unlink(missing_ok=True)
            self._known = {(b, e.key): e for b, entries in objects.items() for e in entries}
            size = item_bytes + sum(e.size for entries in objects.values() for e in entries)
            n_objects = sum(len(entries) for entries in objects.values())
            return Counts(items, n_objects, size, round(time.monotonic() - t0, 2))

    def _read_tables(self) -> tuple[dict[str, list[dict[str, Any]]], int, int]:
        ddb, _ = self.clients()
        names = [n for page in ddb.get_paginator("list_tables").paginate() for n in page.get("TableNames", [])]
        tables: dict[str, list[dict[str, Any]]] = {}
        count = size = 0
        for name in names:
            rows: list[dict[str, Any]] = []
            for page in ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
                rows.extend({k: _encode(dict(v)) for k, v in item.items()} for item in page.get("Items", []))
            tables[name] = rows
            count += len(rows)
            size += sum(_item_size(r) for r in rows)
        return tables, count, size

    def _read_objects(self) -> dict[str, list[ObjectEntry]]:
        _, s3 = self.clients()
        listing: dict[str, list[dict[str, Any]]] = {}
        for bucket in (b["Name"] for b in s3.list_buckets().get("Buckets", []) if "Name" in b):
            listing[bucket] = [
                dict(o)
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in page.get("Contents", [])
            ]
        todo: list[tuple[str, str]] = []
        kept: dict[tuple[str, str], ObjectEntry] = {}
        for bucket, listed in listing.items():
            for o in listed:
                known = self._known.get((bucket, o["Key"]))
                if known and known.etag == o["ETag"] and known.modified == _iso(o["LastModified"]):
                    kept[(bucket, o["Key"])] = known
                else:
                    todo.append((bucket, o["Key"]))
        if todo:
            self.blobs.mkdir(parents=True, exist_ok=True)
            with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
                for where, entry in zip(todo, pool.map(self._fetch, todo), strict=True):
                    if entry is not None:
                        kept[where] = entry
        return {
            bucket: [kept[(bucket, o["Key"])] for o in listed if (bucket, o["Key"]) in kept]
            for bucket, listed in listing.items()
        }

    def _fetch(self, where: tuple[str, str]) -> ObjectEntry | None:
        """Read one object and keep its bytes as a blob; None when it was deleted meanwhile."""
        _, s3 = self.clients()
        bucket, key = where
        try:
            resp = s3.get_object(Bucket=bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            return None
        data = resp["Body"].read()
        blob = hashlib.sha256(data).hexdigest()
        path = self.blobs / blob
        if not path.exists():
            _write_atomically(path, data)
        raw: dict[str, Any] = dict(resp)
        return ObjectEntry(
            key=key,
            blob=blob,
            size=len(data),
            etag=str(resp["ETag"]),
            modified=_iso(resp["LastModified"]),
            headers={h: str(raw[h]) for h in _HEADERS if raw.get(h)},
            metadata=dict(resp.get("Metadata", {})),
        )

    # ------------------------------------------------------------------------- restore
    def restore(self, defer: Callable[[str, str, frozenset[str]], bool] | None = None) -> Restored:
        """Put the snapshot's items and objects into the endpoint's (empty) tables and buckets.

        ``defer(bucket, key, keys_of_that_bucket)`` holds objects back (returned in
        ``deferred``): e.g. uploads that should arrive only once something listens for them.
        StateError when the snapshot cannot be read or put back.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._restore(defer)
        except (ClientError, BotoCoreError) as exc:
            raise StateError(f"cannot restore {self.folder}: {exc} (--fresh starts over)") from exc

    def _restore(self, defer: Callable[[str, str, frozenset[str]], bool] | None) -> Restored:
        t0 = time.monotonic()
        try:
            snapshot = json.loads(self.snapshot_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StateError(f"cannot read {self.snapshot_path}: {exc} (--fresh starts over)") from exc
        if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
            found = snapshot.get("format") if isinstance(snapshot, dict) else None
            raise StateError(f"{self.snapshot_path} has format {found!r}, not {FORMAT} (--fresh starts over)")
        ddb, s3 = self.clients()
        skipped: list[str] = []
        tables = set(n for page in ddb.get_paginator("list_tables").paginate() for n in page.get("TableNames", []))
        items = size = 0
        for name, rows in dict(snapshot.get("tables", {})).items():
            if name not in tables:
                skipped.append(f"table {name}")
                continue
            decoded = [{k: _decode(v) for k, v in row.items()} for row in rows]
            for start in range(0, len(decoded), _BATCH):
                self._write_batch(name, decoded[start : start + _BATCH])
            items += len(rows)
            size += sum(_item_size(r) for r in rows)
        buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", []) if "Name" in b}
        now: list[tuple[str, ObjectEntry]] = []
        deferred: list[tuple[str, ObjectEntry]] = []
        for bucket, rows in dict(snapshot.get("buckets", {})).items():
            if bucket not in buckets:
                skipped.append(f"bucket {bucket}")
                continue
            entries = [ObjectEntry(**row) for row in rows]
            keys = frozenset(e.key for e in entries)
            for entry in entries:
                if not (self.blobs / entry.blob).is_file():
                    raise StateError(
                        f"{self.folder} is damaged: the blob of s3://{bucket}/{entry.key} is missing "
                        "(--fresh starts over)"
                    )
                held = defer is not None and defer(bucket, entry.key, keys)
                (deferred if held else now).append((bucket, entry))
        self.put_objects(now)
        size += sum(e.size for _, e in now)
        return Restored(
            counts=Counts(items, len(now), size, round(time.monotonic() - t0, 2)),
            taken=str(snapshot.get("taken", "")),
            notes=dict(snapshot.get("notes", {})),
            deferred=deferred,
            skipped=skipped,
        )

    def _write_batch(self, table: str, rows: list[dict[str, Any]]) -> None:
        ddb, _ = self.clients()
        requests: Any = {table: [{"PutRequest": {"Item": row}} for row in rows]}
        for attempt in range(10):
            resp = ddb.batch_write_item(RequestItems=requests)
            requests = resp.get("UnprocessedItems") or {}
            if not requests:
                return
            time.sleep(0.05 * 2**attempt)
        raise StateError(f"cannot restore the items of table {table}: DynamoDB kept them unprocessed")

    def put_objects(self, entries: Iterable[tuple[str, ObjectEntry]]) -> None:
        """Put objects of the snapshot back (in parallel); remembered, so the next save skips them."""
        todo = list(entries)
        if not todo:
            return
        _, s3 = self.clients()
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            list(pool.map(self._put, todo))
        put = {(bucket, entry.key): entry for bucket, entry in todo}
        for bucket in sorted({b for b, _ in todo}):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for o in page.get("Contents", []):
                    entry = put.get((bucket, o["Key"]))
                    if entry is not None:
                        fresh = {**asdict(entry), "etag": o["ETag"], "modified": _iso(o["LastModified"])}
                        self._known[(bucket, entry.key)] = ObjectEntry(**fresh)

    def _put(self, where: tuple[str, ObjectEntry]) -> None:
        _, s3 = self.clients()
        bucket, entry = where
        extra: Any = {**entry.headers, "Metadata": entry.metadata}
        s3.put_object(Bucket=bucket, Key=entry.key, Body=(self.blobs / entry.blob).read_bytes(), **extra)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
