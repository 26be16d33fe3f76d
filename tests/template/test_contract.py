"""template.yaml against the contract: names, environment, permissions, events, outputs.

Names flow one way: template ``!Ref`` -> environment variable -> settings field. These tests
prove that every function gets exactly the variables of ``contract.FUNCTION_ENV`` and exactly
the permissions of ``contract.FUNCTION_ACCESS``, nothing more.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from fleet_reports import contract
from fleet_reports.contract import FUNCTION_ACCESS, FUNCTION_ENV, GLOBAL_ENV

from .conftest import API_SPEC, ROOT

FUNCTION = "AWS::Serverless::Function"
TABLE, BUCKET, QUEUE = "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue"


def _functions(resources: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Each function's properties; the statements of IAM policies attached to its role (the one SAM
    names ``<logical id>Role``) count among its ``Policies``."""
    out: dict[str, Mapping[str, Any]] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != FUNCTION:
            continue
        props = resource["Properties"]
        extra = [{"Statement": p["PolicyDocument"]["Statement"]} for p in _role_policies(resources, logical_id)]
        out[logical_id] = {**props, "Policies": [*props.get("Policies", []), *extra]} if extra else props
    return out


def _role_policies(resources: Mapping[str, Any], logical_id: str) -> list[Mapping[str, Any]]:
    """Properties of the ``AWS::IAM::Policy`` resources attached to the function's generated role."""
    return [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": f"{logical_id}Role"} in r["Properties"].get("Roles", [])
    ]


def _env(props: Mapping[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = props.get("Environment", {}).get("Variables", {})
    return variables


# ============================================================================ permissions model
# What each grant lets a function do, per resource logical id: read / write / send / consume.

_POLICY_TEMPLATES: dict[str, tuple[str, frozenset[str]]] = {
    "DynamoDBReadPolicy": ("TableName", frozenset({"read"})),
    "DynamoDBWritePolicy": ("TableName", frozenset({"write"})),
    "DynamoDBCrudPolicy": ("TableName", frozenset({"read", "write"})),
    "S3ReadPolicy": ("BucketName", frozenset({"read"})),
    "S3WritePolicy": ("BucketName", frozenset({"write"})),
    "S3CrudPolicy": ("BucketName", frozenset({"read", "write"})),
    "SQSSendMessagePolicy": ("QueueName", frozenset({"send"})),
    "SQSPollerPolicy": ("QueueName", frozenset({"consume"})),
}

_ACTIONS: dict[str, str | None] = {
    "dynamodb:GetItem": "read",
    "dynamodb:BatchGetItem": "read",
    "dynamodb:Query": "read",
    "dynamodb:Scan": "read",
    "dynamodb:DescribeTable": "read",
    "dynamodb:ConditionCheckItem": "read",
    "dynamodb:PutItem": "write",
    "dynamodb:UpdateItem": "write",
    "dynamodb:DeleteItem": "write",
    "dynamodb:BatchWriteItem": "write",
    "s3:GetObject": "read",
    "s3:PutObject": "write",
    "s3:DeleteObject": "write",
    "s3:AbortMultipartUpload": "write",
    "s3:ListBucket": None,  # listing keys: allowed alongside read or write, grants neither
    "sqs:SendMessage": "send",
    "sqs:ReceiveMessage": "consume",
    "sqs:DeleteMessage": "consume",
    "sqs:ChangeMessageVisibility": "consume",
    "sqs:GetQueueAttributes": None,
}

_EXPECTED: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"write"}),
    "readwrite": frozenset({"read", "write"}),
    "send": frozenset({"send"}),
    "consume": frozenset({"consume"}),
    "consume-send": frozenset({"consume", "send"}),
}


