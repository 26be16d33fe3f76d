"""The report plugins this service implements: the one registry, :data:`PLUGINS`.

Each plugin is one :class:`PluginSpec`: its parameters model (a :class:`PluginParams`, which
says which trackers, sensors, zones and employees a request references), its sheet builder (a
module of ``engine/plugins`` named by its import path, imported by the worker only), what the
engine must load for it (:class:`Needs`), its span limit and Navixy's names. ``generate``
validates any plugin from its spec alone, and the engine computes it from the same spec.

Adding a plugin: its module under ``engine/plugins`` with ``compute(ctx, params, data)`` (one
tracker's part) and ``sheets(ctx, params, results)`` (:class:`PluginModule`),
its parameters model and one entry in :data:`PLUGINS` here, and its tests.

Pure pydantic (no numpy): the API path imports it to validate ``generate`` and to answer
``/plugin/list``; the engine reads the same models to get typed options with defaults.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from fleet_reports.ids import MAX_ID, Id, PluginId, WholeNumber, distinct_ids

if TYPE_CHECKING:
    from fleet_reports.engine.document import Sheet
    from fleet_reports.engine.model import ReportContext
    from fleet_reports.engine.plugins.common import TrackerData


MAX_SENSORS_PER_REPORT: Final = 1000
"""Distinct sensors (``{tracker_id, sensor_id}``) the sensor report's ``sensors`` may name (7 beyond)."""

MAX_ZONES_PER_REPORT: Final = 1000
"""Distinct zones the geofence report's ``zone_ids`` may name (7 beyond). Navixy documents no maximum
for plugin 8 (1 to 30 for its plugin 84, stay in zones); its interface notes 1,000 zones as the
scope beyond which it stops listing the unvisited ones. ``null`` still means every zone of the owner."""


def _opt(default: object, description: str, **constraints: object) -> Any:
    """A plugin option: its default and what it does (shown by ``/plugin/list``)."""
    return Field(default=default, description=description, **constraints)  # type: ignore[call-overload]


@dataclass(frozen=True)
class References:
    """The entities a plugin's options reference besides the request's ``trackers`` and
    ``employees``; ``generate`` answers 217 when one is unknown or not visible to the caller."""

    trackers: tuple[int, ...] = ()  # in the order given; added after the request's trackers
    sensors: tuple[tuple[int, int], ...] = ()  # (tracker id, sensor id)
    zones: tuple[int, ...] = ()  # zone ids of the owner
    employees: tuple[int, ...] = ()  # employee ids of the owner


class PluginParams(BaseModel):
    """Options every plugin takes. Unknown options are accepted and ignored (never stored)."""

    model_config = ConfigDict(extra="allow")

    plugin_id: PluginId
    show_seconds: bool = _opt(False, "times as HH:mm:ss instead of HH:mm")
    hide_empty_tabs: bool = _opt(False, "leave out the sheets of trackers with nothing to report")
    include_summary_sheet: bool = _opt(True, "a summary sheet over the trackers (with two or more)")
    include_summary_sheet_only: bool = _opt(False, "only the summary sheet")

    def references(self) -> References:
        """The trackers, sensors, zones and employees these options name (none by default)."""
        return References()

    def computed_trackers(self, report_trackers: Sequence[int]) -> list[int]:
        """The trackers whose fixes the engine loads and computes, in order: the report's own
        by default."""
        return list(report_trackers)


class TripsParams(PluginParams):
    """Plugin 4: trips (docs/analytics.md, "Trips and parkings")."""

    split: bool = _opt(True, "one row per trip; false: one trip per local day, first to last move")
    filter: bool = _opt(True, "smart filter: drop trips under 300 m, under 4 fixes, or within a 200 m circle")
    show_idle_duration: bool = _opt(False, "the parking time after each trip")
    show_coordinates: bool = _opt(False, "coordinates beside the addresses")
    group_by_driver: bool = _opt(False, "group by the driver assigned at the trip start")


class SensorRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tracker_id: Id
    sensor_id: Id


