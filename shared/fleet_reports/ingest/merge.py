"""Merging imports into stored days, and cutting tracks and events into UTC days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np

from fleet_reports.engine.model import I64, Track
from fleet_reports.ingest.fixes import order_last_wins
from fleet_reports.ingest.types import Events

DAY_MS = 86_400_000
# Sensor columns one tracker-day may hold (a file brings at most fixes.MAX_SENSOR_COLUMNS): reading a
# day costs the square of its columns, and 20,000 made the day unusable for every later import.
MAX_DAY_SENSOR_COLUMNS = 256


def bound_sensors(older: Track, newer: Track, limit: int = MAX_DAY_SENSOR_COLUMNS) -> tuple[Track, tuple[str, ...]]:
    """``newer`` without the sensor columns that would take the day (``older``) past ``limit``
    columns, and their names: the day's own columns stay, new ones come in ``newer``'s order."""
    new = [k for k in newer.sensors if k not in older.sensors]
    room = max(0, limit - len(older.sensors))
    if len(new) <= room:
        return newer, ()
    left_out = new[room:]
    dropped = set(left_out)
    return replace(newer, sensors={k: v for k, v in newer.sensors.items() if k not in dropped}), tuple(left_out)


_EPOCH_DAY = date(1970, 1, 1)


def merge_tracks(older: Track, newer: Track) -> Track:
    """The union of two tracks ordered by time; on equal times the row of ``newer`` wins (whole
    rows: a sensor ``newer`` lacks is NaN in its rows). Sensor columns are the union of both."""
    if not len(older) and set(older.sensors) <= set(newer.sensors):
        return order_last_wins(newer)[0]
    if not len(newer) and set(newer.sensors) <= set(older.sensors):
        return order_last_wins(older)[0]
    return order_last_wins(Track.concat([older, newer]))[0]


def _order_events(events: Events) -> tuple[Events, int]:
    """Order by (time, event) and keep the last of each (time, event); (events, dropped)."""
    n = len(events)
    if n == 0:
        return events, 0
    names = np.array(events.event, dtype=object)
    order = np.lexsort((np.arange(n), names, events.t))
    st, sn = events.t[order], names[order]
    last = np.ones(n, bool)
    last[:-1] = (st[1:] != st[:-1]) | (sn[1:] != sn[:-1])
    keep = order[last]
    if keep.size == n and bool(np.all(keep == np.arange(n))):
        return events, 0
    return events.take(keep), n - int(keep.size)


def merge_events(older: Events, newer: Events) -> Events:
    """The union ordered by (time, event); for the same time and event the one of ``newer`` wins."""
    both = Events(
        t=np.concatenate([older.t, newer.t]),
        event=[*older.event, *newer.event],
        lat=np.concatenate([older.lat, newer.lat]),
        lng=np.concatenate([older.lng, newer.lng]),
        message=[*older.message, *newer.message],
        extra=[*older.extra, *newer.extra],
    )
    return _order_events(both)[0]


def _day(k: int) -> date:
    return _EPOCH_DAY + timedelta(days=k)


def _day_bounds(t: I64) -> list[tuple[int, int, int]]:
    """(day number, start, end) of each UTC day present in sorted ``t``."""
    if not t.size:
        return []
    days = t // DAY_MS
    cut = np.flatnonzero(np.diff(days)) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [t.size]])
    return [(int(days[s]), int(s), int(e)) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]


def _slice(track: Track, s: int, e: int) -> Track:
    return Track(
        t=track.t[s:e],
        lat=track.lat[s:e],
        lng=track.lng[s:e],
        speed=track.speed[s:e],
        heading=track.heading[s:e],
        alt=track.alt[s:e],
        satellites=track.satellites[s:e],
        hdop=track.hdop[s:e],
        odometer=track.odometer[s:e],
        ignition=track.ignition[s:e],
        sensors={k: v[s:e] for k, v in track.sensors.items()},
    )


def split_utc_days(track: Track) -> dict[date, Track]:
    """The track cut into UTC days (each part time-ordered; parts share memory with the input
    when it was already ordered)."""
    if track.t.size > 1 and not bool(np.all(np.diff(track.t) >= 0)):
        track = track.take(np.argsort(track.t, kind="stable"))
    return {_day(k): _slice(track, s, e) for k, s, e in _day_bounds(track.t)}


def split_event_days(events: Events) -> dict[date, Events]:
    """Events cut into UTC days, each ordered by (time, event)."""
    ordered = events
    if events.t.size > 1 and not bool(np.all(np.diff(events.t) >= 0)):
        ordered = events.take(np.argsort(events.t, kind="stable"))
    return {_day(k): ordered.take(np.arange(s, e, dtype=np.int64)) for k, s, e in _day_bounds(ordered.t)}
