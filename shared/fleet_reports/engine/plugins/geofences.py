"""Plugin 8, Geofence visits: every visit of a tracker to the selected zones, from entry to exit
(interpolated at the boundary), grouped by local day with totals; a summary, optionally the
zones never visited, and a summary sheet over several trackers (docs/report-model.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.catalog import GeofenceParams
from fleet_reports.engine.document import BarChartSection, Cell, Column, Section, Sheet, TableRow, TableSection, Total
from fleet_reports.engine.intervals import MS_PER_S, Intervals, key_runs
from fleet_reports.engine.model import ReportContext, TrackerInfo, Zone
from fleet_reports.engine.motion import segment
from fleet_reports.engine.plugins.common import (
    Formatter,
    Period,
    ReportError,
    TrackerData,
    cell,
    column,
    group,
    map_duration,
    map_row,
    map_table,
    no_data_sheet,
    sheet,
    table,
)
from fleet_reports.engine.timefilter import clip_to_windows, day_index, local_days
from fleet_reports.engine.zones import Shape, shape, visits

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

CHART_ZONES = 30  # bars in the time-in-zones chart (Navixy: the top 30 zones)
DISTANCE_DECIMALS = 2


@dataclass(frozen=True, kw_only=True)
class TrackerVisits(Intervals[np.int64]):
    """The visits of one tracker (entry ``start_ms``, exit ``end_ms``), ordered by entry;
    ``zone`` indexes the report's zones."""

    info: TrackerInfo
    zone: I64
    distance_m: F64
    first_ms: int = 0  # the tracker's first and last fix of the period: a visit that begins at
    last_ms: int = 0  # the first was already under way, one that ends at the last still was

    @property
    def total_km(self) -> float:
        return float(self.distance_m.sum()) / 1000.0


def selected_zones(ctx: ReportContext, params: GeofenceParams) -> list[Zone]:
    """The zones of ``zone_ids`` in that order (None: every zone of the owner)."""
    if params.zone_ids is None:
        return list(ctx.zones)
    by_id = {z.id: z for z in ctx.zones}
    missing = [i for i in params.zone_ids if i not in by_id]
    if missing:
        raise ReportError(f"unknown zones {missing}")
    return [by_id[i] for i in dict.fromkeys(params.zone_ids)]


def compute_visits(
    shapes: Sequence[Shape], params: GeofenceParams, data: TrackerData, filter_windows: tuple[I64, I64] | None
) -> TrackerVisits:
    """Visits of one tracker to the zones: cut to the time filter's windows, the short ones
    dropped, with the distance driven inside (moving legs only, as trips count it)."""
    track = data.track
    empty = TrackerVisits.empty(info=data.info)
    if len(track) == 0 or not shapes:
        return empty
    lat_lo, lat_hi = float(track.lat.min()), float(track.lat.max())
    lng_lo, lng_hi = float(track.lng.min()), float(track.lng.max())
    max_gap_ms = data.settings.max_gap * MS_PER_S
    zone_parts: list[I64] = []
    entry_parts: list[F64] = []
    exit_parts: list[F64] = []
    for k, s in enumerate(shapes):
        if s.lat_lo > lat_hi or s.lat_hi < lat_lo or s.lng_lo > lng_hi or s.lng_hi < lng_lo:
            continue  # the track never comes near this zone
        v = visits(s, track.t, track.lat, track.lng, max_gap_ms=max_gap_ms)
        zone_parts.append(np.full(len(v), k, np.int64))
        entry_parts.append(v.start_ms)
        exit_parts.append(v.end_ms)
    if not zone_parts:
        return empty
    zone = np.concatenate(zone_parts)
    entry = np.round(np.concatenate(entry_parts)).astype(np.int64)
    exit_ = np.round(np.concatenate(exit_parts)).astype(np.int64)
    if filter_windows is not None:
        src, entry, exit_ = clip_to_windows(entry, exit_, *filter_windows)
        zone = zone[src]
    keep = (exit_ - entry) >= int(params.min_minutes_in_zone * 60 * MS_PER_S)
    zone, entry, exit_ = zone[keep], entry[keep], exit_[keep]
    order = np.lexsort((zone, entry))
    zone, entry, exit_ = zone[order], entry[order], exit_[order]
    if params.show_mileage and entry.size:
        cum = segment(track, data.settings, smart_filter=False).cum_distance_m
        tf = track.t.astype(np.float64)
        distance = np.interp(exit_.astype(np.float64), tf, cum) - np.interp(entry.astype(np.float64), tf, cum)
    else:
        distance = np.zeros(entry.shape[0], np.float64)
    return TrackerVisits(
        info=data.info,
        zone=zone,
        start_ms=entry,
        end_ms=exit_,
        distance_m=np.maximum(distance, 0.0),
        first_ms=int(track.t[0]),
        last_ms=int(track.t[-1]),
    )


