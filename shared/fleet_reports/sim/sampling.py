"""The logger: when a simulated device records a fix, and what the fix reports.

:class:`Logger` holds the device's sampling settings. :meth:`Logger.sample` picks the fix times
(the driving grid, thinned while the vehicle stands, jittered, minus the signal losses) and the
true state there (:class:`Fixes`); :meth:`Logger.read` adds what a receiver gets wrong (GPS
noise, parking jitter, speed, heading and altitude noise, satellites, HDOP) (:class:`Readings`);
:meth:`Logger.insert_outliers` adds the wild fixes the story told.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.model import Track
from fleet_reports.sim import geo
from fleet_reports.sim.motion import EPS_S, Motion, Phase, State
from fleet_reports.sim.truth import IDLE_SPEED_KMH, STILL_EPS_S, Stills, inside

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]

SLEEP_AFTER_S = 60.0  # a parked device keeps the full rate this long before it slows down
WHITE_NOISE_S = 10.0  # sampled more often, fixes share part of their GPS error (see _noise)


class Outlier(NamedTuple):
    """A wild fix told by :meth:`~fleet_reports.sim.drive.Scenario.outlier`."""

    at: float  # seconds from the scenario start
    km: float  # how far from the fix before it
    bearing: float


@dataclass(frozen=True)
class Fixes:
    """The sampled fix times and the truth there."""

    t_ms: I64
    tr: F64  # the same times in seconds from the scenario start
    state: State
    standing: Bool  # inside a true standstill (its ends included)
    ignition: Bool  # the internal ignition state (reported or not)
    driving: Bool  # in a drive phase (a halt inside a drive included)
    jitter_m: F64  # the phase's parking jitter (sigma)


@dataclass(frozen=True)
class Readings:
    """What the device reports at each fix, noise included."""

    lat: F64
    lng: F64
    speed: F32
    heading: F32
    alt: F32
    satellites: I8
    hdop: F32


@dataclass(frozen=True)
class Logger:
    """How the device samples (see :class:`~fleet_reports.sim.drive.Scenario` for the options)."""

    start_ms: int
    interval_s: float
    jitter_s: float
    park_every: int  # ignition-off stand phases keep every park_every-th tick after SLEEP_AFTER_S
    halt_interval_s: float | None
    sleep_when_standing: bool
    noise: bool
    gps_sigma_m: float

    def ms(self, seconds: float) -> int:
        """Seconds from the scenario start -> UTC epoch ms."""
        return self.start_ms + round(seconds * 1000.0)

    def gap_windows(self, blackouts: Sequence[tuple[float, float]], end: float) -> list[tuple[int, int]]:
        """Signal losses clipped to the scenario and merged, in ms."""
        spans = sorted((max(0.0, a), min(end, b)) for a, b in blackouts if b > 0 and a < end)
        merged: list[tuple[float, float]] = []
        for a, b in spans:
            if b <= a:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return [(self.ms(a), self.ms(b)) for a, b in merged]

    # -- when ----------------------------------------------------------------------------

    def sample(
        self,
        rng: np.random.Generator,
        phases: Sequence[Phase],
        stills: Stills,
        motion: Motion,
        end: float,
        gaps: list[tuple[int, int]],
    ) -> Fixes:
        """The fix times up to (excluding) ``end`` seconds, outside the signal losses ``gaps``,
        with the true state there."""
        p_t0 = np.array([p.t0 for p in phases])
        p_drive = np.array([p.drive for p in phases])
        p_ign = np.array([p.ignition for p in phases])
        p_jit = np.array([p.jitter_m for p in phases])
        k = np.arange(math.ceil(end / self.interval_s - 1e-9), dtype=np.int64)
        grid = k * self.interval_s
        grid = grid[grid < end - EPS_S]
        k = k[: grid.shape[0]]
        if self.park_every > 1:
            g_ph = np.searchsorted(p_t0, grid + EPS_S, side="right") - 1
            asleep = ~p_drive[g_ph] & ~p_ign[g_ph] & (grid - p_t0[g_ph] >= SLEEP_AFTER_S)
            grid = grid[~asleep | (k % self.park_every == 0)]
        if self.halt_interval_s is not None:
            grid = self._halt_grid(grid.astype(np.float64), stills, end, self.halt_interval_s)
        if self.jitter_s > 0:
            u = rng.uniform(0.0, self.jitter_s, grid.shape[0])
            if float(self.interval_s).is_integer():
                u = np.floor(u)
            grid = grid + u
            grid = grid[grid < end - EPS_S]
        t_ms = self.start_ms + np.round(grid * 1000.0).astype(np.int64)
        for a, b in gaps:
            t_ms = t_ms[(t_ms < a) | (t_ms >= b)]
        t_ms = np.unique(t_ms)
        tr = (t_ms - self.start_ms) / 1000.0
        if self.sleep_when_standing:  # it records only while the vehicle moves at 3 km/h or more
            t_ms = t_ms[motion.at(tr).v * 3.6 >= IDLE_SPEED_KMH]
            tr = (t_ms - self.start_ms) / 1000.0

        st = motion.at(tr)
        ph = np.searchsorted(p_t0, tr + EPS_S, side="right") - 1
        # A fix at the very instant of a departure still belongs to the standstill before it.
        ph = np.where(p_drive[ph] & (ph > 0) & (tr - p_t0[ph] < STILL_EPS_S), ph - 1, ph)
        standing = inside(tr, stills.a, stills.b)
        return Fixes(t_ms, tr, st, standing, p_ign[ph], p_drive[ph], p_jit[ph])

    def _halt_grid(self, grid: F64, stills: Stills, end: float, step: float) -> F64:
        """Sampling times with every standstill sampled every ``step`` seconds instead, from its
        first tick of the driving grid."""
        keep = ~inside(grid, stills.a, stills.b)
        first = np.ceil((stills.a - STILL_EPS_S) / self.interval_s) * self.interval_s
        last = np.minimum(stills.b + STILL_EPS_S, end - EPS_S)
        count = np.where(first <= last, np.floor((last - first) / step) + 1, 0).astype(np.int64)
        offsets = np.repeat(np.cumsum(count) - count, count)
        extra = np.repeat(first, count) + (np.arange(int(count.sum())) - offsets) * step
        out: F64 = np.sort(np.concatenate((grid[keep], extra)))
        return out

    # -- what ----------------------------------------------------------------------------

    def read(self, rng: np.random.Generator, fixes: Fixes, gaps: list[tuple[int, int]]) -> Readings:
        """What the device reports at the fixes: GPS noise while moving, jitter (with slow
        wander) while parked, speeds under 1 km/h standing and at least 3 km/h otherwise."""
        st, standing, t_ms = fixes.state, fixes.standing, fixes.t_ms
        n = t_ms.shape[0]
        sigma = np.where(standing & ~fixes.driving, fixes.jitter_m, self.gps_sigma_m) if self.noise else np.zeros(n)
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
        return Readings(
            lat=lat,
            lng=lng,
            speed=speed.astype(np.float32),
            heading=heading.astype(np.float32),
            alt=np.round(alt, 1).astype(np.float32),
            satellites=sats.astype(np.int8),
            hdop=hdop.astype(np.float32),
        )

    # -- outliers --------------------------------------------------------------------------

    def insert_outliers(
        self, track: Track, outliers: Sequence[Outlier], gaps: list[tuple[int, int]]
    ) -> tuple[Track, list[int]]:
        """The track with each wild fix inserted between the fixes around its time, and their times."""
        times: list[int] = []
        for at, km, bearing in outliers:
            at_ms = self.ms(at)
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
