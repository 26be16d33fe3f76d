"""Trips, stops and engine hours tell one story of the same hours (docs/analytics.md, "One story").

A reefer's evening: it leaves the yard, drives with two halts at lights, delivers for 30 minutes
with the engine running (the cooling unit), drives back, parks 20 minutes with the engine off,
drives out with 3 minutes of idling in a queue, and parks for the night. The truth is what the
simulated van did; every report is checked against it and against the others.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fleet_reports.engine.model import Track
from fleet_reports.sim.drive import Scenario, Truth

from tests.support.engine_hours import END, HOME, SHOP, START, STEP_S, TRACKER, context
from tests.support.reports import run

DELIVERY_MIN = 30
QUEUE_MIN = 3


def evening() -> tuple[Track, Truth]:
    sc = Scenario(START, *HOME, seed=3)
    sc.park(20).drive([SHOP], cruise_kmh=60, halts=2).idle(DELIVERY_MIN).drive([HOME], cruise_kmh=60)
    sc.park(20).drive([SHOP]).idle(QUEUE_MIN).drive([HOME]).park(until_ms=END)
    return sc.build()


def summary(track: Track, plugin_id: int) -> dict[str, Any]:
    """The report's summary rows (durations in minutes, the wire format) and its first table's rows."""
    report = run(replace(context(), plugin={"plugin_id": plugin_id}), {TRACKER: track})
    sections = report["sheets"][0]["sections"]
    table = next(s for s in sections if s["type"] == "table")
    totals = next(s for s in sections if s["type"] == "map_table")
    rows = [r for g in table["data"] for r in g["rows"]]
    return {"rows": rows, **{r["name"]: r["raw"] for r in totals["rows"]}}


def test_travel_time_is_engine_hours_in_motion_and_engine_on_stops_are_idle() -> None:
    # Given the reefer's evening
    track, truth = evening()
    # Then the story has three trips (the queue is inside the third) and four parkings, the
    # delivery one of them though the engine ran
    assert len(truth.trips) == 3 and len(truth.parkings) == 4
    travel_min = sum(t.duration_s for t in truth.trips) / 60

    # When the trips, stops and engine-hours reports are built for the same hours
    trips, stops, hours = summary(track, 4), summary(track, 6), summary(track, 7)

    # Then the trips are the true trips: the delivery ended one, the queue did not
    assert len(trips["rows"]) == 3
    assert trips["Travel time"] == pytest.approx(travel_min, abs=3 * STEP_S / 60)
    # And engine hours' time in motion is the trips' travel time (the engine ran on every trip)
    assert hours["In motion"] == pytest.approx(trips["Travel time"], abs=0.02)
    # And engine hours' idle time is the stops' time with the ignition on: the delivery
    assert hours["Idle"] == pytest.approx(stops["Time with ignition on"], abs=0.02)
    assert hours["Idle"] == pytest.approx(DELIVERY_MIN, abs=2 * STEP_S / 60)
    # And engine hours are the two together
    assert hours["Engine hours"] == pytest.approx(hours["In motion"] + hours["Idle"], abs=0.02)
    # And the delivery stop shows the engine on all along, the engine-off ones not at all
    on = [r["ignition"]["raw"] for r in stops["rows"]]
    assert on[1] == pytest.approx(DELIVERY_MIN * 60, abs=2 * STEP_S)
    assert on[0] == on[2] == on[3] == 0.0
    assert [r["ignition_pct"]["v"] for r in stops["rows"]] == ["0.0", "100.0", "0.0", "0.0"]
    # And no trip's average speed is above its maximum, nor a stop's engine time above its length
    assert all(r["avg_speed"]["raw"] <= r["max_speed"]["raw"] for r in trips["rows"])
    assert all(r["ignition"]["raw"] <= r["duration"]["raw"] for r in stops["rows"])


def test_the_hours_of_the_period_add_up() -> None:
    # Given the reefer's evening
    track, _ = evening()
    # When the trips and stops reports are built
    trips, stops = summary(track, 4), summary(track, 6)
    # Then trips and stops together fill the period, not a minute counted twice
    period_min = (END - START) / 60_000
    assert trips["Travel time"] + stops["Duration"] == pytest.approx(period_min, abs=2 * STEP_S / 60)
