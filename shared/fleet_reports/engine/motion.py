"""Trips and parkings from cleaned fixes (analytics.md section 2), vectorised with numpy.

The hot path has no Python loop per fix: runs of standing fixes, trips between them and their
statistics are found with ``diff``/``cumsum``/``flatnonzero``/``reduceat``. The only loop is per
parking (its median position), and parkings are few.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from fleet_reports.engine.geo import EARTH_RADIUS_M, haversine_m, leg_lengths_m
from fleet_reports.engine.model import Track

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

MS_PER_S = 1000.0
MS_TO_KMH = 3600.0  # metres per millisecond -> km/h
DERIVED_SPAN_S = 30.0  # window on each side of a fix for a speed derived from positions


class TripSettings(BaseModel):
    """Per-tracker thresholds of trip detection (deployment defaults, then tracker overrides)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    idle_speed_threshold: float = Field(default=3.0, ge=0)  # km/h: moving when speed >= this
    min_idle_duration: float = Field(default=300.0, ge=0)  # s: a standstill this long is a parking
    parking_radius_m: float = Field(default=200.0, gt=0)  # a parking stays within this radius
    max_gap: float = Field(default=3600.0, gt=0)  # s: a longer data gap ends the trip
    max_implied_speed_kmh: float = Field(default=250.0, gt=0)  # cleaning, analytics.md section 1
    min_trip_distance_m: float = Field(default=300.0, ge=0)  # smart filter
    min_trip_fixes: int = Field(default=4, ge=1)  # smart filter
    drift_radius_m: float = Field(default=200.0, ge=0)  # smart filter: GPS drift around one place
    jitter_radius_m: float = Field(default=50.0, ge=0)  # a "move" that stays this close is noise
    ignition_aware: bool | None = None  # None: on when the track has ignition values

    @classmethod
    def build(
        cls, defaults: Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> TripSettings:
        """Deployment defaults, then the tracker's ``trip_detection`` overrides (unknown keys ignored)."""
        return cls.model_validate({**(defaults or {}), **(overrides or {})})


@dataclass(frozen=True)
class Trips:
    """Trips as parallel arrays; ``start_idx``/``end_idx`` index the fixes of the segmented track."""

    start_idx: I64
    end_idx: I64
    start_ms: I64
    end_ms: I64
    distance_m: F64  # moving legs from the leg that left the parking to the trip's end
    max_speed_kmh: F64
    start_lat: F64
    start_lng: F64
    end_lat: F64
    end_lng: F64

    def __len__(self) -> int:
        return int(self.start_ms.shape[0])

    @property
    def duration_s(self) -> F64:
        out: F64 = (self.end_ms - self.start_ms).astype(np.float64) / MS_PER_S
        return out

    @property
    def avg_speed_kmh(self) -> F64:
        """Distance over trip duration (0 for a trip of no duration)."""
        dur = self.duration_s
        out: F64 = np.divide(self.distance_m * 3.6, dur, out=np.zeros_like(self.distance_m), where=dur > 0)
        return out

    @property
    def fixes(self) -> I64:
        out: I64 = self.end_idx - self.start_idx + 1
        return out

    def take(self, index: npt.NDArray[Any]) -> Trips:
        return Trips(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def empty() -> Trips:
        i = np.empty(0, np.int64)
        f = np.empty(0, np.float64)
        return Trips(i, i, i, i, f, f, f, f, f, f)


@dataclass(frozen=True)
class Parkings:
    """Parkings: from the first fix of the standstill to the first fix that left it."""

    start_idx: I64
    end_idx: I64
    start_ms: I64
    end_ms: I64
    lat: F64  # median of its fixes
    lng: F64

    def __len__(self) -> int:
        return int(self.start_ms.shape[0])

    @property
    def duration_s(self) -> F64:
        out: F64 = (self.end_ms - self.start_ms).astype(np.float64) / MS_PER_S
        return out

    @staticmethod
    def empty() -> Parkings:
        i = np.empty(0, np.int64)
        f = np.empty(0, np.float64)
        return Parkings(i, i, i, i, f, f)


@dataclass(frozen=True)
class Segments:
    """What ``segment`` found, plus the per-fix arrays that later cuts (time filter) need."""

    trips: Trips
    parkings: Parkings
    t: I64  # fix times, UTC ms
    lat: F64
    lng: F64
    speed_kmh: F64  # device speed, or derived from neighbours where the device gave none
    cum_distance_m: F64  # distance counted up to each fix (moving legs only, no gap legs)
    moving: Bool


def fix_speeds(track: Track, gap: Bool | None = None) -> F64:
    """Speed of each fix in km/h: the device's, else derived from positions.

    The derived speed is the lower of two displacement speeds: over a window before the fix and
    over one after it (each at least one fix and ``DERIVED_SPAN_S``), within the fix's session
    (``gap`` marks legs over ``max_gap``). A one-sided window is sharp at starts and stops (its
    side inside the parking reads about 0) and long enough to average out white GPS jitter.
    """
    speed = track.speed.astype(np.float64)
    missing = np.isnan(speed)
    n = len(track)
    if n < 2 or not missing.any():
        return speed
    t = track.t
    if gap is None:
        gap = np.zeros(n - 1, np.bool_)
    i = np.arange(n)
    first = np.maximum.accumulate(np.where(np.concatenate(([True], gap)), i, 0))
    last = np.minimum.accumulate(np.where(np.concatenate((gap, [True])), i, n - 1)[::-1])[::-1]
    span = int(DERIVED_SPAN_S * MS_PER_S)
    # The nearest fix at least ``span`` away on each side (at least one fix), clipped to the session.
    before = np.maximum(np.minimum(np.searchsorted(t, t - span, side="right") - 1, i - 1), first)
    after = np.minimum(np.maximum(np.searchsorted(t, t + span, side="left"), i + 1), last)
    derived = np.fmin(_displacement_speed(track, before, i), _displacement_speed(track, i, after))
    return np.where(missing, derived, speed)


def _displacement_speed(track: Track, a: I64, b: I64) -> F64:
    """km/h from fix ``a`` to fix ``b`` (NaN where ``b`` is not after ``a``)."""
    span = (track.t[b] - track.t[a]).astype(np.float64)
    ok = (b > a) & (span > 0)
    disp = haversine_m(track.lat[a], track.lng[a], track.lat[b], track.lng[b])
    out: F64 = np.where(ok, disp * MS_TO_KMH / np.where(ok, span, 1.0), np.nan)
    return out


ROLLING_COS = 0.7  # a rolling leg points within about 45 degrees of the run's own direction


def extend_rolling(moving: Bool, track: Track, gap: Bool, threshold_kmh: float) -> Bool:
    """Win back the fix a derived speed misses at each end of a moving run.

    A derived speed averages over >= 30 s, so the last fix before a halt (still rolling, a few
    tens of metres to go) reads below the threshold, and so does the first fix of a departure. A
    fix without device speed next to a moving run of two or more fixes is moving too when the leg
    between them is itself fast enough and points the way the run goes (GPS jitter points
    anywhere). One fix at each end at most.
    """
    n = moving.shape[0]
    missing = np.isnan(track.speed)
    if n < 3 or not missing.any():
        return moving
    lat, lng = track.lat, track.lng
    scale = np.cos(np.radians(lat))
    out = moving.copy()
    for step in (1, -1):  # run ends, then run starts
        edge = out.copy()
        if step == 1:
            edge[:-1] &= ~out[1:] & ~gap
            edge[-1] = False
        else:
            edge[1:] &= ~out[:-1] & ~gap
            edge[0] = False
        sums = (
            np.concatenate(([0], np.cumsum(gap, dtype=np.int64))),
            np.concatenate(([0], np.cumsum(out, dtype=np.int64))),
        )
        cur = np.flatnonzero(edge)
        # The run's own direction of travel, over (up to) its two fixes next to the edge; a run of
        # one fix has none and wins nothing. The edge test above keeps ``cur + step`` in range.
        cur = cur[_in_run(sums, cur, -step)]
        ref = np.where(_in_run(sums, cur, -2 * step), cur - 2 * step, cur - step)
        nxt = cur + step
        ux, uy = (lng[cur] - lng[ref]) * scale[cur] * step, (lat[cur] - lat[ref]) * step
        vx, vy = (lng[nxt] - lng[cur]) * scale[cur] * step, (lat[nxt] - lat[cur]) * step
        norm = np.hypot(ux, uy) * np.hypot(vx, vy)
        aligned = (ux * vx + uy * vy) >= ROLLING_COS * np.where(norm > 0, norm, np.inf)
        leg_kmh = _displacement_speed(track, np.minimum(cur, nxt), np.maximum(cur, nxt))
        out[nxt[missing[nxt] & aligned & (leg_kmh >= threshold_kmh)]] = True
    return out


def _in_run(sums: tuple[I64, I64], idx: I64, offset: int) -> Bool:
    """Whether the fixes ``idx + offset`` exist, are moving, and join ``idx`` with no long gap;
    ``sums`` are the running counts of long gaps (per leg) and of moving fixes, each with a
    leading 0."""
    gap_cum, mov_cum = sums
    n = mov_cum.shape[0] - 1
    other = idx + offset
    ok = (other >= 0) & (other < n)
    lo = np.clip(np.minimum(idx, other), 0, n - 1)
    hi = np.clip(np.maximum(idx, other), 0, n - 1)
    ok &= (gap_cum[hi] - gap_cum[lo]) == 0
    ok &= (mov_cum[hi + 1] - mov_cum[lo]) == (hi - lo + 1)
    out: Bool = ok
    return out


def suppress_blips(moving: Bool, lat: F64, lng: F64, gap: Bool, radius_m: float) -> Bool:
    """Moving runs that never leave ``radius_m`` of the standing fix before them (and whose next
    standing fix is that close too) are GPS noise, a speed spike while parked: they count as
    standing."""
    n = moving.shape[0]
    if n < 2 or radius_m <= 0:
        return moving
    starts = moving.copy()
    starts[1:] &= ~moving[:-1] | gap
    ends = moving.copy()
    ends[:-1] &= ~moving[1:] | gap
    ms, me = np.flatnonzero(starts), np.flatnonzero(ends)
    # The standing fix before the run is the anchor (the one after it at the start of a session).
    has_before = ms > 0
    has_before[has_before] = ~gap[ms[has_before] - 1]
    has_after = me < n - 1
    has_after[has_after] = ~gap[me[has_after]]
    # A run alone in its session (no standing fix on either side) is measured from its own first
    # fix, so a period and its halves judge the same run alike.
    anchor = np.where(has_before, ms - 1, np.where(has_after, me + 1, ms))
    # Cheap pre-check on the standing fix after the run, then every fix of the remaining runs.
    ahead = np.minimum(me + 1, n - 1)
    near = ~has_after | ~has_before | (haversine_m(lat[anchor], lng[anchor], lat[ahead], lng[ahead]) <= radius_m)
    ms, me, anchor = ms[near], me[near], anchor[near]
    if ms.size == 0:
        return moving
    idx, offsets, lengths = expand_ranges(ms, me)
    d = haversine_m(lat[idx], lng[idx], np.repeat(lat[anchor], lengths), np.repeat(lng[anchor], lengths))
    blip = np.maximum.reduceat(d, offsets) <= radius_m
    mark = np.zeros(n + 1, np.int32)
    mark[ms[blip]] += 1
    mark[me[blip] + 1] -= 1
    out: Bool = moving & (np.cumsum(mark[:-1]) == 0)
    return out


def segment(track: Track, settings: TripSettings, *, smart_filter: bool = True) -> Segments:
    """Split cleaned, time-ordered fixes into trips and parkings (analytics.md section 2)."""
    n = len(track)
    t, lat, lng = track.t, track.lat, track.lng
    if n == 0:
        z = np.empty(0, np.float64)
        return Segments(Trips.empty(), Parkings.empty(), t, lat, lng, z, z, np.empty(0, np.bool_))

    legs = leg_lengths_m(lat, lng)
    gap = np.diff(t) > int(settings.max_gap * MS_PER_S)
    speed = fix_speeds(track, gap)
    moving = speed >= settings.idle_speed_threshold  # NaN compares False: unknown is not moving
    moving = extend_rolling(moving, track, gap, settings.idle_speed_threshold)
    moving = suppress_blips(moving, lat, lng, gap, settings.jitter_radius_m)
    # gap_before[i]: no usable leg into fix i; gap_after[i]: none out of it (session edges).
    gap_before = np.empty(n, np.bool_)
    gap_before[0] = True
    gap_before[1:] = gap
    gap_after = np.empty(n, np.bool_)
    gap_after[-1] = True
    gap_after[:-1] = gap

    # Distance counts legs while moving (either end moving), never legs across a long gap and
    # never jitter between standing fixes; a standing-to-standing jump beyond the parking radius
    # (a short data gap while the vehicle moved) counts as the straight leg.
    radius = settings.parking_radius_m
    jump = legs > radius
    counted = ~gap & (moving[:-1] | moving[1:] | jump)
    cum = np.empty(n, np.float64)
    cum[0] = 0.0
    np.cumsum(np.where(counted, legs, 0.0), out=cum[1:])

    aware = settings.ignition_aware
    if aware is None:
        aware = bool((track.ignition >= 0).any())
    if aware:
        off = track.ignition == 0
        parkable = off | (~moving & (track.ignition < 0))  # ignition on + standing = idling
    else:
        off = np.zeros(n, np.bool_)
        parkable = ~moving

    # Runs of parkable fixes, broken by long gaps and by jumps beyond the parking radius.
    run_break = gap | jump
    starts = parkable.copy()
    starts[1:] &= ~parkable[:-1] | run_break
    ends = parkable.copy()
    ends[:-1] &= ~parkable[1:] | run_break
    rs = np.flatnonzero(starts)
    re = np.flatnonzero(ends)

    term_after = gap_after[re]
    # A standstill lasts until the fix that left it, unless the data stops there or the vehicle
    # was next seen beyond the parking radius (it moved on sometime during that leg).
    left_unseen = term_after | np.append(jump, False)[re]
    run_end_ms = np.where(left_unseen, t[re], t[np.minimum(re + 1, n - 1)])
    long_enough = (run_end_ms - t[rs]) >= int(settings.min_idle_duration * MS_PER_S)
    qualify = _within_radius(lat, lng, rs, re, long_enough, radius)
    if aware:
        off_cum = np.concatenate(([0], np.cumsum(off, dtype=np.int64)))
        qualify |= (off_cum[re + 1] - off_cum[rs]) > 0  # ignition off ends the trip at once
    breaker = qualify | gap_before[rs] | term_after

    # Trips: maximal spans of fixes outside breaker runs within a session, ended at the first
    # fix of the following breaker (back-dated to when the vehicle halted).
    mark = np.zeros(n + 1, np.int32)
    mark[rs[breaker]] += 1  # indices are unique within each assignment
    mark[re[breaker] + 1] -= 1
    core = np.cumsum(mark[:-1]) == 0
    core_start = core.copy()
    core_start[1:] &= ~core[:-1] | gap
    core_end = core.copy()
    core_end[:-1] &= ~core[1:] | gap
    s = np.flatnonzero(core_start)
    ce = np.flatnonzero(core_end)
    e = np.where(gap_after[ce], ce, ce + 1)
    trips = _make_trips(s, e, t, lat, lng, speed, cum, gap_before)

    if smart_filter and len(trips):
        trips = trips.take(_smart_keep(trips, lat, lng, settings))

    parkings = _parkings(rs[qualify], re[qualify], run_end_ms[qualify], trips, gap_before, t, lat, lng)
    return Segments(trips, parkings, t, lat, lng, speed, cum, moving)


def _within_radius(lat: F64, lng: F64, rs: I64, re: I64, candidate: Bool, radius: float) -> Bool:
    """For candidate runs: do all their fixes stay within ``radius`` of the run's mean position?"""
    out = np.zeros(rs.shape[0], np.bool_)
    which = np.flatnonzero(candidate)
    if which.size == 0:
        return out
    idx, offsets, lengths = expand_ranges(rs[which], re[which])
    mlat = np.add.reduceat(lat[idx], offsets) / lengths
    mlng = np.add.reduceat(lng[idx], offsets) / lengths
    # Local tangent plane around each run's centre: exact to well under a millimetre at a few
    # hundred metres, and no trigonometry per fix.
    scale = np.radians(1.0) * EARTH_RADIUS_M
    dy = (lat[idx] - np.repeat(mlat, lengths)) * scale
    dx = (lng[idx] - np.repeat(mlng, lengths)) * np.repeat(np.cos(np.radians(mlat)) * scale, lengths)
    out[which] = np.maximum.reduceat(dx * dx + dy * dy, offsets) <= radius * radius
    return out


def expand_ranges(first: I64, last: I64) -> tuple[I64, I64, I64]:
    """Fix indices of the inclusive ranges ``[first, last]``, with each range's offset and length."""
    lengths = last - first + 1
    offsets = np.zeros(lengths.shape[0], np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    idx = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(first - offsets, lengths)
    return idx, offsets, lengths


def _range_reduce(ufunc: np.ufunc, values: F64, first: I64, last: I64) -> F64:
    """``ufunc`` reduced over each inclusive, increasing, disjoint range ``[first, last]``."""
    padded = np.append(values, values[-1])
    bounds = np.empty(2 * first.shape[0], np.int64)
    bounds[0::2] = first
    bounds[1::2] = last + 1
    out: F64 = ufunc.reduceat(padded, bounds)[0::2]
    return out


def _make_trips(s: I64, e: I64, t: I64, lat: F64, lng: F64, speed: F64, cum: F64, gap_before: Bool) -> Trips:
    if s.size == 0:
        return Trips.empty()
    # The trip starts at the first fix that left the parking; the leg that took it there is
    # driven distance too (when it is not across a long gap).
    departure = np.where(gap_before[s], 0.0, cum[s] - cum[np.maximum(s - 1, 0)])
    distance = cum[e] - cum[s] + departure
    top = np.nan_to_num(_range_reduce(np.fmax, speed, s, e), nan=0.0)
    return Trips(
        start_idx=s,
        end_idx=e,
        start_ms=t[s],
        end_ms=t[e],
        distance_m=distance,
        max_speed_kmh=at_least_average(top, distance, t[e] - t[s]),
        start_lat=lat[s],
        start_lng=lng[s],
        end_lat=lat[e],
        end_lng=lng[e],
    )


def at_least_average(max_speed_kmh: F64, distance_m: F64, duration_ms: I64) -> F64:
    """A trip's max speed: its highest kept fix speed, but never below its average speed.

    A vehicle that covered ``distance_m`` in ``duration_ms`` went at least that fast at some
    instant. Fix speeds can miss it: derived speeds average over >= 30 s windows, and the departure
    leg counts as distance while the trip starts at the first fix that left the parking (the seed's
    convention), so its time is not trip time.
    """
    dur = duration_ms.astype(np.float64) / MS_PER_S  # as Trips.avg_speed_kmh computes it
    avg = np.divide(distance_m * 3.6, dur, out=np.zeros_like(distance_m), where=dur > 0)
    out: F64 = np.fmax(max_speed_kmh, avg)
    return out


def _smart_keep(trips: Trips, lat: F64, lng: F64, settings: TripSettings) -> Bool:
    """Smart filter: too short, too few fixes, or all within a drift circle is not a trip."""
    keep = (trips.distance_m >= settings.min_trip_distance_m) & (trips.fixes >= settings.min_trip_fixes)
    which = np.flatnonzero(keep)
    if which.size == 0 or settings.drift_radius_m <= 0:
        return keep
    s, e = trips.start_idx[which], trips.end_idx[which]
    lat_lo = _range_reduce(np.minimum, lat, s, e)
    lat_hi = _range_reduce(np.maximum, lat, s, e)
    lng_lo = _range_reduce(np.minimum, lng, s, e)
    lng_hi = _range_reduce(np.maximum, lng, s, e)
    half_diag = haversine_m(lat_lo, lng_lo, lat_hi, lng_hi) / 2.0
    r = settings.drift_radius_m
    drift = half_diag <= r  # the bounding box's circumcircle fits: surely drift
    unsure = np.flatnonzero(~drift & (half_diag <= r * math.sqrt(2.0)))
    if unsure.size:
        # Fixes of the undecided trips against the centre of their bounding box.
        idx, offsets, lengths = expand_ranges(s[unsure], e[unsure])
        clat = np.repeat((lat_lo[unsure] + lat_hi[unsure]) / 2.0, lengths)
        clng = np.repeat((lng_lo[unsure] + lng_hi[unsure]) / 2.0, lengths)
        d = haversine_m(lat[idx], lng[idx], clat, clng)
        drift[unsure] = np.maximum.reduceat(d, offsets) <= r
    keep[which] = ~drift
    return keep


def _parkings(
    rs: I64,
    re: I64,
    end_ms: I64,
    trips: Trips,
    gap_before: Bool,
    t: I64,
    lat: F64,
    lng: F64,
) -> Parkings:
    """Qualifying standstills; those with no kept trip between them (a trip the smart filter
    dropped, or nothing) merge into one parking within a session."""
    if rs.size == 0:
        return Parkings.empty()
    session = np.cumsum(gap_before) - 1
    trips_before = np.searchsorted(trips.start_idx, rs, side="right")
    new_group = np.ones(rs.shape[0], np.bool_)
    new_group[1:] = (np.diff(trips_before) != 0) | (np.diff(session[rs]) != 0)
    first = np.flatnonzero(new_group)
    last = np.append(first[1:], rs.shape[0]) - 1
    p_start, p_end = rs[first], re[last]
    mlat = np.empty(first.shape[0], np.float64)
    mlng = np.empty(first.shape[0], np.float64)
    for k, (a, b) in enumerate(zip(p_start.tolist(), p_end.tolist(), strict=True)):
        mlat[k] = float(np.median(lat[a : b + 1]))
        mlng[k] = float(np.median(lng[a : b + 1]))
    return Parkings(p_start, p_end, t[p_start], end_ms[last], mlat, mlng)


def merge_by_day(trips: Trips, day_starts_ms: I64) -> Trips:
    """``split: false``: one trip per local day (by start) from its first to its last trip.

    ``day_starts_ms`` are the UTC instants of successive local midnights (see timefilter).
    """
    if len(trips) == 0:
        return trips
    day = np.searchsorted(day_starts_ms, trips.start_ms, side="right")
    first = np.flatnonzero(np.concatenate(([True], np.diff(day) != 0)))
    last = np.append(first[1:], len(trips)) - 1
    return Trips(
        start_idx=trips.start_idx[first],
        end_idx=trips.end_idx[last],
        start_ms=trips.start_ms[first],
        end_ms=trips.end_ms[last],
        distance_m=np.add.reduceat(trips.distance_m, first),
        max_speed_kmh=np.maximum.reduceat(trips.max_speed_kmh, first),
        start_lat=trips.start_lat[first],
        start_lng=trips.start_lng[first],
        end_lat=trips.end_lat[last],
        end_lng=trips.end_lng[last],
    )
