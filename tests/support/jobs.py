"""Report jobs on moto, as the reliability tests drive them: generate the golden trips request,
take its job message as Lambda's poller does, invoke the worker with it, and check that a report
is complete (one report, the golden document, exactly its six files, nothing left to do)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from fleet_reports.demo import ACCESS, OWNER_ID

from tests.support.golden import ALL_DAY, CASES, GOLDEN, SEED, canonical
from tests.support.invariants import assert_nothing_generating
from tests.support.lambdas import Lambdas

HASH = ACCESS.owner_hash
REQUEST = {"hash": HASH, "title": "Golden", "time_filter": ALL_DAY, **SEED, **CASES["trips-seed"]}
GOLDEN_REPORT = GOLDEN / "trips-seed.json"
WAIT_S = 60


class WorkerKilled(BaseException):
    """The worker's process dies here: nothing after this point runs (no except, no finally that
    catches Exception), as when Lambda's sandbox is killed or runs out of memory."""


def generate(demo: Lambdas) -> int:
    status, body, _ = demo.api("GenerateFunction", REQUEST)
    assert status == 200 and body["success"], body
    return int(body["id"])


def job_of(report_id: int) -> str:
    return json.dumps({"pool": OWNER_ID, "report_id": report_id})


def queue_url(demo: Lambdas, name: str = "ReportJobsQueue") -> str:
    return str(demo.resources.names[name])


def receive(demo: Lambdas, visibility_s: int) -> dict[str, Any]:
    """Take the next job message as Lambda's poller does, invisible for ``visibility_s``."""
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queue_url(demo), MaxNumberOfMessages=1, VisibilityTimeout=visibility_s, AttributeNames=["All"]
    )["Messages"]
    assert len(messages) == 1
    return dict(messages[0])


def invoke_worker(demo: Lambdas, message: dict[str, Any]) -> bool:
    """One worker invocation with this message, as Lambda's event source mapping sends it (the
    environment is already the worker's); whether the message is done with (else it is retried)."""
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from fleet_reports.local.gateway import LambdaContext

    record = poller(demo)._record(message)
    try:
        result = demo.handler("WorkerFunction")({"Records": [record]}, LambdaContext("WorkerFunction"))
    except BatchProcessingError:  # every record of the batch failed: Lambda retries the batch
        return False
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    return message["MessageId"] not in failed


def poller(demo: Lambdas) -> Any:
    from fleet_reports.local.poller import QueuePoller

    return QueuePoller(
        queue_url(demo),
        demo.resources.arns["ReportJobsQueue"],
        demo.handler("WorkerFunction"),
        function_name="WorkerFunction",
        batch_size=1,
        retry_delay_s=0,
    )


def assert_one_complete_report(demo: Lambdas, report_id: int) -> None:
    """The report is done, its document is the golden trips report, it has exactly one set of
    files (the six the report names, with the sizes it records), nothing is left to do."""
    from fleet_reports.store import reports as store

    status, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert (status, body["state"], body["percent_ready"]) == (200, "done", 100), body
    _, body, _ = demo.api("ListFunction", {"hash": HASH})
    assert [r["id"] for r in body["list"]] == [report_id]
    status, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    assert status == 200, body
    golden = json.loads(GOLDEN_REPORT.read_text(encoding="utf-8"))
    assert canonical({**body["report"], "id": golden["id"]}) == GOLDEN_REPORT.read_text(encoding="utf-8")

    demo.use_env("WorkerFunction")
    record = store.get_report(OWNER_ID, report_id)
    assert record is not None and len(record.files) == 6
    listed = boto3.client("s3").list_objects_v2(
        Bucket=demo.resources.names["ReportsBucket"], Prefix=f"reports/{report_id}/"
    )
    stored = {o["Key"]: o["Size"] for o in listed.get("Contents", [])}
    assert stored == {f.key: f.size for f in record.files.values()}

    demo.run_worker()  # whatever delivery is still due finds the report finished
    assert_nothing_generating(demo.resources.names["ReportsTable"], pools=(OWNER_ID,))
    assert_queues_empty(demo)


def assert_queues_empty(demo: Lambdas, *, dead_letters: int = 0) -> None:
    sqs = boto3.client("sqs")
    for name, expected in (("ReportJobsQueue", 0), ("ReportJobsDLQ", dead_letters)):
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url(demo, name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        counts = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        assert counts == expected, (name, attrs)
