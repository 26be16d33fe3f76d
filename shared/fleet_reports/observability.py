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

Nothing here touches AWS or reads settings at import: Logger and Metrics read only their
``POWERTOOLS_*`` variables (service name, namespace, log level), and the tracer exists only once
a background function's handler is built.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

logger = Logger()
metrics = Metrics()


@cache
def tracer() -> Tracer:
    """Powertools' X-Ray tracer (importing the X-Ray SDK and, in Lambda, patching botocore):
    for the worker and the importer only."""
    from aws_lambda_powertools.tracing import Tracer

    return Tracer()
