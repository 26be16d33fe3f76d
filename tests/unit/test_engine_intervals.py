"""The engine's primitives: runs and cover, the interval base, the driver at time t, and the
order of the row groups of each plugin that groups by driver."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from fleet_reports.engine.catalog import SpeedingParams, StopsParams, TripsParams
from fleet_reports.engine.drivers import drivers_at
from fleet_reports.engine.intervals import (
    cover,
    expand_ranges,
    key_runs,
    overlap_s,
    range_reduce,
    runs,
    time_on_function,
)
from fleet_reports.engine.model import DriverShift, ReportContext, Track, TrackerInfo
from fleet_reports.engine.motion import Parkings, Trips, TripSettings
from fleet_reports.engine.plugins import speeding, stops, trips
from fleet_reports.engine.plugins.common import TrackerData, row_groups
from fleet_reports.engine.plugins.engine_hours import EngineIntervals
from fleet_reports.engine.plugins.speeding import Violations
from fleet_reports.engine.zones import Visits


def arr(*values: int) -> Any:
    return np.array(values, np.int64)


def mask(text: str) -> Any:
    return np.array([c == "1" for c in text], np.bool_)


# --------------------------------------------------------------------------------------------
# runs, key_runs, cover
# --------------------------------------------------------------------------------------------


def test_runs_are_first_and_last_index_of_each_run_of_true() -> None:
    # Given a mask with runs of one, two and three True values
    # When its runs are found / Then each run is (first, last), both inclusive
    first, last = runs(mask("0110100111"))
    assert first.tolist() == [1, 4, 7]
    assert last.tolist() == [2, 4, 9]


def test_a_break_cuts_a_run_in_two() -> None:
    # Given five True values with a break between the second and third (a data gap)
    # When the runs are found with the breaks
    first, last = runs(mask("11111"), mask("0100"))
    # Then the break makes two runs; a break between False values changes nothing
    assert (first.tolist(), last.tolist()) == ([0, 2], [1, 4])
    assert [r.tolist() for r in runs(mask("1001"), mask("010"))] == [[0, 3], [0, 3]]


def test_runs_of_nothing() -> None:
    # Given no True value, or no value at all / Then there is no run
    for m in (mask("000"), mask("")):
        first, last = runs(m, np.zeros(max(m.shape[0] - 1, 0), np.bool_))
        assert first.size == 0 and last.size == 0
    # And a single True value is a run of one
    assert [r.tolist() for r in runs(mask("1"))] == [[0], [0]]


def test_key_runs_are_the_runs_of_equal_consecutive_keys() -> None:
    # Given the local day of each row, in time order
    first, last = key_runs(arr(0, 0, 1, 1, 1, 3))
    # Then each day's rows are one run
    assert (first.tolist(), last.tolist()) == ([0, 2, 5], [1, 4, 5])
    assert key_runs(arr())[0].size == 0


def test_cover_is_the_union_of_inclusive_ranges() -> None:
    # Given overlapping, touching and single-element ranges over 10 elements
    covered = cover(10, arr(1, 2, 6, 9), arr(3, 4, 6, 9))
    # Then the mask holds every element of any range
    assert covered.tolist() == [False, True, True, True, True, False, True, False, False, True]
    # And no range covers nothing
    assert not cover(4, arr(), arr()).any()


def test_expand_ranges_and_range_reduce() -> None:
    # Given two ranges of a column
    values = np.array([5.0, 1.0, 7.0, 2.0, 9.0, 4.0])
    idx, offsets, lengths = expand_ranges(arr(1, 3), arr(2, 5))
    # Then their elements are listed one range after the other, with offsets and lengths
    assert idx.tolist() == [1, 2, 3, 4, 5] and offsets.tolist() == [0, 2] and lengths.tolist() == [2, 3]
    # And a ufunc reduces over each
    assert range_reduce(np.maximum, values, arr(1, 3), arr(2, 5)).tolist() == [7.0, 9.0]


def test_time_inside_disjoint_intervals() -> None:
    # Given intervals [0, 10 s] and [20 s, 30 s]
    fn = time_on_function(arr(0, 20_000), arr(10_000, 30_000))
    # When measured over spans / Then each gets its seconds inside them
    assert overlap_s(fn, arr(0, 5_000, 12_000, 0), arr(30_000, 25_000, 18_000, 0)).tolist() == [20.0, 10.0, 0.0, 0.0]
    # And no interval is no time
    assert overlap_s(time_on_function(arr(), arr()), arr(0), arr(99)).tolist() == [0.0]


# --------------------------------------------------------------------------------------------
# The interval base
# --------------------------------------------------------------------------------------------


def test_every_interval_table_shares_length_durations_take_and_empty() -> None:
    # Given an empty table of each kind
    info = TrackerInfo(1, "Van")
    empties = [
        Trips.empty(),
        Parkings.empty(),
        Violations.empty(info=info),
        Visits.empty(),
        EngineIntervals.empty(),
    ]
    # Then each is empty, with columns of their own dtypes
    for e in empties:
        assert len(e) == 0 and e.is_empty and e.duration_s.dtype == np.float64 and e.total_s == 0.0
    assert Trips.empty().start_idx.dtype == np.int64 and Trips.empty().distance_m.dtype == np.float64
    assert Visits.empty().start_ms.dtype == np.float64  # interpolated instants
    assert Violations.empty(info=info).info is info


def test_take_keeps_every_column_in_step_and_the_scalars() -> None:
    # Given two speed violations of one tracker
    info = TrackerInfo(7, "Truck")
    v = Violations(
        info=info,
        start_ms=arr(0, 60_000),
        end_ms=arr(30_000, 180_000),
        distance_m=np.array([500.0, 3000.0]),
        max_speed_kmh=np.array([70.0, 95.0]),
        lat=np.array([55.0, 55.1]),
        lng=np.array([37.0, 37.1]),
    )
    # Then lengths and durations come from the base
    assert len(v) == 2 and v.duration_s.tolist() == [30.0, 120.0] and v.total_s == 150.0
    assert v.avg_speed_kmh.tolist() == [60.0, 90.0]
    # When one is taken (by index or by mask)
    for index in (arr(1), np.array([False, True])):
        one = v.take(index)
        # Then its columns stay together and its tracker stays
        assert one.info is info and one.start_ms.tolist() == [60_000] and one.lat.tolist() == [55.1]


def test_visits_keep_their_entry_and_exit_names() -> None:
    # Given a zone visit (entry and exit interpolated between fixes)
    v = Visits(start_ms=np.array([1500.5]), end_ms=np.array([9500.5]), first_idx=arr(2), last_idx=arr(8))
    # Then entry and exit are its start and end, and it lasts 8 s
    assert v.entry_ms.tolist() == [1500.5] and v.exit_ms.tolist() == [9500.5] and v.duration_s.tolist() == [8.0]


# --------------------------------------------------------------------------------------------
# The driver at time t
# --------------------------------------------------------------------------------------------

SHIFTS = (
    DriverShift(1, 1, "Anna", 0, 100),
    DriverShift(1, 2, "Boris", 50, 80),  # inside Anna's: started later, wins while it lasts
    DriverShift(1, 3, "Clara", 200, None),  # open: still driving
    DriverShift(1, 4, "Dmitri", 200, 300),  # same start as Clara, listed later: wins
    DriverShift(2, 5, "Elena", 0, None),  # another tracker
)


def test_of_overlapping_shifts_the_one_that_started_last_wins() -> None:
    # Given overlapping shifts of tracker 1
    at = arr(0, 49, 50, 79, 80, 100, 150, 200, 299, 300, 10**12)
    # When the driver is looked up at each instant
    # Then the later start wins, ends are exclusive, an open shift runs on, and nobody is None
    assert drivers_at(1, at, SHIFTS) == [
        "Anna",
        "Anna",
        "Boris",
        "Boris",
        "Anna",
        None,
        None,
        "Dmitri",
        "Dmitri",
        "Clara",
        "Clara",
    ]
    # And with the plugin's label, nobody reads as that label; other trackers' shifts never count
    assert drivers_at(3, arr(0, 10), SHIFTS, "Unidentified driver") == ["Unidentified driver"] * 2
    assert drivers_at(1, arr(), SHIFTS) == []


# --------------------------------------------------------------------------------------------
# Row groups: one helper, each plugin's order
# --------------------------------------------------------------------------------------------

UNKNOWN = "Unidentified driver"


def groups_of(days: list[int], drivers: list[Any] | None, **kw: Any) -> list[list[int]]:
    return [g.tolist() for g in row_groups(np.array(days, np.int64), drivers, **kw)]


def test_without_drivers_rows_are_grouped_per_day_in_time_order() -> None:
    assert groups_of([0, 0, 1, 3, 3], None) == [[0, 1], [2], [3, 4]]
    assert groups_of([], None) == []


def test_by_name_groups_drivers_alphabetically_then_by_day_nobody_last() -> None:
    # Given rows over two days: Zoe, nobody, Adam, Zoe on day 0; Adam, nobody on day 1
    days = [0, 0, 0, 0, 1, 1]
    # When grouped by name with nobody as None (Trips)
    got = groups_of(days, ["Zoe", None, "Adam", "Zoe", "Adam", None], order="by_name")
    # Then Adam's days, then Zoe's, then nobody's; rows keep their time order within a group
    assert got == [[2], [4], [0, 3], [1], [5]]
    # And with nobody as the label (Speed violation), the label goes last too
    named = ["Zoe", UNKNOWN, "Adam", "Zoe", "Adam", UNKNOWN]
    assert groups_of(days, named, unidentified=UNKNOWN, order="by_name") == got


def test_first_seen_groups_drivers_as_they_first_appear() -> None:
    # Given the same rows, nobody as the label (Stops)
    days = [0, 0, 0, 0, 1, 1]
    named = ["Zoe", UNKNOWN, "Adam", "Zoe", "Adam", UNKNOWN]
    # When grouped first seen / Then Zoe, the unidentified, Adam: the order they appear in
    assert groups_of(days, named, unidentified=UNKNOWN, order="first_seen") == [[0, 3], [1], [5], [2], [4]]


def test_each_plugin_keeps_its_own_driver_order() -> None:
    # The golden reports pin each plugin's current order: Trips and Speed violation by name,
    # nobody last; Stops as the drivers first appear.
    assert trips.DRIVER_ORDER == "by_name"
    assert speeding.DRIVER_ORDER == "by_name"
    assert stops.DRIVER_ORDER == "first_seen"


# A day of three drives at 90 km/h between four 20-minute parkings, one fix every 10 s.
T0 = 1_601_964_000_000  # 2020-10-06 06:00:00 UTC
PARK_S, DRIVE_S, STEP_S = 1200, 900, 10
TRACKER = TrackerInfo(42, "Van 42")


def three_drives() -> tuple[Track, list[int], list[int]]:
    """The track, each drive's first fix time and each parking's first fix time."""
    speed: list[float] = []
    drive_starts: list[int] = []
    park_starts: list[int] = []
    for leg in range(7):
        parked = leg % 2 == 0
        (park_starts if parked else drive_starts).append(T0 + len(speed) * STEP_S * 1000)
        speed += [0.0 if parked else 90.0] * ((PARK_S if parked else DRIVE_S) // STEP_S)
    n = len(speed)
    v = np.array(speed)
    east_m = np.concatenate(([0.0], np.cumsum(v[:-1] / 3.6 * STEP_S)))
    track = Track(
        t=T0 + np.arange(n, dtype=np.int64) * STEP_S * 1000,
        lat=np.full(n, 55.0),
        lng=37.0 + np.degrees(east_m / (6_371_008.8 * np.cos(np.radians(55.0)))),
        speed=v.astype(np.float32),
        heading=np.full(n, 90.0, np.float32),
        alt=np.full(n, np.nan, np.float32),
        satellites=np.full(n, 9, np.int8),
        hdop=np.full(n, np.nan, np.float32),
        odometer=np.full(n, np.nan),
        ignition=np.full(n, -1, np.int8),
    )
    return track, drive_starts, park_starts


def context(shifts: tuple[DriverShift, ...]) -> ReportContext:
    return ReportContext(
        report_id=1,
        title="Drivers",
        created="2020-10-06 23:00:00",
        period_from="2020-10-06 00:00:00",
        period_to="2020-10-06 23:59:59",
        from_ms=1_601_942_400_000,
        to_ms=1_601_942_400_000 + 86_399_000,
        time_zone="UTC",
        locale="en_US",
        measurement_system="metric",
        time_filter={},
        plugin={},
        trackers=(TRACKER,),
        drivers=shifts,
    )


@pytest.mark.parametrize(
    ("plugin", "params", "expected"),
    [
        (trips, TripsParams(plugin_id=4, group_by_driver=True), ["Adam", "Zed", UNKNOWN]),
        (speeding, SpeedingParams(plugin_id=27, group_by_driver=True, max_speed=80), ["Adam", "Zed", UNKNOWN]),
        (stops, StopsParams(plugin_id=6, group_by_driver=True), [UNKNOWN, "Zed", "Adam"]),
    ],
)
def test_group_order_by_driver_per_plugin(plugin: Any, params: Any, expected: list[str]) -> None:
    # Given three drives: Zed drives the first, Adam the second, nobody the third; the day
    # starts parked with nobody assigned
    track, drives, _ = three_drives()
    minute = 60_000
    shifts = (
        DriverShift(TRACKER.id, 1, "Zed", drives[0] - minute, drives[1] - 10 * minute),
        DriverShift(TRACKER.id, 2, "Adam", drives[1] - minute, drives[2] - 10 * minute),
    )
    data = TrackerData(TRACKER, TripSettings(), track)
    # When the plugin groups its rows by driver
    ctx = context(shifts)
    (sheet,) = plugin.sheets(ctx, params, [plugin.compute(ctx, params, data)])
    headers = [g["header"] for g in sheet["sections"][0]["data"]]
    # Then its groups come in its own order: by name with nobody last (Trips, Speed violation),
    # or as the drivers first appear (Stops: the first parking is nobody's)
    assert [re.split(r",| — ", h)[0] for h in headers] == expected
