"""Lambda entry points: the same wiring for every API function, the worker's batch loop, the importer.

A handler module is two lines: which path and which action. Creating the resolver, logger and
metrics objects is cheap; no settings, clients or I/O happen at import. Each handler checks its
function's configuration (``settings.function_settings``) at its first invocation.

Traces (see :mod:`fleet_reports.observability`): the API handlers leave them to Lambda's active
tracing and never load the X-Ray SDK, whose import would be most of their cold start; the worker
and the importer wrap their handlers in Powertools' tracer, so their store calls are subsegments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_reports import contract
from fleet_reports.api.http import make_app, resolve
from fleet_reports.observability import invocation_logging, logger, metrics, tracer
from fleet_reports.settings import function_settings

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def api_handler(
    path: str,
    action: Callable[[Mapping[str, Any]], Response[Any]],
    documents: Mapping[str, Callable[[Mapping[str, Any]], Response[Any]]] | None = None,
) -> Handler:
    """A Lambda handler serving one route (GET and POST) with ``action``, and the GET-only
    ``documents`` of ``contract.DOCUMENT_ROUTES`` that this function answers too."""
    app = make_app()
    function = {route: name for name, route in contract.API_ROUTES.items()}[path]

    @app.route(path, method=["GET", "POST"])
    def _route() -> Response[Any]:
        function_settings(function)  # a misconfigured function answers 6 and logs what is missing
        return action(app.current_event.raw_event)

    def _serving(document: Callable[[Mapping[str, Any]], Response[Any]]) -> Callable[[], Response[Any]]:
        return lambda: document(app.current_event.raw_event)

    for document_path, document in (documents or {}).items():
        assert contract.DOCUMENT_ROUTES[document_path] == function, document_path
        app.route(document_path, method=["GET"])(_serving(document))

    # No tracer: Lambda's active tracing records the invocation (fleet_reports.observability).
    # Never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries the caller's hash (body,
    # query string or Authorization header) and /user/auth's password, base64-encoded in the body.
    # Log keys per invocation (this thread's: the local stack runs handlers in threads of one process).
    @invocation_logging(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        _fresh_metrics()
        metrics.add_dimension(name="action", value=action.__name__)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        return resolve(app, event, context)

    return handler


def worker_handler() -> Handler:
    """The SQS batch consumer: one report job per record, partial batch failures reported."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    processor = BatchProcessor(event_type=EventType.SQS)
    tracing = tracer()

    @tracing.capture_method
    def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> str:
        from fleet_reports.service.worker import Delivery, Job, process, settle_dead_letter

        job = Job.model_validate_json(record.body)
        receive_count = int(record.attributes.approximate_receive_count or 1)
        logger.thread_safe_append_keys(report_id=job.report_id)
        if record.attributes.dead_letter_queue_source_arn:  # from the jobs' dead-letter queue
            outcome = settle_dead_letter(job)
        else:
            remaining = lambda_context.get_remaining_time_in_millis() if lambda_context is not None else None
            delivery = Delivery(record.event_source_arn, record.receipt_handle, remaining)
            outcome = process(job, receive_count, delivery)
        metrics.add_metric(name=outcome.metric, unit=MetricUnit.Count, value=1)
        logger.info("job processed", extra={"outcome": outcome.value, "receive_count": receive_count})
        return outcome

    @invocation_logging()
    @tracing.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        _fresh_metrics()
        function_settings(contract.WORKER)  # misconfigured: the batch fails (and is retried), logged
        metrics.add_metric(name="JobBatches", unit=MetricUnit.Count, value=1)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return handler


class ImportFailed(RuntimeError):
    """At least one record of an S3 event could not be imported now; Lambda retries the event."""


def import_handler() -> Handler:
    """S3 ObjectCreated events of the track bucket's ``incoming/``: one import per record.

    S3 invokes the function asynchronously. A file that cannot be imported at all (unknown
    tracker, not a track file) is an outcome, not an error. A transient failure (the store kept
    refusing, a timeout) makes the invocation raise once every record was tried, so Lambda
    retries the event and, after its retries, sends it to the dead-letter queue; records that did
    land are not redone on the retry (the import is idempotent).
    """
    tracing = tracer()

    @invocation_logging()
    @tracing.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        from urllib.parse import unquote_plus

        from fleet_reports.service.imports import import_object

        _fresh_metrics()
        function_settings(contract.IMPORT)  # misconfigured: the event fails (and is retried), logged
        done: list[dict[str, Any]] = []
        failed: list[str] = []
        for record in event.get("Records", []):
            bucket = str(record["s3"]["bucket"]["name"])
            key = unquote_plus(str(record["s3"]["object"]["key"]))  # S3 sends keys URL-encoded
            logger.thread_safe_append_keys(s3_key=key)
            try:
                outcome = import_object(bucket, key)
            except Exception:
                logger.exception("import failed; the event will be retried")
                metrics.add_metric(name="imports_retried", unit=MetricUnit.Count, value=1)
                failed.append(key)
                continue
            metrics.add_metric(name=f"imports_{outcome.state}", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="FixesAccepted", unit=MetricUnit.Count, value=outcome.accepted)
            metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=outcome.rejected_count)
            summary = outcome.summary()
            logger.info("file imported", extra=summary)
            done.append(summary)
        if failed:
            raise ImportFailed(f"{len(failed)} of the event's files could not be imported now: {failed}")
        return {"imports": done}

    return handler


def _fresh_metrics() -> None:
    """Start the invocation with no metrics or dimensions left over.

    Flushing clears them on Lambda; with POWERTOOLS_METRICS_DISABLED (local stack, tests) Powertools
    skips the flush and would keep every value ever added, so a long-running local stack would grow.
    """
    metrics.clear_metrics()
