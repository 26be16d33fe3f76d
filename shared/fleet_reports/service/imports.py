"""The import use case: a track file uploaded to ``incoming/`` lands in the per-day objects.

A file at ``incoming/<tracker_id>/<name>`` holds fixes (CSV, NDJSON or GPX, optionally gzip'd);
one at ``incoming/<tracker_id>/events/<name>`` holds device events (NDJSON). Its import:

1. refuses an upload larger than the import reads (:func:`text_limit`, from the function's
   memory) from its size, unread; reads the upload and its SHA-256; a tracker the fleet table
   does not know fails the import (``failed``, nothing written);
2. takes the content in the ledger (tracker + SHA-256): content imported before is a
   ``duplicate`` of that first upload and writes nothing; a retry of the same upload
   re-reports its outcome;
3. parses and validates (:mod:`fleet_reports.ingest`): bad rows are rejected with their line
   and reason, good rows go on; a file that is unusable as a whole fails the import (whatever
   the parser raised: the same bytes would fail again, so it is permanent);
4. splits the rows by UTC day and merges each day into its object, the days in parallel, each
   with optimistic concurrency (:mod:`fleet_reports.store.tracks`), so concurrent imports for
   the same tracker and day never lose a fix; then records the merged days' odometer figures in
   the tracker's summary, with the same concurrency (:mod:`fleet_reports.store.odometer`);
5. records the outcome in the fleet table and as JSON at ``outcomes/<tracker_id>/<name>.json``
   beside the upload.

A permanent failure (unknown tracker, too large, unusable file) is an outcome and returns
normally. A transient one (a day kept changing under the merge, the store failing) records a
``failed`` outcome saying it will be retried, releases the ledger and raises
:class:`ImportRetry`, so that Lambda retries the event (and, after its retries, parks it in the
dead-letter queue). Outcomes speak to the uploader: never Python exception text (the import
function's log has the details). The upload stays in ``incoming/``
(expired by the bucket's lifecycle) as the audit trail of what was sent.

The CLI's side: :func:`upload`, :func:`wait_outcome`, :func:`list_outcomes`.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import IO, TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from fleet_reports.contract import IMPORT_PREFIX
from fleet_reports.settings import get_settings
from fleet_reports.store import fleet, tracks
from fleet_reports.store import imports as store
from fleet_reports.store.imports import Upload, outcome_object_key

if TYPE_CHECKING:
    from fleet_reports.ingest import ParsedEvents, ParsedFixes

Kind = Literal["fixes", "events"]
State = Literal["done", "failed", "duplicate"]

OUTCOME_REJECTIONS = 100  # rejections listed in an outcome; all are counted
LEASE_S = 330  # the import function's timeout (300 s) and a margin
DAY_WORKERS = 8
_KEY = re.compile(r"^incoming/(?P<tracker>[^/]+)/(?P<name>.+)$")
_TRACKER_ID = re.compile(r"^[1-9][0-9]{0,17}$")
MEMORY_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"  # the function's memory in MB, set by Lambda itself
IGNORED_LISTED = 100  # ignored column names listed in an outcome
RETRIED = "the import will be retried"

logger = Logger(child=True)


class ImportRetry(RuntimeError):
    """The import could not complete now (recorded as failed); retrying the event may succeed."""


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int  # 1-based line of the (decompressed) file; for GPX the ordinal of the trkpt
    reason: str


class ImportOutcome(BaseModel):
    """What became of one uploaded file; readable by the uploader (fleet table and outcome JSON)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tracker_id: int
    key: str  # the upload: incoming/<tracker_id>/[events/]<name>
    kind: Kind = "fixes"
    state: State
    sha256: str = ""
    size: int = 0  # bytes uploaded
    format: str = ""  # csv | ndjson | gpx, "+gzip" when compressed
    started: str  # ISO 8601 UTC
    finished: str
    rows: int = 0  # data rows read
    accepted: int = 0  # rows imported (after duplicates within the file)
    rejected_count: int = 0
    rejections: list[Rejection] = Field(default_factory=list)  # the first 100, by line
    duplicates: int = 0  # rows replaced by a later row of the file with the same time
    days: list[str] = Field(default_factory=list)  # UTC days touched, YYYY-MM-DD
    added: int = 0  # rows new to the store (accepted minus those that replaced stored ones)
    conflicts: int = 0  # merges retried because a concurrent import wrote the day first
    ignored_columns: list[str] = Field(default_factory=list)  # sensor columns not imported (the first 100)
    notes: list[str] = Field(default_factory=list)  # what was left out and why, in plain words
    duplicate_of: str | None = None  # for state "duplicate": the upload first imported with this content
    error: str | None = None  # for state "failed"
    source_etag: str = ""  # with source_modified, identifies the upload this outcome is about
    source_modified: str = ""
    outcome_key: str = ""  # where the outcome JSON is, in the track bucket

    def summary(self) -> dict[str, Any]:
        """The outcome without its rejections (for logs)."""
        return self.model_dump(exclude={"rejections"})


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def text_limit() -> int:
    """The largest upload the import reads, and the most a gzip upload may inflate to: from the
    function's memory (``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, else the template's 1769 MB), see
    :func:`fleet_reports.ingest.source.max_text_bytes`."""
    from fleet_reports.ingest.source import DEFAULT_MEMORY_MB, max_text_bytes

    raw = os.environ.get(MEMORY_ENV, "").strip()
    memory = int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MEMORY_MB
    return max_text_bytes(memory)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def _outcome_key(key: str) -> str:
    m = _KEY.match(key)
    rest = f"{m['tracker']}/{m['name']}" if m else key.removeprefix(IMPORT_PREFIX)
    tracker_part, _, name = rest.partition("/")
    return outcome_object_key(tracker_part, name or "_")


