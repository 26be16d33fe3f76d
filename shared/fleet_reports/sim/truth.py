"""The known answer of a scenario: what docs/analytics.md says the engine should find in its fixes.

How the truth is decided. It comes from the story itself, not from the fixes' speeds, so that a
known-answer test never checks the engine against a copy of its own rules (docs/analytics.md,
"Trips and parkings", gives the product's definitions; the thresholds below are its defaults):

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
  the best any method can do: across a signal loss (docs/analytics.md: a gap under ``MAX_GAP_S``
  counts the straight leg; one over it is never distance, as no trip spans it), and across a
  standstill with no fix inside (a logger asleep while standing does not record the vehicle
  rolling into the halt and out of it, perhaps another way). Its max speed is the highest
  *reported* speed of its fixes (the true speed where none is reported). Outlier fixes are not
  part of the truth (cleaning drops them). The smart filter is not applied.

The sampled fixes agree with it: a fix inside a standstill (its ends included) reports under
1 km/h; every other fix reports at least 3 km/h, the idle threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.intervals import runs
from fleet_reports.engine.model import Track
from fleet_reports.sim import geo
from fleet_reports.sim.motion import EPS_S, Phase, State

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
LatLng = tuple[float, float]

# Thresholds of docs/analytics.md (the engine's defaults) that the truth is computed with. (The
# parking radius plays no part: the vehicle never moves during a standstill.)
IDLE_SPEED_KMH = 3.0
MIN_PARKING_S = 300.0
MAX_GAP_S = 3600.0

STILL_EPS_S = 1e-3  # a fix at the instant a standstill begins or ends (to the ms) stands


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
# Standstills
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stills:
    """True standstills in seconds from the scenario start: closed spans, sorted and disjoint."""

    a: F64  # every standstill: stand phases in a row, and halts inside drives
    b: F64
    park_a: F64  # the standstills that may be parkings (all of them)
    park_b: F64
    parking: Bool  # which are: those of >= MIN_PARKING_S, and with ignition any with the ignition off

    @staticmethod
    def of(phases: Sequence[Phase], halts: Sequence[tuple[float, float]], *, ignition_aware: bool) -> Stills:
        """The true standstills of the story (per phase, no fix involved)."""
        stand = np.array([not p.drive for p in phases])
        off = np.array([not p.ignition for p in phases])
        t0 = np.array([p.t0 for p in phases])
        t1 = np.array([p.t1 for p in phases])

        def spans(mask: Bool) -> tuple[F64, F64]:
            """Spans of consecutive phases under ``mask`` (phases follow each other without a break)."""
            first, last = runs(mask)
            return t0[first], t1[last]

        halt_spans = np.array(halts, np.float64).reshape(-1, 2)
        a, b = spans(stand)
        a, b = np.concatenate((a, halt_spans[:, 0])), np.concatenate((b, halt_spans[:, 1]))
        order = np.argsort(a, kind="stable")
        a, b = a[order], b[order]
        long_enough = (b - a) >= MIN_PARKING_S - EPS_S
        if ignition_aware:  # ignition off parks at once, whatever the length
            oa, _ = spans(stand & off)
            held = np.zeros(a.shape[0], np.bool_)
            held[np.searchsorted(a, oa, side="right") - 1] = True  # the standstill holding it
            return Stills(a, b, a, b, long_enough | held)
        return Stills(a, b, a, b, long_enough)


def inside(x: F64, a: F64, b: F64) -> Bool:
    """Which times ``x`` lie in one of the sorted, disjoint closed spans [a, b] (give or take
    ``STILL_EPS_S``: a fix at the instant a standstill begins or ends stands)."""
    j = np.searchsorted(a - STILL_EPS_S, x, side="right") - 1
    out: Bool = (j >= 0) & (x <= b[np.maximum(j, 0)] + STILL_EPS_S) if a.size else np.zeros(x.shape, np.bool_)
    return out


def derive_truth(
    track: Track,
    tr: F64,
    st: State,
    stills: Stills,
    aware: bool,
    gaps: list[tuple[int, int]],
    state_at: Callable[[F64], State],
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
        into = np.searchsorted(tr, stills.a - STILL_EPS_S, side="left")
        seen = into < np.searchsorted(tr, stills.b + STILL_EPS_S, side="right")
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
    first_in = np.searchsorted(tr, stills.park_a - STILL_EPS_S, side="left")
    after = np.searchsorted(tr, stills.park_b + STILL_EPS_S, side="right")
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
        moved_between = state_at(pa[1:]).s - state_at(pb[:-1]).s >= 1.0
        first, last = runs(np.ones(pa.shape[0], np.bool_), moved_between)
        spot = state_at(pa[first])
        parkings = [
            TruthParking(int(t[p_start[i]]), int(t[p_end[j]]), lat, lng)
            for i, j, lat, lng in zip(first.tolist(), last.tolist(), spot.lat.tolist(), spot.lng.tolist(), strict=True)
        ]
    return Truth(trips, parkings, [], ignition_aware=aware)
