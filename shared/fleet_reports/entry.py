"""Lambda entry points: the same wiring for every API function, and the worker's batch loop.

A handler module is two lines: which path and which action. Creating the resolver, logger,
tracer and metrics objects is cheap; no settings, clients or I/O happen at import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_reports.api.http import make_app, resolve

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def api_handler(path: str, action: Callable[[Mapping[str, Any]], Response[Any]]) -> Handler:
    """A Lambda handler serving one route (GET and POST) with ``action``."""
    app = make_app()

    @app.route(path, method=["GET", "POST"])
    def _route() -> Response[Any]:
        return action(app.current_event.raw_event)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler
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

    @tracer.capture_method
    def record_handler(record: SQSRecord) -> str:
        from fleet_reports.service.worker import Job, process

        job = Job.model_validate_json(record.body)
        receive_count = int(record.attributes.approximate_receive_count or 1)
        logger.append_keys(report_id=job.report_id)
        outcome = process(job, receive_count)
        metrics.add_metric(name=f"jobs_{outcome.split(':')[0]}", unit=MetricUnit.Count, value=1)
        logger.info("job processed", extra={"outcome": outcome, "receive_count": receive_count})
        return outcome

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        _fresh_metrics()
        metrics.add_metric(name="JobBatches", unit=MetricUnit.Count, value=1)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return handler


def _fresh_metrics() -> None:
    """Start the invocation with no metrics or dimensions left over.

    Flushing clears them on Lambda; with POWERTOOLS_METRICS_DISABLED (local stack, tests) Powertools
    skips the flush and would keep every value ever added, so a long-running local stack would grow.
    """
    metrics.clear_metrics()
