"""Plugin 8, Geofence visits: simulated drives through zones of known size give known visits."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fleet_reports.engine.model import Track, Zone
from fleet_reports.engine.plugins.common import ReportError
from fleet_reports.sim.drive import Scenario

from tests.support.geofences import DAY_MS, OTHER, T0, TRACKER, A, context, drive_north, north
from tests.support.render import as_minutes, row_seconds, xlsx_summary
from tests.support.reports import run


def rows_of(sheet: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for g in sheet["sections"][0]["data"] for row in g["rows"]]


def test_a_drive_through_three_zones_gives_three_visits_with_known_times_and_mileage() -> None:
    # Given a drive due north at 72 km/h (20 m/s) through a 500 m circle, a 1 km square and along a sausage
    report = run(context(), {TRACKER.id: drive_north()})

    # When the report is built, Then one sheet with the visits table, its columns and one day group
    (sheet,) = report["sheets"]
    assert (sheet["header"], sheet["entity_ids"]) == ("Van 1", [101])
    table, summary, chart = sheet["sections"]
    assert table["type"] == "table" and table["header"] == "Geofence visits"
    assert [(c["field"], c["title"]) for c in table["columns"]] == [
        ("zone", "Zone"),
        ("entry", "Entry"),
        ("exit", "Exit"),
        ("duration", "Time in zone"),
        ("mileage", "Mileage in zone,\nkm"),
    ]
    (day,) = table["data"]
    assert day["header"] == "Oct 6, 2020 (Tue) : 3"
    circle, square, road = day["rows"]
    # The circle: a 1000 m chord at 20 m/s is 50 s and 1 km
    assert circle["zone"] == {"v": "Depot", "raw": 1.0, "type": "value"}
    assert circle["duration"]["raw"] == pytest.approx(50.0, abs=0.01)
    assert circle["mileage"]["raw"] == pytest.approx(1.0, abs=0.01)
    # The square: 1 km from side to side, 50 s
    assert square["zone"]["v"] == "Customer"
    assert square["duration"]["raw"] == pytest.approx(50.0, abs=0.01)
    assert square["mileage"]["raw"] == pytest.approx(1.0, abs=0.01)
    # The sausage: from 100 m before its first point (8.7 km) to the road's end (10 km), open at the
    # end of the data: it ends at the last fix
    assert road["zone"]["v"] == "Main road"
    assert road["mileage"]["raw"] == pytest.approx(1.3, abs=0.01)
    assert road["exit"]["raw"] == report_last_fix_ms()
    # Entry of the circle: 4.5 km up the road; at the cruise 20 m/s it is 50 s before the 5 km mark
    assert square["entry"]["raw"] - circle["entry"]["raw"] == pytest.approx(3000.0 / 20.0 * 1000.0, abs=20.0)
    assert circle["entry"]["v"] == "07:13:54"
    assert circle["exit"]["raw"] - circle["entry"]["raw"] == pytest.approx(50_000.0, abs=10.0)
    # And the day total sums the rows
    assert day["total"]["text"] == "In total:"
    assert day["total"]["duration"]["raw"] == pytest.approx(sum(r["duration"]["raw"] for r in day["rows"]))
    assert day["total"]["mileage"]["v"] == "3.30"
    # And the summary: 3 visits in 3 zones, the time in minutes (the wire format's quirk)
    assert summary["type"] == "map_table"
    names = [r["name"] for r in summary["rows"]]
    assert names == ["Visits", "Zones visited", "Time in zones", "Mileage in zones, km"]
    assert summary["rows"][0]["raw"] == 3.0 and summary["rows"][1]["raw"] == 3.0
    assert summary["rows"][2]["raw"] == pytest.approx(day["total"]["duration"]["raw"] / 60.0, abs=0.01)
    # And a bar chart of the hours in each zone, the longest first (the road, then the 50 s ones
    # by name)
    assert (chart["type"], chart["kind"], chart["header"]) == ("chart", "bar", "Time in zones (top 3)")
    assert chart["x_axis"]["type"] == "category"
    assert chart["x_axis"]["categories"] == ["Main road", "Customer", "Depot"]
    (series,) = chart["series"]
    assert series["units"] == "h"
    want = [road["duration"]["raw"], square["duration"]["raw"], circle["duration"]["raw"]]
    assert series["points"] == [[k, round(v / 3600, 2)] for k, v in enumerate(want)]


def test_hide_charts_leaves_the_chart_out_and_the_rest_unchanged() -> None:
    # Given the drive through three zones
    track = drive_north()
    # When the report is built with hide_charts, and without
    hidden = run(context(hide_charts=True), {TRACKER.id: track})
    shown = run(context(), {TRACKER.id: track})
    # Then the chart alone is gone, and the parameter is kept as given
    assert [s["type"] for s in hidden["sheets"][0]["sections"]] == ["table", "map_table"]
    assert [s["type"] for s in shown["sheets"][0]["sections"]] == ["table", "map_table", "chart"]
    assert hidden["sheets"][0]["sections"] == shown["sheets"][0]["sections"][:2]


def test_the_chart_holds_the_30_zones_with_the_most_time() -> None:
    # Given 35 small circles along the road, the drive crossing each
    zones = tuple(Zone(100 + k, f"Stop {k:02d}", "circle", (55.0 + 0.0009 * k, 37.0), 30.0 + k) for k in range(35))
    ctx = replace(context(min_minutes_in_zone=0), zones=zones)
    report = run(ctx, {TRACKER.id: drive_north()})
    # When the report is built
    chart = report["sheets"][0]["sections"][-1]
    # Then the chart has the 30 zones with the most time, in descending order
    hours = [p[1] for p in chart["series"][0]["points"]]
    assert len(hours) == 30 and hours == sorted(hours, reverse=True)
    assert chart["header"] == "Time in zones (top 30)"


def report_last_fix_ms() -> float:
    return float(drive_north().t[-1])


def test_short_visits_are_dropped_by_min_minutes_in_zone() -> None:
    # Given the same drive and a minimum of 1 minute in a zone (the 50 s crossings are shorter)
    report = run(context(min_minutes_in_zone=1), {TRACKER.id: drive_north()})
    # When the report is built, Then only the visit along the road (over 1 minute) is left
    assert [r["zone"]["v"] for r in rows_of(report["sheets"][0])] == ["Main road"]


def test_zone_ids_select_and_not_visited_zones_are_listed() -> None:
    # Given a report over the circle and the far zone only, listing the zones not visited
    ctx = context(zone_ids=[4, 1], show_not_visited_zones=True, show_mileage=False)
    report = run(ctx, {TRACKER.id: drive_north()})
    # When the report is built
    table, summary, _chart, not_visited = report["sheets"][0]["sections"]
    # Then only the circle was visited, without a mileage column
    assert [r["zone"]["v"] for r in rows_of(report["sheets"][0])] == ["Depot"]
    assert [c["field"] for c in table["columns"]] == ["zone", "entry", "exit", "duration"]
    assert [r["name"] for r in summary["rows"]] == ["Visits", "Zones visited", "Time in zones"]
    # And the far zone is listed as not visited, with its address
    assert not_visited["header"] == "Not visited zones"
    (g,) = not_visited["data"]
    assert g["header"] == "Zones : 1"
    assert g["rows"] == [
        {
            "zone": {"v": "Far away", "raw": 4.0, "type": "value"},
            "address": {"v": "Nowhere 5", "raw": 4.0, "type": "value"},
        }
    ]


def test_unknown_zone_is_an_error() -> None:
    with pytest.raises(ReportError, match="unknown zones"):
        run(context(zone_ids=[99]), {TRACKER.id: drive_north()})


def test_visits_are_grouped_per_local_day_and_show_seconds_off() -> None:
    # Given the drive on two days (the second one 07:00 the next morning)
    tracks = {TRACKER.id: Track.concat([drive_north(), drive_north(T0 + DAY_MS)])}
    report = run(context(show_seconds=False, zone_ids=[1]), tracks)
    # When the report is built, Then one group per local day with one visit each, times in HH:mm
    data = report["sheets"][0]["sections"][0]["data"]
    assert [g["header"] for g in data] == ["Oct 6, 2020 (Tue) : 1", "Oct 7, 2020 (Wed) : 1"]
    assert [g["rows"][0]["entry"]["v"] for g in data] == ["07:13", "07:13"]
    assert data[0]["rows"][0]["duration"]["v"] == "00:00"


def test_time_filter_cuts_visits() -> None:
    # Given a time filter from 07:14 (the circle is entered at 07:13:54 and left 50 s later)
    ctx = replace(
        context(zone_ids=[1]), time_filter={"from": "07:14", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]}
    )
    report = run(ctx, {TRACKER.id: drive_north()})
    # When the report is built, Then the visit starts at the window's edge and ends as before
    (row,) = rows_of(report["sheets"][0])
    full = rows_of(run(context(zone_ids=[1]), {TRACKER.id: drive_north()})["sheets"][0])[0]
    assert row["entry"]["v"] == "07:14:00" and row["entry"]["raw"] == T0 + 14 * 60_000
    assert row["exit"] == full["exit"]
    assert row["duration"]["raw"] == pytest.approx((full["exit"]["raw"] - row["entry"]["raw"]) / 1000.0, abs=0.002)


def test_units_and_russian() -> None:
    # Given an imperial Russian-speaking user
    ctx = replace(context(zone_ids=[1]), locale="ru_RU", measurement_system="imperial")
    report = run(ctx, {TRACKER.id: drive_north()})
    # When the report is built, Then titles are Russian and the mileage is in miles
    table = report["sheets"][0]["sections"][0]
    assert table["header"] == "Посещения геозон"
    assert table["columns"][-1]["title"] == "Пробег в геозоне,\nмиль"
    row = table["data"][0]["rows"][0]
    assert row["mileage"]["raw"] == pytest.approx(1.0 / 1.609344, abs=0.01)
    assert row["mileage"]["v"] == "0,62"
    assert table["data"][0]["header"] == "6 окт. 2020 (Вт) : 1"


def test_several_trackers_summary_sheet_and_empty_tabs() -> None:
    # Given two trackers, the second without fixes
    tracks = {TRACKER.id: drive_north()}
    report = run(context((TRACKER, OTHER), zone_ids=[1]), tracks)
    # When the report is built, Then a summary sheet, the van's sheet and a no-data sheet
    summary, van, empty = report["sheets"]
    assert summary["header"] == "Summary" and summary["entity_ids"] == [101, 102]
    (g,) = summary["sections"][0]["data"]
    assert g["header"] == "Trackers : 2"
    assert [r["visits"]["raw"] for r in g["rows"]] == [1.0, 0.0]
    assert g["total"]["duration"]["raw"] == pytest.approx(50.0, abs=0.01)
    assert van["header"] == "Van 1"
    assert empty["sections"] == [{"type": "text", "text": "No data for the period", "style": "normal"}]
    # And hide_empty_tabs drops the empty one; summary only keeps the summary
    hidden = run(context((TRACKER, OTHER), zone_ids=[1], hide_empty_tabs=True), tracks)
    assert [s["header"] for s in hidden["sheets"]] == ["Summary", "Van 1"]
    only = run(context((TRACKER, OTHER), zone_ids=[1], include_summary_sheet_only=True), tracks)
    assert [s["header"] for s in only["sheets"]] == ["Summary"]


def test_parked_inside_adds_no_mileage() -> None:
    # Given a van parked 10 minutes with GPS jitter inside a zone around its parking spot
    sc = Scenario(T0, *A, interval_s=10.0, seed=4).park(10, jitter_m=8.0)
    sc.drive([north(3000.0)], cruise_kmh=60, road=False, variation=0.0).park(5)
    track = sc.build()[0]
    ctx = replace(context(), zones=(Zone(9, "Yard", "circle", A, 150.0),))
    # When the report is built
    (row,) = rows_of(run(ctx, {TRACKER.id: track})["sheets"][0])
    # Then the visit lasts from the first fix past the parking to 150 m out, and counts only that 150 m
    assert row["entry"]["raw"] == float(track.t[0])
    assert row["duration"]["raw"] > 600.0
    assert row["mileage"]["raw"] == pytest.approx(0.15, abs=0.02)


def test_the_summary_time_in_zones_in_a_spreadsheet_is_the_sum_of_the_rows_to_the_second() -> None:
    # Given the drive through three zones, whose visits sum to seconds that minutes with
    # 2 decimals cannot hold
    report = run(context(), {TRACKER.id: drive_north()})
    visits = row_seconds(report, "duration")
    assert abs(as_minutes(visits) * 60.0 - visits) > 0.01
    # When it is rendered as XLSX
    summary = xlsx_summary(report)
    # Then the summary's time in zones is the sum of the rows' to the second, and the document
    # keeps the wire format (minutes with 2 decimals)
    assert summary["Time in zones"].total_seconds() == pytest.approx(visits, abs=1e-3)
    assert report["sheets"][0]["sections"][1]["rows"][2]["raw"] == as_minutes(visits)


def test_a_visit_cut_by_the_data_says_so() -> None:
    # Given a van parked inside the depot circle when its data begins, driving out north 10 km
    # from the depot's centre into the sausage road zone, where the data ends while it is inside
    start = north(5000.0)
    sc = Scenario(T0, *start, interval_s=10.0, noise=False)
    sc.park(10).drive([north(4500.0, start)], cruise_kmh=72, road=False, variation=0.0).park(10)
    track = sc.build()[0]
    # When the visits are reported
    rows = rows_of(run(context(), {TRACKER.id: track})["sheets"][0])
    # Then the depot visit's entry says the van was already inside, and the road visit's exit
    # that it still was: neither is a time it crossed the boundary
    by_zone = {row["zone"]["v"]: row for row in rows}
    assert by_zone["Depot"]["entry"]["v"].endswith("(already inside)")
    assert by_zone["Depot"]["entry"]["raw"] == float(track.t[0])
    assert not by_zone["Depot"]["exit"]["v"].endswith(")")
    assert by_zone["Main road"]["exit"]["v"].endswith("(still inside)")
    assert by_zone["Main road"]["exit"]["raw"] == float(track.t[-1])
    assert not by_zone["Main road"]["entry"]["v"].endswith(")")
