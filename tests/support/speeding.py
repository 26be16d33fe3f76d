"""Plugin 27, Speed violation: the unit tests' context, tracks with known speeds, random drives."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.sim import geo

from tests.support.drives import Drive
from tests.support.moscow import DAY_MS, FROM_MS, T0, TO_MS, A, two_days

__all__ = ["DAY_MS", "FROM_MS", "T0", "TO_MS", "A"]  # the shared period, re-exported for the tests that read it here
TRACKER = TrackerInfo(201, "Truck 1")
OTHER = TrackerInfo(202, "Truck 2")


def steps(speeds: list[float], start_ms: int = T0, step_s: float = 10.0) -> Track:
    """Fixes every ``step_s`` due north with the given device speeds, positions consistent with them."""
    n = len(speeds)
    v = np.asarray(speeds, np.float64)
    legs = np.concatenate(([0.0], (v[:-1] + v[1:]) / 2.0 / 3.6 * step_s))
    lat, lng = geo.destination(np.full(n, A[0]), np.full(n, A[1]), np.zeros(n), np.cumsum(legs))
    track = Track.empty()
    return replace(
        track,
        t=start_ms + np.arange(n, dtype=np.int64) * int(step_s * 1000),
        lat=lat,
        lng=lng,
        speed=v.astype(np.float32),
        heading=np.zeros(n, np.float32),
        alt=np.full(n, np.nan, np.float32),
        satellites=np.full(n, 10, np.int8),
        hdop=np.full(n, np.nan, np.float32),
        odometer=np.full(n, np.nan),
        ignition=np.full(n, -1, np.int8),
    )


def context(trackers: tuple[TrackerInfo, ...] = (TRACKER,), **plugin: Any) -> ReportContext:
    """The speed violation report (plugin 27, limit 90 km/h) of ``trackers`` over 2020-10-06 and -07 in Moscow."""
    return two_days(
        2,
        "Speed violation report",
        {"plugin_id": 27, "show_seconds": True, "max_speed": 90, "min_duration_minutes": 0, **plugin},
        trackers,
    )


def rows_of(report: dict[str, Any], sheet: int = 0) -> list[dict[str, Any]]:
    """The rows of a sheet's violations table, all day groups together."""
    return [row for g in report["sheets"][sheet]["sections"][0]["data"] for row in g["rows"]]


def random_drive(seed: int, start_ms: int = T0) -> tuple[Drive, float]:
    """Parked, then 3 to 11 straight legs at random speeds (60-160 km/h) and headings, some
    followed by a halt, sampled every 1, 5, 10 or 30 s; parked again. With its top speed."""
    rng = np.random.default_rng(seed)
    drive = Drive(t_ms=start_ms, lat=A[0], lng=A[1], step_s=float(rng.choice([1.0, 5.0, 10.0, 30.0])), seed=seed)
    drive.halt(300).start()
    bearing, top = 0.0, 0.0
    for _ in range(int(rng.integers(3, 12))):
        kmh = float(rng.uniform(60.0, 160.0))
        bearing += float(rng.uniform(-120.0, 120.0))
        drive.drive(float(rng.uniform(50.0, 3000.0)), kmh, bearing)
        top = max(top, kmh)
        if rng.random() < 0.3:
            drive.halt(float(rng.uniform(5.0, 120.0)))
    return drive.park(300), top


def speed_cells(report: dict[str, Any]) -> list[tuple[float, float]]:
    """(max, average) of every row and every total of every table in the report."""
    tables = [s for sheet in report["sheets"] for s in sheet["sections"] if s["type"] == "table"]
    rows = [row for table in tables for g in table["data"] for row in [*g["rows"], g["total"]]]
    return [(row["max_speed"]["raw"], row["avg_speed"]["raw"]) for row in rows]