# ----------------------------------------------------------------------------- the import
def import_object(bucket: str, key: str) -> ImportOutcome:
    """Import one uploaded object (what the import function does for each S3 record)."""
    started = _iso_now()
    base: dict[str, Any] = {"key": key, "started": started, "outcome_key": _outcome_key(key), "tracker_id": 0}
    m = _KEY.match(key)
    if key.endswith("/"):  # a "folder" made in the S3 console: nothing to import, nothing to say
        return _outcome(base, "failed", error="a folder marker, not a file")
    if not m or not _TRACKER_ID.match(m["tracker"]):
        return _record(bucket, base, "failed", error="the key is not incoming/<tracker_id>/<name>")
    tracker_id, name = int(m["tracker"]), m["name"]
    kind: Kind = "events" if name.startswith("events/") else "fixes"
    base |= {"tracker_id": tracker_id, "kind": kind}
    limit = text_limit()
    upload = store.get_upload(bucket, key, max_bytes=limit)
    if upload is None:
        return _record(bucket, base, "failed", error="the upload is gone (deleted before its import)")
    if not upload.complete:  # refused from its size, unread
        too_large = (
            f"the file is {_mib(upload.size)}; the import reads files of at most {_mib(limit)} (as uploaded,"
            " or once decompressed): split it, for example by month"
        )
        base |= {"size": upload.size, "source_etag": upload.etag, "source_modified": upload.modified}
        return _record(bucket, base, "failed", error=too_large)
    sha256 = hashlib.sha256(upload.body).hexdigest()
    base |= {
        "sha256": sha256,
        "size": upload.size,
        "source_etag": upload.etag,
        "source_modified": upload.modified,
    }
    tracker = fleet.get_trackers([tracker_id]).get(tracker_id)
    if tracker is None:
        return _record(bucket, base, "failed", error=f"unknown tracker {tracker_id}: it is not in the fleet")
    sensors = [s.input_name for s in tracker.sensors]

    token = uuid.uuid4().hex
    taken, entry = store.claim(
        tracker_id, kind, sha256, key=key, upload=(upload.etag, upload.modified), token=token, lease_s=LEASE_S
    )
    if taken == "done" and entry is not None:
        first = ImportOutcome.model_validate(entry.get("outcome") or {})
        if (first.key, first.source_etag, first.source_modified) == (key, upload.etag, upload.modified):
            _publish(bucket, first)  # a redelivered event: report the same outcome again
            return first
        return _record(
            bucket,
            base | {"format": first.format, "duplicate_of": first.key},
            "duplicate",
            error=None,
        )
    if taken == "busy":
        raise ImportRetry(f"{key}: the same content is being imported from {entry and entry.get('source_key')}")

    try:
        outcome = _import(bucket, base, name, kind, upload, limit, sensors)
    except Exception as exc:  # transient (ImportRetry) or unexpected: say so, then let Lambda retry
        error = (
            str(exc)
            if isinstance(exc, ImportRetry)
            else f"the import failed for a reason that may pass (the store did not answer as expected); {RETRIED}"
        )
        failed = _outcome(base, "failed", error=error)
        store.release(tracker_id, kind, sha256, token, failed.model_dump(mode="json"))
        _publish(bucket, failed)
        raise
    settle = store.finish if outcome.state == "done" else store.release
    settle(tracker_id, kind, sha256, token, outcome.model_dump(mode="json"))
    _publish(bucket, outcome)
    return outcome


