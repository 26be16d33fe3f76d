"""The template, hardened (issue #12): every bucket, table, queue and function of template.yaml.

* Data at rest is encrypted (buckets, tables, queues); buckets are private and TLS-only; tables
  keep point-in-time recovery.
* Every function logs to a log group of its own whose events expire (``LogRetentionDays``).
* The API stage is throttled (and generate, the action that starts work, more tightly).
* Both dead-letter queues and the worker's errors raise alarms, published to one SNS topic
  (``AlarmEmail`` subscribes an address to it).
* The worker's concurrency is capped and reserved (``WorkerConcurrency``), so that a flood of
  reports can never take the API functions' share of the account's concurrency.
* Least privilege, checked twice. Statically: the IAM that the SAM transform makes of the
  template (each function's role: its inline statements, the policies attached to it, the AWS
  managed policies SAM adds) reduced to (resource, action family) equals :data:`NEEDS`, a table
  written by reading each function's code path (``functions/*/app.py`` -> ``entry.py`` ->
  ``service/`` -> ``store/``). Dynamically: the report and import flows run on moto through the
  real handlers while every AWS call is recorded with the function that made it; each call must
  be granted (partition keys and key prefixes included), and every need must be seen or be listed
  in :data:`UNSEEN` with the reason no call shows it.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from fleet_reports import contract
from fleet_reports.demo import ACCESS, OWNER_ID

from tests.support.lambdas import Lambdas
from tests.support.sam import ACCOUNT_DEFAULT_LIMIT, UNRESERVED_MINIMUM, fires_on_any, of_type, sam_transform
from tests.support.seed import SEED_DAYS, SEED_GENERATE

FUNCTION = "AWS::Serverless::Function"
TABLE, BUCKET, QUEUE = "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue"
LOG_GROUP, ALARM = "AWS::Logs::LogGroup", "AWS::CloudWatch::Alarm"

# ============================================================================ the contract
# Action families: what a grant lets a function do, one word per IAM action. An action that is
# not here is granted to no function (Scan, DescribeTable, BatchWriteItem, s3:GetObjectVersion,
# sqs:SendMessageBatch ...): granting one fails the tests until it is taught here, with a need.
FAMILIES: dict[str, str] = {
    "dynamodb:GetItem": "get",
    "dynamodb:BatchGetItem": "batch-get",
    "dynamodb:Query": "query",
    "dynamodb:PutItem": "put",  # also a Put of a transaction (TransactWriteItems)
    "dynamodb:UpdateItem": "update",  # also an Update of a transaction
    "dynamodb:DeleteItem": "delete",  # also a Delete of a transaction
    "s3:GetObject": "get",  # also what a presigned GET URL the role signs may do
    "s3:PutObject": "put",
    "s3:DeleteObject": "delete",  # also each key of DeleteObjects
    "s3:ListBucket": "list",
    "sqs:SendMessage": "send",
    "sqs:ChangeMessageVisibility": "change-visibility",
}
# An entry of NEEDS is "<family>" on the whole resource, or "<family> <pattern>": for a bucket the
# object keys it may touch ("get tracks/*"), for a table the partition keys it may write
# ("put CRED#*", an IAM dynamodb:LeadingKeys condition). "consume" is an SQS event source: Lambda
# receives and deletes the messages for the function.

NEEDS: dict[str, dict[str, set[str]]] = {
    # api.actions.generate -> service.reports.generate. Fleet: the caller's credential and user
    # (auth.authenticate), the trackers in one batch (fleet.get_trackers), employees and tariffs
    # (get), the owner's zones (fleet.get_zones, a query). Reports: the id counter (update), the
    # report put with its parallel slot's update in one transaction (store.create_report), the
    # slot recount when the cap is hit (get, query, update), fail when the job cannot be sent.
    "GenerateFunction": {
        "FleetTable": {"get", "batch-get"},
        "ReportsTable": {"get", "query", "put", "update"},
        "ReportJobsQueue": {"send"},
    },
    # list, status, retrieve and download all pass through service.reports._settle: a report whose
    # worker stopped for good is failed when seen (store.fail: an update, with its slot's, in a
    # transaction). So each of them writes the reports table, though none creates or deletes.
    # Every action that authenticates reads the credential (get), then the user and its master
    # together (batch-get: service.auth.authenticate_with).
    "ListFunction": {"FleetTable": {"get", "batch-get"}, "ReportsTable": {"query", "update"}},
    "StatusFunction": {"FleetTable": {"get", "batch-get"}, "ReportsTable": {"get", "update"}},
    # The document: inline in the item (get) or, when large, under reports/<id>/ (store.files.get).
    "RetrieveFunction": {
        "FleetTable": {"get", "batch-get"},
        "ReportsTable": {"get", "update"},
        "ReportsBucket": {"get reports/*", "list"},
    },
    # A small file is read (store.files.get); a large one is a presigned URL this role signs.
    "DownloadFunction": {
        "FleetTable": {"get", "batch-get"},
        "ReportsTable": {"get", "update"},
        "ReportsBucket": {"get reports/*", "list"},
    },
    # service.reports.delete: the files (list the report's prefix, DeleteObjects), then the item
    # and, when unfinished, its slot in one transaction (store.delete_report); never reads a file.
    "DeleteFunction": {
        "FleetTable": {"get", "batch-get"},
        "ReportsTable": {"get", "update", "delete"},
        "ReportsBucket": {"delete reports/*", "list"},
    },
    # service.auth.login: the failed sign-ins of the login and the address, the login and the user
    # (get), counting a failure or clearing the count (update SIGNIN#), the new session CRED#<sha256> (put).
    "AuthFunction": {"FleetTable": {"get", "put CRED#*", "update SIGNIN#*"}},
    # service.auth.logout: the session (get), then its CRED# item goes (delete); never another item.
    "LogoutFunction": {"FleetTable": {"get CRED#*", "delete CRED#*"}},
    # api.actions.plugin_list: authenticate, count the caller's request (service.limits: an update
    # of its RATE#<caller> item, the only write); the list itself is code. The report actions count
    # their caller with the update they have already.
    "PluginsFunction": {"FleetTable": {"get", "batch-get"}, "ReportsTable": {"update RATE#*"}},
    # service.worker.process: build_context reads the trackers (batch), the owner's places, zones
    # and employees and each tracker's assignments of the period (queries); claim / progress /
    # finish / fail / release are updates (a failed claim reads the report: get);
    # store.tracks.load reads the period's days; the trips' odometer reads the tracker's odometer
    # summary, and rebuilds it when missing or outdated (list the days, read them, put it back:
    # store.odometer.history);
    # the document and files are put under reports/<id>/, and deleted again (list + delete) when
    # the report was deleted meanwhile; a failed attempt is retried sooner (change-visibility).
    "WorkerFunction": {
        "FleetTable": {"batch-get", "query"},
        "ReportsTable": {"get", "update"},
        "TrackBucket": {"get tracks/*", "get odometer/*", "put odometer/*", "list"},
        # the files; a report split across workers: its parts put, read by the assembly, deleted
        "ReportsBucket": {"put reports/*", "delete reports/*", "get reports/*/parts/*", "list"},
        "ReportJobsQueue": {"consume", "change-visibility", "send"},
        "ReportJobsDLQ": {"consume"},  # a dead-lettered job: its report failed (settle_dead_letter)
    },
    # service.imports.import_object: the upload (get incoming/), its tracker (batch), the ledger
    # claim IMPORT#<tracker> (put, conditional; get when taken; update when settled), the days
    # merged (get then conditional put of tracks/ or events/), their odometer figures (get then
    # conditional put of odometer/, store.odometer.record_days), the outcome (put IMPORTS#<tracker>
    # items and outcomes/ JSON). Failed events go to its dead-letter queue (send, by Lambda).
    "ImportFunction": {
        "FleetTable": {"get", "batch-get", "put IMPORT#*", "update IMPORT#*", "put IMPORTS#*"},
        "TrackBucket": {
            "get incoming/*",
            "get tracks/*",
            "get events/*",
            "get odometer/*",
            "put tracks/*",
            "put events/*",
            "put odometer/*",
            "put outcomes/*",
            "list",
        },
        "ImportDLQ": {"send"},
    },
}

_MISSING_IS_404 = "no call: s3:ListBucket makes a missing object answer 404 (read as absent), not 403"
UNSEEN: dict[tuple[str, str, str], str] = {
    ("RetrieveFunction", "ReportsBucket", "list"): _MISSING_IS_404,
    ("DownloadFunction", "ReportsBucket", "list"): _MISSING_IS_404,
    ("ImportFunction", "TrackBucket", "list"): _MISSING_IS_404,
    ("WorkerFunction", "ReportJobsQueue", "consume"): "Lambda's poller receives and deletes the jobs",
    ("WorkerFunction", "ReportJobsDLQ", "consume"): "Lambda's poller receives and deletes the dead-lettered jobs",
    ("ImportFunction", "ImportDLQ", "send"): "Lambda sends an event that failed every attempt",
}
"""Needs that no call of the function shows, and why."""

# The AWS managed policies SAM attaches to the roles it makes: the only grants on "*" resources.
MANAGED_POLICIES: dict[str, str] = {
    "service-role/AWSLambdaBasicExecutionRole": "CloudWatch Logs streams and events (SAM adds it to every role)",
    "AWSXrayWriteOnlyAccess": "X-Ray trace segments (Tracing: Active); X-Ray takes no resource but *",
    "service-role/AWSLambdaSQSQueueExecutionRole": "an SQS event source: receive, delete, queue attributes",
}
SQS_EVENT_POLICY = "service-role/AWSLambdaSQSQueueExecutionRole"
# Roles of the template that no function assumes, and the one AWS managed policy each holds.
SERVICE_ROLES: dict[str, str] = {
    # API Gateway's account-wide logging role (ApiGatewayLogRole=create): it writes the access log
    # into log groups API Gateway names itself, hence CloudWatch Logs on "*" (AWS's own policy).
    "ApiGatewayCloudWatchRole": "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}

# Actions AWS only grants on "*": allowed on it (PutMetricData only with its namespace condition).
STAR_ONLY_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
METRICS_ACTION = "cloudwatch:PutMetricData"


# ============================================================================ helpers


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _get_att(value: Any) -> tuple[str, str] | None:
    """``{"Fn::GetAtt": ["X", "Arn"]}`` (or ``"X.Arn"``) -> ``("X", "Arn")``."""
    if isinstance(value, Mapping) and set(value) == {"Fn::GetAtt"}:
        arg = value["Fn::GetAtt"]
        lid, attr = arg.split(".", 1) if isinstance(arg, str) else arg
        return str(lid), str(attr)
    return None


def _resource_target(value: Any) -> tuple[str, str | None]:
    """A statement's resource -> (logical id, key pattern or None); ``("*", None)`` for "*"."""
    if value == "*":
        return "*", None
    att = _get_att(value)
    if att is not None:
        assert att[1] == "Arn", f"a resource must be an ARN: {value!r}"
        return att[0], None
    if isinstance(value, Mapping) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        m = re.fullmatch(r"\$\{(\w+)\.Arn\}/(.+)", value["Fn::Sub"])
        if m:
            return m[1], m[2]
    raise AssertionError(f"teach this test the resource {value!r}")