def _targets(value: Any) -> set[str]:
    """Logical ids a Ref / GetAtt / Sub in ``value`` points at."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _targets(item)
    elif isinstance(value, Mapping):
        for key, arg in value.items():
            if key == "Ref":
                found.add(str(arg))
            elif key == "Fn::GetAtt":
                found.add(str(arg.split(".")[0] if isinstance(arg, str) else arg[0]))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found -= {n for n in found if n.startswith("AWS::")}
            else:
                found |= _targets(arg)
    return found


def _grants(props: Mapping[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    """(resource logical id, capability or None, what granted it) for every policy and event."""
    for policy in props.get("Policies", []):
        assert isinstance(policy, Mapping), f"managed/named policy {policy!r} is not least privilege"
        ((name, args),) = policy.items()
        if name == "Statement":
            for statement in args:
                assert statement["Effect"] == "Allow"
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                targets = _targets(statement["Resource"])
                assert targets, f"statement {statement.get('Sid')} has a resource that is no template resource"
                for action in actions:
                    assert "*" not in action, f"wildcard action {action}"
                    assert action in _ACTIONS, f"action {action} unknown to this test: teach it"
                    for target in targets:
                        yield target, _ACTIONS[action], f"Statement {statement.get('Sid')}"
            continue
        assert name in _POLICY_TEMPLATES, f"policy template {name} unknown to this test: teach it"
        key, capabilities = _POLICY_TEMPLATES[name]
        (target,) = _targets(args[key])
        for capability in capabilities:
            yield target, capability, name
    for event in props.get("Events", {}).values():
        if event["Type"] == "SQS":
            (target,) = _targets(event["Properties"]["Queue"])
            yield target, "consume", "SQS event"
        # An S3 event grants nothing: the bucket invokes the function (a resource-based permission).
    dlq = props.get("DeadLetterQueue")
    if dlq:  # SAM grants sqs:SendMessage on it
        assert dlq["Type"] == "SQS", "teach this test other dead-letter targets"
        (target,) = _targets(dlq["TargetArn"])
        yield target, "send", "DeadLetterQueue"


def _granted(props: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    touched: dict[str, set[str]] = {}
    for target, capability, _ in _grants(props):
        caps = touched.setdefault(target, set())
        if capability:
            caps.add(capability)
    return {k: frozenset(v) for k, v in touched.items()}


def _actions_on(props: Mapping[str, Any], target: str) -> set[str]:
    """Explicit IAM actions of the function's Statements on ``target``."""
    actions: set[str] = set()
    for policy in props.get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, Mapping) else []:
            if target in _targets(statement["Resource"]):
                action = statement["Action"]
                actions |= set(action if isinstance(action, list) else [action])
    return actions


# ============================================================================ functions & env


def test_the_template_declares_exactly_the_contract_functions(resources_of: dict[str, Any]) -> None:
    # Given the template's functions
    functions = _functions(resources_of)

    # Then they are exactly the functions of the contract
    assert set(functions) == set(FUNCTION_ENV) == set(FUNCTION_ACCESS) == contract.ALL_FUNCTIONS


def test_globals_give_every_function_the_common_variables(sam_template: dict[str, Any]) -> None:
    # Given the Globals of the template
    glob = sam_template["Globals"]["Function"]

    # Then the common variables are there, with the log level flowing from one parameter
    variables = glob["Environment"]["Variables"]
    assert set(variables) == GLOBAL_ENV
    assert variables["POWERTOOLS_SERVICE_NAME"] == "fleet-reports"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "FleetReports"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert variables["LOG_LEVEL"] == {"Ref": "LogLevel"}
    # And every function runs python3.13 on x86_64 with X-Ray tracing
    assert glob["Runtime"] == "python3.13"
    assert glob["Architectures"] == ["x86_64"]
    assert glob["Tracing"] == "Active"


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_ENV))
def test_each_function_gets_exactly_the_variables_it_reads(resources_of: dict[str, Any], logical_id: str) -> None:
    # Given one function of the template
    props = resources_of[logical_id]["Properties"]

    # When its own environment is read
    variables = _env(props)

    # Then it holds exactly the variables of the contract (Globals add the common ones)
    assert set(variables) == FUNCTION_ENV[logical_id]
    assert not set(variables) & GLOBAL_ENV


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_ENV))
def test_each_variable_is_a_ref_to_its_source(sam_template: dict[str, Any], logical_id: str) -> None:
    # Given one function's environment
    variables = _env(sam_template["Resources"][logical_id]["Properties"])

    # Then every variable is a Ref to the resource or parameter the contract names
    for name, value in variables.items():
        source = contract.ENV_SOURCES[name]
        assert value == {"Ref": source}, f"{logical_id}.{name} should be !Ref {source}"
        assert source in sam_template["Resources"] or source in sam_template["Parameters"]


def test_env_sources_have_the_expected_resource_types(resources_of: dict[str, Any]) -> None:
    # Given the contract's resource-backed variables
    expected = {
        "REPORTS_TABLE": TABLE,
        "FLEET_TABLE": TABLE,
        "REPORTS_BUCKET": BUCKET,
        "TRACK_BUCKET": BUCKET,
        "JOBS_QUEUE_URL": QUEUE,
    }

    # Then each Ref points at a resource of the right type
    for variable, resource_type in expected.items():
        assert resources_of[contract.ENV_SOURCES[variable]]["Type"] == resource_type


