"""Plugin 27, Speed violation: drives with a known speed profile give known violations."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet_reports.engine.catalog import SpeedingParams
from fleet_reports.engine.geo import haversine_m
from fleet_reports.engine.model import DriverShift, Place, Track
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.plugins.common import TrackerData
from fleet_reports.engine.plugins.speeding import compute_violations
from fleet_reports.engine.report import plugin_params
from fleet_reports.sim import geo
from fleet_reports.sim.drive import Scenario

from tests.support.drives import Drive
from tests.support.properties import EXAMPLES
from tests.support.reports import run
from tests.support.speeding import DAY_MS, OTHER, T0, TRACKER, A, context, random_drive, rows_of, speed_cells, steps


def north(metres: float, origin: tuple[float, float] = A) -> tuple[float, float]:
    lat, lng = geo.destination(origin[0], origin[1], 0.0, metres)
    return float(lat), float(lng)


def scenario(start_ms: int = T0, kmh: float = 100.0, interval_s: float = 10.0) -> Scenario:
    """Park 10 min at A, drive 10 km due north at a constant ``kmh`` (ramps at the ends), park 10 min."""
    sc = Scenario(start_ms, *A, interval_s=interval_s, noise=False)
    return sc.park(10).drive([north(10_000.0)], cruise_kmh=kmh, road=False, variation=0.0).park(10)


def test_crossings_are_interpolated_between_fixes() -> None:
    # Given fixes every 10 s at 80, 100, 100, 100, 80 km/h and a limit of 90 km/h
    track = steps([80, 80, 100, 100, 100, 80, 80])
    # When the report is built
    (row,) = rows_of(run(context(), {TRACKER.id: track}))
    # Then the violation starts halfway between 80 and 100 (5 s after the fix at 80) and ends likewise:
    # 07:00:15 to 07:00:45, 30 s; max 100 km/h; its distance is the path driven over those 30 s
    assert (row["start"]["v"], row["end"]["v"]) == ("07:00:15", "07:00:45")
    assert (row["start"]["raw"], row["end"]["raw"]) == (T0 + 15_000, T0 + 45_000)
    assert row["duration"] == {"v": "00:00:30", "raw": 30.0, "type": "value"}
    assert row["max_speed"]["raw"] == 100.0
    # 2.5 s at 85..90 -> interpolated legs: 30 s at about 97 km/h = 0.81 km
    cum = np.concatenate(([0.0], np.cumsum(haversine_m(track.lat[:-1], track.lng[:-1], track.lat[1:], track.lng[1:]))))
    expected_km = (np.interp(45.0, np.arange(7) * 10.0, cum) - np.interp(15.0, np.arange(7) * 10.0, cum)) / 1000.0
    assert row["distance"]["raw"] == pytest.approx(round(expected_km, 2))
    assert row["avg_speed"]["raw"] == pytest.approx(round(expected_km / 30.0 * 3600.0))


def test_a_violation_must_last_strictly_longer_than_the_minimum() -> None:
    # Given the 30-second violation above
    track = {TRACKER.id: steps([80, 80, 100, 100, 100, 80, 80])}
    # When the minimum is exactly 30 s, Then it is not reported (hide_empty_tabs: no sheet at all)
    assert run(context(min_duration_minutes=0.5, hide_empty_tabs=True), track)["sheets"] == []
    # And with a minimum just under 30 s it is
    assert len(rows_of(run(context(min_duration_minutes=0.49), track))) == 1


def test_a_drive_at_100_against_90_matches_the_true_speed_profile() -> None:
    # Given a 10 km drive at 100 km/h with ramps, sampled every 10 s, and the same motion every 0.1 s
    track, truth = scenario().build()
    dense, _ = scenario(interval_s=0.1).build()
    over = dense.t[dense.speed > 90.0]
    true_start, true_end = int(over[0]), int(over[-1])
    dense_cum = np.concatenate(
        ([0.0], np.cumsum(haversine_m(dense.lat[:-1], dense.lng[:-1], dense.lat[1:], dense.lng[1:])))
    )

    # When the report is built with a limit of 90 km/h and a 1-minute minimum
    report = run(context(min_duration_minutes=1), {TRACKER.id: track})

    # Then one violation, its ends within a third of the sampling interval of the truth
    (row,) = rows_of(report)
    assert abs(row["start"]["raw"] - true_start) <= 3000
    assert abs(row["end"]["raw"] - true_end) <= 3000
    assert row["duration"]["raw"] == pytest.approx((true_end - true_start) / 1000.0, abs=5.0)
    # its max speed the cruise, its average the cruise (the ends are at 90..100), its distance the
    # true path between its reported ends within 1 %
    assert row["max_speed"]["raw"] == 100.0
    assert row["avg_speed"]["raw"] == pytest.approx(100.0, abs=1.0)
    true_km = (
        np.interp(row["end"]["raw"], dense.t, dense_cum) - np.interp(row["start"]["raw"], dense.t, dense_cum)
    ) / 1000
    assert row["distance"]["raw"] == pytest.approx(true_km, rel=0.01)
    assert truth.trips[0].start_ms < row["start"]["raw"] < row["end"]["raw"] < truth.trips[0].end_ms
    # And the columns, the day group, its total, the summary and the small print
    table, summary, note = report["sheets"][0]["sections"]
    assert [(c["field"], c["title"]) for c in table["columns"]] == [
        ("start", "Start"),
        ("end", "End"),
        ("duration", "Duration"),
        ("max_speed", "Max. speed,\nkm/h"),
        ("avg_speed", "Average speed,\nkm/h"),
        ("distance", "Distance,\nkm"),
        ("address", "Address"),
    ]
    (day,) = table["data"]
    assert day["header"] == "Oct 6, 2020 (Tue) : 1"
    assert day["total"]["text"] == "In total:"
    assert day["total"]["duration"] == row["duration"] and day["total"]["max_speed"] == row["max_speed"]
    assert [r["name"] for r in summary["rows"]] == ["Violations", "Duration", "Max. speed, km/h", "Distance, km"]
    assert summary["rows"][1]["raw"] == pytest.approx(row["duration"]["raw"] / 60.0, abs=0.01)
    assert note == {"type": "text", "text": "Speed over 90 km/h for longer than 1 min.", "style": "small_print"}


def test_under_the_limit_is_no_violation_and_empty_tabs_say_so() -> None:
    # Given the drive at 80 km/h against a limit of 90
    report = run(context(), {TRACKER.id: scenario(kmh=80.0).build()[0]})
    # When the report is built, Then the sheet says there is no data
    (sheet,) = report["sheets"]
    assert sheet["sections"] == [{"type": "text", "text": "No data for the period", "style": "normal"}]


@pytest.mark.parametrize(
    ("system", "limit", "found", "title"),
    [("metric", 90, 1, "Max. speed,\nkm/h"), ("imperial", 56, 1, "Max. speed,\nmph"), ("us", 63, 0, "Max. speed,\nmph"),
     ("nautical", 54, 0, "Max. speed,\nkn"), ("nautical", 48, 1, "Max. speed,\nkn")],
)  # fmt: skip
def test_max_speed_is_in_the_users_units(system: str, limit: int, found: int, title: str) -> None:
    # Given the 100 km/h drive (62.1 mph, 54.0 kn) and a limit in the user's units
    ctx = replace(context(max_speed=limit), measurement_system=system)
    report = run(ctx, {TRACKER.id: scenario().build()[0]})
    # When the report is built, Then the drive violates only limits under 100 km/h in those units
    rows = rows_of(report) if report["sheets"][0]["sections"][0]["type"] == "table" else []
    assert len(rows) == found
    if found:
        assert report["sheets"][0]["sections"][0]["columns"][3]["title"] == title
        assert rows[0]["max_speed"]["raw"] == round(
            100.0 / {"metric": 1.0, "imperial": 1.609344, "nautical": 1.852}[system]
        )


def test_group_by_driver_and_address() -> None:
    # Given two drives on two days, the first in Ivan's shift, and a place where the speeding starts
    tracks = {TRACKER.id: Track.concat([scenario().build()[0], scenario(T0 + DAY_MS).build()[0]])}
    ivan = DriverShift(TRACKER.id, 7, "Ivan Petrov", T0 - 3_600_000, T0 + 3_600_000)
    spot = Place("Ramp", "Highway ramp, Moscow Oblast", *north(300.0), radius_m=400.0)
    ctx = replace(context(group_by_driver=True, show_coordinates=True), drivers=(ivan,), places=(spot,))
    # When the report is built
    data = run(ctx, {**tracks})["sheets"][0]["sections"][0]["data"]
    # Then Ivan's group comes first, then the unidentified driver's, each by its day
    assert [g["header"] for g in data] == [
        "Ivan Petrov, Oct 6, 2020 (Tue) : 1",
        "Unidentified driver, Oct 7, 2020 (Wed) : 1",
    ]
    # And the address is the place's, with the coordinates, located at the start
    address = data[0]["rows"][0]["address"]
    assert address["v"].startswith("Highway ramp, Moscow Oblast (55.00")
    assert address["raw"] == data[0]["rows"][0]["start"]["raw"]
    assert set(address["location"]) == {"lat", "lng"}


def test_russian_summary_sheet_and_time_filter() -> None:
    # Given two trucks (the second one never speeding), a Russian user, a filter from 07:12
    tracks = {TRACKER.id: scenario().build()[0], OTHER.id: scenario(kmh=80.0).build()[0]}
    ctx = replace(context((TRACKER, OTHER)), locale="ru_RU")
    full = rows_of(run(ctx, tracks), 1)[0]
    ctx = replace(ctx, time_filter={"from": "07:12", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]})
    # When the report is built
    report = run(ctx, tracks)
    summary, truck, other = report["sheets"]
    # Then the summary sheet has a row per truck and Russian titles
    assert summary["header"] == "Сводка"
    (g,) = summary["sections"][0]["data"]
    assert g["header"] == "Трекеры : 2" and [r["count"]["raw"] for r in g["rows"]] == [1.0, 0.0]
    assert truck["sections"][0]["header"] == "Превышения скорости"
    # And the violation is cut at 07:12 and ends as without the filter
    (row,) = rows_of(report, 1)
    assert row["start"]["raw"] == T0 + 12 * 60_000 and row["end"] == full["end"]
    assert other["sections"][0]["text"] == "Нет данных за период"


# ---------------------------------------------------------------- max speed >= average speed


def pulsing(legs: int = 30, fast: float = 140.0, slow: float = 100.0) -> Drive:
    """Park 5 min at A, then ``legs`` legs of 10 s due north alternately at ``fast`` and ``slow``
    km/h, one fix at each change of speed, then park 5 min."""
    drive = Drive(t_ms=T0, lat=A[0], lng=A[1], step_s=10.0).halt(300).start()
    for k in range(legs):
        kmh = fast if k % 2 == 0 else slow
        drive.drive(kmh / 3.6 * 10.0, kmh)
    return drive.park(300)


def test_a_pulsing_drive_without_device_speed_shows_a_max_speed_at_least_its_average() -> None:
    # Given a vehicle pulsing between 140 and 100 km/h every 10 s for 5 minutes, its tracker
    # sending positions only: the speeds derived from them miss its peaks
    track = pulsing().track(device_speed=False)
    # When the report is built against 90 km/h
    report = run(context(), {TRACKER.id: track})
    # Then one violation, its average the vehicle's mean speed (as long at 140 as at 100 km/h)
    (row,) = rows_of(report)
    assert row["avg_speed"]["raw"] == pytest.approx(120.0, abs=2.0)
    # And its max speed at least that average, at most the vehicle's top speed
    assert row["avg_speed"]["raw"] <= row["max_speed"]["raw"] <= 140.0
    # And so the day's total; the summary's max speed is the row's
    table, summary, _ = report["sheets"][0]["sections"]
    total = table["data"][0]["total"]
    assert total["avg_speed"]["raw"] <= total["max_speed"]["raw"] == row["max_speed"]["raw"]
    assert summary["rows"][2]["raw"] == row["max_speed"]["raw"]


@settings(max_examples=EXAMPLES or 40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**20), st.integers(0, 2**20), st.booleans())
def test_max_speed_is_at_least_the_average_in_every_row_total_and_summary(
    seed_a: int, seed_b: int, by_driver: bool
) -> None:
    # Given two vehicles on random drives (speeds, headings, halts, sampling), their trackers
    # sending positions only, the second one starting in the evening
    (drive_a, top_a), (drive_b, top_b) = random_drive(seed_a), random_drive(seed_b, T0 + 12 * 3_600_000)
    tracks = {TRACKER.id: drive_a.track(device_speed=False), OTHER.id: drive_b.track(device_speed=False)}
    ctx = context((TRACKER, OTHER), group_by_driver=by_driver)
    # When the report is built, with its summary sheet
    report = run(ctx, tracks)
    # Then every row and every total of every sheet shows a max speed at least its average
    cells = speed_cells(report)
    assert cells and all(top >= avg for top, avg in cells)
    # And no max speed above the vehicles' true top speed
    assert all(top <= round(max(top_a, top_b) * 1.001) for top, _ in cells)
    # And behind the totals: over any set of a tracker's violations, distance / duration is at most
    # the highest max speed of the set (each violation's max is at least its own average)
    params = plugin_params(ctx.plugin)
    assert isinstance(params, SpeedingParams)
    for info, track in ((TRACKER, tracks[TRACKER.id]), (OTHER, tracks[OTHER.id])):
        v = compute_violations(params, 90.0, TrackerData(info, TripSettings(), track), None)
        assert np.all(v.max_speed_kmh >= v.avg_speed_kmh)
        keys = range(min(len(v), 8))
        for some in itertools.chain.from_iterable(itertools.combinations(keys, k) for k in range(1, len(keys) + 1)):
            ks = list(some)
            average = v.distance_m[ks].sum() * 3.6 / v.duration_s[ks].sum()
            assert average <= v.max_speed_kmh[ks].max() * (1 + 1e-12)
