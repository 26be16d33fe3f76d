"""Issue #18, requests: unbounded lists, ids of thousands of digits and lenient dates, each refused
with 7 naming its parameter before it costs a look-up or reaches a DynamoDB key, the fleet's data
and the owner's other reports untouched beside it.

tests/functions/test_absurd_input.py covers copies of one id (folded) and absurd values of other
kinds; tests/unit/test_strict_parsing.py the parsers themselves. Time and memory of the same
requests are measured by bench/bench_hostile_requests.py, not here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fleet_reports.demo import DEMO_TRACKERS
from fleet_reports.demo.manifest import SAMANTHA
from fleet_reports.engine.catalog import MAX_SENSORS_PER_REPORT, MAX_ZONES_PER_REPORT
from fleet_reports.ids import MAX_ID
from fleet_reports.service.models import MAX_EMPLOYEES_PER_REPORT

from tests.support.api import HASH, generate
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

TRACKER = SEED_GENERATE["trackers"][0]
SENSOR = next(t for t in DEMO_TRACKERS if t.id == TRACKER).sensors[0].id
ZONE = 7  # one of the demo owner's zones (1 to 7)
HUGE = "9" * 4300  # the longest integer Python's JSON reader converts
REPORT_FUNCTIONS = ("StatusFunction", "RetrieveFunction", "DownloadFunction", "DeleteFunction")


def refused(demo: Lambdas, function: str, body: str) -> tuple[int, int, list[str]]:
    """(HTTP status, error code, the parameters named) of a refused request, checked to be the envelope."""
    status, answer, headers = demo.api(function, body=body, headers={"Authorization": f"NVX {HASH}"})
    assert headers["content-type"].startswith("application/json"), headers
    assert answer["success"] is False, answer
    return status, answer["status"]["code"], [e["parameter"] for e in answer.get("errors", [])]


def seed_body(**overrides: Any) -> str:
    return json.dumps({**SEED_GENERATE, **overrides}, separators=(",", ":"))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of keys of each batched fleet read (trackers, employees, zones, tariffs); not
    the caller's own authentication (its user and master, read together)."""
    from fleet_reports.store import fleet

    counted: list[int] = []
    real = fleet._batch_get

    def count(keys: list[tuple[str, str]], *args: Any) -> list[dict[str, Any]]:
        if any(sk != "PROFILE" for _, sk in keys):
            counted.append(len(keys))
        return real(keys, *args)

    monkeypatch.setattr(fleet, "_batch_get", count)
    yield counted


def listed_ids(demo: Lambdas) -> list[int]:
    _, body, _ = demo.api("ListFunction", {"hash": HASH})
    return [int(r["id"]) for r in body["list"]]


# ============================================================================ unbounded lists (item 6)


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"employees": list(range(1, 50_002))}, "employees"),
        ({"employees": list(range(1, MAX_EMPLOYEES_PER_REPORT + 2))}, "employees"),
        (
            {
                "plugin": {
                    "plugin_id": 9,
                    "sensors": [{"tracker_id": TRACKER, "sensor_id": i} for i in range(1, 20_001)],
                }
            },
            "plugin.sensors",
        ),
        (
            {
                "plugin": {
                    "plugin_id": 9,
                    "sensors": [{"tracker_id": TRACKER, "sensor_id": i} for i in range(1, MAX_SENSORS_PER_REPORT + 2)],
                }
            },
            "plugin.sensors",
        ),
        ({"plugin": {"plugin_id": 8, "zone_ids": list(range(1, 150_001))}}, "plugin.zone_ids"),
        ({"plugin": {"plugin_id": 8, "zone_ids": list(range(1, MAX_ZONES_PER_REPORT + 2))}}, "plugin.zone_ids"),
    ],
    ids=["employees-50001", "employees-limit+1", "sensors-20000", "sensors-limit+1", "zones-150000", "zones-limit+1"],
)
def test_a_list_over_its_limit_is_named_before_any_look_up(
    demo: Lambdas, reads: list[int], overrides: dict[str, Any], parameter: str
) -> None:
    # Given a report the owner already has, and a request whose list has more distinct ids than
    # its limit allows (the body under the 1 MiB limit)
    kept = generate(demo)
    reads.clear()
    body = seed_body(**overrides)
    assert len(body) < 1 << 20

    # When it is sent
    status, code, named = refused(demo, "GenerateFunction", body)

    # Then 7 names the list, nothing was looked up, nothing stored, and the owner's report and
    # the fleet answer as before: a good request right after is accepted
    assert (status, code, named) == (400, 7, [parameter])
    assert reads == []
    assert listed_ids(demo) == [kept]
    again = generate(demo)
    assert listed_ids(demo) == [again, kept]


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"trackers": ["x"] * 200_000}, "trackers[0]"),
        ({"employees": [True] * 200_000}, "employees[0]"),
        ({"plugin": {"plugin_id": 8, "zone_ids": ["x"] * 150_000}}, "plugin.zone_ids[0]"),
        ({"plugin": {"plugin_id": 9, "sensors": [{"tracker_id": "x", "sensor_id": 1}] * 30_000}}, None),
    ],
    ids=["trackers", "employees", "zones", "sensors"],
)
def test_a_list_of_bad_ids_is_named_once_not_per_element(
    demo: Lambdas, overrides: dict[str, Any], parameter: str | None
) -> None:
    # Given a list of hundreds of thousands of elements, each of them no id (under the 1 MiB limit)
    body = seed_body(**overrides)
    assert len(body) < 1 << 20

    # When it is sent
    status, answer, _ = demo.api("GenerateFunction", body=body)

    # Then 7 names its first bad element only: an answer of bytes, not one error per element (tens
    # of megabytes, over Lambda's 6 MB response)
    assert (status, answer["status"]["code"]) == (400, 7), answer
    assert [e["parameter"] for e in answer["errors"]] == [parameter or "plugin.sensors[0].tracker_id"]
    assert len(json.dumps(answer)) < 1000


