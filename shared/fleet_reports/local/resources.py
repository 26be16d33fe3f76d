"""Create the stack's AWS resources on a local endpoint (moto) from ``template.yaml`` itself.

The template is parsed with ``cfnlint.decode`` and every supported resource
(``AWS::DynamoDB::Table``, ``AWS::S3::Bucket``, ``AWS::SQS::Queue``) is created from its own
``Properties``, with the intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::FindInMap``,
``Fn::Join``, ``Fn::Select``) resolved by a small generic resolver, so the local stack and the
deployed one cannot drift. Physical names are deterministic: ``<prefix>-<logical-id-in-kebab-case>``.

The clients come from the given (or default) boto3 session, so the caller points them at moto by
setting ``AWS_ENDPOINT_URL``. boto3 and cfn-lint are imported lazily, inside the functions.

Not reproduced locally: bucket policies (the TLS-only rule cannot hold on a loopback HTTP
endpoint), IAM roles and policies, the functions, the API and the layers (the local stack
calls the handlers in-process; see :func:`functions` and :func:`function_environment`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

__all__ = [
    "SUPPORTED_TYPES",
    "FunctionSpec",
    "LocalResources",
    "S3EventSpec",
    "TemplateError",
    "create_resources",
    "function_environment",
    "functions",
    "load_template",
    "physical_name",
    "resolve",
]

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
SUPPORTED_TYPES = frozenset({TABLE, BUCKET, QUEUE})
SERVERLESS_FUNCTION = "AWS::Serverless::Function"

_PARTITION = "aws"
_URL_SUFFIX = "amazonaws.com"
_DEFAULT_SQS_BATCH_SIZE = 10


class TemplateError(ValueError):
    """The template cannot be read, or uses something this builder cannot resolve."""


@dataclass(frozen=True)
class LocalResources:
    """What :func:`create_resources` made, keyed by template logical id."""

    names: dict[str, str]
    """Logical id -> what ``Ref`` returns: table name, bucket name, queue URL."""
    arns: dict[str, str]
    parameters: dict[str, str]
    """Template parameter values (defaults as strings, possibly overridden)."""
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Logical id -> ``Fn::GetAtt`` attributes (``Arn``, ``QueueName``, ``QueueUrl``, ...)."""
    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: str = "fleet-reports-local"


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
    """Logical id of the queue of its ``SQS`` event, if any."""
    batch_size: int | None
    """``BatchSize`` of that ``SQS`` event (SQS default 10)."""
    s3_events: tuple[S3EventSpec, ...] = ()
    """Its ``S3`` events (asynchronous invocations by a bucket's notification)."""
    dead_letter_queue: str | None = None
    """Logical id of the queue of its ``DeadLetterQueue`` (failed asynchronous invocations)."""


# ============================================================================ reading


def load_template(path: Path) -> dict[str, Any]:
    """Parse ``template.yaml`` with ``cfnlint.decode`` (short-form tags become ``Fn::`` maps)."""
    import cfnlint.decode

    template, matches = cfnlint.decode.decode(str(path))
    if template is None or matches:
        problems = "; ".join(str(m) for m in matches) or "empty template"
        raise TemplateError(f"cannot read {path}: {problems}")
    plain = _plain(template)
    if not isinstance(plain, dict):
        raise TemplateError(f"{path} is not a mapping")
    return plain


