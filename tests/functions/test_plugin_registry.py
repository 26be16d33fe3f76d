"""A plugin is one module plus its spec: generate validates it and the worker computes it from the spec alone.

A fake plugin is registered here (this module is its plugin module: ``compute`` and ``sheets``): its options reference
trackers, sensors, zones and employees, and ``generate`` checks each of them without knowing
the plugin, answering 217 for any one unknown or not visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import Field

from fleet_reports.demo import OTHER_TRACKER
from fleet_reports.engine.catalog import PLUGINS, PluginParams, PluginSpec, References
from fleet_reports.engine.document import Sheet
from fleet_reports.engine.model import ReportContext
from fleet_reports.engine.plugins.common import TrackerData, sheet, text

from tests.support.api import HASH
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

FAKE_ID = 990
REFRIGERATED_VAN, CARGO_TEMPERATURE = 123456, 123456  # a demo tracker and its sensor
DRIVER, ZONE = 101, 1  # a demo employee and zone


class FakeParams(PluginParams):
    """Options naming one entity of each kind."""

    also_trackers: list[int] = Field(default_factory=list)
    sensors: list[tuple[int, int]] = Field(default_factory=list)
    zones: list[int] = Field(default_factory=list)
    drivers: list[int] = Field(default_factory=list)
    greeting: str = "hello"

    def references(self) -> References:
        return References(
            trackers=tuple(self.also_trackers),
            sensors=tuple(self.sensors),
            zones=tuple(self.zones),
            employees=tuple(self.drivers),
        )


def compute(ctx: ReportContext, params: FakeParams, data: TrackerData) -> tuple[int, str, int]:
    """The fake plugin's part of one tracker: how many fixes it got."""
    return (data.info.id, data.info.label, len(data.track))


def sheets(ctx: ReportContext, params: FakeParams, results: Sequence[tuple[int, str, int]]) -> list[Sheet]:
    """The fake plugin's sheets: one per tracker, saying how many fixes it got."""
    return [sheet(label, [tracker_id], [text(f"{params.greeting}: {n} fixes")]) for tracker_id, label, n in results]


@pytest.fixture
def fake_plugin(monkeypatch: pytest.MonkeyPatch) -> PluginSpec:
    spec = PluginSpec(FAKE_ID, "Fake", FakeParams, "Fake report", "Fake", "fake", builder=__name__)
    monkeypatch.setitem(PLUGINS, FAKE_ID, spec)
    return spec


def generate_fake(demo: Lambdas, **options: Any) -> tuple[int, dict[str, Any]]:
    request = {**SEED_GENERATE, "plugin": {"plugin_id": FAKE_ID, **options}}
    status, body, _ = demo.api("GenerateFunction", request)
    return status, body


@pytest.mark.parametrize(
    "options",
    [
        {"also_trackers": [OTHER_TRACKER]},  # another user's tracker
        {"also_trackers": [999_999]},  # no such tracker
        {"sensors": [[REFRIGERATED_VAN, 999]]},  # no such sensor on a visible tracker
        {"zones": [ZONE, 9_999]},  # no such zone
        {"drivers": [DRIVER, 9_999]},  # no such employee
    ],
)
def test_an_unknown_entity_named_by_any_plugin_is_217(
    demo: Lambdas, fake_plugin: PluginSpec, options: dict[str, Any]
) -> None:
    # Given a registered plugin whose options name one unknown entity, When generate is called
    status, body = generate_fake(demo, **options)
    # Then 217, as for the built-in plugins
    assert (status, body["status"]["code"]) == (400, 217)


def test_a_new_plugin_is_generated_and_computed_from_its_spec(demo: Lambdas, fake_plugin: PluginSpec) -> None:
    # Given a request of the registered plugin naming known entities of every kind
    status, body = generate_fake(
        demo,
        also_trackers=[REFRIGERATED_VAN],
        sensors=[[REFRIGERATED_VAN, CARGO_TEMPERATURE]],
        zones=[ZONE],
        drivers=[DRIVER],
        greeting="hi",
        unknown_option=1,
    )
    # When it is generated
    assert status == 200, body
    report_id = int(body["id"])
    # Then the report lists the request's trackers and those the options name, and only the
    # plugin's own options
    _, listed, _ = demo.api("ListFunction", {"hash": HASH})
    (entry,) = [r for r in listed["list"] if r["id"] == report_id]
    assert entry["parameters"]["trackers"] == [*SEED_GENERATE["trackers"], REFRIGERATED_VAN]
    assert entry["parameters"]["plugins"][0]["greeting"] == "hi"
    assert "unknown_option" not in entry["parameters"]["plugins"][0]
    assert entry["title"] == "Trip report"  # the request's title

    # And the worker computes it with the spec's builder
    demo.run_worker()
    _, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    sheets = body["report"]["sheets"]
    assert [s["entity_ids"] for s in sheets] == [[669673], [REFRIGERATED_VAN]]
    assert all(s["sections"][0]["text"].startswith("hi: ") for s in sheets)
