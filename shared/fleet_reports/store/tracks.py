"""Track store: fixes and device events per tracker per UTC day, as Parquet in the track bucket.

Keys (Hive-style, so Athena can query the same files with partition pruning)::

    tracks/tracker_id=<id>/date=<YYYY-MM-DD>/fixes.parquet    fixes (sensor readings are columns)
    events/tracker_id=<id>/date=<YYYY-MM-DD>/events.parquet   device events

The bytes are :mod:`fleet_reports.ingest`'s codec (compact Parquet; it also reads the first
format this module wrote). A report reads only the days, and the columns, it needs, in parallel;
over a long span it lists the days that exist first (:func:`list_days`, one request per 1,000
days) instead of asking for every calendar day. Beside the days, each tracker's odometer summary
(``odometer/tracker_id=<id>/summary.json.gz``, :mod:`fleet_reports.store.odometer`) keeps their
per-day odometer figures; whoever writes or merges days records them there afterwards.

Writers
-------
* :func:`write_day` puts a day unconditionally: for a caller that owns the day (the demo loader).
* :func:`merge_day` / :func:`merge_events_day` merge new rows into a day (the importer): on equal
  time the new row wins, so merging the same rows again changes nothing, and a merge that
  changes nothing writes nothing.

Why concurrent merges never lose a fix
--------------------------------------
Two imports for the same tracker and day may run at once (two uploads, two Lambdas). Each merge
is a read-modify-write of one object, made safe by optimistic concurrency on that object with
S3 conditional writes:

1. GET the day object and remember its ETag (or that it does not exist).
2. Merge the new rows into it and encode.
3. PUT with ``If-Match: <that ETag>`` (or ``If-None-Match: *`` when it did not exist).
4. S3 answers 412 PreconditionFailed if the object changed since step 1 (or appeared), and 409
   ConditionalRequestConflict if a conflicting write is in flight; then go back to 1 after a
   jittered exponential backoff (full jitter, up to :data:`BACKOFF_CAP_S`). After
   :data:`MAX_ATTEMPTS`, or :data:`MERGE_BUDGET_S` seconds, the merge raises
   :class:`TrackConflict` and the import fails loudly, saying so in its outcome (Lambda retries
   it, then its DLQ). 48 imports merging into one day at once all land within the budget
   (``tests/functions/test_hostile_imports.py``); 10 attempts of at most 1 s left some behind.

Within one process the attempts at one object take turns (a lock per object key, held from the
GET to the PUT, never while backing off): threads of one process (the day merges of an import,
or every import of the local stack, which runs them all in one process) never lose a race to
each other, only to other processes; starved of CPU, 48 such threads otherwise kept
invalidating each other until the budget ran out.

S3 evaluates the condition and stores the object atomically (strong read-after-write
consistency, conditional writes since 2024), so a PUT succeeds only on top of exactly the
version it merged into: every successful write contains every row of every earlier successful
write. No lock is held, so a crashed writer blocks nobody. A same-content ETag (ABA) is harmless:
equal bytes are an equal merge base.

No second mechanism (such as a DynamoDB version item) is added: it could not make the S3 write
itself conditional, so it would either duplicate this check or need a lease, whose expiry under
a paused writer is exactly the lost update it means to prevent. The one place where the check
is not atomic is moto: its PutObject checks ``If-Match`` and then writes without a lock, so two
threads can both pass the check. The local stack therefore serialises moto's PutObject
(:func:`fleet_reports.local.moto_guards.atomic_conditional_writes`), which gives moto S3's semantics;
the race test in ``tests/functions/test_import.py`` runs on it.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from fleet_reports.engine.model import Track
from fleet_reports.settings import get_settings
from fleet_reports.store.aws import error_code, s3, store_call
from fleet_reports.store.errors import StoreError

if TYPE_CHECKING:
    from fleet_reports.ingest import Events

FIXES_PREFIX = "tracks/"
EVENTS_PREFIX = "events/"
_CONFLICTS = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
MAX_ATTEMPTS = 40  # conditional writes one merge tries before it gives up (TrackConflict)
MERGE_BUDGET_S = 120.0  # nor longer than this (the import function has 300 s)
LIST_AFTER_DAYS = 31  # a longer span is listed first (see ``load``)
_BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 2.0


TAKE_TURNS = True  # False: threads of one process race like processes (the race tests prove S3's check alone)
_TURNS: dict[tuple[str, str], threading.RLock] = {}
_TURNS_GUARD = threading.Lock()


def _turn(bucket: str, key: str) -> threading.RLock:
    """This process's lock for one object (see "Within one process" above)."""
    with _TURNS_GUARD:
        lock = _TURNS.get((bucket, key))
        if lock is None:
            if len(_TURNS) > 10_000:  # a long-lived process (the local stack): forget idle ones
                for k, v in list(_TURNS.items()):
                    if v.acquire(blocking=False):  # idle (or held by this very thread: harmless)
                        v.release()
                        del _TURNS[k]
            lock = _TURNS[(bucket, key)] = threading.RLock()
        return lock