def _plain(node: Any) -> Any:
    """cfn-lint's node subclasses (with line marks) -> plain dict / list / str."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def _resources(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        raise TemplateError("the template has no Resources")
    return {str(k): v for k, v in resources.items() if isinstance(v, Mapping)}


def _properties(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    props = resource.get("Properties", {})
    return props if isinstance(props, Mapping) else {}


def _global_function(template: Mapping[str, Any]) -> Mapping[str, Any]:
    globals_ = template.get("Globals", {})
    function = globals_.get("Function", {}) if isinstance(globals_, Mapping) else {}
    return function if isinstance(function, Mapping) else {}


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Every ``AWS::Serverless::Function`` with its code, handler and event wiring."""
    glob = _global_function(template)
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in _resources(template).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        props = _properties(resource)
        code_uri = props.get("CodeUri", glob.get("CodeUri"))
        handler = props.get("Handler", glob.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            raise TemplateError(f"{logical_id}: CodeUri and Handler must be plain strings")
        routes: list[tuple[str, str]] = []
        sqs_queue: str | None = None
        batch_size: int | None = None
        s3_events: list[S3EventSpec] = []
        events = props.get("Events", {})
        for event in events.values() if isinstance(events, Mapping) else ():
            kind = event.get("Type")
            event_props = event.get("Properties", {})
            if kind == "Api":
                routes.append((str(event_props["Method"]).upper(), str(event_props["Path"])))
            elif kind == "SQS":
                sqs_queue = _referenced_logical_id(event_props.get("Queue"))
                batch_size = int(event_props.get("BatchSize", _DEFAULT_SQS_BATCH_SIZE))
            elif kind == "S3":
                s3_events.append(_s3_event(event_props))
        dlq = props.get("DeadLetterQueue")
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=code_uri,
            handler=handler,
            api_routes=routes,
            sqs_queue=sqs_queue,
            batch_size=batch_size,
            s3_events=tuple(s3_events),
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


# ============================================================================ resolving

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class _Context:
    """What the resolver knows; grows as resources are created."""

    parameters: dict[str, str]
    mappings: Mapping[str, Any]
    names: dict[str, str]
    attributes: dict[str, dict[str, str]]
    region: str
    account_id: str
    stack_name: str

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": _PARTITION,
            "AWS::URLSuffix": _URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{_PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.names:
            return self.names[name]
        raise TemplateError(f"cannot resolve Ref {name!r} locally")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute} locally") from None


def _resolve(value: Any, ctx: _Context) -> Any:
    if isinstance(value, list):
        return [_resolve(v, ctx) for v in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        (key, arg), *_ = value.items()
        handler = _INTRINSICS.get(str(key))
        if handler is not None:
            return handler(arg, ctx)
    return {k: _resolve(v, ctx) for k, v in value.items()}


def _scalar(value: Any, ctx: _Context) -> str:
    resolved = _resolve(value, ctx)
    if isinstance(resolved, bool):
        return "true" if resolved else "false"
    if isinstance(resolved, (str, int, float)):
        return str(resolved)
    raise TemplateError(f"expected a scalar, got {resolved!r}")


def _fn_ref(arg: Any, ctx: _Context) -> str:
    return ctx.ref(_scalar(arg, ctx))


def _fn_get_att(arg: Any, ctx: _Context) -> str:
    if isinstance(arg, str):
        logical_id, _, attribute = arg.partition(".")
    elif isinstance(arg, list) and len(arg) == 2:
        logical_id, attribute = _scalar(arg[0], ctx), _scalar(arg[1], ctx)
    else:
        raise TemplateError(f"bad Fn::GetAtt {arg!r}")
    return ctx.get_att(logical_id, attribute)


def _fn_sub(arg: Any, ctx: _Context) -> str:
    if isinstance(arg, str):
        text, variables = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], Mapping):
        text, variables = _scalar(arg[0], ctx), {str(k): _scalar(v, ctx) for k, v in arg[1].items()}
    else:
        raise TemplateError(f"bad Fn::Sub {arg!r}")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):  # ${!Literal} -> ${Literal}
            return "${" + name[1:] + "}"
        if name in variables:
            return variables[name]
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return ctx.get_att(logical_id, attribute)
        return ctx.ref(name)

    return _SUB_VARIABLE.sub(substitute, text)


def _fn_find_in_map(arg: Any, ctx: _Context) -> Any:
    if not isinstance(arg, list) or len(arg) != 3:
        raise TemplateError(f"bad Fn::FindInMap {arg!r}")
    map_name, top, second = (_scalar(a, ctx) for a in arg)
    try:
        return _resolve(ctx.mappings[map_name][top][second], ctx)
    except (KeyError, TypeError):
        raise TemplateError(f"Fn::FindInMap: no {map_name}.{top}.{second} in Mappings") from None


