"""The odometer at the period start, from the tracker's history kept as per-day figures.

The trips report's odometer at the period end (docs/analytics.md, "odometer") is one story:

    the last device odometer reading plus the trip distance since it; else the tracker's
    odometer base plus the trip distance since the base; else the period's trip distance.

The period's own fixes are segmented as the report segments them (:mod:`.plugins.trips`). Before
the period, the history from the base to the period start counts **day by day**: each UTC day's
cleaned fixes are segmented alone (with the smart filter), so a trip that crosses midnight UTC
counts as its two halves, and the history ends at the period start (the day holding it only up
to that instant). Each day comes down to four figures (:class:`DayOdometer`): its trip distance,
its last device reading and that reading's time, and the trip distance after the reading. Those
figures are what the store keeps per tracker (:mod:`fleet_reports.store.odometer`), so the
odometer at any instant costs the summary, the base's day when the base is not at midnight UTC,
and the part of the period's first UTC day before the period: a few reads, however long the
history. Without a store (tests, in-process callers) :func:`history_from_loader` computes the
same figures from the fixes.

Nothing here touches AWS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from fleet_reports.engine.clean import clean
from fleet_reports.engine.model import Track, TrackerInfo, TrackLoader
from fleet_reports.engine.motion import Segments, TripSettings, segment

DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
FIGURE_COLUMNS = ("lat", "lng", "speed", "satellites", "odometer", "ignition")
"""The stored columns a day's figures depend on (cleaning and trip detection read no others)."""
DAY_RULE = 1
"""The version of what a day's figures mean. Raise it when cleaning or trip detection changes what
a day's figures are: every stored summary then fails its fingerprint and is rebuilt once."""


