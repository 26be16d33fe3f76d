"""Bad input and bad luck: enveloped errors, never a stuck report, a leaked slot or a lost file."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from fleet_reports.demo import OWNER_ID

from tests.support.api import HASH, generate
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE


def error_of(demo: Lambdas, function: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    status, body, _ = demo.api(function, **kw)
    assert body["success"] is False, body
    return status, body


@pytest.mark.parametrize(
    "body",
    [
        '{"hash": "' + HASH + '", "trackers": [' + "9" * 5000 + "]}",  # an integer too long to convert
        "[" * 200_000 + "]" * 200_000,  # nested deeper than any parser allows
        '{"hash": "' + HASH + '", "trackers": [NaN]}',  # not JSON
    ],
    ids=["huge-int", "deep-nesting", "nan"],
)
def test_unparseable_bodies_are_code_5(demo: Lambdas, body: str) -> None:
    # Given a body no JSON parser should accept, When it is posted, Then 5 comes back in the envelope
    status, answer = error_of(demo, "GenerateFunction", body=body)
    assert (status, answer["status"]["code"]) == (400, 5)


def test_hash_with_a_trailing_newline_is_malformed(demo: Lambdas) -> None:
    # Given the demo hash followed by a newline, Then it is a wrong hash format (3), not unknown (4)
    _, body = error_of(demo, "ListFunction", params={"hash": HASH + "\n"})
    assert body["status"]["code"] == 3


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"time_filter": {"from": "12:00\n", "to": "18:00", "weekdays": [1]}}, "time_filter.from"),
        ({"plugin": {"plugin_id": "four"}}, "plugin.plugin_id"),
        ({"from": "0001-01-01T00:00:00+14:00", "iso_datetime": True}, "from"),
        ({"to": "9999-12-31T23:00:00-12:00", "iso_datetime": True}, "to"),
    ],
)
def test_bad_values_name_their_parameter(demo: Lambdas, overrides: dict[str, Any], parameter: str) -> None:
    # Given a generate request with one bad value, When it is sent
    _, body = error_of(demo, "GenerateFunction", params={"hash": HASH, **SEED_GENERATE, **overrides})
    # Then 7 names that parameter
    assert body["status"]["code"] == 7
    assert parameter in [e["parameter"] for e in body["errors"]], body


def test_missing_trackers_come_before_an_unknown_plugin(demo: Lambdas) -> None:
    # Given no trackers and an unknown plugin, Then the parameter error (7) wins, as docs/api.md orders
    params = {k: v for k, v in SEED_GENERATE.items() if k != "trackers"}
    _, body = error_of(demo, "GenerateFunction", params={"hash": HASH, **params, "plugin": {"plugin_id": 999}})
    assert body["status"]["code"] == 7 and body["errors"][0]["parameter"] == "trackers"


def test_unknown_plugin_options_are_ignored_not_stored(demo: Lambdas) -> None:
    # Given a plugin with a huge unknown option
    plugin = {**SEED_GENERATE["plugin"], "x": "a" * 300_000, "y": 10**45}
    # When generate is called, Then the report is accepted and the option is nowhere
    report_id = generate(demo, plugin=plugin)
    _, body, _ = demo.api("ListFunction", {"hash": HASH})
    stored = next(r for r in body["list"] if r["id"] == report_id)["parameters"]["plugins"][0]
    assert stored["plugin_id"] == 4 and "x" not in stored and "y" not in stored


def test_a_store_failure_while_finishing_on_the_last_attempt_fails_the_report(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a report whose final write fails on every attempt
    report_id = generate(demo)
    from fleet_reports.store import reports as store
    from fleet_reports.store.errors import StoreError

    def refuse(*args: Any, **kwargs: Any) -> bool:
        raise StoreError("finish: throttled (arn:aws:dynamodb:eu-west-1:123456789012:table/secret)")

    monkeypatch.setattr(store, "finish", refuse)

    # When the worker has tried as often as allowed
    demo.run_worker(max_batches=10)

    # Then the report is failed, the reason leaks nothing, and its slot is free again
    _, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert body["state"] == "failed" and "storage" in body["error"] and "arn:" not in body["error"]
    monkeypatch.undo()
    for _ in range(5):
        generate(demo)  # the parallel cap (5) is not eaten by the failed report


def test_a_report_abandoned_by_its_worker_is_failed_when_looked_at(demo: Lambdas) -> None:
    # Given a report left running by a worker that died, its lease long expired
    report_id = generate(demo)
    from fleet_reports.store import reports as store

    outcome, _ = store.claim(OWNER_ID, report_id, "dead-worker", lease_seconds=-10_000)
    assert outcome == "claimed"

    # When its owner asks for its status
    _, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})

    # Then it is failed with a reason instead of running forever, and it no longer holds a slot
    assert body["state"] == "failed" and "stopped without finishing" in body["error"]
    for _ in range(5):
        generate(demo)


def test_retrieve_in_iso_mode_gives_iso_times(demo: Lambdas) -> None:
    # Given a finished report
    report_id = generate(demo)
    demo.run_worker()
    # When it is retrieved with ISO dates
    _, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id, "iso_datetime": True})
    # Then its period is ISO 8601 with the user's offset (Moscow, +03:00)
    assert body["report"]["from"] == "2020-10-05T00:00:00+03:00"
    assert body["report"]["to"] == "2020-10-06T23:59:59+03:00"


def test_delete_removes_files_even_when_the_worker_wrote_late(demo: Lambdas) -> None:
    # Given a finished report with its files
    report_id = generate(demo)
    demo.run_worker()
    bucket = demo.resources.names["ReportsBucket"]
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"reports/{report_id}/")["KeyCount"] > 0
    # When it is deleted
    status, body, _ = demo.api("DeleteFunction", {"hash": HASH, "report_id": report_id})
    # Then the record and every file are gone
    assert (status, body) == (200, {"success": True})
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"reports/{report_id}/")["KeyCount"] == 0


def test_a_failed_attempt_is_retried_after_a_backoff_not_the_whole_timeout(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queued report whose first attempt will fail, and its message as Lambda receives it
    report_id = generate(demo)
    demo.use_env("WorkerFunction")
    queue_url = demo.resources.names["ReportJobsQueue"]
    sqs = boto3.client("sqs")
    message = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=5400, AttributeNames=["All"])["Messages"][0]
    import fleet_reports.engine.report as engine_report
    from fleet_reports.service.worker import Delivery, Job, process

    def flaky(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a transient failure")

    monkeypatch.setattr(engine_report, "build_report", flaky)
    from fleet_reports.service import worker

    monkeypatch.setattr(worker, "RETRY_BASE_SECONDS", 1)  # the real base is 30 s; the mechanism is the same

    # When the worker's attempt fails
    with pytest.raises(RuntimeError):
        process(
            Job(pool=OWNER_ID, report_id=report_id),
            1,
            Delivery(demo.resources.arns["ReportJobsQueue"], message["ReceiptHandle"]),
        )

    # Then the report is queued again and its message is back after the backoff, not after 5400 s
    _, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert body["state"] == "queued"
    assert not sqs.receive_message(QueueUrl=queue_url).get("Messages")
    time.sleep(1.5)
    again = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    assert [m["MessageId"] for m in again] == [message["MessageId"]]
