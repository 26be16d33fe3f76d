"""The template against the serverless lens (issue #18): what the hardening (issue #12,
``test_template_hardening.py``) left out.

* Each API function reserves its concurrency (``ApiConcurrency``, off with
  ``ReserveApiConcurrency=false``), within what an account of the default limit can reserve.
* The stage throttles ``/user/auth`` tightest, on paths that exist, and writes an access log
  (JSON, retention, no query string nor anything else that carries a hash or a key). No usage
  plan: usage plans meter ``x-api-key`` callers, which Navixy clients are not. An optional WAF
  web ACL (``WafRateLimit``) counts each client address, ``/user/auth`` more tightly.
* Every log group keeps its events ``LogRetentionDays`` and is someone's.
* Alarms: every function's errors and throttles (the API functions' summed), the API's 5xx, a
  worker run near its timeout (the dead-letter queues' and the worker errors' are the
  hardening's).
* The state that cannot be rebuilt survives: the fleet table (deletion protection, ``Retain``),
  the track bucket (``Retain``, versioned, old versions expiring after ``TrackVersionDays``).
* Every queue is TLS-only; the importer's asynchronous retries are explicit and match the local
  stack's; no deployed code scans a table.
* The local stack builds every resource and property of the template, or skips it with a reason.
"""

from __future__ import annotations

import ast
import inspect
import json
import operator
import re
from collections.abc import Mapping
from typing import Any

import pytest

from fleet_reports import contract

from tests.support.sam import ACCOUNT_DEFAULT_LIMIT, UNRESERVED_MINIMUM, fires_on_any, of_type, sam_transform

ALARM, LOG_GROUP, QUEUE = "AWS::CloudWatch::Alarm", "AWS::Logs::LogGroup", "AWS::SQS::Queue"
RETAIN = "Retain"


