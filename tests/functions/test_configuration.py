"""A function deployed without a variable it needs fails at its first invocation, loudly, naming it."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from fleet_reports.demo import OWNER_ID
from fleet_reports.settings import ConfigError

from tests.support.api import HASH, generate
from tests.support.lambdas import Lambdas
from tests.support.seed import load_event

# A function that fails at once has published no metric yet: Powertools warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def invoke_without(demo: Lambdas, monkeypatch: pytest.MonkeyPatch, function: str, variable: str, event: Any) -> Any:
    """Invoke ``function`` with its template environment less ``variable``."""
    from fleet_reports.local.gateway import LambdaContext

    demo.use_env(function)
    monkeypatch.delenv(variable)
    return demo.handler(function)(event, LambdaContext(function))


def errors_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def test_an_api_function_without_its_table_answers_6_and_logs_the_variable(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a report, and the status function deployed without REPORTS_TABLE
    report_id = generate(demo)
    from fleet_reports.local.gateway import api_event

    body = json.dumps({"hash": HASH, "report_id": report_id}).encode()
    event = api_event("POST", "/report/tracker/status", "", {"Content-Type": "application/json"}, body, "127.0.0.1")

    # When it is called
    with caplog.at_level(logging.ERROR):
        result = invoke_without(demo, monkeypatch, "StatusFunction", "REPORTS_TABLE", event)

    # Then the caller gets the unexpected-error envelope (6), with a correlation id and no internals
    answer = json.loads(result["body"])
    assert (result["statusCode"], answer["success"], answer["status"]["code"]) == (500, False, 6)
    assert answer["correlation_id"] in answer["status"]["description"]
    assert "REPORTS_TABLE" not in result["body"]
    # And the log names the function and the missing variable
    assert "StatusFunction is misconfigured: environment variable REPORTS_TABLE is not set" in errors_logged(caplog)


def test_the_worker_without_its_bucket_fails_before_claiming_the_report(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a queued report, and the worker deployed without REPORTS_BUCKET
    report_id = generate(demo)
    event = load_event("worker.json")
    event["Records"][0]["body"] = json.dumps({"pool": OWNER_ID, "report_id": report_id})

    # When its job arrives, Then the invocation fails (the batch returns to the queue), logged
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError) as raised:
        invoke_without(demo, monkeypatch, "WorkerFunction", "REPORTS_BUCKET", event)
    assert raised.value.variables == ("REPORTS_BUCKET",)
    assert "WorkerFunction is misconfigured: environment variable REPORTS_BUCKET is not set" in errors_logged(caplog)

    # And the report was not touched: still queued, for a worker that is configured
    _, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert (body["state"], body["percent_ready"]) == ("queued", 0)


def test_the_importer_without_its_table_fails_loudly(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError):
        invoke_without(demo, monkeypatch, "ImportFunction", "FLEET_TABLE", load_event("import.json"))
    assert "ImportFunction is misconfigured: environment variable FLEET_TABLE is not set" in errors_logged(caplog)
