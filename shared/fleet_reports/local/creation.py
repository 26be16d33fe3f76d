"""Creating the template's tables, buckets and queues on a local endpoint (moto), idempotently.

Each supported resource is created from its own ``Properties`` (those this builder reproduces),
resolved by :mod:`~fleet_reports.local.intrinsics`, in dependency order (e.g. a DLQ before its
queue). Physical names are deterministic: ``<prefix>-<logical-id-in-kebab-case>``. boto3 is
imported lazily, inside the functions; the clients come from the given (or default) session.

What is not reproduced is so on purpose, each with its reason: the resource types of
:data:`NOT_CREATED_LOCALLY` and the properties of :data:`NOT_REPRODUCED`. :func:`unreproduced`
names whatever the template holds beyond both (``tests/template`` keeps it empty), so a new
resource or property is either built here or skipped with a reason, never dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from fleet_reports.local.intrinsics import (
    PARTITION,
    URL_SUFFIX,
    Context,
    dependencies,
    literal,
    parameter_values,
    resolve_value,
)
from fleet_reports.local.template import (
    BUCKET,
    QUEUE,
    SUPPORTED_TYPES,
    TABLE,
    TemplateError,
    properties_of,
    resources_of,
)

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


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


def physical_name(prefix: str, logical_id: str) -> str:
    """``("fleet-reports-local", "ReportJobsDLQ")`` -> ``"fleet-reports-local-report-jobs-dlq"``.

    Lowercase letters, digits and single hyphens: valid for S3 buckets, tables and queues.
    """
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", logical_id)
    name = re.sub(r"[^a-z0-9]+", "-", f"{prefix}-{kebab}".lower()).strip("-")
    if len(name) > 63:
        raise TemplateError(f"physical name {name!r} is longer than 63 characters; use a shorter prefix")
    return name


def context_of(template: Mapping[str, Any], resources: LocalResources) -> Context:
    """What the resolver knows once ``resources`` exist."""
    mappings = template.get("Mappings", {})
    return Context(
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
    return resolve_value(value, context_of(template, resources))


def _used_properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The properties this builder reproduces locally (others, e.g. notifications, may refer to
    resources that do not exist locally and are left unresolved)."""
    used = _USED_PROPERTIES.get(str(resource.get("Type")), frozenset())
    return {k: v for k, v in properties_of(resource).items() if k in used}


NOT_CREATED_LOCALLY: dict[str, str] = {
    "AWS::Serverless::Function": "the local stack calls the handlers in-process (function_specs)",
    "AWS::Serverless::Api": "the local gateway routes the API functions' events (local.gateway); "
    "no stage throttling, access log or usage plan",
    "AWS::Serverless::LayerVersion": "the packages come from the virtualenv",
    "AWS::IAM::Role": "no IAM locally: every call runs with the local credentials",
    "AWS::IAM::Policy": "no IAM locally: every call runs with the local credentials",
    "AWS::ApiGateway::Account": "API Gateway's account setting: no API Gateway locally",
    "AWS::CloudFormation::WaitConditionHandle": "an ordering of the deployment only",
    "AWS::WAFv2::WebACL": "the optional firewall of the API stage: no API Gateway locally",
    "AWS::WAFv2::WebACLAssociation": "the optional firewall of the API stage: no API Gateway locally",
    "AWS::S3::BucketPolicy": "TLS-only: cannot hold on the loopback HTTP endpoint",
    "AWS::SQS::QueuePolicy": "TLS-only: cannot hold on the loopback HTTP endpoint",
    "AWS::Logs::LogGroup": "the local stack logs to its console",
    "AWS::CloudWatch::Alarm": "no CloudWatch metrics locally",
    "AWS::SNS::Topic": "the alarms' topic: no alarms locally",
    "AWS::SNS::Subscription": "the alarms' topic: no alarms locally",
}
"""Resource types the local stack does not create, and why."""

