"""The unit tests' two Moscow days (2020-10-06 and -07) that several plugins' contexts share."""

from __future__ import annotations

from typing import Any

from fleet_reports.engine.model import ReportContext, TrackerInfo

DAY_MS = 86_400_000
FROM_MS = 1_601_931_600_000  # 2020-10-06 00:00 Moscow
TO_MS = FROM_MS + 2 * DAY_MS - 1000  # 2020-10-07 23:59:59
T0 = FROM_MS + 7 * 3_600_000  # 07:00 Moscow
A = (55.0, 37.0)


def two_days(
    report_id: int, title: str, plugin: dict[str, Any], trackers: tuple[TrackerInfo, ...], **extra: Any
) -> ReportContext:
    """A report of ``trackers`` over 2020-10-06 and -07 in Moscow, whole days, every weekday."""
    return ReportContext(
        report_id=report_id,
        title=title,
        created="2020-10-08 10:00:00",
        period_from="2020-10-06 00:00:00",
        period_to="2020-10-07 23:59:59",
        from_ms=FROM_MS,
        to_ms=TO_MS,
        time_zone="Europe/Moscow",
        locale="en_US",
        measurement_system="metric",
        time_filter={"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        plugin=plugin,
        trackers=trackers,
        **extra,
    )
