"""A 1-day trip report on a tracker with 10 years of history and on one with 1 day, on the local stack.

Run: .venv/bin/python bench/bench_odometer_history.py [--runs 7] [--years 10] [--every 7] [--no-old-read]

Starts the local stack (moto server over loopback, gateway, demo fleet) without its pollers and
adds two trackers to the demo owner's fleet, both without a device odometer:

* "ten years": an odometer base 10 years before the report's day and one working day of driving
  a week since (``--every`` 7 days; the demo truck's simulated days, about 1,500 fixes each), 522
  day objects (3,652 with ``--every 1``);
* "one day": an odometer base the day before the report's day, and that day alone.

Both have the same fixes on the report's day. Each tracker's odometer summary is built once (as
the demo loader, or the imports, leave it). Then the same 1-day trip report (the demo owner's
zone, Europe/Moscow) is generated for each in turn, over HTTP, the job run by the worker handler
in this process as the stack's poller runs it; the time from `generate` to `percent_ready: 100`
and the S3 requests the worker made are printed for both, and whether they are within 20 % of
each other. With the summary gone (a settings change), the first report rebuilds it once; that
and, unless ``--no-old-read``, what the report read before the summary existed (a GET per
calendar day from the base to the period start) are printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from fleet_reports.local.stack import start

LONG, SHORT = 910001, 910002
TEMPLATE_TRACKER = 345678  # the demo truck: its simulated working days
DAY_MS = 86_400_000


def post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def day_ms(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)


@contextmanager
def s3_requests() -> Iterator[Counter[str]]:
    """The S3 requests this process makes meanwhile, as "Operation prefix/"."""
    from fleet_reports.store.aws import s3

    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        where = str(params.get("Key") or params.get("Prefix") or "").split("/", 1)[0]
        with lock:
            seen[f"{model.name} {where}/"] += 1

    events = s3().meta.events
    events.register("before-parameter-build.s3", count, unique_id="bench-odometer")
    try:
        yield seen
    finally:
        events.unregister("before-parameter-build.s3", unique_id="bench-odometer")


def add_trackers(report_day: dt.date, years: int) -> dt.date:
    """The two trackers in the demo owner's fleet (the demo manifest plus them); the long one's base day."""
    from fleet_reports.demo.manifest import demo_manifest
    from fleet_reports.service.manifest import Manifest, apply_manifest

    doc = demo_manifest().model_dump(mode="json", by_alias=True, exclude_none=True)
    base_day = report_day - dt.timedelta(days=round(365.25 * years))
    for tracker_id, label, base in (
        (LONG, f"Truck with {years} years of history", base_day),
        (SHORT, "Truck with 1 day of history", report_day - dt.timedelta(days=1)),
    ):
        doc["trackers"].append(
            {
                "id": tracker_id,
                "label": label,
                "owner": 1001,
                "tariff": 1,
                "odometer_base": {"km": 10_000.0, "at": f"{base.isoformat()}T00:00:00Z"},
            }
        )
    apply_manifest(Manifest.model_validate(doc))
    return base_day


def write_history(report_day: dt.date, base_day: dt.date, every: int) -> tuple[int, int]:
    """The report's day for both trackers, and a working day every ``every`` days since the base
    for the long one (simulated days reused, shifted by whole days); (day objects, fixes) written."""
    from fleet_reports.demo import demo_track
    from fleet_reports.store import tracks

    templates = [report_day - dt.timedelta(days=k) for k in range(7)]
    simulated = {d: demo_track(TEMPLATE_TRACKER, d) for d in templates}
    jobs: list[tuple[int, dt.date, dt.date]] = [(SHORT, report_day, report_day), (LONG, report_day, report_day)]
    day = base_day + dt.timedelta(days=1)
    while day < report_day - dt.timedelta(days=1):
        jobs.append((LONG, day, templates[(day - base_day).days % len(templates)]))
        day += dt.timedelta(days=every)

    def one(job: tuple[int, dt.date, dt.date]) -> int:
        tracker_id, target, source = job
        track = simulated[source].take(slice(None))
        track.t = track.t + (day_ms(target) - day_ms(source))
        tracks.write_day(tracker_id, target, track)
        return len(track)

    with ThreadPoolExecutor(max_workers=8) as pool:
        fixes = sum(pool.map(one, jobs))
    return len(jobs), fixes


def run_report(stack: Any, worker: Any, tracker_id: int, report_day: dt.date) -> tuple[float, float, Counter[str]]:
    """(generate -> percent_ready 100, the worker's job alone, its S3 requests) of the 1-day report."""
    import boto3

    base, h = stack.api_url, stack.info["demo_hash"]
    request = {
        "hash": h,
        "title": "1-day trips",
        "trackers": [tracker_id],
        "from": f"{report_day} 00:00:00",
        "to": f"{report_day} 23:59:59",
        "plugin": {"plugin_id": 4, "split": True, "filter": True},
    }
    sqs = boto3.client("sqs")
    t0 = time.perf_counter()
    report_id = post(f"{base}/report/tracker/generate", request)["id"]
    with s3_requests() as seen:
        t1 = time.perf_counter()
        assert worker.poll_once(sqs, wait_s=5) == 1
        job = time.perf_counter() - t1
    status = post(f"{base}/report/tracker/status", {"hash": h, "report_id": report_id})
    total = time.perf_counter() - t0
    assert status["percent_ready"] == 100 and status["state"] == "done", status
    post(f"{base}/report/tracker/delete", {"hash": h, "report_id": report_id})
    return total, job, seen


def old_read(base_day: dt.date, report_day: dt.date) -> tuple[int, float]:
    """What the report read before the summary: a GET per calendar day from the base to the
    period start, 32 at a time (the old ``tracks.load`` of the history); (days, seconds)."""
    from fleet_reports.settings import get_settings
    from fleet_reports.store import tracks

    bucket = get_settings().require("track_bucket")
    days = [base_day + dt.timedelta(days=k) for k in range((report_day - base_day).days)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        found = list(pool.map(lambda d: tracks.get_object(bucket, tracks.day_key(LONG, d)), days))
    for got in found:
        if got:
            tracks.decode(got[0])
    return len(days), time.perf_counter() - t0


def fmt(counts: Counter[str]) -> str:
    return ", ".join(f"{k} x{n}" for k, n in sorted(counts.items())) or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="reports per tracker (alternating)")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--every", type=int, default=7, help="days between the long history's driving days")
    parser.add_argument("--no-old-read", action="store_true", help="skip timing the read the summary replaced")
    args = parser.parse_args()

    stack = start(port=0, start_pollers=False, save_every_s=None)
    try:
        return run(args, stack)
    finally:
        stack.stop()


def run(args: argparse.Namespace, stack: Any) -> int:
    import boto3

    from fleet_reports.store import odometer

    worker = next(p for p in stack.pollers if p.function_name == "WorkerFunction")
    # The seed's example report is queued at start-up: run it first, so the queue is ours.
    worker.poll_once(boto3.client("sqs"), wait_s=5)

    report_day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    base_day = add_trackers(report_day, args.years)
    t0 = time.perf_counter()
    objects, fixes = write_history(report_day, base_day, args.every)
    print(f"wrote {objects} day objects ({fixes:,} fixes) in {time.perf_counter() - t0:.1f} s")
    built: dict[int, float] = {}
    for tracker_id in (LONG, SHORT):
        settings = odometer.tracker_settings(tracker_id)
        assert settings is not None
        t0 = time.perf_counter()
        summary = odometer.rebuild(tracker_id, settings)
        built[tracker_id] = time.perf_counter() - t0
        print(f"tracker {tracker_id}: summary of {len(summary.days)} days built in {built[tracker_id]:.2f} s")

    names = {LONG: f"{args.years} years of history", SHORT: "1 day of history"}
    totals: dict[int, list[float]] = {LONG: [], SHORT: []}
    jobs: dict[int, list[float]] = {LONG: [], SHORT: []}
    counts: dict[int, Counter[str]] = {}
    for _ in range(args.runs):
        for tracker_id in (SHORT, LONG):
            total, job, seen = run_report(stack, worker, tracker_id, report_day)
            totals[tracker_id].append(total)
            jobs[tracker_id].append(job)
            counts[tracker_id] = seen

    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {python}")
    flags = f"--runs {args.runs} --years {args.years} --every {args.every}"
    print(f"command: python bench/bench_odometer_history.py {flags}")
    print(f"the 1-day trip report of {report_day} (Europe/Moscow), {args.runs} runs each, alternating:")
    for tracker_id in (SHORT, LONG):
        t, j = totals[tracker_id], jobs[tracker_id]
        print(
            f"  {names[tracker_id]:>22}: generate -> percent_ready 100 median {statistics.median(t) * 1000:.0f} ms "
            f"(min {min(t) * 1000:.0f}, max {max(t) * 1000:.0f}); worker job {statistics.median(j) * 1000:.0f} ms"
        )
        print(f"  {'':>22}  S3 requests of the worker: {fmt(counts[tracker_id])}")
    ratio = statistics.median(totals[LONG]) / statistics.median(totals[SHORT])
    verdict = "within" if abs(ratio - 1.0) <= 0.20 else "NOT within"
    print(f"ten years / one day: {ratio:.2f} ({verdict} 20 %)")

    # What the summary costs to read and to keep: its size and decoding, and an import's record
    # of one day (a GET and PUT of the summary, a GET and segmentation of the day).
    from fleet_reports.store import tracks

    settings = odometer.tracker_settings(LONG)
    assert settings is not None
    bucket_name = stack.resources.names["TrackBucket"]
    found = tracks.get_object(bucket_name, odometer.summary_key(LONG))
    assert found is not None
    t0 = time.perf_counter()
    decoded = odometer.Summary.decode(found[0])
    took = time.perf_counter() - t0
    print(f"the summary: {len(decoded.days)} days, {len(found[0]):,} bytes gzip'd, decoded in {took * 1000:.1f} ms")
    records = []
    for _ in range(5):
        t0 = time.perf_counter()
        odometer.record_days(LONG, [report_day], settings)
        records.append(time.perf_counter() - t0)
    print(f"recording one day's figures, as an import does: median {statistics.median(records) * 1000:.0f} ms")

    # A settings change (or a summary never built): the first report rebuilds it once.
    from fleet_reports.settings import get_settings
    from fleet_reports.store.aws import s3

    s3().delete_object(Bucket=get_settings().require("track_bucket"), Key=odometer.summary_key(LONG))
    total, _, seen = run_report(stack, worker, LONG, report_day)
    print(f"first report without the summary (rebuilt and put back): {total * 1000:.0f} ms; S3: {fmt(seen)}")
    total, _, seen = run_report(stack, worker, LONG, report_day)
    print(f"the next one: {total * 1000:.0f} ms; S3: {fmt(seen)}")
    if not args.no_old_read:
        days, took = old_read(base_day, report_day)
        print(f"the read the summary replaced (a GET per calendar day since the base): {days:,} days in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
