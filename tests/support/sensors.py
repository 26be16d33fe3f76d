"""Plugin 9, measuring sensors: the unit tests' reefer with a temperature sensor, over two days (UTC)."""

from __future__ import annotations

from typing import Any

from fleet_reports.engine.model import ReportContext, SensorInfo, Track, TrackerInfo
from fleet_reports.engine.report import build_report

from tests.support.drives import T0_MS

DAY = 86_400_000
TRACKER = 123456
SENSOR = SensorInfo(id=123456, name="Fridge temperature", input_name="temp", units="°C", divider=10.0)


def context(**plugin: Any) -> ReportContext:
    """The sensor report (plugin 9, 5-minute buckets) of the reefer over 2020-10-06 and -07 (UTC)."""
    return ReportContext(
        report_id=7,
        title="Sensors",
        created="2020-10-08 10:00:00",
        period_from="2020-10-06 00:00:00",
        period_to="2020-10-07 23:59:59",
        from_ms=T0_MS,
        to_ms=T0_MS + 2 * DAY - 1000,
        time_zone="UTC",
        locale="en_US",
        measurement_system="metric",
        time_filter={"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        plugin={
            "plugin_id": 9,
            "details_interval_seconds": 300,
            "graph_type": "time",
            "smoothing": False,
            "sensors": [{"tracker_id": TRACKER, "sensor_id": SENSOR.id}],
            **plugin,
        },
        trackers=(TrackerInfo(TRACKER, "Reefer 1", sensors=(SENSOR,)),),
    )


def run(ctx: ReportContext, track: Track) -> dict[str, Any]:
    """The report document of ``ctx`` over ``track`` (the reefer's fixes)."""
    return build_report(ctx, lambda _id, a, b: track.take((track.t >= a) & (track.t <= b)), lambda _: None)
