"""Time and memory of the hostile requests of issue #18 (items 6, 7 and 10) on the local stack.

Run: .venv/bin/python bench/bench_hostile_requests.py [--only NAME ...] [--timeout-note]

Starts the local stack in-process (moto server over loopback, the demo fleet, no saved state,
the pollers stopped so that no worker runs beside the measures, the per-caller rates at their
maximum), then sends each hostile request to its handler in-process, as the gateway calls it
(an API Gateway event, the body base64). For each: the wall time of the call, the peak resident
memory above the process's resident memory just before it (Linux: ``/proc/self/clear_refs``
resets the high-water mark, ``VmHWM`` is read after the call; the moto server runs in the same
process, so its share is counted too), the HTTP status, the error code and the parameters the
answer names. After them, ``status`` and ``list`` of the owner (the stack still answers) and one
good report accepted beside them.

The target (issue #18): each refused within 1 s and 100 MB above the baseline.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleet_reports.local.gateway import LambdaContext, api_event
from fleet_reports.local.stack import SEED_GENERATE, start

PATHS = {
    "GenerateFunction": "/report/tracker/generate",
    "StatusFunction": "/report/tracker/status",
    "ListFunction": "/report/tracker/list",
}


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def cases(tracker: int, sensor: int, seed_report: int) -> dict[str, tuple[str, Callable[[], str]]]:
    """name -> (function, the JSON body as text); bodies are built when measured, not before."""

    def body(**overrides: Any) -> Callable[[], str]:
        return lambda: json.dumps({**SEED_GENERATE, **overrides}, separators=(",", ":"))

    def text(value: str) -> Callable[[], str]:
        return lambda: value

    huge = "9" * 4300  # the longest integer Python's JSON reader converts (sys.get_int_max_str_digits)
    return {
        "generate employees x 50,001": ("GenerateFunction", body(employees=list(range(1, 50_002)))),
        "generate plugin.sensors x 20,000": (
            "GenerateFunction",
            body(
                plugin={"plugin_id": 9, "sensors": [{"tracker_id": tracker, "sensor_id": i} for i in range(1, 20_001)]}
            ),
        ),
        "generate plugin.zone_ids x 150,000": (
            "GenerateFunction",
            body(plugin={"plugin_id": 8, "zone_ids": list(range(1, 150_001))}),
        ),
        "generate trackers x 200,000 bad ids": ("GenerateFunction", body(trackers=["x"] * 200_000)),
        "generate trackers x 50,000 (copies of one)": ("GenerateFunction", body(trackers=[tracker] * 50_000)),
        "generate employees x 1,000 (the limit, unknown)": ("GenerateFunction", body(employees=list(range(1, 1001)))),
        "generate plugin.zone_ids x 1,000 (the limit)": (
            "GenerateFunction",
            body(plugin={"plugin_id": 8, "zone_ids": [7, *range(1_000_001, 1_000_999 + 1)]}),
        ),
        "status report_id of 4,300 digits": ("StatusFunction", text('{"report_id": ' + huge + "}")),
        'status report_id "4,300 digits"': ("StatusFunction", text('{"report_id": "' + huge + '"}')),
        "generate trackers [4,300 digits]": (
            "GenerateFunction",
            text(json.dumps({**SEED_GENERATE, "trackers": []}).replace('"trackers": []', f'"trackers": [{huge}]')),
        ),
        "generate zone_ids [2^63]": ("GenerateFunction", body(plugin={"plugin_id": 8, "zone_ids": [2**63]})),
        'generate plugin_id "٤"': ("GenerateFunction", body(plugin={"plugin_id": "٤"})),
        "generate from ２０２０-10-05 (full-width)": ("GenerateFunction", body(**{"from": "２０２０-10-05 00:00:00"})),
        "generate from 2020-W41-1 (ISO week)": (
            "GenerateFunction",
            body(**{"from": "2020-W41-1T00:00:00+03:00", "to": "2020-10-06T23:59:59+03:00", "iso_datetime": True}),
        ),
        "generate from without offset (ISO mode)": (
            "GenerateFunction",
            body(**{"from": "2020-10-05T00:00:00", "to": "2020-10-06T23:59:59+03:00", "iso_datetime": True}),
        ),
        "status of the example report (after)": ("StatusFunction", text(json.dumps({"report_id": seed_report}))),
        "list (after)": ("ListFunction", text("{}")),
        "generate the example report (after)": ("GenerateFunction", body()),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None, help="names (substrings) of the cases to run")
    args = parser.parse_args()

    overrides = {"CallerRateLimit": "10000", "CallerGenerateLimit": "10000", "MaxParallelReports": "100"}
    stack = start(port=0, state_dir=None, save_every_s=None, parameter_overrides=overrides, start_pollers=False)
    try:
        from fleet_reports.demo import DEMO_TRACKERS

        owner_hash = stack.info["demo_hash"]
        tracker = int(SEED_GENERATE["trackers"][0])
        sensor = next(t for t in DEMO_TRACKERS if t.id == tracker).sensors[0].id
        chosen = cases(tracker, sensor, int(stack.info["seed_report_id"]))
        print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
        print(f"{'request':<44} {'body':>9} {'time s':>8} {'peak MB':>8}  answer")
        for name, (function, make) in chosen.items():
            if args.only and not any(part in name for part in args.only):
                continue
            data = make().encode()
            headers = {"Content-Type": "application/json", "Authorization": f"NVX {owner_hash}"}
            event = api_event("POST", PATHS[function], "", headers, data, "127.0.0.1")
            handler = stack.handlers[function]
            base = _kib("VmRSS")
            _reset_peak()
            t0 = time.perf_counter()
            result = handler(event, LambdaContext(function))
            elapsed = time.perf_counter() - t0
            peak_mb = max(0, _kib("VmHWM") - base) / 1024
            answer = json.loads(result["body"])
            if answer.get("success"):
                outcome = "success" + (f" id {answer['id']}" if "id" in answer else "")
            else:
                named = [e["parameter"] for e in answer.get("errors", [])]
                outcome = f"code {answer['status']['code']}" + (f" naming {', '.join(named[:3])}" if named else "")
                if not named:
                    outcome += f" ({answer['status']['description'][:70]})"
            print(f"{name:<44} {len(data):>9,} {elapsed:>8.3f} {peak_mb:>8.1f}  HTTP {result['statusCode']}, {outcome}")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
