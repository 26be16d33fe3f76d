"""Checker (issue #9): the engine's trips and parkings on the eight real tracks against independent methods.

Run: ``.venv/bin/python bench/bench_real_tracks.py [--track NAME ...] [--verbose]``. ``NAME`` is a row
label of the table (``bus``, ``envirocar-1``, ``envirocar-2``, ``barefoot``, ``70mai``, ``fcd``,
``dg100``, ``sbn``), a source file name, or one vehicle (``bus-4722``, ``fcd-005``); repeatable.
The files are read from ``../shared/data/real-tracks/`` beside the repository (see its SOURCES.md, and
docs/real-tracks.md for how to get them); without them the script says so and exits 0.

Each file goes through the pipeline of tests/unit/test_real_tracks.py: ``convert`` (per-file
kind; the GPX files as they are) -> ``parse_fixes`` (``now_ms`` in 2033, so no fix is "future")
-> ``clean`` -> ``segment`` with the default ``TripSettings``. The 8 buses and 263 floating-car
tracks are analysed one vehicle at a time and summed per file; their worst vehicles are listed.

Independent methods (this file only; nothing of the engine but its output is used for them; the
distances are this file's own haversine on the mean Earth sphere, R = 6,371,008.8 m). All of them
work on the cleaned fixes (the engine's input), so cleaning itself is not judged here.

1. Halts: the stay-point detector of Li et al. (2008). From fix ``i``, the run is the maximal
   sequence of consecutive fixes ``i..j`` all within ``RADIUS_M`` (200 m) of fix ``i``. When
   ``t[j] - t[i] >= MIN_STAY_S`` (300 s) the run is a stay candidate and the scan resumes at
   ``j + 1``; otherwise it resumes at ``i + 1``. Choices beyond the paper:
   - The span is first fix to last fix inside (the paper ends a stay at the first fix outside),
     so a single leg between two fixes <= 200 m apart lasting >= 300 s is a stay by itself: a
     logger that sleeps while the vehicle stands (the DG-100) shows its halts only as such gaps.
   - The candidate's ends are trimmed of driven legs (own implied speed >= 3 km/h, as in 2.): the
     anchor is the first fix within 200 m, often still 30-50 s of driving before the halt. After
     trimming it must still last >= 300 s (else the scan resumes at ``i + 1``).
   - Data gaps: a leg longer than ``MAX_GAP_S`` (1 h, the engine's default ``max_gap``) belongs
     to a stay only when its two ends are within 200 m (the run rule itself: the vehicle was seen
     at the same place before and after, e.g. overnight), and then it is a halt like any other and
     counts in the target. Such stays are also listed apart, since docs/analytics.md (as of the
     committed engine) makes a gap over ``max_gap`` the end of the data: no parking spans it.
   A stay is *matched* when one engine parking overlaps at least ``MATCH_SHARE`` (50 %) of its
   time. An engine parking that is no stay's match and overlaps no stay by 50 % of its own time
   is a possible false parking.
2. Distance: the haversine length of the "driven legs": legs between consecutive cleaned fixes
   whose own implied speed (length / time) is >= ``DRIVEN_KMH`` (3 km/h), that do not span a gap
   > ``MAX_GAP_S`` and are not inside a stay of 1. (both ends in it; the stays over a long gap
   included). Compared with the sum of the engine's trip distances per track; target within 1 %.
   The runs of consecutive legs where the engine (legs inside its trips, the departure leg
   included, as ``cum_distance_m`` counts them) and this method disagree are listed with why.
3. Speeding: the Speed violation plugin's rows (``compute_violations``, what plugin 27 renders)
   with ``min_duration_minutes`` 0 at ``LIMITS_KMH``; a row whose average speed (distance /
   duration) exceeds its maximum speed is a fault (target: none).
4. Peak speed, for the tracks without a device speed (barefoot, floating cars, buses): the highest
   implied speed (straight-line displacement / time) from each fix to the first fix at least
   ``PEAK_WINDOW_S`` (5 s) later; windows holding a hole (a leg longer than 5 s and than
   ``HOLE_FACTOR`` x the track's median leg: missing fixes, e.g. the 8 the cleaning drops after
   the barefoot jump, or a data gap) are skipped. The path speed (sum of legs / time) over the
   same windows is printed beside it. Peaks over ``PLAUSIBLE_KMH`` are marked as GPS errors. With
   a device speed the device's maximum is shown instead. Target: per track, the median over its
   vehicles of engine max / 5 s peak is at least ``PEAK_SHARE`` (0.9); single floating-car peaks
   are often one bad fix, hence the median.
5. Timing: the wall time of the whole run (target: under ``MAX_WALL_S``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from fleet_reports.convert import convert
from fleet_reports.engine.catalog import SpeedingParams
from fleet_reports.engine.clean import clean
from fleet_reports.engine.model import Track, TrackerInfo
from fleet_reports.engine.motion import Segments, TripSettings, segment
from fleet_reports.engine.plugins.common import TrackerData
from fleet_reports.engine.plugins.speeding import compute_violations
from fleet_reports.ingest import parse_fixes

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
T = TypeVar("T")

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real-tracks"
NOW_MS = 2_000_000_000_000  # the "ingestion time" (2033), as in test_real_tracks: every file lies in its past
EARTH_RADIUS_M = 6_371_008.8
RADIUS_M = 200.0
MIN_STAY_S = 300.0
MAX_GAP_S = 3600.0
MATCH_SHARE = 0.5
DRIVEN_KMH = 3.0
DISTANCE_TOLERANCE = 0.01
LIMITS_KMH = (60, 90, 100)
PEAK_WINDOW_S = 5.0
PEAK_SHARE = 0.9
HOLE_FACTOR = 3.0
PLAUSIBLE_KMH = 200.0  # a road vehicle's 5 s peak above this is taken for a GPS error
MIN_RUN_M = 20.0  # leg disagreements listed from this size
MAX_WALL_S = 120.0
WORST = 5  # vehicles listed per multi-vehicle file

# Row label, kind ("" = imported as it is), file; the multi-vehicle files are summed per row.
SOURCES = (
    ("bus", "liverpool_bus_csv", "mpex_route14_outbound.csv"),
    ("envirocar-1", "envirocar_geojson", "envirocar_track_1.json"),
    ("envirocar-2", "envirocar_geojson", "envirocar_track_2.json"),
    ("barefoot", "barefoot_json", "barefoot_x0001-001.json"),
    ("70mai", "seventymai_txt", "gpsbabel_GPSData000001-A810-Doriel.txt"),
    ("fcd", "fcd_points_csv", "mm2fcd_points.csv"),
    ("dg100", "", "gpsbabel_dg100.gpx"),
    ("sbn", "", "gpsbabel_sbn-v13.gpx"),
)


# --------------------------------------------------------------------------------------------
# Independent geometry and stay points (no engine code)


def haversine(lat1: F64, lng1: F64, lat2: F64, lng2: F64) -> F64:
    """Great-circle distance in metres, element-wise, points in degrees."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lng2 - lng1) / 2.0) ** 2
    out: F64 = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


