"""A cold start loads only what answering needs (issue #12, "Cold starts").

Structural checks, not timings (``bench/bench_import.py`` times them). Each handler module is
loaded in a fresh interpreter with the variables Lambda sets, so Powertools acts as deployed
(tracing on, not disabled as in the other tests). An API handler must not import the X-Ray SDK
(its traces come from Lambda's active tracing, see ``fleet_reports.observability``), boto3 (its
clients are made at the first store call) or a compute library (numpy, pyarrow, openpyxl, fpdf2,
xlwt: the worker's). Without the SDK an API handler still logs, with the invocation's X-Ray trace
id, and still emits its metrics. The worker keeps Powertools' tracer: the SDK is loaded and
botocore patched, so each store call of a job stays an X-Ray subsegment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleet_reports import contract

from tests.support.paths import ROOT

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
NEVER_ON_THE_API_PATH = {"aws_xray_sdk", "boto3", "numpy", "pyarrow", "openpyxl", "fpdf", "xlwt"}

LOAD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
patcher = sys.modules.get("aws_xray_sdk.core.patcher")
print(json.dumps({
    "modules": sorted({name.split(".")[0] for name in sys.modules}),
    "patched": sorted(patcher._PATCHED_MODULES) if patcher else [],
    "handler": callable(getattr(module, "handler", None)),
}))
"""


INVOKE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

class Context:
    function_name = "status"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:status"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

answer = module.handler(json.loads(sys.argv[2]), Context())
print(json.dumps({"answer": json.loads(answer["body"]), "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def handler_file(logical_id: str) -> Path:
    """functions/<name>/app.py of a function (``StatusFunction`` -> functions/status/app.py)."""
    return ROOT / "functions" / logical_id.removesuffix("Function").lower() / "app.py"


def lambda_env(app: Path) -> dict[str, str]:
    """What Lambda gives a function with active tracing, and the template's Powertools variables;
    none of the function's own settings (no table, bucket or queue to reach)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_", "_X_AMZN")) and k not in contract.ENV_SOURCES
    }
    env.update(
        LAMBDA_TASK_ROOT=str(app.parent),
        AWS_LAMBDA_FUNCTION_NAME=app.parent.name,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_SERVICE_NAME="fleet-reports",
        POWERTOOLS_METRICS_NAMESPACE="FleetReports",
        POWERTOOLS_LOG_LEVEL="INFO",
        _X_AMZN_TRACE_ID=f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
        PYTHONPATH=os.pathsep.join([str(ROOT / "shared"), env.get("PYTHONPATH", "")]),
    )
    return env


def cold_load(app: Path) -> dict[str, Any]:
    """Load one handler module as the Lambda runtime would, in a fresh interpreter; what it loaded."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD, str(app)],
        capture_output=True,
        text=True,
        check=True,
        env=lambda_env(app),
        cwd=app.parent,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_every_api_function_has_a_handler_file_here() -> None:
    # Given the API functions of the contract
    # Then each has its handler module where this file looks for it
    for logical_id in contract.API_FUNCTIONS:
        assert handler_file(logical_id).is_file(), logical_id


@pytest.mark.parametrize("logical_id", sorted(contract.API_FUNCTIONS))
def test_an_api_handler_loads_no_xray_sdk_no_boto3_and_no_compute_library(logical_id: str) -> None:
    # Given an API function's handler module, loaded cold with tracing on as in Lambda
    loaded = cold_load(handler_file(logical_id))
    # Then it has its handler
    assert loaded["handler"]
    # And it loaded neither the X-Ray SDK, nor boto3, nor numpy, pyarrow, openpyxl, fpdf2 or xlwt
    assert not NEVER_ON_THE_API_PATH & set(loaded["modules"])
    # And nothing was patched for X-Ray
    assert loaded["patched"] == []


def test_the_worker_still_traces_its_store_calls_with_the_xray_sdk() -> None:
    # Given the worker's handler module, loaded cold with tracing on as in Lambda
    loaded = cold_load(handler_file(contract.WORKER))
    # Then Powertools' tracer loaded the X-Ray SDK and patched botocore (a subsegment per AWS call)
    assert "aws_xray_sdk" in loaded["modules"]
    assert "botocore" in loaded["patched"]
    # And the compute libraries still wait for the first job
    assert not {"numpy", "pyarrow", "openpyxl", "fpdf", "xlwt"} & set(loaded["modules"])


def test_an_api_handler_without_the_sdk_still_logs_with_the_trace_id_and_emits_its_metrics() -> None:
    # Given the status function deployed without its table names, invoked cold with tracing on
    app = handler_file(contract.STATUS)
    event = json.loads((ROOT / "events" / "status.json").read_text())
    out = subprocess.run(
        [sys.executable, "-c", INVOKE, str(app), json.dumps(event)],
        capture_output=True,
        text=True,
        check=True,
        env=lambda_env(app),
        cwd=app.parent,
    )
    *emitted, last = (json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))
    # Then it answers 6 (misconfigured), still without the X-Ray SDK
    assert last["answer"]["status"]["code"] == 6
    assert "aws_xray_sdk" not in last["modules"]
    # And its error was logged with the Lambda context, the cold start and the invocation's trace id
    logged = [e for e in emitted if e.get("message") == "function misconfigured"]
    assert len(logged) == 1
    assert logged[0]["level"] == "ERROR"
    assert logged[0]["cold_start"] is True
    assert logged[0]["xray_trace_id"] == TRACE_ID
    assert logged[0]["function_request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    # And its metrics went out as CloudWatch's embedded format: one request of the status action
    metrics = [e for e in emitted if "_aws" in e]
    assert len(metrics) == 1
    definition = metrics[0]["_aws"]["CloudWatchMetrics"][0]
    assert definition["Namespace"] == "FleetReports"
    assert {"Name": "Requests", "Unit": "Count"} in definition["Metrics"]
    assert definition["Dimensions"] == [["action", "service"]]
    assert metrics[0]["Requests"] == [1.0]
    assert metrics[0]["action"] == "status"
    assert metrics[0]["service"] == "fleet-reports"
