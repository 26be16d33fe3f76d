"""Stops (6), engine hours (7) and the point report (91) through the real handlers, on moto."""

from __future__ import annotations

from typing import Any

from fleet_reports.demo import ACCESS

from tests.support.api import HASH
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

# The seed request without its title and plugin: tracker 669673 over 2020-10-05 and 2020-10-06.
BASE: dict[str, Any] = {k: v for k, v in SEED_GENERATE.items() if k not in ("title", "plugin")}


def report_of(demo: Lambdas, **request: Any) -> dict[str, Any]:
    """Generate, run the worker, retrieve: the report document."""
    status, body, _ = demo.api("GenerateFunction", {**BASE, **request})
    assert status == 200, body
    report_id = int(body["id"])
    demo.run_worker()
    status, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    assert status == 200, body
    report: dict[str, Any] = body["report"]
    report["id"] = report_id
    return report


def rows_of(table: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in table["data"] for r in g["rows"]]


def test_plugins_are_listed(demo: Lambdas) -> None:
    # When the plugins are listed, Then stops, engine hours and the point report are there
    status, body, _ = demo.api("PluginsFunction", {"hash": HASH})
    plugins = {p["id"]: p for p in body["list"]}
    assert status == 200 and {6, 7, 91} <= set(plugins)
    assert {"show_coordinates", "group_by_driver"} <= set(plugins[6]["parameters"])
    assert "show_detailed" in plugins[7]["parameters"]
    assert "show_coordinates" in plugins[91]["parameters"]


def test_stops_report_matches_the_trip_report(demo: Lambdas) -> None:
    # Given the demo fleet's two days, When a trip report and a stops report are built
    trips = report_of(demo, title="Trips", plugin={"plugin_id": 4})
    stops = report_of(demo, title="Stops", trackers=[669673, 123456], plugin={"plugin_id": 6})

    # Then the stops report has a summary sheet and one sheet per tracker
    summary, samantha, _ = stops["sheets"]
    assert summary["header"] == "Summary" and summary["entity_ids"] == [669673, 123456]
    table = samantha["sections"][0]
    assert table["header"] == "Stops"
    assert [c["field"] for c in table["columns"]] == ["start", "end", "duration", "address", "ignition", "ignition_pct"]
    rows = rows_of(table)
    for g in table["data"]:
        assert len(g["rows"]) == int(g["header"].rsplit(":", 1)[1])
    # And every trip that ended at a parking ended exactly where a stop starts
    trip_ends = {r["to"]["raw"] for r in rows_of(trips["sheets"][0]["sections"][0])}
    stop_starts = {r["start"]["raw"] for r in rows}
    assert len(trip_ends & stop_starts) >= len(trip_ends) - 1
    # And the stop durations agree with their boundaries
    for r in rows:
        assert r["duration"]["raw"] == (r["end"]["raw"] - r["start"]["raw"]) / 1000
    # And the summary sheet's count is the rows of that sheet
    assert summary["sections"][0]["data"][0]["rows"][0]["count"]["raw"] == len(rows)

    # And the report downloads as xlsx
    status, xlsx, _ = demo.api("DownloadFunction", {"hash": HASH, "report_id": stops["id"], "format": "xlsx"})
    assert status == 200 and xlsx[:2] == b"PK"


def test_engine_hours_report_covers_the_trips(demo: Lambdas) -> None:
    # Given the demo fleet's two days, When a trip report and an engine hours report are built
    trips = report_of(demo, title="Trips", plugin={"plugin_id": 4})
    hours = report_of(demo, title="Engine hours", plugin={"plugin_id": 7, "show_detailed": True})

    # Then the tracker's sheet lists ignition-on intervals of at least a minute per day
    (sheet,) = hours["sheets"]
    table, summary = sheet["sections"]
    assert table["header"] == "Engine hours"
    rows = rows_of(table)
    assert rows and all(r["duration"]["raw"] >= 60 for r in rows)
    for r in rows:
        assert abs(r["in_motion"]["raw"] + r["idle"]["raw"] - r["duration"]["raw"]) < 1e-6
    # And the engine ran at least as long as the vehicle travelled, and the motion time is close
    # to the travel time (the demo vehicles drive with the ignition on)
    travel_s = sum(r["time"]["raw"] for r in rows_of(trips["sheets"][0]["sections"][0]))
    engine_s = sum(r["duration"]["raw"] for r in rows)
    motion_s = sum(r["in_motion"]["raw"] for r in rows)
    assert engine_s >= 0.98 * travel_s
    assert abs(motion_s - travel_s) <= 0.1 * travel_s
    # And the summary counts the intervals
    counts = {r["name"]: r["raw"] for r in summary["rows"]}
    assert counts["Intervals"] == len(rows)

    # And the report downloads as pdf and xls
    status, pdf, _ = demo.api("DownloadFunction", {"hash": HASH, "report_id": hours["id"], "format": "pdf"})
    assert status == 200 and pdf[:5] == b"%PDF-"
    status, xls, _ = demo.api("DownloadFunction", {"hash": HASH, "report_id": hours["id"], "format": "xls"})
    assert status == 200 and xls[:8] == bytes.fromhex("d0cf11e0a1b11ae1")


