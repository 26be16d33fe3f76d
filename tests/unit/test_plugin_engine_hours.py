"""Plugin 7, Engine hours: ignition-on intervals, motion and idle time, per day."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fleet_reports.engine.ignition import on_intervals
from fleet_reports.engine.model import Track, TrackerInfo
from fleet_reports.sim.drive import Scenario

from tests.support.engine_hours import END, HOME, IGNITION, SHOP, START, STEP_S, T0, TRACKER, H, context
from tests.support.render import as_minutes, row_seconds, xlsx_summary
from tests.support.reports import run


def night() -> tuple[Track, dict[str, int]]:
    """Drive to the shop and idle there 10 min; later idle 5 min, lose the signal for 20 min
    (engine still on) and idle 5 more; a 30 s engine blip; after midnight, drive home.
    Returns the track and the scenario's clock at each step."""
    sc = Scenario(START, *HOME, seed=11)
    at: dict[str, int] = {}
    sc.park(20)
    at["depart"] = sc.now_ms
    sc.drive([SHOP], cruise_kmh=60)
    at["arrive"] = sc.now_ms
    sc.idle(10)
    at["off"] = sc.now_ms
    sc.park(30)
    at["idle2"] = sc.now_ms
    sc.idle(5)
    at["gap"] = sc.now_ms
    sc.gap(20)
    at["idle3"] = sc.now_ms
    sc.idle(5)
    at["off3"] = sc.now_ms
    sc.park(10).idle(0.5).park(until_ms=T0 + 24 * H + 5 * 60_000)
    at["home"] = sc.now_ms
    sc.drive([HOME], cruise_kmh=60)
    at["home_end"] = sc.now_ms
    sc.park(until_ms=END)
    track, _ = sc.build()
    return track, at


def close(value: float, expected: float, tol: float = 2 * STEP_S) -> bool:
    return abs(value - expected) <= tol


def test_intervals_are_cut_at_long_gaps_and_end_at_the_first_off_fix() -> None:
    # Given on, on, off, on, (20 min gap) on, on
    t = np.array([0, 10, 20, 30, 30 + 1200, 1240, 1250], np.int64) * 1000
    on = np.array([True, True, False, True, True, True, False])
    # When the intervals are found
    starts, ends = on_intervals(t, on)
    # Then the first ends at the off fix, the second at the fix before the gap, the third at the off fix
    assert starts.tolist() == [0, 30_000, 1_230_000]
    assert ends.tolist() == [20_000, 30_000, 1_250_000]


def test_engine_hours_in_motion_and_idle_per_interval_and_day() -> None:
    # Given the night's story
    track, at = night()

    # When the engine hours report is built
    report = run(context(), {TRACKER: track})

    # Then four intervals remain (the 30 s blip is dropped; the gap cuts one in two), by day
    (sheet,) = report["sheets"]
    table, summary = sheet["sections"]
    assert [c["field"] for c in table["columns"]] == ["start", "end", "duration", "in_motion", "idle", "idle_pct"]
    assert [g["header"] for g in table["data"]] == ["Oct 6, 2020 (Tue) : 3", "Oct 7, 2020 (Wed) : 1"]
    first, second, third = table["data"][0]["rows"]
    (home,) = table["data"][1]["rows"]

    # And the drive to the shop plus 10 min of idling: motion = the drive, idle = 10 min
    assert close(first["start"]["raw"] / 1000, at["depart"] / 1000)
    assert close(first["end"]["raw"] / 1000, at["off"] / 1000)
    assert close(first["in_motion"]["raw"], (at["arrive"] - at["depart"]) / 1000)
    assert close(first["idle"]["raw"], 600.0)
    pct = 100 * first["idle"]["raw"] / first["duration"]["raw"]
    assert abs(first["idle_pct"]["raw"] - pct) <= 0.05
    # And the idling around the signal loss is two intervals of 5 minutes, all idle
    assert close(second["start"]["raw"] / 1000, at["idle2"] / 1000)
    assert close(second["end"]["raw"] / 1000, at["gap"] / 1000)
    assert close(third["start"]["raw"] / 1000, at["idle3"] / 1000)
    assert close(third["end"]["raw"] / 1000, at["off3"] / 1000)
    for row in (second, third):
        assert close(row["duration"]["raw"], 300.0) and row["in_motion"]["raw"] == 0.0
        assert row["idle_pct"]["v"] == "100.0"
    # And the drive home after midnight is nearly all motion
    assert close(home["in_motion"]["raw"], (at["home_end"] - at["home"]) / 1000)

    # And the day's total sums its rows; the summary holds minutes (wire format quirk)
    total = table["data"][0]["total"]
    assert total["duration"]["raw"] == sum(r["duration"]["raw"] for r in (first, second, third))
    rows = {r["name"]: r for r in summary["rows"]}
    all_s = sum(r["duration"]["raw"] for r in (first, second, third, home))
    assert abs(rows["Engine hours"]["raw"] - all_s / 60) < 0.01
    assert rows["Intervals"]["raw"] == 4.0


