"""Benchmark: ``segment`` over 1,000,000 fixes of a synthetic multi-day drive.

Run: ``OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/bench_motion.py [--fixes N] [--repeat R]
[--derived-speed]``. Prints fixes/second of the best run (one core; numpy only) against the target
of 5,000,000 fixes/s with device speed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fleet_reports.engine.model import Track
from fleet_reports.engine.motion import TripSettings, segment


def synthetic_drive(n: int, seed: int = 7) -> Track:
    """Days of 1 Hz fixes: drives of 5-40 minutes at 20-110 km/h with traffic halts, parkings of
    10 minutes to 2 hours with GPS jitter, and an overnight data gap; fully vectorised."""
    rng = np.random.default_rng(seed)
    # Alternate driving and parking blocks (durations in fixes at 1 Hz).
    blocks = max(2, n // 1500)
    drive_len = rng.integers(300, 2400, blocks)
    park_len = rng.integers(600, 7200, blocks)
    lengths = np.stack((drive_len, park_len), axis=1).ravel()
    moving_block = np.tile([True, False], blocks)
    lengths = lengths[np.cumsum(lengths) <= n]
    moving_block = moving_block[: lengths.shape[0]]
    n = int(lengths.sum())
    moving = np.repeat(moving_block, lengths)
    speed = np.where(moving, np.repeat(rng.uniform(20, 110, lengths.shape[0]), lengths), 0.0)
    # Traffic halts: about 1 % of moving seconds stand still in 30-90 s runs.
    halt = (rng.random(n) < 0.0005) & moving
    halt_span = np.convolve(halt.astype(np.int8), np.ones(60, np.int8))[:n] > 0
    speed = np.where(halt_span, 0.0, speed)
    heading = np.cumsum(rng.normal(0, 0.02, n))
    step = speed / 3.6  # metres per second at 1 Hz
    north = np.cumsum(step * np.cos(heading))
    east = np.cumsum(step * np.sin(heading))
    lat0, lng0 = 55.0, 37.0
    lat = lat0 + np.degrees(north / 6_371_008.8) + np.where(speed == 0, rng.normal(0, 4e-5, n), 0.0)
    lng = lng0 + np.degrees(east / (6_371_008.8 * np.cos(np.radians(lat0))))
    t = 1_600_000_000_000 + np.arange(n, dtype=np.int64) * 1000
    t[n // 2 :] += 8 * 3600 * 1000  # one long data gap
    return Track(
        t=t,
        lat=lat,
        lng=lng,
        speed=speed.astype(np.float32),
        heading=np.full(n, np.nan, np.float32),
        alt=np.full(n, np.nan, np.float32),
        satellites=np.full(n, 9, np.int8),
        hdop=np.full(n, np.nan, np.float32),
        odometer=np.full(n, np.nan),
        ignition=np.full(n, -1, np.int8),
    )


TARGET_FIXES_PER_S = 5_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--derived-speed", action="store_true", help="drop device speed (derive it)")
    args = parser.parse_args()
    track = synthetic_drive(args.fixes)
    if args.derived_speed:
        track.speed[:] = np.nan
    settings = TripSettings()
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        seg = segment(track, settings)
        best = min(best, time.perf_counter() - start)
    n = len(track)
    print(
        f"segment: {n:,} fixes, {len(seg.trips)} trips, {len(seg.parkings)} parkings, "
        f"best of {args.repeat}: {best * 1000:.1f} ms = {n / best:,.0f} fixes/s"
    )
    verdict = "meets" if n / best >= TARGET_FIXES_PER_S else "is BELOW"
    print(f"target {TARGET_FIXES_PER_S:,} fixes/s (device speed): {verdict} it")


if __name__ == "__main__":
    main()
