"""What the per-caller request count (service.limits) costs the cheap actions on the local stack.

Run: .venv/bin/python bench/bench_rate_limit.py [--calls 400]

Starts the local stack in-process (moto server over loopback, the demo fleet, no saved state,
``CallerRateLimit`` at its maximum so that the bench itself is never refused),
waits for the documentation's example report, then calls the status, list and retrieve handlers
in-process (as the gateway calls them, without HTTP) ``--calls`` times each, with the count
and with ``service.limits.count`` replaced by a no-op, interleaved per call; the first 10% are
left out (warm-up). Also times ``store.ratelimit.take`` alone: one conditional UpdateItem.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from fleet_reports.local.gateway import LambdaContext, api_event
from fleet_reports.local.stack import start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()

    from fleet_reports.service import limits
    from fleet_reports.store import ratelimit

    stack = start(port=0, state_dir=None, save_every_s=None, parameter_overrides={"CallerRateLimit": "10000"})
    try:
        h, rid = stack.info["demo_hash"], int(stack.info["seed_report_id"])
        deadline = time.monotonic() + 300
        while True:
            status = stack.handlers["StatusFunction"](
                api_event("GET", "/report/tracker/status", f"hash={h}&report_id={rid}", {}, b"", "127.0.0.1"),
                LambdaContext("StatusFunction"),
            )
            if json.loads(status["body"]).get("percent_ready") == 100 or time.monotonic() > deadline:
                break
            time.sleep(0.1)

        checked = limits.count

        def unchecked(*_: Any, **__: Any) -> None:
            return None

        def call(function: str, path: str, query: str) -> Callable[[], float]:
            handler = stack.handlers[function]

            def once() -> float:
                event = api_event("GET", path, query, {}, b"", "127.0.0.1")
                t0 = time.perf_counter()
                answer = handler(event, LambdaContext(function))
                elapsed = time.perf_counter() - t0
                assert answer["statusCode"] == 200, answer
                return elapsed

            return once

        actions = {
            "status": call("StatusFunction", "/report/tracker/status", f"hash={h}&report_id={rid}"),
            "list": call("ListFunction", "/report/tracker/list", f"hash={h}"),
            "retrieve": call("RetrieveFunction", "/report/tracker/retrieve", f"hash={h}&report_id={rid}"),
        }
        warm = args.calls // 10
        print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
        print(f"{'action':<9} {'counted p50':>12} {'p99':>8} {'uncounted p50':>14} {'p99':>8}   (ms)")
        for name, once in actions.items():
            counted: list[float] = []
            bare: list[float] = []
            for _ in range(args.calls):
                limits.count = checked  # type: ignore[assignment]
                counted.append(once())
                limits.count = unchecked  # type: ignore[assignment]
                bare.append(once())
            limits.count = checked  # type: ignore[assignment]
            counted, bare = counted[warm:], bare[warm:]
            print(
                f"{name:<9} {percentile(counted, 0.5) * 1e3:12.1f} {percentile(counted, 0.99) * 1e3:8.1f}"
                f" {percentile(bare, 0.5) * 1e3:14.1f} {percentile(bare, 0.99) * 1e3:8.1f}"
            )
        takes: list[float] = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            ratelimit.take("USER#0", "requests_per_second", 1_000_000, 1)
            takes.append(time.perf_counter() - t0)
        takes = takes[warm:]
        print(
            f"ratelimit.take alone: p50 {percentile(takes, 0.5) * 1e3:.2f} ms,"
            f" p99 {percentile(takes, 0.99) * 1e3:.2f} ms"
        )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
