"""Feeds SQS messages to a queue's consumer function the way Lambda's event source mapping
does: batches of records, partial batch failures left on the queue for a retry."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fleet_reports.local.gateway import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
log = logging.getLogger("fleet_reports.local.poller")


class QueuePoller:
    def __init__(
        self,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        function_name: str,
        batch_size: int = 5,
        retry_delay_s: int = 2,
    ) -> None:
        self.queue_url, self.queue_arn, self.handler = queue_url, queue_arn, handler
        self.function_name, self.batch_size, self.retry_delay_s = function_name, batch_size, retry_delay_s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"poller-{function_name}", daemon=True)
        self.invocations = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        import boto3

        sqs = boto3.client("sqs")
        while not self._stop.is_set():
            try:
                self.poll_once(sqs, wait_s=1)
            except Exception:  # keep polling, as Lambda's poller does
                log.exception("poller error")
                time.sleep(1)

    def poll_once(self, sqs: Any, wait_s: int = 0) -> int:
        resp = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, self.batch_size),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = resp.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        failed: set[str]
        try:
            result = self.handler(event, LambdaContext(self.function_name, timeout_s=900, memory_mb=2048))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            log.exception("worker invocation failed; the whole batch returns to the queue")
            failed = {m["MessageId"] for m in messages}
        self.invocations += 1
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=self.retry_delay_s
                )
            else:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def _record(self, m: dict[str, Any]) -> dict[str, Any]:
        attrs = m.get("Attributes", {})
        return {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {
                "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attrs.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attrs.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attrs.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
            },
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.queue_arn.split(":")[3] if self.queue_arn.count(":") >= 3 else "us-east-1",
        }
