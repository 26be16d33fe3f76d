"""Many generates at once from several users, on moto, while the worker drains the queue.

The parallel cap (error 15) is hit on purpose: its transactions are cancelled while other
reports are created, claimed and finished in the same table. Every accepted report must end
``done`` exactly once with one set of files, no rejected request may leave anything behind,
and once the queue is drained every user's count of reports generating is back to zero.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from fleet_reports.demo import ACCESS, DEMO_MODE_ID, OWNER_ID, RUSSIAN_ID

from tests.support.invariants import assert_nothing_generating
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

CAP = 2  # reports generating at once per user (the template's default is larger; same mechanism)
REQUESTS_PER_USER = 5
USERS = {OWNER_ID: ACCESS.owner_hash, DEMO_MODE_ID: ACCESS.demo_mode_hash, RUSSIAN_ID: ACCESS.russian_user_hash}
ONE_DAY = {"from": "2020-10-05 00:00:00", "to": "2020-10-05 23:59:59"}


def call(demo: Lambdas, logical_id: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Invoke an API function's handler directly (the environment is already set): (HTTP status, body)."""
    from fleet_reports.local.gateway import LambdaContext, api_event

    path = demo.specs[logical_id].api_routes[0][1]
    event = api_event("POST", path, "", {"Content-Type": "application/json"}, json.dumps(params).encode(), "127.0.0.1")
    result = demo.handler(logical_id)(event, LambdaContext(logical_id))
    return int(result["statusCode"]), json.loads(result["body"])


class Worker(threading.Thread):
    """The worker function fed by the jobs queue as Lambda's poller feeds it, until told to stop
    and the queue is empty; counts the messages it was given."""

    def __init__(self, demo: Lambdas) -> None:
        from fleet_reports.local.poller import QueuePoller

        super().__init__(name="reliability-worker")
        spec = demo.specs["WorkerFunction"]
        assert spec.sqs_queue
        handler = demo.handler("WorkerFunction")
        self.poller = QueuePoller(
            demo.resources.names[spec.sqs_queue],
            demo.resources.arns[spec.sqs_queue],
            handler,
            function_name="WorkerFunction",
            batch_size=2,
            retry_delay_s=0,
        )
        self.stop_when_empty = threading.Event()
        self.messages = 0

    def run(self) -> None:
        sqs = boto3.client("sqs")
        while True:
            n = self.poller.poll_once(sqs)
            self.messages += n
            if not n and self.stop_when_empty.is_set():
                return


def test_parallel_generates_over_the_cap_end_done_once_and_free_every_slot(demo: Lambdas) -> None:
    # Given three users of the demo fleet, a cap of 2 reports generating per user, and the
    # generate and worker functions sharing one environment (as on the local stack)
    demo.use_env("WorkerFunction", **{**demo.envs["GenerateFunction"], "MAX_PARALLEL_REPORTS": str(CAP)})
    worker = Worker(demo)
    worker.start()

    # When each user asks for 5 reports at once while the worker drains the queue
    start = threading.Barrier(len(USERS) * REQUESTS_PER_USER)
    answers: list[tuple[int, int, dict[str, Any]]] = []

    def ask(pool: int, user_hash: str) -> None:
        start.wait()
        status, body = call(demo, "GenerateFunction", {**SEED_GENERATE, **ONE_DAY, "hash": user_hash})
        answers.append((pool, status, body))

    askers = [
        threading.Thread(target=ask, args=(pool, user_hash))
        for pool, user_hash in USERS.items()
        for _ in range(REQUESTS_PER_USER)
    ]
    for t in askers:
        t.start()
    for t in askers:
        t.join(timeout=120)
    worker.stop_when_empty.set()
    worker.join(timeout=300)
    assert not worker.is_alive()

    # Then every request was accepted or refused with error 15 (HTTP 429), and the cap was hit
    accepted: dict[int, list[int]] = {pool: [] for pool in USERS}
    refused: dict[int, int] = dict.fromkeys(USERS, 0)
    for pool, status, body in answers:
        if body.get("success"):
            accepted[pool].append(int(body["id"]))
        else:
            assert (status, body["status"]["code"]) == (429, 15), body
            refused[pool] += 1
    assert len(answers) == len(USERS) * REQUESTS_PER_USER
    assert all(refused.values()), refused
    assert all(len(ids) >= CAP for ids in accepted.values()), accepted

    # And each accepted report was processed once and is done, listed once, with one set of files
    all_ids = [i for ids in accepted.values() for i in ids]
    assert len(set(all_ids)) == len(all_ids)
    assert worker.messages == len(all_ids)
    s3, bucket = boto3.client("s3"), demo.resources.names["ReportsBucket"]
    for pool, ids in accepted.items():
        user_hash = USERS[pool]
        _, listed = call(demo, "ListFunction", {"hash": user_hash})
        assert sorted(r["id"] for r in listed["list"]) == sorted(ids), "refused requests left no report"
        for report_id in ids:
            _, state = call(demo, "StatusFunction", {"hash": user_hash, "report_id": report_id})
            assert (state["state"], state["percent_ready"]) == ("done", 100), state
            _, retrieved = call(demo, "RetrieveFunction", {"hash": user_hash, "report_id": report_id})
            assert retrieved["success"] and retrieved["report"]["id"] == report_id
            stored = s3.list_objects_v2(Bucket=bucket, Prefix=f"reports/{report_id}/")
            assert len(stored.get("Contents", [])) == 6, [o["Key"] for o in stored.get("Contents", [])]

    # And nothing is left generating: every user's count is back to zero, both queues are empty
    assert_nothing_generating(demo.resources.names["ReportsTable"], pools=tuple(USERS))
    sqs = boto3.client("sqs")
    for queue in ("ReportJobsQueue", "ReportJobsDLQ"):
        attrs = sqs.get_queue_attributes(
            QueueUrl=demo.resources.names[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert attrs == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}, queue
