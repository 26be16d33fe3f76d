"""Local days and the report's daily ``time_filter`` windows (docs/analytics.md, "Trips and parkings").

All instants are UTC epoch milliseconds; days and windows are cut in the user's IANA zone with
``zoneinfo``, so a DST day is 23 or 25 hours long.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.intervals import expand_ranges
from fleet_reports.engine.motion import Segments, Trips, at_least_average

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

DAY_S = 86_400
_END_OF_DAY = {"23:59": DAY_S, "23:59:59": DAY_S}  # "to the end of the day": no edge at midnight


def parse_time_of_day(text: str) -> int:
    """``HH:mm`` or ``HH:mm:ss`` -> seconds since midnight."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"time of day must be HH:mm or HH:mm:ss, got {text!r}")
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    if h > 23 or m > 59 or s > 59:
        raise ValueError(f"time of day out of range: {text!r}")
    return h * 3600 + m * 60 + s


@dataclass(frozen=True)
class TimeFilter:
    """A daily window ``[start_s, end_s)`` (seconds of the local day) on the listed ISO weekdays.

    ``end_s <= start_s`` is an overnight window ending the next day; an end of ``23:59`` or
    ``23:59:59`` means the end of the day.
    """

    start_s: int = 0
    end_s: int = DAY_S
    weekdays: frozenset[int] = frozenset(range(1, 8))

    @staticmethod
    def parse(raw: Mapping[str, Any] | None) -> TimeFilter:
        if not raw:
            return TimeFilter()
        start = parse_time_of_day(str(raw.get("from", "00:00")))
        to_text = str(raw.get("to", "23:59:59")).strip()
        end = _END_OF_DAY.get(to_text) or parse_time_of_day(to_text)
        days = raw.get("weekdays", range(1, 8))
        weekdays = frozenset(int(d) for d in days)
        if not weekdays <= frozenset(range(1, 8)):
            raise ValueError(f"weekdays must be 1..7, got {sorted(weekdays)}")
        return TimeFilter(start, end, weekdays)

    @property
    def is_everything(self) -> bool:
        return self.start_s == 0 and self.end_s == DAY_S and len(self.weekdays) == 7


def local_ms(day: date, seconds: int, zone: ZoneInfo) -> int:
    """UTC ms of ``seconds`` after the start of ``day``'s wall clock in ``zone`` (may be next day)."""
    wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
    return round(wall.replace(tzinfo=zone).timestamp() * 1000)


def local_date(ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000.0, zone).date()


def local_days(from_ms: int, to_ms: int, tz: str) -> tuple[list[date], I64]:
    """The local dates covering ``[from_ms, to_ms]`` and their boundaries (``len(dates) + 1``
    UTC instants of local midnights). A time's day index is ``searchsorted(bounds, t, 'right') - 1``.
    """
    zone = ZoneInfo(tz)
    first = local_date(from_ms, zone)
    last = max(first, local_date(to_ms, zone))
    dates = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    bounds = [local_ms(d, 0, zone) for d in dates]
    bounds.append(local_ms(last + timedelta(days=1), 0, zone))
    return dates, np.asarray(bounds, dtype=np.int64)


def day_index(bounds: I64, t_ms: I64) -> I64:
    """Index of the local day holding each instant (clipped to the known days)."""
    out: I64 = np.clip(np.searchsorted(bounds, t_ms, side="right") - 1, 0, max(bounds.shape[0] - 2, 0))
    return out


def windows(from_ms: int, to_ms: int, tz: str, tf: TimeFilter) -> tuple[I64, I64]:
    """Sorted, disjoint UTC windows ``[start, end)`` of the filter over the period.

    Windows that touch (a full-day window on consecutive listed days) are joined, so there is no
    edge at midnight.
    """
    zone = ZoneInfo(tz)
    first = local_date(from_ms, zone) - timedelta(days=1)
    last = local_date(to_ms, zone)
    starts: list[int] = []
    ends: list[int] = []
    span = tf.end_s - tf.start_s if tf.end_s > tf.start_s else tf.end_s + DAY_S - tf.start_s
    for k in range((last - first).days + 1):
        d = first + timedelta(days=k)
        if d.isoweekday() not in tf.weekdays:
            continue
        ws = local_ms(d, tf.start_s, zone)
        we = local_ms(d, tf.start_s + span, zone)
        if we <= from_ms or ws > to_ms:
            continue
        if ends and ws <= ends[-1]:
            ends[-1] = max(ends[-1], we)
        else:
            starts.append(ws)
            ends.append(we)
    return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)