def test_lists_at_their_limits_cost_one_batched_read_each(demo: Lambdas, reads: list[int]) -> None:
    # Given a request with as many distinct employees as allowed: the owner's Samantha, then ids
    # the owner does not have
    employees = [SAMANTHA, *range(1_000_001, 1_000_000 + MAX_EMPLOYEES_PER_REPORT)]
    assert len(employees) == MAX_EMPLOYEES_PER_REPORT

    # When it is sent
    status, code, _ = refused(demo, "GenerateFunction", seed_body(employees=employees))

    # Then the unknown ones are nonexistent entities (217), found in one batched read of the
    # employees (BatchGetItem, 100 keys a call) after the one of the tracker
    assert (status, code) == (400, 217)
    assert reads == [1, MAX_EMPLOYEES_PER_REPORT]


def test_zone_ids_at_their_limit_are_checked_in_one_batched_read(demo: Lambdas, reads: list[int]) -> None:
    # Given a geofence report naming as many distinct zones as allowed, one of them the owner's
    zone_ids = [ZONE, *range(1_000_001, 1_000_000 + MAX_ZONES_PER_REPORT)]

    # When it is sent
    status, code, _ = refused(demo, "GenerateFunction", seed_body(plugin={"plugin_id": 8, "zone_ids": zone_ids}))

    # Then 217, from one batched read of the zone ids (not of every zone the owner has)
    assert (status, code) == (400, 217)
    assert reads == [1, MAX_ZONES_PER_REPORT]


def test_the_largest_request_the_limits_allow_fits_a_report_record(demo: Lambdas) -> None:
    # Given the largest request the default limits allow: 200 trackers and 1,000 employees of the
    # longest ids, a sensor report of 1,000 sensors of the longest ids on those trackers, and a
    # title and geocoder of the widest characters
    from fleet_reports.settings import get_settings

    demo.use_env("GenerateFunction")
    trackers = [MAX_ID - i for i in range(get_settings().max_trackers_per_report)]
    sensors = [{"tracker_id": trackers[i % len(trackers)], "sensor_id": MAX_ID - i} for i in range(1000)]
    body = seed_body(
        title="🚚" * 256,
        geocoder="🚚" * 64,
        trackers=trackers,
        employees=[MAX_ID - i for i in range(MAX_EMPLOYEES_PER_REPORT)],
        plugin={"plugin_id": 9, "sensors": sensors},
    )

    # When it is sent
    status, code, named = refused(demo, "GenerateFunction", body)

    # Then it passes every parameter check, its size included, and fails only on its unknown
    # trackers (217): no request within the limits makes a record too large to store
    assert (status, code, named) == (400, 217, [])


