"""The engine's entry point: a report job's context and its tracks in, the report document out.

Which plugin computes the sheets, and what it needs loaded, come from its spec in
:data:`fleet_reports.engine.catalog.PLUGINS`; nothing here knows a plugin by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np

from fleet_reports.engine.catalog import Needs, PluginParams, PluginSpec, plugin_spec
from fleet_reports.engine.clean import clean
from fleet_reports.engine.document import ReportDocument, Sheet, WireTimeFilter
from fleet_reports.engine.model import Progress, ReportContext, Track, TrackerInfo, TrackLoader
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.odometer import OdometerHistory, OdometerStart, history_from_loader, odometer_start
from fleet_reports.engine.plugins.common import ReportError, TrackerData

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


def build_report(
    ctx: ReportContext,
    load_track: TrackLoader,
    progress: Progress,
    *,
    odometer_history: OdometerHistory | None = None,
) -> ReportDocument:
    """Build the report document (docs/report-model.md) of one job.

    Each tracker's fixes are loaded once for the period, cleaned (docs/analytics.md, "Cleaning")
    and computed; ``progress`` is called after each tracker. The drop counts of the cleaning go to
    the extra top-level key ``diagnostics``. For the trips' odometer, when the period has no device
    odometer and the tracker's base lies before it, the odometer at the period start comes from
    ``odometer_history`` (per-day figures: the worker passes the store's summary; by default they
    are computed from ``load_track``, reading every day since the base) and the few fixes around
    it (:func:`fleet_reports.engine.odometer.odometer_start`).
    """
    history = odometer_history or history_from_loader(load_track)
    spec, params = _plugin(ctx.plugin)
    diagnostics: dict[str, dict[str, int]] = {}
    ids = params.computed_trackers([t.id for t in ctx.trackers])
    source = _trackers(ctx, ids, load_track, progress, diagnostics, needs=spec.needs, history=history)
    sheets: list[Sheet] = spec.sheet_builder()(ctx, params, source)
    return {
        "id": ctx.report_id,
        "title": ctx.title,
        "created": ctx.created,
        "from": ctx.period_from,
        "to": ctx.period_to,
        # the request's time filter as it was validated and stored (the wire object)
        "time_filter": cast(WireTimeFilter, dict(ctx.time_filter)),
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
    history: OdometerHistory,
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
        start = _odometer_history(ctx, info, track, load_track, settings, history) if needs.odometer_history else None
        diagnostics[str(tracker_id)] = drops
        yield TrackerData(info, settings, track, start)
        progress((k + 1) / len(ids))


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