def test_every_variable_lands_in_a_settings_field() -> None:
    # Given every variable a function reads
    variables = set().union(*FUNCTION_ENV.values())

    # When the settings model is inspected
    from fleet_reports.settings import Settings

    fields = set(Settings.model_fields)

    # Then each variable has its field (names flow template -> env -> settings)
    assert {v.lower() for v in variables} <= fields


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_ENV))
def test_each_function_checks_exactly_the_variables_it_reads(logical_id: str) -> None:
    # Given the model a function validates its environment with at its cold start
    from fleet_reports.settings import FUNCTION_SETTINGS

    model = FUNCTION_SETTINGS[logical_id]

    # Then it requires exactly the variables the contract (and so the template) gives it
    assert {name.upper() for name in model.model_fields} == FUNCTION_ENV[logical_id]
    assert all(field.is_required() for field in model.model_fields.values())


def test_every_function_has_its_settings_model() -> None:
    from fleet_reports.settings import FUNCTION_SETTINGS

    assert set(FUNCTION_SETTINGS) == contract.ALL_FUNCTIONS


def test_the_workers_lease_and_staleness_follow_the_queue_and_the_worker_timeout(
    resources_of: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    # Given the worker's longest run and the jobs queue's visibility timeout in the template
    worker_timeout = sam_template["Parameters"]["WorkerTimeout"]
    longest_run = int(worker_timeout["MaxValue"])
    visibility = int(resources_of["ReportJobsQueue"]["Properties"]["VisibilityTimeout"])
    assert resources_of["WorkerFunction"]["Properties"]["Timeout"] == {"Ref": "WorkerTimeout"}

    # And the lease and staleness settings (their defaults: the template does not set them)
    from fleet_reports.settings import Settings

    lease = Settings.model_fields["job_lease_seconds"].default
    stale_after = Settings.model_fields["stale_after_seconds"].default

    # Then the contract's figures are the template's
    assert (longest_run, visibility) == (contract.WORKER_MAX_TIMEOUT_S, contract.JOBS_VISIBILITY_TIMEOUT_S)
    assert int(worker_timeout["Default"]) <= longest_run
    # And a live worker never loses its claim: the lease outlasts the longest run
    assert lease > longest_run
    # And a worker that died leaves a claim the job's next delivery can take: the lease is over
    # before the message is visible again
    assert lease <= visibility
    # And a running report is called abandoned only when no delivery can still come for it:
    # longer after its lease than the visibility timeout
    assert stale_after >= visibility
    # And a report still queued is called abandoned only after its message expired, whatever happened
    retention = int(resources_of["ReportJobsQueue"]["Properties"]["MessageRetentionPeriod"])
    assert retention == contract.JOBS_RETENTION_S
    assert Settings.model_fields["queued_stale_after_seconds"].default > retention
    assert not {"JOB_LEASE_SECONDS", "STALE_AFTER_SECONDS"} & set().union(*FUNCTION_ENV.values())


# ============================================================================ permissions


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_ACCESS))
def test_each_function_is_granted_exactly_what_it_touches(resources_of: dict[str, Any], logical_id: str) -> None:
    # Given one function's policies (with those attached to its role), events and dead-letter queue
    props = _functions(resources_of)[logical_id]

    # When its grants are reduced to resource -> capabilities
    granted = _granted(props)

    # Then they equal the contract: nothing missing, nothing on resources it does not touch
    expected = {resource: _EXPECTED[access] for resource, access in FUNCTION_ACCESS[logical_id].items()}
    assert granted == expected


def test_no_policy_uses_a_wildcard_resource(resources_of: dict[str, Any]) -> None:
    # Given every explicit policy statement
    for logical_id, props in _functions(resources_of).items():
        for policy in props.get("Policies", []):
            for statement in policy.get("Statement", []):
                # Then it names template resources, never "*"
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                assert "*" not in resources, f"{logical_id}: {statement}"


def test_list_has_no_s3_access(resources_of: dict[str, Any]) -> None:
    # Given the list function's grants
    granted = _granted(resources_of["ListFunction"]["Properties"])

    # Then it touches no bucket
    assert not {r for r in granted if resources_of[r]["Type"] == BUCKET}


def test_only_generate_and_the_worker_send_to_the_jobs_queue(resources_of: dict[str, Any]) -> None:
    # Given every function's grants
    senders = {
        logical_id
        for logical_id, props in _functions(resources_of).items()
        if "send" in _granted(props).get("ReportJobsQueue", frozenset())
    }

    # Then only generate can send report jobs, and the worker the parts and the assembly of a
    # report it splits across workers
    assert senders == {"GenerateFunction", "WorkerFunction"}


