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
    9: PluginSpec(9, "Measuring sensors", SensorsParams, "Measuring sensors report"),
}


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
