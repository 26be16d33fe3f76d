"""Scenario builder: simulated drives with a known answer (pure numpy, deterministic for a seed).

A :class:`Scenario` is written as a day would be told: park, drive along waypoints, idle, lose the
signal, refuel. ``build()`` samples the continuous motion into fixes (a :class:`Track`) and
derives the :class:`Truth` that analytics.md defines for that story: trips, parkings, gaps.

The motion is continuous and exact: the vehicle moves along a dense polyline with a speed
profile made of constant-acceleration pieces (speed limits by road class, acceleration and
braking limits, halts at lights), so every fix position, the true distance driven and the true
speed are known at any instant. Sampling is vectorised; there is no Python loop per fix.

How the truth is decided. It comes from the story itself, not from the fixes' speeds, so that a
known-answer test never checks the engine against a copy of its own rules (analytics.md section 2
gives the product's definitions; the thresholds below are its defaults):

- a *standstill* is a span during which the vehicle really stood: stand phases in a row
  (:meth:`Scenario.park`, :meth:`Scenario.idle`, a parked :meth:`Scenario.gap`) and every halt
  inside a drive (lights, queues: ``drive(halts=...)``);
- a true **parking** is a standstill that lasts at least ``MIN_PARKING_S`` (5 min), with the
  engine running or not (a delivery with the cooling unit on is a parking); for a device that
  reports ignition (``Scenario(ignition=True)``, the default, which makes the engine
  ignition-aware) a standstill with the ignition off at some point is one whatever its length,
  while a shorter one with the ignition on all along (lights, a queue, a brief
  :meth:`Scenario.idle`) is idling inside the trip. Parkings with no motion between them are one
  parking, also across a data gap;
- a true **trip** is the time between two parkings, or a parking and a *session edge* (the start
  or end of the track, or a stretch of over ``MAX_GAP_S`` without fixes), during which the
  vehicle really moved. At a session edge a standstill that could be a parking (ignition off, or
  any standstill without ignition) bounds the trip even when shorter: the trip starts when the
  vehicle left it and ends when it halted;
- in fix terms (the truth's times are times of fixes): a trip starts at the first fix after the
  parking ended (the first fix that left it; the first fix of a session) and ends at the first
  fix at or after the next parking began (the last fix of a session). When no fix lies inside a
  parking (a logger that sleeps while standing, a sparse halt sampling, a signal loss over it)
  the trip ends at the last fix before it and the parking lasts from that fix to the first fix
  after it: that is the best any method can do from the fixes. A parking lasts from its first
  fix to the first fix that left it (the last fix when the data ends inside it); one that no fix
  brackets (no fix inside it nor on one side of it) cannot be seen and is not in the truth. A
  trip needs two fixes;
- a trip's distance is the true path length driven from the last fix before it (the departure
  leg; none after a data gap over ``MAX_GAP_S``) to its end fix. Where no fix shows the way the
  vehicle went, the straight leg between the fixes around that stretch is counted instead, as
  the best any method can do: across a signal loss (analytics.md: a gap under ``MAX_GAP_S``
  counts the straight leg; one over it is never distance, as no trip spans it), and across a
  standstill with no fix inside (a logger asleep while standing does not record the vehicle
  rolling into the halt and out of it, perhaps another way). Its max speed is the highest
  *reported* speed of its fixes (the true speed where none is reported). Outlier fixes are not
  part of the truth (cleaning drops them). The smart filter is not applied.

The sampled fixes agree with it: a fix inside a standstill (its ends included) reports under
1 km/h; every other fix reports at least 3 km/h, the idle threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.model import Track
from fleet_reports.sim import geo

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]
LatLng = tuple[float, float]
Waypoints = Sequence[LatLng] | F64

# Thresholds of analytics.md (the engine's defaults) that the truth is computed with. (The
# parking radius plays no part: the vehicle never moves during a standstill.)
IDLE_SPEED_KMH = 3.0
MIN_PARKING_S = 300.0
MAX_GAP_S = 3600.0

ACCEL_MS2 = 1.1  # comfortable acceleration
DECEL_MS2 = 1.5  # comfortable braking
SPEED_NODE_M = 100.0  # resolution of a drive's speed profile
PATH_SPACING_M = 40.0  # vertex spacing of road-like paths
SLEEP_AFTER_S = 60.0  # a parked device keeps the full rate this long before it slows down
WHITE_NOISE_S = 10.0  # sampled more often, fixes share part of their GPS error (see _noise)
_EPS_S = 1e-6
_STILL_EPS_S = 1e-3  # a fix at the instant a standstill begins or ends (to the ms) stands
_ROAD_CLASSES = np.array([0.45, 0.6, 0.75, 0.9, 1.0])


# --------------------------------------------------------------------------------------------
# Sensors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FuelSensor:
    """Fuel level in litres: burns ``l_per_100km`` while driving and ``idle_l_per_h`` while
    standing with the ignition on; :meth:`Scenario.refuel` fills it during a parking."""

    input_name: str = "fuel"
    start_l: float = 40.0
    capacity_l: float = 60.0
    l_per_100km: float = 7.0
    idle_l_per_h: float = 0.8
    noise_l: float = 0.3  # doubled while moving (sloshing)


@dataclass(frozen=True)
class TemperatureSensor:
    """Temperature in °C: a slow sinusoid over absolute time (continuous across scenarios)."""

    input_name: str = "temp1"
    mean_c: float = 4.0
    amplitude_c: float = 1.5
    period_h: float = 6.0
    phase_rad: float = 0.0
    noise_c: float = 0.1


@dataclass(frozen=True)
class MeteringSensor:
    """A generic analog input, e.g. board voltage: ``off_value`` with the ignition off,
    ``on_value`` with it on (the internal ignition state, reported or not), plus noise."""

    input_name: str = "power"
    off_value: float = 12.4
    on_value: float = 14.1
    noise: float = 0.05
    decimals: int = 2


SensorSim = FuelSensor | TemperatureSensor | MeteringSensor


# --------------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TruthTrip:
    """A true trip: boundaries are times of fixes of the track; ``start``/``end`` are the
    reported positions of those fixes; ``distance_m`` the true path length."""

    start_ms: int
    end_ms: int
    distance_m: float
    start: LatLng
    end: LatLng
    max_speed_kmh: float

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0

    @property
    def avg_speed_kmh(self) -> float:
        return self.distance_m * 3.6 / self.duration_s if self.duration_s > 0 else 0.0


@dataclass(frozen=True)
class TruthParking:
    """A true parking: from its first fix to the first fix that left it (or the last fix when
    the data ends there); ``lat``/``lng`` the true (noise-free) parking point."""

    start_ms: int
    end_ms: int
    lat: float
    lng: float

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0


@dataclass(frozen=True)
class TruthRefuel:
    start_ms: int
    end_ms: int
    litres: float  # what went into the tank (capped at the capacity)
    lat: float
    lng: float


@dataclass
class Truth:
    """The known answer for a built scenario (see the module docstring)."""

    trips: list[TruthTrip]
    parkings: list[TruthParking]
    gaps: list[tuple[int, int]]  # signal losses [from_ms, to_ms): no fix has from <= t < to
    halts: list[tuple[int, int]] = field(default_factory=list)  # stops inside drives (true times)
    outliers: list[int] = field(default_factory=list)  # times of the wild fixes
    refuels: list[TruthRefuel] = field(default_factory=list)
    ignition_aware: bool = True

    @property
    def distance_m(self) -> float:
        return float(sum(t.distance_m for t in self.trips))


# --------------------------------------------------------------------------------------------
# Geometry of road-like paths
# --------------------------------------------------------------------------------------------


def _as_points(waypoints: Waypoints) -> F64:
    pts = np.asarray(waypoints, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 1:
        raise ValueError("waypoints must be a sequence of (lat, lng) pairs")
    if not np.isfinite(pts).all():
        raise ValueError("waypoints must be finite")
    return pts


def _round_corners(p: F64, radius_m: float = 300.0, iterations: int = 3) -> F64:
    """Chaikin corner cutting with the cut capped at ``radius_m`` (endpoints kept)."""
    for _ in range(iterations):
        if p.shape[0] < 3:
            break
        seg = p[1:] - p[:-1]
        length = np.hypot(seg[:, 0], seg[:, 1])
        f = np.minimum(0.25, radius_m / np.maximum(length, 1e-9))[:, None]
        out = np.empty((2 * seg.shape[0], 2), np.float64)
        out[0::2] = p[:-1] + seg * f
        out[1::2] = p[1:] - seg * f
        out[0] = p[0]
        out[-1] = p[-1]
        p = out
    return p


def _resample_xy(p: F64, spacing_m: float) -> tuple[F64, F64]:
    seg = np.hypot(np.diff(p[:, 0]), np.diff(p[:, 1]))
    keep = np.concatenate(([True], seg > 1e-9))
    p = p[keep]
    s = np.concatenate(([0.0], np.cumsum(seg[seg > 1e-9])))
    total = float(s[-1])
    n = max(2, math.ceil(total / spacing_m) + 1)
    grid = np.linspace(0.0, total, n)
    return np.interp(grid, s, p[:, 0]), np.interp(grid, s, p[:, 1])


def road_path(
    waypoints: Waypoints,
    *,
    seed: int = 0,
    wiggle: float = 1.0,
    target_m: float | None = None,
    spacing_m: float = PATH_SPACING_M,
) -> tuple[F64, F64]:
    """A road-like dense polyline (lat, lng) through the general course of ``waypoints``.

    Corners are rounded (radius a few hundred metres) and a smooth lateral meander of
    wavelengths 0.7-11 km (amplitude scaled by ``wiggle``) makes it look like a road; it starts
    and ends exactly at the first and last waypoint. With ``target_m`` the detour of the
    intermediate waypoints from the straight line (or the meander, when even the straight line
    is too long) is scaled so that the path length is ``target_m`` within a metre.
    """
    pts = _as_points(waypoints)
    if pts.shape[0] < 2:
        raise ValueError("a path needs at least two waypoints")
    lat_a, lng_a = float(pts[0, 0]), float(pts[0, 1])
    lat0 = float(pts[:, 0].mean())
    ky = geo.EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    xy = np.stack(((pts[:, 1] - lng_a) * kx, (pts[:, 0] - lat_a) * ky), axis=1)
    rng = np.random.default_rng(seed)
    a, b = xy[0], xy[-1]
    chord = float(np.hypot(*(b - a)))
    u = (b - a) / chord if chord > 1.0 else np.array([1.0, 0.0])
    if xy.shape[0] == 2 and target_m is not None and target_m > chord:
        side = float(rng.choice([-1.0, 1.0]))
        perp = np.array([-u[1], u[0]]) * 0.1 * max(chord, 10.0)
        xy = np.stack((a, a + (b - a) / 3 + side * perp, a + 2 * (b - a) / 3 - side * perp, b))
    foot = a + ((xy - a) @ u)[:, None] * u
    disp = xy - foot
    lam = np.array([700.0, 1800.0, 4500.0, 11000.0]) * rng.uniform(0.8, 1.25, 4)
    amp = np.array([6.0, 20.0, 60.0, 150.0]) * rng.uniform(0.5, 1.0, 4)
    phase = rng.uniform(0.0, 2.0 * math.pi, 4)

    def shape(beta: float, omega: float) -> tuple[F64, F64]:
        p = _round_corners(foot + beta * disp)
        x, y = _resample_xy(p, spacing_m)
        total = float(np.hypot(np.diff(x), np.diff(y)).sum())
        s = np.linspace(0.0, total, x.shape[0])
        scale = omega * wiggle * np.minimum(1.0, total / lam)
        w = (scale * amp * np.sin(2.0 * math.pi * s[:, None] / lam + phase)).sum(axis=1)
        taper_len = max(min(400.0, total / 4.0), 1e-9)
        z = np.clip(np.minimum(s, total - s) / taper_len, 0.0, 1.0)
        w *= z * z * (3.0 - 2.0 * z)
        tx, ty = np.gradient(x), np.gradient(y)
        norm = np.maximum(np.hypot(tx, ty), 1e-12)
        x = x - w * ty / norm
        y = y + w * tx / norm
        return lat_a + y / ky, lng_a + x / kx

    if target_m is None:
        return shape(1.0, 1.0)

    def length(beta: float, omega: float) -> float:
        return geo.path_length_m(*shape(beta, omega))

    if length(0.0, 1.0) > target_m:
        omega = _solve(lambda w: length(0.0, w), target_m, 0.0, 1.0, tol=0.5)
        return shape(0.0, omega)
    hi = 1.0
    while length(hi, 1.0) < target_m and hi < 64.0:
        hi *= 2.0
    beta = _solve(lambda x: length(x, 1.0), target_m, 0.0, hi, tol=0.5)
    return shape(beta, 1.0)


def _solve(f: Callable[[float], float], target: float, lo: float, hi: float, *, tol: float) -> float:
    """``x`` in [lo, hi] with ``f(x) ~= target`` for an increasing ``f`` (Illinois regula falsi,
    falling back to bisection); the nearest end when the target is out of range."""
    f_lo, f_hi = f(lo) - target, f(hi) - target
    if f_lo >= 0:
        return lo
    if f_hi <= 0:
        return hi
    side = 0
    x = lo
    for _ in range(60):
        x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not lo < x < hi:
            x = 0.5 * (lo + hi)
        fx = f(x) - target
        if abs(fx) <= tol:
            return x
        if fx < 0:
            lo, f_lo = x, fx
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = x, fx
            if side == 1:
                f_lo *= 0.5
            side = 1
    return x


def _densify(lat: F64, lng: F64, spacing_m: float) -> tuple[F64, F64, F64]:
    """The polyline with extra vertices so that no leg exceeds ``spacing_m`` (vertices kept),
    and the distance along it at each vertex."""
    legs = geo.leg_lengths_m(lat, lng)
    keep = np.concatenate(([True], legs > 0.01))
    lat, lng, legs = lat[keep], lng[keep], legs[legs > 0.01]
    if legs.size == 0 or legs.max() <= 1.5 * spacing_m:
        return lat, lng, np.concatenate(([0.0], np.cumsum(legs)))
    pieces = np.maximum(1, np.ceil(legs / spacing_m).astype(np.int64))
    seg = np.repeat(np.arange(legs.shape[0]), pieces)
    first = np.repeat(np.cumsum(pieces) - pieces, pieces)
    frac = (np.arange(int(pieces.sum())) - first) / np.repeat(pieces, pieces)
    out_lat = np.append(lat[seg] + (lat[seg + 1] - lat[seg]) * frac, lat[-1])
    out_lng = np.append(lng[seg] + (lng[seg + 1] - lng[seg]) * frac, lng[-1])
    return out_lat, out_lng, geo.cumulative_m(out_lat, out_lng)


# --------------------------------------------------------------------------------------------
# Speed profiles
# --------------------------------------------------------------------------------------------


def _profile(s: F64, u: F64, stops: I64) -> F64:
    """Node speeds (m/s) under the target ``u``, zero at ``stops``, within acceleration and
    braking limits (v^2 linear in s between nodes where a limit binds: constant acceleration)."""
    u2 = u * u
    u2[stops] = 0.0
    fwd = 2.0 * ACCEL_MS2 * s + np.minimum.accumulate(u2 - 2.0 * ACCEL_MS2 * s)
    bwd = -2.0 * DECEL_MS2 * s + np.minimum.accumulate((u2 + 2.0 * DECEL_MS2 * s)[::-1])[::-1]
    out: F64 = np.sqrt(np.clip(np.minimum(u2, np.minimum(fwd, bwd)), 0.0, None))
    return out


def _segment_times(s: F64, v: F64) -> F64:
    out: F64 = 2.0 * np.diff(s) / (v[:-1] + v[1:])
    return out


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------


@dataclass
class _Phase:
    t0: float  # seconds from the scenario start
    t1: float
    drive: bool
    ignition: bool
    jitter_m: float
    lat: float  # where a stand phase stands
    lng: float


class Scenario:
    """A vehicle's story, told in order; :meth:`build` turns it into fixes and the truth.

    ``start_ms`` is UTC epoch ms, (lat, lng) where the vehicle stands at the start. Fixes are
    sampled every ``interval_s`` from ``start_ms`` (``jitter_s`` delays each by a random
    0..jitter_s, whole seconds when the interval is whole). ``noise=False`` turns off GPS noise,
    parking jitter, speed/heading/altitude and sensor noise. ``ignition``: whether the device
    reports ignition; ``report_speed``: whether it reports speed; ``odometer_km``: the device
    odometer at the start (None: no odometer).

    How the logger samples while the vehicle stands (at most one of these; the default is the
    driving rate throughout):

    - ``park_interval_s``: ignition-off stand phases are thinned to one fix every
      ``park_interval_s`` (on the driving grid) after their first minute, as a device that dozes
      off when parked does;
    - ``halt_interval_s``: every standstill (parked, idling, or halted at lights and in queues
      inside a drive, ignition on or off) is sampled every ``halt_interval_s`` (e.g. 60 s to
      5 min) from its first tick of the driving grid; the driving rate resumes at the first tick
      after the vehicle leaves;
    - ``sleep_when_standing=True``: the logger records only while the vehicle moves at 3 km/h or
      more, so there is no fix at all during a standstill, and the last fix before it and the
      first after it are of a vehicle still rolling or just starting (speed >= 3 km/h).
    """

    def __init__(
        self,
        start_ms: int,
        lat: float,
        lng: float,
        *,
        interval_s: float = 10.0,
        seed: int = 0,
        sensors: Sequence[SensorSim] = (),
        ignition: bool = True,
        report_speed: bool = True,
        odometer_km: float | None = 0.0,
        noise: bool = True,
        gps_sigma_m: float = 2.5,
        jitter_s: float = 0.0,
        park_interval_s: float | None = None,
        halt_interval_s: float | None = None,
        sleep_when_standing: bool = False,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        if not 0 <= jitter_s < interval_s:
            raise ValueError("jitter_s must be in [0, interval_s)")
        if park_interval_s is not None and park_interval_s < interval_s:
            raise ValueError("park_interval_s must not be shorter than interval_s")
        if halt_interval_s is not None and not interval_s <= halt_interval_s < math.inf:
            raise ValueError("halt_interval_s must be finite and not shorter than interval_s")
        if (park_interval_s is not None) + (halt_interval_s is not None) + sleep_when_standing > 1:
            raise ValueError("choose one of park_interval_s, halt_interval_s and sleep_when_standing")
        names = [s.input_name for s in sensors]
        if len(set(names)) != len(names):
            raise ValueError("sensor input names must be unique")
        self.start_ms = int(start_ms)
        self.interval_s = float(interval_s)
        self.seed = seed
        self.sensors = tuple(sensors)
        self.ignition = ignition
        self.report_speed = report_speed
        self.odometer_km = odometer_km
        self.noise = noise
        self.gps_sigma_m = gps_sigma_m if noise else 0.0
        self.jitter_s = float(jitter_s)
        self.park_every = 1 if park_interval_s is None else max(1, round(park_interval_s / interval_s))
        self.halt_interval_s = None if halt_interval_s is None else float(halt_interval_s)
        self.sleep_when_standing = sleep_when_standing
        self._rng = np.random.default_rng(seed)
        self._clock = 0.0
        self._dist = 0.0
        self._lat, self._lng = float(lat), float(lng)
        self._phases: list[_Phase] = []
        # Knots of the motion: time (s), distance (m), speed (m/s), acceleration (m/s^2), ignition.
        self._kt: list[F64] = []
        self._ks: list[F64] = []
        self._kv: list[F64] = []
        self._ka: list[F64] = []
        self._ki: list[Bool] = []
        # The driven polyline: distance along it and its vertices.
        self._ps: list[F64] = [np.zeros(1)]
        self._plat: list[F64] = [np.array([self._lat])]
        self._plng: list[F64] = [np.array([self._lng])]
        self._blackouts: list[tuple[float, float]] = []
        self._outliers: list[tuple[float, float, float]] = []
        self._refuels: list[tuple[float, float, float | None, float, float]] = []
        self._halts: list[tuple[float, float]] = []

    # -- state ---------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """The scenario's clock (UTC epoch ms): where the next step starts."""
        return self.start_ms + round(self._clock * 1000.0)

    @property
    def position(self) -> LatLng:
        """The vehicle's true position now."""
        return self._lat, self._lng

    @property
    def distance_m(self) -> float:
        """The true distance driven so far."""
        return self._dist

    def _duration(self, minutes: float | None, until_ms: int | None) -> float:
        seconds = 60.0 * (minutes or 0.0)
        if until_ms is not None:
            seconds = (until_ms - self.start_ms) / 1000.0 - self._clock
        if seconds < -1e-9:
            raise ValueError("a step cannot go back in time")
        return max(0.0, seconds)

    def _stand(self, seconds: float, *, ignition: bool, jitter_m: float) -> None:
        if seconds <= 0:
            return
        t0 = self._clock
        self._phases.append(_Phase(t0, t0 + seconds, False, ignition, jitter_m, self._lat, self._lng))
        self._kt.append(np.array([t0]))
        self._ks.append(np.array([self._dist]))
        self._kv.append(np.zeros(1))
        self._ka.append(np.zeros(1))
        self._ki.append(np.array([ignition]))
        self._clock = t0 + seconds

    # -- steps ---------------------------------------------------------------------------

    def park(
        self,
        minutes: float = 0.0,
        *,
        until_ms: int | None = None,
        jitter_m: float = 5.0,
        ignition: bool = False,
    ) -> Scenario:
        """Stand still for ``minutes`` (or until ``until_ms``) with GPS jitter of ``jitter_m``
        sigma around the spot, ignition off (``ignition=True``: engine running, idling, a
        parking only when it lasts ``MIN_PARKING_S``)."""
        self._stand(self._duration(minutes, until_ms), ignition=ignition, jitter_m=jitter_m)
        return self

    def idle(self, minutes: float = 0.0, *, until_ms: int | None = None, jitter_m: float = 3.0) -> Scenario:
        """Stand still with the ignition on."""
        self._stand(self._duration(minutes, until_ms), ignition=True, jitter_m=jitter_m)
        return self

    def gap(self, minutes: float, *, moving: bool = False) -> Scenario:
        """Signal loss for ``minutes`` from now. ``moving=False``: the vehicle stands meanwhile
        (as it stood before; parked with the ignition off after a drive); ``moving=True``: the clock does
        not advance and whatever comes next (a drive) happens unseen for that long."""
        seconds = self._duration(minutes, None)
        self._blackouts.append((self._clock, self._clock + seconds))
        if not moving:
            last = self._phases[-1] if self._phases else None
            if last is not None and not last.drive:
                self._stand(seconds, ignition=last.ignition, jitter_m=last.jitter_m)
            else:  # stopped after a drive and lost the sky: an underground car park
                self._stand(seconds, ignition=False, jitter_m=5.0)
        return self

    def signal_loss(self, from_ms: int, to_ms: int) -> Scenario:
        """No fixes in [from_ms, to_ms) whatever happens then (may be in the past or future)."""
        if to_ms <= from_ms:
            raise ValueError("signal_loss needs from_ms < to_ms")
        self._blackouts.append(((from_ms - self.start_ms) / 1000.0, (to_ms - self.start_ms) / 1000.0))
        return self

    def outlier(self, km: float = 5.0, *, at_ms: int | None = None, bearing: float | None = None) -> Scenario:
        """One wild fix ``km`` away from the fix before it, between the fixes around the current
        time (or ``at_ms``). Its implied speed must exceed 300 km/h (``build`` checks), so that
        cleaning (max 250 km/h) drops it."""
        if km <= 0:
            raise ValueError("km must be positive")
        b = float(self._rng.uniform(0.0, 360.0)) if bearing is None else float(bearing)
        at = self._clock if at_ms is None else (at_ms - self.start_ms) / 1000.0
        self._outliers.append((at, km, b))
        return self

    def refuel(self, litres: float | None = None, *, minutes: float = 3.0) -> Scenario:
        """Fill the tank during the parking just told (``None``: fill up to the capacity)."""
        if not any(isinstance(s, FuelSensor) for s in self.sensors):
            raise ValueError("refuel needs a FuelSensor")
        if not self._phases or self._phases[-1].drive:
            raise ValueError("refuel happens during a parking: call park() first")
        ph = self._phases[-1]
        span = ph.t1 - ph.t0
        start = ph.t0 + min(60.0, 0.2 * span)
        end = start + min(60.0 * minutes, 0.6 * span)
        if end <= start:
            raise ValueError("the parking is too short to refuel")
        self._refuels.append((start, end, litres, ph.lat, ph.lng))
        return self

    def drive(
        self,
        waypoints: Waypoints,
        *,
        cruise_kmh: float = 60.0,
        halts: int = 0,
        halt_s: float | Sequence[float] = 40.0,
        duration_s: float | None = None,
        variation: float = 0.3,
        road: bool = True,
        wiggle: float = 1.0,
    ) -> Scenario:
        """Drive from the current position through ``waypoints`` (the current position is
        prepended when the first waypoint is elsewhere).

        ``road=True`` shapes the waypoints into a road-like path (:func:`road_path`);
        ``road=False`` follows the polyline as given. The speed reaches ``cruise_kmh`` on the
        fastest stretches; ``variation`` (0..1) slows town stretches (0: constant cruise
        between the ramps). ``halts`` stops (lights, queues) of ``halt_s`` seconds each (one
        value or one per halt) happen inside the drive, the engine running: one of 5 minutes or
        more is a true parking, engine running or not (module docstring). ``duration_s``
        makes the drive take exactly that long (halts included) by slowing or speeding the
        stretches; it raises ValueError when that is impossible.
        """
        pts = _as_points(waypoints)
        if geo.distance_m(self._lat, self._lng, float(pts[0, 0]), float(pts[0, 1])) > 0.5:
            pts = np.vstack(([[self._lat, self._lng]], pts))
        if pts.shape[0] < 2:
            raise ValueError("a drive needs somewhere to go")
        if road:
            lat, lng = road_path(pts, seed=int(self._rng.integers(2**62)), wiggle=wiggle)
        else:
            lat, lng = pts[:, 0].copy(), pts[:, 1].copy()
        lat[0], lng[0] = self._lat, self._lng
        lat, lng, ps = _densify(lat, lng, PATH_SPACING_M)
        total = float(ps[-1])
        if total < 1.0:
            raise ValueError("a drive needs somewhere to go")
        halt_list = [float(halt_s)] * halts if isinstance(halt_s, (int, float)) else [float(h) for h in halt_s]
        if len(halt_list) != halts:
            raise ValueError("halt_s must be one value or one per halt")
        if any(not 0 < h < math.inf for h in halt_list):
            raise ValueError("each halt must last a positive, finite time")
        t_nodes, s_nodes, v_nodes, halt_nodes = self._plan_speed(total, cruise_kmh, halt_list, duration_s, variation)
        self._append_drive(t_nodes, s_nodes, v_nodes, halt_nodes, halt_list, duration_s)
        self._ps.append(self._dist - total + ps[1:])
        self._plat.append(lat[1:])
        self._plng.append(lng[1:])
        self._lat, self._lng = float(lat[-1]), float(lng[-1])
        return self

    def _plan_speed(
        self,
        total: float,
        cruise_kmh: float,
        halt_list: list[float],
        duration_s: float | None,
        variation: float,
    ) -> tuple[F64, F64, F64, I64]:
        """Node times (moving only), distances, speeds and the halt node indices of a drive."""
        if cruise_kmh < 2 * IDLE_SPEED_KMH:
            raise ValueError("cruise_kmh must be at least 6 km/h")
        rng = self._rng
        n_nodes = max(3, math.ceil(total / SPEED_NODE_M) + 1)
        s = np.linspace(0.0, total, n_nodes)
        cruise = cruise_kmh / 3.6
        floor = max(5.0 / 3.6, min(0.25 * cruise, cruise))
        # Road classes: stretches of 1.5-7 km, town at both ends, the longest inner one fast.
        m = np.ones(n_nodes)
        if variation > 0:
            edges = np.cumsum(rng.uniform(1500.0, 7000.0, int(total // 1500.0) + 2))
            cls = rng.choice(_ROAD_CLASSES, edges.shape[0])
            sect = np.searchsorted(edges, s)
            if total > 3000.0:
                inner = np.unique(sect[(s > 1000.0) & (s < total - 1000.0)])
                if inner.size:
                    cls[inner[np.argmax(np.bincount(sect)[inner])]] = 1.0
            m = cls[sect]
            town = (s < 1000.0) | (s > total - 1000.0)
            m = np.where(town, np.minimum(m, 0.55), m)
            if total <= 3000.0:
                m = np.where(town, 0.7, m)
                m[n_nodes // 2] = 1.0
            wobble = np.sin(2 * math.pi * s / rng.uniform(1500, 3000) + rng.uniform(0, 2 * math.pi))
            m = m * (1.0 - 0.03 * (1.0 + wobble))
            m /= m.max()
        stops = [0, n_nodes - 1]
        halt_nodes = np.empty(0, np.int64)
        if halt_list:
            # Halts inside the drive, never on neighbouring nodes (there must be motion between).
            lo, hi = max(2, int(0.1 * n_nodes)), min(n_nodes - 3, int(0.9 * n_nodes))
            room = hi - lo + 1 - (len(halt_list) - 1)
            if room < len(halt_list):
                raise ValueError("the drive is too short for that many halts")
            pick = np.sort(rng.choice(room, len(halt_list), replace=False))
            halt_nodes = (lo + pick + np.arange(len(halt_list))).astype(np.int64)
            stops.extend(halt_nodes.tolist())
        stop_idx = np.array(stops, np.int64)
        q0 = 2.0 * variation

        def moving_time(q: float, k: float = 1.0) -> float:
            v = _profile(s, np.maximum(floor, k * cruise * m**q), stop_idx)
            return float(_segment_times(s, v).sum())

        q, k = q0, 1.0
        if duration_s is not None:
            target = duration_s - sum(halt_list)
            if target <= 0:
                raise ValueError("duration_s must exceed the halts")
            if moving_time(0.0) > target:
                q = 0.0
                if moving_time(0.0, 4.0) > target:
                    raise ValueError("the drive cannot be that fast")
                k = 1.0 / _solve(lambda x: moving_time(0.0, 1.0 / x), target, 0.25, 1.0, tol=1e-3)
            else:
                if moving_time(12.0) < target:
                    raise ValueError("the drive cannot be that slow; add halts")
                q = _solve(moving_time, target, 0.0, 12.0, tol=1e-3)
        v = _profile(s, np.maximum(floor, k * cruise * m**q), stop_idx)
        dt = _segment_times(s, v)
        if duration_s is not None:
            f = (duration_s - sum(halt_list)) / float(dt.sum())
            dt *= f
            v /= f
        t = np.concatenate(([0.0], np.cumsum(dt)))
        return t, s, v, halt_nodes

    def _append_drive(
        self,
        t: F64,
        s: F64,
        v: F64,
        halt_nodes: I64,
        halt_list: list[float],
        duration_s: float | None,
    ) -> None:
        n = s.shape[0]
        reps = np.ones(n, np.int64)
        reps[halt_nodes] = 2
        idx = np.repeat(np.arange(n), reps)
        add = np.zeros(idx.shape[0])
        second = np.flatnonzero(np.diff(idx) == 0) + 1
        add[second] = halt_list
        kt = self._clock + t[idx] + np.cumsum(add)
        if duration_s is not None:
            kt[-1] = self._clock + duration_s
        ks = self._dist + s[idx]
        kv = v[idx]
        span = np.diff(kt)
        ka = np.zeros(kt.shape[0])
        ka[:-1] = np.where(span > 0, np.diff(kv) / np.where(span > 0, span, 1.0), 0.0)
        for j, h in enumerate(halt_list):
            start = float(kt[second[j] - 1])
            self._halts.append((start, start + h))
        self._phases.append(_Phase(self._clock, float(kt[-1]), True, True, self.gps_sigma_m, 0.0, 0.0))
        self._kt.append(kt)
        self._ks.append(ks)
        self._kv.append(kv)
        self._ka.append(ka)
        self._ki.append(np.ones(kt.shape[0], np.bool_))
        self._clock = float(kt[-1])
        self._dist = float(ks[-1])

    # -- build ---------------------------------------------------------------------------

    def build(self) -> tuple[Track, Truth]:
        """The fixes from ``start_ms`` up to (excluding) the current clock, and the truth."""
        rng = np.random.default_rng([self.seed, 0x5EED])
        names = tuple(s.input_name for s in self.sensors)
        end = self._clock
        if end <= 0 or not self._phases:
            return Track.empty(names), Truth([], [], [], ignition_aware=self.ignition)
        p_t0 = np.array([p.t0 for p in self._phases])
        p_drive = np.array([p.drive for p in self._phases])
        p_ign = np.array([p.ignition for p in self._phases])
        p_jit = np.array([p.jitter_m for p in self._phases])
        kt, ks = np.concatenate(self._kt), np.concatenate(self._ks)
        kv, ka, ki = np.concatenate(self._kv), np.concatenate(self._ka), np.concatenate(self._ki)
        ps, plat, plng = np.concatenate(self._ps), np.concatenate(self._plat), np.concatenate(self._plng)

        stills = self._stills()

        def state_at(at: F64) -> _State:
            return _State.at(at, kt, ks, kv, ka, ki, ps, plat, plng)

        # Sampling times.
        k = np.arange(math.ceil(end / self.interval_s - 1e-9), dtype=np.int64)
        grid = k * self.interval_s
        grid = grid[grid < end - _EPS_S]
        k = k[: grid.shape[0]]
        if self.park_every > 1:
            g_ph = np.searchsorted(p_t0, grid + _EPS_S, side="right") - 1
            asleep = ~p_drive[g_ph] & ~p_ign[g_ph] & (grid - p_t0[g_ph] >= SLEEP_AFTER_S)
            grid = grid[~asleep | (k % self.park_every == 0)]
        if self.halt_interval_s is not None:
            grid = self._halt_grid(grid.astype(np.float64), stills, end, self.halt_interval_s)
        if self.jitter_s > 0:
            u = rng.uniform(0.0, self.jitter_s, grid.shape[0])
            if float(self.interval_s).is_integer():
                u = np.floor(u)
            grid = grid + u
            grid = grid[grid < end - _EPS_S]
        t_ms = self.start_ms + np.round(grid * 1000.0).astype(np.int64)
        gaps = self._gap_windows(end)
        for a, b in gaps:
            t_ms = t_ms[(t_ms < a) | (t_ms >= b)]
        t_ms = np.unique(t_ms)
        tr = (t_ms - self.start_ms) / 1000.0
        if self.sleep_when_standing:  # it records only while the vehicle moves at 3 km/h or more
            t_ms = t_ms[state_at(tr).v * 3.6 >= IDLE_SPEED_KMH]
            tr = (t_ms - self.start_ms) / 1000.0

        st = state_at(tr)
        n = tr.shape[0]
        ph = np.searchsorted(p_t0, tr + _EPS_S, side="right") - 1
        # A fix at the very instant of a departure still belongs to the standstill before it.
        ph = np.where(p_drive[ph] & (ph > 0) & (tr - p_t0[ph] < _STILL_EPS_S), ph - 1, ph)
        standing = _inside(tr, stills.a, stills.b)
        ign = p_ign[ph]

        # Reported positions: GPS noise while moving, jitter (with slow wander) while parked.
        sigma = np.where(standing & ~p_drive[ph], p_jit[ph], self.gps_sigma_m) if self.noise else np.zeros(n)
        white = min(1.0, math.sqrt(self.interval_s / WHITE_NOISE_S))
        east = sigma * _noise(rng, n, white_share=white)
        north = sigma * _noise(rng, n, white_share=white)
        r = np.hypot(east, north)
        cap = np.minimum(4.0 * sigma, 150.0)
        shrink = np.where(r > cap, cap / np.maximum(r, 1e-12), 1.0)
        lat, lng = geo.offset_m(st.lat, st.lng, east * shrink, north * shrink)

        kmh = st.v * 3.6
        if self.noise:
            moving_speed = np.maximum(IDLE_SPEED_KMH, np.round(kmh + rng.normal(0.0, 0.6, n), 1))
            stand_speed = np.round(rng.uniform(0.0, 1.0, n), 1)
        else:
            moving_speed = np.maximum(IDLE_SPEED_KMH, np.round(kmh, 1))
            stand_speed = np.zeros(n)
        speed = np.where(standing, stand_speed, moving_speed)
        heading = st.heading
        if self.noise:
            heading = np.where(standing, heading, heading + rng.normal(0.0, 1.5, n))
        heading = np.mod(np.round(heading), 360.0)
        alt = 170.0 + 35.0 * np.sin(np.radians(st.lat) * 37.0) * np.cos(np.radians(st.lng) * 29.0)
        alt += 15.0 * np.sin(np.radians(st.lat) * 113.0 + np.radians(st.lng) * 71.0)
        if self.noise:
            alt += rng.normal(0.0, 1.5, n)
        wave = np.sin(2 * math.pi * t_ms / 2.4e6 + rng.uniform(0, 2 * math.pi))
        sats = np.clip(np.round(9.0 + 2.2 * wave + rng.normal(0.0, 0.8, n)), 6, 12)
        near_gap = np.zeros(n, np.bool_)
        for a, b in gaps:
            near_gap |= ((t_ms >= a - 30_000) & (t_ms < a)) | ((t_ms >= b) & (t_ms < b + 30_000))
        sats = np.where(near_gap, np.maximum(sats - 3, 4), sats)
        hdop = np.clip(np.round(8.0 / sats + rng.normal(0.0, 0.08, n), 1), 0.6, 4.0)

        sensors, refuels = self._sensor_values(rng, t_ms, tr, st, standing, ign, kt, ks, kv, ka, ki)
        track = Track(
            t=t_ms,
            lat=lat,
            lng=lng,
            speed=(speed if self.report_speed else np.full(n, np.nan)).astype(np.float32),
            heading=heading.astype(np.float32),
            alt=np.round(alt, 1).astype(np.float32),
            satellites=sats.astype(np.int8),
            hdop=hdop.astype(np.float32),
            odometer=(self.odometer_km + st.s / 1000.0 if self.odometer_km is not None else np.full(n, np.nan)),
            ignition=(ign.astype(np.int8) if self.ignition else np.full(n, -1, np.int8)),
            sensors=sensors,
        )
        truth = _truth(track, tr, st, stills, self.ignition, gaps, state_at)
        truth.gaps = [(a, b) for a, b in gaps]
        truth.halts = [(self._ms(a), self._ms(b)) for a, b in self._halts]
        truth.refuels = refuels
        track, truth.outliers = self._insert_outliers(track, st, gaps)
        return track, truth

    def _stills(self) -> _Stills:
        """The true standstills of the story (per phase, no fix involved)."""
        stand = np.array([not p.drive for p in self._phases])
        off = np.array([not p.ignition for p in self._phases])
        t0 = np.array([p.t0 for p in self._phases])
        t1 = np.array([p.t1 for p in self._phases])

        def runs(mask: Bool) -> tuple[F64, F64]:
            """Spans of consecutive phases under ``mask`` (phases follow each other without a break)."""
            first = mask.copy()
            first[1:] &= ~mask[:-1]
            last = mask.copy()
            last[:-1] &= ~mask[1:]
            return t0[first], t1[last]

        halts = np.array(self._halts, np.float64).reshape(-1, 2)
        a, b = runs(stand)
        a, b = np.concatenate((a, halts[:, 0])), np.concatenate((b, halts[:, 1]))
        order = np.argsort(a, kind="stable")
        a, b = a[order], b[order]
        long_enough = (b - a) >= MIN_PARKING_S - _EPS_S
        if self.ignition:  # ignition-aware: ignition off parks at once, whatever the length
            oa, _ = runs(stand & off)
            held = np.zeros(a.shape[0], np.bool_)
            held[np.searchsorted(a, oa, side="right") - 1] = True  # the standstill holding it
            return _Stills(a, b, a, b, long_enough | held)
        return _Stills(a, b, a, b, long_enough)

    def _halt_grid(self, grid: F64, stills: _Stills, end: float, step: float) -> F64:
        """Sampling times with every standstill sampled every ``step`` seconds instead, from its
        first tick of the driving grid."""
        keep = ~_inside(grid, stills.a, stills.b)
        first = np.ceil((stills.a - _STILL_EPS_S) / self.interval_s) * self.interval_s
        last = np.minimum(stills.b + _STILL_EPS_S, end - _EPS_S)
        count = np.where(first <= last, np.floor((last - first) / step) + 1, 0).astype(np.int64)
        offsets = np.repeat(np.cumsum(count) - count, count)
        extra = np.repeat(first, count) + (np.arange(int(count.sum())) - offsets) * step
        out: F64 = np.sort(np.concatenate((grid[keep], extra)))
        return out

    def _ms(self, seconds: float) -> int:
        return self.start_ms + round(seconds * 1000.0)

    def _gap_windows(self, end: float) -> list[tuple[int, int]]:
        """Signal losses clipped to the scenario and merged, in ms."""
        spans = sorted((max(0.0, a), min(end, b)) for a, b in self._blackouts if b > 0 and a < end)
        merged: list[tuple[float, float]] = []
        for a, b in spans:
            if b <= a:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return [(self._ms(a), self._ms(b)) for a, b in merged]

    def _sensor_values(
        self,
        rng: np.random.Generator,
        t_ms: I64,
        tr: F64,
        st: _State,
        standing: Bool,
        ign: Bool,
        kt: F64,
        ks: F64,
        kv: F64,
        ka: F64,
        ki: Bool,
    ) -> tuple[dict[str, F64], list[TruthRefuel]]:
        out: dict[str, F64] = {}
        refuels: list[TruthRefuel] = []
        n = t_ms.shape[0]
        idle_seg = (kv == 0) & (ka == 0) & ki
        idle_cum = np.concatenate(([0.0], np.cumsum(np.diff(kt) * idle_seg[:-1])))

        def idle_s(at: F64) -> F64:
            j = np.clip(np.searchsorted(kt, at + _EPS_S, side="right") - 1, 0, kt.shape[0] - 1)
            res: F64 = idle_cum[j] + np.where(idle_seg[j], at - kt[j], 0.0)
            return res

        def dist(at: F64) -> F64:
            return _State.at(at, kt, ks, kv, ka, ki, None, None, None).s

        for sensor in self.sensors:
            if isinstance(sensor, FuelSensor):

                def burnt(at: F64, fs: FuelSensor = sensor) -> F64:
                    res: F64 = fs.l_per_100km * dist(at) / 1e5 + fs.idle_l_per_h * idle_s(at) / 3600.0
                    return res

                level = sensor.start_l - burnt(tr)
                added = 0.0
                for a, b, litres, lat, lng in sorted(self._refuels):
                    before = sensor.start_l + added - float(burnt(np.array([a]))[0])
                    room = max(0.0, sensor.capacity_l - before)
                    got = room if litres is None else min(litres, room)
                    level += got * np.clip((tr - a) / (b - a), 0.0, 1.0)
                    added += got
                    refuels.append(TruthRefuel(self._ms(a), self._ms(b), round(got, 3), lat, lng))
                if self.noise:
                    level += rng.normal(0.0, sensor.noise_l, n) * np.where(standing, 1.0, 2.0)
                out[sensor.input_name] = np.clip(np.round(level, 1), 0.0, sensor.capacity_l)
            elif isinstance(sensor, TemperatureSensor):
                period_ms = sensor.period_h * 3.6e6
                temp = sensor.mean_c + sensor.amplitude_c * np.sin(2 * math.pi * t_ms / period_ms + sensor.phase_rad)
                if self.noise:
                    temp = temp + rng.normal(0.0, sensor.noise_c, n)
                out[sensor.input_name] = np.round(temp, 1)
            else:
                value = np.where(ign, sensor.on_value, sensor.off_value).astype(np.float64)
                if self.noise:
                    value = value + rng.normal(0.0, sensor.noise, n)
                out[sensor.input_name] = np.round(value, sensor.decimals)
        return out, refuels

    def _insert_outliers(self, track: Track, st: _State, gaps: list[tuple[int, int]]) -> tuple[Track, list[int]]:
        times: list[int] = []
        for at, km, bearing in self._outliers:
            at_ms = self._ms(at)
            if any(a <= at_ms < b for a, b in gaps):
                raise ValueError("an outlier cannot be inside a signal loss")
            j = int(np.searchsorted(track.t, at_ms, side="left"))
            usual = 2000 * max(self.interval_s * self.park_every, self.halt_interval_s or 0.0)
            if j == 0 or (j < len(track) and track.t[j] - track.t[j - 1] > usual):
                j += 1  # right after a signal loss (or at the start): between the next two fixes
            if j >= len(track):
                raise ValueError("an outlier needs fixes on both sides")
            # Half-way to the next fix, but no farther than half a driving interval (standing
            # fixes may be minutes apart).
            t_new = int(track.t[j - 1]) + min(
                (int(track.t[j]) - int(track.t[j - 1])) // 2, round(500 * self.interval_s)
            )
            if t_new <= track.t[j - 1]:
                raise ValueError("no room for an outlier between two fixes")
            implied = km * 1000.0 / ((t_new - int(track.t[j - 1])) / 1000.0) * 3.6
            if implied <= 300.0:
                raise ValueError(f"an outlier {km} km away implies only {implied:.0f} km/h; go farther")
            lat, lng = geo.destination(track.lat[j - 1], track.lng[j - 1], bearing, km * 1000.0)
            row = track.take(np.array([j - 1]))
            row.t[:] = t_new
            row.lat[:] = lat
            row.lng[:] = lng
            row.satellites[:] = 5
            row.hdop[:] = 2.6
            order = np.concatenate((np.arange(j), [len(track)], np.arange(j, len(track))))
            track = Track.concat([track, row]).take(order)
            times.append(t_new)
        return track, sorted(times)


def _noise(rng: np.random.Generator, n: int, window: int = 31, white_share: float = 1.0) -> F64:
    """Noise of unit variance (less with ``white_share`` < 1): part white, part a slow wander
    (moving average of white noise). ``white_share`` scales the white part: the error a receiver
    does not carry from one fix to the next is for fixes ``WHITE_NOISE_S`` apart; fixes closer
    together share most of it."""
    white = rng.normal(0.0, 1.0, n)
    raw = rng.normal(0.0, 1.0, n + window)
    c = np.concatenate(([0.0], np.cumsum(raw)))
    slow = (c[window:] - c[:-window])[:n] / math.sqrt(window)
    out: F64 = 0.6 * white_share * white + 0.8 * slow
    return out


@dataclass(frozen=True)
class _Stills:
    """True standstills in seconds from the scenario start: closed spans, sorted and disjoint."""

    a: F64  # every standstill: stand phases in a row, and halts inside drives
    b: F64
    park_a: F64  # the standstills that may be parkings (all of them)
    park_b: F64
    parking: Bool  # which are: those of >= MIN_PARKING_S, and with ignition any with the ignition off


def _inside(x: F64, a: F64, b: F64) -> Bool:
    """Which times ``x`` lie in one of the sorted, disjoint closed spans [a, b] (give or take
    ``_STILL_EPS_S``: a fix at the instant a standstill begins or ends stands)."""
    j = np.searchsorted(a - _STILL_EPS_S, x, side="right") - 1
    out: Bool = (j >= 0) & (x <= b[np.maximum(j, 0)] + _STILL_EPS_S) if a.size else np.zeros(x.shape, np.bool_)
    return out


@dataclass
class _State:
    """The true state at given times: knot index, distance, speed, position, heading."""

    k: I64
    s: F64
    v: F64
    lat: F64
    lng: F64
    heading: F64

    @staticmethod
    def at(
        tr: F64,
        kt: F64,
        ks: F64,
        kv: F64,
        ka: F64,
        ki: Bool,
        ps: F64 | None,
        plat: F64 | None,
        plng: F64 | None,
    ) -> _State:
        k = np.clip(np.searchsorted(kt, tr + _EPS_S, side="right") - 1, 0, kt.shape[0] - 1)
        tau = np.maximum(tr - kt[k], 0.0)
        s = ks[k] + kv[k] * tau + 0.5 * ka[k] * tau * tau
        nxt = np.minimum(k + 1, kt.shape[0] - 1)
        s = np.clip(s, ks[k], np.maximum(ks[nxt], ks[k]))
        v = np.maximum(kv[k] + ka[k] * tau, 0.0)
        if ps is None or plat is None or plng is None:
            z = np.zeros_like(tr)
            return _State(k, s, v, z, z, z)
        lat = np.interp(s, ps, plat)
        lng = np.interp(s, ps, plng)
        if ps.shape[0] >= 2:
            j = np.clip(np.searchsorted(ps, s, side="left") - 1, 0, ps.shape[0] - 2)
            heading = geo.bearing_deg(plat[j], plng[j], plat[j + 1], plng[j + 1])
        else:
            heading = np.zeros_like(tr)
        return _State(k, s, v, lat, lng, heading)


def _truth(
    track: Track,
    tr: F64,
    st: _State,
    stills: _Stills,
    aware: bool,
    gaps: list[tuple[int, int]],
    state_at: Callable[[F64], _State],
) -> Truth:
    """Trips and parkings of the story's standstills, told in fixes (module docstring).

    Per standstill and per trip with numpy; no loop per fix. ``tr``: fix times in seconds from
    the scenario start; ``st``: the true state at the fixes; ``state_at``: at any time.
    """
    n = len(track)
    if n == 0:
        return Truth([], [], [], ignition_aware=aware)
    t = track.t
    # Distance driven up to each fix: the true path, but the straight leg where no fix shows the
    # way: across a signal loss, and across a standstill with no fix inside (a sleeping logger).
    step = np.diff(st.s)
    if n > 1:
        after_gap = np.searchsorted(t, np.array([b for _, b in gaps], np.int64), side="left")
        into = np.searchsorted(tr, stills.a - _STILL_EPS_S, side="left")
        seen = into < np.searchsorted(tr, stills.b + _STILL_EPS_S, side="right")
        legs = np.concatenate((after_gap, into[~seen])) - 1
        legs = np.unique(legs[(legs >= 0) & (legs < n - 1)])
        step[legs] = geo.haversine_m(st.lat[legs], st.lng[legs], st.lat[legs + 1], st.lng[legs + 1])
    counted = np.concatenate(([0.0], np.cumsum(step)))
    # Sessions: a stretch of over MAX_GAP_S without fixes ends one.
    long_gap = np.diff(t) > int(MAX_GAP_S * 1000)
    gap_before = np.concatenate(([True], long_gap))
    gap_after = np.concatenate((long_gap, [True]))

    # Around each standstill that may be a parking: the first fix at or after its start and the
    # first fix after its end; the fixes from the one to before the other lie inside it.
    first_in = np.searchsorted(tr, stills.park_a - _STILL_EPS_S, side="left")
    after = np.searchsorted(tr, stills.park_b + _STILL_EPS_S, side="right")
    seen = first_in < after
    # A trip ends at its first fix inside, else at the last fix before it; the next starts after.
    end_before = np.where(seen, first_in, first_in - 1)
    at_edge = seen & (gap_before[np.minimum(first_in, n - 1)] | gap_after[np.maximum(after - 1, 0)])
    bounds = stills.parking | at_edge

    # Trips: the fixes between separators (those standstills, long data gaps, the track's ends),
    # each separator given as (the fix a trip before it ends at, the fix a trip after it starts at).
    g = np.flatnonzero(long_gap)
    sep_end = np.concatenate(([-1], end_before[bounds], g, [n - 1]))
    sep_start = np.concatenate(([0], after[bounds], g + 1, [n]))
    order = np.lexsort((sep_start, sep_end))
    start = np.maximum.accumulate(sep_start[order])[:-1]
    stop = sep_end[order][1:]
    two_fixes = start < stop
    start, stop = start[two_fixes], stop[two_fixes]
    prev = np.where(gap_before[start], start, start - 1)  # the departure leg, unless across a long gap
    dist = counted[stop] - counted[prev]
    moved = dist >= 1.0  # between two parkings the vehicle may not have moved at all (idling)
    start, stop, dist = start[moved], stop[moved], dist[moved]
    # The engine's max speed is the highest reported speed; without one, the true speed.
    reported = track.speed.astype(np.float64)
    speed = np.where(np.isnan(reported), st.v * 3.6, reported)
    trips = [
        TruthTrip(
            start_ms=int(t[a]),
            end_ms=int(t[b]),
            distance_m=float(d),
            start=(float(track.lat[a]), float(track.lng[a])),
            end=(float(track.lat[b]), float(track.lng[b])),
            max_speed_kmh=float(speed[a : b + 1].max()),
        )
        for a, b, d in zip(start.tolist(), stop.tolist(), dist.tolist(), strict=True)
    ]

    # Parkings: those the fixes bracket (a fix inside, or fixes on both sides), from the first
    # fix inside (else the last before) to the first fix after (else the last fix); parkings
    # with no motion between them are one.
    park = stills.parking & (seen | ((first_in > 0) & (after < n)))
    pa, pb = stills.park_a[park], stills.park_b[park]
    p_start = end_before[park]
    p_end = np.minimum(after[park], n - 1)
    parkings: list[TruthParking] = []
    if pa.size:
        new = np.concatenate(([True], state_at(pa[1:]).s - state_at(pb[:-1]).s >= 1.0))
        first = np.flatnonzero(new)
        last = np.append(first[1:], pa.shape[0]) - 1
        spot = state_at(pa[first])
        parkings = [
            TruthParking(int(t[p_start[i]]), int(t[p_end[j]]), lat, lng)
            for i, j, lat, lng in zip(first.tolist(), last.tolist(), spot.lat.tolist(), spot.lng.tolist(), strict=True)
        ]
    return Truth(trips, parkings, [], ignition_aware=aware)