def test_only_the_worker_consumes_jobs_and_only_the_importer_writes_tracks(resources_of: dict[str, Any]) -> None:
    # Given every function's grants
    grants = {lid: _granted(props) for lid, props in _functions(resources_of).items()}

    # Then nothing but the worker and the importer touches the track bucket; both write it (the
    # importer days, the worker only odometer summaries: the test below)
    assert {lid for lid, g in grants.items() if "TrackBucket" in g} == {"WorkerFunction", "ImportFunction"}
    assert {lid for lid, g in grants.items() if "write" in g.get("TrackBucket", ())} == {
        "ImportFunction",
        "WorkerFunction",
    }
    assert {lid for lid, g in grants.items() if "consume" in g.get("ReportJobsQueue", ())} == {"WorkerFunction"}
    # And only the worker consumes the jobs' dead-letter queue (it fails a dead-lettered job's report)
    assert {lid for lid, g in grants.items() if "ReportJobsDLQ" in g} == {"WorkerFunction"}
    assert {lid for lid, g in grants.items() if "ImportDLQ" in g} == {"ImportFunction"}


def test_delete_may_delete_report_files_but_not_read_them(resources_of: dict[str, Any]) -> None:
    # Given the delete function's explicit statements on the reports bucket
    actions = _actions_on(resources_of["DeleteFunction"]["Properties"], "ReportsBucket")

    # Then it may delete (and list) objects, never get or put them
    assert "s3:DeleteObject" in actions
    assert not actions & {"s3:GetObject", "s3:PutObject"}


def test_download_may_get_objects_for_presigned_urls(resources_of: dict[str, Any]) -> None:
    # Given the download function's explicit statements on the reports bucket
    actions = _actions_on(resources_of["DownloadFunction"]["Properties"], "ReportsBucket")

    # Then it can get objects (s3:GetObject signs the presigned URLs), never put or delete them
    assert "s3:GetObject" in actions
    assert not actions & {"s3:PutObject", "s3:DeleteObject"}


# ============================================================================ events & wiring


@pytest.mark.parametrize("logical_id", sorted(contract.API_ROUTES))
def test_each_api_function_answers_get_and_post_on_its_path(resources_of: dict[str, Any], logical_id: str) -> None:
    # Given one API function's events
    events = resources_of[logical_id]["Properties"]["Events"].values()

    # Then it has exactly a GET and a POST on its own path of the one API, and a GET on each
    # document path it serves (the plugin list's function: /openapi.json)
    routes = {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events}
    path = contract.API_ROUTES[logical_id]
    documents = {("GET", p) for p, function in contract.DOCUMENT_ROUTES.items() if function == logical_id}
    assert routes == {("GET", path), ("POST", path)} | documents
    assert all(e["Type"] == "Api" and e["Properties"]["RestApiId"] == {"Ref": "Api"} for e in events)


def test_api_paths_are_the_documented_routes(resources_of: dict[str, Any]) -> None:
    # Given the routes that docs/api.md documents
    if not API_SPEC.exists():
        pytest.skip(f"{API_SPEC} not available")
    documented = _documented_routes(API_SPEC.read_text())

    # When the template's API paths are collected
    paths = {
        event["Properties"]["Path"]
        for props in _functions(resources_of).values()
        for event in props.get("Events", {}).values()
        if event["Type"] == "Api"
    }

    # Then they are the same set: the six report actions, auth, logout, the plugin list and the
    # OpenAPI document
    assert len(documented) == 10
    assert paths == documented == set(contract.API_ROUTES.values()) | set(contract.DOCUMENT_ROUTES)


def _documented_routes(text: str) -> set[str]:
    """Backquoted routes of docs/api.md's "Routes" bullet; ``/list`` after ``/report/tracker/generate``
    means ``/report/tracker/list``; a file name (``/openapi.json``) is a path of its own."""
    bullet = next(p for p in text.split("\n- ") if p.lstrip().startswith("Routes"))
    routes: set[str] = set()
    base = ""
    for token in re.findall(r"`(/[a-z/.]+)`", bullet):
        if "." in token:  # a document at the root: /openapi.json
            routes.add(token)
        elif token.count("/") > 1:
            base = token.rsplit("/", 1)[0]
            routes.add(token)
        else:
            routes.add(base + token)
    return routes


