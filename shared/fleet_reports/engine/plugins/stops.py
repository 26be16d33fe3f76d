"""Plugin 6, Stops: every parking (motion's segmentation, the same parkings as the trip report)
with its start, end, duration, address and the ignition-on time during it, grouped per local day
(or per driver and day with ``group_by_driver``, drivers in the order they first appear); a
summary sheet over several trackers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.address import AddressBook
from fleet_reports.engine.catalog import StopsParams
from fleet_reports.engine.document import Cell, Column, Section, Sheet, TableRow, Total
from fleet_reports.engine.drivers import drivers_at
from fleet_reports.engine.ignition import ignition_series, on_intervals
from fleet_reports.engine.intervals import overlap_s, time_on_function
from fleet_reports.engine.model import ReportContext, TrackerInfo
from fleet_reports.engine.motion import Parkings, segment
from fleet_reports.engine.plugins.common import (
    DriverOrder,
    Formatter,
    Period,
    TrackerData,
    cell,
    column,
    group,
    map_duration,
    map_row,
    map_table,
    no_data_sheet,
    place_cell,
    row_groups,
    sheet,
    table,
)
from fleet_reports.engine.timefilter import clip_to_windows, day_index, local_days

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

PERCENT_DECIMALS = 1
DRIVER_ORDER: DriverOrder = "first_seen"  # group_by_driver: drivers as they first appear (pinned by the golden reports)


@dataclass(frozen=True)
class TrackerStops:
    info: TrackerInfo
    parkings: Parkings
    ignition_s: F64 | None  # ignition-on seconds during each parking; None: no ignition sensor
    ignition_fn: tuple[F64, F64] | None = None  # ignition-on time up to t (time_on_function)

    @property
    def duration_s(self) -> float:
        return self.parkings.total_s

    @property
    def ignition_total_s(self) -> float:
        return float(self.ignition_s.sum()) if self.ignition_s is not None else 0.0


def compute_stops(data: TrackerData, filter_windows: tuple[I64, I64] | None, smart_filter: bool = True) -> TrackerStops:
    """Parkings of one tracker (with the smart filter, a trip it drops is folded into them); with
    a time filter, cut at its windows' edges like trips (each piece of a parking inside a window
    is a stop)."""
    parkings = segment(data.track, data.settings, smart_filter=smart_filter).parkings
    if filter_windows is not None and len(parkings):
        k, start, end = clip_to_windows(parkings.start_ms, parkings.end_ms, *filter_windows)
        parkings = replace(parkings.take(k), start_ms=start, end_ms=end)
    series = ignition_series(data.info, data.track)
    ignition = None
    if series is not None:
        fn = time_on_function(*on_intervals(*series))
        ignition = overlap_s(fn, parkings.start_ms, parkings.end_ms)
        return TrackerStops(data.info, parkings, ignition, fn)
    return TrackerStops(data.info, parkings, ignition)


def compute(ctx: ReportContext, params: StopsParams, data: TrackerData) -> TrackerStops:
    """One tracker's part of the report (the engine may compute each in its own worker)."""
    return compute_stops(data, Period.of(ctx).windows, params.filter)


def sheets(ctx: ReportContext, params: StopsParams, results: Sequence[TrackerStops]) -> list[Sheet]:
    """The report's sheets from every tracker's part, in the report's tracker order."""
    fmt = Formatter.of(ctx, params.show_seconds)
    dates, bounds = local_days(ctx.from_ms, ctx.to_ms, ctx.time_zone)
    book = AddressBook.of(ctx)

    summary_only = params.include_summary_sheet_only
    sheets: list[Sheet] = []
    if summary_only or (params.include_summary_sheet and len(results) >= 2):
        sheets.append(_summary_sheet(list(results), fmt))
    if summary_only:
        return sheets
    for r in results:
        if len(r.parkings):
            sheets.append(_tracker_sheet(ctx, r, params, fmt, book, dates, bounds))
        elif not params.hide_empty_tabs:
            sheets.append(no_data_sheet(r.info, fmt.msg))
    return sheets


def _columns(fmt: Formatter, ignition: bool) -> list[Column]:
    msg = fmt.msg
    cols = [
        column("start", msg("stops.start"), align="left", width=2, weight=1),
        column("end", msg("stops.end"), align="left", width=2, weight=1),
        column("duration", msg("stops.duration")),
        column("address", msg("stops.address"), align="left", width=5, weight=3),
    ]
    if ignition:
        cols.append(column("ignition", msg("stops.ignition")))
        cols.append(column("ignition_pct", msg("stops.ignition_pct")))
    return cols


def _ignition_cells(fmt: Formatter, on_s: float, duration_s: float) -> dict[str, Cell]:
    """The ignition-on time of a stop (or of several) and its share of their duration."""
    pct = min(100.0 * on_s / duration_s, 100.0) if duration_s > 0 else 0.0
    return {"ignition": fmt.duration(on_s), "ignition_pct": fmt.number(pct, PERCENT_DECIMALS)}


