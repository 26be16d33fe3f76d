"""Time from `generate` to `percent_ready: 100` for the seed's trip report on the local stack.

Run: .venv/bin/python bench/bench_local_report.py [--runs N]
Starts the local stack in-process (moto server, gateway, worker poller, demo fleet), then
sends the documentation's generate example over loopback and polls status every 20 ms.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import urllib.request
from typing import Any

from fleet_reports.local.stack import SEED_GENERATE, start


def post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def run_once(base: str, h: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    rid = post(f"{base}/report/tracker/generate", {"hash": h, **SEED_GENERATE})["id"]
    t_accepted = time.perf_counter() - t0
    while True:
        body = post(f"{base}/report/tracker/status", {"hash": h, "report_id": rid})
        if body["percent_ready"] == 100 or body.get("state") == "failed":
            break
        time.sleep(0.02)
    total = time.perf_counter() - t0
    post(f"{base}/report/tracker/delete", {"hash": h, "report_id": rid})
    return t_accepted, total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    t0 = time.perf_counter()
    stack = start(port=0)
    print(f"local stack up with the demo fleet in {time.perf_counter() - t0:.1f} s")
    base, h = stack.api_url, stack.info["demo_hash"]
    while post(f"{base}/report/tracker/status", {"hash": h, "report_id": 1234567})["percent_ready"] != 100:
        time.sleep(0.05)
    results = [run_once(base, h) for _ in range(args.runs)]
    stack.stop()
    accepted = [a for a, _ in results]
    totals = [t for _, t in results]
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"generate answered in       median {statistics.median(accepted) * 1000:.0f} ms")
    print(
        f"generate -> percent 100    median {statistics.median(totals) * 1000:.0f} ms "
        f"(min {min(totals) * 1000:.0f}, max {max(totals) * 1000:.0f}, {args.runs} runs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
