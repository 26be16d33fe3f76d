"""100 trackers x 30 days at a 10 s interval, one trip report: split across workers, and in one go.

Run: .venv/bin/python bench/bench_fanout.py [--trackers 100] [--days 30] [--workers 2] [--modes split,single]

For each mode, starts the local stack with ``--workers`` worker processes (as ``make run`` does;
moto's server and the API in this process), adds ``--trackers`` trackers to the demo owner's
fleet and writes their days straight into the track store (8,640 fixes a day: the demo fleet's
simulated drives on a full 10 s grid, ten distinct vehicles, each day encoded once and stored for
every tracker driving it), then sends one trip report over HTTP and polls ``status`` until it is
done. ``split``: the report is split across the workers (one part per tracker, the default
threshold FanOutTrackerDays=60); ``single``: FanOutTrackerDays=0, the whole report in one worker.
Prints generate -> done, the parts' and the assembly's share, and the report's size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import_store import ten_second_day

BASE_ID = 810000
VEHICLES = 10  # distinct simulated vehicles; tracker k drives vehicle k mod 10's days
FIRST_DAY = dt.date(2021, 2, 1)


def post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def add_trackers(n: int) -> list[int]:
    from fleet_reports.demo import OWNER_ID, demo_manifest
    from fleet_reports.service.manifest import Manifest
    from fleet_reports.service.manifest.apply import apply_manifest

    manifest = demo_manifest().model_dump(mode="json", exclude_none=True)
    tariff = next(t["id"] for t in manifest["tariffs"] if t["has_reports"])
    ids = [BASE_ID + k for k in range(n)]
    manifest["trackers"] += [
        {"id": i, "label": f"Bench van {i - BASE_ID + 1:03d}", "owner": OWNER_ID, "tariff": tariff} for i in ids
    ]
    apply_manifest(Manifest.model_validate(manifest))
    return ids


def write_days(stack: Any, ids: list[int], days: int) -> int:
    """Every tracker's days into the store; the number of fixes written."""
    import boto3

    from fleet_reports.demo import DEMO_TRACKERS
    from fleet_reports.store import tracks

    s3 = boto3.client("s3")
    bucket = stack.resources.names["TrackBucket"]
    vehicles = [DEMO_TRACKERS[k % len(DEMO_TRACKERS)].id for k in range(VEHICLES)]
    fixes = 0
    for d in range(days):
        day = FIRST_DAY + dt.timedelta(days=d)
        encoded = []
        for v, vehicle in enumerate(vehicles):
            track = ten_second_day(vehicle, day)
            track.lat += 0.01 * v  # ten different places, not ten copies of one
            encoded.append((tracks.encode(track), len(track)))
        for k, tracker_id in enumerate(ids):
            body, n = encoded[k % VEHICLES]
            s3.put_object(Bucket=bucket, Key=tracks.day_key(tracker_id, day), Body=body)
            fixes += n
    return fixes


def run(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    from fleet_reports.demo import ACCESS
    from fleet_reports.local.stack import start
    from fleet_reports.settings import get_settings
    from fleet_reports.store.aws import reset_clients

    overrides = {"FanOutTrackerDays": "0" if mode == "single" else "60"}
    t0 = time.perf_counter()
    stack = start(port=0, parameter_overrides=overrides, save_every_s=None, worker_processes=args.workers)
    try:
        os.environ["FLEET_TABLE"] = stack.resources.names["FleetTable"]
        get_settings.cache_clear()
        reset_clients()
        ids = add_trackers(args.trackers)
        fixes = write_days(stack, ids, args.days)
        print(f"[{mode}] stack up, {len(ids)} trackers, {fixes:,} fixes stored in {time.perf_counter() - t0:.1f} s")
        base, h = stack.api_url, ACCESS.owner_hash
        last = FIRST_DAY + dt.timedelta(days=args.days - 1)
        request = {
            "hash": h,
            "title": "Fleet trips",
            "trackers": ids,
            "from": f"{FIRST_DAY} 00:00:00",
            "to": f"{last} 23:59:59",
            "time_filter": {"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
            "plugin": {"plugin_id": 4, "show_idle_duration": True},
        }
        t_gen = time.perf_counter()
        body = post(f"{base}/report/tracker/generate", request)
        assert body.get("success"), body
        rid = int(body["id"])
        seen: list[tuple[float, int]] = []
        while True:
            st = post(f"{base}/report/tracker/status", {"hash": h, "report_id": rid})
            seen.append((time.perf_counter() - t_gen, int(st["percent_ready"])))
            if st.get("state") in ("done", "failed"):
                break
            time.sleep(0.25)
        total = time.perf_counter() - t_gen
        assert st["state"] == "done", st
        report = post(f"{base}/report/tracker/retrieve", {"hash": h, "report_id": rid})["report"]
        trips = sum(
            len(g["rows"])
            for s in report["sheets"]
            for sec in s["sections"]
            if sec["type"] == "table"
            for g in sec["data"]
        )
        parts_end = next((t for t, p in seen if p >= 75), total)
        return {
            "mode": mode,
            "total_s": total,
            "to_75_s": parts_end,
            "fixes": fixes,
            "sheets": len(report["sheets"]),
            "rows": trips,
            "document": json.dumps({k: v for k, v in report.items() if k not in ("id", "created")}, sort_keys=True),
        }
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trackers", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="split,single")
    args = parser.parse_args()
    results = [run(mode, args) for mode in args.modes.split(",")]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d')}; {args.workers} worker processes"
    )
    for r in results:
        print(
            f"{r['mode']:<7} {args.trackers} trackers x {args.days} days ({r['fixes']:,} fixes): generate -> done "
            f"{r['total_s']:.1f} s (computing, to 75 %: {r['to_75_s']:.1f} s; storing and rendering the rest); "
            f"{r['sheets']} sheets, {r['rows']:,} trip rows"
        )
    if len(results) == 2:
        same = results[0]["document"] == results[1]["document"]
        print(f"split and single documents identical: {same}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
