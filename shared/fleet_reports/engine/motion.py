"""Trips and parkings from cleaned fixes (docs/analytics.md, "Trips and parkings"), vectorised with numpy.

:func:`segment` chains the rules, each one function of this module (the table in
``engine/__init__.py`` lists them): speeds (:func:`derived_speeds`, :func:`fix_speeds`), silent
halts and data gaps, moving fixes (:func:`extend_rolling`, :func:`suppress_blips`), standstills
that are parkings (:func:`parkable_fixes`, :func:`join_stays`, :func:`standstill_end_ms`,
:func:`parking_qualifies`), trips between them (:func:`trip_spans`), their distance
(:func:`counted_legs`) and the smart filter (:func:`smart_filter_keeps`).

The hot path has no Python loop per fix: runs of standing fixes, trips between them and their
statistics are found with the primitives of ``engine/intervals.py`` (``runs``, ``cover``,
``range_reduce``). The only loop is per parking (its median position), and parkings are few.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from fleet_reports.engine.geo import EARTH_RADIUS_M, haversine_m, leg_lengths_m
from fleet_reports.engine.intervals import (
    MS_PER_S,
    Intervals,
    cover,
    expand_ranges,
    key_runs,
    range_reduce,
    runs,
)
from fleet_reports.engine.model import Track

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

MS_TO_KMH = 3600.0  # metres per millisecond -> km/h
DERIVED_SPAN_S = 30.0  # window on each side of a fix for the motion speed derived from positions
LONG_STEP_S = 60.0  # a sampling step longer than this says nothing about speed at the window's scale
PEAK_SIDE_S = 5.0  # window on each side of a fix for the reported (peak) speed derived from positions


class TripSettings(BaseModel):
    """Per-tracker thresholds of trip detection (deployment defaults, then tracker overrides)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    idle_speed_threshold: float = Field(default=3.0, ge=0)  # km/h: moving when speed >= this
    min_idle_duration: float = Field(default=300.0, ge=0)  # s: a standstill this long is a parking
    parking_radius_m: float = Field(default=200.0, gt=0)  # a parking stays within this radius
    max_gap: float = Field(default=3600.0, gt=0)  # s: a longer data gap ends the trip
    max_implied_speed_kmh: float = Field(default=250.0, gt=0)  # cleaning, docs/analytics.md "Cleaning"
    min_trip_distance_m: float = Field(default=300.0, ge=0)  # smart filter
    min_trip_fixes: int = Field(default=4, ge=1)  # smart filter
    drift_radius_m: float = Field(default=200.0, ge=0)  # smart filter: GPS drift around one place
    jitter_radius_m: float = Field(default=50.0, ge=0)  # a "move" that stays this close is noise
    noise_leg_m: float = Field(default=20.0, ge=0)  # inside a trip, a longer leg at driving speed is driven
    ignition_aware: bool | None = None  # None: on when the track has ignition values

    @classmethod
    def build(
        cls, defaults: Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> TripSettings:
        """Deployment defaults, then the tracker's ``trip_detection`` overrides (unknown keys ignored)."""
        return cls.model_validate({**(defaults or {}), **(overrides or {})})


@dataclass(frozen=True, kw_only=True)
class Trips(Intervals[np.int64]):
    """Trips, from the first fix that left a parking to the first fix of the next one;
    ``start_idx``/``end_idx`` index the fixes of the segmented track."""

    start_idx: I64
    end_idx: I64
    distance_m: F64  # moving legs from the leg that left the parking to the trip's end
    max_speed_kmh: F64
    start_lat: F64
    start_lng: F64
    end_lat: F64
    end_lng: F64

    @property
    def avg_speed_kmh(self) -> F64:
        """Distance over trip duration (0 for a trip of no duration)."""
        return average_speed_kmh(self.distance_m, self.duration_s)

    @property
    def fixes(self) -> I64:
        out: I64 = self.end_idx - self.start_idx + 1
        return out


@dataclass(frozen=True, kw_only=True)
class Parkings(Intervals[np.int64]):
    """Parkings: from the first fix of the standstill to the first fix that left it."""

    start_idx: I64
    end_idx: I64
    lat: F64  # median of its fixes
    lng: F64


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
    bridged: I64  # legs (index of their first fix) over a data gap counted as driven distance


def fix_speeds(track: Track, gap: Bool | None = None, idle_kmh: float = 3.0) -> F64:
    """Rule "reported speed": the speed of each fix in km/h as reports show it: the device's,
    else derived from positions.

    Where the device gives none, a fix that moves (by its motion speed, :func:`derived_speeds`)
    reads the lower of the displacement speeds over a window of at least ``PEAK_SIDE_S`` before
    it and one after it (short: a 30 s window clips peaks; two-sided: one wild leg does not make
    a peak), and a standing fix, or one with no such window in its block, its motion speed.
    """
    return derived_speeds(track, gap, idle_kmh)[1]


def derived_speeds(track: Track, gap: Bool | None, idle_kmh: float, cos_phi: F64 | None = None) -> tuple[F64, F64]:
    """Rule "moving" (its speed) and "reported speed": the (motion speed, reported speed) of each
    fix; both the device's speed where it has one.

    The motion speed derived from positions is the lower of two displacement speeds: over a window
    of at least ``DERIVED_SPAN_S`` (and one fix) before the fix and one after it, each within the
    fix's *block*: the fixes between two sampling steps longer than ``LONG_STEP_S`` (or data gaps
    over ``max_gap``, marked by ``gap``). A one-sided window is sharp at starts and stops (its side
    inside the halt reads about 0) and long enough to average out white GPS jitter; a window never
    reaches across a long step, so a sparsely sampled halt next to a fix does not make a moving fix
    read as standing. A side with no fix in the block has no say; a fix alone in its block (both
    steps long) reads the lower implied speed of its two legs.
    """
    speed = track.speed.astype(np.float64)
    missing = np.isnan(speed)
    n = len(track)
    if n < 2 or not missing.any():
        return speed, speed
    t = track.t
    if gap is None:
        gap = np.zeros(n - 1, np.bool_)
    plane = _Plane.of(track, cos_phi)
    i = np.arange(n)
    brk = gap | (np.diff(t) > int(LONG_STEP_S * MS_PER_S))
    before, after = _window(t, None, int(DERIVED_SPAN_S * MS_PER_S))
    np.minimum(before, i - 1, out=before)
    np.maximum(after, i + 1, out=after)
    if brk.any():
        first = np.maximum.accumulate(np.where(np.concatenate(([True], brk)), i, 0))
        last = np.minimum.accumulate(np.where(np.concatenate((brk, [True])), i, n - 1)[::-1])[::-1]
    else:
        first, last = np.zeros(n, np.int64), np.full(n, n - 1, np.int64)
    np.maximum(before, first, out=before)
    np.minimum(after, last, out=after)
    ahead = plane.speed(after)
    # The window before fix i is the window ahead of fix before[i] wherever that one ends at i
    # (nearly everywhere on a regularly sampled track): only the others are computed.
    behind = ahead[before]
    other = np.flatnonzero(after[before] != i)
    behind[other] = plane.speed(before[other], other)
    motion = np.fmin(behind, ahead)
    alone = np.flatnonzero(first == last)
    if alone.size:
        into = plane.speed(np.maximum(alone - 1, 0), alone)
        out_of = plane.speed(np.minimum(alone + 1, n - 1), alone)
        into[np.concatenate(([True], gap))[alone]] = np.nan
        out_of[np.concatenate((gap, [True]))[alone]] = np.nan
        motion[alone] = np.fmin(into, out_of)
    reported = motion
    if idle_kmh > 0:
        k = np.flatnonzero(motion >= idle_kmh)
        pb, pa = _window(t, k, int(PEAK_SIDE_S * MS_PER_S))
        ok = (pb >= first[k]) & (pb < k) & (pa <= last[k]) & (pa > k)
        k, pb, pa = k[ok], pb[ok], pa[ok]
        reported = motion.copy()
        reported[k] = np.fmin(plane.speed(pb, k), plane.speed(pa, k))
    return np.where(missing, motion, speed), np.where(missing, reported, speed)


def _window(t: I64, idx: I64 | None, span_ms: int) -> tuple[I64, I64]:
    """For each fix ``idx`` (every fix when None): the last fix at least ``span_ms`` before it
    (-1: none) and the first fix at least ``span_ms`` after it (n: none)."""
    n = t.shape[0]
    at = np.arange(n) if idx is None else idx
    after = _seek(t, at, span_ms, "left")
    if idx is None:
        # The fixes at least ``span_ms`` before fix j are exactly those whose first fix
        # ``span_ms`` ahead is j or earlier: no second search.
        before = np.cumsum(np.bincount(after, minlength=n + 1)[:-1]) - 1
    else:
        before = _seek(t, at, -span_ms, "right") - 1
    return before, after


def _seek(t: I64, idx: I64, offset_ms: int, side: Literal["left", "right"]) -> I64:
    """``np.searchsorted(t, t[idx] + offset_ms, side)``. A regularly sampled track answers from
    the typical sampling step: an index offset, confirmed by two look-ups; only the fixes where
    that guess is wrong are searched."""
    n = t.shape[0]
    target = t[idx] + offset_ms
    if n < 64:
        return np.searchsorted(t, target, side=side)
    sample = np.arange(1, n, n // 64)
    step = float(np.median(t[sample] - t[sample - 1]))
    if step <= 0:
        return np.searchsorted(t, target, side=side)
    shift = math.ceil(offset_ms / step) if offset_ms > 0 else math.floor(offset_ms / step) + 1
    guess = np.clip(idx + shift, 0, n)
    above = t[np.minimum(guess, n - 1)]
    below = t[np.maximum(guess - 1, 0)]
    if side == "left":  # the first fix at or after the target
        ok = ((guess == n) | (above >= target)) & ((guess == 0) | (below < target))
    else:  # the first fix after the target
        ok = ((guess == n) | (above > target)) & ((guess == 0) | (below <= target))
    wrong = np.flatnonzero(~ok)
    if wrong.size:
        guess[wrong] = np.searchsorted(t, target[wrong], side=side)
    out: I64 = guess
    return out


@dataclass(frozen=True)
class _Plane:
    """Fix positions for fast displacements: northing and (unwrapped) longitude in metres along
    the equator, the cosine of the latitude, and the fix times. A displacement from
    a fix uses the tangent plane at that fix (equirectangular): within 0.05 % of the great circle
    over the few kilometres of a speed window. Absolute coordinates and whole milliseconds, so
    that a fix's speeds do not depend on where the period starts."""

    y: F64
    x: F64
    c: F64
    t: I64

    @staticmethod
    def of(track: Track, cos_phi: F64 | None = None) -> _Plane:
        phi = np.radians(track.lat)
        lng = track.lng
        if lng.shape[0] > 1 and float(np.abs(np.diff(lng)).max()) > 180.0:
            lng = np.degrees(np.unwrap(np.radians(lng)))  # a track across the antimeridian
        c = np.cos(phi) if cos_phi is None else cos_phi
        return _Plane(phi * EARTH_RADIUS_M, np.radians(lng) * EARTH_RADIUS_M, c, track.t)

    def speed(self, b: I64, a: I64 | None = None) -> F64:
        """km/h between fix ``a`` (every fix, in order, when None) and fix ``b`` (NaN where they
        are the same fix)."""
        if a is None:
            dy, dx, span = self.y[b] - self.y, (self.x[b] - self.x) * self.c, self.t[b] - self.t
        else:
            dy, dx, span = self.y[b] - self.y[a], (self.x[b] - self.x[a]) * self.c[a], self.t[b] - self.t[a]
        dist = np.sqrt(dx * dx + dy * dy)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = dist * (MS_TO_KMH / np.abs(span))
        out[span == 0] = np.nan
        return out


def _displacement_speed(track: Track, a: I64, b: I64) -> F64:
    """km/h from fix ``a`` to fix ``b`` (NaN where ``b`` is not after ``a``)."""
    span = (track.t[b] - track.t[a]).astype(np.float64)
    ok = (b > a) & (span > 0)
    disp = haversine_m(track.lat[a], track.lng[a], track.lat[b], track.lng[b])
    out: F64 = np.where(ok, disp * MS_TO_KMH / np.where(ok, span, 1.0), np.nan)
    return out


MEDIAN_SAMPLE = 256  # fixes a parking's median position is taken over at most (about)
ROLLING_COS = 0.7  # a rolling leg points within about 45 degrees of the run's own direction
ROLLING_FIXES = 15  # how many fixes a densely sampled moving run wins back at each end at most
ROLLING_STEP_S = 2.0  # sampling steps this short are dense


def extend_rolling(moving: Bool, track: Track, gap: Bool, threshold_kmh: float) -> Bool:
    """Win back the fixes a derived speed misses at each end of a moving run.

    A derived speed averages over >= 30 s, so the last fix before a halt (still rolling, a few
    tens of metres to go) reads below the threshold, and so does the first fix of a departure. A
    fix without device speed next to a moving run of two or more fixes is moving too when the leg
    between them is itself fast enough, points the way the run goes (GPS jitter points anywhere)
    and spans no more than the derived speed's window. Densely sampled runs (legs of
    ``ROLLING_STEP_S`` or less) win back further fixes, up to ``ROLLING_FIXES``, while each leg is
    still that fast and points that way (braking into the halt, or accelerating out of it; jitter
    at a standstill soon points elsewhere).
    """
    n = moving.shape[0]
    missing = np.isnan(track.speed)
    if n < 3 or not missing.any():
        return moving
    lat, lng, t = track.lat, track.lng, track.t
    out = moving.copy()
    for step in (1, -1):  # run ends, then run starts
        edge = out.copy()
        if step == 1:
            edge[:-1] &= ~out[1:] & ~gap
            edge[-1] = False
        else:
            edge[1:] &= ~out[:-1] & ~gap
            edge[0] = False
        cur = np.flatnonzero(edge)
        # The run's own direction of travel, over (up to) its two fixes next to the edge; a run of
        # one fix has none and wins nothing. The edge test above keeps ``cur + step`` in range.
        cur = cur[_in_run(out, gap, cur, -step, 1)]
        ref = np.where(_in_run(out, gap, cur, -step, 2), cur - 2 * step, cur - step)
        scale = np.cos(np.radians(lat[cur]))
        ux, uy = (lng[cur] - lng[ref]) * scale * step, (lat[cur] - lat[ref]) * step
        for k in range(ROLLING_FIXES):
            nxt = cur + step
            ok = (nxt >= 0) & (nxt < n)
            cur, nxt, ux, uy, scale = cur[ok], nxt[ok], ux[ok], uy[ok], scale[ok]
            lo, hi = np.minimum(cur, nxt), np.maximum(cur, nxt)
            vx, vy = (lng[nxt] - lng[cur]) * scale * step, (lat[nxt] - lat[cur]) * step
            norm = np.hypot(ux, uy) * np.hypot(vx, vy)
            aligned = (ux * vx + uy * vy) >= ROLLING_COS * np.where(norm > 0, norm, np.inf)
            leg_kmh = _displacement_speed(track, lo, hi)
            step_ms = t[hi] - t[lo]
            win = missing[nxt] & ~out[nxt] & ~gap[lo] & aligned & (leg_kmh >= threshold_kmh)
            if k:
                win &= step_ms <= int(ROLLING_STEP_S * MS_PER_S)
            else:  # a longer leg's average says nothing of when the vehicle started or stopped
                win &= step_ms <= int(DERIVED_SPAN_S * MS_PER_S)
            out[nxt[win]] = True
            if not win.any():
                break
            cur, ux, uy, scale = nxt[win], ux[win], uy[win], scale[win]
    return out


def _in_run(moving: Bool, gap: Bool, idx: I64, direction: int, count: int) -> Bool:
    """Whether the ``count`` fixes next to ``idx`` in ``direction`` (+1 or -1) exist, are moving
    and join ``idx`` with no long gap."""
    n = moving.shape[0]
    ok = np.ones(idx.shape[0], np.bool_)
    prev = idx
    for k in range(1, count + 1):
        other = idx + direction * k
        ok &= (other >= 0) & (other < n)
        o = np.clip(other, 0, n - 1)
        ok &= moving[o] & ~gap[np.clip(np.minimum(prev, o), 0, n - 2)]
        prev = o
    return ok


def suppress_blips(moving: Bool, lat: F64, lng: F64, gap: Bool, radius_m: float) -> Bool:
    """Moving runs that never leave ``radius_m`` of the standing fix before them (and whose next
    standing fix is that close too) are GPS noise, a speed spike while parked: they count as
    standing."""
    n = moving.shape[0]
    if n < 2 or radius_m <= 0:
        return moving
    first, last = runs(moving, gap)  # the moving runs
    # The standing fix before the run is the anchor (the one after it at the start of a session).
    has_before = first > 0
    has_before[has_before] = ~gap[first[has_before] - 1]
    has_after = last < n - 1
    has_after[has_after] = ~gap[last[has_after]]
    # A run alone in its session (no standing fix on either side) is measured from its own first
    # fix, so a period and its halves judge the same run alike.
    anchor = np.where(has_before, first - 1, np.where(has_after, last + 1, first))
    # Cheap pre-check on the standing fix after the run, then every fix of the remaining runs.
    ahead = np.minimum(last + 1, n - 1)
    near = ~has_after | ~has_before | (haversine_m(lat[anchor], lng[anchor], lat[ahead], lng[ahead]) <= radius_m)
    first, last, anchor = first[near], last[near], anchor[near]
    if first.size == 0:
        return moving
    idx, offsets, lengths = expand_ranges(first, last)
    d = haversine_m(lat[idx], lng[idx], np.repeat(lat[anchor], lengths), np.repeat(lng[anchor], lengths))
    blip = np.maximum.reduceat(d, offsets) <= radius_m
    out: Bool = moving & ~cover(n, first[blip], last[blip])
    return out


def segment(track: Track, settings: TripSettings, *, smart_filter: bool = True) -> Segments:
    """Split cleaned, time-ordered fixes into trips and parkings (docs/analytics.md, "Trips and
    parkings"): each step below is one rule, one function."""
    n = len(track)
    t, lat, lng = track.t, track.lat, track.lng
    if n == 0:
        z = np.empty(0, np.float64)
        i0 = np.empty(0, np.int64)
        return Segments(Trips.empty(), Parkings.empty(), t, lat, lng, z, z, np.empty(0, np.bool_), i0)

    thr = settings.idle_speed_threshold
    cos_phi = np.cos(np.radians(lat))
    legs = leg_lengths_m(lat, lng, cos_phi)
    dt = np.diff(t)
    long_step = np.flatnonzero(dt >= int(LONG_STEP_S * MS_PER_S))  # few: the rules use them alone
    silent = silent_halts(legs, dt, long_step, settings)
    gap = data_gaps(dt, silent, settings)
    motion, speed = derived_speeds(track, gap, thr, cos_phi)
    moving = moving_fixes(track, motion, gap, settings)
    # gap_before[i]: no usable leg into fix i; gap_after[i]: none out of it (session edges).
    gap_before = np.empty(n, np.bool_)
    gap_before[0] = True
    gap_before[1:] = gap
    gap_after = np.empty(n, np.bool_)
    gap_after[-1] = True
    gap_after[:-1] = gap
    jump = legs > settings.parking_radius_m

    ignition_off = track.ignition == 0 if ignition_aware(track, settings) else None
    # Standstills: runs of parkable fixes, broken by long gaps and by jumps beyond the parking radius.
    run_break = gap | jump
    first, last = runs(parkable_fixes(moving, silent, ignition_off), run_break)
    if smart_filter:
        first, last = join_stays(first, last, run_break, t, lat, lng, legs, settings)
    ends_session = gap_after[last]
    end_ms = standstill_end_ms(first, last, t, dt, jump, ends_session, settings)
    qualify = parking_qualifies(first, last, end_ms, t, lat, lng, ignition_off, settings)
    # A trip never runs across a parking, nor across the start or end of a session.
    breaker = qualify | gap_before[first] | ends_session
    trip_first, trip_last = trip_spans(first[breaker], last[breaker], gap, gap_after)

    counted = counted_legs(moving, jump, gap, legs, dt, trip_first, trip_last, settings)
    cum = np.empty(n, np.float64)
    cum[0] = 0.0
    np.cumsum(np.where(counted, legs, 0.0), out=cum[1:])
    trips = _make_trips(trip_first, trip_last, t, lat, lng, speed, cum, gap_before)

    if smart_filter and len(trips):
        trips = trips.take(smart_filter_keeps(trips, lat, lng, settings))

    parkings = _parkings(first[qualify], last[qualify], end_ms[qualify], trips, gap_before, t, lat, lng)
    bridged = bridged_gaps(long_step, counted, silent, dt, settings)
    return Segments(trips, parkings, t, lat, lng, speed, cum, moving, bridged)


def silent_halts(legs: F64, dt: I64, long_step: I64, settings: TripSettings) -> Bool:
    """Rule "silent halt", per leg: a sampling step of a minute or more (``long_step``) whose two
    fixes are within the parking radius at an implied speed below the idle speed (the logger
    slept, or the platform polls rarely, while the vehicle stood). The step itself is the
    evidence of standing, whatever the speeds of the fixes either side say; one as long as a
    parking is a parking by itself."""
    silent = np.zeros(dt.shape[0], np.bool_)
    step_legs = legs[long_step]
    silent[long_step] = (step_legs <= settings.parking_radius_m) & (
        step_legs * MS_TO_KMH < settings.idle_speed_threshold * dt[long_step]
    )
    return silent


def data_gaps(dt: I64, silent: Bool, settings: TripSettings) -> Bool:
    """Rule "data gaps", per leg: a step longer than ``max_gap`` that is not a silent halt. No
    window, run or trip reaches across one, and its displacement is never distance."""
    out: Bool = (dt > int(settings.max_gap * MS_PER_S)) & ~silent
    return out


def moving_fixes(track: Track, motion_kmh: F64, gap: Bool, settings: TripSettings) -> Bool:
    """Rule "moving": motion speed at least ``idle_speed_threshold`` (unknown is not moving),
    with the rolling ends won back (:func:`extend_rolling`) and parked jitter dropped
    (:func:`suppress_blips`)."""
    thr = settings.idle_speed_threshold
    moving = motion_kmh >= thr  # NaN compares False
    moving = extend_rolling(moving, track, gap, thr)
    return suppress_blips(moving, track.lat, track.lng, gap, settings.jitter_radius_m)


def ignition_aware(track: Track, settings: TripSettings) -> bool:
    """Rule "ignition": the tracker's ``ignition_aware`` setting, else on when the track has
    ignition values."""
    if settings.ignition_aware is None:
        return bool((track.ignition >= 0).any())
    return settings.ignition_aware


def parkable_fixes(moving: Bool, silent: Bool, ignition_off: Bool | None) -> Bool:
    """The fixes a standstill is made of: standing ones, the first fix of a silent halt (the
    halt lasts until the fix after it), and, when ignition-aware (``ignition_off`` given), those
    with the ignition off. With the engine running, standing is idling: a parking (an engine-on
    stop) only when it lasts a parking, like any standstill."""
    halt_start = np.append(silent, False)
    parkable: Bool = ~moving | halt_start
    if ignition_off is not None:
        parkable = ignition_off | parkable
    return parkable


def standstill_end_ms(
    first: I64, last: I64, t: I64, dt: I64, jump: Bool, ends_session: Bool, settings: TripSettings
) -> I64:
    """Rule "back-dating", per standstill ``[first, last]``: it lasts until the first fix that
    left it (where the next trip starts), unless the data stops there (``ends_session``), or the
    next fix is beyond the parking radius after a step longer than a parking (the vehicle moved
    on unseen, sometime during a step that could hide a parking elsewhere: the standstill lasts
    while it was seen)."""
    n = t.shape[0]
    left_unseen = ends_session.copy()
    inner = np.flatnonzero(~ends_session)  # last < n - 1 there
    left_unseen[inner] = jump[last[inner]] & (dt[last[inner]] > int(settings.min_idle_duration * MS_PER_S))
    out: I64 = np.where(left_unseen, t[last], t[np.minimum(last + 1, n - 1)])
    return out


def parking_qualifies(
    first: I64,
    last: I64,
    end_ms: I64,
    t: I64,
    lat: F64,
    lng: F64,
    ignition_off: Bool | None,
    settings: TripSettings,
) -> Bool:
    """Rule "parking", per standstill ``[first, last]`` ending at ``end_ms``: it lasts at least
    ``min_idle_duration`` and every fix stays within ``parking_radius_m`` of its mean position;
    or, ignition-aware, the ignition went off during it (that ends the trip at once)."""
    long_enough = (end_ms - t[first]) >= int(settings.min_idle_duration * MS_PER_S)
    qualify = _within_radius(lat, lng, first, last, long_enough, settings.parking_radius_m)
    if ignition_off is not None:
        off_cum = np.concatenate(([0], np.cumsum(ignition_off, dtype=np.int64)))
        qualify |= (off_cum[last + 1] - off_cum[first]) > 0
    return qualify


def trip_spans(breaker_first: I64, breaker_last: I64, gap: Bool, gap_after: Bool) -> tuple[I64, I64]:
    """Trips as fix ranges: maximal spans of fixes outside the breaker runs (parkings, session
    edges) within a session, each ended at the first fix of the breaker after it (back-dated to
    when the vehicle halted), or at its own last fix where the session ends."""
    n = gap_after.shape[0]
    core = ~cover(n, breaker_first, breaker_last)
    first, core_last = runs(core, gap)
    last: I64 = np.where(gap_after[core_last], core_last, core_last + 1)
    return first, last


def counted_legs(
    moving: Bool,
    jump: Bool,
    gap: Bool,
    legs: F64,
    dt: I64,
    trip_first: I64,
    trip_last: I64,
    settings: TripSettings,
) -> Bool:
    """Rule "distance", per leg: which legs count as driven distance.

    Legs while moving (either end moving), never legs across a long gap or a silent halt, and
    never jitter between standing fixes; a standing-to-standing jump beyond the parking radius (a
    short data gap while the vehicle moved) counts as the straight leg. Inside a trip (its
    departure leg included), a leg longer than GPS noise whose own implied speed is a driving
    speed is driven distance too, whatever its fixes' speeds read.
    """
    usable = ~gap
    counted = usable & (moving[:-1] | moving[1:] | jump)
    driven = np.flatnonzero(~counted & usable & (legs > settings.noise_leg_m))
    driven = driven[legs[driven] * MS_TO_KMH >= settings.idle_speed_threshold * dt[driven]]
    if trip_first.size and driven.size:
        # Legs first - 1 .. last - 1 are a trip's (its departure leg first); trips are in order.
        k = np.searchsorted(trip_last, driven, side="right")  # the first trip that ends after the leg
        inside = k < trip_first.size
        inside[inside] = driven[inside] >= trip_first[k[inside]] - 1
        counted[driven[inside]] = True
    return counted


def bridged_gaps(long_step: I64, counted: Bool, silent: Bool, dt: I64, settings: TripSettings) -> I64:
    """Data gaps bridged as driving (the Trips report's note): counted legs, not silent halts,
    long enough to have hidden a parking. Returns the index of each leg's first fix."""
    bridged = long_step[counted[long_step] & ~silent[long_step]]
    out: I64 = bridged[dt[bridged] >= int(settings.min_idle_duration * MS_PER_S)]
    return out


def join_stays(
    first: I64, last: I64, run_break: Bool, t: I64, lat: F64, lng: F64, legs: F64, settings: TripSettings
) -> tuple[I64, I64]:
    """Rule "parking", smart filter: standstills joined by short moves that never leave the
    parking radius are one stay: a bus edging forward at a terminus, a car creeping in a queue.
    Neighbouring runs of standing fixes ``[first, last]``, each too short to be a parking on its
    own, join when the move between them is one the smart filter drops (under
    ``min_trip_distance_m`` of path) and every fix from the first run's start to the second run's
    end is within the parking radius of their mean position, with no long gap or jump on the way;
    a chain of such joins becomes one run when all of its fixes fit the radius too and lasts a
    parking. A parking is never extended this way: leaving it is the start of a trip."""
    if first.size < 2:
        return first, last
    radius = settings.parking_radius_m
    # Legs last[r] .. first[r + 1] - 1 lie between two runs (one at least).
    lo, hi = last[:-1], first[1:] - 1
    path = range_reduce(np.add, legs, lo, hi)
    breaks = np.flatnonzero(run_break)
    broken = np.searchsorted(breaks, lo, side="left") != np.searchsorted(breaks, hi, side="right")
    brief = (t[last] - t[first]) < int(settings.min_idle_duration * MS_PER_S)  # not a parking alone
    short = ~broken & (path < settings.min_trip_distance_m)
    short &= brief[:-1] & brief[1:]
    pair = _within_radius(lat, lng, first[:-1], last[1:], short, radius)
    if not pair.any():
        return first, last
    # Chains of runs, each joined to the next: runs of runs, broken where a pair does not join.
    chain_first, chain_last = runs(np.ones(first.size, np.bool_), ~pair)
    # A chain joins only when it lasts a parking (to the fix after it), or nothing changes.
    n = t.shape[0]
    lasting = (t[np.minimum(last[chain_last] + 1, n - 1)] - t[first[chain_first]]) >= int(
        settings.min_idle_duration * MS_PER_S
    )
    fits = _within_radius(lat, lng, first[chain_first], last[chain_last], (chain_last > chain_first) & lasting, radius)
    keep = np.ones(first.size, np.bool_)
    new_last = last.copy()
    for a, b in zip(chain_first[fits].tolist(), chain_last[fits].tolist(), strict=True):
        new_last[a] = last[b]
        keep[a + 1 : b + 1] = False
    return first[keep], new_last[keep]


def _within_radius(lat: F64, lng: F64, first: I64, last: I64, candidate: Bool, radius: float) -> Bool:
    """For candidate runs ``[first, last]``: do all their fixes stay within ``radius`` of the
    run's mean position?"""
    out = np.zeros(first.shape[0], np.bool_)
    which = np.flatnonzero(candidate)
    if which.size == 0:
        return out
    idx, offsets, lengths = expand_ranges(first[which], last[which])
    mlat = np.add.reduceat(lat[idx], offsets) / lengths
    mlng = np.add.reduceat(lng[idx], offsets) / lengths
    # Local tangent plane around each run's centre: exact to well under a millimetre at a few
    # hundred metres, and no trigonometry per fix.
    scale = np.radians(1.0) * EARTH_RADIUS_M
    dy = (lat[idx] - np.repeat(mlat, lengths)) * scale
    dx = (lng[idx] - np.repeat(mlng, lengths)) * np.repeat(np.cos(np.radians(mlat)) * scale, lengths)
    out[which] = np.maximum.reduceat(dx * dx + dy * dy, offsets) <= radius * radius
    return out


def _make_trips(first: I64, last: I64, t: I64, lat: F64, lng: F64, speed: F64, cum: F64, gap_before: Bool) -> Trips:
    """Trips over the fix ranges ``[first, last]``: times, positions, distance, max speed."""
    if first.size == 0:
        return Trips.empty()
    # The trip starts at the first fix that left the parking; the leg that took it there is
    # driven distance too (when it is not across a long gap).
    departure = np.where(gap_before[first], 0.0, cum[first] - cum[np.maximum(first - 1, 0)])
    distance = cum[last] - cum[first] + departure
    top = np.nan_to_num(range_reduce(np.fmax, speed, first, last), nan=0.0)
    return Trips(
        start_idx=first,
        end_idx=last,
        start_ms=t[first],
        end_ms=t[last],
        distance_m=distance,
        max_speed_kmh=at_least_average(top, distance, t[last] - t[first]),
        start_lat=lat[first],
        start_lng=lng[first],
        end_lat=lat[last],
        end_lng=lng[last],
    )


def average_speed_kmh(distance_m: F64, duration_s: F64) -> F64:
    """Average speed = distance / duration, in km/h (0 for no duration): trips, speed violations."""
    out: F64 = np.divide(distance_m * 3.6, duration_s, out=np.zeros_like(distance_m), where=duration_s > 0)
    return out


def at_least_average(max_speed_kmh: F64, distance_m: F64, duration_ms: I64) -> F64:
    """Rule "a max speed is never below the average speed": the highest kept fix speed, raised
    to the average speed over the same span where it is lower.

    A vehicle that covered ``distance_m`` in ``duration_ms`` went at least that fast at some
    instant. Fix speeds can miss it: derived speeds average over >= 30 s windows, and the departure
    leg counts as distance while the trip starts at the first fix that left the parking (the seed's
    convention), so its time is not trip time.
    """
    avg = average_speed_kmh(distance_m, duration_ms.astype(np.float64) / MS_PER_S)  # as Trips computes it
    out: F64 = np.fmax(max_speed_kmh, avg)
    return out


def smart_filter_keeps(trips: Trips, lat: F64, lng: F64, settings: TripSettings) -> Bool:
    """Rule "smart filter": which trips are trips. Too short (``min_trip_distance_m``), too few
    fixes (``min_trip_fixes``), or all within a ``drift_radius_m`` circle is not a trip."""
    keep = (trips.distance_m >= settings.min_trip_distance_m) & (trips.fixes >= settings.min_trip_fixes)
    which = np.flatnonzero(keep)
    if which.size == 0 or settings.drift_radius_m <= 0:
        return keep
    first, last = trips.start_idx[which], trips.end_idx[which]
    lat_lo = range_reduce(np.minimum, lat, first, last)
    lat_hi = range_reduce(np.maximum, lat, first, last)
    lng_lo = range_reduce(np.minimum, lng, first, last)
    lng_hi = range_reduce(np.maximum, lng, first, last)
    half_diag = haversine_m(lat_lo, lng_lo, lat_hi, lng_hi) / 2.0
    r = settings.drift_radius_m
    drift = half_diag <= r  # the bounding box's circumcircle fits: surely drift
    unsure = np.flatnonzero(~drift & (half_diag <= r * math.sqrt(2.0)))
    if unsure.size:
        # Fixes of the undecided trips against the centre of their bounding box.
        idx, offsets, lengths = expand_ranges(first[unsure], last[unsure])
        clat = np.repeat((lat_lo[unsure] + lat_hi[unsure]) / 2.0, lengths)
        clng = np.repeat((lng_lo[unsure] + lng_hi[unsure]) / 2.0, lengths)
        d = haversine_m(lat[idx], lng[idx], clat, clng)
        drift[unsure] = np.maximum.reduceat(d, offsets) <= r
    keep[which] = ~drift
    return keep


def _parkings(
    first: I64,
    last: I64,
    end_ms: I64,
    trips: Trips,
    gap_before: Bool,
    t: I64,
    lat: F64,
    lng: F64,
) -> Parkings:
    """Qualifying standstills ``[first, last]`` (lasting to ``end_ms``); those with no kept trip
    between them (a trip the smart filter dropped, or nothing) merge into one parking within a
    session."""
    if first.size == 0:
        return Parkings.empty()
    session = np.cumsum(gap_before) - 1
    trips_before = np.searchsorted(trips.start_idx, first, side="right")
    # Groups of standstills: runs broken by a kept trip or a new session between two of them.
    new_group = (np.diff(trips_before) != 0) | (np.diff(session[first]) != 0)
    group_first, group_last = runs(np.ones(first.shape[0], np.bool_), new_group)
    p_start, p_end = first[group_first], last[group_last]
    mlat = np.empty(group_first.shape[0], np.float64)
    mlng = np.empty(group_first.shape[0], np.float64)
    for k, (a, b) in enumerate(zip(p_start.tolist(), p_end.tolist(), strict=True)):
        # The median of at most ~MEDIAN_SAMPLE fixes spread over the parking: as good a centre
        # for GPS jitter, at a cost that does not grow with a long parking's fixes.
        stride = max(1, (b - a + 1) // MEDIAN_SAMPLE)
        mlat[k] = float(np.median(lat[a : b + 1 : stride]))
        mlng[k] = float(np.median(lng[a : b + 1 : stride]))
    return Parkings(
        start_idx=p_start, end_idx=p_end, start_ms=t[p_start], end_ms=end_ms[group_last], lat=mlat, lng=mlng
    )


def in_trips(seg: Segments) -> Bool:
    """Which fixes lie inside one of the segments' (kept) trips, ends included."""
    return cover(seg.t.shape[0], seg.trips.start_idx, seg.trips.end_idx)


def merge_by_day(trips: Trips, day_starts_ms: I64) -> Trips:
    """Rule ``split: false``: one trip per local day (by start) from its first to its last trip.

    ``day_starts_ms`` are the UTC instants of successive local midnights (see timefilter).
    """
    if len(trips) == 0:
        return trips
    first, last = key_runs(np.searchsorted(day_starts_ms, trips.start_ms, side="right"))
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
