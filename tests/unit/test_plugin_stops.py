"""Plugin 6, Stops: every parking with its times, duration, address and ignition-on time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fleet_reports.engine.model import DriverShift, Place, ReportContext, SensorInfo, Track, TrackerInfo, Zone
from fleet_reports.engine.report import build_report
from fleet_reports.sim.drive import Scenario, Truth

from tests.support.render import as_minutes, row_seconds, xlsx_summary

T0 = 1_601_942_400_000  # 2020-10-06 00:00:00 UTC = 03:00 in Moscow
H = 3_600_000
START = T0 + 17 * H  # 20:00 Moscow
END = T0 + 23 * H  # 02:00 Moscow, Oct 7
HOME = (55.0, 37.0)
SHOP = (55.05, 37.1)
TRACKER = 669673
STEP_MS = 10_000
IGNITION = SensorInfo(1, "Ignition", "ignition", kind="discrete", sensor_type="ignition")


def evening() -> tuple[Track, Truth]:
    """Park at home, drive to the shop, park there 25 min (5 of them with the engine running),
    drive home, park past local midnight, drive to the shop again and park to the end."""
    sc = Scenario(START, *HOME, seed=5)
    sc.park(20).drive([SHOP], cruise_kmh=60).park(10).idle(5).park(10).drive([HOME], cruise_kmh=60)
    sc.park(until_ms=T0 + 21 * H + 10 * 60_000).drive([SHOP], cruise_kmh=60).park(until_ms=END)
    return sc.build()


def context(*trackers: TrackerInfo, locale: str = "en_US", **plugin: Any) -> ReportContext:
    return ReportContext(
        report_id=1,
        title="Stops report",
        created="2020-10-07 10:00:00",
        period_from="2020-10-06 20:00:00",
        period_to="2020-10-07 02:00:00",
        from_ms=START,
        to_ms=END,
        time_zone="Europe/Moscow",
        locale=locale,
        measurement_system="metric",
        time_filter={"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        plugin={"plugin_id": 6, **plugin},
        trackers=trackers or (TrackerInfo(TRACKER, "Samantha", (IGNITION,)),),
        places=(Place("Shop", "Shop, Moscow", SHOP[0], SHOP[1], 300.0),),
    )


def run(ctx: ReportContext, tracks: dict[int, Track]) -> dict[str, Any]:
    def load(tracker_id: int, a: int, b: int) -> Track:
        track = tracks.get(tracker_id, Track.empty())
        return track.take((track.t >= a) & (track.t <= b))

    return build_report(ctx, load, lambda _: None)


def rows(report: dict[str, Any], sheet: int = 0) -> list[dict[str, Any]]:
    table = report["sheets"][sheet]["sections"][0]
    return [r for g in table["data"] for r in g["rows"]]


def test_every_parking_with_boundaries_duration_address_and_ignition() -> None:
    # Given an evening with four parkings, one of them with 5 minutes of idling in it
    track, truth = evening()
    assert len(truth.parkings) == 4

    # When the stops report is built
    report = run(context(), {TRACKER: track})

    # Then there is one row per true parking, boundaries within one sampling interval
    (sheet,) = report["sheets"]
    table, summary = sheet["sections"]
    assert [c["field"] for c in table["columns"]] == ["start", "end", "duration", "address", "ignition", "ignition_pct"]
    titles = ["Stop start", "Stop end", "Duration", "Address", "Time with ignition on", "Ignition on, %"]
    assert [c["title"] for c in table["columns"]] == titles
    got = rows(report)
    assert len(got) == 4
    for row, p in zip(got, truth.parkings, strict=True):
        assert abs(row["start"]["raw"] - p.start_ms) <= STEP_MS
        assert abs(row["end"]["raw"] - p.end_ms) <= STEP_MS
        assert abs(row["duration"]["raw"] - p.duration_s) <= STEP_MS / 1000
    # And the times are local (Moscow, UTC+3) and the durations HH:mm
    assert got[0]["start"]["v"] == "20:00"
    assert got[0]["duration"]["v"] == "00:" + f"{int(got[0]['duration']['raw']) // 60:02d}"
    # And the shop parking has the place's address; home has its coordinates
    assert got[1]["address"]["v"] == "Shop, Moscow"
    lat, lng = (float(x) for x in got[0]["address"]["v"].split(", "))
    assert abs(lat - HOME[0]) < 3e-4 and abs(lng - HOME[1]) < 5e-4  # the median of jittered fixes
    assert abs(got[1]["address"]["location"]["lat"] - SHOP[0]) < 1e-3
    # And the shop parking had the engine on for its 5 idle minutes, the others not at all
    assert abs(got[1]["ignition"]["raw"] - 300.0) <= 2 * STEP_MS / 1000
    assert abs(got[1]["duration"]["raw"] - 1500.0) <= 2 * STEP_MS / 1000
    assert [r["ignition"]["raw"] for r in (got[0], got[2], got[3])] == [0.0, 0.0, 0.0]
    # And the share of each stop with the engine on is that time over its duration
    assert got[1]["ignition_pct"]["raw"] == pytest.approx(100 * 300.0 / got[1]["duration"]["raw"], abs=1.0)
    assert [r["ignition_pct"]["v"] for r in (got[0], got[2], got[3])] == ["0.0", "0.0", "0.0"]

    # And rows are grouped by local day, the last parking starting after local midnight
    assert [g["header"] for g in table["data"]] == ["Oct 6, 2020 (Tue) : 3", "Oct 7, 2020 (Wed) : 1"]
    day1 = table["data"][0]
    assert day1["total"]["text"] == "In total:"
    # And a day's total is the time of its stops within that day: the stop across local midnight
    # counts up to midnight there (its row shows it whole), so a day never holds more than 24 h
    midnight = T0 + 21 * 3_600_000  # 2020-10-07 00:00 in Moscow
    within = [(min(r["end"]["raw"], midnight) - r["start"]["raw"]) / 1000 for r in day1["rows"]]
    assert day1["rows"][-1]["end"]["raw"] > midnight
    assert day1["total"]["duration"]["raw"] == pytest.approx(sum(within), abs=1e-6)
    assert day1["total"]["duration"]["raw"] < sum(r["duration"]["raw"] for r in day1["rows"])
    assert day1["total"]["ignition"]["raw"] == sum(r["ignition"]["raw"] for r in day1["rows"])

    # And the summary counts the stops; its durations are in minutes (the wire format's quirk)
    assert summary["type"] == "map_table"
    assert summary["rows"][0] == {"name": "Stops", "v": "4", "raw": 4.0, "highlight": False}
    total_s = sum(r["duration"]["raw"] for r in got)
    assert abs(summary["rows"][1]["raw"] - total_s / 60) < 0.01


def test_show_coordinates_and_seconds() -> None:
    # Given the evening, When built with show_coordinates and show_seconds
    track, _ = evening()
    got = rows(run(context(show_coordinates=True, show_seconds=True), {TRACKER: track}))
    # Then the place's address carries the parking's median coordinates and times have seconds
    assert got[1]["address"]["v"].startswith("Shop, Moscow (55.0")
    assert len(got[0]["start"]["v"]) == 8 and got[0]["start"]["v"].startswith("20:00:")
    assert len(got[0]["duration"]["v"]) == 8


def test_without_ignition_sensor_there_is_no_ignition_column() -> None:
    track, _ = evening()
    report = run(context(TrackerInfo(TRACKER, "Samantha")), {TRACKER: track})
    table = report["sheets"][0]["sections"][0]
    assert [c["field"] for c in table["columns"]] == ["start", "end", "duration", "address"]
    assert len(rows(report)) == 4


def test_group_by_driver_uses_the_driver_at_the_parking_start() -> None:
    # Given Anna drove from 20:00 to 20:45 Moscow time (the first two parkings start then)
    track, _ = evening()
    shift = DriverShift(TRACKER, 7, "Anna", START, START + 45 * 60_000)
    ctx = replace(context(group_by_driver=True), drivers=(shift,))
    # When grouped by driver
    table = run(ctx, {TRACKER: track})["sheets"][0]["sections"][0]
    # Then Anna has her two parkings and the rest are the unidentified driver's, per day
    assert [g["header"] for g in table["data"]] == [
        "Anna \u2014 Oct 6, 2020 (Tue) : 2",
        "Unidentified driver \u2014 Oct 6, 2020 (Tue) : 1",
        "Unidentified driver \u2014 Oct 7, 2020 (Wed) : 1",
    ]


def test_summary_sheet_empty_tabs_and_russian() -> None:
    # Given two trackers, the second without fixes
    track, _ = evening()
    a = TrackerInfo(TRACKER, "Samantha", (IGNITION,))
    b = TrackerInfo(2, "Empty van", (IGNITION,))
    # When built in Russian
    report = run(context(a, b, locale="ru_RU"), {TRACKER: track})
    # Then a summary sheet comes first with one row per tracker, and the empty tracker says so
    summary, first, second = report["sheets"]
    assert summary["header"] == "Сводка" and summary["entity_ids"] == [TRACKER, 2]
    group = summary["sections"][0]["data"][0]
    assert [r["count"]["raw"] for r in group["rows"]] == [4.0, 0.0]
    assert group["total"]["text"] == "Итого:"
    assert first["sections"][0]["data"][0]["header"] == "6 окт. 2020 (Вт) : 3"
    assert first["sections"][0]["columns"][0]["title"] == "Начало стоянки"
    assert second["sections"] == [{"type": "text", "text": "Нет данных за период", "style": "normal"}]
    # And hide_empty_tabs drops the empty tracker's sheet; summary_only keeps only the summary
    assert len(run(context(a, b, hide_empty_tabs=True), {TRACKER: track})["sheets"]) == 2
    only = run(context(a, b, include_summary_sheet_only=True), {TRACKER: track})["sheets"]
    assert [s["header"] for s in only] == ["Summary"]


def test_time_filter_cuts_parkings_at_the_window_edges() -> None:
    # Given a daily window 20:30-23:00 local time, and the evening's parkings: home till 20:2x,
    # the shop 20:3x-20:5x, home from 21:xx to 00:10, the shop from 00:2x
    track, truth = evening()
    ctx = replace(context(), time_filter={"from": "20:30", "to": "23:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]})
    # When the stops report is built
    got = rows(run(ctx, {TRACKER: track}))
    # Then the shop parking is whole, and the home parking is cut at 23:00, like trips
    assert len(got) == 2
    assert got[0]["address"]["v"] == "Shop, Moscow"
    assert abs(got[0]["start"]["raw"] - truth.parkings[1].start_ms) <= STEP_MS
    assert abs(got[1]["start"]["raw"] - truth.parkings[2].start_ms) <= STEP_MS
    assert got[1]["end"]["raw"] == T0 + 20 * H and got[1]["end"]["v"] == "23:00"
    assert got[1]["duration"]["raw"] == (T0 + 20 * H - got[1]["start"]["raw"]) / 1000


def test_time_filter_window_opening_inside_a_parking_starts_its_stop() -> None:
    # Given a window 23:30-01:00 over the home parking (21:xx to 00:10) and the shop (from 00:2x)
    track, truth = evening()
    ctx = replace(context(), time_filter={"from": "23:30", "to": "01:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]})
    # When the stops report is built
    got = rows(run(ctx, {TRACKER: track}))
    # Then the home stop starts at 23:30 and the shop stop ends at 01:00
    assert len(got) == 2
    assert got[0]["start"]["raw"] == T0 + 20 * H + 30 * 60_000 and got[0]["start"]["v"] == "23:30"
    assert abs(got[0]["end"]["raw"] - truth.parkings[2].end_ms) <= STEP_MS
    assert got[1]["end"]["raw"] == T0 + 22 * H and got[1]["end"]["v"] == "01:00"


def test_zone_labels_prefix_the_address_unless_turned_off() -> None:
    # Given a circle zone "Home yard" around home and a polygon "Retail park" around the shop
    track, _ = evening()
    d = 0.003
    yard = Zone(7, "Home yard", "circle", HOME, 250.0)
    park = Zone(8, "Retail park", "polygon", points=((SHOP[0] - d, SHOP[1] - d), (SHOP[0] - d, SHOP[1] + d),
                                                   (SHOP[0] + d, SHOP[1] + d), (SHOP[0] + d, SHOP[1] - d)))  # fmt: skip
    ctx = replace(context(), zones=(yard, park))
    # When the stops report is built
    got = rows(run(ctx, {TRACKER: track}))
    # Then each stop's address starts with the zone holding it, in brackets
    assert got[1]["address"]["v"] == "[Retail park] Shop, Moscow"
    assert got[0]["address"]["v"].startswith("[Home yard] ") and "Shop" not in got[0]["address"]["v"]
    # And with include_zones_in_address off, the addresses are the plain ones
    plain = rows(run(replace(ctx, include_zones_in_address=False), {TRACKER: track}))
    assert plain[1]["address"]["v"] == "Shop, Moscow"
    assert not plain[0]["address"]["v"].startswith("[")
    # And with show_coordinates the coordinates are said once, after the label, never twice
    coords = rows(run(replace(ctx, plugin={**ctx.plugin, "show_coordinates": True}), {TRACKER: track}))
    home = coords[0]["address"]["v"]
    assert home.startswith("[Home yard] ") and home.count(home.split("] ")[1]) == 1 and "(" not in home


def test_the_summary_durations_in_a_spreadsheet_are_the_sums_of_the_rows_to_the_second() -> None:
    # Given the evening's four parkings, whose durations sum to seconds that minutes with
    # 2 decimals cannot hold
    report = run(context(), {TRACKER: evening()[0]})
    parked, ignition = row_seconds(report, "duration"), row_seconds(report, "ignition")
    assert abs(as_minutes(parked) * 60.0 - parked) > 0.01
    # When it is rendered as XLSX
    summary = xlsx_summary(report)
    # Then the summary's stop and ignition-on times are the sums of the rows' to the second
    assert summary["Duration"].total_seconds() == pytest.approx(parked, abs=1e-3)
    assert summary["Time with ignition on"].total_seconds() == pytest.approx(ignition, abs=1e-3)
    # And the document's summary keeps the wire format: minutes with 2 decimals
    rows = {r["name"]: r["raw"] for r in report["sheets"][0]["sections"][1]["rows"]}
    assert (rows["Duration"], rows["Time with ignition on"]) == (as_minutes(parked), as_minutes(ignition))