@pytest.fixture(scope="module")
def transformed(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM makes of template.yaml."""
    return sam_transform(sam_template)


# ============================================================================ concurrency
def test_each_api_function_reserves_its_concurrency_unless_switched_off(
    resources_of: dict[str, Any], sam_template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the API functions and the ApiConcurrency parameters
    parameters = sam_template["Parameters"]
    reserved = {"Fn::If": ["ReservesApiConcurrency", {"Ref": "ApiConcurrency"}, {"Ref": "AWS::NoValue"}]}

    # Then each reserves ApiConcurrency, unless ReserveApiConcurrency is false, in the deployed template too
    for logical_id in sorted(contract.API_FUNCTIONS):
        assert resources_of[logical_id]["Properties"]["ReservedConcurrentExecutions"] == reserved, logical_id
        deployed = transformed["Resources"][logical_id]
        assert deployed["Type"] == "AWS::Lambda::Function"
        assert deployed["Properties"]["ReservedConcurrentExecutions"] == reserved, logical_id
    assert sam_template["Conditions"]["ReservesApiConcurrency"] == {
        "Fn::Equals": [{"Ref": "ReserveApiConcurrency"}, "true"]
    }
    switch = parameters["ReserveApiConcurrency"]
    assert (switch["Default"], sorted(switch["AllowedValues"])) == ("true", ["false", "true"])

    # And on an account of the default limit, Lambda keeps its 100 unreserved: with the defaults,
    # and with ApiConcurrency at its maximum beside the smallest worker reservation
    api, worker = parameters["ApiConcurrency"], parameters["WorkerConcurrency"]
    budget = ACCOUNT_DEFAULT_LIMIT - UNRESERVED_MINIMUM
    count = len(contract.API_FUNCTIONS)
    assert count * api["Default"] + worker["Default"] <= budget
    assert count * api["MaxValue"] + worker["MinValue"] <= budget
    assert 1 <= api["MinValue"] <= api["Default"] <= api["MaxValue"]
    # And the rule is written where the operator sets it
    assert f"{count} x ApiConcurrency + WorkerConcurrency" in api["Description"]


# ============================================================================ the stage
def _method_settings(resources_of: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    settings = resources_of["Api"]["Properties"]["MethodSettings"]
    return {(s["ResourcePath"], s["HttpMethod"]): s for s in settings}


def test_user_auth_is_throttled_tightest_on_both_methods(
    resources_of: dict[str, Any], sam_template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the stage's method settings
    by_method = _method_settings(resources_of)
    auth_path = "/" + contract.API_ROUTES[contract.AUTH].replace("/", "~1")

    # Then GET and POST of /user/auth are throttled by AuthRateLimit / AuthBurstLimit
    for method in ("GET", "POST"):
        setting = by_method[auth_path, method]
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (
            {"Ref": "AuthRateLimit"},
            {"Ref": "AuthBurstLimit"},
        )
    # And by default more tightly than generate, itself tighter than the stage
    defaults = {name: p["Default"] for name, p in sam_template["Parameters"].items()}
    assert defaults["AuthRateLimit"] <= defaults["GenerateRateLimit"] <= defaults["ApiRateLimit"]
    assert defaults["AuthBurstLimit"] <= defaults["GenerateBurstLimit"] <= defaults["ApiBurstLimit"]
    # And the deployed stage carries them
    (stage,) = of_type(transformed["Resources"], "AWS::ApiGateway::Stage").values()
    assert {(s["ResourcePath"], s["HttpMethod"]) for s in stage["Properties"]["MethodSettings"]} == set(by_method)


def test_every_throttled_path_is_a_route_of_the_api(resources_of: dict[str, Any]) -> None:
    # Given the method settings' resource paths ("/" + the route with "/" escaped as "~1")
    # (API Gateway ignores a setting whose path matches no resource: a typo would unthrottle it)
    routes = {(route, method) for route in contract.API_ROUTES.values() for method in ("GET", "POST")}

    for path, method in _method_settings(resources_of):
        if (path, method) == ("/*", "*"):
            continue
        # Then each names a route and a method the API answers
        assert (path[1:].replace("~1", "/"), method) in routes, (path, method)


# The $context variables an access log line may carry: none holds the query string, a body, a
# header value or anything else a client puts a hash or key in.
SAFE_CONTEXT = {
    "$context.requestId": "API Gateway's id of the request",
    "$context.extendedRequestId": "API Gateway's extended id",
    "$context.requestTime": "when",
    "$context.identity.sourceIp": "the client's address",
    "$context.httpMethod": "GET / POST",
    "$context.resourcePath": "the route matched",
    "$context.path": "the path alone, never the query string",
    "$context.protocol": "HTTP/1.1 ...",
    "$context.status": "the answer's status",
    "$context.responseLength": "its size",
    "$context.responseLatency": "ms",
    "$context.integrationLatency": "ms",
    "$context.integrationStatus": "the function's status",
    "$context.integration.error": "the integration's error message",
    "$context.error.responseType": "API Gateway's own answer (THROTTLED ...)",
    "$context.error.message": "API Gateway's own message",
    "$context.xrayTraceId": "the trace",
}


def test_the_stage_writes_an_access_log_without_secrets(
    resources_of: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the API's access log setting
    setting = resources_of["Api"]["Properties"]["AccessLogSetting"]

    # When its format is read as the JSON line it is
    line = json.loads(setting["Format"])

    # Then it goes to the access log group, one JSON object a request, each field one $context variable
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert all(re.fullmatch(r"\$context\.[A-Za-z.]+", value) for value in line.values()), line
    # And every variable is one known to carry no secret, the request id first among them
    assert set(line.values()) <= set(SAFE_CONTEXT), set(line.values()) - set(SAFE_CONTEXT)
    assert line["requestId"] == "$context.requestId"
    assert not re.search(r"querystring|header|body|authorizer|apiKey|userAgent", setting["Format"], re.IGNORECASE)
    # And the deployed stage writes it
    (stage,) = of_type(transformed["Resources"], "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["AccessLogSetting"] == setting


def test_the_access_log_waits_for_api_gateways_logging_role(
    resources_of: dict[str, Any], sam_template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the role API Gateway logs with, the account setting naming it, and the ordering handle
    role = resources_of["ApiGatewayCloudWatchRole"]
    account = resources_of["ApiGatewayAccount"]
    handle = resources_of["ApiGatewayLogRoleReady"]

    # Then both exist only when the stack is to make them (ApiGatewayLogRole: create, the default)
    assert role["Condition"] == account["Condition"] == "CreatesApiGatewayLogRole"
    assert sam_template["Conditions"]["CreatesApiGatewayLogRole"] == {
        "Fn::Equals": [{"Ref": "ApiGatewayLogRole"}, "create"]
    }
    assert sam_template["Parameters"]["ApiGatewayLogRole"]["Default"] == "create"
    # And the role is API Gateway's, with AWS's policy for it; the setting names it
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    (policy,) = role["Properties"]["ManagedPolicyArns"]
    assert policy["Fn::Sub"].endswith(":policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    assert account["Properties"] == {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}}
    # And both outlive the stack: every REST API of the account and region logs through them
    for resource in (role, account):
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == RETAIN
    # And the API (so its deployment and stage) is created after the setting, when there is one
    assert handle["Metadata"] == {
        "AccountSetting": {
            "Fn::If": ["CreatesApiGatewayLogRole", {"Ref": "ApiGatewayAccount"}, {"Ref": "AWS::NoValue"}]
        }
    }
    assert transformed["Resources"]["Api"]["DependsOn"] == "ApiGatewayLogRoleReady"
    (stage,) = of_type(transformed["Resources"], "AWS::ApiGateway::Stage").values()
    deployment = transformed["Resources"][stage["Properties"]["DeploymentId"]["Ref"]]
    assert deployment["Properties"]["RestApiId"] == {"Ref": "Api"}


def test_no_usage_plan_meters_a_header_navixy_clients_never_send(
    resources_of: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the API: no method asks for an x-api-key (Navixy clients send their key as the hash)
    api = resources_of["Api"]["Properties"]
    assert "ApiKeyRequired" not in json.dumps(api.get("Auth", {}))

    # Then no usage plan is deployed: it would meter no request (the stage's throttling and the
    # code's per-caller limits do)
    kinds = {r["Type"] for r in transformed["Resources"].values()}
    assert not kinds & {"AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey"}
    assert "UsagePlan" not in json.dumps(api)


def test_an_optional_firewall_counts_each_client_address(
    resources_of: dict[str, Any], sam_template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the web ACL and its association with the stage
    acl, association = resources_of["ApiWebAcl"], resources_of["ApiWebAclAssociation"]
    parameters = sam_template["Parameters"]

    # Then both exist only when WafRateLimit is set (WAF is billed: off by default)
    assert acl["Condition"] == association["Condition"] == "HasWaf"
    assert sam_template["Conditions"]["HasWaf"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WafRateLimit"}, 0]}]}
    assert parameters["WafRateLimit"]["Default"] == 0
    assert parameters["WafAuthRateLimit"]["MinValue"] >= 10  # WAF's smallest rate-based limit
    # And its rules block, per client address and per 5 minutes, /user/auth first, then any request
    props = acl["Properties"]
    assert (props["Scope"], props["DefaultAction"]) == ("REGIONAL", {"Allow": {}})
    rules = sorted(props["Rules"], key=lambda r: r["Priority"])
    limits = [r["Statement"]["RateBasedStatement"] for r in rules]
    assert [lim["Limit"] for lim in limits] == [{"Ref": "WafAuthRateLimit"}, {"Ref": "WafRateLimit"}]
    assert all(lim["AggregateKeyType"] == "IP" and lim.get("EvaluationWindowSec", 300) == 300 for lim in limits)
    scope = limits[0]["ScopeDownStatement"]["ByteMatchStatement"]
    assert (scope["FieldToMatch"], scope["PositionalConstraint"]) == ({"UriPath": {}}, "ENDS_WITH")
    assert scope["SearchString"] == contract.API_ROUTES[contract.AUTH]
    assert "ScopeDownStatement" not in limits[1]
    # And a refusal is the service's own: HTTP 429 with error 15 in the envelope
    for rule in rules:
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        body = props["CustomResponseBodies"][response["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON"
        assert json.loads(body["Content"])["status"]["code"] == 15
    # And it guards the deployed stage (SAM resolves ${Api.Stage} to the stage it makes: a dependency)
    (stage_id,) = of_type(transformed["Resources"], "AWS::ApiGateway::Stage")
    arn = transformed["Resources"]["ApiWebAclAssociation"]["Properties"]["ResourceArn"]["Fn::Sub"]
    assert arn.endswith(f"::/restapis/${{Api}}/stages/${{{stage_id}}}")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}


# ============================================================================ logs
def test_every_log_group_keeps_its_events_and_is_someones(resources_of: dict[str, Any]) -> None:
    # Given every log group, and what writes to each
    groups = of_type(resources_of, LOG_GROUP)
    writers = {
        fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]: lid
        for lid, fn in of_type(resources_of, "AWS::Serverless::Function").items()
    }
    writers[resources_of["Api"]["Properties"]["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]] = "Api"

    # Then each is written by one function or by the stage, every function and the stage have one
    assert set(groups) == set(writers)
    assert set(writers.values()) == contract.ALL_FUNCTIONS | {"Api"}
    # And each keeps its events LogRetentionDays, and outlives the stack
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical_id
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == RETAIN, logical_id


# ============================================================================ alarms


def _watched(resources_of: Mapping[str, Any], metric: str) -> dict[str, str]:
    """Function logical id -> the alarm that fires on any of its ``AWS/Lambda`` ``metric`` (Sum):
    a single-metric alarm, or a sum of several (metric math, SUM(METRICS()))."""
    out: dict[str, str] = {}
    for alarm_id, alarm in of_type(resources_of, ALARM).items():
        props = alarm["Properties"]
        if not fires_on_any(props):
            continue
        if "Metrics" in props:
            queries = props["Metrics"]
            (result,) = [q for q in queries if q.get("ReturnData", True)]
            if result.get("Expression") != "SUM(METRICS())":
                continue
            stats = [q["MetricStat"] for q in queries if "MetricStat" in q]
            assert len(stats) <= 10, f"{alarm_id}: an alarm's metric math takes 10 metrics at most"
            assert all(not q.get("ReturnData", True) for q in queries if "MetricStat" in q), alarm_id
            found = [(s["Metric"], s["Stat"]) for s in stats]
        else:
            found = [(props, props.get("Statistic"))]
        for spec, stat in found:
            if (spec.get("Namespace"), spec.get("MetricName"), stat) != ("AWS/Lambda", metric, "Sum"):
                continue
            ((dimension,),) = [spec["Dimensions"]]
            assert dimension["Name"] == "FunctionName"
            out[dimension["Value"]["Ref"]] = alarm_id
    return out


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_functions_errors_and_throttles_raise_an_alarm(resources_of: dict[str, Any], metric: str) -> None:
    # When the alarms on each function's errors (crash, timeout, out of memory) or throttles are looked up
    watched = _watched(resources_of, metric)

    # Then every function has one, firing on the first in five minutes
    assert set(watched) == contract.ALL_FUNCTIONS
    # And the API functions share one (their sum): one alarm to read when the API misbehaves
    assert len({watched[fn] for fn in contract.API_FUNCTIONS}) == 1
    for alarm_id in set(watched.values()):
        props = resources_of[alarm_id]["Properties"]
        assert props["AlarmDescription"]
        assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_the_alarm_lookup_tells_a_watched_function_apart(resources_of: dict[str, Any]) -> None:
    # Given an alarm that sums the API functions' errors, and the same with a condition it would miss
    summed = next(
        a
        for a in of_type(resources_of, ALARM).values()
        if any(q.get("Expression") == "SUM(METRICS())" for q in a["Properties"].get("Metrics", []))
    )
    never = json.loads(json.dumps(summed))
    never["Properties"]["Threshold"] = 5
    other = json.loads(json.dumps(summed))
    other["Properties"]["Metrics"][-1]["Expression"] = "AVG(METRICS())"

    # Then only the alarm that fires on the first error counts
    assert _watched({"A": summed}, "Errors") or _watched({"A": summed}, "Throttles")
    assert _watched({"A": never}, "Errors") == _watched({"A": never}, "Throttles") == {}
    assert _watched({"A": other}, "Errors") == _watched({"A": other}, "Throttles") == {}


def test_the_apis_5xx_raise_an_alarm(resources_of: dict[str, Any], transformed: dict[str, Any]) -> None:
    # Given the alarms on API Gateway's 5XXError
    alarms = [
        a["Properties"]
        for a in of_type(resources_of, ALARM).values()
        if (a["Properties"].get("Namespace"), a["Properties"].get("MetricName")) == ("AWS/ApiGateway", "5XXError")
    ]

    # Then one fires on the first 5xx of the stage
    (alarm,) = alarms
    assert fires_on_any(alarm) and alarm["Statistic"] == "Sum"
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert dimensions["Stage"] == resources_of["Api"]["Properties"]["StageName"]
    # And it names the API as deployed: SAM titles the API after the stack, and nothing renames it
    deployed = transformed["Resources"]["Api"]["Properties"]
    assert "Name" not in deployed
    assert deployed["Body"]["info"]["title"] == dimensions["ApiName"] == {"Ref": "AWS::StackName"}
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]


_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _evaluate(expression: str, values: Mapping[str, float]) -> float:
    """A metric math expression of + - * / and metric ids, evaluated on one value per id."""

    def walk(node: ast.expr) -> float:
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            return float(_ARITHMETIC[type(node.op)](walk(node.left), walk(node.right)))
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        raise AssertionError(f"teach this test {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval").body)


@pytest.mark.parametrize("timeout_s", [60, 300, 900])
def test_a_worker_run_near_its_timeout_raises_an_alarm(
    resources_of: dict[str, Any], sam_template: dict[str, Any], timeout_s: int
) -> None:
    # Given the alarm on the worker's duration, and a WorkerTimeout the parameter allows
    parameter = sam_template["Parameters"]["WorkerTimeout"]
    assert parameter["MinValue"] <= timeout_s <= parameter["MaxValue"]
    (alarm,) = [
        a["Properties"]
        for a in of_type(resources_of, ALARM).values()
        if any(
            q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "Duration"
            for q in a["Properties"].get("Metrics", [])
        )
    ]
    (duration,) = [q for q in alarm["Metrics"] if "MetricStat" in q]
    (result,) = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert duration["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "WorkerFunction"}}
    ]
    assert duration["MetricStat"]["Stat"] == "Maximum"  # the longest run, not the average

    # When its expression is evaluated for runs of 79 %, 81 % and 100 % of the timeout (Duration is in ms)
    expression = result["Expression"]["Fn::Sub"].replace("${WorkerTimeout}", str(timeout_s))

    def breaches(share: float) -> bool:
        value = _evaluate(expression, {duration["Id"]: share * timeout_s * 1000})
        return value > alarm["Threshold"] if alarm["ComparisonOperator"] == "GreaterThanThreshold" else False

    # Then it fires past 80 % of whatever timeout the stack has, not below
    assert alarm["Threshold"] == 80
    assert (breaches(0.79), breaches(0.81), breaches(1.0)) == (False, True, True)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]


# ============================================================================ state that survives
def test_the_track_bucket_is_versioned_and_old_versions_expire(
    resources_of: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    # Given the track bucket (the only copy of the history; each merge rewrites a day object)
    props = resources_of["TrackBucket"]["Properties"]

    # Then it is versioned
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    # And one rule, on the whole bucket, expires versions TrackVersionDays after they were replaced,
    # and the delete markers left alone
    (rule,) = [r for r in props["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in r]
    assert rule["Status"] == "Enabled"
    assert "Prefix" not in rule and "TagFilters" not in rule
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "TrackVersionDays"}}
    assert rule["ExpiredObjectDeleteMarker"] is True
    parameter = sam_template["Parameters"]["TrackVersionDays"]
    assert 1 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"]
    # And the report bucket is not versioned: its files expire after the report anyway
    assert "VersioningConfiguration" not in resources_of["ReportsBucket"]["Properties"]


def test_what_cannot_be_rebuilt_survives_a_deletion(resources_of: dict[str, Any]) -> None:
    # Given the stateful resources: tables, buckets and queues
    stateful = {
        lid: r for lid, r in resources_of.items() if r["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", QUEUE)
    }

    # Then each says what becomes of it, the same on a deletion and on a replacement
    policies = {lid: (r.get("DeletionPolicy"), r.get("UpdateReplacePolicy")) for lid, r in stateful.items()}
    assert all(deletion == replace and deletion in ("Retain", "Delete") for deletion, replace in policies.values())
    # And only the fleet table and the track bucket are kept: reports expire, queues are transient
    assert {lid for lid, (deletion, _) in policies.items() if deletion == RETAIN} == {"FleetTable", "TrackBucket"}
    # And DynamoDB refuses to delete the fleet table (the reports table would only block a deletion)
    assert resources_of["FleetTable"]["Properties"]["DeletionProtectionEnabled"] is True
    assert "DeletionProtectionEnabled" not in resources_of["ReportsTable"]["Properties"]


# ============================================================================ queues
def test_every_queue_refuses_requests_not_made_over_tls(resources_of: dict[str, Any]) -> None:
    # Given every queue and every queue policy
    queues = of_type(resources_of, QUEUE)
    policies = [r["Properties"] for r in of_type(resources_of, "AWS::SQS::QueuePolicy").values()]
    assert set(queues) == {contract.JOBS_QUEUE, contract.JOBS_DLQ, contract.IMPORT_DLQ}

    for logical_id in queues:
        # When the policy of the queue is looked up
        (policy,) = [p for p in policies if {"Ref": logical_id} in p["Queues"]]

        # Then it is the queue's alone, and denies every SQS action to anyone not on TLS
        assert policy["Queues"] == [{"Ref": logical_id}]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement == {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": {"Fn::GetAtt": [logical_id, "Arn"]},
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    # And no policy names a queue that is not one
    assert len(policies) == len(queues)


def test_the_importers_asynchronous_retries_are_explicit_and_the_local_stacks(
    resources_of: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # Given the import function's event invoke configuration
    importer = resources_of[contract.IMPORT]["Properties"]
    config = importer["EventInvokeConfig"]

    # Then Lambda retries a failed upload twice, and waits at most its 6 h for a throttled one
    assert config == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600}
    # And a failed upload has one place to go, the dead-letter queue (no on-failure destination
    # sending it a second time in another format)
    assert "DestinationConfig" not in config
    assert importer["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": [contract.IMPORT_DLQ, "Arn"]}}
    # And the deployed function has it, on its unpublished version
    (deployed,) = of_type(transformed["Resources"], "AWS::Lambda::EventInvokeConfig").values()
    assert deployed["Properties"]["FunctionName"] == {"Ref": contract.IMPORT}
    assert deployed["Properties"]["Qualifier"] == "$LATEST"
    assert (deployed["Properties"]["MaximumRetryAttempts"], deployed["Properties"]["MaximumEventAgeInSeconds"]) == (
        2,
        21600,
    )
    # And the local stack makes as many attempts before its dead-letter queue
    from fleet_reports.local.poller import S3EventPoller

    attempts = inspect.signature(S3EventPoller.__init__).parameters["max_attempts"].default
    assert attempts == config["MaximumRetryAttempts"] + 1


# ============================================================================ least privilege
def test_no_deployed_code_scans_a_table() -> None:
    # Given the package's code, the local stack's own tooling aside (no handler imports it)
    from tests.support.paths import ROOT

    package = ROOT / "shared" / "fleet_reports"
    sources = [p for p in package.rglob("*.py") if "local" not in p.relative_to(package).parts]
    assert len(sources) > 20

    # When it is searched for a Scan
    scans = [str(p.relative_to(ROOT)) for p in sources if re.search(r"\.scan\(|[\"']Scan[\"']", p.read_text())]

    # Then there is none: no role grants dynamodb:Scan (password hashes and key digests are in the
    # fleet table), and test_template_hardening's FAMILIES refuses a grant of it
    assert scans == []


# ============================================================================ the local stack
def test_the_local_stack_builds_or_skips_every_resource_deliberately(sam_template: dict[str, Any]) -> None:
    from fleet_reports.local.resources import NOT_CREATED_LOCALLY, NOT_REPRODUCED, SUPPORTED_TYPES, unreproduced

    # Given the template's resource types, and the properties of those the local stack creates
    kinds = {r["Type"] for r in sam_template["Resources"].values()}
    properties = {(r["Type"], name) for r in sam_template["Resources"].values() for name in r.get("Properties", {})}

    # Then nothing is left out silently: every resource and property is built or skipped with a reason
    assert unreproduced(sam_template) == []
    assert all(NOT_CREATED_LOCALLY.values())
    assert all(reason for by_property in NOT_REPRODUCED.values() for reason in by_property.values())
    # And no reason is stale: each skipped type and property is in the template
    assert set(NOT_CREATED_LOCALLY) == kinds - SUPPORTED_TYPES
    assert {(kind, name) for kind, names in NOT_REPRODUCED.items() for name in names} <= properties


def test_the_local_stacks_check_catches_a_new_resource_or_property(sam_template: dict[str, Any]) -> None:
    from fleet_reports.local.resources import unreproduced

    # Given the template with a resource type and a queue property the local stack knows nothing of
    changed = json.loads(json.dumps(sam_template))
    changed["Resources"]["Nightly"] = {"Type": "AWS::Events::Rule", "Properties": {}}
    changed["Resources"]["ImportDLQ"]["Properties"]["Tags"] = [{"Key": "k", "Value": "v"}]

    # Then both are named
    assert unreproduced(changed) == ["ImportDLQ.Tags", "Nightly: AWS::Events::Rule"]
