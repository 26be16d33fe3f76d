"""Logs, metrics and traces of the Lambda functions: one Powertools Logger and Metrics, and the
X-Ray tracer of the background functions, made on first use.

Traces. Every function runs with Lambda's active tracing (``Tracing: Active`` in the template's
Globals) behind an API stage with ``TracingEnabled``, so X-Ray records every sampled request
whatever the code does: API Gateway's segment (method, path, status, latency, faults), Lambda's
segments for the function (its initialization on a cold start, the invocation, the overhead).
Two kinds of function add to that differently:

* **API functions** never load the X-Ray SDK. Importing it took 120 - 250 ms of each cold start
  (botocore's session and client machinery, and an X-Ray client for its sampler), and loading it
  at the first request would only move that wait into the request (bench/RESULTS.md,
  2026-12-06). What they give up are the SDK's subsegments: one per DynamoDB/S3/SQS call, and
  the ``## handler`` one with its ``ColdStart`` annotation. An API call makes a few short store
  calls, all inside Lambda's Invocation subsegment; a cold start shows as Lambda's
  Initialization subsegment; every log line carries ``xray_trace_id`` and ``cold_start``
  (Logger), so a trace leads to its logs. The trace goes on past the API: botocore itself sends
  the invocation's trace header (``_X_AMZN_TRACE_ID``) with every AWS call in Lambda, so SQS
  keeps it with the job message and X-Ray links the worker's trace to the request's.
* **The worker and the importer** keep Powertools' full tracer (:func:`tracer`): the SDK patches
  botocore, so each DynamoDB, S3 and SQS call of a job or an import is a subsegment, and each
  job record has its own. Their cold start is nobody's request: the worker loads numpy and
  pyarrow anyway.

Logs. Every function logs through the one :data:`logger`; :func:`invocation_logging` gives each
invocation its keys (the Lambda context, ``cold_start``, the API's ``correlation_id``) and the
keys a handler adds (``report_id``, ``s3_key``) in Powertools' thread-safe keys, which live in a
context variable: on Lambda, one invocation at a time per process, a line carries exactly what
Powertools' ``inject_lambda_context(clear_state=True)`` gave it; on the local stack, where the
functions' handlers run in threads of one process, each line names its own function and request,
never the one another thread started last.

Nothing here touches AWS or reads settings at import: Logger and Metrics read only their
``POWERTOOLS_*`` variables (service name, namespace, log level), and the tracer exists only once
a background function's handler is built.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.metrics import Metrics
from aws_lambda_powertools.shared.functions import extract_event_from_common_models, resolve_truthy_env_var_choice
from aws_lambda_powertools.utilities import jmespath_utils

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

logger = Logger()
metrics = Metrics()

H = TypeVar("H", bound=Callable[..., Any])


def invocation_logging(*, correlation_id_path: str | None = None, log_event: bool | None = None) -> Callable[[H], H]:
    """Powertools' ``inject_lambda_context(clear_state=True)``, the invocation's keys kept in this
    thread's log context (Powertools' thread-safe keys) instead of the logger's shared one, and
    cleared when the invocation ends. A handler adds its own keys with
    ``logger.thread_safe_append_keys``. ``log_event`` None follows POWERTOOLS_LOGGER_LOG_EVENT."""

    def decorate(handler: H) -> H:
        cold = [True]  # this handler's first invocation (on Lambda: the process's)

        @functools.wraps(handler)
        def invoke(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            keys: dict[str, Any] = {"cold_start": cold[0], **build_lambda_context_model(context).__dict__}
            cold[0] = False
            if correlation_id_path:
                keys["correlation_id"] = jmespath_utils.query(envelope=correlation_id_path, data=event)
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(**keys)
            try:
                if resolve_truthy_env_var_choice(os.getenv("POWERTOOLS_LOGGER_LOG_EVENT", "false"), log_event):
                    logger.info(extract_event_from_common_models(event))
                return handler(event, context, *args, **kwargs)
            finally:
                logger.thread_safe_clear_keys()

        return invoke  # type: ignore[return-value]

    return decorate


@cache
def tracer() -> Tracer:
    """Powertools' X-Ray tracer (importing the X-Ray SDK and, in Lambda, patching botocore):
    for the worker and the importer only."""
    from aws_lambda_powertools.tracing import Tracer

    return Tracer()