@dataclass(frozen=True)
class Stay:
    first: int  # fix indices, inclusive
    last: int
    start_ms: int
    end_ms: int
    over_long_gap: bool  # holds a leg longer than MAX_GAP_S

    @property
    def minutes(self) -> float:
        return (self.end_ms - self.start_ms) / 60_000.0


def run_end(lat: F64, lng: F64, i: int) -> int:
    """The last fix of the run from ``i``: consecutive fixes all within RADIUS_M of fix ``i``."""
    n = int(lat.shape[0])
    j, chunk = i + 1, 16
    while j < n:
        hi = min(n, j + chunk)
        d = haversine(np.full(hi - j, lat[i]), np.full(hi - j, lng[i]), lat[j:hi], lng[j:hi])
        out = np.flatnonzero(d > RADIUS_M)
        if out.size:
            return j + int(out[0]) - 1  # the fix before the first one outside
        j, chunk = hi, chunk * 2
    return n - 1


def stay_points(t: I64, lat: F64, lng: F64) -> list[Stay]:
    """Li et al. (2008) stay points, ended at the last fix inside (see the module docstring)."""
    n = t.shape[0]
    stays: list[Stay] = []
    long_gap = np.diff(t) > MAX_GAP_S * 1000.0
    gaps_before = np.concatenate(([0], np.cumsum(long_gap)))  # long gaps among legs 0..k-1
    min_ms = MIN_STAY_S * 1000.0
    legs = haversine(lat[:-1], lng[:-1], lat[1:], lng[1:])
    dt_s = np.diff(t).astype(np.float64) / 1000.0
    moving = legs * 3.6 >= DRIVEN_KMH * dt_s  # leg k: its own implied speed >= 3 km/h
    i = 0
    while i < n - 1:
        j = run_end(lat, lng, i)
        if j > i and t[j] - t[i] >= min_ms:
            a, b = i, j
            while a < b and moving[a]:  # arrival: drop the legs still driven inside the radius
                a += 1
            while b > a and moving[b - 1]:  # departure: likewise
                b -= 1
            if t[b] - t[a] >= min_ms:
                stays.append(Stay(a, b, int(t[a]), int(t[b]), bool(gaps_before[b] - gaps_before[a] > 0)))
                i = j + 1
                continue
        i += 1
    return stays


