"""Documented plugin parameters that are honoured, not only accepted (issue #10): ``filter`` of
plugins 6, 7, 9 and 27, ``show_address`` of 9. Drives are built fix by fix (``Drive``): the answer
is what the vehicle did (a real drive, or GPS drift while parked)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fleet_reports.engine.model import Place, SensorInfo, Track, TrackerInfo

from tests.support.drives import T0_MS, Drive
from tests.support.seed import SEED_TRACKER, run, seed_context

TRACKER = SEED_TRACKER


def drift_then_drive(ignition: bool = False) -> Track:
    """Parked 20 min, a 140 m GPS hop out and back at 60 km/h (drift, not a trip: 280 m of path
    within a 200 m circle), parked 20 min, a real 10 km drive at 90 km/h, parked 20 min."""
    d = Drive(t_ms=T0_MS + 8 * 3_600_000).halt(1200, ignition=1 if ignition else 0)
    d.drive(140, 60, bearing_deg=90).drive(140, 60, bearing_deg=270).halt(1200, ignition=1 if ignition else 0)
    d.start().drive(10_000, 90).park(1200)
    return d.track(ignition=ignition)


IGNITION = SensorInfo(1, "Ignition", "ignition", kind="discrete", sensor_type="ignition")


def report(plugin: dict[str, Any], track: Track, **ctx: Any) -> dict[str, Any]:
    context = seed_context(**ctx)
    info = TrackerInfo(TRACKER, "Van", (IGNITION,))
    context = replace(context, plugin={"plugin_id": plugin["plugin_id"], **plugin}, trackers=(info,))
    return run(context, {TRACKER: track})


def rows_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in doc["sheets"][0]["sections"][0]["data"] for r in g["rows"]]


def test_stops_filter_folds_a_drift_hop_into_the_stop() -> None:
    # Given 40 minutes parked with a 280 m drift hop in the middle, then a drive
    track = drift_then_drive()
    # When the stops report is built with the smart filter (the default) and without it
    filtered = rows_of(report({"plugin_id": 6}, track))
    raw = rows_of(report({"plugin_id": 6, "filter": False}, track))
    # Then with it the hop is folded into one stop of about 40 minutes; without it, two stops
    assert len(filtered) == 2 and abs(filtered[0]["duration"]["raw"] - 2400) <= 60
    assert len(raw) == 3


def test_speeding_filter_leaves_out_the_speed_of_a_drift_hop() -> None:
    # Given the same day: the drift hop "drives" at 60 km/h, the real drive at 90 km/h
    track = drift_then_drive()
    # When violations over 50 km/h are listed with the smart filter (the default) and without it
    filtered = rows_of(report({"plugin_id": 27, "max_speed": 50, "min_duration_minutes": 0}, track))
    raw = rows_of(report({"plugin_id": 27, "max_speed": 50, "min_duration_minutes": 0, "filter": False}, track))
    # Then only the real drive is a violation with it; the hop is one too without it
    assert len(filtered) == 1 and len(raw) == 2
    assert filtered[0]["max_speed"]["raw"] >= 89


def test_engine_hours_filter_counts_a_drift_hop_as_idle() -> None:
    # Given 40 minutes with the engine running and the vehicle standing, but for a 280 m GPS hop
    # out and back in the middle (drift: within a 200 m circle), then the ignition off
    d = Drive(t_ms=T0_MS + 8 * 3_600_000).halt(1200, ignition=1)
    d.drive(140, 60, bearing_deg=90).drive(140, 60, bearing_deg=270).halt(1200, ignition=1).halt(1200, ignition=0)
    track = d.track(ignition=True)

    # When the engine hours are built with the smart filter (the default) and without it
    def motion_s(doc: dict[str, Any]) -> float:
        return float(sum(r["in_motion"]["raw"] for g in doc["sheets"][0]["sections"][0]["data"] for r in g["rows"]))

    plugin = {"plugin_id": 7, "show_detailed": True}
    with_filter = motion_s(report(plugin, track))
    without = motion_s(report({**plugin, "filter": False}, track))
    # Then the hop is idle time with the filter (the vehicle never drove), motion without it
    assert with_filter == 0.0
    assert without >= 10.0


TEMP = SensorInfo(5, "Temperature", "temp", units="°C")


def sensors_report(track: Track, **plugin: Any) -> dict[str, Any]:
    context = seed_context()
    info = TrackerInfo(TRACKER, "Van", (TEMP,))
    sensors = [{"tracker_id": TRACKER, "sensor_id": TEMP.id}]
    context = replace(context, plugin={"plugin_id": 9, "sensors": sensors, **plugin}, trackers=(info,))
    return run(context, {TRACKER: track})


def test_sensors_filter_keeps_drift_off_the_mileage_axis() -> None:
    # Given the drift hop and the 10 km drive, with a temperature reading at every fix
    track = drift_then_drive()
    track.sensors["temp"] = np.full(len(track), 4.0)

    # When the chart is over mileage with the smart filter (the default) and without it
    def last_x(doc: dict[str, Any]) -> float:
        chart = doc["sheets"][0]["sections"][1]
        return float(chart["series"][0]["points"][-1][0])

    filtered = last_x(sensors_report(track, graph_type="mileage"))
    raw = last_x(sensors_report(track, graph_type="mileage", filter=False))
    # Then the axis ends at the 10 km driven with it, and 280 m further without it
    assert abs(filtered - 10.0) < 0.05
    assert abs(raw - filtered - 0.28) < 0.03


def test_sensors_show_address_says_where_each_row_was_read() -> None:
    # Given readings while parked at the depot and while driving away from it
    track = drift_then_drive()
    track.sensors["temp"] = np.full(len(track), 4.0)
    depot = Place("Depot", "Depot, Lenina 1", float(track.lat[0]), float(track.lng[0]), 100.0)
    context = seed_context(places=(depot,))
    info = TrackerInfo(TRACKER, "Van", (TEMP,))
    plugin = {"plugin_id": 9, "sensors": [{"tracker_id": TRACKER, "sensor_id": TEMP.id}], "show_address": True}
    doc = run(replace(context, plugin=plugin, trackers=(info,)), {TRACKER: track})
    table = doc["sheets"][0]["sections"][0]
    rows = [r for g in table["data"] for r in g["rows"]]
    # Then the table has an address column, the depot's name for the rows read there, and the
    # coordinates for rows read on the road (no place holds them)
    assert [c["field"] for c in table["columns"]][-1] == "address"
    assert rows[0]["address"]["v"] == "Depot, Lenina 1"
    assert rows[-1]["address"]["v"] != "Depot, Lenina 1" and "location" in rows[-1]["address"]
    # And without the option there is no such column
    plain = sensors_report(track)["sheets"][0]["sections"][0]
    assert "address" not in [c["field"] for c in plain["columns"]]
