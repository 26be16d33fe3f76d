"""Limits as configuration: each one is a template parameter, reaches the functions that enforce it
through their environment, and answers its documented error, naming itself, when it is hit.

* request rates per caller (``CallerRateLimit``, ``CallerGenerateLimit``): 15, HTTP 429 with
  ``Retry-After``; a caller is a user (its sessions together) or one API key; one caller
  flooding never throttles another;
* reports generating at once per (sub-)user (``MaxParallelReports``): 15;
* trackers per report (``MaxTrackersPerReport``): 7 naming ``trackers``;
* request body (``MaxBodyBytes``): 9, judged before the body is decoded or inflated;
* the period per plugin (``MaxTimeSpan``, ``PointReportMaxTimeSpan``): 211 with ``max_time_span``;
* retention (``RetentionDays``): a report past its expiry is gone for every action at once.

The rate counts are fixed windows of the wall clock; the tests freeze the limiter's clock
(``store.ratelimit._clock``) so that a window never turns in the middle of a test.
"""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib
from typing import Any

import boto3
import pytest

from fleet_reports import contract
from fleet_reports.demo import ACCESS, OWNER_ID, RUSSIAN_ID

from tests.support.api import HASH
from tests.support.clock import Clock
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

# 1_900_000_000 s is 40 s into its minute: the frozen instant is 0.25 s into a second, 40.25 s into a minute
FROZEN = 1_900_000_000.25
ONE_DAY = {"from": "2020-10-05 00:00:00", "to": "2020-10-05 23:59:59"}

# Every limit of the issue: template parameter -> the settings field it becomes
LIMITS = {
    "MaxParallelReports": "max_parallel_reports",
    "CallerRateLimit": "caller_rate_limit",
    "CallerGenerateLimit": "caller_generate_limit",
    "MaxTrackersPerReport": "max_trackers_per_report",
    "MaxBodyBytes": "max_body_bytes",
    "MaxTimeSpan": "max_time_span",
    "PointReportMaxTimeSpan": "point_report_max_time_span",
    "RetentionDays": "retention_days",
}