def driven_legs(t: I64, lat: F64, lng: F64, stays: list[Stay]) -> tuple[Bool, F64]:
    """Which legs are driven (see 2. in the module docstring), and every leg's length."""
    legs = haversine(lat[:-1], lng[:-1], lat[1:], lng[1:])
    dt_s = np.diff(t).astype(np.float64) / 1000.0
    kmh = np.divide(legs * 3.6, dt_s, out=np.full_like(legs, np.inf), where=dt_s > 0)
    driven = (kmh >= DRIVEN_KMH) & (dt_s <= MAX_GAP_S)
    inside = np.zeros(legs.shape[0] + 1, np.int64)
    for s in stays:
        inside[s.first] += 1
        inside[s.last] -= 1  # legs first .. last - 1
    driven &= np.cumsum(inside[:-1]) == 0
    return driven, legs


def peak_speeds(t: I64, lat: F64, lng: F64) -> tuple[float, int, float]:
    """Highest implied speed (straight-line displacement / time) over windows of >= PEAK_WINDOW_S,
    km/h, the fix it starts at, and the highest path speed (sum of the window's legs / time) over
    the same windows, which GPS jitter inflates. A window holding a hole (a leg longer than both
    PEAK_WINDOW_S and HOLE_FACTOR times the track's median leg) is skipped: there the fixes are
    missing (a data gap, or fixes the cleaning dropped) and the straight leg is no measurement."""
    n = t.shape[0]
    if n < 2:
        return 0.0, -1, 0.0
    legs = haversine(lat[:-1], lng[:-1], lat[1:], lng[1:])
    dt = np.diff(t)
    hole = dt > max(PEAK_WINDOW_S * 1000.0, HOLE_FACTOR * float(np.median(dt)))
    cum = np.concatenate(([0.0], np.cumsum(legs)))
    holes = np.concatenate(([0], np.cumsum(hole)))
    i = np.arange(n)
    j = np.searchsorted(t, t + int(PEAK_WINDOW_S * 1000), side="left")
    ok = j < n
    i, j = i[ok], j[ok]
    ok = holes[j] == holes[i]
    i, j = i[ok], j[ok]
    if i.size == 0:
        return 0.0, -1, 0.0
    span_h = (t[j] - t[i]).astype(np.float64) / 3.6e6
    path = (cum[j] - cum[i]) / 1000.0 / span_h
    chord = haversine(lat[i], lng[i], lat[j], lng[j]) / 1000.0 / span_h
    k = int(np.argmax(chord))
    return float(chord[k]), int(i[k]), float(path.max())


@dataclass(frozen=True)
class LegRun:
    """Consecutive legs the engine counts differently from the driven legs of 2."""

    first_ms: int
    last_ms: int
    delta_m: float  # engine minus independent
    why: str