def test_point_report_lists_every_fix_of_a_day(demo: Lambdas) -> None:
    # Given the demo tracker's day, When a point report and a trip report of that day are built
    day = {"from": "2020-10-06 00:00:00", "to": "2020-10-06 23:59:59"}
    points = report_of(demo, title="Points", plugin={"plugin_id": 91}, **day)
    trips = report_of(demo, title="Trips", plugin={"plugin_id": 4}, **day)

    # Then one sheet lists the fixes in time order within the day, with coordinates by default
    (sheet,) = points["sheets"]
    table, summary = sheet["sections"]
    assert [c["field"] for c in table["columns"]] == [
        "time", "address", "speed", "heading", "altitude", "satellites", "lat", "lng"
    ]  # fmt: skip
    rows = rows_of(table)
    times = [r["time"]["raw"] for r in rows]
    assert len(rows) > 1000 and times == sorted(times) and len(set(times)) == len(times)
    assert summary["rows"][0]["raw"] == len(rows)
    # And every trip's start and end are fixes of the point report
    for trip in rows_of(trips["sheets"][0]["sections"][0]):
        assert trip["from"]["raw"] in set(times) and trip["to"]["raw"] in set(times)
    # And the highest fix speed is the trip report's max speed
    trip_max = max(r["max_speed"]["raw"] for r in rows_of(trips["sheets"][0]["sections"][0]))
    assert max(r["speed"]["raw"] for r in rows if "speed" in r) == trip_max

    # And the report downloads as xlsx and pdf
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF-")):
        status, data, _ = demo.api("DownloadFunction", {"hash": HASH, "report_id": points["id"], "format": fmt})
        assert status == 200 and data.startswith(magic)


def test_point_report_takes_one_tracker_and_one_day(demo: Lambdas) -> None:
    # When a point report asks for two days, Then 211 names the point report's limit
    status, body, _ = demo.api("GenerateFunction", {**BASE, "plugin": {"plugin_id": 91}})
    assert status == 400 and body["status"]["code"] == 211
    assert body["max_time_span"] == "P1D"
    # And two trackers are refused
    request = {**BASE, "trackers": [669673, 123456], "to": "2020-10-05 23:59:59", "plugin": {"plugin_id": 91}}
    status, body, _ = demo.api("GenerateFunction", request)
    assert status == 400


def test_the_demo_fleet_has_a_russian_user_whose_reports_are_in_russian(demo: Lambdas) -> None:
    # Given the demo fleet's Russian sub-user (ru_RU, Asia/Yekaterinburg, metric)
    ru = ACCESS.russian_user_hash
    # When it generates the trips report of the owner's van and retrieves it
    status, body, _ = demo.api("GenerateFunction", {**BASE, "hash": ru, "plugin": {"plugin_id": 4}})
    assert status == 200, body
    demo.run_worker()
    status, body, _ = demo.api("RetrieveFunction", {"hash": ru, "report_id": int(body["id"])})
    assert status == 200, body
    table = body["report"]["sheets"][0]["sections"][0]
    # Then the report speaks Russian, in kilometres
    titles = {c["field"]: c["title"] for c in table["columns"]}
    assert "км" in titles["length"] and titles["length"] != "Total trips length,\nkm"
    # And its times are in Yekaterinburg's zone (UTC+5): the same trip starts 2 hours later on the
    # clock than for the owner in Moscow (UTC+3)
    owner = report_of(demo, plugin={"plugin_id": 4})
    first_ru = rows_of(table)[0]["from"]
    first_owner = rows_of(owner["sheets"][0]["sections"][0])[0]["from"]
    assert first_ru["raw"] == first_owner["raw"]
    hours = [int(c["v"][:2]) for c in (first_ru, first_owner)]
    assert (hours[0] - hours[1]) % 24 == 2