class TrackConflict(StoreError):
    """A day object kept changing under a merge: every attempt lost the race."""


@dataclass(frozen=True)
class MergeResult:
    """What one merge did to one day object."""

    key: str
    before: int  # rows in the object before the merge (0 when it did not exist)
    after: int  # rows after
    attempts: int  # 1 = no conflict; n = n - 1 concurrent writers won first
    written: bool  # False when the merge changed nothing
    ignored_sensors: tuple[str, ...] = ()  # sensor columns left out: the day holds as many as it may

    @property
    def added(self) -> int:
        return self.after - self.before


def day_key(tracker_id: int, day: date) -> str:
    return f"{FIXES_PREFIX}tracker_id={tracker_id}/date={day.isoformat()}/fixes.parquet"


def events_day_key(tracker_id: int, day: date) -> str:
    return f"{EVENTS_PREFIX}tracker_id={tracker_id}/date={day.isoformat()}/events.parquet"


def _bucket(bucket: str | None = None) -> str:
    return bucket or get_settings().require("track_bucket")


def utc_days(from_ms: int, to_ms: int) -> list[date]:
    first = datetime.fromtimestamp(from_ms / 1000, UTC).date()
    last = datetime.fromtimestamp(to_ms / 1000, UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ----------------------------------------------------------------------------- codec
def encode(track: Track) -> bytes:
    from fleet_reports.ingest import encode_fixes

    return encode_fixes(track)


def decode(data: bytes, columns: Sequence[str] | None = None) -> Track:
    """A day object's fixes; ``columns`` limits what is read (``t`` always comes; others are unknown)."""
    from fleet_reports.ingest import decode_fixes

    return decode_fixes(data, list(columns) if columns is not None else None)


# ----------------------------------------------------------------------------- objects
def get_object(bucket: str, key: str) -> tuple[bytes, str] | None:
    """The object's bytes and ETag; None when it does not exist."""
    try:
        with store_call(f"track get {key}"):
            resp = s3().get_object(Bucket=bucket, Key=key)
            return resp["Body"].read(), str(resp["ETag"])
    except StoreError as exc:
        if error_code(exc.__cause__ or exc) in _MISSING:
            return None
        raise


def put_if(bucket: str, key: str, body: bytes, etag: str | None) -> bool:
    """Conditional PUT: over exactly ``etag``, or only if absent. False when the condition failed."""
    condition: dict[str, Any] = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        with store_call(f"track put {key}"):
            s3().put_object(Bucket=bucket, Key=key, Body=body, **condition)
        return True
    except StoreError as exc:
        code = error_code(exc.__cause__ or exc)
        if code in _CONFLICTS or (etag and code in _MISSING):  # changed, in flight, or deleted meanwhile
            return False
        raise


def merge_object(
    bucket: str,
    key: str,
    merge: Callable[[bytes | None], tuple[bytes, int, int]],
    max_attempts: int,
) -> MergeResult:
    """Optimistic read-merge-write of one object (see the module docstring).

    ``merge(current bytes or None) -> (new bytes, rows before, rows after)``; equal bytes mean
    nothing changed and nothing is written. Gives up (:class:`TrackConflict`) after
    ``max_attempts`` or :data:`MERGE_BUDGET_S` seconds, whichever comes first.
    """
    started = time.monotonic()
    attempt = 0
    turn = _turn(bucket, key) if TAKE_TURNS else contextlib.nullcontext()
    while attempt < max_attempts:
        attempt += 1
        with turn:
            current = get_object(bucket, key)
            body, before, after = merge(current[0] if current else None)
            if current is not None and body == current[0]:
                return MergeResult(key, before, after, attempt, written=False)
            if put_if(bucket, key, body, current[1] if current else None):
                return MergeResult(key, before, after, attempt, written=True)
        # Full jitter: spread the losers so they do not collide again in lockstep.
        pause = random.uniform(0, min(BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt))
        if time.monotonic() - started + pause > MERGE_BUDGET_S:
            break
        time.sleep(pause)
    raise TrackConflict(
        f"{key}: other imports kept changing it ({attempt} attempts in {time.monotonic() - started:.0f} s)"
    )


# ----------------------------------------------------------------------------- fixes
def write_day(tracker_id: int, day: date, track: Track, *, bucket: str | None = None) -> None:
    """Replace the day's fixes (unconditionally: the caller owns the day)."""
    with store_call("track put"):
        s3().put_object(Bucket=_bucket(bucket), Key=day_key(tracker_id, day), Body=encode(track))


def merge_day(
    tracker_id: int, day: date, track: Track, *, bucket: str | None = None, max_attempts: int | None = None
) -> MergeResult:
    """Merge ``track`` (fixes of that UTC day) into the stored day; safe against concurrent merges.

    The day keeps at most :data:`~fleet_reports.ingest.merge.MAX_DAY_SENSOR_COLUMNS` sensor
    columns: those it has stay, new ones beyond are left out (``ignored_sensors``)."""
    from fleet_reports.ingest import decode_fixes, encode_fixes, merge_tracks
    from fleet_reports.ingest.merge import bound_sensors

    ignored: tuple[str, ...] = ()

    def merge(current: bytes | None) -> tuple[bytes, int, int]:
        nonlocal ignored
        older = decode_fixes(current) if current is not None else Track.empty()
        newer, ignored = bound_sensors(older, track)
        if current is None:
            return encode_fixes(newer), 0, len(newer)
        merged = merge_tracks(older, newer)
        return encode_fixes(merged), len(older), len(merged)

    result = merge_object(_bucket(bucket), day_key(tracker_id, day), merge, max_attempts or MAX_ATTEMPTS)
    return replace(result, ignored_sensors=ignored) if ignored else result


def read_day(
    tracker_id: int, day: date, *, columns: Sequence[str] | None = None, bucket: str | None = None
) -> Track | None:
    found = get_object(_bucket(bucket), day_key(tracker_id, day))
    return decode(found[0], columns) if found else None


def list_days(
    tracker_id: int, first: date | None = None, last: date | None = None, *, bucket: str | None = None
) -> list[date]:
    """The UTC days (from ``first`` to ``last``, inclusive, when given) that have a fixes object,
    in order: one LIST request per 1,000 days stored, none per day absent."""
    prefix = f"{FIXES_PREFIX}tracker_id={tracker_id}/date="
    args: dict[str, Any] = {"Bucket": _bucket(bucket), "Prefix": prefix}
    if first is not None:
        args["StartAfter"] = f"{prefix}{first.isoformat()}"  # sorts just before that day's key
    days: list[date] = []
    with store_call(f"track list {prefix}"):
        for page in s3().get_paginator("list_objects_v2").paginate(**args):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not key.endswith("/fixes.parquet"):
                    continue
                day = date.fromisoformat(key[len(prefix) : len(prefix) + 10])
                if last is not None and day > last:
                    return days
                days.append(day)
    return days


def load(tracker_id: int, from_ms: int, to_ms: int, *, columns: Sequence[str] | None = None) -> Track:
    """The tracker's fixes with ``from_ms <= t <= to_ms``, time-ordered.

    ``columns`` (e.g. ``("lat", "lng", "speed")``) reads only those columns of each day; the
    others come back unknown (NaN / -1) and sensors only when named. A span of more than
    :data:`LIST_AFTER_DAYS` days first lists the days that exist (one request per 1,000), so
    that a long, sparse span costs the days it has, not the calendar's.
    """
    days = utc_days(from_ms, to_ms)
    bucket = _bucket()
    if len(days) > LIST_AFTER_DAYS:
        days = list_days(tracker_id, days[0], days[-1], bucket=bucket)
        if not days:
            return Track.empty()
    with ThreadPoolExecutor(max_workers=min(32, len(days))) as pool:
        found = list(pool.map(lambda d: get_object(bucket, day_key(tracker_id, d)), days))
    # Decoding is Arrow work that releases the GIL only in part; decode in order, after the I/O,
    # letting go of each object's bytes as soon as it is decoded.
    parts: list[Track] = []
    for i, got in enumerate(found):
        found[i] = None
        part = decode(got[0], columns) if got else None
        if part is not None and len(part):
            parts.append(part)
    track = Track.concat(parts)
    parts.clear()
    if not len(track):
        return track
    if len(track) > 1 and bool(np.any(track.t[1:] < track.t[:-1])):  # days are sorted; older objects may not be
        track = track.take(np.argsort(track.t, kind="stable"))
    lo = int(np.searchsorted(track.t, from_ms, side="left"))
    hi = int(np.searchsorted(track.t, to_ms, side="right"))
    return track if (lo, hi) == (0, len(track)) else track.take(slice(lo, hi))  # views, no copy


# ----------------------------------------------------------------------------- device events
def merge_events_day(
    tracker_id: int, day: date, events: Events, *, bucket: str | None = None, max_attempts: int | None = None
) -> MergeResult:
    """Merge device events of that UTC day into the stored day; safe against concurrent merges."""
    from fleet_reports.ingest import decode_events, encode_events, merge_events

    def merge(current: bytes | None) -> tuple[bytes, int, int]:
        if current is None:
            return encode_events(events), 0, len(events)
        older = decode_events(current)
        merged = merge_events(older, events)
        return encode_events(merged), len(older), len(merged)

    return merge_object(_bucket(bucket), events_day_key(tracker_id, day), merge, max_attempts or MAX_ATTEMPTS)


def read_events_day(tracker_id: int, day: date, *, bucket: str | None = None) -> Events | None:
    from fleet_reports.ingest import decode_events

    found = get_object(_bucket(bucket), events_day_key(tracker_id, day))
    return decode_events(found[0]) if found else None
