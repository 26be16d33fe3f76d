"""Known-answer drives for the engine tests.

A ``Drive`` is built leg by leg with numpy: straight drives at a constant speed, halts (with or
without GPS jitter), data gaps; it records the true trips so tests compare against them
(``from tests.support.drives import Drive``; the builder's own test is tests/unit/test_engine_drives.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fleet_reports.engine.geo import EARTH_RADIUS_M, leg_lengths_m
from fleet_reports.engine.model import Track

T0_MS = 1_601_942_400_000  # 2020-10-06 00:00:00 UTC


@dataclass
class TrueTrip:
    start_ms: int
    end_ms: int
    distance_m: float


@dataclass
class Drive:
    """A simulated drive with known answers. Times in ms; ``step_s`` is the sampling interval."""

    t_ms: int = T0_MS
    lat: float = 55.0
    lng: float = 37.0
    step_s: float = 10.0
    seed: int = 1
    ts: list[np.ndarray] = field(default_factory=list)
    lats: list[np.ndarray] = field(default_factory=list)
    lngs: list[np.ndarray] = field(default_factory=list)
    speeds: list[np.ndarray] = field(default_factory=list)
    ign: list[np.ndarray] = field(default_factory=list)
    trips: list[TrueTrip] = field(default_factory=list)
    _open: TrueTrip | None = None

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def _append(self, t: np.ndarray, lat: np.ndarray, lng: np.ndarray, speed: np.ndarray, ign: int) -> None:
        self.ts.append(t.astype(np.int64))
        self.lats.append(lat)
        self.lngs.append(lng)
        self.speeds.append(speed.astype(np.float32))
        self.ign.append(np.full(t.shape[0], ign, np.int8))
        self.t_ms, self.lat, self.lng = int(t[-1]), float(lat[-1]), float(lng[-1])

    def _offset(self, metres: np.ndarray, bearing_deg: float) -> tuple[np.ndarray, np.ndarray]:
        b = math.radians(bearing_deg)
        dlat = metres * math.cos(b) / EARTH_RADIUS_M
        dlng = metres * math.sin(b) / (EARTH_RADIUS_M * math.cos(math.radians(self.lat)))
        return self.lat + np.degrees(dlat), self.lng + np.degrees(dlng)

    def start(self) -> Drive:
        """Open a true trip at the current fix (the last fix of the parking)."""
        self._open = TrueTrip(self.t_ms, self.t_ms, 0.0)
        return self

    def drive(self, distance_m: float, speed_kmh: float, bearing_deg: float = 0.0) -> Drive:
        """Straight line at constant speed, one fix per step (the true path length is recorded)."""
        v = speed_kmh / 3.6
        n = max(1, math.ceil(distance_m / (v * self.step_s)))
        k = np.arange(1, n + 1, dtype=np.float64)
        along = np.minimum(k * v * self.step_s, distance_m)
        lat, lng = self._offset(along, bearing_deg)
        t = self.t_ms + np.round(along / v * 1000.0)
        prev = (self.lat, self.lng)
        self._append(t, lat, lng, np.full(n, speed_kmh), 1)
        if self._open is not None:
            path = np.concatenate(([prev[0]], lat)), np.concatenate(([prev[1]], lng))
            self._open.distance_m += float(leg_lengths_m(*path).sum())
            self._open.end_ms = self.t_ms
        return self

    def halt(self, seconds: float, jitter_m: float = 0.0, ignition: int = 1, end_trip: bool = False) -> Drive:
        """Standing still for ``seconds`` (fixes every step, speed 0, optional GPS jitter)."""
        if end_trip:
            self.end()
        n = max(1, round(seconds / self.step_s))
        t = self.t_ms + np.round(np.arange(1, n + 1) * self.step_s * 1000.0)
        noise = self.rng.normal(0.0, jitter_m, size=(2, n)) if jitter_m else np.zeros((2, n))
        lat = self.lat + np.degrees(noise[0] / EARTH_RADIUS_M)
        lng = self.lng + np.degrees(noise[1] / (EARTH_RADIUS_M * math.cos(math.radians(self.lat))))
        centre = (self.lat, self.lng)
        self._append(t, lat, lng, np.zeros(n), ignition)
        self.lat, self.lng = centre
        if self._open is not None:
            self._open.end_ms = int(t[0]) if end_trip else self.t_ms
        return self

    def halt_until(self, t_ms: int, jitter_m: float = 0.0, ignition: int = 1) -> Drive:
        """Standing still until exactly ``t_ms`` (fixes every step, the last one at ``t_ms``)."""
        whole = int((t_ms - self.t_ms) // (self.step_s * 1000))
        if whole:
            self.halt(whole * self.step_s, jitter_m, ignition)
        if self.t_ms < t_ms:
            self.step_s, step = (t_ms - self.t_ms) / 1000.0, self.step_s
            self.halt(self.step_s, jitter_m, ignition)
            self.step_s = step
        return self

    def gap(self, seconds: float, move_m: float = 0.0, bearing_deg: float = 0.0) -> Drive:
        """No fixes for ``seconds``; the vehicle may move ``move_m`` meanwhile."""
        if move_m:
            lat, lng = self._offset(np.array([move_m]), bearing_deg)
            self.lat, self.lng = float(lat[0]), float(lng[0])
        self.t_ms += round(seconds * 1000)
        return self

    def end(self) -> Drive:
        if self._open is not None:
            self.trips.append(self._open)
            self._open = None
        return self

    def park(self, seconds: float, jitter_m: float = 0.0, ignition: int = 1) -> Drive:
        """End the true trip at the first parked fix and stand still for ``seconds``."""
        if self._open is not None:
            n0 = len(self.ts)
            self.halt(seconds, jitter_m, ignition)
            self._open.end_ms = int(self.ts[n0][0])
            self.end()
            return self
        return self.halt(seconds, jitter_m, ignition)

    def track(self, *, ignition: bool = False, device_speed: bool = True) -> Track:
        self.end()
        t = np.concatenate(self.ts)
        n = t.shape[0]
        return Track(
            t=t,
            lat=np.concatenate(self.lats),
            lng=np.concatenate(self.lngs),
            speed=np.concatenate(self.speeds) if device_speed else np.full(n, np.nan, np.float32),
            heading=np.full(n, np.nan, np.float32),
            alt=np.full(n, np.nan, np.float32),
            satellites=np.full(n, 9, np.int8),
            hdop=np.full(n, np.nan, np.float32),
            odometer=np.full(n, np.nan),
            ignition=np.concatenate(self.ign) if ignition else np.full(n, -1, np.int8),
        )