def test_the_worker_consumes_the_jobs_queue_with_partial_failures(resources_of: dict[str, Any]) -> None:
    # Given the worker
    props = resources_of["WorkerFunction"]["Properties"]

    # Then its events are the jobs queue, in batches of 5, and the jobs' dead-letter queue, both
    # reporting partial batch failures
    assert set(props["Events"]) == {"Jobs", "DeadJobs"}
    dead = props["Events"]["DeadJobs"]
    assert dead["Type"] == "SQS"
    assert dead["Properties"]["Queue"] == {"Fn::GetAtt": ["ReportJobsDLQ", "Arn"]}
    assert dead["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    event = props["Events"]["Jobs"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["ReportJobsQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 5
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And its size and time limits are parameters
    assert props["MemorySize"] == {"Ref": "WorkerMemorySize"}
    assert props["Timeout"] == {"Ref": "WorkerTimeout"}


def test_layers_keep_the_api_path_light(resources_of: dict[str, Any]) -> None:
    # Given every function's layers
    for logical_id, props in _functions(resources_of).items():
        layers = [layer["Ref"] for layer in props["Layers"]]
        # Then all get the API and domain layers, and only the worker and the importer the heavy compute layer
        heavy = logical_id in ("WorkerFunction", "ImportFunction")
        expected = ["ApiLayer", "DomainLayer"] + (["ComputeLayer"] if heavy else [])
        assert layers == expected, logical_id


def test_api_functions_limits(resources_of: dict[str, Any], sam_template: dict[str, Any]) -> None:
    # Given the API functions (Globals give 512 MB / 29 s)
    glob = sam_template["Globals"]["Function"]
    assert (glob["MemorySize"], glob["Timeout"]) == (512, 29)

    # Then only download asks for more memory, and none outlives API Gateway's 29 s
    for logical_id in contract.API_ROUTES:
        props = resources_of[logical_id]["Properties"]
        assert props.get("MemorySize", 512) == (1024 if logical_id == "DownloadFunction" else 512)
        assert props.get("Timeout", 29) <= 29


def test_each_function_has_its_code_and_a_handler(resources_of: dict[str, Any], sam_template: dict[str, Any]) -> None:
    # Given every function's CodeUri and Handler (app.handler from the Globals)
    assert sam_template["Globals"]["Function"]["Handler"] == "app.handler"
    for logical_id, props in _functions(resources_of).items():
        assert props.get("Handler", "app.handler") == "app.handler"
        code = ROOT / props["CodeUri"]
        assert props["CodeUri"] == f"functions/{code.name}/"

        # When its app.py is parsed (not imported)
        tree = ast.parse((code / "app.py").read_text())

        # Then it defines `handler` at module level
        assert "handler" in _module_names(tree), f"{logical_id}: {code / 'app.py'} defines no handler"


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


# ============================================================================ resources


def test_no_resource_has_a_hard_coded_physical_name(resources_of: dict[str, Any]) -> None:
    # Given every resource's own properties
    forbidden = {
        "BucketName",
        "TableName",
        "QueueName",
        "FunctionName",
        "LayerName",
        "RoleName",
        "TopicName",
        "LogGroupName",
        "Name",
    }

    # Then none names itself: CloudFormation generates every physical name
    for logical_id, resource in resources_of.items():
        assert not forbidden & set(resource.get("Properties", {})), logical_id


@pytest.mark.parametrize("logical_id", ["ReportsTable", "FleetTable"])
def test_tables(resources_of: dict[str, Any], logical_id: str) -> None:
    # Given a table
    props = resources_of[logical_id]["Properties"]

    # Then it is pk/sk on demand, expires items on `ttl`, with PITR and encryption at rest
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


@pytest.mark.parametrize("logical_id", ["ReportsBucket", "TrackBucket"])
def test_buckets_are_private_encrypted_and_tls_only(resources_of: dict[str, Any], logical_id: str) -> None:
    # Given a bucket
    props = resources_of[logical_id]["Properties"]

    # Then public access is blocked and objects are encrypted with SSE-S3
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    # And a bucket policy denies every request not made over TLS
    (policy,) = [
        r["Properties"]
        for r in resources_of.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert _targets(statement["Resource"]) == {logical_id}


def test_report_files_expire_a_day_after_the_report(resources_of: dict[str, Any], sam_template: dict[str, Any]) -> None:
    # Given the reports bucket's lifecycle rule
    (rule,) = resources_of["ReportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {
        "Fn::FindInMap": ["RetentionLifecycle", {"Ref": "RetentionDays"}, "ObjectExpirationDays"]
    }

    # Then for every allowed retention, files live RetentionDays + 1 days
    parameter = sam_template["Parameters"]["RetentionDays"]
    mapping = sam_template["Mappings"]["RetentionLifecycle"]
    assert set(mapping) == {str(v) for v in parameter["AllowedValues"]}
    for days in parameter["AllowedValues"]:
        assert mapping[str(days)]["ObjectExpirationDays"] == int(days) + 1
    assert str(parameter["Default"]) in mapping


def test_jobs_queue_redrives_to_the_dlq(resources_of: dict[str, Any], sam_template: dict[str, Any]) -> None:
    # Given the jobs queue and its dead-letter queue
    queue = resources_of["ReportJobsQueue"]["Properties"]
    dlq = resources_of["ReportJobsDLQ"]["Properties"]

    # Then poison jobs move to the DLQ after MaxReceiveCount deliveries
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ReportJobsDLQ", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }
    # And a job stays invisible for 6 x the longest worker run
    assert int(queue["VisibilityTimeout"]) >= 6 * int(sam_template["Parameters"]["WorkerTimeout"]["MaxValue"])
    # And both queues are encrypted, the DLQ keeping messages 14 days
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_parameters_and_their_defaults(sam_template: dict[str, Any]) -> None:
    # Given the template's parameters
    parameters = sam_template["Parameters"]

    # Then the limits are configuration, with the documented defaults
    defaults = {name: str(p["Default"]) for name, p in parameters.items()}
    assert defaults == {
        "MaxTimeSpan": "P90D",
        "PointReportMaxTimeSpan": "P1D",
        "MaxParallelReports": "5",
        "MaxTrackersPerReport": "200",
        # the per-caller limits (tests/functions/test_limits.py)
        "MaxBodyBytes": "1048576",
        "CallerRateLimit": "50",
        "CallerGenerateLimit": "30",
        # failed sign-ins (tests/functions/test_auth_guessing.py)
        "LoginAttemptLimit": "10",
        "AddressAttemptLimit": "100",
        "LoginLockoutMaxSeconds": "900",
        "RetentionDays": "30",
        "SessionDays": "30",
        "MaxReceiveCount": "3",
        "FanOutTrackerDays": "60",
        "LogLevel": "INFO",
        "WorkerMemorySize": "2048",
        "WorkerTimeout": "900",
        # the hardening's (tests/template/test_template_hardening.py)
        "WorkerConcurrency": "20",
        "ReserveWorkerConcurrency": "true",
        "LogRetentionDays": "30",
        "ApiRateLimit": "50",
        "ApiBurstLimit": "100",
        "GenerateRateLimit": "10",
        "GenerateBurstLimit": "20",
        "AlarmEmail": "",
        # the serverless lens's (tests/template/test_template_lens.py)
        "ApiConcurrency": "20",
        "ReserveApiConcurrency": "true",
        "AuthRateLimit": "5",
        "AuthBurstLimit": "10",
        "ApiGatewayLogRole": "create",
        "TrackVersionDays": "30",
        "WafRateLimit": "0",
        "WafAuthRateLimit": "100",
    }
    assert all(p.get("Description") for p in parameters.values())


def test_api_stage_binary_and_error_envelopes(resources_of: dict[str, Any]) -> None:
    # Given the API
    props = resources_of["Api"]["Properties"]

    # Then it is stage v1, traced, and passes every body as binary (file downloads)
    assert props["StageName"] == "v1"
    assert props["TracingEnabled"] is True
    assert props["BinaryMediaTypes"] == ["*~1*"]

    # And API Gateway's own errors answer in the service's JSON envelope, an unknown action with
    # Navixy's 111 "Wrong handler" (HTTP 400)
    responses = props["GatewayResponses"]
    expected = {
        "DEFAULT_4XX": (5, None),
        "DEFAULT_5XX": (6, None),
        "THROTTLED": (15, 429),
        "MISSING_AUTHENTICATION_TOKEN": (111, 400),
        "RESOURCE_NOT_FOUND": (111, 400),
    }
    for kind, (code, status) in expected.items():
        response = responses[kind]
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert body["success"] is False
        assert body["status"]["code"] == code
        assert body["status"]["description"]
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json'"
        if status is not None:
            assert int(response["StatusCode"]) == status


@pytest.mark.parametrize(
    ("logical_id", "content_uri", "build_method"),
    [
        ("ApiLayer", "layers/api/", "makefile"),
        ("ComputeLayer", "layers/compute/", "makefile"),
        ("DomainLayer", "shared/", "python3.13"),
    ],
)
def test_layers(resources_of: dict[str, Any], logical_id: str, content_uri: str, build_method: str) -> None:
    # Given a layer
    layer = resources_of[logical_id]
    props = layer["Properties"]

    # Then it is built from its folder for python3.13 / x86_64
    assert props["ContentUri"] == content_uri
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == ["x86_64"]
    assert layer["Metadata"]["BuildMethod"] == build_method
    if build_method == "makefile":
        assert f"build-{logical_id}:" in (ROOT / content_uri / "Makefile").read_text()


def test_layer_requirements_split_light_from_heavy() -> None:
    # Given the two dependency layers' requirements
    def packages(path: Path) -> set[str]:
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        return {re.split(r"[\[=<>~! ]", line)[0].lower() for line in lines if line}

    api = packages(ROOT / "layers/api/requirements.txt")
    compute = packages(ROOT / "layers/compute/requirements.txt")

    # Then the API path carries no numeric or rendering library, and boto3 comes from the runtime
    assert api == {"aws-lambda-powertools", "pydantic", "tzdata"}
    assert compute == {"numpy", "pyarrow", "openpyxl", "fpdf2", "xlwt"}


def test_outputs_name_everything_a_tool_needs(sam_template: dict[str, Any]) -> None:
    # Given the template's outputs
    outputs = {name: o["Value"] for name, o in sam_template["Outputs"].items()}

    # Then each resource name and the API URL is exported
    assert outputs == {
        "ApiUrl": {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1"},
        "ReportsTableName": {"Ref": "ReportsTable"},
        "FleetTableName": {"Ref": "FleetTable"},
        "ReportsBucketName": {"Ref": "ReportsBucket"},
        "TrackBucketName": {"Ref": "TrackBucket"},
        "ReportJobsQueueUrl": {"Ref": "ReportJobsQueue"},
        "ReportJobsDLQUrl": {"Ref": "ReportJobsDLQ"},
        "ImportDLQUrl": {"Ref": "ImportDLQ"},
        "AlarmTopicArn": {"Ref": "AlarmTopic"},
    }


# ============================================================================ the importer
# SAM's S3 event makes the bucket's notification refer to the function (and the bucket depend on
# the function's invoke permission). Anything of the function that refers back to the bucket
# (environment, its own policies, its role) closes a cycle CloudFormation refuses, and cfn-lint
# does not see it (it lints the SAM template untransformed).

_SAM_GRAPH = r"""
import json, re, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    props = resource.get("Properties", {})
    for uri in ("CodeUri", "ContentUri"):
        if uri in props:
            props[uri] = "s3://bucket/code.zip"  # sam build's job; the graph does not depend on it

def refs(value):
    found = set()
    if isinstance(value, list):
        for v in value:
            found |= refs(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".")[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {n.split(".")[0] for n in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(arg, list):
                    found |= refs(arg[1])
            else:
                found |= refs(arg)
    return found

resources = transform(template, {}, NoManagedPolicies())["Resources"]
graph = {}
for name, resource in resources.items():
    depends = resource.get("DependsOn", [])
    depends = [depends] if isinstance(depends, str) else depends
    graph[name] = sorted((refs(resource.get("Properties", {})) | set(depends)) & set(resources))
print(json.dumps(graph))
"""


def _sam_dependency_graph(template: Path) -> dict[str, list[str]]:
    """The CloudFormation template SAM makes of ``template``, as resource -> resources it depends on.

    Runs the real SAM translator: in this interpreter when it has it, else in the SAM CLI's own
    virtualenv (``.venv-sam``, made by ``scripts/sam-build.sh``).
    """
    import importlib.util
    import os
    import subprocess
    import sys

    python = sys.executable if importlib.util.find_spec("samtranslator") else str(ROOT / ".venv-sam/bin/python")
    if not Path(python).exists():
        pytest.skip("the SAM translator is not installed (run scripts/sam-build.sh once)")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([python, "-c", _SAM_GRAPH, str(template)], capture_output=True, text=True, env=env, check=True)
    graph: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return graph


def _cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Every dependency cycle found by a depth-first search (each as the path that closes it)."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in graph.get(node, []):
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node, [node])
    return cycles


def test_the_importer_runs_on_uploads_to_incoming(resources_of: dict[str, Any]) -> None:
    # Given the import function
    props = resources_of[contract.IMPORT]["Properties"]

    # Then its one event is S3 ObjectCreated on the track bucket, for keys under incoming/
    (event,) = props["Events"].values()
    bucket, prefix = contract.S3_EVENTS[contract.IMPORT]
    assert event["Type"] == "S3"
    assert event["Properties"]["Bucket"] == {"Ref": bucket} == {"Ref": "TrackBucket"}
    assert event["Properties"]["Events"] == "s3:ObjectCreated:*"
    assert event["Properties"]["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": prefix}]}}
    assert prefix == contract.IMPORT_PREFIX == "incoming/"
    # And events that failed every attempt land in its dead-letter queue, not nowhere
    assert props["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["ImportDLQ", "Arn"]}}
    # And it has a full vCPU for five minutes, on the Globals' python3.13
    assert (props["MemorySize"], props["Timeout"]) == (1769, 300)
    assert "Runtime" not in props


def test_a_function_with_an_s3_event_never_refers_to_its_bucket(resources_of: dict[str, Any]) -> None:
    for logical_id, (bucket, _) in contract.S3_EVENTS.items():
        # Given a function that a bucket's notification invokes
        props = resources_of[logical_id]["Properties"]

        # Then nothing of the function refers to that bucket (that would be a dependency cycle)
        assert bucket not in _targets({k: v for k, v in props.items() if k != "Events"})
        # And its access to the bucket is a policy of its own, attached to the function's role
        (policy,) = _role_policies(resources_of, logical_id)
        assert resources_of[contract.ROLE_POLICIES[logical_id]]["Properties"] == policy
        assert bucket in _targets(policy["PolicyDocument"])


def test_the_transformed_template_has_no_dependency_cycle(tmp_path: Path) -> None:
    # Given the CloudFormation template SAM makes of template.yaml
    from .conftest import TEMPLATE

    graph = _sam_dependency_graph(TEMPLATE)

    # Then the bucket depends on the importer (its notification), and no resource depends on itself
    assert "ImportFunction" in graph["TrackBucket"] or "ImportFunctionUploadPermission" in graph["TrackBucket"]
    assert _cycles(graph) == []

    # And the check has teeth: the importer reading TRACK_BUCKET from its environment is a cycle
    text = TEMPLATE.read_text()
    anchor = "          FLEET_TABLE: !Ref FleetTable\n      # An S3 event"
    assert anchor in text
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace(anchor, anchor.replace("\n", "\n          TRACK_BUCKET: !Ref TrackBucket\n", 1)))
    assert any({"TrackBucket", "ImportFunction"} <= set(c) for c in _cycles(_sam_dependency_graph(broken)))