def leg_disagreements(seg: Segments, legs: F64, driven: Bool, stays: list[Stay]) -> list[LegRun]:
    """Runs of consecutive legs where the engine's counted distance (legs inside its trips, the
    departure leg included) differs from the driven legs by more than a metre each."""
    n = seg.t.shape[0]
    if n < 2:
        return []
    trips = seg.trips
    mark = np.zeros(n + 1, np.int64)
    np.add.at(mark, np.maximum(trips.start_idx - 1, 0), 1)
    np.add.at(mark, trips.end_idx, -1)
    in_trip = np.cumsum(mark[:-1])[:-1] > 0  # leg k from fix k to k + 1
    engine = np.where(in_trip, np.diff(seg.cum_distance_m), 0.0)
    delta = engine - np.where(driven, legs, 0.0)
    sign = np.where(delta > 1.0, 1, np.where(delta < -1.0, -1, 0))
    in_stay = np.zeros(n, np.int64)
    for s in stays:
        in_stay[s.first] += 1
        in_stay[s.last] -= 1
    stayed = np.cumsum(in_stay)[:-1] > 0
    dt_s = np.diff(seg.t).astype(np.float64) / 1000.0
    slow = legs * 3.6 < DRIVEN_KMH * dt_s
    runs: list[LegRun] = []
    k = 0
    while k < sign.shape[0]:
        if sign[k] == 0:
            k += 1
            continue
        e = k
        while e + 1 < sign.shape[0] and sign[e + 1] == sign[k]:
            e += 1
        part = slice(k, e + 1)
        if sign[k] > 0:
            reasons = [
                ("inside a stay", bool(stayed[part].any())),
                ("legs < 3 km/h", bool((slow[part] & ~stayed[part]).any())),
                (f"gap > {MAX_GAP_S / 3600:.0f} h", bool((dt_s[part] > MAX_GAP_S).any())),
            ]
            why = "engine counts " + ", ".join(r for r, on in reasons if on)
        elif not in_trip[part].all():
            why = "driven legs outside every engine trip"
        else:
            why = "driven legs the engine does not count (its fixes standing)"
        runs.append(LegRun(int(seg.t[k]), int(seg.t[e + 1]), float(delta[part].sum()), why))
        k = e + 1
    return runs


# --------------------------------------------------------------------------------------------
# One vehicle through the engine, and the comparisons


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000.0, UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class SpeedFault:
    vehicle: str
    limit: int
    start_ms: int
    end_ms: int
    avg_kmh: float
    max_kmh: float
    distance_m: float


@dataclass
class Vehicle:
    """One vehicle's figures."""

    name: str
    fixes: int
    device_speed: bool
    stays: list[Stay]
    shares: list[tuple[float, float]]  # per stay: best single engine parking overlap, engine trip overlap
    false_parkings: list[tuple[int, int]]  # engine parkings (start, end ms) matching no stay
    parkings: int
    trips: int
    engine_km: float
    driven_km: float
    engine_max_kmh: float
    peak_kmh: float  # device maximum, or the implied (chord) speed over >= 5 s windows
    peak_at_ms: int
    path_kmh: float  # the path speed over the same windows (NaN with a device speed)
    violations: dict[int, int]
    faults: list[SpeedFault]
    leg_runs: list[LegRun]

    @property
    def matched(self) -> list[bool]:
        return [p >= MATCH_SHARE for p, _ in self.shares]

    @property
    def rel_diff(self) -> float:
        return relative(self.engine_km, self.driven_km)


def relative(engine: float, reference: float) -> float:
    if reference <= 0:
        return 0.0 if engine <= 0 else math.inf
    return engine / reference - 1.0


def overlap(a0: int, a1: int, b0: I64, b1: I64) -> I64:
    out: I64 = np.maximum(0, np.minimum(a1, b1) - np.maximum(a0, b0))
    return out


