"""Plugin 4, Trips: one sheet per tracker with trips grouped by local day (or per driver and day
with ``group_by_driver``, drivers by name and the unidentified last), a summary, and the
odometer at the end of the period; a summary sheet over several trackers (docs/report-model.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.address import AddressBook
from fleet_reports.engine.catalog import TripsParams
from fleet_reports.engine.document import Cell, Column, Section, Sheet, TableRow, Total
from fleet_reports.engine.drivers import drivers_at
from fleet_reports.engine.i18n import format_duration
from fleet_reports.engine.intervals import overlap_s, time_on_function
from fleet_reports.engine.model import DriverShift, ReportContext, TrackerInfo
from fleet_reports.engine.motion import Parkings, Segments, Trips, merge_by_day, segment
from fleet_reports.engine.odometer import trip_distance_after
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
    row_groups,
    sheet,
    table,
    text,
    with_coordinates,
)
from fleet_reports.engine.timefilter import cut_trips, day_index, local_days

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

ROW_LENGTH_DECIMALS = 2  # "106.29"
TOTAL_LENGTH_DECIMALS = 1  # "523.8", as the seed rounds totals
# group_by_driver: drivers by name, nobody (None, whatever the drivers' names) last
DRIVER_ORDER: DriverOrder = "by_name"


@dataclass(frozen=True)
class Idle:
    """The parking time after each trip: the parkings (as the stops report has them) between
    its end and ``until_ms`` (the next trip's start, or the period end after the last trip)."""

    parked: tuple[F64, F64]  # time_on_function of the parkings
    end_ms: I64  # each trip's end
    until_ms: I64

    @property
    def after_s(self) -> F64:
        out: F64 = np.maximum(overlap_s(self.parked, self.end_ms, self.until_ms), 0.0)
        return out

    def within_s(self, which: I64, lo_ms: int, hi_ms: int) -> float:
        """The idle time after the trips ``which`` that lies within ``[lo_ms, hi_ms]`` (a local
        day: an overnight parking counts up to midnight in the day of the trip before it)."""
        a = np.clip(self.end_ms[which], lo_ms, hi_ms)
        b = np.clip(self.until_ms[which], lo_ms, hi_ms)
        return float(np.maximum(overlap_s(self.parked, a, np.maximum(a, b)), 0.0).sum())


@dataclass(frozen=True)
class TrackerTrips:
    """The trips of one tracker as the report shows them (after time filter and ``split``)."""

    info: TrackerInfo
    trips: Trips
    idle: Idle  # parking time after each trip
    odometer_km: float
    bridged: tuple[int, float, float] = (0, 0.0, 0.0)  # data gaps inside trips: count, seconds, metres

    @property
    def idle_s(self) -> F64:
        return self.idle.after_s

    @property
    def distance_km(self) -> float:
        return float(self.trips.distance_m.sum()) / 1000.0

    @property
    def duration_s(self) -> float:
        return float(self.trips.duration_s.sum())

    @property
    def max_speed_kmh(self) -> float:
        return float(self.trips.max_speed_kmh.max()) if len(self.trips) else 0.0


def compute_trips(
    ctx: ReportContext,
    params: TripsParams,
    data: TrackerData,
    day_bounds: I64,
    filter_windows: tuple[I64, I64] | None,
) -> TrackerTrips:
    """Trips of one tracker: segment, cut at the time filter's windows (``None``: the filter
    covers everything), merge per day unless ``split``."""
    seg = segment(data.track, data.settings, smart_filter=params.filter)
    trips = seg.trips if filter_windows is None else cut_trips(seg, *filter_windows)
    if not params.split:
        trips = merge_by_day(trips, day_bounds)
    idle = idle_after(trips, seg.parkings, ctx.to_ms)
    return TrackerTrips(data.info, trips, idle, odometer_km(data, seg, ctx.from_ms), bridged_in(trips, seg))


def bridged_in(trips: Trips, seg: Segments) -> tuple[int, float, float]:
    """The data gaps inside the trips that count as driving (no fixes for at least a parking's
    length, but the vehicle moved on at a driving speed): how many, how long, how far."""
    legs = seg.bridged
    if legs.size == 0 or len(trips) == 0:
        return 0, 0.0, 0.0
    at = seg.t[legs]
    k = np.searchsorted(trips.start_ms, at, side="right") - 1
    inside = (k >= 0) & (seg.t[legs + 1] <= trips.end_ms[np.maximum(k, 0)])
    legs = legs[inside]
    seconds = float((seg.t[legs + 1] - seg.t[legs]).sum()) / 1000.0
    metres = float((seg.cum_distance_m[legs + 1] - seg.cum_distance_m[legs]).sum())
    return int(legs.size), seconds, metres


def idle_after(trips: Trips, parkings: Parkings, to_ms: int) -> Idle:
    """Parking time after each trip: the time of the parkings (as the stops report has them)
    between its end and the next trip's start, or the period end after the last trip. A parking
    lasts while the data shows it; where the data ends or has a long gap, so does the idle time."""
    parked = time_on_function(parkings.start_ms, parkings.end_ms)  # parkings are disjoint, in order
    if len(trips) == 0:
        none = np.empty(0, np.int64)
        return Idle(parked, none, none)
    hi = np.append(trips.start_ms[1:], max(to_ms, int(trips.end_ms[-1])))
    return Idle(parked, trips.end_ms, hi.astype(np.int64))


def odometer_km(data: TrackerData, seg: Segments, from_ms: int) -> float:
    """Odometer at the period end (docs/analytics.md, "odometer"): the last device odometer
    reading of the period plus its trips since; else the odometer at the period start (the last
    reading before it, or the base, plus the trips since: :mod:`fleet_reports.engine.odometer`)
    plus the period's trips; else the base (set within the period) plus the trips since it; else
    the trip distance of the period."""
    known = np.flatnonzero(np.isfinite(data.track.odometer))
    if known.size:
        k = int(known[-1])
        return float(data.track.odometer[k]) + trip_distance_after(seg, int(data.track.t[k])) / 1000.0
    start = data.odometer_start
    if start is not None:
        return start.km + trip_distance_after(seg, start.since_ms) / 1000.0
    info = data.info
    base_km = info.odometer_base_km if info.odometer_base_km is not None else 0.0
    since = from_ms if info.odometer_base_km is None or info.odometer_base_ms is None else info.odometer_base_ms
    return base_km + trip_distance_after(seg, since) / 1000.0


def compute(ctx: ReportContext, params: TripsParams, data: TrackerData) -> TrackerTrips:
    """One tracker's part of the report (the engine may compute each in its own worker)."""
    period = Period.of(ctx)
    return compute_trips(ctx, params, data, period.bounds, period.windows)


def sheets(ctx: ReportContext, params: TripsParams, results: Sequence[TrackerTrips]) -> list[Sheet]:
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
        if len(r.trips):
            sheets.append(_tracker_sheet(r, params, fmt, book, dates, bounds, ctx.drivers))
        elif not params.hide_empty_tabs:
            sheets.append(no_data_sheet(r.info, fmt.msg))
    return sheets


def _columns(params: TripsParams, fmt: Formatter) -> list[Column]:
    msg = fmt.msg
    cols = [
        column("from", msg("trips.from"), align="left", width=4, weight=3),
        column("to", msg("trips.to"), align="left", width=4, weight=3),
        column("length", fmt.distance_title("trips.length")),
        column("time", msg("trips.time")),
    ]
    if params.show_idle_duration:
        cols.append(column("idle_duration", msg("trips.idle")))
    cols.append(column("avg_speed", fmt.speed_title("trips.avg_speed")))
    cols.append(column("max_speed", fmt.speed_title("trips.max_speed")))
    return cols


def _place_cell(fmt: Formatter, ms: int, address: str, lat: float, lng: float, coords: bool) -> Cell:
    """A trip's start or end: the time of day, then the address."""
    return cell(f"{fmt.time_of_day(ms)} - {with_coordinates(address, lat, lng, coords)}", float(ms), (lat, lng))


def _tracker_sheet(
    r: TrackerTrips,
    params: TripsParams,
    fmt: Formatter,
    book: AddressBook,
    dates: list[date],
    bounds: I64,
    shifts: Sequence[DriverShift] = (),
) -> Sheet:
    msg, trips = fmt.msg, r.trips
    starts = book.lookup(trips.start_lat, trips.start_lng)
    ends = book.lookup(trips.end_lat, trips.end_lng)
    km = trips.distance_m / 1000.0
    dur = trips.duration_s
    avg = trips.avg_speed_kmh
    rows: list[TableRow] = []
    for k in range(len(trips)):
        row: TableRow = {
            "from": _place_cell(
                fmt,
                int(trips.start_ms[k]),
                starts[k],
                float(trips.start_lat[k]),
                float(trips.start_lng[k]),
                params.show_coordinates,
            ),
            "to": _place_cell(
                fmt,
                int(trips.end_ms[k]),
                ends[k],
                float(trips.end_lat[k]),
                float(trips.end_lng[k]),
                params.show_coordinates,
            ),
            "length": fmt.distance(float(km[k]), ROW_LENGTH_DECIMALS),
            "time": fmt.duration(float(dur[k])),
        }
        if params.show_idle_duration:
            row["idle_duration"] = fmt.duration(float(r.idle_s[k]))
        row["avg_speed"] = fmt.speed(float(avg[k]))
        row["max_speed"] = fmt.speed(float(trips.max_speed_kmh[k]))
        rows.append(row)

    day = day_index(bounds, trips.start_ms)
    columns = _columns(params, fmt)
    groups = []
    names = None
    if params.group_by_driver:  # a trip belongs to the driver assigned at its start (None: nobody)
        names = drivers_at(r.info.id, trips.start_ms, shifts)
    parts = row_groups(day, names, order=DRIVER_ORDER)
    for ks in parts:
        total: Total = {"text": msg("in_total")}
        total.update(_totals(fmt, float(km[ks].sum()), float(dur[ks].sum()), float(trips.max_speed_kmh[ks].max())))
        if params.show_idle_duration:  # within the group's day: a day never holds more than 24 h
            d = int(day[int(ks[0])])
            total["idle_duration"] = fmt.duration(r.idle.within_s(ks, int(bounds[d]), int(bounds[d + 1])))
        total = {"text": total["text"], **{c["field"]: total[c["field"]] for c in columns if c["field"] in total}}
        k0 = int(ks[0])
        header = msg.day_header(dates[int(day[k0])], int(ks.shape[0]))
        if names is not None:
            driver = names[k0] or msg("trips.unidentified_driver")
            header = msg("trips.driver_day", driver=driver, day=header)
        groups.append(group(header, [rows[k] for k in ks.tolist()], total))

    total_km, total_s = r.distance_km, r.duration_s
    totals = _totals(fmt, total_km, total_s, r.max_speed_kmh)
    summary = map_table(
        msg("summary"),
        [
            map_row(msg("trips.count"), fmt.number(len(trips), 0)),
            map_row(fmt.distance_title("trips.length", column=False), totals["length"]),
            map_duration(msg("trips.time"), total_s, fmt),  # raw in MINUTES (wire format quirk)
            map_row(fmt.speed_title("trips.avg_speed", column=False), totals["avg_speed"]),
            map_row(fmt.speed_title("trips.max_speed", column=False), totals["max_speed"]),
            map_row(fmt.distance_title("trips.odometer", column=False), fmt.distance(r.odometer_km, 0)),
        ],
    )
    sections: list[Section] = [
        table(msg("trips.table"), columns, groups),
        summary,
        text(msg("trips.odometer_note"), "small_print"),
    ]
    count, seconds, metres = r.bridged
    if count:
        distance, _ = msg.number(fmt.units.distance(metres / 1000.0), TOTAL_LENGTH_DECIMALS)
        note = msg(
            "trips.bridged_note",
            count=count,
            duration=format_duration(seconds, fmt.show_seconds),
            distance=distance,
            unit=msg.unit(fmt.units.distance_unit),
        )
        sections.append(text(note, "small_print"))
    return sheet(r.info.label, [r.info.id], sections)


def _totals(fmt: Formatter, km: float, seconds: float, max_kmh: float) -> dict[str, Cell]:
    """A total over trips: ``max_kmh`` the highest of their maxima. Their average cannot exceed
    it (each trip's max is at least its average); ``max`` only absorbs floating-point rounding."""
    avg = km / (seconds / 3600.0) if seconds > 0 else 0.0
    return {
        "length": fmt.distance(km, TOTAL_LENGTH_DECIMALS),
        "time": fmt.duration(seconds),
        "avg_speed": fmt.speed(avg),
        "max_speed": fmt.speed(max(max_kmh, avg)),
    }


def _summary_sheet(results: list[TrackerTrips], fmt: Formatter) -> Sheet:
    """One row per tracker with its totals."""
    msg = fmt.msg
    cols = [
        column("tracker", msg("tracker"), align="left", width=4, weight=3),
        column("count", msg("trips.count")),
        column("length", fmt.distance_title("trips.length")),
        column("time", msg("trips.time")),
        column("avg_speed", fmt.speed_title("trips.avg_speed")),
        column("max_speed", fmt.speed_title("trips.max_speed")),
        column("odometer", fmt.distance_title("trips.odometer")),
    ]
    rows = []
    for r in results:
        row: TableRow = {"tracker": cell(r.info.label, float(r.info.id)), "count": fmt.number(len(r.trips), 0)}
        row.update(_totals(fmt, r.distance_km, r.duration_s, r.max_speed_kmh))
        row["length"] = fmt.distance(r.distance_km, ROW_LENGTH_DECIMALS)
        row["odometer"] = fmt.distance(r.odometer_km, 0)
        rows.append(row)
    total: Total = {"text": msg("in_total"), "count": fmt.number(sum(len(r.trips) for r in results), 0)}
    total.update(
        _totals(
            fmt,
            sum(r.distance_km for r in results),
            sum(r.duration_s for r in results),
            max((r.max_speed_kmh for r in results), default=0.0),
        )
    )
    header = msg("group_header", name=msg("trackers"), count=len(results))
    return sheet(
        msg("summary"), [r.info.id for r in results], [table(msg("summary"), cols, [group(header, rows, total)])]
    )
