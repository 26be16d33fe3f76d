"""Every report reaches done or failed and every parallel slot comes back, on moto: a job that
dead-letters before any worker claimed its report, a worker that dies on its last allowed
delivery, and a queued report whose job message no longer exists.

Before, only ``running`` reports were ever recovered (and only about two hours after a worker
died): a ``queued`` report whose message was gone held its owner's slot until its TTL.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from fleet_reports.demo import ACCESS, OWNER_ID

from tests.support.invariants import assert_nothing_generating
from tests.support.jobs import (
    REQUEST,
    WorkerKilled,
    assert_one_complete_report,
    generate,
    invoke_worker,
    job_of,
    queue_url,
    receive,
)
from tests.support.lambdas import Lambdas

HASH = ACCESS.owner_hash


def status_of(demo: Lambdas, report_id: int) -> dict[str, Any]:
    status, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert status == 200, body
    return dict(body)


def dead_letter_poller(demo: Lambdas) -> Any:
    """The worker's second event source: the jobs' dead-letter queue, each record naming the queue
    it came from (``DeadLetterQueueSourceArn``), as Lambda's poller gives it."""
    from fleet_reports.local.poller import QueuePoller
    from fleet_reports.local.stack import dead_letter_source

    demo.use_env("WorkerFunction")
    source = dead_letter_source(queue_url(demo, "ReportJobsDLQ"))
    assert source == demo.resources.arns["ReportJobsQueue"]
    return QueuePoller(
        queue_url(demo, "ReportJobsDLQ"),
        demo.resources.arns["ReportJobsDLQ"],
        lambda event, ctx: demo.invoke("WorkerFunction", event),
        function_name="WorkerFunction",
        retry_delay_s=0,
        dead_letter_source_arn=source,
    )