def _import(
    bucket: str, base: dict[str, Any], name: str, kind: Kind, upload: Upload, limit: int, sensors: list[str]
) -> ImportOutcome:
    from fleet_reports.ingest import IngestError, detect_format

    now_ms = int(time.time() * 1000)
    try:
        fmt, gzipped = detect_format(name, upload.body)
        base = base | {"format": fmt + ("+gzip" if gzipped else "")}
        if kind == "events":
            return _import_events(bucket, base, name, upload.body, now_ms, limit)
        return _import_fixes(bucket, base, name, upload.body, now_ms, limit, sensors)
    except IngestError as exc:
        return _outcome(base, "failed", error=str(exc))


def _unreadable(name: str, exc: Exception) -> Exception:
    """Whatever else the parser raised, as the permanent failure it is (the same bytes fail the
    same way): an IngestError in the uploader's words; the details go to the log."""
    from fleet_reports.ingest import IngestError

    logger.exception("the parser failed on an upload", extra={"upload": name})
    if isinstance(exc, MemoryError):
        return IngestError(f"{name!r}: the file is too large to read in the import's memory; split it")
    if isinstance(exc, RecursionError):
        return IngestError(f"{name!r}: the file holds values nested too deeply to read")
    return IngestError(f"{name!r}: the file could not be read (the reader failed on its content)")


def _import_fixes(
    bucket: str, base: dict[str, Any], name: str, data: bytes, now_ms: int, limit: int, sensors: list[str]
) -> ImportOutcome:
    from fleet_reports.ingest import IngestError, parse_fixes, split_utc_days

    try:
        parsed = parse_fixes(data, name, now_ms=now_ms, max_bytes=limit, sensors=sensors)
    except IngestError:
        raise
    except Exception as exc:
        raise _unreadable(name, exc) from None
    tracker_id = int(base["tracker_id"])
    days = split_utc_days(parsed.track)
    try:
        results = _merge_days(
            sorted(days), lambda day: tracks.merge_day(tracker_id, day, days[day], bucket=bucket), base["key"]
        )
    finally:  # the days that landed, even when others could not be merged now
        _record_odometer(bucket, tracker_id, sorted(days), base["key"])
    return _parsed_outcome(base, parsed.rows, len(parsed.track), parsed, results)