def compute(ctx: ReportContext, params: GeofenceParams, data: TrackerData) -> TrackerVisits:
    """One tracker's part of the report (the engine may compute each in its own worker)."""
    try:
        shapes = [shape(z) for z in selected_zones(ctx, params)]
    except ValueError as exc:
        raise ReportError(str(exc)) from exc
    return compute_visits(shapes, params, data, Period.of(ctx).windows)


def sheets(ctx: ReportContext, params: GeofenceParams, results: Sequence[TrackerVisits]) -> list[Sheet]:
    """The report's sheets from every tracker's part, in the report's tracker order."""
    fmt = Formatter.of(ctx, params.show_seconds)
    dates, bounds = local_days(ctx.from_ms, ctx.to_ms, ctx.time_zone)
    zones = selected_zones(ctx, params)

    summary_only = params.include_summary_sheet_only
    sheets: list[Sheet] = []
    if summary_only or (params.include_summary_sheet and len(results) >= 2):
        sheets.append(_summary_sheet(list(results), params, fmt))
    if summary_only:
        return sheets
    for r in results:
        if len(r):
            sheets.append(_tracker_sheet(r, zones, params, fmt, dates, bounds))
        elif not params.hide_empty_tabs:
            sheets.append(no_data_sheet(r.info, fmt.msg))
    return sheets


def _columns(params: GeofenceParams, fmt: Formatter) -> list[Column]:
    msg = fmt.msg
    cols = [
        column("zone", msg("geofences.zone"), align="left", width=4, weight=3),
        column("entry", msg("geofences.entry"), align="left", width=2, weight=1),
        column("exit", msg("geofences.exit"), align="left", width=2, weight=1),
        column("duration", msg("geofences.duration")),
    ]
    if params.show_mileage:
        cols.append(column("mileage", fmt.distance_title("geofences.mileage")))
    return cols


def _zone_cell(zone: Zone) -> Cell:
    return cell(zone.label, float(zone.id))


def _cut(fmt: Formatter, ms: int, edge_ms: int, key: str) -> str:
    """An entry or exit time; at the first or last fix of the period the visit was cut there:
    the vehicle was already inside when the data begins, or still inside when it ends."""
    text = fmt.time_of_day(ms)
    return f"{text} ({fmt.msg(key)})" if ms == edge_ms else text


def _tracker_sheet(
    r: TrackerVisits, zones: list[Zone], params: GeofenceParams, fmt: Formatter, dates: list[date], bounds: I64
) -> Sheet:
    msg = fmt.msg
    dur = r.duration_s
    km = r.distance_m / 1000.0
    rows: list[TableRow] = []
    for k in range(len(r)):
        row: TableRow = {
            "zone": _zone_cell(zones[int(r.zone[k])]),
            "entry": cell(_cut(fmt, int(r.start_ms[k]), r.first_ms, "geofences.already_inside"), float(r.start_ms[k])),
            "exit": cell(_cut(fmt, int(r.end_ms[k]), r.last_ms, "geofences.still_inside"), float(r.end_ms[k])),
            "duration": fmt.duration(float(dur[k])),
        }
        if params.show_mileage:
            row["mileage"] = fmt.distance(float(km[k]), DISTANCE_DECIMALS)
        rows.append(row)

    day = day_index(bounds, r.start_ms)
    first, last = key_runs(day)
    groups = []
    for a, b in zip(first.tolist(), (last + 1).tolist(), strict=True):
        total: Total = {"text": msg("in_total"), "duration": fmt.duration(float(dur[a:b].sum()))}
        if params.show_mileage:
            total["mileage"] = fmt.distance(float(km[a:b].sum()), DISTANCE_DECIMALS)
        groups.append(group(msg.day_header(dates[int(day[a])], b - a), rows[a:b], total))

    total_s = r.total_s
    visited = set(r.zone.tolist())
    summary_rows = [
        map_row(msg("geofences.visits"), fmt.number(len(r), 0)),
        map_row(msg("geofences.zones_visited"), fmt.number(len(visited), 0)),
        map_duration(msg("geofences.total_duration"), total_s, fmt),  # raw in MINUTES (wire format quirk)
    ]
    if params.show_mileage:
        summary_rows.append(
            map_row(
                fmt.distance_title("geofences.total_mileage", column=False),
                fmt.distance(r.total_km, DISTANCE_DECIMALS),
            )
        )
    sections: list[Section] = [
        table(msg("geofences.table"), _columns(params, fmt), groups),
        map_table(msg("summary"), summary_rows),
    ]
    if not params.hide_charts:
        sections.append(_time_chart(r, zones, fmt))
    if params.show_not_visited_zones:
        sections.append(_not_visited(zones, visited, fmt))
    return sheet(r.info.label, [r.info.id], sections)


