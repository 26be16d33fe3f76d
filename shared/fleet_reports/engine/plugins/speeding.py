"""Plugin 27, Speed violation: runs where the speed exceeds ``max_speed`` (in the user's units)
for strictly longer than ``min_duration_minutes``, grouped by local day (and driver with
``group_by_driver``: drivers by name, the unidentified last) with totals; a summary, and a
summary sheet over several trackers.

A run starts where the speed crosses the limit upwards and ends where it falls back to it; both
instants are interpolated linearly in time between the fixes either side (a data gap longer
than ``max_gap`` ends a run at its last fix). Distance counts the fixes' legs inside the run
(partial legs at its ends); average speed = distance / duration; max speed = highest fix speed,
never below the average (a speed derived from positions is a chord over a window: it can miss
the peak, and it reads low on a winding road). A total's average (its distance over its
duration) is a duration-weighted mean of its rows' averages, so never above its max, the
highest of its rows' maxima.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.address import AddressBook
from fleet_reports.engine.catalog import SpeedingParams
from fleet_reports.engine.document import Cell, Column, Section, Sheet, TableRow, Total
from fleet_reports.engine.drivers import drivers_at
from fleet_reports.engine.geo import leg_lengths_m
from fleet_reports.engine.intervals import MS_PER_S, Intervals, expand_ranges, runs
from fleet_reports.engine.model import DriverShift, ReportContext, TrackerInfo
from fleet_reports.engine.motion import (
    Trips,
    at_least_average,
    average_speed_kmh,
    fix_speeds,
    segment,
)
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
    text,
)
from fleet_reports.engine.timefilter import clip_to_windows, day_index, local_days
from fleet_reports.engine.units import unit_system

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

DISTANCE_DECIMALS = 2
DRIVER_ORDER: DriverOrder = "by_name"  # group_by_driver: drivers by name, the unidentified last


@dataclass(frozen=True, kw_only=True)
class Violations(Intervals[np.int64]):
    """The speed violations of one tracker, in time order."""

    info: TrackerInfo
    distance_m: F64
    max_speed_kmh: F64
    lat: F64  # position at the start
    lng: F64

    @property
    def avg_speed_kmh(self) -> F64:
        return average_speed_kmh(self.distance_m, self.duration_s)

    @property
    def total_km(self) -> float:
        return float(self.distance_m.sum()) / 1000.0

    @property
    def top_kmh(self) -> float:
        return float(self.max_speed_kmh.max()) if len(self) else 0.0


def over_limit_runs(t: I64, speed: F64, limit_kmh: float, gap: Bool) -> tuple[F64, F64]:
    """Start and end (UTC ms, interpolated) of each run of fixes faster than ``limit_kmh``.

    ``gap[i]`` marks the leg from fix i to i + 1 as a data gap: no run spans it and no crossing
    is interpolated over it. A fix of unknown speed (NaN) is not over the limit.
    """
    n = t.shape[0]
    over = speed > limit_kmh
    if n == 0 or not over.any():
        return np.empty(0, np.float64), np.empty(0, np.float64)
    no_leg_out = np.concatenate((gap, [True]))  # no usable leg out of fix i
    first, last = runs(over, gap)
    tf = t.astype(np.float64)
    start, end = tf[first].copy(), tf[last].copy()
    # Upward crossing on the leg into the run's first fix, downward on the leg out of its last,
    # where the leg is usable and the speed outside is known.
    a = first[first > 0]
    a = a[~gap[a - 1] & np.isfinite(speed[a - 1])]
    v0, v1 = speed[a - 1], speed[a]
    start[np.searchsorted(first, a)] = tf[a - 1] + (limit_kmh - v0) / (v1 - v0) * (tf[a] - tf[a - 1])
    b = last[~no_leg_out[last]]
    b = b[np.isfinite(speed[b + 1])]
    v0, v1 = speed[b], speed[b + 1]
    end[np.searchsorted(last, b)] = tf[b] + (v0 - limit_kmh) / (v0 - v1) * (tf[b + 1] - tf[b])
    return start, end


def compute_violations(
    params: SpeedingParams, limit_kmh: float, data: TrackerData, filter_windows: tuple[I64, I64] | None
) -> Violations:
    track = data.track
    n = len(track)
    if n < 2:
        return Violations.empty(info=data.info)
    gap = np.diff(track.t) > int(data.settings.max_gap * MS_PER_S)
    # With the smart filter the segmentation is needed anyway: its fix speeds are the same ones.
    seg = segment(track, data.settings) if params.filter else None
    speed = seg.speed_kmh if seg is not None else fix_speeds(track, gap, data.settings.idle_speed_threshold)
    start_f, end_f = over_limit_runs(track.t, speed, limit_kmh, gap)
    start = np.round(start_f).astype(np.int64)
    end = np.round(end_f).astype(np.int64)
    if filter_windows is not None:
        _, start, end = clip_to_windows(start, end, *filter_windows)
    keep = (end - start) > round(params.min_duration_minutes * 60 * MS_PER_S)
    if seg is not None and keep.any():  # only inside the trips the smart filter keeps
        keep &= overlaps_trips(start, end, seg.trips)
    start, end = start[keep], end[keep]
    if start.size == 0:
        return Violations.empty(info=data.info)
    tf = track.t.astype(np.float64)
    legs = np.where(gap, 0.0, leg_lengths_m(track.lat, track.lng))
    cum = np.concatenate(([0.0], np.cumsum(legs)))
    sf, ef = start.astype(np.float64), end.astype(np.float64)
    distance = np.interp(ef, tf, cum) - np.interp(sf, tf, cum)
    # Highest fix speed within each run (the speed at its interpolated ends is the limit).
    first = np.searchsorted(track.t, start, side="left")
    last = np.searchsorted(track.t, end, side="right") - 1
    lo = np.clip(np.minimum(first, last), 0, n - 1)
    hi = np.clip(np.maximum(first, last), 0, n - 1)
    idx, offsets, _ = expand_ranges(lo, hi)
    top = np.fmax.reduceat(speed[idx], offsets)
    top = np.where(last >= first, top, limit_kmh)
    top = np.nan_to_num(np.fmax(top, limit_kmh), nan=limit_kmh)
    distance = np.maximum(distance, 0.0)
    return Violations(
        info=data.info,
        start_ms=start,
        end_ms=end,
        distance_m=distance,
        max_speed_kmh=at_least_average(top, distance, end - start),
        lat=np.interp(sf, tf, track.lat),
        lng=np.interp(sf, tf, track.lng),
    )


def overlaps_trips(start_ms: I64, end_ms: I64, trips: Trips) -> Bool:
    """Which runs ``[start, end]`` overlap one of the (time-ordered) trips: with the smart filter
    a violation counts only inside the trips it keeps."""
    if len(trips) == 0:
        return np.zeros(start_ms.shape[0], np.bool_)
    k = np.searchsorted(trips.start_ms, end_ms, side="left") - 1  # the last trip starting before the end
    out: Bool = (k >= 0) & (trips.end_ms[np.maximum(k, 0)] > start_ms)
    return out


def compute(ctx: ReportContext, params: SpeedingParams, data: TrackerData) -> Violations:
    """One tracker's part of the report (the engine may compute each in its own worker)."""
    limit_kmh = params.max_speed * unit_system(ctx.measurement_system).km_per_unit
    return compute_violations(params, limit_kmh, data, Period.of(ctx).windows)