def _record_odometer(bucket: str, tracker_id: int, days: list[date], key: str) -> None:
    """The merged days' odometer figures into the tracker's summary (:mod:`fleet_reports.store.odometer`);
    ImportRetry when it kept changing or the store failed (the retry records them again)."""
    from fleet_reports.store import odometer
    from fleet_reports.store.errors import StoreError

    if not days:
        return
    try:
        settings = odometer.tracker_settings(tracker_id)
        if settings is not None:
            odometer.record_days(tracker_id, days, settings, bucket=bucket)
    except StoreError as exc:
        logger.warning("odometer summary not updated", extra={"upload": key, "reason": str(exc)})
        raise ImportRetry(f"the tracker's odometer summary could not be updated now; {RETRIED}") from exc


def _import_events(bucket: str, base: dict[str, Any], name: str, data: bytes, now_ms: int, limit: int) -> ImportOutcome:
    from fleet_reports.ingest import IngestError, parse_events, split_event_days

    try:
        parsed = parse_events(data, name, now_ms=now_ms, max_bytes=limit)
    except IngestError:
        raise
    except Exception as exc:
        raise _unreadable(name, exc) from None
    tracker_id = int(base["tracker_id"])
    days = split_event_days(parsed.events)
    results = _merge_days(
        sorted(days), lambda day: tracks.merge_events_day(tracker_id, day, days[day], bucket=bucket), base["key"]
    )
    return _parsed_outcome(base, parsed.rows, len(parsed.events), parsed, results)


def _merge_days(
    days: list[date], merge: Callable[[date], tracks.MergeResult], key: str
) -> list[tuple[date, tracks.MergeResult]]:
    """Merge every day, in parallel; ImportRetry when any day could not be merged now.

    Days that did land stay (a retry merges them again, which changes nothing).
    """
    from fleet_reports.store.errors import StoreError

    if not days:
        return []
    with ThreadPoolExecutor(max_workers=min(DAY_WORKERS, len(days))) as pool:
        futures = [(day, pool.submit(merge, day)) for day in days]
    results: list[tuple[date, tracks.MergeResult]] = []
    busy: list[str] = []
    failed: list[str] = []
    for day, future in futures:
        try:
            results.append((day, future.result()))
        except tracks.TrackConflict as exc:
            logger.warning("day still changing", extra={"upload": key, "reason": str(exc)})
            busy.append(day.isoformat())
        except StoreError as exc:
            logger.warning("day not merged", extra={"upload": key, "reason": str(exc)})
            failed.append(day.isoformat())
    if busy or failed:
        why = []
        if busy:
            why.append(f"{', '.join(busy)}: other imports kept changing {'it' if len(busy) == 1 else 'them'}")
        if failed:
            why.append(f"{', '.join(failed)}: the track store did not answer")
        raise ImportRetry(
            f"{len(busy) + len(failed)} of {len(days)} days could not be merged now ({'; '.join(why)}); {RETRIED}"
        )
    return results


def _parsed_outcome(
    base: dict[str, Any],
    rows: int,
    accepted: int,
    parsed: ParsedFixes | ParsedEvents,
    results: list[tuple[date, tracks.MergeResult]],
) -> ImportOutcome:
    from fleet_reports.ingest.fixes import MAX_SENSOR_COLUMNS
    from fleet_reports.ingest.merge import MAX_DAY_SENSOR_COLUMNS

    ignored = list(getattr(parsed, "ignored_columns", ()))
    notes = []
    if ignored:
        notes.append(
            f"{len(ignored):,} sensor columns were not imported: a file brings at most {MAX_SENSOR_COLUMNS}"
            " (the tracker's declared sensors first, then in file order)"
        )
    for day, r in results:
        if r.ignored_sensors:
            notes.append(
                f"{len(r.ignored_sensors):,} sensor columns were not stored in {day.isoformat()}:"
                f" a day holds at most {MAX_DAY_SENSOR_COLUMNS}"
            )
            ignored.extend(c for c in r.ignored_sensors if c not in ignored)
    fields = {
        "ignored_columns": ignored[:IGNORED_LISTED],
        "notes": notes,
        "rows": rows,
        "accepted": accepted,
        "rejected_count": parsed.rejected_count,
        "rejections": [Rejection(line=r.line, reason=r.reason) for r in parsed.rejected[:OUTCOME_REJECTIONS]],
        "duplicates": parsed.duplicates,
        "days": [day.isoformat() for day, _ in results],
        "added": sum(r.added for _, r in results),
        "conflicts": sum(r.attempts - 1 for _, r in results),
    }
    if not accepted:
        return _outcome(base | fields, "failed", error="no row of the file could be imported")
    return _outcome(base | fields, "done")