def utc_day(ms: int) -> date:
    """The UTC day holding the instant ``ms`` (epoch milliseconds)."""
    return _EPOCH + timedelta(days=ms // DAY_MS)


def day_start_ms(day: date) -> int:
    """00:00 UTC of ``day`` in epoch milliseconds."""
    return (day - _EPOCH).days * DAY_MS


def settings_fingerprint(settings: TripSettings) -> str:
    """What a day's figures depend on besides its fixes: the trip settings and :data:`DAY_RULE`."""
    text = json.dumps({"rule": DAY_RULE, "settings": settings.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def trip_distance_after(seg: Segments, since_ms: int) -> float:
    """Metres driven in the segments' trips after ``since_ms`` (all of them when it is before
    the first fix)."""
    trips = seg.trips
    if len(trips) == 0:
        return 0.0
    cum = seg.cum_distance_m
    at = float(np.interp(float(since_ms), seg.t.astype(np.float64), cum))
    end = cum[trips.end_idx]
    after = end - np.maximum(end - trips.distance_m, at)  # a trip's distance includes its departure leg
    return float(np.clip(after, 0.0, None).sum())


@dataclass(frozen=True)
class DayOdometer:
    """One UTC day's odometer figures (after ``since_ms`` when the day holds the base)."""

    trip_m: float  # trip distance of the day
    reading_km: float | None = None  # the day's last device odometer reading
    reading_ms: int | None = None  # its time
    after_reading_m: float = 0.0  # the day's trip distance after that reading

    def to_json(self) -> list[Any]:
        return [self.trip_m, self.reading_km, self.reading_ms, self.after_reading_m]

    @staticmethod
    def from_json(value: Any) -> DayOdometer:
        trip_m, reading_km, reading_ms, after_m = value
        return DayOdometer(
            float(trip_m),
            None if reading_km is None else float(reading_km),
            None if reading_ms is None else int(reading_ms),
            float(after_m),
        )


def day_figures(track: Track, settings: TripSettings, *, since_ms: int | None = None) -> DayOdometer:
    """The figures of one UTC day's fixes as stored (raw: cleaned here), segmented alone with
    the smart filter; with ``since_ms``, only what lies after it (the day of the base)."""
    cleaned, _ = clean(track, max_implied_speed_kmh=settings.max_implied_speed_kmh)
    if not len(cleaned):
        return DayOdometer(0.0)
    seg = segment(cleaned, settings)
    since = int(cleaned.t[0]) - 1 if since_ms is None else since_ms
    trip_m = trip_distance_after(seg, since)
    known = np.flatnonzero(np.isfinite(cleaned.odometer) & (cleaned.t >= since))
    if not known.size:
        return DayOdometer(trip_m)
    k = int(known[-1])
    at = int(cleaned.t[k])
    return DayOdometer(trip_m, float(cleaned.odometer[k]), at, trip_distance_after(seg, at))


OdometerHistory = Callable[[int, TripSettings, date, date], Mapping[date, DayOdometer]]
"""``history(tracker_id, settings, first, last)``: the figures of the whole UTC days ``first``
to ``last`` (inclusive) that hold fixes, computed with ``settings``; a day without fixes has
none. The worker passes the store's summary (:func:`fleet_reports.store.odometer.history`)."""


def split_utc_days(track: Track) -> dict[date, Track]:
    """Time-ordered fixes cut into UTC days (slices, no copies)."""
    if not len(track):
        return {}
    days = track.t // DAY_MS
    cuts = np.flatnonzero(np.diff(days)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(track)]))
    return {_EPOCH + timedelta(days=int(days[s])): track.take(slice(s, e)) for s, e in zip(starts, ends, strict=True)}


def history_from_loader(load_track: TrackLoader) -> OdometerHistory:
    """The history's figures computed from the fixes themselves, all days at once: what the
    store's summary keeps, at the cost of reading every day (tests and in-process callers)."""

    def history(tracker_id: int, settings: TripSettings, first: date, last: date) -> dict[date, DayOdometer]:
        track = load_track(tracker_id, day_start_ms(first), day_start_ms(last + timedelta(days=1)) - 1)
        return {day: day_figures(part, settings) for day, part in split_utc_days(track).items()}

    return history


@dataclass(frozen=True)
class OdometerStart:
    """The odometer at the period start, counted from a reading or the base at ``since_ms``:
    the period's trips after ``since_ms`` (all of them) are added to ``km``."""

    km: float
    since_ms: int


def odometer_start(
    info: TrackerInfo,
    settings: TripSettings,
    from_ms: int,
    history: OdometerHistory,
    load_track: TrackLoader,
) -> OdometerStart | None:
    """The odometer at ``from_ms`` from the base and the history before it; None when the
    tracker has no base before ``from_ms`` (its odometer is then the period's business alone).

    Reads: the base's UTC day when the base is not at its midnight, the whole days after it
    (``history``: the store's summary, one read) and the period's first UTC day up to
    ``from_ms``."""
    base_km, base_ms = info.odometer_base_km, info.odometer_base_ms
    if base_km is None or base_ms is None or base_ms >= from_ms:
        return None
    first, last = utc_day(base_ms), utc_day(from_ms)

    def part(lo_ms: int, hi_ms: int, since_ms: int | None) -> DayOdometer:
        return day_figures(load_track(info.id, lo_ms, hi_ms), settings, since_ms=since_ms)

    if first == last:  # the base and the period start on one UTC day
        return _count(base_km, base_ms, [part(day_start_ms(first), from_ms - 1, base_ms)])
    figures: list[DayOdometer] = []
    whole_from = first
    if base_ms > day_start_ms(first):  # the base's day counts from the base
        whole_from = first + timedelta(days=1)
        figures.append(part(day_start_ms(first), day_start_ms(whole_from) - 1, base_ms))
    if whole_from < last:
        days = history(info.id, settings, whole_from, last - timedelta(days=1))
        figures += [days[d] for d in sorted(days) if whole_from <= d < last]
    if from_ms > day_start_ms(last):
        figures.append(part(day_start_ms(last), from_ms - 1, None))
    return _count(base_km, base_ms, figures)


def _count(base_km: float, base_ms: int, figures: list[DayOdometer]) -> OdometerStart:
    """The last reading plus the trips after it, else the base plus all the trips (oldest first)."""
    later_m = 0.0
    for day in reversed(figures):
        if day.reading_km is not None and day.reading_ms is not None:
            return OdometerStart(day.reading_km + (day.after_reading_m + later_m) / 1000.0, day.reading_ms)
        later_m += day.trip_m
    return OdometerStart(base_km + later_m / 1000.0, base_ms)
