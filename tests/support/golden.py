"""The golden reports: the demo fleet's reports kept byte for byte in tests/golden/ (one per case).

tests/functions/test_golden_reports.py generates each case through the pipeline and compares; other
tests reuse a case when they need a report whose every byte is known.
"""

from __future__ import annotations

import json
from typing import Any

from fleet_reports.demo import ACCESS

from tests.support.paths import ROOT
from tests.support.seed import SEED_GENERATE

GOLDEN = ROOT / "tests" / "golden"
SEED = {k: SEED_GENERATE[k] for k in ("from", "to")}  # 2020-10-05 00:00:00 to 2020-10-06 23:59:59
ALL_DAY = {"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]}
WORK_HOURS = {"from": "08:00", "to": "18:00", "weekdays": [1, 2, 3, 4, 5]}
FLEET = [669673, 123456, 345678, 456789]

CASES: dict[str, dict[str, Any]] = {
    "trips-seed": {"trackers": [669673], "plugin": {"plugin_id": 4, "split": True, "filter": True}},
    "trips-fleet-options": {
        "trackers": FLEET,
        "plugin": {
            "plugin_id": 4,
            "show_idle_duration": True,
            "show_coordinates": True,
            "group_by_driver": True,
            "show_seconds": True,
        },
    },
    "trips-unsplit-unfiltered-work-hours": {
        "trackers": [123456],
        "time_filter": WORK_HOURS,
        "plugin": {"plugin_id": 4, "split": False, "filter": False},
    },
    "trips-ru": {"trackers": [669673, 345678], "plugin": {"plugin_id": 4}, "hash": ACCESS.russian_user_hash},
    "stops-fleet": {"trackers": FLEET, "plugin": {"plugin_id": 6, "show_coordinates": True}},
    "stops-by-driver-unfiltered": {
        "trackers": [123456],
        "plugin": {"plugin_id": 6, "group_by_driver": True, "filter": False},
    },
    "engine-hours-fleet": {"trackers": FLEET, "plugin": {"plugin_id": 7, "show_detailed": True}},
    "engine-hours-summary-only-ru": {
        "trackers": [669673, 123456, 345678],
        "plugin": {"plugin_id": 7, "include_summary_sheet_only": True, "filter": False},
        "hash": ACCESS.russian_user_hash,
    },
    "geofences-fleet": {
        "trackers": FLEET,
        "plugin": {"plugin_id": 8, "show_mileage": True, "show_not_visited_zones": True, "min_minutes_in_zone": 1},
    },
    "geofences-no-charts": {"trackers": [669673], "plugin": {"plugin_id": 8, "hide_charts": True}},
    "sensors-time": {
        "trackers": [123456],
        "plugin": {
            "plugin_id": 9,
            "sensors": [{"tracker_id": 123456, "sensor_id": 123456}, {"tracker_id": 123456, "sensor_id": 123457}],
            "details_interval_seconds": 1800,
            "show_address": True,
        },
    },
    "sensors-mileage-smoothed": {
        "trackers": [345678],
        "plugin": {
            "plugin_id": 9,
            "sensors": [{"tracker_id": 345678, "sensor_id": 345001}],
            "graph_type": "mileage",
            "smoothing": True,
            "filter": False,
        },
    },
    "speeding-fleet": {
        "trackers": FLEET,
        "plugin": {"plugin_id": 27, "max_speed": 80, "min_duration_minutes": 0.5, "group_by_driver": True},
    },
    "speeding-coordinates-ru": {
        "trackers": [669673],
        "plugin": {"plugin_id": 27, "max_speed": 60, "show_coordinates": True},
        "hash": ACCESS.russian_user_hash,
    },
    "points-quarter-hour": {
        "trackers": [669673],
        "from": "2020-10-06 08:00:00",
        "to": "2020-10-06 08:14:59",
        "plugin": {"plugin_id": 91, "show_coordinates": True},
    },
}


def canonical(report: dict[str, Any]) -> str:
    """The report as it is kept: its JSON with ``created`` (the clock's) blanked, one key per line."""
    return json.dumps({**report, "created": ""}, ensure_ascii=False, indent=0, separators=(",", ":")) + "\n"