def compare_halts(stays: list[Stay], seg: Segments) -> tuple[list[tuple[float, float]], list[tuple[int, int]]]:
    """Each stay's best overlap share with one engine parking and its share inside engine trips;
    and the engine parkings that match no stay."""
    p0, p1 = seg.parkings.start_ms, seg.parkings.end_ms
    shares: list[tuple[float, float]] = []
    used = np.zeros(p0.shape[0], np.bool_)
    for s in stays:
        length = max(1, s.end_ms - s.start_ms)
        share = overlap(s.start_ms, s.end_ms, p0, p1) / length
        in_trips = float(overlap(s.start_ms, s.end_ms, seg.trips.start_ms, seg.trips.end_ms).sum()) / length
        hit = share >= MATCH_SHARE
        shares.append((float(share.max()) if share.size else 0.0, in_trips))
        used |= hit
    s0 = np.array([s.start_ms for s in stays], np.int64)
    s1 = np.array([s.end_ms for s in stays], np.int64)
    false: list[tuple[int, int]] = []
    for k in range(p0.shape[0]):
        a, b = int(p0[k]), int(p1[k])
        covered = bool((overlap(a, b, s0, s1) >= MATCH_SHARE * max(1, b - a)).any()) if s0.size else False
        if not used[k] and not covered:
            false.append((a, b))
    return shares, false


def speed_faults(name: str, kept: Track, settings: TripSettings) -> tuple[dict[int, int], list[SpeedFault]]:
    data = TrackerData(TrackerInfo(1, name), settings, kept)
    counts: dict[int, int] = {}
    faults: list[SpeedFault] = []
    for limit in LIMITS_KMH:
        params = SpeedingParams(plugin_id=27, max_speed=limit, min_duration_minutes=0)
        v = compute_violations(params, float(limit), data, None)
        counts[limit] = len(v)
        avg, top = v.avg_speed_kmh, v.max_speed_kmh
        for k in np.flatnonzero(avg > top + 1e-6).tolist():
            faults.append(
                SpeedFault(
                    name,
                    limit,
                    int(v.start_ms[k]),
                    int(v.end_ms[k]),
                    float(avg[k]),
                    float(top[k]),
                    float(v.distance_m[k]),
                )
            )
    return counts, faults


def analyse_vehicle(name: str, track: Track) -> Vehicle:
    settings = TripSettings()
    kept, _ = clean(track, max_implied_speed_kmh=settings.max_implied_speed_kmh, now_ms=NOW_MS)
    seg = segment(kept, settings)
    t, lat, lng = kept.t, kept.lat, kept.lng
    stays = stay_points(t, lat, lng)
    shares, false = compare_halts(stays, seg)
    driven, legs = driven_legs(t, lat, lng, stays)
    device = bool(np.isfinite(kept.speed).any())
    if device:
        peak, at, path = float(np.nanmax(kept.speed)), int(np.nanargmax(kept.speed)), math.nan
    else:
        peak, at, path = peak_speeds(t, lat, lng)
    counts, faults = speed_faults(name, kept, settings)
    trips = seg.trips
    return Vehicle(
        name=name,
        fixes=len(kept),
        device_speed=device,
        stays=stays,
        shares=shares,
        false_parkings=false,
        parkings=len(seg.parkings),
        trips=len(trips),
        engine_km=float(trips.distance_m.sum()) / 1000.0,
        driven_km=float(legs[driven].sum()) / 1000.0,
        engine_max_kmh=float(trips.max_speed_kmh.max()) if len(trips) else 0.0,
        peak_kmh=peak,
        peak_at_ms=int(t[at]) if at >= 0 else 0,
        path_kmh=path,
        violations=counts,
        faults=faults,
        leg_runs=leg_disagreements(seg, legs, driven, stays),
    )


def vehicles_of(label: str, kind: str, name: str, wanted: set[str] | None) -> Iterator[tuple[str, Track]]:
    """Each vehicle of one source file (named by its converted file, or by ``label`` when alone)."""
    data = (REAL / name).read_bytes()
    files = convert(kind, data) if kind else {name: data}
    for file, content in files.items():
        vehicle = Path(file).stem if len(files) > 1 else label
        if wanted is not None and vehicle not in wanted and len(files) > 1:
            continue
        yield vehicle, parse_fixes(content, file, now_ms=NOW_MS).track


# --------------------------------------------------------------------------------------------
# Report


