"""A report split across workers, on moto: one part per tracker, each a job of its own on the
jobs queue, the parts kept in the reports bucket and counted in the report's item, the last part
enqueuing the assembly; the document is the one the report gives in one go, byte for byte.

The split threshold (``FanOutTrackerDays``, 60 tracker-days by default) is lowered to 1 here so
that the demo fleet's two-day reports split.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from fleet_reports.demo import ACCESS, OWNER_ID, RUSSIAN_ID

from tests.support.golden import ALL_DAY, CASES, GOLDEN, SEED, canonical
from tests.support.invariants import assert_nothing_generating
from tests.support.jobs import invoke_worker, queue_url
from tests.support.lambdas import Lambdas

SPLIT = {"FAN_OUT_TRACKER_DAYS": "1"}
POOLS = {ACCESS.owner_hash: OWNER_ID, ACCESS.russian_user_hash: RUSSIAN_ID}  # whose reports the cases are
MULTI_TRACKER = {name: case for name, case in CASES.items() if len(case["trackers"]) >= 2}


def generate(demo: Lambdas, case: dict[str, Any]) -> tuple[str, int]:
    owner = case.get("hash", ACCESS.owner_hash)
    request = {"hash": owner, "title": "Golden", "time_filter": ALL_DAY, **SEED, **case}
    status, body, _ = demo.api("GenerateFunction", request)
    assert status == 200, body
    return owner, int(body["id"])


def status_of(demo: Lambdas, owner: str, report_id: int) -> dict[str, Any]:
    _, body, _ = demo.api("StatusFunction", {"hash": owner, "report_id": report_id})
    return dict(body)


def take_one(demo: Lambdas) -> dict[str, Any]:
    """The next job, taken and run by one worker invocation (with the split threshold lowered)."""
    demo.use_env("WorkerFunction", **SPLIT)
    (message,) = boto3.client("sqs").receive_message(
        QueueUrl=queue_url(demo), MaxNumberOfMessages=1, AttributeNames=["All"]
    )["Messages"]
    assert invoke_worker(demo, message)
    return dict(json.loads(message["Body"]))


def queued_jobs(demo: Lambdas) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(demo), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def stored_keys(demo: Lambdas, report_id: int) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(
        Bucket=demo.resources.names["ReportsBucket"], Prefix=f"reports/{report_id}/"
    )
    return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.mark.parametrize("name", sorted(MULTI_TRACKER))
def test_a_split_report_is_the_report_made_in_one_go(demo: Lambdas, name: str) -> None:
    # Given a report of several trackers, above the split threshold
    owner, report_id = generate(demo, MULTI_TRACKER[name])

    # When the workers take every job: the report's, each part's, the assembly's
    jobs = demo.run_worker(**SPLIT)

    # Then it was split, one part per tracker, plus the report's job and the assembly
    from fleet_reports.store import reports as store

    record = store.get_report(POOLS[owner], report_id)
    assert record is not None and record.parts_total is not None and record.parts_total >= 2
    assert jobs == record.parts_total + 2
    # And its document is the kept one, byte for byte, and its parts are gone, its six files kept
    _, body, _ = demo.api("RetrieveFunction", {"hash": owner, "report_id": report_id})
    kept = (GOLDEN / f"{name}.json").read_text(encoding="utf-8")
    assert canonical({**body["report"], "id": json.loads(kept)["id"]}) == kept
    keys = stored_keys(demo, report_id)
    assert not [k for k in keys if "/parts/" in k]
    assert len([k for k in keys if k.rsplit("/", 1)[-1].startswith("report.") or "-headless." in k]) == 6


def test_percent_ready_is_the_parts_done_and_one_assembly_follows_the_last(demo: Lambdas) -> None:
    # Given a report of the four demo trackers, split
    owner, report_id = generate(demo, CASES["stops-fleet"])
    assert take_one(demo) == {"pool": OWNER_ID, "report_id": report_id}
    body = status_of(demo, owner, report_id)
    assert (body["state"], body["percent_ready"]) == ("running", 5)
    assert queued_jobs(demo) == 4
    # And one part delivered twice (SQS delivers at least once)
    (message,) = boto3.client("sqs").receive_message(QueueUrl=queue_url(demo), MaxNumberOfMessages=1)["Messages"]
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queue_url(demo), MessageBody=message["Body"])
    sqs.change_message_visibility(QueueUrl=queue_url(demo), ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)

    # When the parts are done one by one
    seen: list[int] = []
    steps: list[dict[str, Any]] = []
    while queued_jobs(demo):
        steps.append(take_one(demo))
        seen.append(status_of(demo, owner, report_id)["percent_ready"])

    # Then percent_ready grows with the distinct parts done (5 + 70 x done / 4), never back
    parts = [s for s in steps if "part" in s]
    assembly = [s for s in steps if s.get("assemble")]
    assert sorted(s["part"] for s in parts) == [0, 0, 1, 2, 3]
    assert seen == sorted(seen)
    assert {5 + 70 * k // 4 for k in (1, 2, 3)} <= set(seen[: len(parts)])
    # And exactly one assembly ran, after the last part, and the report is done
    assert len(assembly) == 1 and steps[-1] == assembly[0]
    assert status_of(demo, owner, report_id) == {"success": True, "percent_ready": 100, "state": "done"}
    assert_nothing_generating(demo.resources.names["ReportsTable"], pools=(OWNER_ID,))


def test_a_part_that_fails_every_attempt_fails_the_report_with_a_reason(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a split report whose third tracker's part fails on every attempt
    owner, report_id = generate(demo, CASES["engine-hours-fleet"])
    from fleet_reports.engine.plugins import engine_hours

    real = engine_hours.compute

    def broken(ctx: Any, params: Any, data: Any) -> Any:
        if data.info.id == CASES["engine-hours-fleet"]["trackers"][2]:
            raise RuntimeError("the part broke")
        return real(ctx, params, data)

    monkeypatch.setattr(engine_hours, "compute", broken)

    # When the workers take every job, each failed part delivered again up to the last allowed time
    max_receive = int(demo.envs["WorkerFunction"]["MAX_RECEIVE_COUNT"])
    for _ in range(max_receive + 1):
        demo.run_worker(**SPLIT)

    # Then the report is failed with a reason fit for its owner, and its slot is back
    body = status_of(demo, owner, report_id)
    assert body["state"] == "failed" and "internal error" in body["error"] and "broke" not in body["error"]
    assert_nothing_generating(demo.resources.names["ReportsTable"], pools=(OWNER_ID,))


def test_a_split_report_deleted_midway_leaves_nothing_behind(demo: Lambdas) -> None:
    # Given a split report with two of its four parts done
    owner, report_id = generate(demo, CASES["geofences-fleet"])
    take_one(demo)
    take_one(demo)
    take_one(demo)
    assert [k for k in stored_keys(demo, report_id) if "/parts/" in k]

    # When it is deleted, and the workers take the remaining parts
    _, body, _ = demo.api("DeleteFunction", {"hash": owner, "report_id": report_id})
    assert body["success"] is True
    demo.run_worker(**SPLIT)

    # Then nothing of it is left in the bucket, and nothing is generating
    assert stored_keys(demo, report_id) == []
    assert queued_jobs(demo) == 0
    assert_nothing_generating(demo.resources.names["ReportsTable"], pools=(OWNER_ID,))
