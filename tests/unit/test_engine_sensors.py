"""Plugin 9, measuring sensors: bucket statistics, day groups, smoothing and the chart."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fleet_reports.engine.model import Track
from fleet_reports.engine.plugins.sensors import downsample, rolling_median
from fleet_reports.engine.report import ReportError

from tests.support.drives import T0_MS, Drive
from tests.support.sensors import TRACKER, context, run


def sensor_track(days: int = 2) -> Track:
    """One fix per minute for ``days`` days (UTC), parked; the sensor reads 10 x (minute % 5)."""
    drive = Drive(t_ms=T0_MS - 60_000, step_s=60).halt(days * 86_400)
    track = drive.track()
    minutes = (track.t - T0_MS) // 60_000
    track.sensors["temp"] = (10.0 * (minutes % 5)).astype(np.float64)
    return track


def test_buckets_hold_min_max_average_per_interval_grouped_by_day() -> None:
    # Given two days of readings 0, 1, 2, 3, 4 (after the divider of 10) repeating every 5 minutes
    report = run(context(), sensor_track())
    table, chart = report["sheets"][0]["sections"]
    # Then the table has one group per day of 288 five-minute buckets
    assert [g["header"] for g in table["data"]] == ["Oct 6, 2020 (Tue) : 288", "Oct 7, 2020 (Wed) : 288"]
    first = table["data"][0]["rows"][0]
    # And each bucket has min 0, max 4, average 2, in the sensor's units
    assert first["time"] == {"v": "00:00", "raw": float(T0_MS), "type": "value"}
    assert (first["min"]["v"], first["max"]["v"], first["avg"]["v"]) == ("0.00", "4.00", "2.00")
    assert [c["title"] for c in table["columns"]] == ["Time", "Min.,\n°C", "Max.,\n°C", "Average,\n°C"]
    assert table["header"] == "Fridge temperature"
    total = table["data"][1]["total"]
    assert (total["text"], total["min"]["raw"], total["max"]["raw"], total["avg"]["raw"]) == ("In total:", 0, 4, 2)
    # And the chart is over time, with at most 2000 points
    assert chart["type"] == "chart"
    assert chart["x_axis"] == {"type": "time", "title": "Time", "units": ""}
    (series,) = chart["series"]
    assert series["name"] == "Fridge temperature"
    assert series["units"] == "°C"
    assert 0 < len(series["points"]) <= 2000
    assert series["points"][0] == [float(T0_MS), 0.0]


def test_hourly_buckets_average_the_hour() -> None:
    # Given hourly buckets
    table = run(context(details_interval_seconds=3600), sensor_track())["sheets"][0]["sections"][0]
    # Then 24 buckets a day, 60 readings each, averaging 2.0
    assert len(table["data"][0]["rows"]) == 24
    assert table["data"][0]["rows"][5]["avg"]["raw"] == 2.0


def test_smoothing_removes_a_lone_spike() -> None:
    # Given a single spike of 1000 in the readings
    track = sensor_track(days=1)
    track.sensors["temp"][100] = 10_000.0
    raw = run(context(), track)["sheets"][0]["sections"][0]
    smooth = run(context(smoothing=True), track)["sheets"][0]["sections"][0]

    # Then without smoothing the bucket's max is the spike; with the rolling median it is gone
    def top(t: dict[str, Any]) -> float:
        return max(r["max"]["raw"] for r in t["data"][0]["rows"])

    assert top(raw) == 1000.0
    assert top(smooth) <= 4.0


def test_chart_over_mileage_uses_distance_driven() -> None:
    # Given a drive of 10 km with a sensor reading at every fix
    drive = Drive(t_ms=T0_MS).halt(600).drive(10_000, 60).halt(600)
    track = drive.track()
    track.sensors["temp"] = np.full(len(track), 50.0)
    # When the chart is over mileage
    chart = run(context(graph_type="mileage"), track)["sheets"][0]["sections"][1]
    xs = [p[0] for p in chart["series"][0]["points"]]
    # Then x runs from 0 to 10 km, in the user's units
    assert chart["x_axis"]["type"] == "mileage"
    assert chart["x_axis"]["units"] == "km"
    assert xs[0] == 0.0
    assert xs[-1] == pytest.approx(10.0, rel=0.01)
    assert np.all(np.diff(xs) >= 0)


def test_tracker_without_readings_says_no_data_unless_hidden() -> None:
    # Given a track without the sensor's column
    track = Drive(t_ms=T0_MS).halt(3600).track()
    # Then the sheet says there is no data, or is dropped with hide_empty_tabs
    sheets = run(context(), track)["sheets"]
    assert sheets[0]["sections"][0]["text"] == "No data for the period"
    assert run(context(hide_empty_tabs=True), track)["sheets"] == []


def test_unknown_sensor_is_refused() -> None:
    ctx = context(sensors=[{"tracker_id": TRACKER, "sensor_id": 1}])
    with pytest.raises(ReportError):
        run(ctx, sensor_track(days=1))


def test_downsample_keeps_extremes() -> None:
    # Given 100,000 points with one spike up and one down
    x = np.arange(100_000, dtype=np.float64)
    y = np.sin(x / 1000.0)
    y[12_345] = 50.0
    y[67_890] = -50.0
    # When downsampled
    xs, ys = downsample(x, y)
    # Then at most 2000 points remain, in order, with both spikes
    assert len(xs) <= 2000
    assert np.all(np.diff(xs) > 0)
    assert 50.0 in ys and -50.0 in ys


def test_rolling_median_of_five() -> None:
    values = np.array([1.0, 1.0, 9.0, 1.0, 1.0, 2.0, 2.0])
    assert rolling_median(values).tolist() == [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
