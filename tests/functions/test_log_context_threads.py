"""Each invocation logs with its own context, even when handlers of different functions run at once
in threads of one process, as on the local stack: an API error is never logged as another
function's, and no key a handler adds (``s3_key``, ``report_id``) reaches another's lines."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response

from fleet_reports import contract
from fleet_reports.entry import ImportFailed, api_handler, import_handler
from fleet_reports.local.gateway import LambdaContext, api_event
from fleet_reports.observability import logger as powertools
from fleet_reports.settings import get_settings

from tests.support.lambdas import BASE_ENV, Lambdas

WAIT_S = 30  # a bound on each wait, so that a broken handshake fails instead of hanging


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the Powertools logger writes (its JSON lines), at INFO."""
    stream = io.StringIO()
    level = powertools.log_level
    previous = powertools.logger_handler.setStream(stream)  # type: ignore[attr-defined]
    powertools.setLevel("INFO")
    try:
        yield stream
    finally:
        powertools.setLevel(level)
        powertools.logger_handler.setStream(previous)  # type: ignore[attr-defined]


def _both_environments(lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch, *functions: str) -> None:
    """The functions' environments together in this process, as the local stack sets them."""
    for function in functions:
        for key, value in lambdas.envs[function].items():
            monkeypatch.setenv(key, value)
    for key, value in BASE_ENV.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


def _s3_event(*keys: str) -> dict[str, Any]:
    return {"Records": [{"s3": {"bucket": {"name": "tracks"}, "object": {"key": key}}} for key in keys]}


def test_two_functions_running_at_once_each_log_their_own_context(
    lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch, lines: io.StringIO
) -> None:
    # Given the list function and the import function in one process, as the local stack runs them
    _both_environments(lambdas, monkeypatch, contract.LIST, contract.IMPORT)
    import_started, api_started, import_done = threading.Event(), threading.Event(), threading.Event()

    def failing_import(bucket: str, key: str) -> Any:
        # the first file waits, mid-import, until the API invocation has begun; both fail
        if key == "incoming/1/first.csv":
            import_started.set()
            assert api_started.wait(WAIT_S)
        raise RuntimeError(f"cannot import {key}")

    def failing_action(event: Mapping[str, Any]) -> Response[Any]:
        # the API action begins while the import runs, and fails once the import has logged
        api_started.set()
        assert import_done.wait(WAIT_S)
        raise RuntimeError("the store went away")

    monkeypatch.setattr("fleet_reports.service.imports.import_object", failing_import)
    importer = import_handler()
    api = api_handler(contract.API_ROUTES[contract.LIST], failing_action)
    request = api_event("POST", contract.API_ROUTES[contract.LIST], "", {}, b"{}", "127.0.0.1")
    answers: dict[str, Any] = {}
    import_context, api_context = LambdaContext(contract.IMPORT), LambdaContext(contract.LIST)

    def run_import() -> None:
        try:
            importer(_s3_event("incoming/1/first.csv", "incoming/1/second.csv"), import_context)
        except ImportFailed as exc:
            answers["import"] = exc
        finally:
            import_done.set()

    # When the import starts, the API invocation starts while the import is inside a file, and the
    # import logs both of its failures (the second with its own s3_key) before the API logs its error
    worker = threading.Thread(target=run_import)
    worker.start()
    assert import_started.wait(WAIT_S)
    answers["api"] = api(request, api_context)
    worker.join(WAIT_S)
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]

    # Then both invocations failed as they should: the import to be retried, the API with 6
    assert isinstance(answers["import"], ImportFailed)
    assert json.loads(answers["api"]["body"])["status"]["code"] == 6
    # And the import's two failures name the import function and their own file
    failures = [line for line in logged if line["message"] == "import failed; the event will be retried"]
    assert [(f["function_name"], f["function_request_id"], f["s3_key"]) for f in failures] == [
        (contract.IMPORT, import_context.aws_request_id, "incoming/1/first.csv"),
        (contract.IMPORT, import_context.aws_request_id, "incoming/1/second.csv"),
    ]
    # And the API's error names the list function and its request, and carries no key of the import
    (error,) = [line for line in logged if line["message"] == "unexpected error"]
    assert (error["function_name"], error["function_request_id"]) == (contract.LIST, api_context.aws_request_id)
    assert error["correlation_id"] == request["requestContext"]["requestId"]
    assert "s3_key" not in error


def test_an_invocation_leaves_no_context_behind(
    lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch, lines: io.StringIO
) -> None:
    # Given an import that logged with its function's keys and a file's key
    _both_environments(lambdas, monkeypatch, contract.IMPORT)
    monkeypatch.setattr("fleet_reports.service.imports.import_object", lambda bucket, key: 1 / 0)
    with pytest.raises(ImportFailed):
        import_handler()(_s3_event("incoming/1/a.csv"), LambdaContext(contract.IMPORT))
    # When this thread logs again, outside any invocation
    powertools.info("between invocations")
    # Then the line has none of the invocation's keys
    *during, after = (json.loads(line) for line in lines.getvalue().splitlines())
    assert during[-1]["function_name"] == contract.IMPORT and during[-1]["cold_start"] is True
    assert after["message"] == "between invocations"
    assert not {"function_name", "function_request_id", "cold_start", "s3_key"} & set(after)
