"""Absurd values, by hand: each is answered with the right error code naming the parameter, in the
envelope, never a stack trace, a 5xx or a report stuck half made.

What tests/functions/test_hardening.py, test_errors.py and test_limits.py already try is not tried
again here (unparseable JSON, a gzip bomb as the body, the request limits); this file adds the
values a buggy client or an attacker sends on purpose: periods upside down or out of history,
thousands of ids, impossible weekdays, titles of every size and script, bodies that are not
UTF-8 or not Unicode at all, and uploads that are empty, binary or gzip bombs.
"""

from __future__ import annotations

import base64
import json
import tracemalloc
import zlib
from typing import Any

import boto3
import pytest

from fleet_reports.demo import DEMO_TRACKERS, OWNER_ID
from fleet_reports.demo.manifest import SAMANTHA

from tests.support.api import HASH, generate
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

TRACKER = SEED_GENERATE["trackers"][0]
EMPLOYEE = SAMANTHA  # who drives the seed's tracker
SENSOR = next(t for t in DEMO_TRACKERS if t.id == TRACKER).sensors[0].id
TRACEBACK_MARKS = ("Traceback", 'File "', "Error:", "line ")


def answer(demo: Lambdas, function: str, params: dict[str, Any], **kw: Any) -> tuple[int, dict[str, Any]]:
    """The status and the JSON body of an API function's answer, checked to be the envelope."""
    status, body, headers = demo.api(function, params, **kw)
    assert headers["content-type"].startswith("application/json"), headers
    assert isinstance(body, dict) and isinstance(body.get("success"), bool), body
    if not body["success"]:
        assert set(body["status"]) == {"code", "description"}, body
        text = json.dumps(body)
        assert not any(mark in text for mark in TRACEBACK_MARKS), body
    return status, body


def refused(demo: Lambdas, function: str, params: dict[str, Any], **kw: Any) -> tuple[int, int, list[str]]:
    """(HTTP status, error code, the parameters the answer names) of a refused request."""
    status, body = answer(demo, function, params, **kw)
    assert body["success"] is False, body
    return status, body["status"]["code"], [e["parameter"] for e in body.get("errors", [])]