def _tracker_sheet(
    ctx: ReportContext,
    r: TrackerStops,
    params: StopsParams,
    fmt: Formatter,
    book: AddressBook,
    dates: list[date],
    bounds: I64,
) -> Sheet:
    msg, p = fmt.msg, r.parkings
    addresses = book.lookup(p.lat, p.lng)
    dur = p.duration_s
    rows: list[TableRow] = []
    for k in range(len(p)):
        row: TableRow = {
            "start": cell(fmt.time_of_day(int(p.start_ms[k])), float(p.start_ms[k])),
            "end": cell(fmt.time_of_day(int(p.end_ms[k])), float(p.end_ms[k])),
            "duration": fmt.duration(float(dur[k])),
            "address": place_cell(
                addresses[k], float(p.lat[k]), float(p.lng[k]), params.show_coordinates, int(p.start_ms[k])
            ),
        }
        if r.ignition_s is not None:
            row.update(_ignition_cells(fmt, float(r.ignition_s[k]), float(dur[k])))
        rows.append(row)

    day = day_index(bounds, p.start_ms)
    names = None
    if params.group_by_driver:
        names = drivers_at(r.info.id, p.start_ms, ctx.drivers, msg("stops.unidentified_driver"))
    groups = []
    for idx in row_groups(day, names, unidentified=msg("stops.unidentified_driver"), order=DRIVER_ORDER):
        # A day's totals are the time of its stops within that day: an overnight stop counts up
        # to midnight here (its row shows it whole), so a day never holds more than 24 h.
        d = int(day[idx[0]])
        lo = np.clip(p.start_ms[idx], bounds[d], bounds[d + 1])
        hi = np.clip(p.end_ms[idx], bounds[d], bounds[d + 1])
        day_s = float((hi - lo).sum()) / 1000.0
        total: Total = {"text": msg("in_total"), "duration": fmt.duration(day_s)}
        if r.ignition_fn is not None:
            total.update(_ignition_cells(fmt, float(overlap_s(r.ignition_fn, lo, hi).sum()), day_s))
        header = msg.day_header(dates[d], len(idx))
        if names is not None:
            header = msg("stops.driver_group", driver=names[int(idx[0])], day=header)
        groups.append(group(header, [rows[int(k)] for k in idx], total))

    summary_rows = [
        map_row(msg("stops.count"), fmt.number(len(p), 0)),
        map_duration(msg("stops.duration"), r.duration_s, fmt),
    ]
    if r.ignition_s is not None:
        summary_rows.append(map_duration(msg("stops.ignition"), r.ignition_total_s, fmt))
        share = _ignition_cells(fmt, r.ignition_total_s, r.duration_s)["ignition_pct"]
        summary_rows.append(map_row(msg("stops.ignition_pct"), share))
    sections: list[Section] = [
        table(msg("stops.table"), _columns(fmt, r.ignition_s is not None), groups),
        map_table(msg("summary"), summary_rows),
    ]
    return sheet(r.info.label, [r.info.id], sections)


def _summary_sheet(results: list[TrackerStops], fmt: Formatter) -> Sheet:
    """One row per tracker: its count of stops, their duration and the ignition-on time."""
    msg = fmt.msg
    ignition = any(r.ignition_s is not None for r in results)
    cols = [
        column("tracker", msg("tracker"), align="left", width=4, weight=3),
        column("count", msg("stops.count")),
        column("duration", msg("stops.duration")),
    ]
    if ignition:
        cols.append(column("ignition", msg("stops.ignition")))
        cols.append(column("ignition_pct", msg("stops.ignition_pct")))
    rows = []
    for r in results:
        row: TableRow = {
            "tracker": cell(r.info.label, float(r.info.id)),
            "count": fmt.number(len(r.parkings), 0),
            "duration": fmt.duration(r.duration_s),
        }
        if r.ignition_s is not None:
            row.update(_ignition_cells(fmt, r.ignition_total_s, r.duration_s))
        rows.append(row)
    total: Total = {
        "text": msg("in_total"),
        "count": fmt.number(sum(len(r.parkings) for r in results), 0),
        "duration": fmt.duration(sum(r.duration_s for r in results)),
    }
    if ignition:
        known = [r for r in results if r.ignition_s is not None]
        on_s, of_s = sum(r.ignition_total_s for r in known), sum(r.duration_s for r in known)
        total.update(_ignition_cells(fmt, on_s, of_s))
    header = msg("group_header", name=msg("trackers"), count=len(results))
    return sheet(
        msg("summary"), [r.info.id for r in results], [table(msg("summary"), cols, [group(header, rows, total)])]
    )