def sheets(ctx: ReportContext, params: SpeedingParams, results: Sequence[Violations]) -> list[Sheet]:
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
        if len(r):
            sheets.append(_tracker_sheet(r, ctx.drivers, params, fmt, book, dates, bounds))
        elif not params.hide_empty_tabs:
            sheets.append(no_data_sheet(r.info, fmt.msg))
    return sheets


def _columns(fmt: Formatter) -> list[Column]:
    msg = fmt.msg
    return [
        column("start", msg("speeding.start"), align="left", width=2, weight=1),
        column("end", msg("speeding.end"), align="left", width=2, weight=1),
        column("duration", msg("speeding.duration")),
        column("max_speed", fmt.speed_title("speeding.max_speed")),
        column("avg_speed", fmt.speed_title("speeding.avg_speed")),
        column("distance", fmt.distance_title("speeding.distance")),
        column("address", msg("speeding.address"), align="left", width=4, weight=3),
    ]


def _totals(fmt: Formatter, seconds: float, km: float, top_kmh: float) -> dict[str, Cell]:
    """A total over rows: ``top_kmh`` the highest of their maxima. Their average cannot exceed
    it (each row's max is at least its average); ``max`` only absorbs floating-point rounding."""
    avg = km / (seconds / 3600.0) if seconds > 0 else 0.0
    return {
        "duration": fmt.duration(seconds),
        "max_speed": fmt.speed(max(top_kmh, avg)),
        "avg_speed": fmt.speed(avg),
        "distance": fmt.distance(km, DISTANCE_DECIMALS),
    }


