"""The demo fleet's reports, byte for byte: a refactoring changes shape, never results.

Every plugin, with the options that change what it computes or shows, in both languages, goes
through the real pipeline on moto (generate, the worker, retrieve); each report's JSON (its
``created`` time aside, which is the clock's) must equal the one kept in ``tests/golden/``.
When a change is *meant* to change a report, regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/functions/test_golden_reports.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from fleet_reports.demo import ACCESS

from conftest import Lambdas

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SEED = {"from": "2020-10-05 00:00:00", "to": "2020-10-06 23:59:59"}
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


def report_of(demo: Lambdas, case: dict[str, Any]) -> dict[str, Any]:
    owner = case.get("hash", ACCESS.owner_hash)
    request = {"hash": owner, "title": "Golden", "time_filter": ALL_DAY, **SEED, **case}
    status, body, _ = demo.api("GenerateFunction", request)
    assert status == 200, body
    demo.run_worker()
    status, body, _ = demo.api("RetrieveFunction", {"hash": owner, "report_id": int(body["id"])})
    assert status == 200, body
    report: dict[str, Any] = body["report"]
    return report


def test_the_demo_reports_are_those_kept(demo: Lambdas) -> None:
    # Given the demo fleet on the documentation's days
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    differ: list[str] = []
    for name, case in CASES.items():
        # When each report is generated through the pipeline
        text = canonical(report_of(demo, case))
        path = GOLDEN / f"{name}.json"
        if update:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            continue
        # Then its JSON is byte for byte the one kept
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            differ.append(name)
    assert not differ, f"reports differ from tests/golden/: {differ} (see this module's docstring)"


def test_every_plugin_has_a_kept_report() -> None:
    # Given the cases, Then each plugin of the catalog is among them
    from fleet_reports.engine.catalog import PLUGINS

    covered = {case["plugin"]["plugin_id"] for case in CASES.values()}
    assert covered == set(PLUGINS), set(PLUGINS) - covered
    if os.environ.get("UPDATE_GOLDEN") != "1":
        kept = {p.stem for p in GOLDEN.glob("*.json")}
        assert kept == set(CASES), kept ^ set(CASES)


@pytest.mark.parametrize("name", ["trips-seed"])
def test_a_kept_report_is_readable_json(name: str) -> None:
    # Given a kept report, Then it is the report document (report-model.md) with its sheets
    report = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert report["title"] == "Golden" and report["sheets"]