def queue_depth(demo: Lambdas, name: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(demo, name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """The store's clock, ``seconds`` from now (the reports table's lease and age checks)."""
    from fleet_reports.store import reports as store

    real = store._now
    monkeypatch.setattr(store, "_now", lambda: real() + seconds)


# ----------------------------------------------------------------------------- dead-lettered before a claim
def test_a_job_that_dead_letters_before_any_claim_fails_its_report_at_once(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two reports of one user: the first computes normally; every delivery of the second's
    # job fails before its report is claimed (the worker's invocation dies or errs first)
    good = generate(demo)
    doomed = generate(demo)
    from fleet_reports.store import reports as store

    real_claim = store.claim

    def claim(pool: int, report_id: int, *args: Any, **kwargs: Any) -> Any:
        if report_id == doomed:
            raise RuntimeError("the invocation failed before the claim")
        return real_claim(pool, report_id, *args, **kwargs)

    monkeypatch.setattr(store, "claim", claim)

    # When the worker takes the jobs queue until the redrive policy moves that job to the
    # dead-letter queue, then takes the dead-letter queue
    for _ in range(10):
        demo.run_worker()
        if queue_depth(demo, "ReportJobsQueue") == 0:
            break
    assert queue_depth(demo, "ReportJobsDLQ") == 1
    assert status_of(demo, doomed)["state"] == "queued"  # what used to stay until the report's TTL
    sqs = boto3.client("sqs")
    assert dead_letter_poller(demo).poll_once(sqs) == 1

    # Then that report is failed, with a reason its owner can read, and its slot is back
    body = status_of(demo, doomed)
    from fleet_reports.service.worker import DEAD_LETTER_REASON

    assert (body["state"], body["error"]) == ("failed", DEAD_LETTER_REASON)
    # And the other report is complete and correct, and nothing is left anywhere
    monkeypatch.setattr(store, "claim", real_claim)
    demo.api("DeleteFunction", {"hash": HASH, "report_id": doomed})
    assert_one_complete_report(demo, good)
    assert queue_depth(demo, "ReportJobsDLQ") == 0


def test_a_dead_lettered_job_leaves_a_report_that_is_done_or_still_held_alone(demo: Lambdas) -> None:
    # Given a finished report, and a report an attempt holds right now (its lease live)
    done = generate(demo)
    assert demo.run_worker() == 1
    held = generate(demo)
    from fleet_reports.store import reports as store

    demo.use_env("WorkerFunction")
    boto3.client("sqs").purge_queue(QueueUrl=queue_url(demo))
    claim, _ = store.claim(OWNER_ID, held, "a-live-attempt", 600)
    assert claim is store.Claim.CLAIMED

    # When a copy of each one's job reaches the dead-letter queue (a duplicate delivery gave up)
    sqs = boto3.client("sqs")
    for report_id in (done, held):
        sqs.send_message(QueueUrl=queue_url(demo, "ReportJobsDLQ"), MessageBody=job_of(report_id))
    assert dead_letter_poller(demo).poll_once(sqs) == 2

    # Then the finished report is untouched and the held one still belongs to its attempt
    assert status_of(demo, done)["state"] == "done"
    record = store.get_report(OWNER_ID, held)
    assert record is not None and (record.state.value, record.claim) == ("running", "a-live-attempt")
    assert queue_depth(demo, "ReportJobsDLQ") == 0


# ----------------------------------------------------------------------------- died on the last delivery
def test_a_worker_that_dies_on_the_last_delivery_leaves_a_failed_report_when_its_lease_ends(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a report whose job is on its last allowed delivery, and a worker killed while computing
    report_id = generate(demo)
    sqs = boto3.client("sqs")
    max_receive = int(demo.envs["WorkerFunction"]["MAX_RECEIVE_COUNT"])
    demo.use_env("WorkerFunction")
    for _ in range(1, max_receive):
        message = receive(demo, visibility_s=60)
        sqs.change_message_visibility(
            QueueUrl=queue_url(demo), ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    message = receive(demo, visibility_s=60)
    assert message["Attributes"]["ApproximateReceiveCount"] == str(max_receive)
    import fleet_reports.engine.report as engine_report

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise WorkerKilled

    monkeypatch.setattr(engine_report, "build_report", killed)

    # When the worker takes it and dies (nothing after that point runs)
    with pytest.raises(WorkerKilled):
        invoke_worker(demo, message)

    # Then while the invocation could still be alive, the report is running
    assert status_of(demo, report_id)["state"] == "running"
    from fleet_reports.store import reports as store

    record = store.get_report(OWNER_ID, report_id)
    assert record is not None and record.final_attempt is True and record.lease_until is not None
    # And its lease is the invocation's time left (plus a minute), not the longest run allowed
    assert record.lease_until - time.time() <= 29 + 60 + 1
    # And as soon as the lease is over, the report is failed with a reason and its slot is back
    later(monkeypatch, record.lease_until - int(time.time()) + 1)
    body = status_of(demo, report_id)
    from fleet_reports.service.reports import STALE_REASON

    assert (body["state"], body["error"]) == ("failed", STALE_REASON)
    assert_nothing_generating(demo.resources.names["ReportsTable"], pools=(OWNER_ID,))


def test_an_earlier_delivery_that_dies_leaves_the_report_to_the_next_one(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker killed on the job's first delivery
    report_id = generate(demo)
    message = receive(demo, visibility_s=60)
    import fleet_reports.engine.report as engine_report

    real = engine_report.build_report

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise WorkerKilled

    monkeypatch.setattr(engine_report, "build_report", killed)
    demo.use_env("WorkerFunction")
    with pytest.raises(WorkerKilled):
        invoke_worker(demo, message)

    # When its lease is over but the message's next delivery has not come yet
    from fleet_reports.store import reports as store

    record = store.get_report(OWNER_ID, report_id)
    assert record is not None and record.final_attempt is False and record.lease_until is not None
    later(monkeypatch, record.lease_until - int(time.time()) + 60)

    # Then the report waits for that delivery (it is not failed)
    assert status_of(demo, report_id)["state"] == "running"
    # And the next delivery takes it over and finishes it
    monkeypatch.setattr(engine_report, "build_report", real)
    boto3.client("sqs").change_message_visibility(
        QueueUrl=queue_url(demo), ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert demo.run_worker() == 1
    monkeypatch.undo()
    assert_one_complete_report(demo, report_id)


# ----------------------------------------------------------------------------- the job message is gone
def test_a_queued_report_whose_job_message_is_gone_is_failed_and_its_slot_returns(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a user allowed one report at a time, whose queued report's job message is gone (the
    # queue's retention ran out, or it was dead-lettered while the worker could not run)
    status, body, _ = demo.api("GenerateFunction", REQUEST, MAX_PARALLEL_REPORTS="1")
    assert status == 200 and body["success"], body
    lost = int(body["id"])
    demo.use_env("WorkerFunction")
    boto3.client("sqs").purge_queue(QueueUrl=queue_url(demo))
    status, body, _ = demo.api("GenerateFunction", REQUEST, MAX_PARALLEL_REPORTS="1")
    assert body["status"]["code"] == 15, body

    # When it is looked at after any job message of it could have expired
    from fleet_reports import contract

    later(monkeypatch, contract.JOBS_RETENTION_S + 3600 + 60)
    body = status_of(demo, lost)

    # Then it is failed with a reason, and the user can generate again
    from fleet_reports.service.reports import LOST_JOB_REASON

    assert (body["state"], body["error"]) == ("failed", LOST_JOB_REASON)
    status, body, _ = demo.api("GenerateFunction", REQUEST, MAX_PARALLEL_REPORTS="1")
    assert status == 200 and body["success"], body
    # And a report queued a moment ago is not taken for lost
    monkeypatch.undo()
    assert status_of(demo, int(body["id"]))["state"] == "queued"
    assert demo.run_worker() == 1
    assert status_of(demo, int(body["id"]))["state"] == "done"