@dataclass
class Row:
    label: str
    vehicles: list[Vehicle] = field(default_factory=list)

    def total(self, attr: str) -> float:
        return float(sum(getattr(v, attr) for v in self.vehicles))

    @property
    def stays(self) -> list[tuple[str, Stay, bool]]:
        return [(v.name, s, m) for v in self.vehicles for s, m in zip(v.stays, v.matched, strict=True)]

    @property
    def engine_max(self) -> float:
        return max((v.engine_max_kmh for v in self.vehicles), default=0.0)

    @property
    def peak_ratios(self) -> list[float]:
        """Engine max / independent 5 s peak of the vehicles without device speed that have a
        trip and a plausible peak."""
        return [
            v.engine_max_kmh / v.peak_kmh
            for v in self.vehicles
            if not v.device_speed and v.trips and 0 < v.peak_kmh <= PLAUSIBLE_KMH
        ]

    @property
    def peak(self) -> Vehicle | None:
        return max(self.vehicles, key=lambda v: v.peak_kmh, default=None)


def fmt_pct(x: float) -> str:
    return f"{x * 100:+.2f} %" if math.isfinite(x) else "inf"


def print_table(rows: list[Row]) -> None:
    limits = "/".join(str(x) for x in LIMITS_KMH)
    print(
        "| track | veh | fixes | trips | parkings | stays (gap>1h) | matched | unmatched | false parkings "
        f"| engine km | driven km | diff | violations {limits} | avg>max {limits} | engine max | peak >=5 s (path) |"
    )
    print("|---|" + "---:|" * 15)
    for r in rows:
        stays = r.stays
        gap = sum(s.over_long_gap for _, s, _ in stays)
        matched = sum(m for _, _, m in stays)
        falses = sum(len(v.false_parkings) for v in r.vehicles)
        eng, drv = r.total("engine_km"), r.total("driven_km")
        viol = "/".join(str(sum(v.violations[x] for v in r.vehicles)) for x in LIMITS_KMH)
        faults = "/".join(str(sum(f.limit == x for v in r.vehicles for f in v.faults)) for x in LIMITS_KMH)
        p = r.peak
        if p is None:
            peak = "-"
        elif p.device_speed:
            peak = f"{p.peak_kmh:.1f} (device)"
        else:
            peak = f"{p.peak_kmh:.1f} ({p.path_kmh:.1f})"
        print(
            f"| {r.label} | {len(r.vehicles)} | {int(r.total('fixes'))} | {int(r.total('trips'))} "
            f"| {int(r.total('parkings'))} | {len(stays)} ({gap}) | {matched} | {len(stays) - matched} | {falses} "
            f"| {eng:.2f} | {drv:.2f} | {fmt_pct(relative(eng, drv))} | {viol} | {faults} "
            f"| {r.engine_max:.1f} | {peak} |"
        )


def shown(items: list[T], verbose: bool, limit: int) -> tuple[list[T], str]:
    """The items to print, and a line saying how many were left out."""
    if verbose or len(items) <= limit:
        return items, ""
    return items[:limit], f"- ... and {len(items) - limit} more (--verbose lists them)"


def listed(items: list[T], verbose: bool, line: Callable[[T], str], label: str) -> list[str]:
    """The lines of the items to print (the worst WORST unless verbose), and how many were left out."""
    some, more = shown(items, verbose, WORST)
    out = [line(item) for item in some]
    if more:
        out.append(more.replace("more", f"more in {label}"))
    return out


def print_list(title: str, lines: list[str], verbose: bool, limit: int) -> None:
    print(f"\n## {title}")
    some, more = shown(lines, verbose, limit)
    for line in some or ["- none"]:
        print(line)
    if more:
        print(more)


