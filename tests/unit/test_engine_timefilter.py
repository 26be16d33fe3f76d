"""Local days and the daily time_filter (docs/analytics.md, "Trips and parkings"), DST-correct."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fleet_reports.engine.motion import TripSettings, segment
from fleet_reports.engine.timefilter import (
    TimeFilter,
    cut_trips,
    day_index,
    in_windows,
    local_days,
    parse_time_of_day,
    windows,
)

from tests.support.drives import T0_MS, Drive

HOUR = 3_600_000
DAY = 24 * HOUR


def _ms(text: str, tz: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def test_trips_are_cut_at_the_window_edges() -> None:
    # Given a 60 km trip at constant speed from 07:30 to 08:30 (UTC), and a 08:00-18:00 filter
    drive = Drive(t_ms=T0_MS + 7 * HOUR + 20 * 60_000).halt(600).start().drive(60_000, 60).park(600)
    seg = segment(drive.track(), TripSettings())
    assert len(seg.trips) == 1
    tf = TimeFilter.parse({"from": "08:00", "to": "18:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]})
    # When the trips are cut at the filter's windows
    cut = cut_trips(seg, *windows(T0_MS, T0_MS + DAY - 1000, "UTC", tf))
    # Then the trip starts at 08:00 and keeps its end, with half of its distance
    assert len(cut) == 1
    assert cut.start_ms[0] == T0_MS + 8 * HOUR
    assert cut.end_ms[0] == seg.trips.end_ms[0]
    assert cut.distance_m[0] == pytest.approx(30_000, rel=0.01)
    # And its start position is interpolated on the road, half way
    assert cut.start_lat[0] == pytest.approx((seg.trips.start_lat[0] + seg.trips.end_lat[0]) / 2, abs=2e-3)


def test_a_trip_spanning_two_windows_becomes_two_pieces() -> None:
    # Given a trip from 11:30 to 13:30 and windows 08:00-12:00 and 13:00-18:00 (a lunch break)
    drive = Drive(t_ms=T0_MS + 11 * HOUR + 20 * 60_000).halt(600).start().drive(120_000, 60).park(600)
    seg = segment(drive.track(), TripSettings())
    ws = np.array([T0_MS + 8 * HOUR, T0_MS + 13 * HOUR], dtype=np.int64)
    we = np.array([T0_MS + 12 * HOUR, T0_MS + 18 * HOUR], dtype=np.int64)
    # When cut
    cut = cut_trips(seg, ws, we)
    # Then two pieces of 30 and 30 km remain
    assert len(cut) == 2
    assert cut.end_ms[0] == T0_MS + 12 * HOUR
    assert cut.start_ms[1] == T0_MS + 13 * HOUR
    assert cut.distance_m == pytest.approx([30_000, 30_000], rel=0.01)


@pytest.mark.parametrize("to", ["23:59", "23:59:59"])
def test_a_full_day_filter_changes_nothing_even_across_midnight(to: str) -> None:
    # Given a trip from 23:30 to 00:40 the next day
    drive = Drive(t_ms=T0_MS + 23 * HOUR + 20 * 60_000).halt(600).start().drive(70_000, 60).park(600)
    seg = segment(drive.track(), TripSettings())
    # When the seed's default filter (every day, whole day) is applied
    tf = TimeFilter.parse({"from": "00:00", "to": to, "weekdays": [1, 2, 3, 4, 5, 6, 7]})
    cut = cut_trips(seg, *windows(T0_MS, T0_MS + 2 * DAY - 1000, "UTC", tf))
    # Then the trip is the same, not cut at midnight
    assert len(cut) == 1
    assert cut.start_ms[0] == seg.trips.start_ms[0]
    assert cut.end_ms[0] == seg.trips.end_ms[0]
    assert cut.distance_m[0] == seg.trips.distance_m[0]
    # And it belongs to the day it starts
    _, bounds = local_days(T0_MS, T0_MS + 2 * DAY - 1000, "UTC")
    assert day_index(bounds, cut.start_ms)[0] == 0


def test_a_full_day_filter_on_some_weekdays_cuts_at_midnight_into_an_unlisted_day() -> None:
    # Given a trip from Tuesday 23:30 to Wednesday 00:40 and a whole-day filter on Tuesdays only
    drive = Drive(t_ms=T0_MS + 23 * HOUR + 20 * 60_000).halt(600).start().drive(70_000, 60).park(600)
    seg = segment(drive.track(), TripSettings())
    tf = TimeFilter.parse({"from": "00:00:00", "to": "23:59:59", "weekdays": [2]})
    # When cut
    cut = cut_trips(seg, *windows(T0_MS, T0_MS + 2 * DAY - 1000, "UTC", tf))
    # Then the trip ends at midnight
    assert len(cut) == 1
    assert cut.end_ms[0] == T0_MS + DAY


def test_an_overnight_window_ends_the_next_day() -> None:
    # Given a 22:00-06:00 filter on Tuesdays (2020-10-06 is a Tuesday)
    tf = TimeFilter.parse({"from": "22:00", "to": "06:00", "weekdays": [2]})
    # When the windows of Tuesday and Wednesday are built
    ws, we = windows(T0_MS, T0_MS + 2 * DAY - 1000, "UTC", tf)
    # Then one window runs from Tuesday 22:00 to Wednesday 06:00
    assert ws.tolist() == [T0_MS + 22 * HOUR]
    assert we.tolist() == [T0_MS + DAY + 6 * HOUR]
    assert in_windows(np.array([T0_MS + DAY + 5 * HOUR, T0_MS + DAY + 7 * HOUR]), ws, we).tolist() == [
        True,
        False,
    ]


def test_dst_day_cut_in_berlin() -> None:
    # Given the week-end of the end of summer time in Berlin (2020-10-25 has 25 hours)
    tz = "Europe/Berlin"
    start = _ms("2020-10-24T00:00:00", tz)
    end = _ms("2020-10-26T23:59:59", tz)
    # When local days are cut
    dates, bounds = local_days(start, end, tz)
    # Then the days are 24, 25 and 24 hours long
    assert dates == [date(2020, 10, 24), date(2020, 10, 25), date(2020, 10, 26)]
    assert np.diff(bounds).tolist() == [24 * HOUR, 25 * HOUR, 24 * HOUR]
    # And an instant at 23:30 local on the 25th (22:30 UTC) is on the 25th, while 00:30 local on
    # the 26th (23:30 UTC, still the 25th in UTC and for a fixed +02:00 offset) is on the 26th
    late = _ms("2020-10-25T23:30:00", tz)
    early = _ms("2020-10-26T00:30:00", tz)
    assert day_index(bounds, np.array([late, early])).tolist() == [1, 2]
    # And a whole-Sunday filter window lasts 25 hours
    ws, we = windows(start, end, tz, TimeFilter.parse({"from": "00:00", "to": "23:59", "weekdays": [7]}))
    assert (we - ws).tolist() == [25 * HOUR]


def test_dst_trip_after_midnight_is_grouped_on_its_local_day() -> None:
    # Given a trip starting 00:30 local on 2020-10-26 in Berlin (23:30 UTC on the 25th)
    tz = "Europe/Berlin"
    begin = _ms("2020-10-26T00:20:00", tz)
    drive = Drive(t_ms=begin).halt(600).start().drive(10_000, 60).park(600)
    seg = segment(drive.track(), TripSettings())
    # When its local day is found
    dates, bounds = local_days(_ms("2020-10-25T00:00:00", tz), _ms("2020-10-26T23:59:59", tz), tz)
    # Then it is the 26th
    assert dates[int(day_index(bounds, seg.trips.start_ms)[0])] == date(2020, 10, 26)


def test_time_of_day_formats() -> None:
    # Given the accepted formats / When parsed / Then seconds since midnight; bad input is refused
    assert parse_time_of_day("08:30") == 8 * 3600 + 30 * 60
    assert parse_time_of_day("08:30:15") == 8 * 3600 + 30 * 60 + 15
    for bad in ("8", "24:00", "12:60", "ab:cd", "1:2:3:4"):
        with pytest.raises(ValueError):
            parse_time_of_day(bad)
    assert TimeFilter.parse({"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]}).is_everything
    assert not TimeFilter.parse({"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3]}).is_everything
