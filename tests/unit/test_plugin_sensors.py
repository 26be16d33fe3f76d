"""Plugin 9, measuring sensors: the average of a table row or total stays within its min and max."""

from __future__ import annotations

import numpy as np

from fleet_reports.engine.model import Track

from tests.support.drives import T0_MS, Drive
from tests.support.sensors import context, run


def steady_track(raw: float) -> Track:
    """One fix per minute for a day (UTC), parked; the sensor reads ``raw`` every time."""
    track = Drive(t_ms=T0_MS - 60_000, step_s=60).halt(86_400).track()
    track.sensors["temp"] = np.full(len(track), raw)
    return track


def test_a_steady_reading_shows_as_min_max_and_average_of_every_bucket_and_day() -> None:
    # Given a sensor reading 0.45 all day (0.045 after its divider of 10), whose float sums over a
    # few readings round past it (3 x 0.045 / 3 shows as 0.05, 0.045 itself as 0.04)
    track = steady_track(0.45)
    # When the readings table is built in 3-minute buckets (3 readings each)
    table = run(context(details_interval_seconds=180), track)["sheets"][0]["sections"][0]
    # Then every bucket and the day's total show the reading as their min, max and average
    (day,) = table["data"]
    assert len(day["rows"]) == 480
    for row in [*day["rows"], day["total"]]:
        assert row["min"]["v"] == row["max"]["v"] == row["avg"]["v"] == f"{0.45 / 10:.2f}"
