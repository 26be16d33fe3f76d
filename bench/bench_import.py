"""Cold start of each Lambda handler: its module's import, its first call, its first store client.

Run: .venv/bin/python bench/bench_import.py [--runs N] [--opt DIR ...]

Each run is a fresh interpreter that loads functions/<name>/app.py the way the Lambda runtime
does (the module file executed from the function's folder, with Lambda's variables, an
invocation's trace header and the function's own settings in the environment, so Powertools
behaves as deployed with active tracing) and times that load: what a cold start pays before the
first event, on top of the interpreter's own start. Per function: the min and the median wall
time of N runs, and the median CPU time (the steadier figure on a shared machine). The API
functions have a 300 ms budget (issue #12); the worker's and the importer's figures are for
information.

Then, in the same process:

* "first call": the API handler answers its first request, the function's event from events/
  without its hash (or password), so it answers code 4 (7 for auth) without a store call. That
  is what the import leaves to the first request (settings, request parsing, the resolver, logs,
  metrics), the store aside.
* "store client": what the first store call adds, whatever the function: importing boto3 and
  making the DynamoDB resource, after the handler's own imports (so it is cheaper when the
  handler already loaded part of botocore).

A cold start costs about the sum of the three, plus the network. Last, which modules of note
each handler loaded: an API handler that loads the X-Ray SDK or a compute library (numpy,
pyarrow, openpyxl, fpdf2, xlwt) fails the run (exit 1). The package is taken from this tree's
shared/, so a copy of an older tree measures that tree.

As deployed: ``--opt DIR`` (repeatable) puts built layers' python/ folders first on the path, as
Lambda's /opt/python, e.g. ``--opt .aws-sam/build/ApiLayer/python --opt
.aws-sam/build/DomainLayer/python`` after scripts/sam-build.sh, and writes no bytecode anywhere
(Lambda's /opt is read-only): a layer without .pyc files is then compiled at every cold start.
Run it with a python3.13 (the layers' bytecode is 3.13's); boto3 still comes from this
interpreter's site-packages, as from the runtime's /var/runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from fleet_reports import contract  # noqa: E402  (this tree's package, pure data)

BUDGET_MS = 300.0
HEAVY = ("aws_xray_sdk", "numpy", "pyarrow", "openpyxl", "fpdf", "xlwt")
"""Top-level packages an API handler must never load."""
NOTED = (*HEAVY, "boto3", "botocore")
BACKGROUND = {"worker", "import"}
"""Functions that serve no API request (SQS jobs, S3 imports): measured for information."""

COLD_START = """
import importlib.util, json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
sys.modules["app"] = mod
spec.loader.exec_module(mod)
out = {"ms": (time.perf_counter() - t0) * 1000, "cpu": (time.process_time() - c0) * 1000}
loaded = {m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(","))
if sys.argv[3]:
    class Context:
        function_name = "bench"
        function_version = "$LATEST"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        aws_request_id = "bench"
        log_group_name = "/aws/lambda/bench"
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 29000
    event = json.loads(sys.argv[3])
    t1 = time.perf_counter()
    answer = mod.handler(event, Context())
    out["first_ms"] = (time.perf_counter() - t1) * 1000
    out["code"] = json.loads(answer["body"]).get("status", {}).get("code", "ok")
    loaded |= {m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(","))
t2 = time.perf_counter()
import boto3
boto3.resource("dynamodb").Table("bench")
out["client_ms"] = (time.perf_counter() - t2) * 1000
out["loaded"] = sorted(loaded)
sys.stdout.flush()
print("\\n" + json.dumps(out))
"""


def logical_id(name: str) -> str:
    """functions/<name> -> the template's logical id (``status`` -> ``StatusFunction``)."""
    return f"{name.capitalize()}Function"


