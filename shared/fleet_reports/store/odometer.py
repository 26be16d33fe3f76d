"""The odometer summary: each tracker's per-day odometer figures, kept beside its days.

The trips report's odometer at the period end counts the trips since the tracker's odometer base
(or its last device reading), which may lie years back. Reading every day since would make a
report's cost grow with the history; instead each UTC day's figures
(:class:`fleet_reports.engine.odometer.DayOdometer`: its trip distance, its last device reading
and that reading's time, the trip distance after it) are kept in one object per tracker, in the
track bucket::

    odometer/tracker_id=<id>/summary.json.gz

gzip'd JSON: ``{"format", "version", "fingerprint", "generation", "days": {"YYYY-MM-DD":
[trip_m, reading_km or null, reading_ms or null, after_reading_m]}}``; a day without fixes has
no entry. Ten years of days are 3,650 entries, some 60 KB gzip'd.

``fingerprint`` names the trip settings (and the engine's day rule) the figures were computed
with (:func:`fleet_reports.engine.odometer.settings_fingerprint`); ``null`` marks a summary to
rebuild. ``generation`` grows by one at every write, so that every write changes the object.

Who writes it
-------------
* :func:`record_days`, after days were written or merged (the importer, the demo loader): the
  figures of those days, read-modify-write of the summary with the conditional writes and retries
  of a day merge (:mod:`fleet_reports.store.tracks`). Each day is read *after* the summary, so
  the write that lands last saw the latest version of every day it recorded. A summary that is
  missing or was computed with other settings is not patched (it would claim days it lacks): it
  is marked for a rebuild, which is a write all the same.
* :func:`rebuild`: every stored day of the tracker (one LIST per 1,000 days, then the days that
  exist), written over exactly the version it read first. Because every :func:`record_days`
  changes the object, a rebuild that read a day before an import merged it cannot store its
  result over that import's record: its conditional write fails.
* :func:`history` (what the worker hands the engine): the figures of a span of days, one GET;
  a summary that is missing, marked, or computed with other settings (the manifest changed the
  tracker's ``trip_detection``) is rebuilt once and written back, so the next report is fast.

A crash between a day's merge and its :func:`record_days` leaves that day's figures stale until
the import is retried (Lambda retries a failed import; its merges then change nothing and it
records the days again) or the summary is rebuilt.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.odometer import FIGURE_COLUMNS, DayOdometer, day_figures, settings_fingerprint
from fleet_reports.settings import get_settings
from fleet_reports.store import tracks

SUMMARY_PREFIX = "odometer/"
FORMAT = "fleet-reports odometer summary"
VERSION = 1
READ_BATCH_DAYS = 64  # a rebuild holds at most this many days' bytes at once
_READERS = 32


def summary_key(tracker_id: int) -> str:
    return f"{SUMMARY_PREFIX}tracker_id={tracker_id}/summary.json.gz"


@dataclass(frozen=True)
class Summary:
    """A tracker's odometer summary as stored."""

    fingerprint: str | None  # None: to be rebuilt
    generation: int = 0
    days: dict[date, DayOdometer] = field(default_factory=dict)

    def valid_for(self, settings: TripSettings) -> bool:
        return self.fingerprint is not None and self.fingerprint == settings_fingerprint(settings)

    def between(self, first: date, last: date) -> dict[date, DayOdometer]:
        return {d: f for d, f in self.days.items() if first <= d <= last}

    def encode(self) -> bytes:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "generation": self.generation,
            "days": {d.isoformat(): self.days[d].to_json() for d in sorted(self.days)},
        }
        return gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), 6, mtime=0)

    @staticmethod
    def decode(data: bytes) -> Summary:
        """The stored summary; one of another format or version, or unreadable, is marked (to be
        rebuilt), never an error: the days it sums are still there."""
        try:
            doc: dict[str, Any] = json.loads(gzip.decompress(data))
            generation = int(doc.get("generation", 0))
            if doc.get("format") != FORMAT or doc.get("version") != VERSION:
                return Summary(None, generation)
            days = {date.fromisoformat(d): DayOdometer.from_json(v) for d, v in doc["days"].items()}
            return Summary(doc.get("fingerprint"), generation, days)
        except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError):
            return Summary(None)


def _bucket(bucket: str | None = None) -> str:
    return bucket or get_settings().require("track_bucket")


def read(tracker_id: int, *, bucket: str | None = None) -> Summary | None:
    found = tracks.get_object(_bucket(bucket), summary_key(tracker_id))
    return Summary.decode(found[0]) if found else None


def tracker_settings(tracker_id: int) -> TripSettings | None:
    """The tracker's trip settings as a report computes them (its ``trip_detection`` over the
    defaults); None for a tracker the fleet does not know."""
    from fleet_reports.store import fleet

    rec = fleet.get_tracker(tracker_id)
    return None if rec is None else TripSettings.build(None, rec.trip_detection)


