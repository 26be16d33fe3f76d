"""How a simulated vehicle moves: the story's phases, the motion's knots and the driven path.

The motion is continuous and exact. Between two *knots* the vehicle moves with constant
acceleration (:class:`Knots`), along a dense polyline (:class:`Path`) indexed by the distance
driven, so the true distance, speed, position and heading are known at any instant
(:meth:`Motion.at`). A drive's knots come from a speed profile (:class:`SpeedPlan`): speed limits
by road class, acceleration and braking limits, halts at lights and in queues.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fleet_reports.sim import geo
from fleet_reports.sim.roads import solve

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

ACCEL_MS2 = 1.1  # comfortable acceleration
DECEL_MS2 = 1.5  # comfortable braking
SPEED_NODE_M = 100.0  # resolution of a drive's speed profile
EPS_S = 1e-6
_ROAD_CLASSES = np.array([0.45, 0.6, 0.75, 0.9, 1.0])


@dataclass(frozen=True)
class Phase:
    """One step of the story: standing (parked, idling, a parked signal loss) or driving."""

    t0: float  # seconds from the scenario start
    t1: float
    drive: bool
    ignition: bool
    jitter_m: float
    lat: float  # where a stand phase stands
    lng: float


@dataclass(frozen=True)
class Knots:
    """Knots of the motion: from each knot to the next the vehicle moves with constant
    acceleration ``a`` (zero while it stands)."""

    t: F64  # seconds from the scenario start
    s: F64  # distance driven (m)
    v: F64  # speed (m/s)
    a: F64  # acceleration (m/s^2) until the next knot
    ignition: Bool

    @staticmethod
    def stand(t0: float, s0: float, *, ignition: bool) -> Knots:
        """The single knot of a stand phase starting at ``t0``."""
        return Knots(np.array([t0]), np.array([s0]), np.zeros(1), np.zeros(1), np.array([ignition]))

    @staticmethod
    def concat(parts: Sequence[Knots]) -> Knots:
        return Knots(
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.s for p in parts]),
            np.concatenate([p.v for p in parts]),
            np.concatenate([p.a for p in parts]),
            np.concatenate([p.ignition for p in parts]),
        )

    def at(self, times: F64) -> tuple[I64, F64, F64]:
        """The knot in force, the distance driven and the speed at the given times."""
        kt, ks, kv, ka = self.t, self.s, self.v, self.a
        k = np.clip(np.searchsorted(kt, times + EPS_S, side="right") - 1, 0, kt.shape[0] - 1)
        tau = np.maximum(times - kt[k], 0.0)
        s = ks[k] + kv[k] * tau + 0.5 * ka[k] * tau * tau
        nxt = np.minimum(k + 1, kt.shape[0] - 1)
        s = np.clip(s, ks[k], np.maximum(ks[nxt], ks[k]))
        v = np.maximum(kv[k] + ka[k] * tau, 0.0)
        return k, s, v


@dataclass(frozen=True)
class Path:
    """The driven polyline: the distance along it at each vertex, and the vertices."""

    s: F64
    lat: F64
    lng: F64

    @staticmethod
    def concat(parts: Sequence[Path]) -> Path:
        return Path(
            np.concatenate([p.s for p in parts]),
            np.concatenate([p.lat for p in parts]),
            np.concatenate([p.lng for p in parts]),
        )


@dataclass
class State:
    """The true state at given times: knot index, distance, speed, position, heading."""

    k: I64
    s: F64
    v: F64
    lat: F64
    lng: F64
    heading: F64


@dataclass(frozen=True)
class Motion:
    """The whole motion of a scenario: its knots along its path."""

    knots: Knots
    path: Path

    def at(self, times: F64) -> State:
        """The true state at the given times (seconds from the scenario start)."""
        k, s, v = self.knots.at(times)
        ps, plat, plng = self.path.s, self.path.lat, self.path.lng
        lat = np.interp(s, ps, plat)
        lng = np.interp(s, ps, plng)
        if ps.shape[0] >= 2:
            j = np.clip(np.searchsorted(ps, s, side="left") - 1, 0, ps.shape[0] - 2)
            heading = geo.bearing_deg(plat[j], plng[j], plat[j + 1], plng[j + 1])
        else:
            heading = np.zeros_like(times)
        return State(k, s, v, lat, lng, heading)


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


@dataclass(frozen=True)
class SpeedPlan:
    """A drive's speed profile: node times (moving only), distances and speeds, and the nodes
    where it halts for ``halt_s`` seconds each."""

    t: F64
    s: F64
    v: F64
    halt_nodes: I64
    halt_s: tuple[float, ...]
    duration_s: float | None

    @staticmethod
    def plan(
        total: float,
        cruise_kmh: float,
        halt_s: Sequence[float],
        duration_s: float | None,
        variation: float,
        rng: np.random.Generator,
    ) -> SpeedPlan:
        """The profile of a drive of ``total`` metres (see :meth:`Scenario.drive`)."""
        halt_list = list(halt_s)
        n_nodes = max(3, math.ceil(total / SPEED_NODE_M) + 1)
        s = np.linspace(0.0, total, n_nodes)
        cruise = cruise_kmh / 3.6
        floor = max(5.0 / 3.6, min(0.25 * cruise, cruise))
        m = _road_classes(s, total, variation, rng) if variation > 0 else np.ones(n_nodes)
        halt_nodes = _halt_nodes(n_nodes, len(halt_list), rng)
        stop_idx = np.array([0, n_nodes - 1, *halt_nodes.tolist()], np.int64)

        def moving_time(q: float, k: float = 1.0) -> float:
            v = _profile(s, np.maximum(floor, k * cruise * m**q), stop_idx)
            return float(_segment_times(s, v).sum())

        q, k = 2.0 * variation, 1.0
        if duration_s is not None:
            q, k = _fit_duration(moving_time, duration_s - sum(halt_list))
        v = _profile(s, np.maximum(floor, k * cruise * m**q), stop_idx)
        dt = _segment_times(s, v)
        if duration_s is not None:
            f = (duration_s - sum(halt_list)) / float(dt.sum())
            dt *= f
            v /= f
        t = np.concatenate(([0.0], np.cumsum(dt)))
        return SpeedPlan(t, s, v, halt_nodes, tuple(halt_list), duration_s)

    def knots(self, t0: float, s0: float) -> tuple[Knots, list[tuple[float, float]]]:
        """The drive's knots when it starts at time ``t0`` having driven ``s0``, and its halts
        as (start, end) in seconds from the scenario start."""
        n = self.s.shape[0]
        reps = np.ones(n, np.int64)
        reps[self.halt_nodes] = 2
        idx = np.repeat(np.arange(n), reps)
        add = np.zeros(idx.shape[0])
        second = np.flatnonzero(np.diff(idx) == 0) + 1
        add[second] = list(self.halt_s)
        kt = t0 + self.t[idx] + np.cumsum(add)
        if self.duration_s is not None:
            kt[-1] = t0 + self.duration_s
        ks = s0 + self.s[idx]
        kv = self.v[idx]
        span = np.diff(kt)
        ka = np.zeros(kt.shape[0])
        ka[:-1] = np.where(span > 0, np.diff(kv) / np.where(span > 0, span, 1.0), 0.0)
        halts = []
        for j, h in enumerate(self.halt_s):
            start = float(kt[second[j] - 1])
            halts.append((start, start + h))
        return Knots(kt, ks, kv, ka, np.ones(kt.shape[0], np.bool_)), halts


def _road_classes(s: F64, total: float, variation: float, rng: np.random.Generator) -> F64:
    """Each node's share of the cruise speed: road classes in stretches of 1.5-7 km, town at
    both ends, the longest inner stretch fast, a gentle wobble; the fastest node 1."""
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
        m[s.shape[0] // 2] = 1.0
    wobble = np.sin(2 * math.pi * s / rng.uniform(1500, 3000) + rng.uniform(0, 2 * math.pi))
    m = m * (1.0 - 0.03 * (1.0 + wobble))
    m /= m.max()
    out: F64 = m
    return out


def _halt_nodes(n_nodes: int, halts: int, rng: np.random.Generator) -> I64:
    """The nodes of ``halts`` halts inside the drive, never on neighbouring nodes (there must be
    motion between); none without halts."""
    if not halts:
        return np.empty(0, np.int64)
    lo, hi = max(2, int(0.1 * n_nodes)), min(n_nodes - 3, int(0.9 * n_nodes))
    room = hi - lo + 1 - (halts - 1)
    if room < halts:
        raise ValueError("the drive is too short for that many halts")
    pick = np.sort(rng.choice(room, halts, replace=False))
    out: I64 = (lo + pick + np.arange(halts)).astype(np.int64)
    return out


def _fit_duration(moving_time: Callable[..., float], target: float) -> tuple[float, float]:
    """(q, k) of the speeds ``k * cruise * m**q`` that drive in ``target`` seconds of motion:
    q spreads the road classes out (slower), k scales them all (faster, with q = 0)."""
    if target <= 0:
        raise ValueError("duration_s must exceed the halts")
    if moving_time(0.0) > target:
        if moving_time(0.0, 4.0) > target:
            raise ValueError("the drive cannot be that fast")
        return 0.0, 1.0 / solve(lambda x: moving_time(0.0, 1.0 / x), target, 0.25, 1.0, tol=1e-3)
    if moving_time(12.0) < target:
        raise ValueError("the drive cannot be that slow; add halts")
    return solve(moving_time, target, 0.0, 12.0, tol=1e-3), 1.0
