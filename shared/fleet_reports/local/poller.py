"""Feeds SQS messages to a queue's consumer function the way Lambda's event source mapping
does: batches of records, partial batch failures left on the queue for a retry. And S3 event
notifications (parked in a local queue) to their function the way S3 invokes Lambda."""

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
        dead_letter_source_arn: str | None = None,
    ) -> None:
        self.queue_url, self.queue_arn, self.handler = queue_url, queue_arn, handler
        # this queue is that queue's dead-letter queue: Lambda says so in each record
        self.dead_letter_source_arn = dead_letter_source_arn
        self.function_name, self.batch_size, self.retry_delay_s = function_name, batch_size, retry_delay_s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"poller-{function_name}", daemon=True)
        self.invocations = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
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
                **({"DeadLetterQueueSourceArn": self.dead_letter_source_arn} if self.dead_letter_source_arn else {}),
            },
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.queue_arn.split(":")[3] if self.queue_arn.count(":") >= 3 else "us-east-1",
        }


class S3EventPoller(QueuePoller):
    """Feeds S3 event notifications to a function the way S3 invokes Lambda: asynchronously.

    On AWS the bucket's notification invokes the function with the event itself
    (``{"Records": [...]}``); Lambda retries a failed invocation twice, then sends the event to
    the function's dead-letter queue. Locally the bucket's notification goes to a local-only
    queue (moto writes the real S3 event JSON there), and this poller invokes the handler with
    each message's event, one event per invocation, with the same retries and dead-letter queue.
    S3's ``s3:TestEvent`` (sent when a notification is configured) is dropped, as Lambda never
    sees it.
    """

    def __init__(
        self,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        function_name: str,
        dead_letter_queue_url: str | None = None,
        max_attempts: int = 3,
        retry_delay_s: int = 2,
    ) -> None:
        super().__init__(
            queue_url, queue_arn, handler, function_name=function_name, batch_size=10, retry_delay_s=retry_delay_s
        )
        self.dead_letter_queue_url, self.max_attempts = dead_letter_queue_url, max_attempts
        self.failures = 0

    def poll_once(self, sqs: Any, wait_s: int = 0) -> int:
        resp = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages = resp.get("Messages", [])
        for m in messages:
            self._invoke(sqs, m)
        return len(messages)

    def _invoke(self, sqs: Any, m: dict[str, Any]) -> None:
        import json

        event = json.loads(m["Body"])
        if "Records" not in event:  # s3:TestEvent
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            return
        attempt = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            self.handler(event, LambdaContext(self.function_name, timeout_s=300, memory_mb=1769))
        except Exception as exc:
            self.invocations += 1
            self.failures += 1
            if attempt < self.max_attempts:
                log.warning("%s failed (attempt %d of %d); retrying", self.function_name, attempt, self.max_attempts)
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=self.retry_delay_s
                )
                return
            log.exception("%s failed %d times; the event goes to the dead-letter queue", self.function_name, attempt)
            if self.dead_letter_queue_url:
                sqs.send_message(
                    QueueUrl=self.dead_letter_queue_url,
                    MessageBody=m["Body"],
                    MessageAttributes={
                        "ErrorCode": {"DataType": "String", "StringValue": type(exc).__name__},
                        "ErrorMessage": {"DataType": "String", "StringValue": str(exc)[:1000] or "-"},
                    },
                )
        else:
            self.invocations += 1
        sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