def test_time_filter_cuts_intervals_at_the_window_edges() -> None:
    # Given the night's story and a window that closes a minute after the drive's arrival
    track, at = night()
    close_s = (at["arrive"] // 1000 + 60) % 86_400
    to = f"{close_s // 3600:02d}:{close_s % 3600 // 60:02d}:{close_s % 60:02d}"
    ctx = replace(context(), time_filter={"from": "22:00", "to": to, "weekdays": [1, 2, 3, 4, 5, 6, 7]})
    # When the engine hours report is built
    report = run(ctx, {TRACKER: track})
    # Then the first interval is cut at the window's end: its motion is the drive, idle 1 minute
    ((only,),) = [g["rows"] for g in report["sheets"][0]["sections"][0]["data"]]
    assert close(only["start"]["raw"] / 1000, at["depart"] / 1000)
    assert only["end"]["raw"] == (at["arrive"] // 1000 + 60) * 1000
    assert close(only["in_motion"]["raw"], (at["arrive"] - at["depart"]) / 1000)
    assert close(only["idle"]["raw"], 60.0)


def test_not_detailed_lists_days() -> None:
    track, _ = night()
    table = run(context(show_detailed=False), {TRACKER: track})["sheets"][0]["sections"][0]
    assert [c["field"] for c in table["columns"]] == ["day", "duration", "in_motion", "idle", "idle_pct", "intervals"]
    (g,) = table["data"]
    assert g["header"] == "Days : 2"
    assert [r["day"]["v"] for r in g["rows"]] == ["Oct 6, 2020 (Tue)", "Oct 7, 2020 (Wed)"]
    assert [r["intervals"]["raw"] for r in g["rows"]] == [3.0, 1.0]
    assert g["total"]["intervals"]["raw"] == 4.0


def test_tracker_without_ignition_sensor_says_so_and_summary_sheet() -> None:
    # Given one tracker with an ignition sensor and one without
    track, _ = night()
    a = TrackerInfo(TRACKER, "Dmitry", (IGNITION,))
    b = TrackerInfo(2, "Trailer")
    # When built in Russian
    report = run(context(a, b, locale="ru_RU"), {TRACKER: track, 2: track})
    summary, first, second = report["sheets"]
    # Then the summary lists the tracker with the sensor; the other sheet says it has none
    assert summary["entity_ids"] == [TRACKER]
    assert summary["sections"][0]["data"][0]["rows"][0]["intervals"]["raw"] == 4.0
    assert first["sections"][0]["columns"][2]["title"] == "Моточасы"
    assert second["sections"][0]["type"] == "text"
    assert "зажигания" in second["sections"][0]["text"]
    # And hide_empty_tabs drops it
    assert len(run(context(a, b, hide_empty_tabs=True), {TRACKER: track, 2: track})["sheets"]) == 2


def test_ignition_from_the_sensor_column() -> None:
    # Given the ignition only in the sensor's input column (Track.ignition unknown)
    track, _ = night()
    track.sensors["ignition"] = track.ignition.astype(np.float64)
    track.ignition = np.full(len(track), -1, np.int8)
    # Then the same four intervals are found
    report = run(context(), {TRACKER: track})
    assert report["sheets"][0]["sections"][1]["rows"][4]["raw"] == 4.0


SUMMARY_DURATIONS = (("Engine hours", "duration"), ("In motion", "in_motion"), ("Idle", "idle"))


def test_the_summary_durations_in_a_spreadsheet_are_the_sums_of_the_rows_to_the_second() -> None:
    # Given the night's intervals, whose engine hours sum to seconds that minutes with 2 decimals
    # cannot hold
    track, _ = night()
    report = run(context(show_detailed=True), {TRACKER: track})
    sums = {name: row_seconds(report, field) for name, field in SUMMARY_DURATIONS}
    assert abs(as_minutes(sums["Engine hours"]) * 60.0 - sums["Engine hours"]) > 0.01
    # When it is rendered as XLSX
    summary = xlsx_summary(report)
    # Then the summary's engine hours, time in motion and idle time are the sums of the rows' to
    # the second, and the document keeps the wire format (minutes with 2 decimals)
    wire = {r["name"]: r["raw"] for r in report["sheets"][0]["sections"][1]["rows"]}
    for name, seconds in sums.items():
        assert summary[name].total_seconds() == pytest.approx(seconds, abs=1e-3), name
        assert wire[name] == as_minutes(seconds), name