NOT_REPRODUCED: dict[str, dict[str, str]] = {
    BUCKET: {
        "OwnershipControls": "ACLs play no part locally: nothing sets one",
        # moto keeps every version in memory and never applies a lifecycle rule: each import's
        # merge would keep the day it rewrote for the life of the process. The snapshot of the
        # local state (local.persist) keeps current objects only anyway.
        "VersioningConfiguration": "moto would keep every overwritten day in memory (no lifecycle)",
    },
}
"""Properties of created resources that the local stack leaves out on purpose, and why."""


def unreproduced(template: Mapping[str, Any]) -> list[str]:
    """What the template holds that the local stack neither builds nor skips with a reason:
    ``"<logical id>: <type>"`` for a resource, ``"<logical id>.<property>"`` for a property."""
    out: list[str] = []
    for logical_id, resource in sorted(resources_of(template).items()):
        kind = str(resource.get("Type"))
        if kind not in SUPPORTED_TYPES:
            if kind not in NOT_CREATED_LOCALLY:
                out.append(f"{logical_id}: {kind}")
            continue
        known = _USED_PROPERTIES.get(kind, frozenset()) | NOT_REPRODUCED.get(kind, {}).keys()
        out += [f"{logical_id}.{name}" for name in sorted(properties_of(resource)) if name not in known]
    return out


def _creation_order(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Supported resources, each after the ones it refers to (e.g. a DLQ before its queue)."""
    wanted = frozenset(k for k, r in resources.items() if r.get("Type") in SUPPORTED_TYPES)
    deps = {k: dependencies(_used_properties(resources[k]), wanted) - {k} for k in wanted}
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
    resources = resources_of(template)
    mappings = template.get("Mappings", {})
    ctx = Context(
        parameters=parameter_values(template, parameter_overrides),
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
        props = resolve_value(_used_properties(resource), ctx)
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


def _create_table(client: DynamoDBClient, name: str, props: Mapping[str, Any], logical_id: str, ctx: Context) -> None:
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
    if _truthy(props.get("DeletionProtectionEnabled")):
        request["DeletionProtectionEnabled"] = True
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
    arn = table.get("TableArn") or f"arn:{PARTITION}:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"
    ctx.names[logical_id] = name
    ctx.attributes[logical_id] = {"Arn": arn}
    if table.get("LatestStreamArn"):
        ctx.attributes[logical_id]["StreamArn"] = table["LatestStreamArn"]


def _create_bucket(client: S3Client, name: str, props: Mapping[str, Any], logical_id: str, ctx: Context) -> None:
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
    lifecycle = props.get("LifecycleConfiguration")
    if isinstance(lifecycle, Mapping) and lifecycle.get("Rules"):
        client.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration=cast(Any, {"Rules": [_lifecycle_rule(r) for r in lifecycle["Rules"]]}),
        )
    ctx.names[logical_id] = name
    ctx.attributes[logical_id] = {
        "Arn": f"arn:{PARTITION}:s3:::{name}",
        "DomainName": f"{name}.s3.{URL_SUFFIX}",
        "RegionalDomainName": f"{name}.s3.{ctx.region}.{URL_SUFFIX}",
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
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = _truthy(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        out["Expiration"] = expiration
    abort = rule.get("AbortIncompleteMultipartUpload")
    if isinstance(abort, Mapping):
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["DaysAfterInitiation"])}
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    noncurrent = rule.get("NoncurrentVersionExpiration")
    if isinstance(noncurrent, Mapping) and "NoncurrentDays" in noncurrent:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(noncurrent["NoncurrentDays"])}
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
            "DeletionProtectionEnabled",
        }
    ),
    BUCKET: frozenset({"PublicAccessBlockConfiguration", "BucketEncryption", "LifecycleConfiguration"}),
    QUEUE: frozenset({*_QUEUE_ATTRIBUTES, "RedrivePolicy", "RedriveAllowPolicy"}),
}


def _create_queue(client: SQSClient, name: str, props: Mapping[str, Any], logical_id: str, ctx: Context) -> None:
    attributes: dict[str, str] = {key: literal(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
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
