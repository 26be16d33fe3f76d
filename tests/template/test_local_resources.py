"""The local resource builder: template.yaml's own resources, created on moto's server over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fleet_reports.contract import FUNCTION_ENV, GLOBAL_ENV
from fleet_reports.local.resources import (
    LocalResources,
    S3EventSpec,
    TemplateError,
    create_resources,
    function_environment,
    functions,
    physical_name,
)


@dataclass(frozen=True)
class LocalAws:
    endpoint: str
    resources: LocalResources


@pytest.fixture(scope="module")
def local_aws(sam_template: dict[str, Any]) -> Iterator[LocalAws]:
    """moto's server on 127.0.0.1 (a free port), the template's resources created on it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", endpoint)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        try:
            yield LocalAws(endpoint, create_resources(sam_template))
        finally:
            server.stop()


def _client(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service)  # type: ignore[call-overload]


def test_the_server_listens_on_loopback_only(local_aws: LocalAws) -> None:
    # Given the local endpoint
    # Then it is 127.0.0.1, never 0.0.0.0
    assert local_aws.endpoint.startswith("http://127.0.0.1:")


def test_tables_exist_with_their_keys_and_ttl(local_aws: LocalAws) -> None:
    # Given the created resources
    dynamodb = _client("dynamodb")

    for logical_id in ("ReportsTable", "FleetTable"):
        # When each table is described
        name = local_aws.resources.names[logical_id]
        table = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]

        # Then it has the template's keys, billing mode and TTL attribute
        assert name == physical_name("fleet-reports-local", logical_id)
        assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
            ("pk", "HASH"),
            ("sk", "RANGE"),
        }
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
        assert local_aws.resources.arns[logical_id] == table["TableArn"]


def test_buckets_exist_private_with_the_report_lifecycle(local_aws: LocalAws) -> None:
    # Given the created buckets
    s3 = _client("s3")
    names = local_aws.resources.names
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}

    # Then both exist with public access blocked
    assert {names["ReportsBucket"], names["TrackBucket"]} <= existing
    for logical_id in ("ReportsBucket", "TrackBucket"):
        block = s3.get_public_access_block(Bucket=names[logical_id])["PublicAccessBlockConfiguration"]
        assert all(block.values())
        assert local_aws.resources.arns[logical_id] == f"arn:aws:s3:::{names[logical_id]}"

    # And report files expire RetentionDays + 1 = 31 days after creation
    rules = s3.get_bucket_lifecycle_configuration(Bucket=names["ReportsBucket"])["Rules"]
    assert [r["Expiration"]["Days"] for r in rules if "Expiration" in r] == [31]


def test_the_jobs_queue_redrives_to_the_dlq(local_aws: LocalAws) -> None:
    # Given the created queues
    sqs = _client("sqs")
    names, arns = local_aws.resources.names, local_aws.resources.arns

    # When the jobs queue's attributes are read
    attributes = sqs.get_queue_attributes(QueueUrl=names["ReportJobsQueue"], AttributeNames=["All"])["Attributes"]

    # Then poison jobs go to the DLQ after MaxReceiveCount (3) deliveries
    import json

    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == arns["ReportJobsDLQ"]
    assert int(redrive["maxReceiveCount"]) == 3
    assert attributes["VisibilityTimeout"] == "5400"
    # And the DLQ exists and keeps messages 14 days
    dlq = sqs.get_queue_attributes(QueueUrl=names["ReportJobsDLQ"], AttributeNames=["MessageRetentionPeriod"])
    assert dlq["Attributes"]["MessageRetentionPeriod"] == "1209600"


def test_worker_environment_resolves_to_the_local_names(local_aws: LocalAws, sam_template: dict[str, Any]) -> None:
    # Given the created resources
    resources = local_aws.resources

    # When the worker's environment is resolved
    env = function_environment(sam_template, "WorkerFunction", resources)

    # Then it is the Globals plus exactly the worker's variables, pointing at the local resources
    assert set(env) == FUNCTION_ENV["WorkerFunction"] | GLOBAL_ENV
    assert env["REPORTS_TABLE"] == resources.names["ReportsTable"]
    assert env["FLEET_TABLE"] == resources.names["FleetTable"]
    assert env["REPORTS_BUCKET"] == resources.names["ReportsBucket"]
    assert env["TRACK_BUCKET"] == resources.names["TrackBucket"]
    assert env["RETENTION_DAYS"] == "30"
    assert env["MAX_RECEIVE_COUNT"] == "3"
    assert env["POWERTOOLS_SERVICE_NAME"] == "fleet-reports"
    assert env["LOG_LEVEL"] == "INFO"