def dummy(variable: str) -> str:
    """A valid value for a function's setting (no AWS call is made with it)."""
    if variable.endswith("SPAN"):
        return "P90D"
    if variable.startswith("MAX_") or variable.endswith(("_DAYS", "_COUNT")):
        return "5"
    if variable.endswith("_URL"):
        return "https://sqs.us-east-1.amazonaws.com/123456789012/bench"
    return "bench"


def lambda_env(app: Path, opt: list[Path]) -> dict[str, str]:
    """The variables the Lambda runtime, the template's Globals and the function's own settings give."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_", "_"))}
    env.update({v: dummy(v) for v in contract.FUNCTION_ENV.get(logical_id(app.parent.name), ())})
    if opt:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    path = [*(str(d.resolve()) for d in opt), str(ROOT / "shared"), os.environ.get("PYTHONPATH", "")]
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(path).rstrip(os.pathsep),
            "LAMBDA_TASK_ROOT": str(app.parent),
            "AWS_LAMBDA_FUNCTION_NAME": f"bench-{app.parent.name}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            # An invocation's trace header, as Lambda sets it with active tracing; a traced handler
            # sends its segments to the daemon's usual address, on this machine's loopback.
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "POWERTOOLS_SERVICE_NAME": "fleet-reports",
            "POWERTOOLS_METRICS_NAMESPACE": "FleetReports",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def first_event(name: str) -> str:
    """The function's sample event without credentials ("" for the background functions)."""
    path = ROOT / "events" / f"{name}.json"
    if name in BACKGROUND or not path.exists():
        return ""
    event: dict[str, Any] = json.loads(path.read_text())
    secret = {"hash", "password"}
    for key in ("queryStringParameters", "multiValueQueryStringParameters"):
        if event.get(key):
            event[key] = {k: v for k, v in event[key].items() if k not in secret} or None
    if event.get("body"):
        event["body"] = json.dumps({k: v for k, v in json.loads(event["body"]).items() if k not in secret})
    return json.dumps(event)


def run(app: Path, opt: list[Path], event: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", COLD_START, str(app), ",".join(NOTED), event],
        capture_output=True,
        text=True,
        check=True,
        env=lambda_env(app, opt),
        cwd=app.parent,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per function (default 7)")
    parser.add_argument(
        "--opt", type=Path, action="append", default=[], metavar="DIR", help="a built layer's python/ folder"
    )
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {args.runs} fresh interpreters per function")
    for folder in args.opt:
        pyc = sum(1 for _ in folder.rglob("*.pyc"))
        print(f"layer {folder}: {pyc} .pyc files; no bytecode written")
    print(f"{'':<10} {'import, wall ms':>17} {'CPU ms':>8} {'first call':>12} {'store client':>13}")
    print(f"{'function':<10} {'min':>8} {'median':>8} {'median':>8} {'median ms':>12} {'median ms':>13}   loaded")
    bad: list[str] = []
    over: list[str] = []
    for app in sorted(ROOT.glob("functions/*/app.py")):
        name = app.parent.name
        event = first_event(name)
        runs = [run(app, args.opt, event) for _ in range(args.runs)]
        wall = [float(r["ms"]) for r in runs]
        loaded = sorted({m for r in runs for m in r["loaded"]})
        first = f"{median(runs, 'first_ms'):.1f} ({runs[0]['code']})" if event else "-"
        figures = f"{min(wall):>8.1f} {statistics.median(wall):>8.1f} {median(runs, 'cpu'):>8.1f} {first:>12}"
        role = " (background)" if name in BACKGROUND else ""
        print(f"{name:<10} {figures} {median(runs, 'client_ms'):>13.1f}   {', '.join(loaded) or '-'}{role}")
        if name not in BACKGROUND:
            bad += [f"{name}: {m}" for m in loaded if m in HEAVY]
            if statistics.median(wall) > BUDGET_MS:
                over.append(name)
    print(f"API handlers over {BUDGET_MS:.0f} ms (median import): {', '.join(over) or 'none'}")
    if bad:
        print("FAIL: an API handler loads " + "; ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