# The functions whose caller is counted, and a request each answers without a report to hand
COUNTED = {
    "ListFunction": {},
    "StatusFunction": {"report_id": 424242},
    "RetrieveFunction": {"report_id": 424242},
    "DownloadFunction": {"report_id": 424242, "format": "pdf"},
    "DeleteFunction": {"report_id": 424242},
    "PluginsFunction": {},
    "GenerateFunction": SEED_GENERATE,
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from fleet_reports.store import ratelimit

    frozen = Clock(FROZEN)
    monkeypatch.setattr(ratelimit, "_clock", frozen)
    return frozen


def session_of(demo: Lambdas, user_id: int) -> str:
    """A new session hash of the user (stored as /user/auth stores one)."""
    import secrets

    from fleet_reports.store import fleet
    from fleet_reports.store.records import CredentialRecord

    demo.use_env("AuthFunction")
    secret = secrets.token_hex(16)
    now = int(time.time())
    fleet.put_credential(secret, CredentialRecord(user_id=user_id, kind="session", created=now, expires=now + 3600))
    return secret


def generate(demo: Lambdas, env: dict[str, str] | None = None, **overrides: Any) -> int:
    """Generate the seed request (``overrides`` replace its members) with the functions'
    environment changed by ``env``; the new report's id."""
    status, body, _ = demo.api("GenerateFunction", {**SEED_GENERATE, **overrides}, **(env or {}))
    assert (status, body["success"]) == (200, True), body
    return int(body["id"])


def raw_call(demo: Lambdas, function: str, data: bytes, headers: dict[str, str], **env: str) -> tuple[int, Any]:
    """Call an API function with exactly these body bytes (base64, as API Gateway sends them)."""
    from fleet_reports.local.gateway import api_event

    path = demo.specs[function].api_routes[0][1]
    result = demo.invoke(function, api_event("POST", path, "", headers, data, "127.0.0.1"), **env)
    return int(result["statusCode"]), json.loads(result["body"])


def listing(demo: Lambdas, hash_: str, **env: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    status, body, headers = demo.api("ListFunction", {"hash": hash_}, **env)
    return status, body, headers


def rate_items(demo: Lambdas) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(demo.resources.names["ReportsTable"])
    items = table.scan(ConsistentRead=True)["Items"]
    return [i for i in items if str(i["pk"]).startswith("RATE#")]


# ============================================================================ request rates per caller


def test_a_user_over_its_request_rate_is_refused_with_15_and_retry_after(demo: Lambdas, clock: Clock) -> None:
    # Given the owner's session and a limit of 3 requests a second per caller
    session = session_of(demo, OWNER_ID)

    # When it makes 3 requests within one second, Then they are answered
    for _ in range(3):
        status, body, _ = listing(demo, session, CALLER_RATE_LIMIT="3")
        assert (status, body["success"]) == (200, True), body

    # And the 4th is refused: 15, HTTP 429, naming the limit, with Retry-After (the second's end)
    status, body, headers = listing(demo, session, CALLER_RATE_LIMIT="3")
    assert (status, body["status"]["code"]) == (429, 15)
    assert body["status"]["description"] == (
        "Too many requests (rate limit exceeded): at most 3 requests a second per user"
    )
    assert (body["limit"], body["retry_after"], headers["retry-after"]) == ("requests_per_second", 1, "1")

    # And in the next second it is answered again
    clock.advance(1)
    assert listing(demo, session, CALLER_RATE_LIMIT="3")[0] == 200


def test_one_user_flooding_does_not_throttle_another(demo: Lambdas, clock: Clock) -> None:
    # Given two users with a session each, and a limit of 2 requests a second per caller
    flooder, other = session_of(demo, OWNER_ID), session_of(demo, RUSSIAN_ID)

    # When the first floods the API within one second
    answers = [listing(demo, flooder, CALLER_RATE_LIMIT="2")[0] for _ in range(10)]

    # Then it got 2 answers and 8 refusals
    assert answers == [200] * 2 + [429] * 8

    # And the other user, in the same second, is answered as if nothing happened
    assert [listing(demo, other, CALLER_RATE_LIMIT="2")[0] for _ in range(2)] == [200, 200]


def test_a_users_sessions_share_one_count(demo: Lambdas, clock: Clock) -> None:
    # Given two sessions of the owner (two logins) and a limit of 2 requests a second
    first, second = session_of(demo, OWNER_ID), session_of(demo, OWNER_ID)

    # When the first session uses up the second's allowance
    assert [listing(demo, first, CALLER_RATE_LIMIT="2")[0] for _ in range(2)] == [200, 200]

    # Then the second session of the same user is refused too: the limit is the user's
    status, body, _ = listing(demo, second, CALLER_RATE_LIMIT="2")
    assert (status, body["status"]["code"], body["limit"]) == (429, 15, "requests_per_second")


def test_an_api_key_has_its_own_count(demo: Lambdas, clock: Clock) -> None:
    # Given the owner's API key and a session of the owner, and a limit of 2 requests a second
    session = session_of(demo, OWNER_ID)

    # When the API key floods the API
    assert [listing(demo, HASH, CALLER_RATE_LIMIT="2")[0] for _ in range(4)] == [200, 200, 429, 429]

    # Then the refusal names the key's limit
    _, body, _ = listing(demo, HASH, CALLER_RATE_LIMIT="2")
    assert body["status"]["description"].endswith("at most 2 requests a second per API key")

    # And the owner's session, and another user's key, are still answered in that second
    assert listing(demo, session, CALLER_RATE_LIMIT="2")[0] == 200
    assert listing(demo, ACCESS.russian_user_hash, CALLER_RATE_LIMIT="2")[0] == 200


@pytest.mark.parametrize("function", sorted(COUNTED))
def test_every_authenticated_action_counts(demo: Lambdas, clock: Clock, function: str) -> None:
    # Given a limit of 1 request a second, used up by one request to this action
    params = {**COUNTED[function], "hash": HASH}
    status, body, _ = demo.api(function, params, CALLER_RATE_LIMIT="1")
    assert body.get("status", {}).get("code") != 15, body

    # When the same caller asks again in that second, Then it is refused before anything else
    status, body, _ = demo.api(function, params, CALLER_RATE_LIMIT="1")
    assert (status, body["status"]["code"], body["limit"]) == (429, 15, "requests_per_second")


@pytest.mark.parametrize(
    ("function", "params"),
    [
        ("AuthFunction", {"login": ACCESS.owner_login, "password": ACCESS.owner_password}),
        ("LogoutFunction", {"hash": HASH}),  # an API key: logout ends no session, answers success
    ],
)
def test_auth_and_logout_are_not_counted_per_caller(
    demo: Lambdas, clock: Clock, function: str, params: dict[str, Any]
) -> None:
    # Given a limit of 1 request a second per caller
    # When /user/auth or /user/logout is called 3 times in one second
    answers = [demo.api(function, params, CALLER_RATE_LIMIT="1")[:2] for _ in range(3)]

    # Then each is answered (they have no caller to count yet, or end one: the stage throttles them)
    assert [(status, body["success"]) for status, body in answers] == [(200, True)] * 3
    assert rate_items(demo) == []


def test_generate_has_its_own_tighter_rate(demo: Lambdas, clock: Clock) -> None:
    # Given 2 generates a minute per caller (and room for more reports generating at once)
    env = {"CALLER_GENERATE_LIMIT": "2"}

    # When the owner asks for 3 reports within one minute
    first, second = (generate(demo, env, **ONE_DAY) for _ in range(2))
    status, body, headers = demo.api("GenerateFunction", {**SEED_GENERATE, **ONE_DAY}, **env)

    # Then the third is refused naming the generate limit, to retry when the minute ends (40.25 s in)
    assert (status, body["status"]["code"], body["limit"]) == (429, 15, "generates_per_minute")
    assert body["status"]["description"].endswith("at most 2 generate requests a minute per API key")
    assert (body["retry_after"], headers["retry-after"]) == (20, "20")
    # And no report was stored for it
    listed = listing(demo, HASH)[1]["list"]
    assert sorted(r["id"] for r in listed) == sorted([first, second])

    # And the other actions are still answered in that minute (their own limit)
    assert demo.api("StatusFunction", {"hash": HASH, "report_id": first}, **env)[0] == 200

    # And once the minute has turned, generating works again
    clock.advance(20)
    assert generate(demo, env, **ONE_DAY) > second


def test_a_refused_request_is_not_counted(demo: Lambdas, clock: Clock) -> None:
    # Given a caller refused twice in one second with a limit of 1
    assert [listing(demo, HASH, CALLER_RATE_LIMIT="1")[0] for _ in range(3)] == [200, 429, 429]

    # When the limit is raised to 2 within the same second (a new deployment of the parameter)
    status = listing(demo, HASH, CALLER_RATE_LIMIT="2")[0]

    # Then the caller has one request left: the refusals took none
    assert status == 200
    assert listing(demo, HASH, CALLER_RATE_LIMIT="2")[0] == 429


def test_the_counts_are_kept_per_window_and_expire(demo: Lambdas, clock: Clock) -> None:
    # Given requests of a user's session and of an API key in one second
    session = session_of(demo, OWNER_ID)
    for hash_ in (session, session, HASH):
        assert listing(demo, hash_)[0] == 200

    # Then each caller has one count for that second, expiring a minute after it (TTL)
    second = int(FROZEN)
    items = {(i["pk"], i["sk"]): (int(i["n"]), int(i["ttl"])) for i in rate_items(demo)}
    user_key = ("RATE#USER#1001", f"requests_per_second#{second:012d}")
    assert items[user_key] == (2, second + 1 + 60)
    (key_key,) = set(items) - {user_key}
    assert key_key[0].startswith("RATE#KEY#") and items[key_key] == (1, second + 1 + 60)
    # And the key is not in the table, only half of its digest
    assert HASH not in key_key[0]


def test_a_count_that_cannot_be_written_lets_the_request_through(
    demo: Lambdas, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limiter whose table refuses every write (a table that does not exist)
    from fleet_reports.store import ratelimit
    from fleet_reports.store.aws import table

    monkeypatch.setattr(ratelimit, "_table", lambda: table("no-such-table"))

    # When a caller makes more requests than its limit
    answers = [listing(demo, HASH, CALLER_RATE_LIMIT="1")[0] for _ in range(3)]

    # Then they are answered: the limit protects the service, it does not become its outage
    assert answers == [200, 200, 200]


# ============================================================================ reports generating at once


def test_the_parallel_cap_names_its_limit_and_has_no_retry_after(demo: Lambdas) -> None:
    # Given one report generating and a cap of 1
    generate(demo, {"MAX_PARALLEL_REPORTS": "1"})

    # When another is asked for
    status, body, headers = demo.api("GenerateFunction", SEED_GENERATE, MAX_PARALLEL_REPORTS="1")

    # Then 15 names the parallel cap; a report's end, not a clock, frees it (no Retry-After)
    assert (status, body["status"]["code"], body["limit"]) == (429, 15, "parallel_reports")
    assert body["status"]["description"].endswith("at most 1 reports may generate at once")
    assert "retry-after" not in headers


# ============================================================================ trackers per report


def test_trackers_over_the_limit_answer_7_naming_trackers(demo: Lambdas) -> None:
    # Given a limit of 2 trackers per report
    env = {"MAX_TRACKERS_PER_REPORT": "2"}

    # When a report names 3 trackers, Then 7 names `trackers` and the limit
    status, body, _ = demo.api("GenerateFunction", {**SEED_GENERATE, "trackers": [669673, 123456, 345678]}, **env)
    assert (status, body["status"]["code"]) == (400, 7)
    assert body["errors"] == [{"parameter": "trackers", "error": "at most 2 trackers per report"}]

    # And the trackers the plugin's options name count too (the sensor report's sensors)
    sensors = {
        "plugin_id": 9,
        "sensors": [{"tracker_id": 123456, "sensor_id": 1}, {"tracker_id": 345678, "sensor_id": 1}],
    }
    status, body, _ = demo.api("GenerateFunction", {**SEED_GENERATE, "plugin": sensors}, **env)
    assert body["errors"] == [{"parameter": "trackers", "error": "at most 2 trackers per report"}]

    # And 2 trackers, each named twice, are within it
    assert generate(demo, env, trackers=[669673, 123456, 669673]) > 0


# ============================================================================ request body


def test_a_body_over_the_limit_answers_9_and_one_at_it_is_read(demo: Lambdas) -> None:
    # Given a limit of 2048 bytes, and two bodies of 2048 and 2049 bytes (the title pads them)
    env = {"MAX_BODY_BYTES": "2048"}
    base = json.dumps({**SEED_GENERATE, "title": ""})
    at_limit = json.dumps({**SEED_GENERATE, "title": "x" * (2048 - len(base))})
    over = json.dumps({**SEED_GENERATE, "title": "x" * (2049 - len(base))})
    assert (len(at_limit.encode()), len(over.encode())) == (2048, 2049)

    # When each is sent, Then the one at the limit is read (and refused only for its title, 7)
    status, body, _ = demo.api("GenerateFunction", body=at_limit, **env)
    assert [e["parameter"] for e in body["errors"]] == ["title"]

    # And the one over it is 9 (HTTP 412), naming the limit
    status, body, _ = demo.api("GenerateFunction", body=over, **env)
    assert (status, body["status"]["code"]) == (412, 9)
    assert body["status"]["description"] == "Too large request: the body is over 2048 bytes"


@pytest.mark.parametrize("function", sorted(contract.API_FUNCTIONS))
def test_every_api_function_refuses_a_body_over_the_limit(demo: Lambdas, function: str) -> None:
    # Given a limit of 1024 bytes, When any API function gets a body of 1025, Then 9
    status, body, _ = demo.api(function, body=json.dumps({"hash": HASH, "pad": "x" * 1000}), MAX_BODY_BYTES="1024")
    assert (status, body["status"]["code"]) == (412, 9)


def test_an_oversized_base64_body_is_refused_before_it_is_decoded(demo: Lambdas) -> None:
    # Given a body over the limit that is not even valid base64 (API Gateway sends every body base64)
    from fleet_reports.local.gateway import api_event

    event = api_event("POST", "/report/tracker/list", "", {"Content-Type": "application/json"}, b"{}", "127.0.0.1")
    assert event["isBase64Encoded"] is True
    event["body"] = "!" * 4000

    # When it reaches a function with a limit of 2048 bytes
    result = demo.invoke("ListFunction", event, MAX_BODY_BYTES="2048")

    # Then it is 9 for its size, not 5 for its encoding: the size was judged first
    assert (result["statusCode"], json.loads(result["body"])["status"]["code"]) == (412, 9)
    # And a valid base64 body under the limit but garbled is 5, as before
    event["body"] = "!" * 400
    assert json.loads(demo.invoke("ListFunction", event, MAX_BODY_BYTES="2048")["body"])["status"]["code"] == 5


def test_a_gzip_body_is_read_and_bounded_once_inflated(demo: Lambdas) -> None:
    # Given the seed request gzip'd, sent with Content-Encoding: gzip
    packed = gzip.compress(json.dumps(SEED_GENERATE).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}

    # When it is sent, Then it is read as the JSON it holds
    status, body = raw_call(demo, "GenerateFunction", packed, headers)
    assert (status, body["success"]) == (200, True), body

    # And a gzip stream that is broken off, or not gzip at all, is 5
    for data in (packed[:-12], b"{}"):
        status, body = raw_call(demo, "GenerateFunction", data, headers)
        assert (status, body["status"]["code"]) == (400, 5)
        assert body["status"]["description"] == "Wrong request format: body is not valid gzip"

    # And the limit holds for the body once inflated (the seed request is over 200 bytes)
    status, body = raw_call(demo, "GenerateFunction", packed, headers, MAX_BODY_BYTES=str(len(packed) + 1))
    assert (status, body["status"]["code"]) == (412, 9)


def test_a_gzip_bomb_is_refused_without_inflating_it(demo: Lambdas) -> None:
    # Given 200 MB of zeros gzip'd into about 200 KB, under the body limit as sent
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    bomb = b"".join(deflater.compress(chunk) for _ in range(200)) + deflater.flush()
    assert len(bomb) < 1_048_576

    # When it is sent as a gzip'd body (to a function already warm), memory traced
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    assert listing(demo, HASH)[0] == 200
    tracemalloc.start()
    try:
        status, answer = raw_call(demo, "ListFunction", bomb, headers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    # Then it is 9, "once decompressed", and inflating it took about the limit, not 200 MB
    assert (status, answer["status"]["code"]) == (412, 9)
    assert answer["status"]["description"] == "Too large request: the body is over 1048576 bytes once decompressed"
    assert peak < 16 * 1024 * 1024, peak


# ============================================================================ the period per plugin


def test_each_plugin_is_held_to_its_own_span(demo: Lambdas) -> None:
    # Given spans of 2 days for every plugin and 6 hours for the point report
    env = {"MAX_TIME_SPAN": "P2D", "POINT_REPORT_MAX_TIME_SPAN": "PT6H"}
    three_days = {"from": "2020-10-04 00:00:00", "to": "2020-10-07 00:00:00"}
    seven_hours = {"from": "2020-10-05 08:00:00", "to": "2020-10-05 15:00:00"}
    points = {"plugin_id": 91}

    # When a trip report covers 3 days, Then 211 says its limit
    _, body, _ = demo.api("GenerateFunction", {**SEED_GENERATE, **three_days}, **env)
    assert (body["status"]["code"], body["max_time_span"]) == (211, "P2D")

    # And a point report of 7 hours, its own
    _, body, _ = demo.api("GenerateFunction", {**SEED_GENERATE, **seven_hours, "plugin": points}, **env)
    assert (body["status"]["code"], body["max_time_span"]) == (211, "PT6H")

    # And within their spans both are accepted
    assert generate(demo, env, **{**seven_hours, "to": "2020-10-07 08:00:00"}) > 0
    assert generate(demo, env, **{**seven_hours, "to": "2020-10-05 14:00:00"}, plugin=points) > 0

    # And /plugin/list tells each plugin's span as configured
    _, body, _ = demo.api("PluginsFunction", {"hash": HASH}, **env)
    spans = {p["id"]: p["max_time_span"] for p in body["list"]}
    assert spans.pop(91) == "PT6H"
    assert set(spans.values()) == {"P2D"}


# ============================================================================ configuration


@pytest.mark.parametrize("parameter", sorted(LIMITS))
def test_every_limit_is_a_bounded_parameter_reaching_its_functions(template: dict[str, Any], parameter: str) -> None:
    from fleet_reports.settings import FUNCTION_SETTINGS, Settings

    # Given a limit's template parameter and the settings field it becomes
    spec = template["Parameters"][parameter]
    field = LIMITS[parameter]
    variable = field.upper()

    # Then it has a default, bounded by Min/Max, a list or a pattern
    assert "Default" in spec and spec.get("Description")
    assert {"MinValue", "MaxValue"} <= set(spec) or "AllowedValues" in spec or "AllowedPattern" in spec
    if "MinValue" in spec:
        assert spec["MinValue"] >= 1 and spec["MinValue"] <= spec["Default"] <= spec["MaxValue"]
    # And the code's default is the template's
    assert str(Settings.model_fields[field].default) == str(spec["Default"])
    # And it reaches a function through its environment, as a Ref, validated at the cold start
    readers = [fn for fn, env in contract.FUNCTION_ENV.items() if variable in env]
    assert readers and contract.ENV_SOURCES[variable] == parameter
    for function in readers:
        variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables[variable] == {"Ref": parameter}
        assert field in FUNCTION_SETTINGS[function].model_fields


@pytest.mark.parametrize(
    ("function", "variable", "value"),
    [
        ("GenerateFunction", "CALLER_GENERATE_LIMIT", "0"),
        ("ListFunction", "CALLER_RATE_LIMIT", "-5"),
        ("PluginsFunction", "MAX_BODY_BYTES", "lots"),
        ("GenerateFunction", "MAX_TIME_SPAN", "90 days"),
    ],
)
def test_a_limit_out_of_range_fails_the_function_at_its_first_call(
    demo: Lambdas, function: str, variable: str, value: str
) -> None:
    # Given a function deployed with a limit that makes no sense
    # When it is called, Then it answers 6 (the variable is logged, not told) and counts nothing
    status, body, _ = demo.api(function, {**SEED_GENERATE, "hash": HASH}, **{variable: value})
    assert (status, body["status"]["code"]) == (500, 6)
    assert variable not in json.dumps(body)
    assert rate_items(demo) == []


# ============================================================================ retention


def expire(demo: Lambdas, report_id: int) -> None:
    """Move the report's expiry (its TTL) to a minute ago; DynamoDB has not deleted it yet."""
    from fleet_reports.store.reports import report_key

    table = boto3.resource("dynamodb").Table(demo.resources.names["ReportsTable"])
    table.update_item(
        Key=report_key(OWNER_ID, report_id),
        UpdateExpression="SET #ttl = :t",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":t": int(time.time()) - 60},
    )


def test_every_report_item_expires_after_the_retention(demo: Lambdas) -> None:
    # Given a retention of 7 days, and a report generated and done
    env = {"RETENTION_DAYS": "7"}
    before = int(time.time())
    report_id = generate(demo, env)
    demo.run_worker()

    # Then its item (with its document) carries a TTL 7 days after its creation
    table = boto3.resource("dynamodb").Table(demo.resources.names["ReportsTable"])
    items = [i for i in table.scan(ConsistentRead=True)["Items"] if str(i["sk"]).startswith("REPORT#")]
    assert [int(i["id"]) for i in items] == [report_id]
    assert items[0]["state"] == "done"
    assert before + 7 * 86400 <= int(items[0]["ttl"]) <= int(time.time()) + 7 * 86400


def test_the_template_expires_items_on_the_ttl_the_code_writes_and_every_report_file(template: dict[str, Any]) -> None:
    # Given the reports table and bucket of the template
    from fleet_reports.store.records import ReportRecord

    table = template["Resources"]["ReportsTable"]["Properties"]
    bucket = template["Resources"]["ReportsBucket"]["Properties"]

    # Then DynamoDB deletes items on the attribute the report record keeps its expiry in
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert "ttl" in ReportRecord.model_fields
    # And the files expire by a rule on the whole bucket (reports/ and anything beside it)
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and "ExpirationInDays" in rule
    assert "Prefix" not in rule and "Filter" not in rule


def test_a_report_past_its_expiry_is_gone_for_every_action(demo: Lambdas) -> None:
    # Given a finished report whose expiry has passed, not yet deleted by DynamoDB, and a live one
    expired, live = generate(demo), generate(demo)
    demo.run_worker()
    expire(demo, expired)

    # When the owner lists its reports, Then only the live one is there
    assert [r["id"] for r in listing(demo, HASH)[1]["list"]] == [live]

    # And status, retrieve, download and delete answer 204, as for a report that never was
    for function, extra in [
        ("StatusFunction", {}),
        ("RetrieveFunction", {}),
        ("DownloadFunction", {"format": "pdf"}),
        ("DeleteFunction", {}),
    ]:
        status, body, _ = demo.api(function, {"hash": HASH, "report_id": expired, **extra})
        assert (status, body["status"]["code"]) == (404, 204), function
    # And the live one is still served
    assert demo.api("RetrieveFunction", {"hash": HASH, "report_id": live})[1]["success"] is True


def test_an_expired_report_no_longer_holds_a_parallel_slot(demo: Lambdas) -> None:
    # Given a cap of 1 report generating, taken by a queued report whose expiry has passed
    env = {"MAX_PARALLEL_REPORTS": "1"}
    stuck = generate(demo, env)
    expire(demo, stuck)

    # When the owner asks for another report, Then it is accepted: the expired one is gone
    fresh = generate(demo, env)
    assert fresh > stuck
    assert [r["id"] for r in listing(demo, HASH)[1]["list"]] == [fresh]


def test_the_local_stack_takes_the_limits_as_parameters_checked_as_cloudformation_does(
    template: dict[str, Any],
) -> None:
    from fleet_reports.local.intrinsics import parameter_values
    from fleet_reports.local.template import TemplateError

    # Given the template's parameters, When the local stack is given a limit, Then it is used
    values = parameter_values(template, {"CallerRateLimit": "500", "MaxBodyBytes": "2048"})
    assert (values["CallerRateLimit"], values["MaxBodyBytes"], values["CallerGenerateLimit"]) == ("500", "2048", "30")

    # And a value outside the parameter's MinValue .. MaxValue is refused, as CloudFormation refuses it
    for name, value in [("CallerRateLimit", "0"), ("MaxBodyBytes", "100"), ("CallerGenerateLimit", "many")]:
        with pytest.raises(TemplateError, match=name):
            parameter_values(template, {name: value})