def _leading_keys(statement: Mapping[str, Any]) -> list[str] | None:
    """The dynamodb:LeadingKeys patterns of a statement's condition (the only condition allowed)."""
    condition = statement.get("Condition")
    if not condition:
        return None
    assert set(condition) == {"ForAllValues:StringLike"}, f"teach this test the condition {condition}"
    keys = condition["ForAllValues:StringLike"]
    assert set(keys) == {"dynamodb:LeadingKeys"}, f"teach this test the condition {condition}"
    return [str(k) for k in _list(keys["dynamodb:LeadingKeys"])]


def _managed_name(arn: Any) -> str:
    text = arn if isinstance(arn, str) else arn.get("Fn::Sub", "")
    assert ":policy/" in text, f"not an AWS managed policy ARN: {arn!r}"
    return str(text.split(":policy/", 1)[1])


def star_grants(statement: Mapping[str, Any]) -> list[str]:
    """What is wrong with an Allow statement's wildcards ([] when nothing): a "*" in an action, a
    "*" resource for actions that take a resource, object access to a whole bucket."""
    if statement.get("Effect") != "Allow":
        return []
    problems = [f"wildcard action {a}" for a in _list(statement["Action"]) if "*" in a]
    actions = set(_list(statement["Action"]))
    for resource in _list(statement["Resource"]):
        target, pattern = _resource_target(resource)
        if target == "*":
            namespace = statement.get("Condition", {}).get("StringEquals", {}).get("cloudwatch:namespace")
            allowed = STAR_ONLY_ACTIONS | ({METRICS_ACTION} if namespace else set())
            problems += [f"{a} on *" for a in sorted(actions - allowed)]
        elif pattern is not None and (pattern == "*" or not pattern.endswith("/*")):
            problems.append(f"objects {pattern!r} of {target}: grant a prefix ('<prefix>/*')")
    return problems


