"""Import throughput and storage of the ingest package (parse, validate, encode, decode).

Run: .venv/bin/python bench/bench_ingest.py [--rows 1000000] [--days 90] [--runs 3]

Pinned to one core (CPU affinity and pyarrow's thread pools), so the figures are per core.
Inputs come from the demo simulator: the CSV/NDJSON/GPX files are format_csv/format_ndjson/
format_gpx of demo days on a 10 s grid, repeated with shifted times up to the row count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from fleet_reports.demo import demo_track
from fleet_reports.engine.model import Track
from fleet_reports.ingest import (
    decode_fixes,
    encode_fixes,
    format_csv,
    format_gpx,
    format_ndjson,
    merge_tracks,
    parse_fixes,
    split_utc_days,
)

DAY_MS = 86_400_000
STEP_MS = 10_000
TRACKER = 123456  # the refrigerated van: lat, lng, speed, heading, alt, sats, hdop, odometer, ignition, fuel, temp1
FIRST_DAY = dt.date(2020, 10, 5)


def ten_second_day(tracker_id: int, day: dt.date, seed: int = 0) -> Track:
    """A demo UTC day on a full 10 s grid (8,640 fixes): the simulator's fix at or before each
    grid time; a grid time the simulator skipped (it reports parked vehicles every 60 s and has
    signal gaps) gets that fix with fresh GPS noise, as a device reporting every 10 s would."""
    src = demo_track(tracker_id, day)
    rng = np.random.default_rng(seed + day.toordinal())
    start = int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
    grid = start + np.arange(DAY_MS // STEP_MS, dtype=np.int64) * STEP_MS
    idx = np.clip(np.searchsorted(src.t, grid, side="right") - 1, 0, len(src) - 1)
    out = src.take(idx)
    out.t = grid
    filled = src.t[idx] != grid
    k = int(filled.sum())
    out.lat[filled] += rng.normal(0, 2.5e-5, k)  # ~3 m
    out.lng[filled] += rng.normal(0, 4e-5, k)
    out.speed[filled] = np.round(np.abs(rng.normal(0, 0.6, k)), 1)
    out.alt[filled] = np.round(out.alt[filled] + rng.normal(0, 1.5, k), 1)
    out.hdop[filled] = np.round(np.clip(out.hdop[filled] + rng.normal(0, 0.15, k), 0.5, 5), 1)
    out.satellites[filled] = np.clip(out.satellites[filled] + rng.integers(-1, 2, k), 4, 14)
    for name, values in out.sensors.items():
        if name != "ignition":
            values[filled] = np.round(values[filled] + rng.normal(0, 0.15, k), 1)
    return out


def long_track(days: int) -> Track:
    """``days`` consecutive 10 s days (the demo cycles through 4 distinct days, times shifted)."""
    base = [ten_second_day(TRACKER, FIRST_DAY + dt.timedelta(days=i)) for i in range(min(days, 4))]
    parts = []
    for i in range(days):
        part = base[i % len(base)].take(np.arange(len(base[i % len(base)])))
        part.t = part.t + (i - i % len(base)) * DAY_MS
        parts.append(part)
    return Track.concat(parts)


def best(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the clean CSV")
    ap.add_argument("--other-rows", type=int, default=200_000, help="rows of the NDJSON and GPX files")
    ap.add_argument("--days", type=int, default=90, help="days of the long track")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (the best is shown)")
    args = ap.parse_args()

    import pyarrow as pa

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs, {platform.system()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, pyarrow {pa.__version__}; pinned to 1 core")
    t0 = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    print(f"calibration: a 10M-step Python loop takes {time.perf_counter() - t0:.2f} s (about 0.45 s on an idle core)")

    t0 = time.perf_counter()
    days = max(1, -(-args.rows // 8640))
    track = long_track(max(days, args.days))
    now_ms = int(track.t[-1]) + DAY_MS
    print(f"inputs: {len(track):,} fixes on a 10 s grid built in {time.perf_counter() - t0:.1f} s")

    clean = track.take(np.arange(args.rows))
    csv_bytes = format_csv(clean)
    secs, parsed = best(lambda: parse_fixes(csv_bytes, "clean.csv", now_ms=now_ms), args.runs)
    assert len(parsed.track) == args.rows and not parsed.rejected_count
    mb = len(csv_bytes) / 1e6
    print(f"CSV parse+validate: {args.rows:,} rows, {mb:.0f} MB in {secs:.2f} s = {args.rows / secs:,.0f} rows/s")

    def full_import() -> int:
        p = parse_fixes(csv_bytes, "clean.csv", now_ms=now_ms)
        return sum(len(encode_fixes(d)) for d in split_utc_days(p.track).values())

    secs, size = best(full_import, 1)
    print(
        f"CSV import (parse+validate+split+encode {days} days): {secs:.2f} s = "
        f"{args.rows / secs:,.0f} fixes/s, {size / args.rows:.2f} B/fix"
    )

    gz = gzip.compress(csv_bytes, 6)
    secs, _ = best(lambda: parse_fixes(gz, "clean.csv.gz", now_ms=now_ms), 1)
    print(f"CSV.gz parse+validate: {len(gz) / 1e6:.0f} MB in {secs:.2f} s = {args.rows / secs:,.0f} rows/s")

    lines = csv_bytes.split(b"\n")
    fields = lines[1000].split(b",")
    fields[3] = b"fast"  # one speed that is not a number
    lines[1000] = b",".join(fields)
    dirty = b"\n".join(lines)
    secs, parsed = best(lambda: parse_fixes(dirty, "dirty.csv", now_ms=now_ms), 1)
    first = parsed.rejected[0]
    print(f"CSV with one bad value: {args.rows / secs:,.0f} rows/s (rejected line {first.line})")

    other = track.take(np.arange(args.other_rows))
    nd = format_ndjson(other)
    secs, parsed = best(lambda: parse_fixes(nd, "t.ndjson", now_ms=now_ms), args.runs)
    assert len(parsed.track) == args.other_rows
    print(f"NDJSON parse+validate: {args.other_rows:,} rows in {secs:.2f} s = {args.other_rows / secs:,.0f} rows/s")
    nd_slow = nd.replace(b'"lat":', b'"lat":"', 1).replace(b',"lng"', b'","lng"', 1)  # one numeric string
    secs, parsed = best(lambda: parse_fixes(nd_slow, "t.ndjson", now_ms=now_ms), 1)
    print(f"NDJSON line-by-line path: {args.other_rows / secs:,.0f} rows/s")
    gpx = format_gpx(other)
    secs, parsed = best(lambda: parse_fixes(gpx, "t.gpx", now_ms=now_ms), args.runs)
    assert len(parsed.track) == args.other_rows
    print(f"GPX parse+validate: {args.other_rows:,} points in {secs:.2f} s = {args.other_rows / secs:,.0f} points/s")

    day = ten_second_day(TRACKER, dt.date(2020, 10, 6))
    blob = encode_fixes(day)
    print(
        f"storage, one 10 s day ({len(day):,} fixes, {len(day.sensors)} sensors): {len(blob) / 1e3:.1f} kB = "
        f"{len(blob) / len(day):.2f} B/fix"
    )
    long = long_track(args.days)
    secs, blobs = best(lambda: [encode_fixes(d) for d in split_utc_days(long).values()], 1)
    total = sum(len(b) for b in blobs)
    print(
        f"storage, {args.days} days ({len(long):,} fixes): {total / 1e6:.2f} MB = {total / len(long):.2f} B/fix; "
        f"encode {secs:.2f} s"
    )
    secs, _ = best(lambda: merge_tracks(long, long), 1)
    print(f"merge_tracks of {len(long):,} + {len(long):,} fixes: {secs:.2f} s")
    secs, _ = best(lambda: [decode_fixes(b) for b in blobs], args.runs)
    print(f"decode {args.days} days, all columns: {secs * 1000:.0f} ms ({len(long) / secs:,.0f} fixes/s)")
    cols = ["t", "lat", "lng", "speed", "ignition"]
    secs, _ = best(lambda: [decode_fixes(b, cols) for b in blobs], args.runs)
    print(f"decode {args.days} days, t/lat/lng/speed/ignition: {secs * 1000:.0f} ms")
    per_day = [len(b) for b in blobs]
    print(f"day objects: median {statistics.median(per_day) / 1e3:.1f} kB, max {max(per_day) / 1e3:.1f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
