"""A 90-day trip report for one tracker at a 10 s interval, on the local stack.

Run: .venv/bin/python bench/bench_report_90d.py [--days 90] [--plugin 4]

Starts the local stack (moto server, gateway, demo fleet) without its worker poller, writes the
tracker's days (8,640 fixes each) into the track store, sends `generate` over HTTP, and runs the
job in a *separate worker process* exactly as the Lambda would (the worker handler, one SQS
batch), so that its peak memory (ru_maxrss, what Lambda reports as "Max Memory Used") is the
worker's alone. Prints the time from generate to percent_ready 100 (with the worker process's
cold start included and on its own), and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import_store import ten_second_day

from fleet_reports.local.stack import start

WORKER = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
import boto3
from fleet_reports.local.poller import QueuePoller
from fleet_reports.local.stack import find_root, load_handler
from fleet_reports.local import resources as res

root = find_root()
template = res.load_template(root / "template.yaml")
spec = res.functions(template)["WorkerFunction"]
handler = load_handler(root, spec.code_uri, spec.handler, "WorkerFunction")
queue_url, queue_arn = sys.argv[1], sys.argv[2]
peak = {"rss": 0, "where": "", "shown": 0}
if len(sys.argv) > 3:  # --memory-profile: where the main thread is when the RSS peaks
    import threading, traceback
    main_id = threading.get_ident()
    page = os.sysconf("SC_PAGE_SIZE")
    def sample():
        while True:
            with open("/proc/self/statm") as f:
                rss = int(f.read().split()[1]) * page
            if rss > peak["shown"] + 20 * 2**20:
                peak["shown"] = rss
                frame = sys._current_frames().get(main_id)
                top = [fr for fr in (traceback.extract_stack(frame) if frame else []) if "fleet_reports" in fr.filename]
                print(f"rss {rss / 2**20:.0f} MB at {top[-1].name if top else '-'}", file=sys.stderr)
            if rss > peak["rss"]:
                frame = sys._current_frames().get(main_id)
                stack = traceback.extract_stack(frame) if frame else []
                ours = [f"{fr.filename.split('fleet_reports/')[-1]}:{fr.lineno} {fr.name}" for fr in stack
                        if "fleet_reports" in fr.filename or "openpyxl" in fr.filename or "fpdf" in fr.filename]
                peak.update(rss=rss, where=" <- ".join(reversed(ours[-6:])))
            time.sleep(0.002)
    threading.Thread(target=sample, daemon=True).start()
ready = time.perf_counter()
poller = QueuePoller(queue_url, queue_arn, handler, function_name="WorkerFunction", batch_size=1)
n = poller.poll_once(boto3.client("sqs"), wait_s=5)
done = time.perf_counter()
print(json.dumps({"records": n, "cold_s": ready - t0, "job_s": done - ready,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_where": peak["where"]}))
"""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def download_times(base: str, h: str, report_id: int) -> list[str]:
    """Time of each ``download`` answer (the file, or the redirect to it), best of 3."""
    opener = urllib.request.build_opener(_NoRedirect)
    lines = []
    for fmt in ("pdf", "xlsx", "xls"):
        for headless in ("false", "true"):
            url = f"{base}/report/tracker/download?hash={h}&report_id={report_id}&format={fmt}&headless={headless}"
            best, status, size = float("inf"), 0, 0
            for _ in range(3):
                began = time.perf_counter()
                try:
                    with opener.open(url, timeout=60) as resp:
                        status, size = resp.status, len(resp.read())
                except urllib.error.HTTPError as exc:  # a 302 to the presigned URL
                    status, size = exc.code, 0
                best = min(best, time.perf_counter() - began)
            lines.append(
                f"  download {fmt:4} headless={headless:5}: HTTP {status}, {size:,} bytes in {best * 1000:.0f} ms"
            )
    return lines


def post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--tracker", type=int, default=669673)
    parser.add_argument("--memory-profile", action="store_true", help="print where the worker is at its RSS peak")
    args = parser.parse_args()

    stack = start(port=0, start_pollers=False)
    try:
        return run(args, stack)
    finally:
        stack.stop()


def run(args: argparse.Namespace, stack: Any) -> int:
    from fleet_reports.store import tracks

    last = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    days = [last - dt.timedelta(days=i) for i in range(args.days + 1)][::-1]  # + the UTC day before local day 1
    t0 = time.perf_counter()
    fixes = 0
    for day in days:
        track = ten_second_day(args.tracker, day)
        tracks.write_day(args.tracker, day, track)
        fixes += len(track)
    took = time.perf_counter() - t0
    print(f"wrote {fixes:,} fixes ({len(days)} UTC days at 10 s) for tracker {args.tracker} in {took:.1f} s")

    base, h = stack.api_url, stack.info["demo_hash"]
    # The demo user's zone is Europe/Moscow: whole local days, first 00:00 to last 23:59:59.
    request = {
        "hash": h,
        "title": f"{args.days}-day trips",
        "trackers": [args.tracker],
        "from": f"{days[0] + dt.timedelta(days=1)} 00:00:00",
        "to": f"{days[-1]} 23:59:59",
        "plugin": {"plugin_id": 4, "split": True, "filter": True, "show_idle_duration": True},
    }
    # The seed's example report is queued at start-up: run it first, so our job is alone.
    worker_env = {**os.environ, **stack.env}
    names = stack.resources.names
    queue = [names["ReportJobsQueue"], stack.resources.arns["ReportJobsQueue"]]
    subprocess.run([sys.executable, "-c", WORKER, *queue], env=worker_env, check=True, capture_output=True)

    t_generate = time.perf_counter()
    report_id = post(f"{base}/report/tracker/generate", request)["id"]
    extra = ["profile"] if args.memory_profile else []
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, *queue, *extra], env=worker_env, check=True, capture_output=True, text=True
    )
    worker = json.loads(proc.stdout.strip().splitlines()[-1])
    status = post(f"{base}/report/tracker/status", {"hash": h, "report_id": report_id})
    total = time.perf_counter() - t_generate
    assert status["percent_ready"] == 100 and status["state"] == "done", status

    report = post(f"{base}/report/tracker/retrieve", {"hash": h, "report_id": report_id})["report"]
    rows = sum(len(g["rows"]) for s in report["sheets"] for sec in s["sections"] for g in sec.get("data", []))
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {python}")
    print(f"command: python bench/bench_report_90d.py --days {args.days}")
    print(f"report {report_id}: {rows} trips over {args.days} days")
    print(f"generate -> percent_ready 100: {total:.2f} s (target < 10 s)")
    print(f"  worker process cold start (imports, handler load): {worker['cold_s']:.2f} s")
    print(f"  worker job (load {fixes:,} fixes, clean, segment, JSON, render 6 files, store): {worker['job_s']:.2f} s")
    print(f"worker peak memory (ru_maxrss): {worker['max_rss_mb']:.0f} MB (target < 512 MB)")
    print("download of the finished report (best of 3, the answer only: file or redirect):")
    for line in download_times(base, h, report_id):
        print(line)
    if args.memory_profile:
        print(f"  at the peak: {worker['peak_where']}")
        print(proc.stderr[-3000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
