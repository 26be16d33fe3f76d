"""Plugin 4 (Trips) with ``group_by_driver``: rows grouped by the driver assigned at each trip's start."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet_reports.engine.drivers import drivers_at
from fleet_reports.engine.model import DriverShift, ReportContext, TrackerInfo

from tests.support.properties import EXAMPLES
from tests.support.render import as_minutes, row_seconds, xlsx_summary
from tests.support.seed import FROM_MS, SEED_TRACKER, SEED_TRIPS, run, seed_context
from tests.support.speeding import random_drive, speed_cells

HOUR_MS = 3_600_000


def by_driver(locale: str = "en_US", shifts: tuple[DriverShift, ...] = ()) -> dict[str, Any]:
    ctx = seed_context(locale=locale, drivers=shifts)
    ctx = replace(ctx, plugin={**ctx.plugin, "group_by_driver": True})
    table: dict[str, Any] = run(ctx)["sheets"][0]["sections"][0]
    return table


# Alice drives trips 1-2, Bob trips 4-5 (and holds another tracker), nobody trips 3 and 6-7.
SHIFTS = (
    DriverShift(SEED_TRACKER, 1, "Alice", SEED_TRIPS[0][0] - HOUR_MS, SEED_TRIPS[1][0] + 60_000),
    DriverShift(SEED_TRACKER, 2, "Bob", SEED_TRIPS[3][0] - 60_000, SEED_TRIPS[4][1]),
    DriverShift(999, 3, "Carol", 0, None),
)


def test_trips_are_grouped_by_the_driver_at_their_start_and_the_rest_are_unidentified() -> None:
    # Given the seed's seven trips and shifts covering the starts of trips 1-2 (Alice) and 4-5 (Bob)
    # When the report is built with group_by_driver
    table = by_driver(shifts=SHIFTS)
    # Then there is a group per driver (and day), the unassigned trips last, rows keep their order
    headers = [g["header"] for g in table["data"]]
    assert headers == [
        "Alice, Oct 6, 2020 (Tue) : 2",
        "Bob, Oct 6, 2020 (Tue) : 2",
        "Unidentified driver, Oct 6, 2020 (Tue) : 3",
    ]
    starts = [[r["from"]["raw"] for r in g["rows"]] for g in table["data"]]
    assert starts == [
        [SEED_TRIPS[0][0], SEED_TRIPS[1][0]],
        [SEED_TRIPS[3][0], SEED_TRIPS[4][0]],
        [SEED_TRIPS[2][0], SEED_TRIPS[5][0], SEED_TRIPS[6][0]],
    ]
    # And each group's total is its own trips' length
    assert [g["total"]["length"]["v"] for g in table["data"]] == ["213.3", "96.3", "214.3"]


def test_without_shifts_every_trip_is_unidentified_and_translated() -> None:
    # Given no driver assignments, a Russian report
    # When built with group_by_driver
    table = by_driver(locale="ru_RU")
    # Then one group holds all seven trips under the translated "Unidentified driver"
    (only,) = table["data"]
    assert only["header"].startswith("Неопознанный водитель, ")
    assert only["header"].endswith(": 7")
    assert len(only["rows"]) == 7


def test_group_by_driver_off_groups_by_day_only() -> None:
    # Given shifts, but group_by_driver off
    ctx = seed_context(drivers=SHIFTS)
    # When built / Then the seed's single day group is unchanged
    (group,) = run(ctx)["sheets"][0]["sections"][0]["data"]
    assert group["header"] == "Oct 6, 2020 (Tue) : 7"


def test_drivers_at_picks_the_shift_that_started_last_and_respects_open_ends() -> None:
    # Given overlapping shifts and an open one
    shifts = (
        DriverShift(1, 1, "A", 0, 100),
        DriverShift(1, 2, "B", 50, 80),
        DriverShift(1, 3, "C", 200, None),
        DriverShift(2, 4, "D", 0, None),
    )
    # When looked up / Then the later shift wins in the overlap, ends are exclusive, gaps are None
    at = np.array([0, 60, 80, 100, 150, 10**12], np.int64)
    assert drivers_at(1, at, shifts) == ["A", "B", "A", None, None, "C"]
    assert drivers_at(3, at, shifts) == [None] * 6


VANS = (TrackerInfo(1, "Van 1"), TrackerInfo(2, "Van 2"))


def vans_context(**plugin: Any) -> ReportContext:
    ctx = seed_context(trackers=VANS)
    return replace(ctx, plugin={**ctx.plugin, **plugin})


@settings(max_examples=EXAMPLES or 30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**20), st.integers(0, 2**20), st.booleans(), st.booleans())
def test_max_speed_is_at_least_the_average_in_every_row_total_and_summary(
    seed_a: int, seed_b: int, split: bool, by_driver: bool
) -> None:
    # Given two vans on random drives (speeds, headings, halts, sampling), their trackers sending
    # positions only, one in the morning and one in the evening
    tracks = {
        1: random_drive(seed_a, FROM_MS + 7 * HOUR_MS)[0].track(device_speed=False),
        2: random_drive(seed_b, FROM_MS + 19 * HOUR_MS)[0].track(device_speed=False),
    }
    # When the trip report is built (trips split or one a day), with its summary sheet
    report = run(vans_context(split=split, group_by_driver=by_driver), tracks)
    # Then every row and every total of every sheet shows a max speed at least its average
    cells = speed_cells(report)
    assert cells and all(top >= avg for top, avg in cells)
    # And so does every van's summary
    for sheet in report["sheets"][1:]:
        summary = {r["name"]: r["raw"] for r in sheet["sections"][1]["rows"]}
        assert summary["Max. speed, km/h"] >= summary["Average speed, km/h"]


def test_the_summary_travel_time_in_a_spreadsheet_is_the_sum_of_the_rows_to_the_second() -> None:
    # Given a van's random drive whose trips sum to seconds that minutes with 2 decimals cannot hold
    drive, _ = random_drive(3, FROM_MS + 7 * HOUR_MS)
    report = run(vans_context(show_seconds=True), {1: drive.track()})
    travel = row_seconds(report, "time", sheet=1)
    assert abs(as_minutes(travel) * 60.0 - travel) > 0.01
    # When it is rendered as XLSX
    summary = xlsx_summary(report, sheet=1)
    # Then the summary's travel time is the sum of the rows' to the second, and the document keeps
    # the wire format (minutes with 2 decimals)
    assert summary["Travel time"].total_seconds() == pytest.approx(travel, abs=1e-3)
    assert report["sheets"][1]["sections"][1]["rows"][2]["raw"] == as_minutes(travel)
