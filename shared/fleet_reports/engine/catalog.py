"""The report plugins this service implements, with their parameters.

Pure pydantic (no numpy): the API path imports it to validate ``generate`` and to answer
``/plugin/list``; the engine reads the same models to get typed options with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _opt(default: object, description: str, **constraints: object) -> Any:
    """A plugin option: its default and what it does (shown by ``/plugin/list``)."""
    return Field(default=default, description=description, **constraints)  # type: ignore[call-overload]


class PluginParams(BaseModel):
    """Options every plugin takes. Unknown options are accepted and ignored (never stored)."""

    model_config = ConfigDict(extra="allow")

    plugin_id: int
    show_seconds: bool = _opt(False, "times as HH:mm:ss instead of HH:mm")
    hide_empty_tabs: bool = _opt(False, "leave out the sheets of trackers with nothing to report")
    include_summary_sheet: bool = _opt(True, "a summary sheet over the trackers (with two or more)")
    include_summary_sheet_only: bool = _opt(False, "only the summary sheet")


class TripsParams(PluginParams):
    """Plugin 4: trips (analytics.md section 2)."""

    split: bool = _opt(True, "one row per trip; false: one trip per local day, first to last move")
    filter: bool = _opt(True, "smart filter: drop trips under 300 m, under 4 fixes, or within a 200 m circle")
    show_idle_duration: bool = _opt(False, "the parking time after each trip")
    show_coordinates: bool = _opt(False, "coordinates beside the addresses")
    group_by_driver: bool = _opt(False, "group by the driver assigned at the trip start")


class SensorRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tracker_id: int
    sensor_id: int


class SensorsParams(PluginParams):
    """Plugin 9: measuring sensors."""

    details_interval_seconds: int = _opt(300, "bucket of the readings table, seconds", ge=30, le=21600)
    graph_type: Literal["time", "mileage"] = _opt("time", "the chart's x axis")
    smoothing: bool = _opt(False, "rolling median of the readings")
    show_coordinates: bool = _opt(False, "coordinates beside the addresses")
    show_address: bool = _opt(False, "the address where each row's first reading was taken")
    filter: bool = _opt(True, "smart filter: the mileage axis counts only the trips it keeps, not GPS drift")
    sensors: list[SensorRef] = Field(min_length=1, description="the sensors: [{tracker_id, sensor_id}]")


class StopsParams(PluginParams):
    """Plugin 6: stops (every parking, analytics.md section 2)."""

    show_coordinates: bool = _opt(False, "coordinates beside the addresses")
    group_by_driver: bool = _opt(False, "group by the driver assigned at the stop start")
    filter: bool = _opt(True, "smart filter: a trip it drops (under 300 m, drift) is folded into the stops")


class EngineHoursParams(PluginParams):
    """Plugin 7: engine hours (ignition-on intervals)."""

    show_detailed: bool = _opt(True, "list every interval under its day, not only the day totals")
    filter: bool = _opt(True, "smart filter: moves it drops (under 300 m, drift) are idle time, not motion")


class GeofenceParams(PluginParams):
    """Plugin 8: geofence visits."""

    zone_ids: list[int] | None = _opt(None, "the zones (null: every zone of the owner)")
    min_minutes_in_zone: int = _opt(1, "drop shorter visits, minutes", ge=0, le=1440)
    show_mileage: bool = _opt(True, "the distance driven inside each visit")
    show_not_visited_zones: bool = _opt(False, "list the zones with no visit too")
    hide_charts: bool = _opt(False, "no bar chart of the time spent in each zone (the 30 zones with the most)")


class SpeedingParams(PluginParams):
    """Plugin 27: speed violations."""

    max_speed: int = _opt(90, "the limit, in the user's units (km/h, mph, kn)", ge=1, le=1000)
    min_duration_minutes: float = _opt(1, "only runs over the limit lasting longer, minutes", ge=0, le=1440)
    show_coordinates: bool = _opt(False, "coordinates beside the addresses")
    group_by_driver: bool = _opt(False, "group by the driver assigned at the violation start")
    filter: bool = _opt(True, "smart filter: no violation outside the trips it keeps (speed spikes of GPS drift)")


class PointsParams(PluginParams):
    """Plugin 91: every kept fix of one tracker over at most 24 h."""

    show_coordinates: bool = _opt(True, "latitude and longitude columns")


@dataclass(frozen=True)
class PluginSpec:
    id: int
    name: str
    params: type[PluginParams]
    default_title: str
    ui_module: str  # Navixy's plugin object: ``ui_module``, and ``module`` (MODULE_PREFIX + module)
    module: str
    span_setting: Literal["max_time_span", "point_report_max_time_span"] = "max_time_span"
    single_tracker: bool = False


MODULE_PREFIX = "com.navixy.plugin.tracker.report."
"""Navixy documents the module of plugin 4 (``com.navixy.plugin.tracker.report.trip``, UI module
``Trip``); the others follow the same pattern with their own name."""

PLUGINS: dict[int, PluginSpec] = {
    4: PluginSpec(4, "Trips", TripsParams, "Trip report", "Trip", "trip"),
    8: PluginSpec(8, "Geofence visits", GeofenceParams, "Geofence visits report", "Geofences", "geofences"),
    9: PluginSpec(9, "Measuring sensors", SensorsParams, "Measuring sensors report", "Sensors", "sensors"),
    27: PluginSpec(27, "Speed violation", SpeedingParams, "Speed violation report", "Speeding", "speeding"),
    6: PluginSpec(6, "Stops", StopsParams, "Stops report", "Stops", "stops"),
    7: PluginSpec(7, "Engine hours", EngineHoursParams, "Engine hours report", "EngineHours", "engine_hours"),
    91: PluginSpec(
        91,
        "Point report",
        PointsParams,
        "Point report",
        "Points",
        "points",
        span_setting="point_report_max_time_span",
        single_tracker=True,
    ),
}
"""The plugins this deployment serves; the others in :data:`PLANNED` answer 222 until their engine lands."""

PLANNED: dict[int, PluginSpec] = {}


def plugin_spec(plugin_id: int) -> PluginSpec | None:
    return PLUGINS.get(plugin_id)


def describe_plugins(spans: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Each plugin as Navixy's plugin object documents it (``id``, ``type``, ``module``,
    ``ui_module``, ``filter``, ``parameters`` as an object), with our description as extra fields
    that do not break it: ``name``, ``title``, ``max_time_span``, ``single_tracker``, and each
    parameter's JSON type, required, default, description and constraints (minimum, maximum,
    enum, items), keyed by its name. Null fields are omitted, as Navixy omits them. ``spans`` maps
    the span settings (``max_time_span``, ``point_report_max_time_span``) to the deployment's
    values."""
    out: list[dict[str, object]] = []
    for spec in sorted(PLUGINS.values(), key=lambda p: p.id):
        item: dict[str, object] = {
            "id": spec.id,
            "type": "tracker_report",
            "module": MODULE_PREFIX + spec.module,
            "ui_module": spec.ui_module,
            "filter": {"exclusion": True, "values": []},  # every device model
            "name": spec.name,
            "title": spec.default_title,
        }
        if spans is not None and spans.get(spec.span_setting) is not None:
            item["max_time_span"] = spans[spec.span_setting]
        item["single_tracker"] = spec.single_tracker
        item["parameters"] = {str(entry["name"]): _without_nulls(entry) for entry in _parameters(spec.id)}
        out.append(item)
    return out


