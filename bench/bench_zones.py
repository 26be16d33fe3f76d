"""Benchmark: geofence visits of 90 days of fixes against 50 zones, and a 24 h point report.

Run: ``.venv/bin/python bench/bench_zones.py [--fixes N] [--zones Z] [--repeat R]``. Prints the
best wall time of ``zones.visits`` over every zone (circles, polygons, sausages; corner clips
included), and of building plugin 91 for one day of fixes every 10 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fleet_reports.engine.model import Place, ReportContext, Track, TrackerInfo, Zone
from fleet_reports.engine.report import build_report
from fleet_reports.engine.zones import Shape, shape, visits
from fleet_reports.sim import geo

T0 = 1_601_942_400_000  # 2020-10-06 00:00 UTC
A = (55.0, 37.0)


def wandering(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(n, dtype=np.int64) * 10_000
    phase = np.cumsum(rng.normal(0.0, 0.01, n))
    lat = A[0] + 0.25 * np.sin(phase) + 0.1 * np.sin(np.arange(n) / 5000.0)
    lng = A[1] + 0.4 * np.cos(phase * 0.7)
    return t, lat, lng


def fifty_zones(count: int, seed: int = 1) -> list[Shape]:
    rng = np.random.default_rng(seed)
    zones = []
    for k in range(count):
        c = (A[0] + rng.uniform(-0.3, 0.3), A[1] + rng.uniform(-0.5, 0.5))
        if k % 3 == 0:
            zones.append(shape(Zone(k, "c", "circle", c, 400.0)))
        elif k % 3 == 1:
            b = np.linspace(0.0, 360.0, 12, endpoint=False)
            lat_r, lng_r = geo.destination(np.full(12, c[0]), np.full(12, c[1]), b, np.full(12, 600.0))
            zones.append(shape(Zone(k, "p", "polygon", points=tuple(zip(lat_r, lng_r, strict=True)))))
        else:
            pts = (c, (c[0] + 0.05, c[1] + 0.02), (c[0] + 0.06, c[1] + 0.1))
            zones.append(shape(Zone(k, "s", "sausage", radius_m=150.0, points=pts)))
    return zones


def point_day() -> tuple[ReportContext, Track]:
    n = 8640
    t = T0 + np.arange(n, dtype=np.int64) * 10_000
    angle = np.linspace(0, 40 * np.pi, n)
    track = Track(
        t=t,
        lat=A[0] + 0.01 * np.sin(angle),
        lng=A[1] + 0.02 * np.cos(angle),
        speed=np.full(n, 55.0, np.float32),
        heading=np.mod(np.degrees(angle), 360).astype(np.float32),
        alt=np.full(n, 150.0, np.float32),
        satellites=np.full(n, 9, np.int8),
        hdop=np.full(n, 0.9, np.float32),
        odometer=np.full(n, np.nan),
        ignition=np.full(n, -1, np.int8),
    )
    ctx = ReportContext(
        report_id=1,
        title="Point report",
        created="2020-10-07 10:00:00",
        period_from="2020-10-06 00:00:00",
        period_to="2020-10-06 23:59:59",
        from_ms=T0,
        to_ms=T0 + 86_399_000,
        time_zone="Europe/Moscow",
        locale="en_US",
        measurement_system="metric",
        time_filter={},
        plugin={"plugin_id": 91},
        trackers=(TrackerInfo(1, "Bench"),),
        places=(Place("Shop", "Shop, Moscow", A[0], A[1], 300.0),),
    )
    return ctx, track


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixes", type=int, default=777_600, help="fixes (90 days at 10 s: 777,600)")
    ap.add_argument("--zones", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t, lat, lng = wandering(args.fixes)
    zones = fifty_zones(args.zones)
    best, found = float("inf"), 0
    for _ in range(args.repeat):
        began = time.perf_counter()
        found = sum(len(visits(z, t, lat, lng, max_gap_ms=3_600_000.0)) for z in zones)
        best = min(best, time.perf_counter() - began)
    print(f"visits: {args.fixes:,} fixes x {args.zones} zones: best {best:.2f} s, {found:,} visits")

    ctx, track = point_day()
    best = float("inf")
    for _ in range(args.repeat):
        began = time.perf_counter()
        build_report(ctx, lambda _id, a, b: track.take((track.t >= a) & (track.t <= b)), lambda _: None)
        best = min(best, time.perf_counter() - began)
    print(f"point report: {len(track):,} fixes (24 h at 10 s): best {best:.2f} s")


if __name__ == "__main__":
    main()
