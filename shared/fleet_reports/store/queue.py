"""The ReportJobs queue."""

from __future__ import annotations

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import sqs, store_call


def send_job(body: str) -> None:
    with store_call("queue send"):
        sqs().send_message(QueueUrl=get_settings().require("jobs_queue_url"), MessageBody=body)