def _fn_join(arg: Any, ctx: _Context) -> str:
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError(f"bad Fn::Join {arg!r}")
    items = _resolve(arg[1], ctx)
    if not isinstance(items, list):
        raise TemplateError(f"Fn::Join needs a list, got {items!r}")
    return _scalar(arg[0], ctx).join(_scalar(i, ctx) for i in items)


def _fn_select(arg: Any, ctx: _Context) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError(f"bad Fn::Select {arg!r}")
    items = _resolve(arg[1], ctx)
    if not isinstance(items, list):
        raise TemplateError(f"Fn::Select needs a list, got {items!r}")
    return items[int(_scalar(arg[0], ctx))]


_INTRINSICS: dict[str, Callable[[Any, _Context], Any]] = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
}


def _context(template: Mapping[str, Any], resources: LocalResources) -> _Context:
    mappings = template.get("Mappings", {})
    return _Context(
        parameters=dict(resources.parameters),
        mappings=mappings if isinstance(mappings, Mapping) else {},
        names=dict(resources.names),
        attributes={k: dict(v) for k, v in resources.attributes.items()},
        region=resources.region,
        account_id=resources.account_id,
        stack_name=resources.stack_name,
    )


def resolve(template: Mapping[str, Any], value: Any, resources: LocalResources) -> Any:
    """Resolve the intrinsics in ``value`` against the local resources and parameters."""
    return _resolve(value, _context(template, resources))


def function_environment(template: Mapping[str, Any], logical_id: str, resources: LocalResources) -> dict[str, str]:
    """Globals + the function's ``Environment.Variables``, resolved to local names and values."""
    resource = _resources(template).get(logical_id)
    if resource is None or resource.get("Type") != SERVERLESS_FUNCTION:
        raise TemplateError(f"{logical_id} is not an AWS::Serverless::Function of the template")
    ctx = _context(template, resources)
    merged: dict[str, Any] = {}
    for props in (_global_function(template), _properties(resource)):
        environment = props.get("Environment", {})
        variables = environment.get("Variables", {}) if isinstance(environment, Mapping) else {}
        merged.update(variables)
    return {str(name): _scalar(value, ctx) for name, value in merged.items()}


# ============================================================================ creating


def physical_name(prefix: str, logical_id: str) -> str:
    """``("fleet-reports-local", "ReportJobsDLQ")`` -> ``"fleet-reports-local-report-jobs-dlq"``.

    Lowercase letters, digits and single hyphens: valid for S3 buckets, tables and queues.
    """
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", logical_id)
    name = re.sub(r"[^a-z0-9]+", "-", f"{prefix}-{kebab}".lower()).strip("-")
    if len(name) > 63:
        raise TemplateError(f"physical name {name!r} is longer than 63 characters; use a shorter prefix")
    return name


def _parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str] | None) -> dict[str, str]:
    declared = template.get("Parameters", {})
    declared = declared if isinstance(declared, Mapping) else {}
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if isinstance(spec, Mapping) and "Default" in spec:
            values[str(name)] = _literal(spec["Default"])
    for name, value in (overrides or {}).items():
        spec = declared.get(name)
        if not isinstance(spec, Mapping):
            raise TemplateError(f"parameter override {name!r}: the template declares no such parameter")
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and str(value) not in {_literal(a) for a in allowed}:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        values[name] = str(value)
    missing = sorted(str(n) for n in declared if n not in values)
    if missing:
        raise TemplateError(f"parameters without a default need an override: {missing}")
    return values


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_literal(v) for v in value)
    return str(value)


def _dependencies(value: Any, candidates: frozenset[str]) -> set[str]:
    """Logical ids among ``candidates`` that ``value`` refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= _dependencies(v, candidates)
    elif isinstance(value, Mapping):
        for key, arg in value.items():
            if key == "Ref" and arg in candidates:
                found.add(str(arg))
            elif key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                if target in candidates:
                    found.add(str(target))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0] if isinstance(arg, list) else ""
                for name in _SUB_VARIABLE.findall(text if isinstance(text, str) else ""):
                    target = name.split(".", 1)[0]
                    if target in candidates:
                        found.add(target)
                if isinstance(arg, list) and len(arg) == 2:
                    found |= _dependencies(arg[1], candidates)
            else:
                found |= _dependencies(arg, candidates)
    return found


def _used_properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The properties this builder reproduces locally (others, e.g. notifications, may refer to
    resources that do not exist locally and are left unresolved)."""
    used = _USED_PROPERTIES.get(str(resource.get("Type")), frozenset())
    return {k: v for k, v in _properties(resource).items() if k in used}