class SensorsParams(PluginParams):
    """Plugin 9: measuring sensors."""

    details_interval_seconds: int = _opt(300, "bucket of the readings table, seconds", ge=30, le=21600)
    graph_type: Literal["time", "mileage"] = _opt("time", "the chart's x axis")
    smoothing: bool = _opt(False, "rolling median of the readings")
    show_coordinates: bool = _opt(False, "coordinates beside the addresses")
    show_address: bool = _opt(False, "the address where each row's first reading was taken")
    filter: bool = _opt(True, "smart filter: the mileage axis counts only the trips it keeps, not GPS drift")
    sensors: list[SensorRef] = Field(
        min_length=1,
        fail_fast=True,  # the first bad sensor is named, not each of 30,000
        description=f"the sensors: [{{tracker_id, sensor_id}}], at most {MAX_SENSORS_PER_REPORT} distinct ones",
    )

    @field_validator("sensors")
    @classmethod
    def _each_sensor_once(cls, v: list[SensorRef]) -> list[SensorRef]:
        # 10,000 copies of one sensor are that sensor: never 10,000 look-ups, nor a report too large to store
        distinct = list({(ref.tracker_id, ref.sensor_id): ref for ref in v}.values())  # in the order given
        if len(distinct) > MAX_SENSORS_PER_REPORT:
            raise PydanticCustomError(
                "too_many_ids",
                "at most {limit} distinct sensors (copies count once), {count} given",
                {"limit": MAX_SENSORS_PER_REPORT, "count": len(distinct)},
            )
        return distinct

    def references(self) -> References:
        return References(
            trackers=tuple(dict.fromkeys(ref.tracker_id for ref in self.sensors)),
            sensors=tuple((ref.tracker_id, ref.sensor_id) for ref in self.sensors),
        )

    def computed_trackers(self, report_trackers: Sequence[int]) -> list[int]:
        """Only the trackers of the chosen sensors, in the order of the sensors."""
        return list(dict.fromkeys(ref.tracker_id for ref in self.sensors))


class StopsParams(PluginParams):
    """Plugin 6: stops (every parking, docs/analytics.md, "Trips and parkings")."""

    show_coordinates: bool = _opt(False, "coordinates beside the addresses")
    group_by_driver: bool = _opt(False, "group by the driver assigned at the stop start")
    filter: bool = _opt(True, "smart filter: a trip it drops (under 300 m, drift) is folded into the stops")


class EngineHoursParams(PluginParams):
    """Plugin 7: engine hours (ignition-on intervals)."""

    show_detailed: bool = _opt(True, "list every interval under its day, not only the day totals")
    filter: bool = _opt(True, "smart filter: moves it drops (under 300 m, drift) are idle time, not motion")


class GeofenceParams(PluginParams):
    """Plugin 8: geofence visits."""

    zone_ids: list[WholeNumber] | None = _opt(
        None,
        f"the zones, at most {MAX_ZONES_PER_REPORT} distinct ids from 1 to {MAX_ID} (null: every zone of the owner)",
        fail_fast=True,  # the first bad id is named, not each of 150,000
    )
    min_minutes_in_zone: int = _opt(1, "drop shorter visits, minutes", ge=0, le=1440)
    show_mileage: bool = _opt(True, "the distance driven inside each visit")
    show_not_visited_zones: bool = _opt(False, "list the zones with no visit too")
    hide_charts: bool = _opt(False, "no bar chart of the time spent in each zone (the 30 zones with the most)")

    @field_validator("zone_ids")
    @classmethod
    def _each_zone_once(cls, v: list[int] | None) -> list[int] | None:
        return v if v is None else distinct_ids(v, MAX_ZONES_PER_REPORT)  # 10,000 copies of a zone are that zone

    def references(self) -> References:
        return References(zones=tuple(self.zone_ids or ()))


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
class Needs:
    """What the engine loads for a plugin besides each tracker's fixes over the period.

    New needs (the zones, the events, the sensors' readings) become fields here, read by
    ``engine.report``, so that a plugin only states them."""

    odometer_history: bool = False
    """The odometer at the period start (the odometer column), from the tracker's base and its
    history kept day by day (``engine/odometer.py``), when the period's fixes carry no device
    odometer."""


