"""The import path against the store on a local moto server: import throughput, read time, bytes per fix.

Run: .venv/bin/python bench/bench_import_store.py [--trackers 4] [--days 29] [--read-days 90] [--runs 3]

(a) CSV import: one clean CSV per demo tracker (``--days`` UTC days on a 10 s grid, from
    ``fleet_reports.demo.demo_track`` and ``fleet_reports.ingest.format_csv``; 4 x 29 days =
    1,002,240 fixes) is uploaded to ``incoming/<tracker>/`` and imported with
    ``service.imports.import_object``, one file after the other (each file's days merge in
    parallel threads), into empty days. Reported: wall time and this process's CPU time (all its
    threads), as fixes per second and fixes per CPU-second. The moto server runs in a process of
    its own so that its CPU (which is S3's, on AWS) is not counted; it is printed apart.
(b) Read: one tracker's ``--read-days`` days on a 10 s grid (~777,600 fixes) stored as day
    objects, then ``store.tracks.load`` over the whole period into the engine's arrays (best and
    median of ``--runs``).
(c) Storage: the sum of that tracker's day object sizes / its fixes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from fleet_reports.engine.model import Track

ROOT = Path(__file__).resolve().parents[1]
DAY_MS = 86_400_000
STEP_MS = 10_000
FIRST_DAY = dt.date(2021, 3, 1)
TARGETS = {"import": 200_000.0, "read_s": 1.5, "bytes_per_fix": 10.0}

# moto's server in its own process, with the local stack's atomic conditional writes.
MOTO = """
import sys, time
from fleet_reports.local.moto_guards import atomic_conditional_writes
from moto.server import ThreadedMotoServer
atomic_conditional_writes()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def ten_second_day(tracker_id: int, day: dt.date) -> Track:
    """A demo tracker's UTC day on a full 10 s grid (8,640 fixes): at each grid time the
    simulator's fix at or before it, with fresh GPS noise where the simulator had none (it reports
    parked vehicles every 60 s), as a device reporting every 10 s would."""
    from fleet_reports.demo import demo_track

    src = demo_track(tracker_id, day)
    rng = np.random.default_rng(tracker_id + day.toordinal())
    start = int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
    grid = start + np.arange(DAY_MS // STEP_MS, dtype=np.int64) * STEP_MS
    idx = np.clip(np.searchsorted(src.t, grid, side="right") - 1, 0, len(src) - 1)
    out = src.take(idx)
    out.t = grid
    filled = src.t[idx] != grid
    k = int(filled.sum())
    out.lat[filled] += rng.normal(0, 2.5e-5, k)
    out.lng[filled] += rng.normal(0, 4e-5, k)
    out.speed[filled] = np.round(np.abs(rng.normal(0, 0.6, k)), 1)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if "model name" in ln), "")
    import pyarrow as pa

    return (
        f"{platform.machine()} {model or platform.processor()}, {os.cpu_count()} CPUs, {platform.system()}; "
        f"python {platform.python_version()}, numpy {np.__version__}, pyarrow {pa.__version__}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trackers", type=int, default=4, help="demo trackers, one CSV each")
    ap.add_argument("--days", type=int, default=29, help="days per CSV")
    ap.add_argument("--read-days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--moto-in-process", action="store_true", help="run moto in this process, as `make run` does")
    args = ap.parse_args()

    if args.moto_in_process:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        from fleet_reports.local.moto_guards import atomic_conditional_writes

        atomic_conditional_writes()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            return run(args, server.get_host_and_port()[1], os.getpid())
        finally:
            server.stop()
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-c", MOTO, str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert moto.stdout is not None and moto.stdout.readline().strip() == "ready"
    try:
        return run(args, port, moto.pid)
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def run(args: argparse.Namespace, port: int, moto_pid: int) -> int:
    from fleet_reports.local.resources import create_resources, function_environment, load_template
    from fleet_reports.local.stack import aws_environment

    os.environ.update(aws_environment(f"http://127.0.0.1:{port}"))
    template = load_template(ROOT / "template.yaml")
    resources = create_resources(template)
    os.environ.update(function_environment(template, "WorkerFunction", resources))

    import boto3

    from fleet_reports import demo as demo_fleet
    from fleet_reports.demo import DEMO_TRACKERS
    from fleet_reports.ingest import format_csv
    from fleet_reports.service import imports
    from fleet_reports.store import tracks

    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    demo_fleet.load_fleet()
    bucket = resources.names["TrackBucket"]
    s3 = boto3.client("s3")
    ok = True

    # ------------------------------------------------------------------ (a) import throughput
    trackers = [t.id for t in DEMO_TRACKERS][: args.trackers]
    files: list[tuple[str, int]] = []
    t0 = time.perf_counter()
    for tracker in trackers:
        days = [ten_second_day(tracker, FIRST_DAY + dt.timedelta(days=i)) for i in range(args.days)]
        track = Track.concat(days)
        key = imports.upload(tracker, "bench.csv", io.BytesIO(data := format_csv(track)), len(data))
        files.append((key, len(track)))
        print(f"  tracker {tracker}: {len(track):,} fixes, CSV {len(data) / 1e6:.1f} MB, {len(track.sensors)} sensors")
    fixes = sum(n for _, n in files)
    print(f"inputs: {len(files)} CSV files, {fixes:,} fixes, built and uploaded in {time.perf_counter() - t0:.1f} s")

    moto_cpu0, cpu0, wall0 = cpu_seconds(moto_pid), time.process_time(), time.perf_counter()
    outcomes = [imports.import_object(bucket, key) for key, _ in files]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    moto_cpu = cpu_seconds(moto_pid) - moto_cpu0
    assert all(o.state == "done" and o.rejected_count == 0 for o in outcomes), [o.summary() for o in outcomes]
    assert sum(o.added for o in outcomes) == fixes
    per_cpu = fixes / cpu
    ok &= per_cpu >= TARGETS["import"]
    print(
        f"(a) CSV import into the store: {fixes:,} fixes in {wall:.2f} s wall = {fixes / wall:,.0f} fixes/s; "
        f"importer CPU {cpu:.2f} s = {per_cpu:,.0f} fixes per CPU-second "
        f"(target >= {TARGETS['import']:,.0f}) {'OK' if per_cpu >= TARGETS['import'] else 'MISSED'}"
    )
    if moto_pid != os.getpid():
        with_moto = fixes / (cpu + moto_cpu)
        print(f"    moto server CPU meanwhile: {moto_cpu:.2f} s (S3's work on AWS); counting it too: {with_moto:,.0f}")
    else:
        print("    (moto runs in this process: its CPU is counted above)")

    # ------------------------------------------------------------------ (b) read, (c) bytes per fix
    tracker = trackers[0]
    start = FIRST_DAY + dt.timedelta(days=400)
    total = 0
    for i in range(args.read_days):
        day = start + dt.timedelta(days=i)
        part = ten_second_day(tracker, FIRST_DAY + dt.timedelta(days=i % 7))
        part.t = part.t + (day - (FIRST_DAY + dt.timedelta(days=i % 7))).days * DAY_MS
        tracks.write_day(tracker, day, part)
        total += len(part)
    from_ms = int(dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
    to_ms = from_ms + args.read_days * DAY_MS - 1
    times: list[float] = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        loaded = tracks.load(tracker, from_ms, to_ms)
        times.append(time.perf_counter() - t0)
        assert len(loaded) == total
    best = min(times)
    ok &= best < TARGETS["read_s"]
    print(
        f"(b) read {args.read_days} days ({total:,} fixes, {len(loaded.sensors)} sensors) with store.tracks.load: "
        f"best {best:.2f} s, median {statistics.median(times):.2f} s of {args.runs} "
        f"(target < {TARGETS['read_s']} s) {'OK' if best < TARGETS['read_s'] else 'MISSED'}"
    )
    cols = ("t", "lat", "lng", "speed", "ignition")
    t0 = time.perf_counter()
    tracks.load(tracker, from_ms, to_ms, columns=cols)
    print(f"    the same with columns={cols}: {time.perf_counter() - t0:.2f} s")

    size = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"tracks/tracker_id={tracker}/"):
        size += sum(o["Size"] for o in page.get("Contents", []) if o["Key"] >= tracks.day_key(tracker, start))
    per_fix = size / total
    ok &= per_fix <= TARGETS["bytes_per_fix"]
    print(
        f"(c) on disk: {size / 1e6:.2f} MB for {total:,} fixes = {per_fix:.2f} bytes per fix "
        f"(target <= {TARGETS['bytes_per_fix']:.0f}) {'OK' if per_fix <= TARGETS['bytes_per_fix'] else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
