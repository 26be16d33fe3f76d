"""The plugin registry: one spec per plugin, each complete, with the entities its options reference."""

from __future__ import annotations

import pytest

from fleet_reports.engine.catalog import (
    PLUGINS,
    GeofenceParams,
    Needs,
    PluginParams,
    References,
    SensorsParams,
    TripsParams,
    plugin_spec,
)


@pytest.mark.parametrize("plugin_id", sorted(PLUGINS))
def test_each_spec_is_complete(plugin_id: int) -> None:
    # Given a registered plugin
    spec = PLUGINS[plugin_id]
    # Then it is registered under its id, with its parameters model
    assert spec.id == plugin_id and plugin_spec(plugin_id) is spec
    assert issubclass(spec.params, PluginParams)
    # And its sheet builder resolves (in the worker) to a callable of engine/plugins
    assert spec.builder.startswith("fleet_reports.engine.plugins.")
    assert callable(spec.sheet_builder())


def test_only_the_trips_need_the_odometer_history() -> None:
    assert {i for i, spec in PLUGINS.items() if spec.needs.odometer_history} == {4}
    assert Needs() == Needs(odometer_history=False)


def test_a_plugin_references_nothing_by_default() -> None:
    params = TripsParams.model_validate({"plugin_id": 4})
    assert params.references() == References()
    assert params.computed_trackers([3, 1, 2]) == [3, 1, 2]


def test_the_sensors_plugin_references_its_sensors_and_their_trackers() -> None:
    # Given sensors of two trackers, one of them twice
    params = SensorsParams.model_validate(
        {
            "plugin_id": 9,
            "sensors": [
                {"tracker_id": 20, "sensor_id": 1},
                {"tracker_id": 10, "sensor_id": 2},
                {"tracker_id": 20, "sensor_id": 3},
            ],
        }
    )
    # Then it references each tracker once, in order, and every (tracker, sensor) pair
    assert params.references() == References(trackers=(20, 10), sensors=((20, 1), (10, 2), (20, 3)))
    # And it computes only those trackers, whatever else the request names
    assert params.computed_trackers([5, 10, 20]) == [20, 10]


@pytest.mark.parametrize(("zone_ids", "zones"), [(None, ()), ([], ()), ([3, 1], (3, 1))])
def test_the_geofence_plugin_references_its_zones(zone_ids: list[int] | None, zones: tuple[int, ...]) -> None:
    params = GeofenceParams.model_validate({"plugin_id": 8, "zone_ids": zone_ids})
    assert params.references() == References(zones=zones)
