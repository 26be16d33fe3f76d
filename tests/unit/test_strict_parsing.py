"""The parsers of the request's dates, ids and lists read only what the documentation says
(issue #18, items 7 and 10), and the store's item size estimate never undercounts.

Documented (docs/api.md, Transport): dates ``yyyy-MM-dd HH:mm:ss`` in the user's zone; in ISO mode
ISO 8601 with an offset (Navixy's ``yyyy-MM-dd'T'HH:mm:ssZZ``); ids whole numbers, as numbers or
(GET and form requests) strings of the digits 0-9.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from fleet_reports.errors import ApiError, validate
from fleet_reports.ids import MAX_ID, MAX_PLUGIN_ID
from fleet_reports.service.models import MAX_EMPLOYEES_PER_REPORT, GenerateParams, ReportIdParams
from fleet_reports.service.times import parse_wire

MOSCOW = "Europe/Moscow"
BASE = {"from": "2020-10-05 00:00:00", "to": "2020-10-06 23:59:59", "trackers": [669673], "plugin": {"plugin_id": 4}}


def named(model: Any, params: dict[str, Any]) -> list[str]:
    """The parameters a validation names (none when it passes)."""
    try:
        validate(model, params)
    except ApiError as exc:
        assert int(exc.code) == 7
        return [e["parameter"] for e in exc.errors or []]
    return []


# ============================================================================ dates


@pytest.mark.parametrize(
    ("text", "iso", "expected"),
    [
        ("2020-10-05 00:00:00", False, datetime(2020, 10, 5, tzinfo=timezone(timedelta(hours=3)))),
        ("2020-10-05T00:00:00+03:00", True, datetime(2020, 10, 5, tzinfo=timezone(timedelta(hours=3)))),
        ("2020-10-04T21:00:00Z", True, datetime(2020, 10, 4, 21, tzinfo=UTC)),
        ("2020-10-05T00:00:00+0300", True, datetime(2020, 10, 5, tzinfo=timezone(timedelta(hours=3)))),
        ("2020-10-05T00:00+03", True, datetime(2020, 10, 5, tzinfo=timezone(timedelta(hours=3)))),
        ("2020-10-04T22:00:00.250-01:00", True, datetime(2020, 10, 4, 23, 0, 0, 250_000, tzinfo=UTC)),
        ("2020-10-04T22:00:00,250-01:00", True, datetime(2020, 10, 4, 23, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_every_documented_date_form_is_read(text: str, iso: bool, expected: datetime) -> None:
    # Given a date in a documented form, When it is read in the user's zone
    value = parse_wire(text, MOSCOW, iso=iso)
    # Then it is that instant, in the user's zone
    assert value == expected
    assert value.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("２０２０-10-05 00:00:00", False),  # full-width digits: strptime reads them
        ("2020-10-05 00:00:0٥", False),  # an Arabic-Indic digit
        ("2020-1-5 0:0:0", False),  # strptime takes single digits
        ("2020-10-05 00:00:00\n", False),
        (" 2020-10-05 00:00:00", False),
        ("2020-10-05T00:00:00+03:00", False),  # ISO outside ISO mode
        ("2020-10-05", False),
        ("2020-W41-1T00:00:00+03:00", True),  # ISO week date: fromisoformat reads it
        ("2020-W41-1", True),
        ("2020-279T00:00:00+03:00", True),  # ordinal date
        ("20201005T000000+0300", True),  # basic format
        ("2020-10-05T00:00:00", True),  # no offset
        ("2020-10-05", True),
        ("2020-10-05 00:00:00", True),  # the plain form in ISO mode: no offset
        ("2020-10-05 00:00:00+03:00", True),  # no T
        ("２０２０-10-05T00:00:00+03:00", True),
        ("2020-10-05T00:00:00+03:00\n", True),
        ("2020-10-05T00:00:00+25:00", True),  # no such offset
        ("2020-02-30T00:00:00Z", True),  # no such day
        ("2020-10-05T00:00:00.1234567890Z", True),  # more than nanoseconds
    ],
)
def test_an_undocumented_date_form_is_refused(text: str, iso: bool) -> None:
    # Given a date that is not in the mode's documented form, When it is read, Then it is refused
    with pytest.raises(ValueError, match="expected"):
        parse_wire(text, MOSCOW, iso=iso)


@pytest.mark.parametrize(
    ("overrides", "parameters"),
    [
        ({"from": "２０２０-10-05 00:00:00"}, ["from"]),
        ({"from": "2020-W41-1 00:00:00", "to": "2020-W41-2 00:00:00"}, ["from", "to"]),
        ({"from": "2" * 41}, ["from"]),  # longer than any date: not even matched
        ({"time_filter": {"from": "０8:00", "to": "18:00"}}, ["time_filter.from"]),
        ({"time_filter": {"from": "08:00", "to": "1８:00"}}, ["time_filter.to"]),
    ],
)
def test_a_date_or_time_in_other_digits_is_named(overrides: dict[str, Any], parameters: list[str]) -> None:
    # Given a request whose date or time-filter time is written in other digits than 0-9
    from fleet_reports.service.reports import _period

    # When it is validated and its period read, Then 7 names each bad one
    try:
        params = validate(GenerateParams, {**BASE, **overrides})
    except ApiError as exc:
        assert [e["parameter"] for e in exc.errors or []] == parameters
        return
    with pytest.raises(ApiError) as caught:
        _period(params, MOSCOW, iso=False)
    assert [e["parameter"] for e in caught.value.errors or []] == parameters


# ============================================================================ ids


@pytest.mark.parametrize("plugin_id", ["٤", "４", "²", "+4", " 4", "4 ", "4_0", "0x4", "4.0", "", True, 4.0, None])
def test_a_plugin_id_in_other_digits_or_forms_is_named(plugin_id: Any) -> None:
    # Given a plugin id that Python's int() or pydantic's lax mode would read, but is no whole
    # number in the digits 0-9
    # Then 7 names plugin.plugin_id
    assert named(GenerateParams, {**BASE, "plugin": {"plugin_id": plugin_id}}) == ["plugin.plugin_id"]


@pytest.mark.parametrize(("plugin_id", "read"), [(4, 4), ("4", 4), ("0004", 4), (MAX_PLUGIN_ID, MAX_PLUGIN_ID)])
def test_a_plugin_id_as_number_or_ascii_digits_is_read(plugin_id: Any, read: int) -> None:
    # Given a plugin id as a number or a string of the digits 0-9, When validated, Then it is that number
    assert validate(GenerateParams, {**BASE, "plugin": {"plugin_id": plugin_id}}).plugin["plugin_id"] == read


@pytest.mark.parametrize("plugin_id", [0, -4, MAX_PLUGIN_ID + 1, 2**70, int("9" * 4300), "9" * 16, "9" * 17])
def test_a_plugin_id_out_of_range_is_named(plugin_id: Any) -> None:
    # Given a plugin id below 1 or beyond 32 bits (4,300 digits included), When validated, Then 7 names it
    assert named(GenerateParams, {**BASE, "plugin": {"plugin_id": plugin_id}}) == ["plugin.plugin_id"]


@pytest.mark.parametrize(
    "report_id", [0, -1, MAX_ID + 1, int("9" * 4300), "9" * 4300, "١٢٣", "１２３", "+123", " 123", "1_000", True]
)
def test_a_report_id_beyond_the_ids_or_in_other_digits_is_named(report_id: Any) -> None:
    # Given a report id below 1, beyond MAX_ID, of 4,300 digits, or not written in the digits 0-9
    # When validated, Then 7 names it: it never becomes part of a key
    assert named(ReportIdParams, {"report_id": report_id}) == ["report_id"]


@pytest.mark.parametrize(("report_id", "read"), [(1, 1), ("123", 123), ("0123", 123), (MAX_ID, MAX_ID)])
def test_a_report_id_in_range_is_read(report_id: Any, read: int) -> None:
    # Given a report id from 1 to MAX_ID, as a number or digits, When validated, Then it is that number
    assert validate(ReportIdParams, {"report_id": report_id}).report_id == read


def test_the_largest_id_is_the_manifests() -> None:
    # Given the bound the fleet manifest puts on the ids it stores
    from fleet_reports.service.manifest.schema import Tracker

    schema = Tracker.model_json_schema()["properties"]["id"]
    # Then a request may name every id the manifest can store, and no larger one
    assert schema["maximum"] == MAX_ID


# ============================================================================ lists


def test_employees_are_folded_then_limited() -> None:
    # Given the limit's number of distinct employees, each sent three times, in an order
    ids = [*range(MAX_EMPLOYEES_PER_REPORT, 0, -1)] * 3
    # When validated, Then each is kept once, in the order first given
    assert validate(GenerateParams, {**BASE, "employees": ids}).employees == ids[:MAX_EMPLOYEES_PER_REPORT]
    # And one more distinct employee is named
    assert named(GenerateParams, {**BASE, "employees": [*ids, MAX_EMPLOYEES_PER_REPORT + 1]}) == ["employees"]


@pytest.mark.parametrize(
    ("plugin", "parameter"),
    [
        ({"plugin_id": 8, "zone_ids": list(range(1, 1002))}, "plugin.zone_ids"),
        ({"plugin_id": 8, "zone_ids": [MAX_ID + 1]}, "plugin.zone_ids"),
        ({"plugin_id": 8, "zone_ids": ["٧"]}, "plugin.zone_ids[0]"),
        ({"plugin_id": 9, "sensors": [{"tracker_id": 1, "sensor_id": i} for i in range(1, 1002)]}, "plugin.sensors"),
        ({"plugin_id": 9, "sensors": [{"tracker_id": 1, "sensor_id": MAX_ID + 1}]}, "plugin.sensors[0].sensor_id"),
        ({"plugin_id": 9, "sensors": [{"tracker_id": 0, "sensor_id": 1}]}, "plugin.sensors[0].tracker_id"),
    ],
)
def test_a_plugin_list_over_its_limit_or_range_is_named(plugin: dict[str, Any], parameter: str) -> None:
    # Given a plugin's options with a list longer than its limit or an id beyond the ids
    from fleet_reports.engine.catalog import plugin_spec

    spec = plugin_spec(plugin["plugin_id"])
    assert spec is not None
    # When validated by the plugin's model, Then 7 names it
    with pytest.raises(ApiError) as caught:
        validate(spec.params, plugin, prefix="plugin")
    assert [e["parameter"] for e in caught.value.errors or []] == [parameter]


def test_plugin_lists_at_their_limits_are_folded_and_kept() -> None:
    # Given 1,000 distinct zones and sensors, each twice
    from fleet_reports.engine.catalog import MAX_SENSORS_PER_REPORT, MAX_ZONES_PER_REPORT, GeofenceParams, SensorsParams

    zones = GeofenceParams.model_validate({"plugin_id": 8, "zone_ids": list(range(1, MAX_ZONES_PER_REPORT + 1)) * 2})
    refs = [{"tracker_id": 1, "sensor_id": i} for i in range(1, MAX_SENSORS_PER_REPORT + 1)] * 2
    sensors = SensorsParams.model_validate({"plugin_id": 9, "sensors": refs})
    # Then each is kept once
    assert zones.zone_ids == list(range(1, MAX_ZONES_PER_REPORT + 1))
    assert [r.sensor_id for r in sensors.sensors] == list(range(1, MAX_SENSORS_PER_REPORT + 1))


# ============================================================================ the stored record's size


@pytest.mark.parametrize(
    ("item", "at_least"),
    [
        ({"pk": "POOL#1"}, 2 + 6),  # name + UTF-8 bytes
        ({"title": "Отчёт"}, 5 + 10),  # Cyrillic: two bytes a letter
        ({"n": 12345678901234567890}, 1 + 20 // 2 + 1),  # a byte per two digits, plus one
        ({"ok": True, "none": None}, 2 + 1 + 4 + 1),
        ({"ids": [1, 22, 333]}, 3 + 3 + 3 * (1 + 2)),  # list overhead 3, a byte per element
        ({"m": {"tracker_id": 1}}, 1 + 3 + 10 + 2 + 1),
        ({"doc": b"\x00" * 1000}, 3 + 1000),
    ],
)
def test_the_item_size_never_undercounts_what_dynamodb_counts(item: dict[str, Any], at_least: int) -> None:
    from fleet_reports.store.item_size import item_size

    # Given an item whose size AWS's rules give, When estimated, Then the estimate is not below it
    assert at_least <= item_size(item) <= at_least + 4 * len(str(item))


def test_a_record_at_the_stored_limit_leaves_room_for_the_inline_document() -> None:
    # Given the most a report may hold of its request, and the largest document kept inline
    from fleet_reports.service.reports import STORED_REQUEST_MAX_BYTES
    from fleet_reports.settings import Settings
    from fleet_reports.store.item_size import ITEM_LIMIT

    inline = Settings.model_fields["inline_report_max_bytes"].default
    # Then both, with 8 KiB for the worker's files and state, fit DynamoDB's item limit
    assert STORED_REQUEST_MAX_BYTES + inline + 8 * 1024 <= ITEM_LIMIT