def test_the_importer_writes_only_its_own_items_of_the_fleet_table(resources_of: dict[str, Any]) -> None:
    # Given the importer's statements that write the fleet table
    statements = [
        s
        for policy in _functions(resources_of)[contract.IMPORT]["Policies"]
        for s in policy.get("Statement", [])
        if "FleetTable" in _targets(s["Resource"]) and {_ACTIONS[a] for a in s["Action"]} & {"write"}
    ]
    assert statements

    # Then it may put and update items, never delete them, and only under its own partition keys
    assert sorted({a for s in statements for a in s["Action"]}) == ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    leading = {k for s in statements for k in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]}
    assert leading == {f"{p}*" for p in contract.IMPORT_KEY_PREFIXES}
    from fleet_reports.store import imports

    assert (imports.LEDGER_PREFIX, imports.OUTCOMES_PREFIX) == contract.IMPORT_KEY_PREFIXES


def _track_bucket_actions(resources_of: dict[str, Any], function: str) -> dict[str, set[str]]:
    """A function's actions on the track bucket -> the resources (as JSON) they are granted on."""
    by_action: dict[str, set[str]] = {}
    for policy in _functions(resources_of)[function]["Policies"]:
        for statement in policy.get("Statement", []):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                for resource in resources:
                    if "TrackBucket" in _targets(resource):
                        by_action.setdefault(action, set()).add(json.dumps(resource))
    return by_action


