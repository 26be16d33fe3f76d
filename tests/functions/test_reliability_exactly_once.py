"""Exactly one report per request, on moto: duplicate deliveries, a worker killed midway, a retry
while the first attempt still runs, and a job that keeps failing.

Each case ends with one complete, correct report (state done, the golden trips report, one set
of six files whose sizes the report records) and every user's generating count back to zero;
the job that keeps failing ends in the dead-letter queue after the template's maxReceiveCount
deliveries, its report failed with a reason as soon as the last attempt failed.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from fleet_reports.demo import OWNER_ID

from tests.support.invariants import assert_nothing_generating
from tests.support.jobs import (
    HASH,
    WAIT_S,
    WorkerKilled,
    assert_one_complete_report,
    assert_queues_empty,
    generate,
    invoke_worker,
    job_of,
    poller,
    queue_url,
    receive,
)
from tests.support.lambdas import Lambdas


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[threading.Event, threading.Event]]:
    """Holds the first attempt midway, while ``computing`` the document (the default) or
    ``rendering`` its files: (entered, release) events."""

    def install(stage: str = "computing") -> tuple[threading.Event, threading.Event]:
        import fleet_reports.engine.report as engine_report
        from fleet_reports import render

        module, name = {"computing": (engine_report, "build_report"), "rendering": (render, "render_report")}[stage]
        real = getattr(module, name)
        entered, release = threading.Event(), threading.Event()
        calls = [0]

        def held(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == 1:
                entered.set()
                assert release.wait(WAIT_S), "the held attempt was never released"
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, held)
        return entered, release

    return install


# ----------------------------------------------------------------------------- duplicate deliveries
def test_a_job_delivered_twice_in_a_row_makes_one_report(demo: Lambdas) -> None:
    # Given a queued report whose job message is delivered twice
    report_id = generate(demo)
    boto3.client("sqs").send_message(QueueUrl=queue_url(demo), MessageBody=job_of(report_id))

    # When the worker takes one delivery after the other
    assert demo.run_worker() == 2

    # Then there is one complete report
    assert_one_complete_report(demo, report_id)


def test_a_job_delivered_twice_at_once_makes_one_report(demo: Lambdas, gate: Any) -> None:
    # Given a queued report whose job message is delivered twice, and two workers polling at once,
    # the first computation held midway so that both deliveries overlap
    report_id = generate(demo)
    boto3.client("sqs").send_message(QueueUrl=queue_url(demo), MessageBody=job_of(report_id))
    demo.use_env("WorkerFunction")
    entered, release = gate()
    returned: queue.Queue[str] = queue.Queue()

    def poll(name: str) -> None:
        try:
            poller(demo).poll_once(boto3.client("sqs"))
        finally:
            returned.put(name)

    # When each worker takes one delivery
    workers = [threading.Thread(target=poll, args=(f"worker-{n}",)) for n in (1, 2)]
    for w in workers:
        w.start()
    assert entered.wait(WAIT_S)
    first_back = returned.get(timeout=WAIT_S)  # the one that found the report being generated
    release.set()
    for w in workers:
        w.join(timeout=WAIT_S)

    # Then one of them generated the report while the other left its delivery for later,
    # and after the queue is drained there is one complete report
    assert returned.get(timeout=WAIT_S) != first_back
    assert_one_complete_report(demo, report_id)


# ----------------------------------------------------------------------------- a worker killed midway
def test_a_worker_killed_after_claiming_is_taken_over_when_its_lease_runs_out(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker with a 1 s lease that dies while writing the report's files (two written)
    report_id = generate(demo)
    demo.use_env("WorkerFunction", JOB_LEASE_SECONDS="1")
    from fleet_reports.store import files as report_files

    real_put = report_files.put
    written = [0]

    def dying_put(key: str, data: bytes, content_type: str) -> None:
        if written[0] == 2:
            raise WorkerKilled
        written[0] += 1
        real_put(key, data, content_type)

    monkeypatch.setattr(report_files, "put", dying_put)
    message = receive(demo, visibility_s=1)
    with pytest.raises(WorkerKilled):
        invoke_worker(demo, message)
    monkeypatch.setattr(report_files, "put", real_put)

    # Then its report is left running, its message in flight
    _, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert body["state"] == "running"

    # When the message's visibility timeout and the lease have run out, and the worker polls again
    time.sleep(2.5)
    demo.use_env("WorkerFunction", JOB_LEASE_SECONDS="1")
    again = receive(demo, visibility_s=60)
    assert again["MessageId"] == message["MessageId"] and again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert invoke_worker(demo, again)
    boto3.client("sqs").delete_message(QueueUrl=queue_url(demo), ReceiptHandle=again["ReceiptHandle"])

    # Then the second delivery took the report over and made it, whole, once
    assert_one_complete_report(demo, report_id)


# ----------------------------------------------------------------------------- a retry while the first still runs
def test_a_retry_while_the_first_attempt_holds_its_lease_waits_for_it(demo: Lambdas, gate: Any) -> None:
    # Given a worker computing the report, its message back on the queue (its visibility timed out)
    report_id = generate(demo)
    demo.use_env("WorkerFunction")
    entered, release = gate()
    first = threading.Thread(target=invoke_worker, args=(demo, receive(demo, visibility_s=1)))
    first.start()
    assert entered.wait(WAIT_S)
    time.sleep(1.5)

    # When the second delivery reaches a worker while the first attempt still runs
    again = receive(demo, visibility_s=60)
    done_with = invoke_worker(demo, again)

    # Then it leaves the report to the first attempt and asks for the message again later
    # (read from the store: calling another function now would change the running worker's environment)
    from fleet_reports.store import reports as store

    assert not done_with
    record = store.get_report(OWNER_ID, report_id)
    assert record is not None and record.state.value == "running"
    boto3.client("sqs").change_message_visibility(
        QueueUrl=queue_url(demo), ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0
    )

    # When the first attempt finishes, Then there is one complete report
    release.set()
    first.join(timeout=WAIT_S)
    assert_one_complete_report(demo, report_id)


@pytest.mark.parametrize("stage", ["computing", "rendering"])
def test_a_retry_after_the_first_attempts_lease_ran_out_takes_over_and_the_report_stays_whole(
    demo: Lambdas, gate: Any, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    # Given a worker with a 1 s lease still computing (or rendering) the report when its message comes back
    report_id = generate(demo)
    demo.use_env("WorkerFunction", JOB_LEASE_SECONDS="1")
    entered, release = gate(stage)
    from fleet_reports.store import files as report_files

    real_put, writers = report_files.put, []

    def put(key: str, data: bytes, content_type: str) -> None:
        writers.append(threading.current_thread().name)
        real_put(key, data, content_type)

    monkeypatch.setattr(report_files, "put", put)
    first_result: list[bool] = []
    first = threading.Thread(
        target=lambda message: first_result.append(invoke_worker(demo, message)),
        args=(receive(demo, 1),),
        name="first-attempt",
    )
    first.start()
    assert entered.wait(WAIT_S)
    time.sleep(2.5)

    # When the second delivery takes the report over and finishes it
    again = receive(demo, visibility_s=60)
    assert invoke_worker(demo, again)
    boto3.client("sqs").delete_message(QueueUrl=queue_url(demo), ReceiptHandle=again["ReceiptHandle"])

    # And only then the first attempt goes on and finds its claim lost
    release.set()
    first.join(timeout=WAIT_S)
    assert first_result == [True]

    # Then the first attempt wrote nothing over the second one's files, and the report it lost
    # is still whole: done, the golden document, its six files
    assert writers.count("first-attempt") == 0 and len(writers) == 6
    assert_one_complete_report(demo, report_id)


# ----------------------------------------------------------------------------- a job that keeps failing
def test_a_job_that_keeps_failing_ends_in_the_dead_letter_queue_and_its_report_failed_at_once(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a report whose plugin raises on every attempt, and the jobs queue as the template makes it
    report_id = generate(demo)
    from fleet_reports.engine.plugins import trips

    attempts: list[int] = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        raise RuntimeError("the plugin broke")

    monkeypatch.setattr(trips, "compute", broken)
    sqs = boto3.client("sqs")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url(demo), AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    max_receive = int(policy["maxReceiveCount"])
    assert demo.envs["WorkerFunction"]["MAX_RECEIVE_COUNT"] == str(max_receive)
    from fleet_reports.store import reports as store

    # When the worker takes each delivery up to the last one the redrive policy allows
    demo.use_env("WorkerFunction")
    for n in range(1, max_receive + 1):
        message = receive(demo, visibility_s=60)
        assert message["Attributes"]["ApproximateReceiveCount"] == str(n)
        assert not invoke_worker(demo, message)
        sqs.change_message_visibility(
            QueueUrl=queue_url(demo), ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
        record = store.get_report(OWNER_ID, report_id)
        assert record is not None
        # Then each attempt but the last gives the report back to the queue; the last fails it at once
        assert record.state.value == ("failed" if n == max_receive else "queued"), (n, record.state)

    # And the reason is fit for the client
    assert len(attempts) == max_receive
    _, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert body["state"] == "failed" and "internal error" in body["error"] and "broke" not in body["error"]

    # And the next receive moves the message to the dead-letter queue, the worker not called again
    assert demo.run_worker() == 0
    assert len(attempts) == max_receive
    dead = sqs.receive_message(QueueUrl=queue_url(demo, "ReportJobsDLQ"), MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in dead] == [{"pool": OWNER_ID, "report_id": report_id}]
    sqs.change_message_visibility(
        QueueUrl=queue_url(demo, "ReportJobsDLQ"), ReceiptHandle=dead[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    assert_queues_empty(demo, dead_letters=1)
    assert_nothing_generating(demo.resources.names["ReportsTable"], pools=(OWNER_ID,))