def print_problems(rows: list[Row], verbose: bool) -> None:
    vehicles = [v for r in rows for v in r.vehicles]
    unmatched = [
        f"- {v.name}: {utc(s.start_ms)} -> {utc(s.end_ms)} UTC, {s.minutes:.1f} min "
        f"(best parking overlap {share:.0%}, inside engine trips {trips:.0%})"
        f"{' [over a data gap > max_gap]' if s.over_long_gap else ''}"
        for v in vehicles
        for s, (share, trips) in zip(v.stays, v.shares, strict=True)
        if share < MATCH_SHARE
    ]
    print_list("Halts of >= 5 min with no engine parking over >= 50 % of them", unmatched, verbose, 40)

    over_gap = [
        f"- {v.name}: {utc(s.start_ms)} -> {utc(s.end_ms)} UTC, {s.minutes / 60:.1f} h "
        f"({'a parking covers it' if share >= MATCH_SHARE else f'best parking overlap {share:.0%}'})"
        for v in vehicles
        for s, (share, _) in zip(v.stays, v.shares, strict=True)
        if s.over_long_gap
    ]
    print_list(
        f"Stays over a data gap > max_gap ({MAX_GAP_S / 3600:.0f} h), matched or not (in the target too)",
        over_gap,
        verbose,
        20,
    )

    false = [
        f"- {v.name}: {utc(a)} -> {utc(b)} UTC, {(b - a) / 60_000:.1f} min"
        for v in vehicles
        for a, b in v.false_parkings
    ]
    print_list("Engine parkings that match no stay (possible false parkings)", false, verbose, 20)

    off: list[str] = []
    for r in rows:
        worst = sorted(
            (v for v in r.vehicles if abs(v.rel_diff) > DISTANCE_TOLERANCE and v.driven_km + v.engine_km > 0),
            key=lambda v: -abs(v.driven_km - v.engine_km),
        )
        some_v, more = shown(worst, verbose, WORST)
        off += [
            f"- {v.name}: engine {v.engine_km:.3f} km, driven legs {v.driven_km:.3f} km "
            f"({fmt_pct(v.rel_diff)}, {(v.engine_km - v.driven_km) * 1000:+.0f} m)"
            for v in some_v
        ]
        if more:
            off.append(more.replace("more", f"more {r.label} vehicles"))
    print_list("Distance: vehicles off by more than 1 % (largest difference first)", off, True, 0)

    runs: list[str] = []
    faults: list[str] = []
    peaks: list[str] = []
    for r in rows:
        top = sorted(
            ((v.name, run) for v in r.vehicles for run in v.leg_runs if abs(run.delta_m) >= MIN_RUN_M),
            key=lambda x: -abs(x[1].delta_m),
        )
        runs += listed(
            top,
            verbose,
            lambda x: f"- {x[0]}: {utc(x[1].first_ms)} -> {utc(x[1].last_ms)} UTC, {x[1].delta_m:+.0f} m: {x[1].why}",
            r.label,
        )

        bad = sorted((f for v in r.vehicles for f in v.faults), key=lambda f: f.max_kmh - f.avg_kmh)
        faults += listed(
            bad,
            verbose,
            lambda f: (
                f"- {f.vehicle} @ {f.limit} km/h: {utc(f.start_ms)} -> {utc(f.end_ms)} UTC "
                f"({(f.end_ms - f.start_ms) / 1000:.1f} s, {f.distance_m:.0f} m): "
                f"avg {f.avg_kmh:.1f} > max {f.max_kmh:.1f}"
            ),
            r.label,
        )

        ratios = r.peak_ratios
        if ratios:
            peaks.append(
                f"- {r.label}: engine max / {PEAK_WINDOW_S:.0f} s peak, median {np.median(ratios):.2f} "
                f"(min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(ratios)} vehicle(s) with a plausible peak"
            )
        low = sorted(
            (v for v in r.vehicles if not v.device_speed and v.trips and v.engine_max_kmh < PEAK_SHARE * v.peak_kmh),
            key=lambda v: v.engine_max_kmh / v.peak_kmh,
        )
        peaks += listed(
            low,
            verbose,
            lambda v: (
                f"- {v.name}{' *' if v.peak_kmh > PLAUSIBLE_KMH else ''}: engine {v.engine_max_kmh:.1f} km/h, "
                f"{PEAK_WINDOW_S:.0f} s peak {v.peak_kmh:.1f} (path {v.path_kmh:.1f}) from {utc(v.peak_at_ms)} UTC"
            ),
            r.label,
        )
    print_list(
        f"Distance: legs counted differently, runs of >= {MIN_RUN_M:.0f} m (engine minus driven legs; largest first)",
        runs,
        True,
        0,
    )
    print_list(
        "Speed violations whose average speed exceeds their maximum speed (largest excess first)", faults, True, 0
    )
    print_list(
        f"Peak speed: engine max below {PEAK_SHARE:.0%} of the >= {PEAK_WINDOW_S:.0f} s peak "
        f"(no device speed; lowest ratio first; * = peak over {PLAUSIBLE_KMH:.0f} km/h, taken for a GPS error)",
        peaks,
        True,
        0,
    )