class PluginModule(Protocol):
    """A plugin's module under ``engine/plugins``: two functions, so that any plugin can be split
    across workers (one part per tracker) without knowing it."""

    def compute(self, ctx: ReportContext, params: Any, data: TrackerData) -> Any:
        """One tracker's part: whatever the plugin needs of it to make the sheets (kept between
        workers: dataclasses, numpy arrays, sheets; ``engine.parts`` stores it)."""
        ...

    def sheets(self, ctx: ReportContext, params: Any, results: Sequence[Any]) -> list[Sheet]:
        """The report's sheets from every tracker's part, in the report's tracker order."""
        ...


SheetBuilder = Callable[["ReportContext", Any, Iterable["TrackerData"]], "list[Sheet]"]
"""``build_sheets(ctx, params, trackers)``: a plugin's sheets from its trackers' data in one go."""


@dataclass(frozen=True)
class PluginSpec:
    """One plugin: everything ``generate``, ``/plugin/list`` and the engine need to know of it."""

    id: int
    name: str
    params: type[PluginParams]
    default_title: str
    ui_module: str  # Navixy's plugin object: ``ui_module``, and ``module`` (MODULE_PREFIX + module)
    module: str
    builder: str
    """Import path of the plugin's module (a :class:`PluginModule`: ``compute`` and ``sheets``);
    the worker imports it, the API never does: it would load numpy."""
    needs: Needs = field(default_factory=Needs)
    span_setting: Literal["max_time_span", "point_report_max_time_span"] = "max_time_span"
    single_tracker: bool = False

    def plugin_module(self) -> PluginModule:
        """The plugin's module, imported now."""
        return cast(PluginModule, importlib.import_module(self.builder))

    def sheet_builder(self) -> SheetBuilder:
        """``compute`` for each tracker, then ``sheets``: the whole report in one process."""
        module = self.plugin_module()

        def build_sheets(ctx: ReportContext, params: Any, trackers: Iterable[TrackerData]) -> list[Sheet]:
            return module.sheets(ctx, params, [module.compute(ctx, params, data) for data in trackers])

        return build_sheets


MODULE_PREFIX = "com.navixy.plugin.tracker.report."
"""Navixy documents the module of plugin 4 (``com.navixy.plugin.tracker.report.trip``, UI module
``Trip``); the others follow the same pattern with their own name."""

_ENGINE = "fleet_reports.engine.plugins."

PLUGINS: dict[int, PluginSpec] = {
    4: PluginSpec(
        4,
        "Trips",
        TripsParams,
        "Trip report",
        "Trip",
        "trip",
        builder=_ENGINE + "trips",
        needs=Needs(odometer_history=True),
    ),
    8: PluginSpec(
        8,
        "Geofence visits",
        GeofenceParams,
        "Geofence visits report",
        "Geofences",
        "geofences",
        builder=_ENGINE + "geofences",
    ),
    9: PluginSpec(
        9,
        "Measuring sensors",
        SensorsParams,
        "Measuring sensors report",
        "Sensors",
        "sensors",
        builder=_ENGINE + "sensors",
    ),
    27: PluginSpec(
        27,
        "Speed violation",
        SpeedingParams,
        "Speed violation report",
        "Speeding",
        "speeding",
        builder=_ENGINE + "speeding",
    ),
    6: PluginSpec(6, "Stops", StopsParams, "Stops report", "Stops", "stops", builder=_ENGINE + "stops"),
    7: PluginSpec(
        7,
        "Engine hours",
        EngineHoursParams,
        "Engine hours report",
        "EngineHours",
        "engine_hours",
        builder=_ENGINE + "engine_hours",
    ),
    91: PluginSpec(
        91,
        "Point report",
        PointsParams,
        "Point report",
        "Points",
        "points",
        builder=_ENGINE + "points",
        span_setting="point_report_max_time_span",
        single_tracker=True,
    ),
}
"""The plugins this deployment serves, by id; the others in :data:`PLANNED` answer 222 until their engine lands."""

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