def test_generate_environment_gets_the_queue_url_and_limits(local_aws: LocalAws, sam_template: dict[str, Any]) -> None:
    # When generate's environment is resolved
    env = function_environment(sam_template, "GenerateFunction", local_aws.resources)

    # Then the queue URL and the limits flow from the template
    assert env["JOBS_QUEUE_URL"] == local_aws.resources.names["ReportJobsQueue"]
    assert env["JOBS_QUEUE_URL"].startswith(local_aws.endpoint)
    assert (env["MAX_TIME_SPAN"], env["POINT_REPORT_MAX_TIME_SPAN"]) == ("P90D", "P1D")
    assert (env["MAX_PARALLEL_REPORTS"], env["MAX_TRACKERS_PER_REPORT"]) == ("5", "200")


def test_every_function_environment_resolves(local_aws: LocalAws, sam_template: dict[str, Any]) -> None:
    # Given every function of the template
    for logical_id in functions(sam_template):
        # When its environment is resolved
        env = function_environment(sam_template, logical_id, local_aws.resources)

        # Then every variable of the contract has a non-empty local value
        assert set(env) == FUNCTION_ENV[logical_id] | GLOBAL_ENV
        assert all(env.values()), logical_id


def test_creating_again_is_idempotent(local_aws: LocalAws, sam_template: dict[str, Any]) -> None:
    # When the resources are created a second time on the same server
    again = create_resources(sam_template)

    # Then nothing fails and the same names come back
    assert again == local_aws.resources


def test_parameter_overrides_flow_into_resources_and_environment(
    local_aws: LocalAws, sam_template: dict[str, Any]
) -> None:
    # Given another prefix and overridden parameters
    resources = create_resources(
        sam_template,
        prefix="fr-override",
        parameter_overrides={"MaxReceiveCount": "5", "RetentionDays": "7", "LogLevel": "DEBUG"},
    )

    # Then the queue, the lifecycle and the environment use them
    import json

    attributes = _client("sqs").get_queue_attributes(
        QueueUrl=resources.names["ReportJobsQueue"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]) == 5
    rules = _client("s3").get_bucket_lifecycle_configuration(Bucket=resources.names["ReportsBucket"])["Rules"]
    assert [r["Expiration"]["Days"] for r in rules if "Expiration" in r] == [8]
    env = function_environment(sam_template, "WorkerFunction", resources)
    assert (env["MAX_RECEIVE_COUNT"], env["RETENTION_DAYS"], env["LOG_LEVEL"]) == ("5", "7", "DEBUG")
    assert env["REPORTS_TABLE"] == "fr-override-reports-table"


def test_bad_overrides_are_refused(local_aws: LocalAws, sam_template: dict[str, Any]) -> None:
    # When a parameter is overridden with a value the template does not allow, or does not exist
    # Then the builder refuses before creating anything
    with pytest.raises(TemplateError, match="RetentionDays"):
        create_resources(sam_template, prefix="fr-bad", parameter_overrides={"RetentionDays": "31"})
    with pytest.raises(TemplateError, match="NoSuchParameter"):
        create_resources(sam_template, prefix="fr-bad", parameter_overrides={"NoSuchParameter": "1"})


def test_function_specs_wire_routes_and_the_queue(sam_template: dict[str, Any]) -> None:
    # When the template's functions are listed
    specs = functions(sam_template)

    # Then each has its code, handler and events as the local stack needs them
    worker = specs["WorkerFunction"]
    assert (worker.code_uri, worker.handler) == ("functions/worker/", "app.handler")
    assert (worker.sqs_queue, worker.batch_size, worker.api_routes) == ("ReportJobsQueue", 5, [])
    generate = specs["GenerateFunction"]
    assert sorted(generate.api_routes) == [
        ("GET", "/report/tracker/generate"),
        ("POST", "/report/tracker/generate"),
    ]
    assert generate.sqs_queue is None
    all_routes = [route for spec in specs.values() for route in spec.api_routes]
    assert len(all_routes) == len(set(all_routes)) == 19  # GET and POST of 9 actions, GET /openapi.json


def test_physical_names_are_valid_everywhere() -> None:
    # Given logical ids of every kind
    # Then their physical names are lowercase kebab-case, valid bucket/table/queue names
    assert physical_name("fleet-reports-local", "ReportJobsDLQ") == "fleet-reports-local-report-jobs-dlq"
    assert physical_name("fleet-reports-local", "ReportsBucket") == "fleet-reports-local-reports-bucket"
    assert physical_name("My_Prefix", "TrackBucket") == "my-prefix-track-bucket"
    with pytest.raises(TemplateError):
        physical_name("x" * 60, "ReportsBucket")


