"""The engine's entry point: a report job's context and its tracks in, the report document out.

Which plugin computes the sheets, and what it needs loaded, come from its spec in
:data:`fleet_reports.engine.catalog.PLUGINS`; nothing here knows a plugin by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from fleet_reports.engine.catalog import Needs, PluginParams, PluginSpec, plugin_spec
from fleet_reports.engine.clean import clean
from fleet_reports.engine.model import Progress, ReportContext, Track, TrackerInfo, TrackLoader
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.plugins.common import Json, ReportError, TrackerData

__all__ = ["ReportError", "build_report", "plugin_params"]


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


def build_report(ctx: ReportContext, load_track: TrackLoader, progress: Progress) -> dict[str, Any]:
    """Build the report document (report-model.md) of one job.

    Each tracker's fixes are loaded once for the period (plus, for the trips odometer, the span
    from the tracker's odometer base to the period start when the period has no device odometer),
    cleaned (analytics.md section 1) and computed; ``progress`` is called after each tracker. The
    drop counts of the cleaning go to the extra top-level key ``diagnostics``.
    """
    spec, params = _plugin(ctx.plugin)
    diagnostics: dict[str, dict[str, int]] = {}
    ids = params.computed_trackers([t.id for t in ctx.trackers])
    source = _trackers(ctx, ids, load_track, progress, diagnostics, needs=spec.needs)
    sheets: list[Json] = spec.sheet_builder()(ctx, params, source)
    return {
        "id": ctx.report_id,
        "title": ctx.title,
        "created": ctx.created,
        "from": ctx.period_from,
        "to": ctx.period_to,
        "time_filter": dict(ctx.time_filter),
        "sheets": sheets,
        "diagnostics": diagnostics,
    }


def _trackers(
    ctx: ReportContext,
    ids: Sequence[int],
    load_track: TrackLoader,
    progress: Progress,
    diagnostics: dict[str, dict[str, int]],
    *,
    needs: Needs,
) -> Iterator[TrackerData]:
    """Load and clean each tracker's fixes in turn; report progress once it has been computed."""
    infos = {t.id: t for t in ctx.trackers}
    for k, tracker_id in enumerate(ids):
        info = infos.get(tracker_id)
        if info is None:
            raise ReportError(f"tracker {tracker_id} is not in the report's trackers")
        settings = TripSettings.build(ctx.trip_defaults, info.trip_detection)
        track, drops = clean(
            load_track(tracker_id, ctx.from_ms, ctx.to_ms), max_implied_speed_kmh=settings.max_implied_speed_kmh
        )
        history = _odometer_history(ctx, info, track, load_track, settings) if needs.odometer_history else Track.empty()
        diagnostics[str(tracker_id)] = drops
        yield TrackerData(info, settings, track, history)
        progress((k + 1) / len(ids))


def _odometer_history(
    ctx: ReportContext, info: TrackerInfo, track: Track, load_track: TrackLoader, settings: TripSettings
) -> Track:
    """Fixes from the odometer base to the period start, needed only when the period's fixes
    carry no device odometer and the base lies before the period."""
    base_ms = info.odometer_base_ms
    if info.odometer_base_km is None or base_ms is None or base_ms >= ctx.from_ms:
        return Track.empty()
    if len(track) and bool(np.isfinite(track.odometer).any()):
        return Track.empty()
    history, _ = clean(
        load_track(info.id, base_ms, ctx.from_ms - 1), max_implied_speed_kmh=settings.max_implied_speed_kmh
    )
    return history
