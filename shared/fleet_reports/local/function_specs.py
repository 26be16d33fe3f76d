"""How the local stack wires the template's functions: each ``AWS::Serverless::Function``'s code,
handler and events (API routes, its SQS queue, S3 notifications, its dead-letter queue), and its
environment resolved to the local resources. The functions themselves are not created: the
local stack calls the handlers in-process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet_reports.local.creation import LocalResources, context_of
from fleet_reports.local.intrinsics import scalar
from fleet_reports.local.template import (
    SERVERLESS_FUNCTION,
    TemplateError,
    global_function,
    properties_of,
    resources_of,
)

_DEFAULT_SQS_BATCH_SIZE = 10


@dataclass(frozen=True)
class S3EventSpec:
    """One ``S3`` event of a function: which bucket, which events, which keys."""

    bucket: str
    """Logical id of the bucket (``Bucket: !Ref TrackBucket``)."""
    events: tuple[str, ...]
    """e.g. ``("s3:ObjectCreated:*",)``."""
    prefix: str = ""
    suffix: str = ""

    def notification_filter(self) -> dict[str, Any]:
        """The ``Filter`` of an S3 notification configuration (empty when it has no rule)."""
        rules = [{"Name": n, "Value": v} for n, v in (("prefix", self.prefix), ("suffix", self.suffix)) if v]
        return {"Key": {"FilterRules": rules}} if rules else {}


@dataclass(frozen=True)
class FunctionSpec:
    """How the local stack wires one ``AWS::Serverless::Function``."""

    logical_id: str
    code_uri: str
    handler: str
    api_routes: list[tuple[str, str]]
    """``(METHOD, path)`` of each ``Api`` event, e.g. ``("POST", "/report/tracker/list")``."""
    sqs_queue: str | None
    """Logical id of the queue of its first ``SQS`` event, if any."""
    batch_size: int | None
    """``BatchSize`` of that ``SQS`` event (SQS default 10)."""
    s3_events: tuple[S3EventSpec, ...] = ()
    """Its ``S3`` events (asynchronous invocations by a bucket's notification)."""
    dead_letter_queue: str | None = None
    """Logical id of the queue of its ``DeadLetterQueue`` (failed asynchronous invocations)."""
    sqs_events: tuple[tuple[str, int], ...] = ()
    """Every ``SQS`` event: (queue logical id, ``BatchSize``), in the template's order (the first
    is :attr:`sqs_queue`); e.g. the worker's jobs queue and the jobs' dead-letter queue."""


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Every ``AWS::Serverless::Function`` with its code, handler and event wiring."""
    glob = global_function(template)
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in resources_of(template).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        props = properties_of(resource)
        code_uri = props.get("CodeUri", glob.get("CodeUri"))
        handler = props.get("Handler", glob.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            raise TemplateError(f"{logical_id}: CodeUri and Handler must be plain strings")
        routes: list[tuple[str, str]] = []
        sqs_events: list[tuple[str, int]] = []
        s3_events: list[S3EventSpec] = []
        events = props.get("Events", {})
        for event in events.values() if isinstance(events, Mapping) else ():
            kind = event.get("Type")
            event_props = event.get("Properties", {})
            if kind == "Api":
                routes.append((str(event_props["Method"]).upper(), str(event_props["Path"])))
            elif kind == "SQS":
                queue = _referenced_logical_id(event_props.get("Queue"))
                if queue is not None:
                    sqs_events.append((queue, int(event_props.get("BatchSize", _DEFAULT_SQS_BATCH_SIZE))))
            elif kind == "S3":
                s3_events.append(_s3_event(event_props))
        dlq = props.get("DeadLetterQueue")
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=code_uri,
            handler=handler,
            api_routes=routes,
            sqs_queue=sqs_events[0][0] if sqs_events else None,
            batch_size=sqs_events[0][1] if sqs_events else None,
            s3_events=tuple(s3_events),
            sqs_events=tuple(sqs_events),
            dead_letter_queue=_referenced_logical_id(dlq.get("TargetArn"))
            if isinstance(dlq, Mapping) and dlq.get("Type") == "SQS"
            else None,
        )
    return specs


def _s3_event(props: Mapping[str, Any]) -> S3EventSpec:
    """An ``S3`` event's bucket, events and key filter (``Filter.S3Key.Rules``)."""
    events = props.get("Events", [])
    rules = (
        props.get("Filter", {}).get("S3Key", {}).get("Rules", []) if isinstance(props.get("Filter"), Mapping) else []
    )
    by_name = {str(r.get("Name", "")).lower(): str(r.get("Value", "")) for r in rules if isinstance(r, Mapping)}
    return S3EventSpec(
        bucket=_referenced_logical_id(props.get("Bucket")),
        events=tuple(str(e) for e in (events if isinstance(events, list) else [events])),
        prefix=by_name.get("prefix", ""),
        suffix=by_name.get("suffix", ""),
    )


def _referenced_logical_id(value: Any) -> str:
    """``!GetAtt Queue.Arn`` / ``!Ref Queue`` -> ``"Queue"``."""
    if isinstance(value, Mapping) and len(value) == 1:
        (fn, arg), *_ = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return arg
        if fn == "Fn::GetAtt":
            target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
            return str(target)
    raise TemplateError(f"expected a Ref or Fn::GetAtt to a resource, got {value!r}")


def function_environment(template: Mapping[str, Any], logical_id: str, resources: LocalResources) -> dict[str, str]:
    """Globals + the function's ``Environment.Variables``, resolved to local names and values."""
    resource = resources_of(template).get(logical_id)
    if resource is None or resource.get("Type") != SERVERLESS_FUNCTION:
        raise TemplateError(f"{logical_id} is not an AWS::Serverless::Function of the template")
    ctx = context_of(template, resources)
    merged: dict[str, Any] = {}
    for props in (global_function(template), properties_of(resource)):
        environment = props.get("Environment", {})
        variables = environment.get("Variables", {}) if isinstance(environment, Mapping) else {}
        merged.update(variables)
    return {str(name): scalar(value, ctx) for name, value in merged.items()}
