"""Plugin 4 (Trips): the parking time after each trip, and data gaps bridged as driving.

The drives are built fix by fix (``Drive``), so the answer comes from what the vehicle did: where
it stood, how long, and what the data shows of it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.support.drives import Drive
from tests.support.seed import FROM_MS, SEED_TRACKER, TO_MS, run, seed_context

HOUR_S = 3600.0


def trips_table(drive: Drive, **plugin: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the Trips report of one tracker holding ``drive``, and its sheet's sections."""
    ctx = seed_context()
    ctx = replace(ctx, plugin={**ctx.plugin, "show_idle_duration": True, **plugin})
    report = run(ctx, {SEED_TRACKER: drive.track()})
    sections: list[dict[str, Any]] = report["sheets"][0]["sections"]
    rows = [row for group in sections[0]["data"] for row in group["rows"]]
    return rows, sections


def test_idle_after_the_last_trip_lasts_while_the_vehicle_is_seen_parked() -> None:
    # Given a vehicle parked an hour, driving 10 km, parked 20 min, driving 10 km, parked 30 min,
    # and then no data at all for the rest of the day (the tracker went silent)
    d = Drive(t_ms=FROM_MS + 6 * 3_600_000).halt(3600).start().drive(10_000, 60).park(1200)
    d.start().drive(10_000, 60, bearing_deg=180).park(1800)
    # When the Trips report with idle durations is built for the whole day
    rows, _ = trips_table(d)
    # Then the first trip is followed by its 20-minute parking and the last by the 30 minutes the
    # data shows, not by the hours to the period end (the stops report has the same parkings)
    assert len(rows) == 2
    first, last = (row["idle_duration"]["raw"] for row in rows)
    assert abs(first - 1200) <= 10
    assert abs(last - 1800) <= 10
    assert last < (TO_MS - FROM_MS) / 1000 / 4


def test_no_parking_in_the_data_means_no_idle_time() -> None:
    # Given two drives 3 hours apart with no fix in between, 40 km apart (nothing shows where the
    # vehicle stood meanwhile)
    d = Drive(t_ms=FROM_MS + 6 * 3_600_000).halt(600).start().drive(10_000, 60).end()
    d.gap(3 * HOUR_S, move_m=40_000).start().drive(10_000, 60).park(600)
    # When the Trips report with idle durations is built
    rows, _ = trips_table(d)
    # Then the first trip has no idle time after it: the data shows no parking
    assert len(rows) == 2
    assert rows[0]["idle_duration"]["raw"] == 0.0


def test_a_gap_bridged_as_driving_is_said_under_the_summary() -> None:
    # Given a drive with a 10-minute data gap during which the vehicle drove 6 km on (36 km/h:
    # a driving speed, under max_gap), then parked
    d = Drive(t_ms=FROM_MS + 6 * 3_600_000).halt(900).start().drive(5_000, 50)
    d.gap(600, move_m=6_000, bearing_deg=0.0).drive(5_000, 50).park(900)
    # When the Trips report is built
    rows, sections = trips_table(d)
    # Then it is one trip whose length holds the straight line across the gap
    assert len(rows) == 1
    assert abs(rows[0]["length"]["raw"] - 16.0) < 0.1
    # And a note under the summary says one gap of 10 minutes was counted as driving, 6.1 km: the
    # 6 km driven unseen and the first 10 s (139 m) of the drive after it, up to its first fix
    notes = [s["text"] for s in sections if s["type"] == "text"]
    bridged = [n for n in notes if "counted as driving" in n]
    assert len(bridged) == 1
    assert bridged[0].startswith("1 data gap(s) of 00:10")
    assert "(6.1 km)" in bridged[0]


def test_no_note_when_no_gap_is_bridged() -> None:
    # Given a drive sampled every 10 s from parking to parking
    d = Drive(t_ms=FROM_MS + 6 * 3_600_000).halt(900).start().drive(15_000, 50).park(900)
    # When the Trips report is built
    _, sections = trips_table(d)
    # Then there is no note about bridged gaps
    assert not [s for s in sections if s["type"] == "text" and "counted as driving" in s["text"]]


def test_a_gap_where_the_vehicle_stood_is_a_parking_not_a_bridge() -> None:
    # Given a logger that wrote nothing for 15 minutes while the vehicle stood (the fixes on
    # either side still show the speed of a vehicle rolling in and out)
    d = Drive(t_ms=FROM_MS + 6 * 3_600_000).halt(900).start().drive(5_000, 50).end()
    d.gap(900).start().drive(5_000, 50).park(900)
    # When the Trips report is built
    rows, sections = trips_table(d)
    # Then the silence is the parking between two trips, and no gap is said to be bridged
    assert len(rows) == 2
    assert abs(rows[0]["idle_duration"]["raw"] - 900) <= 10
    assert not [s for s in sections if s["type"] == "text" and "counted as driving" in s["text"]]


def test_a_days_idle_total_counts_an_overnight_parking_up_to_midnight() -> None:
    # Given a three-day period: a drive on Tuesday evening, parked until Thursday 08:00, a drive
    d = Drive(t_ms=FROM_MS + 17 * 3_600_000).halt(3600).start().drive(10_000, 60)
    evening_end = d.t_ms
    d.park((FROM_MS + 2 * 86_400_000 + 8 * 3_600_000 - d.t_ms) / 1000)
    d.start().drive(10_000, 60, bearing_deg=180).park(3600)
    ctx = seed_context()
    ctx = replace(
        ctx,
        period_to="2020-10-08 23:59:59",
        to_ms=TO_MS + 2 * 86_400_000,
        plugin={**ctx.plugin, "show_idle_duration": True},
    )
    # When the Trips report with idle durations is built
    report = run(ctx, {SEED_TRACKER: d.track()})
    groups = report["sheets"][0]["sections"][0]["data"]
    # Then Tuesday's row shows the whole 38-hour parking after its trip
    tuesday, thursday = groups
    (row,) = tuesday["rows"]
    assert abs(row["idle_duration"]["raw"] - (FROM_MS + 2 * 86_400_000 + 8 * 3_600_000 - evening_end) / 1000) <= 20
    # And Tuesday's total counts it up to local midnight only: a day never holds more than 24 h
    midnight = FROM_MS + 86_400_000
    assert abs(tuesday["total"]["idle_duration"]["raw"] - (midnight - evening_end) / 1000) <= 20
    assert tuesday["total"]["idle_duration"]["raw"] <= 86_400
    # And Thursday's total is its own trip's hour of parking
    assert abs(thursday["total"]["idle_duration"]["raw"] - 3600) <= 20