# ----------------------------------------------------------------------------- days
def _figures(bucket: str, tracker_id: int, days: list[date], settings: TripSettings) -> dict[date, DayOdometer | None]:
    """The figures of the stored days (None for a day without fixes), read in parallel, in
    batches so that a long history never sits in memory at once."""
    out: dict[date, DayOdometer | None] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(_READERS, len(days)))) as pool:
        for i in range(0, len(days), READ_BATCH_DAYS):
            batch = days[i : i + READ_BATCH_DAYS]
            found = list(pool.map(lambda d: tracks.get_object(bucket, tracks.day_key(tracker_id, d)), batch))
            for day, got in zip(batch, found, strict=True):
                track = tracks.decode(got[0], FIGURE_COLUMNS) if got else None
                out[day] = day_figures(track, settings) if track is not None and len(track) else None
    return out


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))


# ----------------------------------------------------------------------------- writers
def record_days(
    tracker_id: int,
    days: Iterable[date],
    settings: TripSettings,
    *,
    bucket: str | None = None,
    max_attempts: int | None = None,
) -> bool:
    """Record the figures of ``days`` (just written or merged) in the tracker's summary.

    True when the summary now holds them; False when it was missing or computed with other
    settings and is marked for a rebuild instead. Raises :class:`~fleet_reports.store.tracks.TrackConflict`
    when the summary kept changing under every attempt.
    """
    bucket = _bucket(bucket)
    wanted = sorted(set(days))
    recorded = False

    def merge(current: bytes | None) -> tuple[bytes, int, int]:
        nonlocal recorded
        old = Summary.decode(current) if current is not None else None
        if old is None or not old.valid_for(settings):
            recorded = False
            marked = Summary(None, (old.generation if old else 0) + 1)
            return marked.encode(), len(old.days) if old else 0, 0
        figures = _figures(bucket, tracker_id, wanted, settings)
        new = dict(old.days)
        for day, fig in figures.items():
            if fig is None:
                new.pop(day, None)
            else:
                new[day] = fig
        recorded = True
        return Summary(old.fingerprint, old.generation + 1, new).encode(), len(old.days), len(new)

    tracks.merge_object(bucket, summary_key(tracker_id), merge, max_attempts or tracks.MAX_ATTEMPTS)
    return recorded


def rebuild(
    tracker_id: int, settings: TripSettings, *, bucket: str | None = None, attempts: int | None = None
) -> Summary:
    """Compute the summary from every stored day of the tracker and write it over exactly the
    version read first; retried while another writer wins (``attempts``, default
    :data:`~fleet_reports.store.tracks.MAX_ATTEMPTS`). Returns the summary computed, stored or not
    (when every attempt lost, it is still as fresh as the days it read)."""
    bucket = _bucket(bucket)
    return _rebuild(bucket, tracker_id, settings, tracks.get_object(bucket, summary_key(tracker_id)), attempts)


def _rebuild(
    bucket: str,
    tracker_id: int,
    settings: TripSettings,
    current: tuple[bytes, str] | None,
    attempts: int | None,
) -> Summary:
    key = summary_key(tracker_id)
    fingerprint = settings_fingerprint(settings)
    summary = Summary(fingerprint)
    for attempt in range(1, (attempts or tracks.MAX_ATTEMPTS) + 1):
        if attempt > 1:
            _backoff(attempt)
            current = tracks.get_object(bucket, key)
        generation = Summary.decode(current[0]).generation if current else 0
        stored = tracks.list_days(tracker_id, bucket=bucket)
        figures = _figures(bucket, tracker_id, stored, settings)
        summary = Summary(fingerprint, generation + 1, {d: f for d, f in figures.items() if f is not None})
        if tracks.put_if(bucket, key, summary.encode(), current[1] if current else None):
            break
    return summary


# ----------------------------------------------------------------------------- the report's side
def history(tracker_id: int, settings: TripSettings, first: date, last: date) -> dict[date, DayOdometer]:
    """The figures of the days ``first`` to ``last`` (inclusive) with fixes, computed with
    ``settings`` (:data:`fleet_reports.engine.odometer.OdometerHistory`): one read of the
    summary; a summary that is missing, marked or computed with other settings is rebuilt first
    and written back (once: when another writer wins, its figures serve this report alone)."""
    bucket = _bucket()
    current = tracks.get_object(bucket, summary_key(tracker_id))
    summary = Summary.decode(current[0]) if current else None
    if summary is None or not summary.valid_for(settings):
        summary = _rebuild(bucket, tracker_id, settings, current, attempts=1)
    return summary.between(first, last)