def in_windows(t_ms: I64, ws: I64, we: I64) -> Bool:
    """Which instants fall inside a window."""
    if ws.size == 0:
        return np.zeros(t_ms.shape[0], np.bool_)
    k = np.searchsorted(ws, t_ms, side="right") - 1
    out: Bool = (k >= 0) & (t_ms < we[np.maximum(k, 0)])
    return out


def clip_to_windows(a: I64, b: I64, ws: I64, we: I64, *, instants: bool = False) -> tuple[I64, I64, I64]:
    """The pieces of the intervals ``[a, b]`` inside the sorted, disjoint windows ``[ws, we)``.

    Returns, per piece, the index of its interval and its start and end. Empty pieces are dropped;
    with ``instants``, an instant interval (``a == b``) inside a window is kept.
    """
    if a.size == 0 or ws.size == 0:
        e = np.empty(0, np.int64)
        return e, e, e
    first = np.searchsorted(we, a, side="right")
    last = np.where(b > a, np.searchsorted(ws, b, side="left"), np.searchsorted(ws, b, side="right")) - 1
    count = np.maximum(last - first + 1, 0)
    k = np.repeat(np.arange(a.shape[0]), count)
    offsets = np.cumsum(count) - count
    w = np.repeat(first - offsets, count) + np.arange(k.shape[0])
    pa = np.maximum(a[k], ws[w])
    pb = np.minimum(b[k], we[w])
    keep = (pb > pa) | ((a[k] == b[k]) if instants else False)
    return k[keep], pa[keep], pb[keep]


def cut_trips(seg: Segments, ws: I64, we: I64) -> Trips:
    """Cut trips at the window edges: each piece of a trip inside a window is a trip.

    Distance and positions at a cut are interpolated between the fixes either side.
    """
    trips = seg.trips
    if len(trips) == 0 or ws.size == 0:
        return Trips.empty()
    a, b = trips.start_ms, trips.end_ms
    k, pa, pb = clip_to_windows(a, b, ws, we, instants=True)
    if k.size == len(trips) and np.array_equal(pa, a) and np.array_equal(pb, b):
        return trips
    if k.size == 0:
        return Trips.empty()
    tf = seg.t.astype(np.float64)
    paf, pbf = pa.astype(np.float64), pb.astype(np.float64)
    s_idx = np.searchsorted(seg.t, pa, side="left")
    e_idx = np.searchsorted(seg.t, pb, side="right") - 1
    lo = np.clip(np.minimum(s_idx, e_idx), 0, seg.t.shape[0] - 1)
    hi = np.clip(np.maximum(s_idx, e_idx), 0, seg.t.shape[0] - 1)
    idx, off, _ = expand_ranges(lo, hi)
    cum = seg.cum_distance_m
    # A piece that begins where its trip begins keeps the trip's departure leg.
    trip_departure = trips.distance_m - (cum[trips.end_idx] - cum[trips.start_idx])
    departure = np.where(pa == a[k], trip_departure[k], 0.0)
    distance = np.interp(pbf, tf, cum) - np.interp(paf, tf, cum) + departure
    max_speed = at_least_average(np.nan_to_num(np.fmax.reduceat(seg.speed_kmh[idx], off), nan=0.0), distance, pb - pa)
    return Trips(
        start_idx=s_idx.astype(np.int64),
        end_idx=e_idx.astype(np.int64),
        start_ms=pa,
        end_ms=pb,
        distance_m=distance,
        max_speed_kmh=max_speed,
        start_lat=np.interp(paf, tf, seg.lat),
        start_lng=np.interp(paf, tf, seg.lng),
        end_lat=np.interp(pbf, tf, seg.lat),
        end_lng=np.interp(pbf, tf, seg.lng),
    )
