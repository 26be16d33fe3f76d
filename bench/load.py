"""A bounded load on the local stack: many users generating mixed reports while imports run.

Run: make load            (10 users, 500 reports of mixed plugins, imports running alongside)
     .venv/bin/python bench/load.py --users 4 --threads 12 --reports 240    (issue #18's load)

Starts the local stack as ``make run`` does, in a process of its own (the API gateway on loopback,
moto's server in a process of its own, ``--workers`` processes each of the worker and the
importer, the demo fleet),
with the per-caller request limits raised (the load measures the pipeline, not the limiter:
``--parameter-overrides`` as ``make run PARAMS=...``), adds the users
the load needs as sub-users of the demo owner (their own report pools, the owner's trackers, the
same time zone and locale), then:

- each of ``--threads`` client threads (thread k acts for user k mod ``--users``) generates its
  share of the reports, mixed plugins and trackers, retrying after a pause when answered 15 (the
  user's parallel-report cap: ``MaxParallelReports``), polls ``status`` until each is finished,
  lists its reports, retrieves each report and downloads one file of it (not with ``--no-fetch``);
- a thread uploads track files (the demo trackers' days of March 2021, outside every report's
  period) under ``incoming/`` while the reports run; the import poller imports them.

At the end it checks, and exits non-zero unless each holds: every accepted report is ``done``
(none failed, none lost), each exactly once in its owner's list, with exactly its six files,
and its document is the one the same request gives alone (computed before the load, ids and
creation times aside); every user's generating count is zero with the queues drained; every
uploaded day is stored. It prints p50 / p99 of each action as the client saw it over loopback,
and as the gateway timed the handler in-process (``--durations``: the invocation's own time, as
Lambda reports an invocation's duration). The API handlers run in the stack's process, moto's
server in its own, the worker and the importer in theirs at a lower CPU priority, the client
threads in this one; the machine's cores are shared by all.
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
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support.invariants

TIME_FILTER = {"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]}

# The mix: plugins and trackers of the demo fleet over its documented days (2020-10-04..07).
MIX: list[dict[str, Any]] = [
    {"trackers": [669673], "plugin": {"plugin_id": 4}, "from": "2020-10-05 00:00:00", "to": "2020-10-06 23:59:59"},
    {"trackers": [123456, 345678], "plugin": {"plugin_id": 4, "show_idle_duration": True}},
    {"trackers": [669673, 123456], "plugin": {"plugin_id": 6}},
    {"trackers": [345678], "plugin": {"plugin_id": 7, "show_detailed": True}},
    {"trackers": [669673, 345678], "plugin": {"plugin_id": 27, "max_speed": 60}},
    {"trackers": [123456], "plugin": {"plugin_id": 8}},
    {
        "trackers": [669673],
        "plugin": {"plugin_id": 91},
        "from": "2020-10-05 06:00:00",
        "to": "2020-10-05 18:00:00",
    },
]
DEFAULT_PERIOD = {"from": "2020-10-04 00:00:00", "to": "2020-10-07 23:59:59"}
IMPORT_DAYS = [dt.date(2021, 3, d) for d in range(1, 11)]
LOAD_USER_BASE_ID = 910000


class StackProcess:
    """``make run`` in a process of its own (no saved state, the demo fleet, ``workers`` worker
    processes, the template parameters ``overrides``); this process then talks to its API and,
    for the checks, to its AWS endpoint, as any client would."""

    def __init__(self, workers: int, overrides: dict[str, str]) -> None:
        import subprocess
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="fleet-load-"))
        state = self.folder / "stack.json"
        self.durations = self.folder / "durations.txt"
        self.log = (self.folder / "stack.log").open("w")
        params = [f"{k}={v}" for k, v in overrides.items()]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleet_reports.local",
                "--port",
                "0",
                "--no-persist",
                "--state",
                str(state),
                "--workers",
                str(workers),
                "--durations",
                str(self.durations),
                "--parameter-overrides",
                *params,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        deadline = time.monotonic() + 180
        while not state.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start: see {self.folder / 'stack.log'}")
            time.sleep(0.2)
        self.info: dict[str, Any] = json.loads(state.read_text())
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.info["aws_endpoint_url"],
                "AWS_DEFAULT_REGION": self.info["region"],
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "FLEET_TABLE": self.info["fleet_table"],
            }
        )

    def durations_mark(self) -> int:
        return self.durations.stat().st_size if self.durations.exists() else 0

    def durations_since(self, mark: int) -> dict[str, list[float]]:
        """Each API function's invocation durations (ms, as the gateway timed its handler) written
        after ``mark`` (:meth:`durations_mark`)."""
        out: dict[str, list[float]] = defaultdict(list)
        with self.durations.open("rb") as f:
            f.seek(mark)
            for line in f.read().decode().splitlines():
                function, _, ms = line.partition(" ")
                out[function].append(float(ms))
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
        self.log.close()


class Client:
    """The API over loopback, each call timed (action -> latencies in ms)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)

    def call(self, action: str, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        path = {"download": "/report/tracker/download"}.get(action, f"/report/tracker/{action}")
        req = urllib.request.Request(self.base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, data, headers = resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            status, data, headers = exc.code, exc.read(), dict(exc.headers)
        elapsed = (time.perf_counter() - t0) * 1000
        with self.lock:
            self.times[action].append(elapsed)
        ctype = headers.get("Content-Type", "")
        return status, json.loads(data) if ctype.startswith("application/json") else data, headers


def request_of(k: int) -> dict[str, Any]:
    spec = MIX[k % len(MIX)]
    return {"title": f"Load {k % len(MIX)}", "time_filter": TIME_FILTER, **DEFAULT_PERIOD, **spec}


def comparable(doc: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in doc.items() if k not in ("id", "created")}, sort_keys=True)


def add_load_users(n: int) -> list[str]:
    """``n`` sub-users of the demo owner with the reports right (API keys returned)."""
    from fleet_reports.demo import DEMO_TRACKERS, OWNER_ID, demo_manifest
    from fleet_reports.service.manifest import Manifest
    from fleet_reports.service.manifest.apply import apply_manifest

    base = demo_manifest().model_dump(mode="json", exclude_none=True)
    owner = next(u for u in base["users"] if u["id"] == OWNER_ID)
    keys = [f"{LOAD_USER_BASE_ID + i:06d}".ljust(32, "a") for i in range(n)]
    for i, key in enumerate(keys):
        base["users"].append(
            {
                "id": LOAD_USER_BASE_ID + i,
                "login": f"load{i}@fleet.example",
                "parent": OWNER_ID,
                "rights": ["reports", "tracking"],
                "trackers": [t.id for t in DEMO_TRACKERS],
                "time_zone": owner["time_zone"],
                "locale": owner.get("locale", "en_US"),
                "measurement_system": owner.get("measurement_system", "metric"),
                "api_keys": [key],
            }
        )
    apply_manifest(Manifest.model_validate(base))
    return keys


POLL_S = 1.0  # how often a client asks for a report's status (--poll-seconds)
FETCH = True  # whether clients retrieve and download their reports (--no-fetch: they do not)


def wait_done(client: Client, h: str, report_id: int, deadline: float) -> dict[str, Any]:
    while True:
        _, body, _ = client.call("status", {"hash": h, "report_id": report_id})
        if body.get("state") in ("done", "failed") or time.monotonic() > deadline:
            return dict(body)
        time.sleep(POLL_S)


def run_user_thread(
    client: Client, h: str, indexes: list[int], out: dict[str, Any], deadline: float, lock: threading.Lock
) -> None:
    mine: list[tuple[int, int]] = []  # (report id, request index)
    pending = list(indexes)
    in_flight: list[tuple[int, int]] = []
    while (pending or in_flight) and time.monotonic() < deadline:
        if pending:
            k = pending[0]
            status, body, _ = client.call("generate", {"hash": h, **request_of(k)})
            if status == 200 and body.get("success"):
                in_flight.append((int(body["id"]), k))
                pending.pop(0)
                continue
            code = body.get("status", {}).get("code") if isinstance(body, dict) else None
            if code != 15:
                with lock:
                    out["refused"].append((h[:6], status, body))
                pending.pop(0)
                continue
            with lock:
                out["retries_15"] += 1
        # the cap is reached (or nothing left to send): finish the oldest report in flight
        if in_flight:
            report_id, k = in_flight.pop(0)
            final = wait_done(client, h, report_id, deadline)
            mine.append((report_id, k))
            with lock:
                out["final"][report_id] = (h, k, final)
        else:
            time.sleep(0.2)
    for report_id, k in in_flight:
        final = wait_done(client, h, report_id, deadline)
        mine.append((report_id, k))
        with lock:
            out["final"][report_id] = (h, k, final)
    client.call("list", {"hash": h})
    for report_id, _ in mine if FETCH else []:
        status, body, _ = client.call("retrieve", {"hash": h, "report_id": report_id})
        with lock:
            out["documents"][report_id] = body.get("report") if status == 200 else None
        status, _, _ = client.call("download", {"hash": h, "report_id": report_id, "format": "xlsx"})
        with lock:
            out["downloads"][report_id] = status


def upload_tracks(info: dict[str, Any], stop: threading.Event, uploaded: list[tuple[int, dt.date]]) -> None:
    import boto3

    from fleet_reports.demo import DEMO_TRACKERS, demo_track
    from fleet_reports.ingest.export import format_csv

    s3 = boto3.client("s3")
    bucket = info["track_bucket"]
    for day in IMPORT_DAYS:
        for tracker in DEMO_TRACKERS:
            if stop.is_set():
                return
            body = format_csv(demo_track(tracker.id, day))
            s3.put_object(Bucket=bucket, Key=f"incoming/{tracker.id}/load-{day.isoformat()}.csv", Body=body)
            uploaded.append((tracker.id, day))
            time.sleep(0.5)


def drained_and_counted(info: dict[str, Any], deadline: float) -> tuple[bool, dict[int, int], dict[int, list[int]]]:
    """Wait for every queue of the stack to be empty; then each pool's generating count and the
    reports still queued or running (tests/support/invariants.py)."""
    import boto3

    from tests.support.invariants import generating_counts, unfinished_reports

    sqs = boto3.client("sqs")
    queues = sqs.list_queues().get("QueueUrls", [])  # the template's queues and the local S3 events queue
    drained = False
    while time.monotonic() < deadline:
        depth = 0
        for url in queues:
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            depth += int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        if depth == 0:
            drained = True
            break
        time.sleep(0.5)
    table = info["reports_table"]
    return drained, generating_counts(table), unfinished_reports(table)


def listing(client: Client, keys: list[str]) -> dict[int, int]:
    """How many times each report id appears across the users' lists."""
    seen: dict[int, int] = defaultdict(int)
    for h in keys:
        _, body, _ = client.call("list", {"hash": h})
        for r in body.get("list", []):
            seen[int(r["id"])] += 1
    return seen


def files_per_report(info: dict[str, Any]) -> dict[int, int]:
    import boto3

    counts: dict[int, int] = defaultdict(int)
    paginator = boto3.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=info["reports_bucket"], Prefix="reports/"):
        for obj in page.get("Contents", []):
            name = obj["Key"].rsplit("/", 1)[-1]
            if name.startswith("report") and not name.endswith(".json.gz"):
                counts[int(obj["Key"].split("/")[1])] += 1
    return counts