def _outcome(base: dict[str, Any], state: State, *, error: str | None = None) -> ImportOutcome:
    error = error if error is None or len(error) <= 2000 else error[:1999] + "…"
    return ImportOutcome.model_validate({**base, "state": state, "error": error, "finished": _iso_now()})


def _record(bucket: str, base: dict[str, Any], state: State, *, error: str | None) -> ImportOutcome:
    outcome = _outcome(base, state, error=error)
    _publish(bucket, outcome)
    return outcome


def _publish(bucket: str, outcome: ImportOutcome) -> None:
    """The outcome where the uploader reads it: the fleet table and the JSON beside the upload."""
    data = outcome.model_dump(mode="json")
    store.put_outcome(data)
    store.put_outcome_json(bucket, outcome.outcome_key, data)


# ----------------------------------------------------------------------------- the uploader's side
def tracker_known(tracker_id: int) -> bool:
    """Whether the fleet data has this tracker (an upload for an unknown one would only fail)."""
    return fleet.get_tracker(tracker_id) is not None


def upload(
    tracker_id: int,
    name: str,
    fileobj: IO[bytes],
    size: int,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Upload a track file for ``tracker_id``; the key it went to (``incoming/<tracker_id>/<name>``).

    ``name`` may be a plain file name (fixes) or ``events/<file name>`` (device events); its
    extension tells the format. ``progress`` gets the bytes sent since its previous call. The
    import runs when the upload lands; :func:`wait_outcome` waits for it.
    """
    if tracker_id <= 0:
        raise ValueError(f"tracker id must be positive, got {tracker_id}")
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in name:
        raise ValueError(f"not a usable file name: {name!r}")
    if len(parts) > 1 and (parts[0] != "events" or len(parts) > 2):
        raise ValueError(f"{name!r}: a name is a file name, or events/<file name> for device events")
    key = f"{IMPORT_PREFIX}{tracker_id}/{name}"
    store.put_upload(_bucket(), key, fileobj, size, progress)
    return key


def wait_outcome(key: str, timeout_s: float) -> ImportOutcome | None:
    """The outcome of the import of the upload now at ``key``; None if none came within ``timeout_s``.

    An outcome counts only if it is about this very upload (same ETag and Last-Modified), not an
    earlier upload under the same name. When the upload is gone, the latest outcome counts.
    """
    bucket = _bucket()
    current = store.head_upload(bucket, key)
    deadline = time.monotonic() + timeout_s
    pause = 0.1
    while True:
        data = store.get_outcome_json(bucket, _outcome_key(key))
        if data is not None:
            outcome = ImportOutcome.model_validate(data)
            if current is None or (outcome.source_etag, outcome.source_modified) == current:
                return outcome
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(pause, left))
        pause = min(pause * 1.5, 1.0)


def list_outcomes(tracker_id: int | None = None, limit: int = 50) -> list[ImportOutcome]:
    """The newest import outcomes (of one tracker, or of all), newest first; kept 90 days."""
    return [ImportOutcome.model_validate(o) for o in store.list_outcomes(tracker_id, max(1, limit))]


def _bucket() -> str:
    return get_settings().require("track_bucket")