def verdicts(rows: list[Row], wall_s: float) -> list[tuple[str, bool, str]]:
    vehicles = [v for r in rows for v in r.vehicles]
    stays = [m for v in vehicles for m in v.matched]
    matched = sum(stays)
    falses = sum(len(v.false_parkings) for v in vehicles)
    diffs = [(r.label, relative(r.total("engine_km"), r.total("driven_km"))) for r in rows if r.vehicles]
    worst = max(diffs, key=lambda d: abs(d[1]), default=("-", 0.0))
    off = [label for label, d in diffs if abs(d) > DISTANCE_TOLERANCE]
    faults = sum(len(v.faults) for v in vehicles)
    clipped = [(r.label, float(np.median(r.peak_ratios))) for r in rows if r.peak_ratios]
    low = [f"{label} {ratio:.2f}" for label, ratio in clipped if ratio < PEAK_SHARE]
    return [
        ("halts", matched == len(stays), f"{matched} of {len(stays)} stays of >= 5 min overlap an engine parking"),
        ("parkings", falses == 0, f"{falses} engine parkings match no stay"),
        (
            "distance",
            not off,
            f"{len(off)} of {len(diffs)} tracks off by more than {DISTANCE_TOLERANCE:.0%}; "
            f"worst {worst[0]} {fmt_pct(worst[1])}",
        ),
        ("speeding", faults == 0, f"{faults} violation rows with average > maximum speed"),
        (
            "peak speed",
            not low,
            f"median engine max / {PEAK_WINDOW_S:.0f} s peak below {PEAK_SHARE:.2f} on {len(low)} of {len(clipped)} "
            f"tracks without device speed{': ' + ', '.join(low) if low else ''}",
        ),
        ("timing", wall_s < MAX_WALL_S, f"{wall_s:.1f} s wall (target < {MAX_WALL_S:.0f} s)"),
    ]


def selected(names: Iterable[str] | None) -> tuple[list[tuple[str, str, str]], set[str] | None]:
    """The sources to run, and the vehicle names asked for (None: every vehicle of those sources)."""
    if not names:
        return list(SOURCES), None
    wanted = set(names)
    picked, vehicles = [], set()
    for label, kind, file in SOURCES:
        if label in wanted or file in wanted:
            picked.append((label, kind, file))
            vehicles.add("*" + label)
    for name in wanted - {s[0] for s in SOURCES} - {s[2] for s in SOURCES}:
        prefix = name.split("-")[0]
        for label, kind, file in SOURCES:
            if label == prefix and (label, kind, file) not in picked:
                picked.append((label, kind, file))
        vehicles.add(name)
    if not picked:
        sys.exit(f"unknown --track {sorted(wanted)}; known: {', '.join(s[0] for s in SOURCES)} or a vehicle")
    whole = {v[1:] for v in vehicles if v.startswith("*")}
    if whole >= {label for label, _, _ in picked}:
        return picked, None
    return picked, vehicles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--track", action="append", help="a row label, file or vehicle (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="list every vehicle and fault, not the worst")
    args = parser.parse_args()
    if not REAL.is_dir():
        print(
            f"real tracks not found in {REAL.resolve()} (kept beside the repository): nothing to check;"
            " docs/real-tracks.md (Getting the tracks) says where to get them"
        )
        return
    start = time.perf_counter()
    sources, wanted = selected(args.track)
    rows: list[Row] = []
    for label, kind, file in sources:
        if not (REAL / file).is_file():
            print(f"{file} is not in {REAL.resolve()}: skipped")
            continue
        only = None if wanted is None or f"*{label}" in wanted else wanted
        row = Row(label)
        for name, track in vehicles_of(label, kind, file, only):
            row.vehicles.append(analyse_vehicle(name, track))
        rows.append(row)
    wall_s = time.perf_counter() - start
    print(f"# Real tracks vs independent methods ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    print_table(rows)
    print_problems(rows, args.verbose)
    print()
    for target, ok, text in verdicts(rows, wall_s):
        print(f"{target}: {'PASS' if ok else 'FAIL'} ({text})")


if __name__ == "__main__":
    main()