def test_the_resolver_handles_the_intrinsics_the_template_uses(
    local_aws: LocalAws, sam_template: dict[str, Any]
) -> None:
    # Given the created resources
    res = local_aws.resources
    from fleet_reports.local.resources import resolve

    # When intrinsics are resolved against them
    # Then Ref, GetAtt, Sub (with pseudo parameters, variables and ${!literals}), FindInMap and Join work
    assert resolve(sam_template, {"Fn::Sub": "${ReportsBucket.Arn}/*"}, res) == res.arns["ReportsBucket"] + "/*"
    assert (
        resolve(sam_template, {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:x"}, res)
        == f"arn:aws:sqs:us-east-1:{res.account_id}:x"
    )
    assert (
        resolve(sam_template, {"Fn::Sub": ["${Span}-${!Literal}", {"Span": {"Ref": "MaxTimeSpan"}}]}, res)
        == "P90D-${Literal}"
    )
    assert resolve(sam_template, {"Fn::GetAtt": "ReportJobsQueue.QueueName"}, res).endswith("report-jobs-queue")
    assert (
        resolve(
            sam_template,
            {"Fn::FindInMap": ["RetentionLifecycle", {"Ref": "RetentionDays"}, "ObjectExpirationDays"]},
            res,
        )
        == 31
    )
    assert resolve(sam_template, {"Fn::Join": ["/", [{"Ref": "FleetTable"}, "x"]]}, res) == (
        res.names["FleetTable"] + "/x"
    )
    # And what does not exist locally (the API, the functions) is an explicit error
    with pytest.raises(TemplateError, match="Api"):
        resolve(sam_template, {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1"}, res)


def test_function_specs_wire_the_importer_to_the_track_bucket(sam_template: dict[str, Any]) -> None:
    # When the template's functions are listed
    importer = functions(sam_template)["ImportFunction"]

    # Then the importer runs on S3 ObjectCreated under incoming/ of the track bucket, with its DLQ
    assert (importer.code_uri, importer.handler) == ("functions/import/", "app.handler")
    assert importer.s3_events == (S3EventSpec("TrackBucket", ("s3:ObjectCreated:*",), prefix="incoming/"),)
    assert importer.dead_letter_queue == "ImportDLQ"
    assert (importer.sqs_queue, importer.api_routes) == (None, [])
    # And its key filter is what an S3 notification configuration takes
    assert importer.s3_events[0].notification_filter() == {
        "Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}
    }


def test_the_track_bucket_expires_uploads_and_outcomes_locally_too(local_aws: LocalAws) -> None:
    # Given the created track bucket and the importer's dead-letter queue
    s3, sqs = _client("s3"), _client("sqs")
    names = local_aws.resources.names

    # When its lifecycle is read
    rules = s3.get_bucket_lifecycle_configuration(Bucket=names["TrackBucket"])["Rules"]

    # Then uploads expire after 30 days and outcomes after 90, as in the template
    expiring = {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules if "Days" in r.get("Expiration", {})}
    assert expiring == {"incoming/": 30, "outcomes/": 90}
    # And the rule of old versions is there too (TrackVersionDays), though the local bucket keeps none
    (old_versions,) = [r for r in rules if "NoncurrentVersionExpiration" in r]
    assert old_versions["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert old_versions["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    # And the importer's DLQ exists and keeps messages 14 days
    attributes = sqs.get_queue_attributes(QueueUrl=names["ImportDLQ"], AttributeNames=["MessageRetentionPeriod"])
    assert attributes["Attributes"]["MessageRetentionPeriod"] == "1209600"


def test_the_fleet_table_is_deletion_protected_and_the_track_bucket_unversioned_locally(local_aws: LocalAws) -> None:
    # Given the created tables and the track bucket
    dynamodb, s3 = _client("dynamodb"), _client("s3")
    names = local_aws.resources.names

    # When they are described
    protected = {
        lid: dynamodb.describe_table(TableName=names[lid])["Table"].get("DeletionProtectionEnabled", False)
        for lid in ("FleetTable", "ReportsTable")
    }
    versioning = s3.get_bucket_versioning(Bucket=names["TrackBucket"])

    # Then the fleet table cannot be deleted, as on AWS, and the reports table can
    assert protected == {"FleetTable": True, "ReportsTable": False}
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="DeletionProtectionEnabled"):
        dynamodb.delete_table(TableName=names["FleetTable"])
    # And the track bucket keeps no versions locally, on purpose (fleet_reports.local.creation.NOT_REPRODUCED)
    assert versioning.get("Status") is None