def _under(*prefixes: str) -> set[str]:
    return {json.dumps({"Fn::Sub": f"${{TrackBucket.Arn}}/{p}*"}) for p in prefixes}


def test_the_importer_reads_and_writes_the_track_bucket_by_prefix(resources_of: dict[str, Any]) -> None:
    # Given the importer's statements on the track bucket
    by_action = _track_bucket_actions(resources_of, contract.IMPORT)

    # Then it reads uploads, days and odometer summaries, writes days, summaries and outcomes,
    # lists (404 not 403), never deletes
    assert by_action == {
        "s3:GetObject": _under("incoming/", "tracks/", "events/", "odometer/"),
        "s3:PutObject": _under("tracks/", "events/", "odometer/", "outcomes/"),
        "s3:ListBucket": {json.dumps({"Fn::GetAtt": ["TrackBucket", "Arn"]})},
    }


def test_the_worker_reads_days_and_writes_only_odometer_summaries(resources_of: dict[str, Any]) -> None:
    # Given the worker's statements on the track bucket
    by_action = _track_bucket_actions(resources_of, contract.WORKER)

    # Then it reads days and odometer summaries, lists the days, writes summaries alone, never deletes
    assert by_action == {
        "s3:GetObject": _under("tracks/", "odometer/"),
        "s3:PutObject": _under("odometer/"),
        "s3:ListBucket": {json.dumps({"Fn::GetAtt": ["TrackBucket", "Arn"]})},
    }


def test_the_import_dlq_keeps_failed_events_two_weeks(resources_of: dict[str, Any]) -> None:
    # Given the importer's dead-letter queue
    props = resources_of["ImportDLQ"]["Properties"]

    # Then it keeps messages 14 days, encrypted
    assert props == {"MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}


def test_uploads_and_outcomes_expire_but_track_data_does_not(resources_of: dict[str, Any]) -> None:
    # Given the track bucket's lifecycle rules
    rules = resources_of["TrackBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]

    # Then uploads are kept 30 days after their import (an audit trail), outcomes 90 days
    expiring = {r["Prefix"]: r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r}
    assert expiring == {"incoming/": 30, "outcomes/": 90}
    assert all(r["Status"] == "Enabled" for r in rules)
