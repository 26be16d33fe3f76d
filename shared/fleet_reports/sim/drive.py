"""Scenario builder: simulated drives with a known answer (pure numpy, deterministic for a seed).

A :class:`Scenario` is written as a day would be told: park, drive along waypoints, idle, lose the
signal, refuel. ``build()`` samples the continuous motion into fixes (a :class:`Track`) and
derives the :class:`Truth` that docs/analytics.md defines for that story: trips, parkings, gaps.

The motion is continuous and exact: the vehicle moves along a dense polyline with a speed
profile made of constant-acceleration pieces (speed limits by road class, acceleration and
braking limits, halts at lights), so every fix position, the true distance driven and the true
speed are known at any instant. Sampling is vectorised; there is no Python loop per fix.

The simulator, one module per concern (this one tells the story and puts the pieces together):

- :mod:`~fleet_reports.sim.roads`: road-like polylines through waypoints (:func:`road_path`);
- :mod:`~fleet_reports.sim.motion`: the story's phases, the motion's knots and path, speed profiles;
- :mod:`~fleet_reports.sim.truth`: the known answer (how it is decided: that module's docstring);
- :mod:`~fleet_reports.sim.sampling`: when the logger records and what a fix reports, outliers;
- :mod:`~fleet_reports.sim.sensors`: fuel, temperature and analog sensors;
- :mod:`~fleet_reports.sim.geo`: spherical geometry.

The public names (``Scenario``, ``Truth``, ``TruthTrip``, the sensors, ``road_path``, the
thresholds) are all importable from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from fleet_reports.engine.model import Track
from fleet_reports.sim import geo
from fleet_reports.sim.motion import Knots, Motion, Path, Phase, SpeedPlan
from fleet_reports.sim.roads import PATH_SPACING_M, LatLng, Waypoints, as_points, densify, road_path
from fleet_reports.sim.sampling import Logger, Outlier
from fleet_reports.sim.sensors import FuelSensor, MeteringSensor, Refuel, SensorSim, TemperatureSensor, sensor_values
from fleet_reports.sim.truth import (
    IDLE_SPEED_KMH,
    MAX_GAP_S,
    MIN_PARKING_S,
    Stills,
    Truth,
    TruthParking,
    TruthRefuel,
    TruthTrip,
    derive_truth,
)

__all__ = [
    "IDLE_SPEED_KMH",
    "MAX_GAP_S",
    "MIN_PARKING_S",
    "FuelSensor",
    "LatLng",
    "MeteringSensor",
    "Scenario",
    "SensorSim",
    "TemperatureSensor",
    "Truth",
    "TruthParking",
    "TruthRefuel",
    "TruthTrip",
    "Waypoints",
    "road_path",
]


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
        # The story so far: its phases, the motion's knots, the driven path, and what else was told.
        self._phases: list[Phase] = []
        self._knots: list[Knots] = []
        self._path: list[Path] = [Path(np.zeros(1), np.array([self._lat]), np.array([self._lng]))]
        self._blackouts: list[tuple[float, float]] = []
        self._outliers: list[Outlier] = []
        self._refuels: list[Refuel] = []
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
        self._phases.append(Phase(t0, t0 + seconds, False, ignition, jitter_m, self._lat, self._lng))
        self._knots.append(Knots.stand(t0, self._dist, ignition=ignition))
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
        self._outliers.append(Outlier(at, km, b))
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
        self._refuels.append(Refuel(start, end, litres, ph.lat, ph.lng))
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
        more is a true parking, engine running or not (:mod:`~fleet_reports.sim.truth`). ``duration_s``
        makes the drive take exactly that long (halts included) by slowing or speeding the
        stretches; it raises ValueError when that is impossible.
        """
        pts = as_points(waypoints)
        if geo.distance_m(self._lat, self._lng, float(pts[0, 0]), float(pts[0, 1])) > 0.5:
            pts = np.vstack(([[self._lat, self._lng]], pts))
        if pts.shape[0] < 2:
            raise ValueError("a drive needs somewhere to go")
        if road:
            lat, lng = road_path(pts, seed=int(self._rng.integers(2**62)), wiggle=wiggle)
        else:
            lat, lng = pts[:, 0].copy(), pts[:, 1].copy()
        lat[0], lng[0] = self._lat, self._lng
        lat, lng, ps = densify(lat, lng, PATH_SPACING_M)
        total = float(ps[-1])
        if total < 1.0:
            raise ValueError("a drive needs somewhere to go")
        halt_list = [float(halt_s)] * halts if isinstance(halt_s, (int, float)) else [float(h) for h in halt_s]
        if len(halt_list) != halts:
            raise ValueError("halt_s must be one value or one per halt")
        if any(not 0 < h < math.inf for h in halt_list):
            raise ValueError("each halt must last a positive, finite time")
        if cruise_kmh < 2 * IDLE_SPEED_KMH:
            raise ValueError("cruise_kmh must be at least 6 km/h")
        plan = SpeedPlan.plan(total, cruise_kmh, halt_list, duration_s, variation, self._rng)
        knots, halt_spans = plan.knots(self._clock, self._dist)
        self._halts.extend(halt_spans)
        self._phases.append(Phase(self._clock, float(knots.t[-1]), True, True, self.gps_sigma_m, 0.0, 0.0))
        self._knots.append(knots)
        self._clock = float(knots.t[-1])
        self._dist = float(knots.s[-1])
        self._path.append(Path(self._dist - total + ps[1:], lat[1:], lng[1:]))
        self._lat, self._lng = float(lat[-1]), float(lng[-1])
        return self

    # -- build ---------------------------------------------------------------------------

    def _ms(self, seconds: float) -> int:
        return self.start_ms + round(seconds * 1000.0)

    def _logger(self) -> Logger:
        return Logger(
            start_ms=self.start_ms,
            interval_s=self.interval_s,
            jitter_s=self.jitter_s,
            park_every=self.park_every,
            halt_interval_s=self.halt_interval_s,
            sleep_when_standing=self.sleep_when_standing,
            noise=self.noise,
            gps_sigma_m=self.gps_sigma_m,
        )

    def build(self) -> tuple[Track, Truth]:
        """The fixes from ``start_ms`` up to (excluding) the current clock, and the truth."""
        rng = np.random.default_rng([self.seed, 0x5EED])
        names = tuple(s.input_name for s in self.sensors)
        end = self._clock
        if end <= 0 or not self._phases:
            return Track.empty(names), Truth([], [], [], ignition_aware=self.ignition)
        motion = Motion(Knots.concat(self._knots), Path.concat(self._path))
        stills = Stills.of(self._phases, self._halts, ignition_aware=self.ignition)
        logger = self._logger()
        gaps = logger.gap_windows(self._blackouts, end)
        fixes = logger.sample(rng, self._phases, stills, motion, end, gaps)
        seen = logger.read(rng, fixes, gaps)
        sensors, refuels = sensor_values(
            self.sensors, self._refuels, fixes, motion.knots, rng, noise=self.noise, start_ms=self.start_ms
        )
        n = fixes.t_ms.shape[0]
        track = Track(
            t=fixes.t_ms,
            lat=seen.lat,
            lng=seen.lng,
            speed=seen.speed if self.report_speed else np.full(n, np.nan).astype(np.float32),
            heading=seen.heading,
            alt=seen.alt,
            satellites=seen.satellites,
            hdop=seen.hdop,
            odometer=(
                self.odometer_km + fixes.state.s / 1000.0 if self.odometer_km is not None else np.full(n, np.nan)
            ),
            ignition=(fixes.ignition.astype(np.int8) if self.ignition else np.full(n, -1, np.int8)),
            sensors=sensors,
        )
        truth = derive_truth(track, fixes.tr, fixes.state, stills, self.ignition, gaps, motion.at)
        truth.gaps = [(a, b) for a, b in gaps]
        truth.halts = [(self._ms(a), self._ms(b)) for a, b in self._halts]
        truth.refuels = refuels
        track, truth.outliers = logger.insert_outliers(track, self._outliers, gaps)
        return track, truth