def _creation_order(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Supported resources, each after the ones it refers to (e.g. a DLQ before its queue)."""
    wanted = frozenset(k for k, r in resources.items() if r.get("Type") in SUPPORTED_TYPES)
    deps = {k: _dependencies(_used_properties(resources[k]), wanted) - {k} for k in wanted}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(node: str) -> None:
        if node in order:
            return
        if node in visiting:
            raise TemplateError(f"circular reference through {node}")
        visiting.add(node)
        for dep in sorted(deps[node]):
            visit(dep)
        visiting.discard(node)
        order.append(node)

    for node in sorted(wanted):
        visit(node)
    return order


def create_resources(
    template: Mapping[str, Any],
    *,
    prefix: str = "fleet-reports-local",
    session: boto3.session.Session | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
) -> LocalResources:
    """Create every table, bucket and queue of the template; idempotent on a running endpoint."""
    import boto3

    session = session or boto3.session.Session()
    region = session.region_name or "us-east-1"
    sts = session.client("sts")
    account_id = str(sts.get_caller_identity()["Account"])
    resources = _resources(template)
    mappings = template.get("Mappings", {})
    ctx = _Context(
        parameters=_parameter_values(template, parameter_overrides),
        mappings=mappings if isinstance(mappings, Mapping) else {},
        names={},
        attributes={},
        region=region,
        account_id=account_id,
        stack_name=prefix,
    )
    dynamodb = session.client("dynamodb")
    s3 = session.client("s3")
    sqs = session.client("sqs")
    for logical_id in _creation_order(resources):
        resource = resources[logical_id]
        props = _resolve(_used_properties(resource), ctx)
        name = physical_name(prefix, logical_id)
        kind = resource["Type"]
        if kind == TABLE:
            _create_table(dynamodb, name, props, logical_id, ctx)
        elif kind == BUCKET:
            _create_bucket(s3, name, props, logical_id, ctx)
        elif kind == QUEUE:
            _create_queue(sqs, name, props, logical_id, ctx)
    return LocalResources(
        names=dict(ctx.names),
        arns={k: v["Arn"] for k, v in ctx.attributes.items() if "Arn" in v},
        parameters=dict(ctx.parameters),
        attributes={k: dict(v) for k, v in ctx.attributes.items()},
        region=region,
        account_id=account_id,
        stack_name=prefix,
    )


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _create_table(client: DynamoDBClient, name: str, props: Mapping[str, Any], logical_id: str, ctx: _Context) -> None:
    from botocore.exceptions import ClientError

    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if key in props:
            request[key] = props[key]
    stream = props.get("StreamSpecification")
    if isinstance(stream, Mapping) and "StreamViewType" in stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if isinstance(sse, Mapping) and _truthy(sse.get("SSEEnabled")):
        request["SSESpecification"] = {"Enabled": True}
    try:
        table = client.create_table(**request)["TableDescription"]
    except ClientError as error:
        if _error_code(error) != "ResourceInUseException":
            raise
        table = client.describe_table(TableName=name)["Table"]
    ttl = props.get("TimeToLiveSpecification")
    if isinstance(ttl, Mapping) and _truthy(ttl.get("Enabled")):
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": str(ttl["AttributeName"]), "Enabled": True},
            )
    pitr = props.get("PointInTimeRecoverySpecification")
    if isinstance(pitr, Mapping) and _truthy(pitr.get("PointInTimeRecoveryEnabled")):
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    arn = table.get("TableArn") or f"arn:{_PARTITION}:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"
    ctx.names[logical_id] = name
    ctx.attributes[logical_id] = {"Arn": arn}
    if table.get("LatestStreamArn"):
        ctx.attributes[logical_id]["StreamArn"] = table["LatestStreamArn"]


def _create_bucket(client: S3Client, name: str, props: Mapping[str, Any], logical_id: str, ctx: _Context) -> None:
    from botocore.exceptions import ClientError

    try:
        if ctx.region == "us-east-1":
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": cast(Any, ctx.region)},
            )
    except ClientError as error:
        if _error_code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    block = props.get("PublicAccessBlockConfiguration")
    if isinstance(block, Mapping):
        client.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": _truthy(block.get("BlockPublicAcls")),
                "IgnorePublicAcls": _truthy(block.get("IgnorePublicAcls")),
                "BlockPublicPolicy": _truthy(block.get("BlockPublicPolicy")),
                "RestrictPublicBuckets": _truthy(block.get("RestrictPublicBuckets")),
            },
        )
    encryption = props.get("BucketEncryption")
    if isinstance(encryption, Mapping):
        rules = [
            {"ApplyServerSideEncryptionByDefault": dict(rule["ServerSideEncryptionByDefault"])}
            for rule in encryption.get("ServerSideEncryptionConfiguration", [])
            if "ServerSideEncryptionByDefault" in rule
        ]
        if rules:
            client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=cast(Any, {"Rules": rules}))
    versioning = props.get("VersioningConfiguration")
    if isinstance(versioning, Mapping) and "Status" in versioning:
        client.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": cast(Any, str(versioning["Status"]))}
        )
    lifecycle = props.get("LifecycleConfiguration")
    if isinstance(lifecycle, Mapping) and lifecycle.get("Rules"):
        client.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration=cast(Any, {"Rules": [_lifecycle_rule(r) for r in lifecycle["Rules"]]}),
        )
    ctx.names[logical_id] = name
    ctx.attributes[logical_id] = {
        "Arn": f"arn:{_PARTITION}:s3:::{name}",
        "DomainName": f"{name}.s3.{_URL_SUFFIX}",
        "RegionalDomainName": f"{name}.s3.{ctx.region}.{_URL_SUFFIX}",
    }


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's flat lifecycle rule -> the S3 API's shape."""
    out: dict[str, Any] = {"Status": str(rule.get("Status", "Enabled"))}
    if "Id" in rule:
        out["ID"] = str(rule["Id"])
    prefix = rule.get("Prefix")
    out["Filter"] = {"Prefix": str(prefix) if prefix is not None else ""}
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if expiration:
        out["Expiration"] = expiration
    abort = rule.get("AbortIncompleteMultipartUpload")
    if isinstance(abort, Mapping):
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["DaysAfterInitiation"])}
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    return out


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