# ============================================================================ the SAM transform
@pytest.fixture(scope="module")
def transformed(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM makes of template.yaml (the real translator, in-process)."""
    return sam_transform(sam_template)


def _role_statements(cfn: Mapping[str, Any], function: str) -> list[Mapping[str, Any]]:
    """Every statement of the function's role: its inline policies and the policies attached to it."""
    resources = cfn["Resources"]
    role = resources[f"{function}Role"]
    statements = [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": f"{function}Role"} in resource["Properties"]["Roles"]:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _event_queues(cfn: Mapping[str, Any], function: str) -> set[str]:
    """Queues of the function's SQS event source mappings."""
    queues: set[str] = set()
    for resource in cfn["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::EventSourceMapping" and props.get("FunctionName") == {"Ref": function}:
            att = _get_att(props["EventSourceArn"])
            assert att is not None
            queues.add(att[0])
    return queues


def granted(cfn: Mapping[str, Any], function: str) -> dict[str, set[str]]:
    """The function's role reduced to {resource: {"family" | "family pattern"}}."""
    out: dict[str, set[str]] = {}
    for statement in _role_statements(cfn, function):
        assert statement["Effect"] == "Allow", statement
        for action in _list(statement["Action"]):
            assert action in FAMILIES, f"{function}: {action} is granted but no function needs it (or teach FAMILIES)"
        keys = _leading_keys(statement)
        for resource in _list(statement["Resource"]):
            target, pattern = _resource_target(resource)
            assert target != "*", f"{function}: {statement['Action']} on *"
            for family in (FAMILIES[a] for a in _list(statement["Action"])):
                for p in keys if keys is not None else [pattern]:
                    out.setdefault(target, set()).add(f"{family} {p}" if p else family)
    managed = {_managed_name(arn) for arn in cfn["Resources"][f"{function}Role"]["Properties"]["ManagedPolicyArns"]}
    unknown = managed - set(MANAGED_POLICIES)
    assert not unknown, f"{function}: managed policies {unknown} are no one's need"
    queues = _event_queues(cfn, function)
    assert (SQS_EVENT_POLICY in managed) == bool(queues), f"{function}: the SQS policy goes with an SQS event"
    for queue in queues:
        out.setdefault(queue, set()).add("consume")
    return out


# ============================================================================ encryption, privacy, recovery
def test_every_bucket_is_encrypted_private_owner_enforced_and_tls_only(resources_of: dict[str, Any]) -> None:
    # Given every bucket of the template
    buckets = of_type(resources_of, BUCKET)
    assert set(buckets) == {"ReportsBucket", "TrackBucket"}
    policies = [r["Properties"] for r in of_type(resources_of, "AWS::S3::BucketPolicy").values()]

    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        # Then objects are encrypted at rest by default
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms"), logical_id
        # And public access is blocked every way, and ACLs are off (the bucket owner owns every object)
        assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        # And its policy denies every request not made over TLS, on the bucket and on its objects
        (policy,) = [p for p in policies if p["Bucket"] == {"Ref": logical_id}]
        denials = [
            s
            for s in policy["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
            and s["Principal"] == "*"
            and s["Action"] == "s3:*"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        (deny,) = denials
        assert [_resource_target(r) for r in deny["Resource"]] == [(logical_id, None), (logical_id, "*")]


def test_every_table_is_encrypted_with_point_in_time_recovery(resources_of: dict[str, Any]) -> None:
    # Given every table of the template
    tables = of_type(resources_of, TABLE)
    assert set(tables) == {"ReportsTable", "FleetTable"}

    for logical_id, table in tables.items():
        props = table["Properties"]
        # Then it is encrypted at rest and can be restored to any second of the last 35 days
        assert props["SSESpecification"]["SSEEnabled"] is True, logical_id
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id


def test_every_queue_is_encrypted(resources_of: dict[str, Any]) -> None:
    # Given every queue of the template (the jobs, and both dead-letter queues)
    queues = of_type(resources_of, QUEUE)
    assert set(queues) == {"ReportJobsQueue", "ReportJobsDLQ", "ImportDLQ"}

    # Then each is encrypted at rest (SQS-managed keys, or KMS)
    for logical_id, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, logical_id


# ============================================================================ logs
def test_every_function_logs_to_its_own_log_group_with_retention(
    resources_of: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    # Given every function and every log group of the template
    functions = of_type(resources_of, FUNCTION)
    groups = of_type(resources_of, LOG_GROUP)
    assert set(functions) == contract.ALL_FUNCTIONS

    # When each function's LoggingConfig is read
    used = {lid: fn["Properties"]["LoggingConfig"]["LogGroup"] for lid, fn in functions.items()}

    # Then each names a log group of its own, and no log group is left over but the API stage's
    # access log (tests/template/test_template_lens.py)
    assert all(set(ref) == {"Ref"} and ref["Ref"] in groups for ref in used.values()), used
    assert sorted(ref["Ref"] for ref in used.values()) == sorted(set(groups) - {"ApiAccessLogGroup"})
    # And every log group keeps its events LogRetentionDays, under a name CloudFormation generates
    for logical_id, group in groups.items():
        assert group["Properties"] == {"RetentionInDays": {"Ref": "LogRetentionDays"}}, logical_id
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    # And the parameter offers only retentions CloudWatch accepts
    cloudwatch = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922}
    cloudwatch |= {3288, 3653}
    parameter = sam_template["Parameters"]["LogRetentionDays"]
    assert set(parameter["AllowedValues"]) <= cloudwatch
    assert parameter["Default"] in parameter["AllowedValues"]


def test_the_transform_keeps_each_functions_log_group(transformed: dict[str, Any]) -> None:
    # Given the Lambda functions SAM makes
    lambdas = of_type(transformed["Resources"], "AWS::Lambda::Function")
    assert set(lambdas) == contract.ALL_FUNCTIONS

    # Then each still logs to its log group (Lambda would otherwise make /aws/lambda/<name>, kept forever)
    for logical_id, fn in lambdas.items():
        assert set(fn["Properties"]["LoggingConfig"]) == {"LogGroup"}, logical_id
        assert transformed["Resources"][fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]["Type"] == LOG_GROUP


# ============================================================================ API throttling
def test_the_api_stage_and_generate_are_throttled_by_parameters(
    resources_of: dict[str, Any], sam_template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the API's method settings
    settings = resources_of["Api"]["Properties"]["MethodSettings"]
    by_method = {(s["ResourcePath"], s["HttpMethod"]): s for s in settings}

    # Then every method of the stage is throttled by ApiRateLimit / ApiBurstLimit
    generate_path = contract.API_ROUTES[contract.GENERATE].replace("/", "~1")
    auth_path = contract.API_ROUTES[contract.AUTH].replace("/", "~1")  # tests/template/test_template_lens.py
    assert set(by_method) == {("/*", "*")} | {(f"/{p}", m) for p in (generate_path, auth_path) for m in ("GET", "POST")}
    stage = by_method["/*", "*"]
    assert (stage["ThrottlingRateLimit"], stage["ThrottlingBurstLimit"]) == (
        {"Ref": "ApiRateLimit"},
        {"Ref": "ApiBurstLimit"},
    )
    # And generate (both methods) by its own, tighter, limits
    for method in ("GET", "POST"):
        generate = by_method[f"/{generate_path}", method]
        assert (generate["ThrottlingRateLimit"], generate["ThrottlingBurstLimit"]) == (
            {"Ref": "GenerateRateLimit"},
            {"Ref": "GenerateBurstLimit"},
        )
    parameters = sam_template["Parameters"]
    assert parameters["GenerateRateLimit"]["Default"] <= parameters["ApiRateLimit"]["Default"]
    assert parameters["GenerateBurstLimit"]["Default"] <= parameters["ApiBurstLimit"]["Default"]
    assert all(parameters[p]["MinValue"] >= 1 for p in ("ApiRateLimit", "ApiBurstLimit", "GenerateRateLimit"))
    # And the stage SAM deploys carries them, answering 429 with the service's envelope (error 15)
    (stage_resource,) = of_type(transformed["Resources"], "AWS::ApiGateway::Stage").values()
    assert stage_resource["Properties"]["MethodSettings"] == settings
    throttled = json.loads(
        resources_of["Api"]["Properties"]["GatewayResponses"]["THROTTLED"]["ResponseTemplates"]["application/json"]
    )
    assert throttled["status"]["code"] == 15


# ============================================================================ alarms
def _dead_letter_queues(resources_of: Mapping[str, Any]) -> set[str]:
    """Queues some queue redrives to, or some function sends its failed events to."""
    found: set[str] = set()
    for resource in resources_of.values():
        props = resource.get("Properties", {})
        targets = [
            props.get("RedrivePolicy", {}).get("deadLetterTargetArn"),
            props.get("DeadLetterQueue", {}).get("TargetArn"),
        ]
        found |= {att[0] for att in map(_get_att, targets) if att is not None}
    return found


def _alarms_on(resources_of: Mapping[str, Any], namespace: str, metric: str, dimension: tuple[str, Any]) -> list[Any]:
    return [
        a["Properties"]
        for a in of_type(resources_of, ALARM).values()
        if (a["Properties"].get("Namespace"), a["Properties"].get("MetricName")) == (namespace, metric)
        and a["Properties"].get("Dimensions") == [{"Name": dimension[0], "Value": dimension[1]}]
    ]


def test_both_dead_letter_queues_raise_an_alarm(resources_of: dict[str, Any]) -> None:
    # Given the template's dead-letter queues
    dlqs = _dead_letter_queues(resources_of)
    assert dlqs == {"ReportJobsDLQ", "ImportDLQ"}

    # (the worker consumes the jobs' one, failing each dead-lettered job's report: its messages are
    # counted as they are received; the importer's stay until an operator looks)
    metrics = {
        "ReportJobsDLQ": ("NumberOfMessagesReceived", "Sum"),
        "ImportDLQ": ("ApproximateNumberOfMessagesVisible", "Maximum"),
    }
    for dlq in dlqs:
        # When the alarms on its messages are looked up
        metric, statistic = metrics[dlq]
        (alarm,) = _alarms_on(resources_of, "AWS/SQS", metric, ("QueueName", {"Fn::GetAtt": [dlq, "QueueName"]}))
        # Then one fires as soon as a message is in it, and tells the alarm topic (and when it clears)
        assert fires_on_any(alarm), dlq
        assert alarm["Statistic"] == statistic
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["AlarmDescription"]


def test_worker_errors_raise_an_alarm(resources_of: dict[str, Any]) -> None:
    # When the alarms on the worker's Lambda errors are looked up
    (alarm,) = _alarms_on(resources_of, "AWS/Lambda", "Errors", ("FunctionName", {"Ref": "WorkerFunction"}))

    # Then one fires on any failed invocation and tells the alarm topic
    assert fires_on_any(alarm)
    assert alarm["Statistic"] == "Sum"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_alarms_reach_an_optional_email_through_one_topic(
    resources_of: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    # Given the alarm topic and the AlarmEmail parameter
    assert resources_of["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    parameter = sam_template["Parameters"]["AlarmEmail"]

    # Then the address is optional (empty by default) and must look like one
    pattern = re.compile(parameter["AllowedPattern"])
    assert parameter["Default"] == ""
    assert pattern.fullmatch("") and pattern.fullmatch("ops@fleet.example")
    assert not pattern.fullmatch("not an address")
    # And only a given address is subscribed to the topic
    (subscription,) = of_type(resources_of, "AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlarmEmail"
    assert sam_template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    # And every alarm of the template tells that topic, which tools find in the outputs
    for logical_id, alarm in of_type(resources_of, ALARM).items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
    assert sam_template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


# ============================================================================ concurrency


def test_the_worker_concurrency_is_capped_and_reserved_and_the_api_keeps_the_rest(
    resources_of: dict[str, Any], sam_template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the worker, its event source and the WorkerConcurrency parameter
    worker = resources_of["WorkerFunction"]["Properties"]
    event = worker["Events"]["Jobs"]
    parameter = sam_template["Parameters"]["WorkerConcurrency"]

    # Then Lambda's pollers never run more workers than WorkerConcurrency (more jobs wait in the
    # queue instead of being throttled, which would count deliveries towards the DLQ)
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerConcurrency"}}
    (mapping,) = [
        r["Properties"]
        for r in of_type(transformed["Resources"], "AWS::Lambda::EventSourceMapping").values()
        if r["Properties"]["FunctionName"] == {"Ref": "WorkerFunction"}
        and r["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["ReportJobsQueue", "Arn"]}
    ]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerConcurrency"}}
    # And that many are reserved for it unless ReserveWorkerConcurrency says no (an account too small to reserve)
    assert worker["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesWorkerConcurrency", {"Ref": "WorkerConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert sam_template["Conditions"]["ReservesWorkerConcurrency"] == {
        "Fn::Equals": [{"Ref": "ReserveWorkerConcurrency"}, "true"]
    }
    assert sam_template["Parameters"]["ReserveWorkerConcurrency"]["Default"] == "true"
    # And the importer reserves none: it shares the unreserved pool (the API functions reserve
    # their own, ApiConcurrency: tests/template/test_template_lens.py)
    assert "ReservedConcurrentExecutions" not in resources_of["ImportFunction"]["Properties"]
    assert "ReservedConcurrentExecutions" not in sam_template["Globals"]["Function"]
    # And the parameter's range keeps both sides valid on a default account: an event source takes
    # at least 2, and Lambda keeps 100 unreserved
    assert parameter["MinValue"] >= 2
    assert parameter["MaxValue"] <= ACCOUNT_DEFAULT_LIMIT - UNRESERVED_MINIMUM
    assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"]


# ============================================================================ least privilege, statically
def test_the_needs_table_agrees_with_the_contract() -> None:
    # Given the needs table, reduced to the contract's access levels
    reads, writes = {"get", "batch-get", "query", "list"}, {"put", "update", "delete"}

    def access(entries: set[str]) -> str:
        families = {e.split(" ", 1)[0] for e in entries}
        if families & {"consume", "change-visibility"}:
            return "consume-send" if "send" in families else "consume"
        if families == {"send"}:
            return "send"
        read, write = bool(families & (reads - {"list"})), bool(families & writes)
        return "readwrite" if read and write else "write" if write else "read"

    # Then it is contract.FUNCTION_ACCESS: same functions, same resources, same levels
    reduced = {fn: {res: access(entries) for res, entries in needs.items()} for fn, needs in NEEDS.items()}
    assert reduced == contract.FUNCTION_ACCESS


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_each_function_is_granted_exactly_what_its_code_needs(transformed: dict[str, Any], function: str) -> None:
    # Given the role SAM makes for the function (inline statements, attached policies, managed policies)
    # When it is reduced to resource -> action families
    grants = granted(transformed, function)

    # Then it is the needs table: nothing missing, nothing more, no resource it does not touch
    assert grants == NEEDS[function]


def test_no_statement_grants_a_wildcard_beyond_what_aws_requires(transformed: dict[str, Any]) -> None:
    # Given every IAM statement of the deployed template (roles and attached policies)
    statements: list[tuple[str, Mapping[str, Any]]] = []
    for logical_id, resource in transformed["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            statements += [(logical_id, s) for p in props.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        elif resource["Type"] == "AWS::IAM::Policy":
            statements += [(logical_id, s) for s in props["PolicyDocument"]["Statement"]]
    assert len(statements) > len(contract.ALL_FUNCTIONS)

    # Then none has a "*" action or a "*" resource, and object access is always to a key prefix
    assert [(lid, star_grants(s)) for lid, s in statements if star_grants(s)] == []
    # And the only "*" grants are the AWS managed policies SAM attaches, each for its documented reason
    all_roles = of_type(transformed["Resources"], "AWS::IAM::Role")
    roles = {lid: role for lid, role in all_roles.items() if lid not in SERVICE_ROLES}
    attached = {_managed_name(arn) for role in roles.values() for arn in role["Properties"]["ManagedPolicyArns"]}
    assert attached <= set(MANAGED_POLICIES)
    # And a role no function assumes holds its one AWS policy, no statement of its own
    for logical_id, policy in SERVICE_ROLES.items():
        role = all_roles[logical_id]["Properties"]
        assert [_managed_name(arn) for arn in role["ManagedPolicyArns"]] == [policy]
        assert "Policies" not in role
    assert {
        lid
        for lid, role in roles.items()
        if any(SQS_EVENT_POLICY in str(a) for a in role["Properties"]["ManagedPolicyArns"])
    } == {"WorkerFunctionRole"}


def test_the_wildcard_check_has_teeth() -> None:
    # Given statements a careless template could hold
    def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
        return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}

    table = {"Fn::GetAtt": ["ReportsTable", "Arn"]}
    namespace = {"Condition": {"StringEquals": {"cloudwatch:namespace": "FleetReports"}}}

    # Then a wildcard action, a "*" resource and whole-bucket object access are caught
    assert star_grants(allow("sqs:SendMessage*", {"Fn::GetAtt": ["ReportJobsQueue", "Arn"]}))
    assert star_grants(allow(["dynamodb:GetItem"], "*"))
    assert star_grants(allow("s3:GetObject", {"Fn::Sub": "${ReportsBucket.Arn}/*"}))
    assert star_grants(allow(METRICS_ACTION, "*"))
    # And what AWS requires on "*" passes, as do scoped grants and denials
    assert star_grants(allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")) == []
    assert star_grants(allow(METRICS_ACTION, "*", **namespace)) == []
    assert star_grants(allow("dynamodb:GetItem", table)) == []
    assert star_grants(allow("s3:GetObject", {"Fn::Sub": "${ReportsBucket.Arn}/reports/*"})) == []
    assert star_grants({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}) == []


def test_sams_broad_policy_templates_would_fail_the_needs(sam_template: dict[str, Any]) -> None:
    # Given the template with status reading the reports table through SAM's DynamoDBReadPolicy
    # (GetItem, Query, Scan, BatchGetItem, DescribeTable) instead of its own statements
    broken = copy.deepcopy(sam_template)
    broken["Resources"]["StatusFunction"]["Properties"]["Policies"] = [
        {"DynamoDBReadPolicy": {"TableName": {"Ref": "ReportsTable"}}}
    ]

    # When its grants are reduced, Then the needless Scan is refused
    with pytest.raises(AssertionError, match="dynamodb:Scan is granted but no function needs it"):
        granted(sam_transform(broken), "StatusFunction")


# ============================================================================ least privilege, dynamically
@dataclass(frozen=True)
class Call:
    """One AWS request a function made: on which resource (logical id), which family, which key."""

    function: str
    resource: str
    family: str
    key: str | None = None


@dataclass
class Recorder:
    """Every AWS call made inside a function's invocation, with that function's logical id."""

    logical_ids: dict[str, str]
    """Physical table / bucket / queue name -> logical id."""
    current: str | None = None
    calls: list[Call] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    """Bodies of the messages sent (to deliver a job twice)."""
    hooks: list[Callable[[str, str, Mapping[str, Any]], None]] = field(default_factory=list)
    """Run before a recorded call (what they call themselves is not recorded)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def observe(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        # Workers' threads (store.tracks.load reads days in parallel) record for their invocation
        function = self.current
        if function is None or getattr(self._local, "in_hook", False):
            return
        self._local.in_hook = True
        try:
            for hook in self.hooks:
                hook(function, operation, params)
        finally:
            self._local.in_hook = False
        if operation == "SendMessage":
            self.sent.append(str(params["MessageBody"]))
        with self._lock:
            self.calls += [
                Call(function, self.logical_ids.get(name, f"?{name}"), family, key)
                for name, family, key in requests(service, operation, params)
            ]


def _pk(item: Mapping[str, Any]) -> str | None:
    value = item.get("pk")
    if isinstance(value, Mapping):  # the client's typed form {"S": ...}
        value = value.get("S")
    return None if value is None else str(value)


_TRANSACT = {
    "Put": ("put", "Item"),
    "Update": ("update", "Key"),
    "Delete": ("delete", "Key"),
    "ConditionCheck": ("condition-check", "Key"),
}
_S3 = {
    "GetObject": "get",
    "HeadObject": "get",
    "PutObject": "put",
    "CreateMultipartUpload": "put",
    "UploadPart": "put",
    "CompleteMultipartUpload": "put",
    "AbortMultipartUpload": "abort-upload",
    "DeleteObject": "delete",
}
_SQS = {
    "SendMessage": "send",
    "SendMessageBatch": "send",
    "ChangeMessageVisibility": "change-visibility",
    "ChangeMessageVisibilityBatch": "change-visibility",
    "ReceiveMessage": "consume",
    "DeleteMessage": "consume",
    "DeleteMessageBatch": "consume",
    "GetQueueAttributes": "consume",
}


def requests(service: str, operation: str, params: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    """One API call -> (physical resource name, family, partition or object key) per item it touches.

    An operation not taught here comes back as family "<service>:<operation>", which no need has."""
    if service == "dynamodb":
        simple = {
            "GetItem": ("get", "Key"),
            "PutItem": ("put", "Item"),
            "UpdateItem": ("update", "Key"),
            "DeleteItem": ("delete", "Key"),
        }
        if operation in simple:
            family, part = simple[operation]
            return [(params["TableName"], family, _pk(params[part]))]
        if operation == "Query":
            return [(params["TableName"], "query", None)]
        if operation == "BatchGetItem":
            return [(name, "batch-get", None) for name in params["RequestItems"]]
        if operation == "TransactWriteItems":
            out: list[tuple[str, str, str | None]] = []
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                family, part = _TRANSACT[kind]
                out.append((body["TableName"], family, _pk(body[part])))
            return out
        return [(str(params.get("TableName", "?")), f"dynamodb:{operation}", None)]
    if service == "s3":
        if operation in _S3:
            return [(params["Bucket"], _S3[operation], params["Key"])]
        if operation in ("ListObjectsV2", "ListObjects"):
            return [(params["Bucket"], "list", None)]
        if operation == "DeleteObjects":
            return [(params["Bucket"], "delete", o["Key"]) for o in params["Delete"]["Objects"]]
    if service == "sqs" and operation in _SQS:
        return [(str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1], _SQS[operation], None)]
    return [("?", f"{service}:{operation}", None)]


def _covers(entry: str, call: Call) -> bool:
    """Whether a needs entry ("family" or "family pattern") grants the call."""
    family, _, pattern = entry.partition(" ")
    if family != call.family:
        return False
    return not pattern or (call.key is not None and fnmatch.fnmatchcase(call.key, pattern))


@pytest.fixture
def recorder(demo: Lambdas, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Records every AWS call (and every presigned URL) a function makes while it is invoked."""
    from botocore.client import BaseClient

    resources = demo.resources
    logical_ids = {name: lid for lid, name in resources.names.items() if not name.startswith("http")}
    logical_ids |= {attrs["QueueName"]: lid for lid, attrs in resources.attributes.items() if "QueueName" in attrs}
    rec = Recorder(logical_ids)

    make_api_call = BaseClient._make_api_call
    emit_api_params = BaseClient._emit_api_params

    def spy_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        rec.observe(client.meta.service_model.service_name, operation, params)
        return make_api_call(client, operation, params)

    def spy_presign(client: Any, api_params: dict[str, Any], operation_model: Any, context: dict[str, Any]) -> Any:
        if context.get("is_presign_request"):  # a URL the role signs: the request is made with its rights
            rec.observe(client.meta.service_model.service_name, operation_model.name, api_params)
        return emit_api_params(client, api_params, operation_model, context)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy_call)
    monkeypatch.setattr(BaseClient, "_emit_api_params", spy_presign)

    invoke = demo.invoke

    def invoke_recorded(logical_id: str, event: dict[str, Any], **extra_env: str) -> dict[str, Any]:
        rec.current = logical_id
        try:
            return invoke(logical_id, event, **extra_env)
        finally:
            rec.current = None

    monkeypatch.setattr(demo, "invoke", invoke_recorded)
    return rec


def _api(demo: Lambdas, function: str, **params: Any) -> dict[str, Any]:
    status, body, headers = demo.api(function, {"hash": ACCESS.owner_hash, **params})
    if status == 302:  # a presigned download
        return {"success": True, "location": headers["location"]}
    assert isinstance(body, dict), (function, status)
    return body


def _generate(demo: Lambdas, **overrides: Any) -> int:
    body = _api(demo, "GenerateFunction", **{**SEED_GENERATE, **overrides})
    assert body["success"] is True, body
    return int(body["id"])


def _make_stale(demo: Lambdas, report_id: int) -> None:
    """Leave the report as a worker that died on its last attempt leaves it: running, lease long over."""
    from fleet_reports.store.reports import report_key

    table = boto3.resource("dynamodb").Table(demo.resources.names["ReportsTable"])
    table.update_item(
        Key=report_key(OWNER_ID, report_id),
        UpdateExpression="SET #s = :running, lease_until = :long_ago",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":running": "running", ":long_ago": 1},
    )


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    return {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]}


def drive_every_path(demo: Lambdas, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every function through the paths that make its calls: the report life, its failures, imports."""
    from datetime import date

    from fleet_reports.demo import demo_track
    from fleet_reports.ingest import format_csv

    reports_table = demo.resources.names["ReportsTable"]
    track_bucket = demo.resources.names["TrackBucket"]
    s3 = boto3.client("s3")
    # Report documents and files go through S3 (retrieve reads it there; download presigns)
    monkeypatch.setenv("INLINE_REPORT_MAX_BYTES", "0")
    monkeypatch.setenv("DOWNLOAD_INLINE_MAX_BYTES", "0")

    # Sessions (a failed sign-in counted, then cleared by the right password) and the plugin list
    status, body, _ = demo.api("AuthFunction", {"login": ACCESS.owner_login, "password": "not-the-password"})
    assert (status, body["status"]["code"]) == (400, 102), body
    status, body, _ = demo.api("AuthFunction", {"login": ACCESS.owner_login, "password": ACCESS.owner_password})
    assert (status, body["success"]) == (200, True), body
    assert _api(demo, "LogoutFunction", hash=body["hash"])["success"] is True
    assert _api(demo, "PluginsFunction")["success"] is True

    # A report naming zones (the owner's zones are queried), then the parallel cap and its recount
    geofence = {"plugin_id": 8, "zone_ids": [987654]}
    assert _api(demo, "GenerateFunction", **{**SEED_GENERATE, "plugin": geofence})["status"]["code"] == 217
    done = _generate(demo, trackers=[669673, 123456])
    capped = demo.api("GenerateFunction", {**SEED_GENERATE, "hash": ACCESS.owner_hash}, MAX_PARALLEL_REPORTS="1")[1]
    assert capped["status"]["code"] == 15, capped

    # The worker: a report done, the same job delivered twice, a report deleted while it renders
    (job,) = recorder.sent
    deleted = _generate(demo)

    def delete_while_rendering(function: str, operation: str, params: Mapping[str, Any]) -> None:
        from fleet_reports.store.reports import report_key

        if (
            function == "WorkerFunction"
            and operation == "PutObject"
            and params["Key"].startswith(f"reports/{deleted}/")
        ):
            boto3.resource("dynamodb").Table(reports_table).delete_item(Key=report_key(OWNER_ID, deleted))

    recorder.hooks.append(delete_while_rendering)
    boto3.client("sqs").send_message(QueueUrl=demo.resources.names["ReportJobsQueue"], MessageBody=job)
    assert demo.run_worker() >= 3
    recorder.hooks.clear()

    # The done report through every reading action
    assert _api(demo, "StatusFunction", report_id=done)["state"] == "done"
    assert _api(demo, "ListFunction")["list"][0]["id"] == done
    assert _api(demo, "RetrieveFunction", report_id=done)["report"]["id"] == done
    assert "location" in _api(demo, "DownloadFunction", report_id=done, format="pdf")

    # A job whose attempt fails (an unreadable day) is released and retried sooner
    day = SEED_DAYS[-1].isoformat()
    s3.put_object(Bucket=track_bucket, Key=f"tracks/tracker_id=123456/date={day}/fixes.parquet", Body=b"not parquet")
    _generate(demo, trackers=[123456], **{"from": f"{day} 06:00:00", "to": f"{day} 20:00:00"})
    demo.run_worker()

    # A report whose worker died for good is failed by whichever action sees it first
    stale = _generate(demo)
    for function, params in [
        ("StatusFunction", {"report_id": stale}),
        ("ListFunction", {}),
        ("RetrieveFunction", {"report_id": stale}),
        ("DownloadFunction", {"report_id": stale, "format": "pdf"}),
        ("DeleteFunction", {"report_id": stale}),
    ]:
        _make_stale(demo, stale)
        _api(demo, function, **params)
    assert _api(demo, "DeleteFunction", report_id=done)["success"] is True

    # A report split across workers: its parts sent, kept, read by the assembly, then deleted
    _generate(demo, trackers=[669673, 123456])
    assert demo.run_worker(FAN_OUT_TRACKER_DAYS="1") >= 4  # the report, its two parts, the assembly

    # The truck's odometer base lies days before this period: the worker reads its odometer
    # summary (missing: rebuilt from the days listed, and put back)
    _generate(demo, trackers=[345678], **{"from": "2020-10-07 00:00:00", "to": "2020-10-07 23:59:59"})
    demo.run_worker()

    # Imports: fixes of a day not stored yet, the same content again, device events
    fixes = format_csv(demo_track(669673, date(2021, 3, 10)))
    events = b'{"time": "2020-10-05T10:00:00Z", "event": "ignition_on"}\n'
    for name, data in [("a.csv", fixes), ("copy-of-a.csv", fixes), ("events/e.ndjson", events)]:
        key = f"incoming/669673/{name}"
        s3.put_object(Bucket=track_bucket, Key=key, Body=data)
        assert demo.invoke("ImportFunction", _s3_event(track_bucket, key))["imports"], name


def test_every_call_of_every_function_is_granted_and_every_need_is_seen(
    demo: Lambdas, recorder: Recorder, transformed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every function driven through the paths that make its AWS calls, each call recorded
    drive_every_path(demo, recorder, monkeypatch)
    calls = set(recorder.calls)
    assert {c.function for c in calls} == contract.ALL_FUNCTIONS

    # Then every call is granted by the function's role (the key under its partition or prefix)
    grants = {fn: granted(transformed, fn) for fn in NEEDS}
    denied = sorted(
        (c.function, c.resource, c.family, c.key)
        for c in calls
        if not any(_covers(entry, c) for entry in grants[c.function].get(c.resource, ()))
    )
    assert denied == []

    # And every need was seen, but those no call can show (each for its documented reason)
    seen = {(c.function, c.resource, e) for c in calls for e in NEEDS[c.function].get(c.resource, ()) if _covers(e, c)}
    needs = {(fn, res, e) for fn, by_resource in NEEDS.items() for res, entries in by_resource.items() for e in entries}
    assert sorted(needs - seen - set(UNSEEN)) == []
    assert sorted(set(UNSEEN) & seen) == []
    assert set(UNSEEN) <= needs


def test_the_recorder_tells_a_denied_call_apart() -> None:
    # Given calls a function might make
    sessions = Call("AuthFunction", "FleetTable", "put", "CRED#abc")
    users = Call("AuthFunction", "FleetTable", "put", "USER#1001")
    upload = Call("WorkerFunction", "TrackBucket", "get", "incoming/669673/a.csv")

    # Then partition keys and key prefixes decide, not only the family
    assert _covers("put CRED#*", sessions)
    assert not _covers("put CRED#*", users)
    assert not _covers("get tracks/*", upload)
    assert not _covers("get", Call("AuthFunction", "FleetTable", "query"))
    # And an operation nobody taught the recorder is a family no need has
    assert requests("dynamodb", "Scan", {"TableName": "t"}) == [("t", "dynamodb:Scan", None)]
    assert requests(
        "dynamodb",
        "TransactWriteItems",
        {"TransactItems": [{"Delete": {"TableName": "t", "Key": {"pk": {"S": "POOL#1"}}}}]},
    ) == [("t", "delete", "POOL#1")]


def test_every_parameter_is_documented_in_the_readme(sam_template: dict[str, Any]) -> None:
    # Given the README's table of template parameters
    from tests.support.paths import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Configuration (template parameters)", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z]\w+)`", row.split("|")[1])}

    # Then every parameter of the template has its row, and no row names a parameter that is gone
    assert documented == set(sam_template["Parameters"])