def _tracker_sheet(
    r: Violations,
    shifts: Sequence[DriverShift],
    params: SpeedingParams,
    fmt: Formatter,
    book: AddressBook,
    dates: list[date],
    bounds: I64,
) -> Sheet:
    msg = fmt.msg
    dur, km, avg = r.duration_s, r.distance_m / 1000.0, r.avg_speed_kmh
    addresses = book.lookup(r.lat, r.lng)
    rows: list[TableRow] = []
    for k in range(len(r)):
        lat, lng = float(r.lat[k]), float(r.lng[k])
        rows.append(
            {
                "start": cell(fmt.time_of_day(int(r.start_ms[k])), float(r.start_ms[k])),
                "end": cell(fmt.time_of_day(int(r.end_ms[k])), float(r.end_ms[k])),
                "duration": fmt.duration(float(dur[k])),
                "max_speed": fmt.speed(float(r.max_speed_kmh[k])),
                "avg_speed": fmt.speed(float(avg[k])),
                "distance": fmt.distance(float(km[k]), DISTANCE_DECIMALS),
                "address": place_cell(addresses[k], lat, lng, params.show_coordinates, int(r.start_ms[k])),
            }
        )

    day = day_index(bounds, r.start_ms)
    unidentified = msg("speeding.unidentified_driver")
    names = drivers_at(r.info.id, r.start_ms, shifts, unidentified) if params.group_by_driver else None
    groups = []
    for ks in row_groups(day, names, unidentified=unidentified, order=DRIVER_ORDER):
        d = int(day[ks[0]])
        total: Total = {"text": msg("in_total")}
        total.update(_totals(fmt, float(dur[ks].sum()), float(km[ks].sum()), float(r.max_speed_kmh[ks].max())))
        header = msg.day_header(dates[d], len(ks))
        if names is not None:
            header = msg("speeding.driver_day", driver=names[int(ks[0])], day=header)
        groups.append(group(header, [rows[k] for k in ks.tolist()], total))

    totals = _totals(fmt, r.total_s, r.total_km, r.top_kmh)
    summary = map_table(
        msg("summary"),
        [
            map_row(msg("speeding.count"), fmt.number(len(r), 0)),
            map_duration(msg("speeding.duration"), r.total_s, fmt),  # raw in MINUTES (wire format quirk)
            map_row(fmt.speed_title("speeding.max_speed", column=False), totals["max_speed"]),
            map_row(fmt.distance_title("speeding.distance", column=False), totals["distance"]),
        ],
    )
    limit, _ = msg.number(float(params.max_speed), 0, trim=True)
    minutes, _ = msg.number(float(params.min_duration_minutes), 2, trim=True)
    note = msg("speeding.note", limit=limit, unit=msg.unit(fmt.units.speed_unit), minutes=minutes)
    sections: list[Section] = [table(msg("speeding.table"), _columns(fmt), groups), summary, text(note, "small_print")]
    return sheet(r.info.label, [r.info.id], sections)


def _summary_sheet(results: list[Violations], fmt: Formatter) -> Sheet:
    """One row per tracker with its totals."""
    msg = fmt.msg
    cols = [
        column("tracker", msg("tracker"), align="left", width=4, weight=3),
        column("count", msg("speeding.count")),
        column("duration", msg("speeding.duration")),
        column("max_speed", fmt.speed_title("speeding.max_speed")),
        column("avg_speed", fmt.speed_title("speeding.avg_speed")),
        column("distance", fmt.distance_title("speeding.distance")),
    ]
    rows = []
    for r in results:
        row: TableRow = {"tracker": cell(r.info.label, float(r.info.id)), "count": fmt.number(len(r), 0)}
        row.update(_totals(fmt, r.total_s, r.total_km, r.top_kmh))
        rows.append(row)
    total: Total = {"text": msg("in_total"), "count": fmt.number(sum(len(r) for r in results), 0)}
    total.update(
        _totals(
            fmt,
            sum(r.total_s for r in results),
            sum(r.total_km for r in results),
            max((r.top_kmh for r in results), default=0.0),
        )
    )
    header = msg("group_header", name=msg("trackers"), count=len(results))
    return sheet(
        msg("summary"), [r.info.id for r in results], [table(msg("summary"), cols, [group(header, rows, total)])]
    )