def stored_days(info: dict[str, Any], uploaded: list[tuple[int, dt.date]]) -> int:
    import boto3

    s3 = boto3.client("s3")
    bucket = info["track_bucket"]
    n = 0
    for tracker_id, day in uploaded:
        prefix = f"tracks/tracker_id={tracker_id}/date={day.isoformat()}/"
        if s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0):
            n += 1
    return n


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def figures(values: list[float]) -> str:
    """calls, p50, p99 and max of ``values`` (ms), or dashes when there are none."""
    if not values:
        return f"{0:>6} {'-':>8} {'-':>8} {'-':>8}"
    return f"{len(values):>6} {statistics.median(values):>8.1f} {percentile(values, 0.99):>8.1f} {max(values):>8.1f}"


def main() -> int:  # noqa: C901 - one script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="client threads (default: one per user)")
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--max-minutes", type=float, default=40.0, help="give up (and fail) after this long")
    parser.add_argument("--no-imports", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="worker (and importer) processes of the stack")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="a client's status polling interval")
    parser.add_argument(
        "--no-fetch",
        action="store_true",
        help="clients neither retrieve nor download their reports (documents and files then not checked)",
    )
    args = parser.parse_args()
    threads = args.threads or args.users
    global POLL_S, FETCH  # one knob each for every client thread
    POLL_S, FETCH = args.poll_seconds, not args.no_fetch

    from fleet_reports.demo import ACCESS

    t0 = time.perf_counter()
    stack = StackProcess(args.workers, {"CallerRateLimit": "10000", "CallerGenerateLimit": "10000"})
    keys = [ACCESS.owner_hash, *add_load_users(args.users - 1)] if args.users > 1 else [ACCESS.owner_hash]
    client = Client(stack.info["api_url"])
    print(f"local stack up with the demo fleet and {len(keys)} users in {time.perf_counter() - t0:.1f} s")

    # the reference documents: each request of the mix alone, before the load
    references: dict[int, str] = {}
    for k in range(len(MIX)):
        status, body, _ = client.call("generate", {"hash": ACCESS.owner_hash, **request_of(k)})
        assert status == 200 and body["success"], body
        final = wait_done(client, ACCESS.owner_hash, int(body["id"]), time.monotonic() + 300)
        assert final["state"] == "done", final
        _, got, _ = client.call("retrieve", {"hash": ACCESS.owner_hash, "report_id": int(body["id"])})
        references[k] = comparable(got["report"])
        client.call("delete", {"hash": ACCESS.owner_hash, "report_id": int(body["id"])})
    client.times.clear()

    lock = threading.Lock()
    out: dict[str, Any] = {"final": {}, "documents": {}, "downloads": {}, "refused": [], "retries_15": 0}
    deadline = time.monotonic() + args.max_minutes * 60
    shares: list[list[int]] = [list(range(i, args.reports, threads)) for i in range(threads)]
    stop_uploads = threading.Event()
    uploaded: list[tuple[int, dt.date]] = []
    uploader = threading.Thread(target=upload_tracks, args=(stack.info, stop_uploads, uploaded), daemon=True)
    workers = [
        threading.Thread(
            target=run_user_thread, args=(client, keys[i % len(keys)], shares[i], out, deadline, lock), daemon=True
        )
        for i in range(threads)
    ]
    t_load = time.perf_counter()
    mark = stack.durations_mark()
    if not args.no_imports:
        uploader.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    load_s = time.perf_counter() - t_load
    in_handler = stack.durations_since(mark)
    stop_uploads.set()
    if uploader.is_alive():
        uploader.join()

    # let the queues drain, then check everything
    problems: list[str] = []
    drained, counts, unfinished = drained_and_counted(stack.info, deadline)
    finals = out["final"]
    states: defaultdict[str, int] = defaultdict(int)
    for _, _, final in finals.values():
        states[final.get("state", "?")] += 1
    if len(finals) != args.reports:
        problems.append(f"{args.reports - len(finals)} reports never accepted or never finished")
    if states.get("done", 0) != args.reports:
        problems.append(f"states: {dict(states)}")
    wrong = [
        rid
        for rid, (_, k, _) in finals.items()
        if FETCH
        and (out["documents"].get(rid) is None or comparable(out["documents"][rid]) != references[k % len(MIX)])
    ]
    if wrong:
        problems.append(f"{len(wrong)} documents differ from the same request alone (e.g. {wrong[:5]})")
    listed = listing(client, keys)
    twice = [rid for rid, n in listed.items() if n > 1]
    missing = [rid for rid in finals if listed.get(rid, 0) != 1]
    if twice or missing:
        problems.append(f"listed twice: {twice[:5]}, not listed once: {missing[:5]}")
    files = files_per_report(stack.info)
    if any(files.get(rid, 0) != 6 for rid in finals):
        problems.append(f"reports without exactly six files: {[r for r in finals if files.get(r, 0) != 6][:5]}")
    if out["refused"]:
        problems.append(f"{len(out['refused'])} generates refused with another code: {out['refused'][:3]}")
    bad_downloads = [rid for rid, s in out["downloads"].items() if s not in (200, 302)]
    if bad_downloads:
        problems.append(f"downloads that failed: {bad_downloads[:5]}")
    if not drained:
        problems.append("the queues did not drain in time")
    if any(counts.values()) or unfinished:
        problems.append(f"generating counts not back to zero: {counts}, unfinished: {unfinished}")
    stored = stored_days(stack.info, uploaded)
    if stored != len(uploaded):
        problems.append(f"{len(uploaded) - stored} of {len(uploaded)} uploaded days not stored")
    ok = not problems

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d')}"
    )
    print(
        f"{args.reports} reports by {len(keys)} users from {threads} threads in {load_s:.1f} s "
        f"({args.reports / load_s:.2f} reports/s); {out['retries_15']} generates answered 15 and retried; "
        f"{len(uploaded)} track files uploaded and imported alongside; status polled every {POLL_S:g} s"
    )
    compared = (
        f"documents identical to the request alone: {len(finals) - len(wrong)} of {len(finals)}"
        if FETCH
        else "documents and files not fetched (--no-fetch)"
    )
    print(f"states: {dict(states)}; {compared}; generating counts all zero: {not any(counts.values())}")
    columns = f"{'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(f"{'':<10} {'as the client saw it (loopback)':>33}   {'in the handler (the stack process)':>35}")
    print(f"{'action':<10} {columns}   {columns:>35}")
    for action in ("generate", "status", "list", "retrieve", "download"):
        row = f"{action:<10} {figures(client.times.get(action, []))}"
        print(f"{row}   {figures(in_handler.get(f'{action.capitalize()}Function', [])):>35}")
    for p in problems:
        print("PROBLEM:", p)
    stack.stop()
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