def _without_nulls(entry: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in entry.items() if v is not None and k != "name"}


@cache
def _parameters(plugin_id: int) -> tuple[dict[str, object], ...]:
    """A plugin's parameters from its model's JSON schema (made once per process)."""
    schema = PLUGINS[plugin_id].params.model_json_schema()
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        if name == "plugin_id":
            continue
        entry: dict[str, object] = {"name": name, **_json_type(prop, schema.get("$defs", {}))}
        entry["required"] = name in required
        if name not in required:
            entry["default"] = prop.get("default")
        if "description" in prop:
            entry["description"] = prop["description"]
        for key in ("minimum", "maximum", "enum", "minItems"):
            if key in prop:
                entry[key] = prop[key]
        params.append(entry)
    return tuple(params)


def _json_type(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, object]:
    """``type`` (and ``nullable``, ``items``) of a property of a pydantic JSON schema."""
    nullable = False
    if "anyOf" in prop:
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(prop["anyOf"])
        prop = {**prop, **(options[0] if options else {})}
    out: dict[str, object] = {"type": prop.get("type", "object")}
    if nullable:
        out["nullable"] = True
    items = prop.get("items")
    if isinstance(items, dict):
        ref = items.get("$ref", "")
        if ref:
            target = defs.get(ref.rsplit("/", 1)[-1], {})
            out["items"] = {k: v.get("type") for k, v in target.get("properties", {}).items()}
        else:
            out["items"] = items.get("type")
    return out
