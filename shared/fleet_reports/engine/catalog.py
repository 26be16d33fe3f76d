"""The report plugins this service implements, with their parameters.

Pure pydantic (no numpy): the API path imports it to validate ``generate`` and to answer
``/plugin/list``; the engine reads the same models to get typed options with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PluginParams(BaseModel):
    """Options every plugin takes. Unknown options are accepted and ignored (never stored)."""

    model_config = ConfigDict(extra="allow")

    plugin_id: int
    show_seconds: bool = False
    hide_empty_tabs: bool = False
    include_summary_sheet: bool = True
    include_summary_sheet_only: bool = False


class TripsParams(PluginParams):
    """Plugin 4: trips (analytics.md section 2)."""

    split: bool = True
    filter: bool = True
    show_idle_duration: bool = False
    show_coordinates: bool = False
    group_by_driver: bool = False


class SensorRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tracker_id: int
    sensor_id: int


class SensorsParams(PluginParams):
    """Plugin 9: measuring sensors."""

    details_interval_seconds: int = Field(default=300, ge=30, le=21600)
    graph_type: Literal["time", "mileage"] = "time"
    smoothing: bool = False
    show_coordinates: bool = False
    sensors: list[SensorRef] = Field(min_length=1)


class StopsParams(PluginParams):
    """Plugin 6: stops (every parking, analytics.md section 2)."""

    show_coordinates: bool = False
    group_by_driver: bool = False


class EngineHoursParams(PluginParams):
    """Plugin 7: engine hours (ignition-on intervals)."""

    show_detailed: bool = True  # list every interval under its day, not only the day totals


class GeofenceParams(PluginParams):
    """Plugin 8: geofence visits."""

    zone_ids: list[int] | None = None  # None: every zone of the owner
    min_minutes_in_zone: int = Field(default=1, ge=0, le=1440)
    show_mileage: bool = True
    show_not_visited_zones: bool = False


class SpeedingParams(PluginParams):
    """Plugin 27: speed violations."""

    max_speed: int = Field(default=90, ge=1, le=1000)  # in the user's units (km/h, mph, kn)
    min_duration_minutes: float = Field(default=1, ge=0, le=1440)
    show_coordinates: bool = False
    group_by_driver: bool = False


class PointsParams(PluginParams):
    """Plugin 91: every kept fix of one tracker over at most 24 h."""

    show_coordinates: bool = True


@dataclass(frozen=True)
class PluginSpec:
    id: int
    name: str
    params: type[PluginParams]
    default_title: str
    span_setting: Literal["max_time_span", "point_report_max_time_span"] = "max_time_span"
    single_tracker: bool = False


PLUGINS: dict[int, PluginSpec] = {
    4: PluginSpec(4, "Trips", TripsParams, "Trip report"),
    8: PluginSpec(8, "Geofence visits", GeofenceParams, "Geofence visits report"),
    9: PluginSpec(9, "Measuring sensors", SensorsParams, "Measuring sensors report"),
    27: PluginSpec(27, "Speed violation", SpeedingParams, "Speed violation report"),
    6: PluginSpec(6, "Stops", StopsParams, "Stops report"),
    7: PluginSpec(7, "Engine hours", EngineHoursParams, "Engine hours report"),
    91: PluginSpec(
        91, "Point report", PointsParams, "Point report", span_setting="point_report_max_time_span", single_tracker=True
    ),
}
"""The plugins this deployment serves; the others in :data:`PLANNED` answer 222 until their engine lands."""

PLANNED: dict[int, PluginSpec] = {}


def plugin_spec(plugin_id: int) -> PluginSpec | None:
    return PLUGINS.get(plugin_id)


def describe_plugins() -> list[dict[str, object]]:
    """A description of each plugin and its parameters, for ``/plugin/list``."""
    out: list[dict[str, object]] = []
    for spec in PLUGINS.values():
        params = []
        for name, f in spec.params.model_fields.items():
            if name == "plugin_id":
                continue
            params.append(
                {
                    "name": name,
                    "type": getattr(f.annotation, "__name__", str(f.annotation)),
                    "required": f.is_required(),
                    "default": None if f.is_required() else f.get_default(call_default_factory=True),
                }
            )
        out.append({"id": spec.id, "name": spec.name, "parameters": params})
    return out