def test_a_report_too_large_to_store_is_named_before_the_write(demo: Lambdas, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployment whose MaxTrackersPerReport is raised far beyond its default, and a request
    # of 12,000 trackers of the longest ids (about 130 KB in the record, over what a report may store)
    from fleet_reports.service import reports
    from fleet_reports.store import fleet

    looked_up: list[int] = []
    monkeypatch.setattr(fleet, "get_trackers", lambda ids: looked_up.extend(ids) or {})
    body = seed_body(trackers=[MAX_ID - i for i in range(12_000)])

    # When it is sent
    status, answer, _ = demo.api("GenerateFunction", body=body, MAX_TRACKERS_PER_REPORT="20000")

    # Then 7 names the trackers with the size, before any tracker was looked up or anything stored
    assert (status, answer["status"]["code"]) == (400, 7), answer
    ((error),) = answer["errors"]
    assert error["parameter"] == "trackers"
    assert str(reports.STORED_REQUEST_MAX_BYTES) in error["error"]
    assert looked_up == []
    assert listed_ids(demo) == []


def test_the_stored_size_names_the_parameter_taking_the_most_room(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store that allows a report only 2,000 bytes of request, and a request whose
    # employees take the most room in it
    from fleet_reports.service import reports

    monkeypatch.setattr(reports, "STORED_REQUEST_MAX_BYTES", 2_000)
    body = seed_body(employees=[MAX_ID - i for i in range(300)])

    # When it is sent
    status, code, named = refused(demo, "GenerateFunction", body)

    # Then 7 names the employees, nothing is stored, and no parallel slot was taken
    assert (status, code, named) == (400, 7, ["employees"])
    monkeypatch.undo()
    assert listed_ids(demo) == []
    assert len({generate(demo) for _ in range(5)}) == 5  # MaxParallelReports (5) still free


# ============================================================================ ids of thousands of digits (item 7)


@pytest.mark.parametrize("function", REPORT_FUNCTIONS)
@pytest.mark.parametrize(
    "report_id", [HUGE, f'"{HUGE}"', str(MAX_ID + 1), "0", '"٤"', '"４"', '"1_000"'], ids=lambda v: v[:8]
)
def test_a_report_id_beyond_any_id_is_named(demo: Lambdas, function: str, report_id: str) -> None:
    # Given the owner's report, and a report id of 4,300 digits, just beyond the largest id, zero,
    # or in other digits than 0-9
    kept = generate(demo)
    extra = ',"format":"pdf"' if function == "DownloadFunction" else ""

    # When status, retrieve, download or delete is asked of it
    status, code, named = refused(demo, function, '{"report_id":' + report_id + extra + "}")

    # Then 7 names report_id (never a 500 from a key AWS refuses), and the owner's report is still there
    assert (status, code, named) == (400, 7, ["report_id"])
    assert listed_ids(demo) == [kept]


def test_a_report_id_beyond_any_id_in_the_query_string_is_named(demo: Lambdas) -> None:
    # Given a GET status whose report_id is 4,300 digits
    status, answer, _ = demo.api("StatusFunction", method="GET", query=f"hash={HASH}&report_id={HUGE}")
    # Then 7 names it
    assert (status, answer["status"]["code"], [e["parameter"] for e in answer["errors"]]) == (400, 7, ["report_id"])


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"trackers": ["HUGE"]}, "trackers"),
        ({"trackers": [MAX_ID + 1]}, "trackers"),
        ({"employees": ["HUGE"]}, "employees"),
        ({"plugin": {"plugin_id": 8, "zone_ids": ["HUGE"]}}, "plugin.zone_ids"),
        (
            {"plugin": {"plugin_id": 9, "sensors": [{"tracker_id": TRACKER, "sensor_id": "HUGE"}]}},
            "plugin.sensors[0].sensor_id",
        ),
        (
            {"plugin": {"plugin_id": 9, "sensors": [{"tracker_id": "HUGE", "sensor_id": SENSOR}]}},
            "plugin.sensors[0].tracker_id",
        ),
        ({"plugin": {"plugin_id": "HUGE"}}, "plugin.plugin_id"),
        ({"plugin": {"plugin_id": 2**31}}, "plugin.plugin_id"),
    ],
    ids=["tracker", "tracker-max+1", "employee", "zone", "sensor", "sensor-tracker", "plugin", "plugin-2^31"],
)
def test_an_id_beyond_any_id_in_generate_is_named_and_never_a_key(
    demo: Lambdas, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any], parameter: str
) -> None:
    # Given the seed request with one id of 4,300 digits (a JSON number, "HUGE" below) or one past
    # the largest, and every call to AWS recorded
    import botocore.client

    calls: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append(json.dumps(params, default=str))
        return real(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    body = seed_body(**overrides).replace('"HUGE"', HUGE)

    # When it is sent
    status, code, named = refused(demo, "GenerateFunction", body)

    # Then 7 names it, and no call to AWS carried it
    assert (status, code, named) == (400, 7, [parameter])
    assert not any("9" * 17 in c or str(MAX_ID + 1) in c for c in calls)


# ============================================================================ lenient parsing (item 10)


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"from": "２０２０-10-05 00:00:00"}, "from"),  # full-width digits
        ({"to": "2020-10-06 23:59:5٩"}, "to"),  # an Arabic-Indic digit
        ({"from": "2020-10-5 0:00:00"}, "from"),  # not yyyy-MM-dd HH:mm:ss
        ({"from": "2020-10-05T00:00:00+03:00"}, "from"),  # ISO without ISO mode
        ({"from": "2020-W41-1T00:00:00+03:00", "to": "2020-10-06T23:59:59+03:00", "iso_datetime": True}, "from"),
        ({"from": "2020-279T00:00:00+03:00", "to": "2020-10-06T23:59:59+03:00", "iso_datetime": True}, "from"),
        ({"from": "2020-10-05T00:00:00", "to": "2020-10-06T23:59:59+03:00", "iso_datetime": True}, "from"),
        ({"from": "2020-10-05T00:00:00+03:00", "to": "2020-10-06", "iso_datetime": True}, "to"),
        ({"from": "2020-10-05 00:00:00", "to": "2020-10-06T23:59:59+03:00", "iso_datetime": True}, "from"),
        ({"from": "２０２０-10-05T00:00:00+03:00", "to": "2020-10-06T23:59:59Z", "iso_datetime": True}, "from"),
        ({"plugin": {"plugin_id": "٤"}}, "plugin.plugin_id"),
        ({"plugin": {"plugin_id": "４"}}, "plugin.plugin_id"),
        ({"plugin": {"plugin_id": "²"}}, "plugin.plugin_id"),
        ({"plugin": {"plugin_id": "+4"}}, "plugin.plugin_id"),
        ({"trackers": ["٦٦٩٦٧٣"]}, "trackers[0]"),
        ({"time_filter": {"from": "０8:00", "to": "18:00"}}, "time_filter.from"),
    ],
    ids=lambda v: json.dumps(v, ensure_ascii=False)[:48] if isinstance(v, dict) else v,
)
def test_a_lenient_date_or_number_is_named(demo: Lambdas, overrides: dict[str, Any], parameter: str) -> None:
    # Given the seed request with a date or number in other digits than 0-9, an ISO week or ordinal
    # date, an ISO time without an offset, or a date in the other mode's form
    # When it is sent
    status, code, named = refused(demo, "GenerateFunction", seed_body(**overrides))
    # Then 7 names it, and nothing is stored
    assert (status, code, named) == (400, 7, [parameter])
    assert listed_ids(demo) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"plugin": {**SEED_GENERATE["plugin"], "plugin_id": "4"}},
        {"from": "2020-10-05T00:00:00+03:00", "to": "2020-10-06T23:59:59+03:00", "iso_datetime": True},
        {"from": "2020-10-04T21:00:00Z", "to": "2020-10-06T20:59:59Z", "iso_datetime": True},
        {"from": "2020-10-04T22:00:00+0100", "to": "2020-10-06T21:59:59.000+01:00", "iso_datetime": True},
    ],
    ids=["wire", "plugin-id-text", "iso-offset", "iso-z", "iso-basic-offset-and-fraction"],
)
def test_every_documented_form_is_still_accepted(demo: Lambdas, overrides: dict[str, Any]) -> None:
    # Given the seed request's period written in each documented form (the user's zone: Moscow)
    # When it is generated
    report_id = generate(demo, **overrides)
    # Then it is the same period: 2020-10-05 00:00:00 to 2020-10-06 23:59:59 in the user's zone
    _, body, _ = demo.api("ListFunction", {"hash": HASH})
    (item,) = [r for r in body["list"] if r["id"] == report_id]
    assert (item["from"], item["to"]) == ("2020-10-05 00:00:00", "2020-10-06 23:59:59")
    assert item["parameters"]["plugins"][0]["plugin_id"] == 4
