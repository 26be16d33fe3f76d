"""The engine's entry point: a report job's context and its tracks in, the report document out.

Which plugin computes the sheets, and what it needs loaded, come from its spec in
:data:`fleet_reports.engine.catalog.PLUGINS`; nothing here knows a plugin by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from fleet_reports.engine.catalog import PluginParams, PluginSpec, plugin_spec
from fleet_reports.engine.clean import clean
from fleet_reports.engine.document import ReportDocument, Sheet, WireTimeFilter
from fleet_reports.engine.model import Progress, ReportContext, Track, TrackerInfo, TrackLoader
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.odometer import OdometerHistory, OdometerStart, history_from_loader, odometer_start
from fleet_reports.engine.plugins.common import ReportError, TrackerData

__all__ = [
    "ReportError",
    "TrackerPart",
    "assemble_report",
    "build_report",
    "compute_part",
    "plugin_params",
    "report_trackers",
]


def _plugin(plugin: Any) -> tuple[PluginSpec, PluginParams]:
    """The plugin object's spec, and the object validated with the spec's model."""
    try:
        plugin_id = int(plugin["plugin_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError("plugin.plugin_id is missing or not an integer") from exc
    spec = plugin_spec(plugin_id)
    if spec is None:
        raise ReportError(f"plugin {plugin_id} is not implemented")
    return spec, spec.params.model_validate(dict(plugin))


def plugin_params(plugin: Any) -> PluginParams:
    """The plugin object validated with the catalog's model for its ``plugin_id``."""
    return _plugin(plugin)[1]


@dataclass(frozen=True)
class TrackerPart:
    """One tracker's share of a report: what its plugin's ``compute`` made of its cleaned fixes,
    and what the cleaning dropped (the document's ``diagnostics``). A worker may compute it alone
    (the report split across workers, one part per tracker) and keep it for the assembly."""

    tracker_id: int
    drops: dict[str, int]
    result: Any


def report_trackers(ctx: ReportContext) -> list[int]:
    """The trackers the report computes, in its order (a plugin's options may add some)."""
    _, params = _plugin(ctx.plugin)
    return list(params.computed_trackers([t.id for t in ctx.trackers]))


def compute_part(
    ctx: ReportContext, tracker_id: int, load_track: TrackLoader, *, odometer_history: OdometerHistory | None = None
) -> TrackerPart:
    """Load, clean and compute one tracker of the report (docs/analytics.md, "Cleaning").

    For the trips' odometer, when the period has no device odometer and the tracker's base lies
    before it, the odometer at the period start comes from ``odometer_history`` (per-day figures:
    the worker passes the store's summary; by default they are computed from ``load_track``,
    reading every day since the base) and the few fixes around it
    (:func:`fleet_reports.engine.odometer.odometer_start`)."""
    spec, params = _plugin(ctx.plugin)
    info = next((t for t in ctx.trackers if t.id == tracker_id), None)
    if info is None:
        raise ReportError(f"tracker {tracker_id} is not in the report's trackers")
    settings = TripSettings.build(ctx.trip_defaults, info.trip_detection)
    track, drops = clean(
        load_track(tracker_id, ctx.from_ms, ctx.to_ms), max_implied_speed_kmh=settings.max_implied_speed_kmh
    )
    start = None
    if spec.needs.odometer_history:
        history = odometer_history or history_from_loader(load_track)
        start = _odometer_history(ctx, info, track, load_track, settings, history)
    result = spec.plugin_module().compute(ctx, params, TrackerData(info, settings, track, start))
    return TrackerPart(tracker_id, drops, result)


def assemble_report(ctx: ReportContext, parts: Sequence[TrackerPart]) -> ReportDocument:
    """The report document (docs/report-model.md) from every tracker's part, in the report's
    tracker order; the cleaning's drop counts go to the extra top-level key ``diagnostics``."""
    spec, params = _plugin(ctx.plugin)
    sheets: list[Sheet] = spec.plugin_module().sheets(ctx, params, [p.result for p in parts])
    return {
        "id": ctx.report_id,
        "title": ctx.title,
        "created": ctx.created,
        "from": ctx.period_from,
        "to": ctx.period_to,
        # the request's time filter as it was validated and stored (the wire object)
        "time_filter": cast(WireTimeFilter, dict(ctx.time_filter)),
        "sheets": sheets,
        "diagnostics": {str(p.tracker_id): p.drops for p in parts},
    }


def build_report(
    ctx: ReportContext,
    load_track: TrackLoader,
    progress: Progress,
    *,
    odometer_history: OdometerHistory | None = None,
) -> ReportDocument:
    """Build the report document of one job in this process: each tracker's part in turn
    (:func:`compute_part`; ``progress`` is called after each), then :func:`assemble_report`."""
    history = odometer_history or history_from_loader(load_track)
    ids = report_trackers(ctx)
    parts: list[TrackerPart] = []
    for k, tracker_id in enumerate(ids):
        parts.append(compute_part(ctx, tracker_id, load_track, odometer_history=history))
        progress((k + 1) / len(ids))
    return assemble_report(ctx, parts)


def _odometer_history(
    ctx: ReportContext,
    info: TrackerInfo,
    track: Track,
    load_track: TrackLoader,
    settings: TripSettings,
    history: OdometerHistory,
) -> OdometerStart | None:
    """The odometer at the period start, needed only when the period's fixes carry no device
    odometer and the base lies before the period: a few reads, however long the history."""
    if len(track) and bool(np.isfinite(track.odometer).any()):
        return None
    return odometer_start(info, settings, ctx.from_ms, history, load_track)
