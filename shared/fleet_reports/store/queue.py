"""The ReportJobs queue."""

from __future__ import annotations

from typing import Any

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import sqs, store_call


def send_job(body: str) -> None:
    with store_call("queue send"):
        sqs().send_message(QueueUrl=get_settings().require("jobs_queue_url"), MessageBody=body)


def send_jobs(bodies: list[str]) -> None:
    """Send many jobs, ten a request; StoreError if any could not be sent."""
    from fleet_reports.store.errors import StoreError

    url = get_settings().require("jobs_queue_url")
    for start in range(0, len(bodies), 10):
        entries: list[Any] = [{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[start : start + 10])]
        with store_call("queue send"):
            resp = sqs().send_message_batch(QueueUrl=url, Entries=entries)
        if resp.get("Failed"):
            raise StoreError(f"queue send: {len(resp['Failed'])} of {len(entries)} jobs not sent")


def queue_url_of(arn: str) -> str:
    """The queue URL for a queue ARN (arn:aws:sqs:<region>:<account>:<name>), on AWS or locally."""
    import os

    _, partition, _, region, account, name = arn.split(":", 5)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{account}/{name}"
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{suffix}/{account}/{name}"


def retry_in(queue_arn: str, receipt_handle: str, seconds: int) -> None:
    """Make a message that failed visible again after ``seconds`` (instead of the full timeout)."""
    with store_call("queue retry"):
        sqs().change_message_visibility(
            QueueUrl=queue_url_of(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