_USED_PROPERTIES: dict[str, frozenset[str]] = {
    TABLE: frozenset(
        {
            "KeySchema",
            "AttributeDefinitions",
            "BillingMode",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "ProvisionedThroughput",
            "StreamSpecification",
            "SSESpecification",
            "TimeToLiveSpecification",
            "PointInTimeRecoverySpecification",
        }
    ),
    BUCKET: frozenset(
        {
            "PublicAccessBlockConfiguration",
            "BucketEncryption",
            "VersioningConfiguration",
            "LifecycleConfiguration",
        }
    ),
    QUEUE: frozenset({*_QUEUE_ATTRIBUTES, "RedrivePolicy", "RedriveAllowPolicy"}),
}


def _create_queue(client: SQSClient, name: str, props: Mapping[str, Any], logical_id: str, ctx: _Context) -> None:
    attributes: dict[str, str] = {key: _literal(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            policy = props[key]
            attributes[key] = policy if isinstance(policy, str) else json.dumps(_json_numbers(policy))
    if _truthy(props.get("FifoQueue")) and not name.endswith(".fifo"):
        name = f"{name}.fifo"
    url = client.create_queue(QueueName=name, Attributes=cast(Any, attributes))["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ctx.names[logical_id] = url
    ctx.attributes[logical_id] = {"Arn": arn, "QueueName": name, "QueueUrl": url}


def _json_numbers(value: Any) -> Any:
    """Resolved parameters are strings; SQS wants ``maxReceiveCount`` as a number."""
    if isinstance(value, Mapping):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