def raw(demo: Lambdas, function: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Exactly these body bytes, base64 as API Gateway sends every body (BinaryMediaTypes */*)."""
    from fleet_reports.local.gateway import api_event

    path = demo.specs[function].api_routes[0][1]
    result = demo.invoke(function, api_event("POST", path, "", headers, data, "127.0.0.1"))
    return int(result["statusCode"]), json.loads(result["body"])


# ============================================================================ the period


@pytest.mark.parametrize(
    ("period", "parameter"),
    [
        ({"from": "2020-10-06 12:00:00", "to": "2020-10-05 12:00:00"}, "to"),  # to before from
        ({"from": "2020-10-06 12:00:00", "to": "2020-10-06 12:00:00"}, "to"),  # an empty period
        ({"from": "1900-01-01 00:00:00", "to": "2020-10-06 00:00:00"}, "from"),  # before any GPS
        ({"from": "2020-10-06 00:00:00", "to": "9999-12-31 23:59:59"}, "to"),  # the end of the calendar
        ({"from": "1900-01-01 00:00:00", "to": "1900-01-02 00:00:00"}, "from,to"),  # both named
        ({"from": "9999-12-30 00:00:00", "to": "9999-12-31 00:00:00"}, "from,to"),
        ({"from": "2020-02-30 00:00:00", "to": "2020-03-01 00:00:00"}, "from"),  # no such day
        ({"from": "2020-10-06 24:00:00", "to": "2020-10-07 00:00:00"}, "from"),  # no such hour
        ({"from": "0000-00-00 00:00:00", "to": "2020-10-07 00:00:00"}, "from"),
        ({"from": "2020-10-06T00:00:00+03:00", "to": "2020-10-05T00:00:00+03:00", "iso_datetime": True}, "to"),
        ({"from": "1900-01-01T00:00:00Z", "to": "2020-10-05T00:00:00Z", "iso_datetime": True}, "from"),
        ({"from": "2020-10-05T00:00:00Z", "to": "9999-12-31T23:59:59Z", "iso_datetime": True}, "to"),
        ({"from": "2020-10-05T00:00:00+25:00", "to": "2020-10-06T00:00:00Z", "iso_datetime": True}, "from"),
    ],
    ids=lambda v: "-".join(str(x)[:10] for x in v.values()) if isinstance(v, dict) else v,
)
def test_a_period_out_of_order_or_out_of_history_names_its_end(
    demo: Lambdas, period: dict[str, Any], parameter: str
) -> None:
    # Given the seed request with a period upside down, empty, in 1900 or 9999, or of no calendar
    # When it is sent
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, **period})
    # Then 7 names the end that is wrong, or both (not 211, not a 5xx from a date overflow)
    assert (status, code, named) == (400, 7, parameter.split(","))


# ============================================================================ thousands of ids


def test_ten_thousand_trackers_are_refused_before_one_is_looked_up(demo: Lambdas, monkeypatch: Any) -> None:
    # Given 10,000 tracker ids, none of them in the fleet, and a store that counts its lookups
    from fleet_reports.store import fleet

    looked_up: list[int] = []
    real = fleet.get_trackers
    monkeypatch.setattr(fleet, "get_trackers", lambda ids: looked_up.extend(ids) or real(ids))
    trackers = list(range(10_000_001, 10_010_001))

    # When a report of them is asked for
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, "trackers": trackers})

    # Then 7 names trackers (the limit, not 217 for the unknown ids), and none was looked up
    assert (status, code, named) == (400, 7, ["trackers"])
    assert looked_up == []


def test_ten_thousand_copies_of_one_tracker_are_one_tracker(demo: Lambdas) -> None:
    # Given the seed's tracker 10,000 times
    # When a report of them is generated, Then it is accepted and covers the tracker once
    report_id = generate(demo, trackers=[TRACKER] * 10_000)
    _, body = answer(demo, "ListFunction", {"hash": HASH})
    (item,) = [r for r in body["list"] if r["id"] == report_id]
    assert item["parameters"]["trackers"] == [TRACKER]


@pytest.mark.parametrize(
    ("extra", "stored"),
    [
        ({"employees": [EMPLOYEE] * 10_000}, lambda item: item["parameters"].get("employees", [EMPLOYEE])),
        (
            {"plugin": {"plugin_id": 8, "zone_ids": [1] * 10_000}},
            lambda item: item["parameters"]["plugins"][0]["zone_ids"],
        ),
        (
            {"plugin": {"plugin_id": 9, "sensors": [{"tracker_id": TRACKER, "sensor_id": SENSOR}] * 10_000}},
            lambda item: item["parameters"]["plugins"][0]["sensors"],
        ),
    ],
    ids=["employees", "zones", "sensors"],
)
def test_ten_thousand_copies_of_an_employee_zone_or_sensor_are_one(
    demo: Lambdas, monkeypatch: Any, extra: dict[str, Any], stored: Any
) -> None:
    # Given 10,000 copies of one employee, zone or sensor of the fleet, and a store that counts the
    # employees it looks up
    from fleet_reports.store import fleet

    looked_up: list[int] = []
    real = fleet.known_employee_ids
    monkeypatch.setattr(fleet, "known_employee_ids", lambda owner, ids: looked_up.extend(ids) or real(owner, ids))

    # When a report is asked for with them
    report_id = generate(demo, **extra)

    # Then it is accepted, the entity was looked up once at most, and the report keeps it once
    # (10,000 copies would make a report too large to store: a 5xx)
    assert len(looked_up) <= 1
    _, body = answer(demo, "ListFunction", {"hash": HASH})
    (item,) = [r for r in body["list"] if r["id"] == report_id]
    assert len(stored(item)) == 1, stored(item)


def test_a_thousand_unknown_employees_are_one_batched_look_up(demo: Lambdas, monkeypatch: Any) -> None:
    # Given 1,000 employee ids the owner does not have (the most a request may name), and a store
    # that counts its batch reads
    from fleet_reports.store import fleet

    batches: list[int] = []
    real = fleet._batch_get
    monkeypatch.setattr(fleet, "_batch_get", lambda keys, *a: batches.append(len(keys)) or real(keys, *a))

    # When a report naming them is asked for
    status, code, _ = refused(demo, "GenerateFunction", {**SEED_GENERATE, "employees": list(range(1, 1_001))})

    # Then they are nonexistent entities (217), found so in one batched look-up of the 1,000 ids
    # (BatchGetItem, 100 keys a call) after the caller's own (its user, authenticating) and the
    # tracker's, never one read each
    assert (status, code) == (400, 217)
    assert batches == [1, 1, 1_000]


@pytest.mark.parametrize(
    ("trackers", "parameter"),
    [
        ([0], "trackers"),
        ([-1], "trackers"),
        (["669673x"], "trackers[0]"),
        ([1.5], "trackers[0]"),
        ([True], "trackers[0]"),
        ([[669673]], "trackers[0]"),
        ({"0": 669673}, "trackers"),
    ],
)
def test_tracker_ids_that_are_no_ids_are_named(demo: Lambdas, trackers: Any, parameter: str) -> None:
    # Given a tracker "id" that is zero, negative, text, fractional, boolean, nested or astronomical
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, "trackers": trackers})
    # Then 7 names it
    assert (status, code) == (400, 7)
    assert named == [parameter]


# ============================================================================ weekdays, times, plugin


@pytest.mark.parametrize(
    "weekdays",
    [[0], [8], [0, 8], [], [1, 2, 3, 4, 5, 6, 7, 1], [-1], [10**12], ["monday"], "1234567", None],
)
def test_weekdays_outside_1_to_7_are_named(demo: Lambdas, weekdays: Any) -> None:
    # Given a time filter whose weekdays are 0, 8, none, eight of them, negative, text or null
    time_filter = {"from": "00:00", "to": "23:59", "weekdays": weekdays}
    # When a report is asked for
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, "time_filter": time_filter})
    # Then 7 names the weekdays (or one of them)
    assert (status, code) == (400, 7)
    assert named and all(n.startswith("time_filter.weekdays") for n in named), named


@pytest.mark.parametrize(
    ("plugin", "parameter"),
    [
        ({"plugin_id": "99999999999"}, "plugin.plugin_id"),
        ({"plugin_id": True}, "plugin.plugin_id"),
        ({"plugin_id": None}, "plugin.plugin_id"),
        ("4", "plugin"),
        ({"plugin_id": 27, "max_speed": 10**9}, "plugin.max_speed"),
        ({"plugin_id": 27, "min_duration_minutes": float("1e308")}, "plugin.min_duration_minutes"),
        ({"plugin_id": 9, "details_interval_seconds": -5, "sensors": [{"tracker_id": 1, "sensor_id": 1}]}, None),
    ],
)
def test_absurd_plugin_options_are_named(demo: Lambdas, plugin: Any, parameter: str | None) -> None:
    # Given a plugin id that is no id, or an option far out of its range
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, "plugin": plugin})
    # Then 7 names it
    assert (status, code) == (400, 7)
    assert named == [parameter or "plugin.details_interval_seconds"]


def test_an_astronomical_tracker_id_is_named(demo: Lambdas) -> None:
    # Given a tracker id of 41 digits (more than DynamoDB's numbers hold, and than any id: fleet_reports.ids)
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, "trackers": [10**40]})
    # Then 7 names the trackers before the id reaches a key, never a crash
    assert (status, code, named) == (400, 7, ["trackers"])


def test_an_astronomical_plugin_id_is_named(demo: Lambdas) -> None:
    # Given a plugin id far beyond any plugin id (32 bits, as Navixy's), as a number
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, "plugin": {"plugin_id": 2**70}})
    # Then 7 names it, not a crash
    assert (status, code, named) == (400, 7, ["plugin.plugin_id"])


@pytest.mark.parametrize("report_id", [0, -1, "1e3", 1.5, True, "", "١٢٣", 2**63, 10**40])
def test_report_ids_that_are_no_ids_are_named_or_unknown(demo: Lambdas, report_id: Any) -> None:
    # Given a report id that is zero, negative, text, fractional, boolean, empty, in Arabic digits or huge
    status, code, named = refused(demo, "StatusFunction", {"hash": HASH, "report_id": report_id})
    # Then it is named (7) when it is no positive integer, else simply unknown (204)
    assert (status, code, named) in ((400, 7, ["report_id"]), (404, 204, []))


# ============================================================================ titles


@pytest.mark.parametrize("length", [257, 100_000])
def test_a_title_too_long_is_named(demo: Lambdas, length: int) -> None:
    # Given a title of more than 256 characters (under the body limit)
    status, code, named = refused(demo, "GenerateFunction", {**SEED_GENERATE, "title": "T" * length})
    # Then 7 names the title
    assert (status, code, named) == (400, 7, ["title"])


def test_a_title_over_the_body_limit_is_too_large(demo: Lambdas) -> None:
    # Given a title of 2 MiB: the body is over the 1 MiB limit
    status, code, _ = refused(demo, "GenerateFunction", {**SEED_GENERATE, "title": "T" * (2 << 20)})
    # Then 9, before the JSON is even read
    assert (status, code) == (412, 9)


def test_a_title_in_every_script_and_control_character_makes_a_whole_report(demo: Lambdas) -> None:
    # Given a title of 256 characters of scripts, emoji, right-to-left marks, zero-width joiners and
    # control characters (NUL, bell, line breaks)
    title = ("Отчёт 報告 تقرير 🚚\u200d🔥\u202e\x00\x07\r\n\t" * 20)[:256]
    assert len(title) == 256

    # When a report with it is generated and the worker computes it
    report_id = generate(demo, title=title)
    demo.run_worker()

    # Then the report is done: its title kept as given, and its six files rendered
    status, body = answer(demo, "StatusFunction", {"hash": HASH, "report_id": report_id})
    assert (status, body["state"], body["percent_ready"]) == (200, "done", 100), body
    _, body = answer(demo, "RetrieveFunction", {"hash": HASH, "report_id": report_id})
    assert body["report"]["title"] == title
    for fmt in ("pdf", "xlsx", "xls"):
        status, data, headers = demo.api("DownloadFunction", {"hash": HASH, "report_id": report_id, "format": fmt})
        assert status == 200 and len(data) > 1000, (fmt, headers)


# ============================================================================ bodies that are no Unicode text


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b'{"title": "\xff\xfe"}', "application/json"),  # not UTF-8
        ('{"title": "x"}'.encode("utf-16"), "application/json"),  # UTF-16 with its byte order mark
        ('{"title": "Ελληνικά"}'.encode("iso-8859-7"), "application/json"),  # a legacy code page
        ("title=Отчёт".encode("cp1251"), "application/x-www-form-urlencoded"),
        (b"\x00" * 64, "application/octet-stream"),
        (bytes(range(256)) * 4, "application/json"),  # binary
    ],
    ids=["latin-garbage", "utf-16", "iso-8859-7", "cp1251-form", "nul-bytes", "binary"],
)
def test_a_body_that_is_not_utf8_is_a_format_error(demo: Lambdas, data: bytes, content_type: str) -> None:
    # Given a body whose bytes are not UTF-8 text
    # When it is posted
    status, body = raw(demo, "GenerateFunction", data, {"Content-Type": content_type})
    # Then 5 says so, in the envelope
    assert (status, body["status"]["code"]) == (400, 5), body
    assert body["status"]["description"].startswith("Wrong request format"), body


@pytest.mark.parametrize(
    ("member", "parameter"),
    [("title", "title"), ("geocoder", "geocoder"), ("from", "from"), ("login", "login")],
)
def test_a_lone_surrogate_is_named_not_stored(demo: Lambdas, member: str, parameter: str) -> None:
    # Given a JSON body whose string holds a lone surrogate (valid JSON syntax, no Unicode text:
    # it cannot be stored, rendered or answered as UTF-8)
    function = "AuthFunction" if member == "login" else "GenerateFunction"
    params = {"login": "x", "password": "y"} if member == "login" else {**SEED_GENERATE, "hash": HASH}
    text = json.dumps({**params, member: "REPLACE"}).replace('"REPLACE"', '"Trip \\ud800 report"')

    # When it is posted
    status, body = raw(demo, function, text.encode(), {"Content-Type": "application/json"})

    # Then 7 names the parameter, and no report was made of it
    assert (status, body["status"]["code"]) == (400, 7), body
    assert [e["parameter"] for e in body["errors"]] == [parameter]
    _, listed = answer(demo, "ListFunction", {"hash": HASH})
    assert listed["list"] == []


def test_a_lone_surrogate_in_the_query_string_is_named(demo: Lambdas) -> None:
    # Given a GET whose query string decodes to a lone surrogate in the title
    from fleet_reports.local.gateway import api_event

    event = api_event("GET", "/report/tracker/generate", "", {}, b"", "127.0.0.1")
    query = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in SEED_GENERATE.items()}
    event["queryStringParameters"] = {**query, "hash": HASH, "title": "Trip \ud800 report"}
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in event["queryStringParameters"].items()}

    # When it is sent
    result = demo.invoke("GenerateFunction", event)

    # Then 7 names the title
    body = json.loads(result["body"])
    assert (result["statusCode"], body["status"]["code"], [e["parameter"] for e in body["errors"]]) == (
        400,
        7,
        ["title"],
    )


def test_a_gzip_body_that_inflates_to_gigabytes_is_never_inflated_past_the_limit(demo: Lambdas) -> None:
    # Given 1 GiB of zeros gzip'd (as 16 gzip members of 64 MiB, about 1 MiB sent), on the generate path
    member = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    one = member.compress(b"\0" * (64 << 20)) + member.flush()
    bomb = one * 16
    assert len(bomb) < 1 << 20

    # When it is posted with Content-Encoding: gzip, memory traced
    tracemalloc.start()
    try:
        status, body = raw(
            demo, "GenerateFunction", bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    # Then it is refused (9 or 5) having inflated at most about the 1 MiB limit, not a gigabyte
    assert (status, body["status"]["code"]) in ((412, 9), (400, 5)), body
    assert peak < 32 << 20, peak


# ============================================================================ uploads that are no tracks


class Uploads:
    """Files put in the track bucket's incoming/ and the import function invoked as S3 invokes it."""

    def __init__(self, lambdas: Lambdas) -> None:
        self.lambdas = lambdas
        self.bucket = lambdas.resources.names["TrackBucket"]

    def run(self, name: str, data: bytes, tracker: int = TRACKER) -> dict[str, Any]:
        key = f"incoming/{tracker}/{name}"
        boto3.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        record = {
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": self.bucket}, "object": {"key": key.replace(" ", "+"), "size": len(data)}},
        }
        result = self.lambdas.invoke("ImportFunction", {"Records": [record]})
        (summary,) = result["imports"]
        outcome = boto3.client("s3").get_object(Bucket=self.bucket, Key=f"outcomes/{tracker}/{name}.json")
        stored: dict[str, Any] = json.loads(outcome["Body"].read())
        assert stored["state"] == summary["state"]
        return stored

    def tracks(self) -> list[str]:
        listed = boto3.client("s3").list_objects_v2(Bucket=self.bucket, Prefix="tracks/")
        return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def uploads(lambdas: Lambdas) -> Uploads:
    from fleet_reports import demo as demo_fleet

    lambdas.use_env("WorkerFunction")
    demo_fleet.load_fleet()
    return Uploads(lambdas)


def _gzip_bomb(members: int) -> bytes:
    """``members`` gzip members of 64 MiB of zeros each (about 64 KiB each)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return (deflater.compress(b"\0" * (64 << 20)) + deflater.flush()) * members


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.csv", b"", "empty"),
        ("empty.csv.gz", b"", "gzip"),
        ("empty.gpx", b"", ""),
        ("binary.csv", bytes(range(256)) * 64, "UTF-8"),
        ("binary.ndjson", b"\x89PNG\r\n\x1a\n" + bytes(4096), "UTF-8"),
        ("nul.csv", b"\x00" * 4096, ""),
        ("not-gzip.csv.gz", b"time,lat,lng\n", "gzip"),
        ("truncated.csv.gz", base64.b64decode("H4sIAAAAAAAA/ytJzMlR0E9OzNEryclMTQEA"), "gzip"),
        ("image.gpx", b"\xff\xd8\xff\xe0" + bytes(2048), ""),
        ("one-line.csv", b"time,lat,lng" + b"," * 200_000, "header"),
        ("huge-field.csv", b"time,lat,lng\n" + b"x" * 200_000 + b"\n", ""),
        ("xml-bomb.gpx", b'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "' + b"a" * 1000 + b'">]><gpx>&a;</gpx>', ""),
    ],
)
def test_an_empty_or_binary_upload_fails_with_its_reason(uploads: Uploads, name: str, data: bytes, reason: str) -> None:
    # Given an upload of no bytes, of binary bytes, or of gzip that is not gzip
    # When S3 invokes the import for it
    outcome = uploads.run(name, data)

    # Then the import failed or kept nothing, said why, and wrote no track: never a crash that
    # Lambda would retry
    assert outcome["state"] == "failed" or outcome.get("accepted", 0) == 0, outcome
    if outcome["state"] == "failed":
        assert reason.lower() in outcome["error"].lower(), outcome
        assert not any(mark in outcome["error"] for mark in TRACEBACK_MARKS[:2]), outcome
    assert uploads.tracks() == []


def test_an_upload_that_inflates_to_gigabytes_is_refused_without_inflating_it(uploads: Uploads) -> None:
    # Given a .csv.gz of about 1 MiB that inflates to 1 GiB of zeros
    bomb = _gzip_bomb(16)
    assert len(bomb) < 1 << 20

    # When S3 invokes the import for it, memory traced
    tracemalloc.start()
    try:
        outcome = uploads.run("bomb.csv.gz", bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    # Then it failed, saying it is too large once decompressed, having held far less than a gigabyte
    assert outcome["state"] == "failed" and "decompressed" in outcome["error"], outcome
    assert peak < 600 << 20, peak
    assert uploads.tracks() == []


def test_no_absurd_request_left_a_report_generating(demo: Lambdas) -> None:
    # Given a run of absurd requests of every kind
    for extra in (
        {"from": "9999-12-30 00:00:00", "to": "9999-12-31 00:00:00"},
        {"trackers": list(range(1, 10_001))},
        {"time_filter": {"weekdays": [0, 8]}},
        {"title": "T" * 257},
        {"plugin": {"plugin_id": 2**70}},
    ):
        refused(demo, "GenerateFunction", {**SEED_GENERATE, **extra})

    # When the owner then asks for as many reports as may generate at once
    ids = [generate(demo) for _ in range(5)]

    # Then each is accepted: no refused request took one of the owner's parallel slots
    assert len(set(ids)) == 5
    assert OWNER_ID