def _time_chart(r: TrackerVisits, zones: list[Zone], fmt: Formatter) -> BarChartSection:
    """A bar chart of the time spent in each zone, the ``CHART_ZONES`` zones with the most
    (Navixy's limit), longest first; hours with 2 decimals (``x``: the bar's index)."""
    seconds = np.bincount(r.zone, weights=r.duration_s, minlength=len(zones))
    visited = np.flatnonzero(np.bincount(r.zone, minlength=len(zones)) > 0)
    order = sorted(visited.tolist(), key=lambda z: (-float(seconds[z]), zones[z].label, zones[z].id))[:CHART_ZONES]
    msg = fmt.msg
    return {
        "type": "chart",
        "kind": "bar",
        "header": msg("geofences.chart", count=len(order)),
        "x_axis": {
            "type": "category",
            "title": msg("geofences.zone"),
            "units": "",
            "categories": [zones[z].label for z in order],
        },
        "series": [
            {
                "name": msg("geofences.chart_series"),
                "units": msg.unit("h"),
                "points": [[k, round(float(seconds[z]) / 3600.0, 2)] for k, z in enumerate(order)],
            }
        ],
    }


def _not_visited(zones: list[Zone], visited: set[int], fmt: Formatter) -> TableSection:
    msg = fmt.msg
    cols = [
        column("zone", msg("geofences.zone"), align="left", width=4, weight=3),
        column("address", msg("geofences.address"), align="left", width=4, weight=3),
    ]
    rows: list[TableRow] = [
        {"zone": _zone_cell(z), "address": cell(z.address, float(z.id))}
        for k, z in enumerate(zones)
        if k not in visited
    ]
    header = msg("group_header", name=msg("geofences.zones"), count=len(rows))
    return table(msg("geofences.not_visited"), cols, [group(header, rows, None)] if rows else [])


def _summary_sheet(results: list[TrackerVisits], params: GeofenceParams, fmt: Formatter) -> Sheet:
    """One row per tracker with its totals."""
    msg = fmt.msg
    cols = [
        column("tracker", msg("tracker"), align="left", width=4, weight=3),
        column("visits", msg("geofences.visits")),
        column("duration", msg("geofences.total_duration")),
    ]
    if params.show_mileage:
        cols.append(column("mileage", fmt.distance_title("geofences.total_mileage")))
    rows = []
    for r in results:
        row: TableRow = {
            "tracker": cell(r.info.label, float(r.info.id)),
            "visits": fmt.number(len(r), 0),
            "duration": fmt.duration(r.total_s),
        }
        if params.show_mileage:
            row["mileage"] = fmt.distance(r.total_km, DISTANCE_DECIMALS)
        rows.append(row)
    total: Total = {
        "text": msg("in_total"),
        "visits": fmt.number(sum(len(r) for r in results), 0),
        "duration": fmt.duration(sum(r.total_s for r in results)),
    }
    if params.show_mileage:
        total["mileage"] = fmt.distance(sum(r.total_km for r in results), DISTANCE_DECIMALS)
    header = msg("group_header", name=msg("trackers"), count=len(results))
    return sheet(
        msg("summary"), [r.info.id for r in results], [table(msg("summary"), cols, [group(header, rows, total)])]
    )
