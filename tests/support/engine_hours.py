"""Plugin 7, Engine hours: the unit tests' evening and night (22:00 to 01:00 UTC) of tracker 345678."""

from __future__ import annotations

from typing import Any

from fleet_reports.engine.model import ReportContext, SensorInfo, TrackerInfo

T0 = 1_601_942_400_000  # 2020-10-06 00:00:00 UTC
H = 3_600_000
START = T0 + 22 * H
END = T0 + 25 * H
HOME = (55.0, 37.0)
SHOP = (55.05, 37.1)
TRACKER = 345678
STEP_S = 10.0
IGNITION = SensorInfo(1, "Ignition", "ignition", kind="discrete", sensor_type="ignition")


def context(*trackers: TrackerInfo, locale: str = "en_US", **plugin: Any) -> ReportContext:
    """The engine hours report (plugin 7) of ``trackers`` (default: 345678 with its ignition), START to END."""
    return ReportContext(
        report_id=1,
        title="Engine hours",
        created="2020-10-07 10:00:00",
        period_from="2020-10-06 22:00:00",
        period_to="2020-10-07 01:00:00",
        from_ms=START,
        to_ms=END,
        time_zone="UTC",
        locale=locale,
        measurement_system="metric",
        time_filter={},
        plugin={"plugin_id": 7, **plugin},
        trackers=trackers or (TrackerInfo(TRACKER, "Dmitry", (IGNITION,)),),
    )
