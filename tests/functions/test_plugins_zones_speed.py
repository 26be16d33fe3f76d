"""Plugins 8 (geofence visits) and 27 (speed violation) through the real handlers, on moto, over the demo fleet."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import HASH
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

# The seed request without its title and plugin, over its second day (2020-10-06) only.
REQUEST: dict[str, Any] = {
    **{k: v for k, v in SEED_GENERATE.items() if k not in ("title", "plugin")},
    "from": "2020-10-06 00:00:00",
}


def generate(demo: Lambdas, plugin: dict[str, Any]) -> tuple[int, Any]:
    status, body, _ = demo.api("GenerateFunction", {**REQUEST, "plugin": plugin})
    return status, body


def retrieve(demo: Lambdas, report_id: int) -> dict[str, Any]:
    assert demo.run_worker() == 1
    status, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    assert status == 200, body
    report: dict[str, Any] = body["report"]
    return report


def test_geofence_visits_of_the_seed_day_end_to_end(demo: Lambdas) -> None:
    # Given the demo fleet (depots, customer sites, the main road as a sausage) and Samantha's seed
    # day, which drives Selyatino - Serpukhov and back along the main road
    status, body = generate(
        demo, {"plugin_id": 8, "min_minutes_in_zone": 1, "show_mileage": True, "show_not_visited_zones": True}
    )
    assert status == 200 and body["success"] is True, body

    # When the worker has built it
    report = retrieve(demo, int(body["id"]))

    # Then one sheet with the visits table, the summary and the zones not visited
    assert report["title"] == "Geofence visits report"
    (sheet,) = report["sheets"]
    assert sheet["entity_ids"] == [669673]
    table, summary, chart, not_visited = sheet["sections"]
    assert chart["type"] == "chart" and chart["kind"] == "bar"
    assert table["header"] == "Geofence visits"
    assert [c["field"] for c in table["columns"]] == ["zone", "entry", "exit", "duration", "mileage"]
    (day,) = table["data"]
    assert day["header"].startswith("Oct 6, 2020 (Tue) : ")
    rows = day["rows"]
    assert len(rows) == int(day["header"].rsplit(":", 1)[1])
    # The main road is driven for hours; every visit lasts its exit minus its entry, at least a minute
    road = [r for r in rows if r["zone"]["v"] == "Main road Selyatino - Serpukhov"]
    assert road and sum(r["mileage"]["raw"] for r in road) > 300  # the seed's day drove ~524 km
    for r in rows:
        assert r["duration"]["raw"] == (r["exit"]["raw"] - r["entry"]["raw"]) / 1000.0
        assert r["duration"]["raw"] >= 60.0
    assert summary["rows"][0] == {"name": "Visits", "v": str(len(rows)), "raw": float(len(rows)), "highlight": False}
    visited = {r["zone"]["v"] for r in rows}
    listed = {r["zone"]["v"] for g in not_visited["data"] for r in g["rows"]}
    assert visited.isdisjoint(listed) and len(visited | listed) == 7  # the demo owner's seven zones


def test_geofence_zone_ids_must_be_the_owners(demo: Lambdas) -> None:
    # Given a request for a zone the owner does not have, When it is generated, Then 217
    status, body = generate(demo, {"plugin_id": 8, "zone_ids": [1, 999]})
    assert (status, body["status"]["code"]) == (400, 217)
    # And with the owner's zones only it is accepted and shows only those zones
    status, body = generate(demo, {"plugin_id": 8, "zone_ids": [7]})
    assert status == 200, body
    report = retrieve(demo, int(body["id"]))
    zones = {r["zone"]["raw"] for g in report["sheets"][0]["sections"][0]["data"] for r in g["rows"]}
    assert zones == {7.0}


def test_speed_violations_of_the_seed_day_end_to_end(demo: Lambdas) -> None:
    # Given Samantha's seed day, whose trips reach 85..94 km/h, and a limit of 80 km/h over 10 s,
    # grouped by driver (Samantha has the Focus all day)
    plugin = {"plugin_id": 27, "max_speed": 80, "min_duration_minutes": 0.17, "group_by_driver": True}
    status, body = generate(demo, plugin)
    assert status == 200 and body["success"] is True, body

    # When the worker has built it
    report = retrieve(demo, int(body["id"]))

    # Then the violations are grouped under Samantha's name and the day, each over the limit for more
    # than 10 s, its max speed above the limit and at most the seed's top speed, its average between
    assert report["title"] == "Speed violation report"
    (sheet,) = report["sheets"]
    table, summary, note = sheet["sections"]
    assert [c["field"] for c in table["columns"]] == [
        "start",
        "end",
        "duration",
        "max_speed",
        "avg_speed",
        "distance",
        "address",
    ]
    (day,) = table["data"]
    assert day["header"].startswith("Samantha") and ", Oct 6, 2020 (Tue) : " in day["header"]
    rows = day["rows"]
    assert len(rows) == int(day["header"].rsplit(":", 1)[1]) >= 1
    for r in rows:
        assert r["duration"]["raw"] > 10.2
        assert r["duration"]["raw"] == pytest.approx((r["end"]["raw"] - r["start"]["raw"]) / 1000.0)
        assert 80 < r["max_speed"]["raw"] <= 96
        assert 78 <= r["avg_speed"]["raw"] <= r["max_speed"]["raw"]
        assert "location" in r["address"]
    assert summary["rows"][0]["raw"] == float(len(rows))
    assert note["text"] == "Speed over 80 km/h for longer than 0.17 min."


def test_list_leaves_out_null_parameters(demo: Lambdas) -> None:
    # Given a geofence report generated without zone_ids (every zone of the owner)
    status, body = generate(demo, {"plugin_id": 8})
    assert status == 200, body
    # When the reports are listed
    status, listed, _ = demo.api("ListFunction", {"hash": HASH})
    assert status == 200
    (item,) = [r for r in listed["list"] if r["id"] == int(body["id"])]
    # Then its parameters echo what was asked, and no null field: zone_ids is left out
    (plugin,) = item["parameters"]["plugins"]
    assert plugin["plugin_id"] == 8 and "zone_ids" not in plugin
    assert ": null" not in json.dumps(item)
