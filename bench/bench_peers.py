"""Benchmark against peers: our motion engine vs movingpandas and trackintel on the same fixes.

Run: ``make bench-peers`` (installs the ``peers`` extra into .venv), or
``.venv/bin/python bench/bench_peers.py [--fixes N] [--interval S]``.

The fixes are a simulated multi-day drive (``fleet_reports.sim.drive.Scenario``: road-like drives
with traffic halts, parkings of 6 minutes to 3 hours with GPS jitter, no ignition) whose ``Truth``
holds the parkings that docs/analytics.md defines. Each tool looks for stays of at least 5 minutes
within 200 m:

- ours: ``motion.segment`` (parking = not moving and within a 200 m radius for >= 5 min);
- movingpandas: ``TrajectoryStopDetector.get_stop_segments(max_diameter=200 m, min_duration=5 min)``;
- trackintel: ``generate_staypoints(method="sliding", dist_threshold=200 m, time_threshold=5 min)``.

It prints each tool's time (one core), its speed ratio to ours, how many parkings it finds and how
many of the true parkings it overlaps. Without the peers installed it says so and exits 0 (the
``bench`` target runs every bench script and CI has no peers).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.model import Track
from fleet_reports.engine.motion import TripSettings, segment
from fleet_reports.sim.drive import Scenario, Truth

I64 = npt.NDArray[np.int64]
T0_MS = 1_601_942_400_000  # 2020-10-06 00:00 UTC
HOME = (55.0, 37.0)
PLACES = [(55.05, 37.1), (55.1, 37.05), (54.98, 37.12), (55.02, 36.93), (55.08, 36.98)]
PEERS = ("movingpandas", "trackintel", "geopandas", "pandas", "shapely")


def scenario_track(fixes: int, interval_s: float, seed: int = 3) -> tuple[Track, Truth]:
    """Drives between places with halts, parkings of 6 min .. 3 h, until about ``fixes`` fixes."""
    rng = np.random.default_rng(seed)
    sc = Scenario(T0_MS, *HOME, seed=seed, interval_s=interval_s, ignition=False)
    sc.park(30)
    here = HOME
    while (sc.now_ms - T0_MS) / 1000.0 / interval_s < fixes:
        there = PLACES[int(rng.integers(len(PLACES)))]
        if there == here:
            continue
        sc.drive([there], cruise_kmh=float(rng.uniform(40, 100)), halts=int(rng.integers(0, 4)))
        sc.park(float(rng.choice([6.0, 15.0, 45.0, 120.0, 180.0])), jitter_m=float(rng.uniform(2, 12)))
        here = there
    return sc.build()


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def overlapped(truth: Truth, start_ms: I64, end_ms: I64) -> int:
    """How many true parkings share an instant with a found stay."""
    order = np.argsort(start_ms)
    s, e = start_ms[order], np.maximum.accumulate(end_ms[order])
    hit = 0
    for p in truth.parkings:
        k = int(np.searchsorted(s, p.end_ms, side="left")) - 1
        hit += int(k >= 0 and e[k] > p.start_ms)
    return hit


def ours(track: Track) -> tuple[I64, I64]:
    seg = segment(track, TripSettings(), smart_filter=False)
    return seg.parkings.start_ms, seg.parkings.end_ms


def frame(track: Track) -> Any:
    import geopandas as gpd
    import pandas as pd

    when = pd.to_datetime(track.t, unit="ms", utc=True)  # trackintel wants aware times
    return gpd.GeoDataFrame(
        {"user_id": np.zeros(len(track), np.int64), "tracked_at": when},
        geometry=gpd.points_from_xy(track.lng, track.lat),
        crs="EPSG:4326",
        index=pd.RangeIndex(len(track)),
    )


def movingpandas_stops(gdf: Any) -> tuple[I64, I64]:
    from datetime import timedelta

    import movingpandas as mpd

    # movingpandas drops time zones: give it naive UTC times.
    naive = gdf.assign(tracked_at=gdf["tracked_at"].dt.tz_convert(None)).set_index("tracked_at")
    traj = mpd.Trajectory(naive, traj_id=0)
    stops = mpd.TrajectoryStopDetector(traj).get_stop_segments(min_duration=timedelta(minutes=5), max_diameter=200)
    starts = [_ms(s.get_start_time()) for s in stops]
    ends = [_ms(s.get_end_time()) for s in stops]
    return np.asarray(starts, np.int64), np.asarray(ends, np.int64)


def _ms(when: Any) -> int:
    """Epoch ms of a pandas/naive-UTC or aware timestamp."""
    import pandas as pd

    ts = pd.Timestamp(when)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1))


def trackintel_staypoints(gdf: Any) -> tuple[I64, I64]:
    import trackintel as ti

    pfs = ti.Positionfixes(gdf.copy())
    _, sp = pfs.generate_staypoints(
        method="sliding", dist_threshold=200, time_threshold=5.0, gap_threshold=60.0, include_last=True, n_jobs=1
    )
    starts = [_ms(x) for x in sp["started_at"]]
    ends = [_ms(x) for x in sp["finished_at"]]
    return np.asarray(starts, np.int64), np.asarray(ends, np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixes", type=int, default=50_000, help="movingpandas takes ~1 ms per fix")
    parser.add_argument("--interval", type=float, default=10.0, help="sampling interval, seconds")
    args = parser.parse_args()
    track, truth = scenario_track(args.fixes, args.interval)
    n = len(track)
    print(f"fixes: {n:,} (every {args.interval:g} s, simulated), true parkings: {len(truth.parkings)}")
    t_ours, (s, e) = timed(lambda: ours(track), repeat=3)
    print(
        f"  fleet-reports motion.segment : {t_ours * 1000:9.1f} ms ({n / t_ours:,.0f} fixes/s), "
        f"parkings {s.shape[0]}, true parkings overlapped {overlapped(truth, s, e)}"
    )
    missing = [m for m in PEERS if importlib.util.find_spec(m) is None]
    if missing:
        print(f"  peers not installed ({', '.join(missing)}): run `make bench-peers`")
        return
    warnings.filterwarnings("ignore", category=UserWarning)  # movingpandas: optional Stone Soup
    gdf = frame(track)
    for name, fn in (
        ("movingpandas StopDetector  ", movingpandas_stops),
        ("trackintel staypoints      ", trackintel_staypoints),
    ):
        took, (s, e) = timed(functools.partial(fn, gdf))
        print(
            f"  {name}  : {took * 1000:9.1f} ms ({n / took:,.0f} fixes/s, ours {took / t_ours:,.0f}x faster), "
            f"parkings {s.shape[0]}, true parkings overlapped {overlapped(truth, s, e)}"
        )


if __name__ == "__main__":
    main()
