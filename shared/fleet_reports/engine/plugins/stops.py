"""Plugin 6, Stops: every parking (motion's segmentation, the same parkings as the trip report)
with its start, end, duration, address and the ignition-on time during it, grouped per local day
(or per driver and day with ``group_by_driver``); a summary sheet over several trackers.

Also home of small helpers the engine-hours and point plugins share: the ignition series of a
tracker, ignition-on intervals and a cumulative "time on" function evaluated with ``np.interp``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.address import AddressBook, format_coordinates
from fleet_reports.engine.catalog import StopsParams
from fleet_reports.engine.model import DriverShift, ReportContext, Track, TrackerInfo
from fleet_reports.engine.motion import Parkings, segment
from fleet_reports.engine.plugins.common import (
    Formatter,
    Json,
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
from fleet_reports.engine.timefilter import TimeFilter, clip_to_windows, day_index, local_days, windows

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

IGNITION_GAP_MS = 15 * 60 * 1000  # an ignition-on interval spanning a longer data gap is cut there
PERCENT_DECIMALS = 1


# --------------------------------------------------------------------------------------------
# Shared helpers (ignition, time-on functions, drivers)
# --------------------------------------------------------------------------------------------


def has_ignition_sensor(info: TrackerInfo) -> bool:
    return any(s.sensor_type == "ignition" for s in info.sensors)


def ignition_series(info: TrackerInfo, track: Track) -> tuple[I64, Bool] | None:
    """Times and on/off state of the fixes with a known ignition, or ``None`` when the tracker has
    no ignition sensor (a discrete sensor of type ``ignition``). The sensor's input column in
    ``track.sensors`` wins (on = value > 0); without it, ``track.ignition``."""
    sensor = next((s for s in info.sensors if s.sensor_type == "ignition"), None)
    if sensor is None:
        return None
    column_values = track.sensors.get(sensor.input_name)
    if column_values is not None and bool(np.isfinite(column_values).any()):
        known = np.isfinite(column_values)
        return track.t[known], column_values[known] > 0
    known = track.ignition >= 0
    return track.t[known], track.ignition[known] == 1


def on_intervals(t: I64, on: Bool, max_gap_ms: int = IGNITION_GAP_MS) -> tuple[I64, I64]:
    """Ignition-on intervals ``[start, end]`` (UTC ms): from the first fix of a run of ``on``
    fixes to the first fix after it (when the ignition went off), or to the run's last fix when
    the data ends or a gap longer than ``max_gap_ms`` follows; a run is cut at such gaps."""
    n = t.shape[0]
    if n == 0 or not bool(on.any()):
        e = np.empty(0, np.int64)
        return e, e
    gap = np.diff(t) > max_gap_ms
    starts = on.copy()
    starts[1:] &= ~on[:-1] | gap
    ends = on.copy()
    ends[:-1] &= ~on[1:] | gap
    rs, re = np.flatnonzero(starts), np.flatnonzero(ends)
    after = np.minimum(re + 1, n - 1)
    stop_at_next = (re < n - 1) & ~np.concatenate((gap, [True]))[re]
    return t[rs], np.where(stop_at_next, t[after], t[re])


def time_on_function(starts: I64, ends: I64) -> tuple[F64, F64]:
    """Breakpoints of F(t) = time (s) spent inside the sorted, disjoint intervals up to t;
    evaluate with ``np.interp(t, *fn)``."""
    if starts.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 0.0])
    x = np.column_stack((starts, ends)).ravel().astype(np.float64)
    d = (ends - starts).astype(np.float64) / 1000.0
    y = np.column_stack((np.cumsum(d) - d, np.cumsum(d))).ravel()
    return x, y


def overlap_s(fn: tuple[F64, F64], a: I64, b: I64) -> F64:
    """Seconds of the function's intervals inside each ``[a, b]``."""
    out: F64 = np.interp(b.astype(np.float64), *fn) - np.interp(a.astype(np.float64), *fn)
    return out


def driver_names(shifts: Sequence[DriverShift], tracker_id: int, t_ms: I64, unidentified: str) -> list[str]:
    """The driver assigned to the tracker at each instant (the latest shift holding it wins)."""
    names = [unidentified]
    which = np.zeros(t_ms.shape[0], np.int64)
    for shift in sorted((s for s in shifts if s.tracker_id == tracker_id), key=lambda s: s.from_ms):
        to = np.iinfo(np.int64).max if shift.to_ms is None else shift.to_ms
        names.append(shift.driver_name)
        which[(t_ms >= shift.from_ms) & (t_ms < to)] = len(names) - 1
    return [names[k] for k in which.tolist()]


def runs(keys: I64) -> tuple[list[int], list[int]]:
    """First and one-past-last index of each run of equal consecutive keys."""
    if keys.size == 0:
        return [], []
    first = np.flatnonzero(np.concatenate(([True], np.diff(keys) != 0)))
    last = np.append(first[1:], keys.shape[0])
    return first.tolist(), last.tolist()


def place_cell(fmt: Formatter, address: str, lat: float, lng: float, coords: bool, ms: int) -> Json:
    """An address cell (``raw``: the instant it belongs to, UTC ms); ``coords`` appends the coordinates."""
    plain = format_coordinates(lat, lng)
    v = f"{address} ({plain})" if coords and not address.endswith(plain) else address
    return cell(v, float(ms), (lat, lng))


# --------------------------------------------------------------------------------------------
# Plugin 6
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerStops:
    info: TrackerInfo
    parkings: Parkings
    ignition_s: F64 | None  # ignition-on seconds during each parking; None: no ignition sensor
    ignition_fn: tuple[F64, F64] | None = None  # ignition-on time up to t (time_on_function)

    @property
    def duration_s(self) -> float:
        return float(self.parkings.duration_s.sum())

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
        parkings = Parkings(parkings.start_idx[k], parkings.end_idx[k], start, end, parkings.lat[k], parkings.lng[k])
    series = ignition_series(data.info, data.track)
    ignition = None
    if series is not None:
        fn = time_on_function(*on_intervals(*series))
        ignition = overlap_s(fn, parkings.start_ms, parkings.end_ms)
        return TrackerStops(data.info, parkings, ignition, fn)
    return TrackerStops(data.info, parkings, ignition)


def build_sheets(ctx: ReportContext, params: StopsParams, trackers: Iterable[TrackerData]) -> list[Json]:
    fmt = Formatter.of(ctx, params.show_seconds)
    tf = TimeFilter.parse(ctx.time_filter)
    dates, bounds = local_days(ctx.from_ms, ctx.to_ms, ctx.time_zone)
    wins = None if tf.is_everything else windows(ctx.from_ms, ctx.to_ms, ctx.time_zone, tf)
    book = AddressBook.of(ctx)
    results = [compute_stops(data, wins, params.filter) for data in trackers]

    summary_only = params.include_summary_sheet_only
    sheets: list[Json] = []
    if summary_only or (params.include_summary_sheet and len(results) >= 2):
        sheets.append(_summary_sheet(results, fmt))
    if summary_only:
        return sheets
    for r in results:
        if len(r.parkings):
            sheets.append(_tracker_sheet(ctx, r, params, fmt, book, dates, bounds))
        elif not params.hide_empty_tabs:
            sheets.append(no_data_sheet(r.info, fmt.msg))
    return sheets


def _columns(fmt: Formatter, ignition: bool) -> list[Json]:
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


def _ignition_cells(fmt: Formatter, on_s: float, duration_s: float) -> Json:
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
) -> Json:
    msg, p = fmt.msg, r.parkings
    addresses = book.lookup(p.lat, p.lng)
    dur = p.duration_s
    rows: list[Json] = []
    for k in range(len(p)):
        row: Json = {
            "start": cell(fmt.time_of_day(int(p.start_ms[k])), float(p.start_ms[k])),
            "end": cell(fmt.time_of_day(int(p.end_ms[k])), float(p.end_ms[k])),
            "duration": fmt.duration(float(dur[k])),
            "address": place_cell(
                fmt, addresses[k], float(p.lat[k]), float(p.lng[k]), params.show_coordinates, int(p.start_ms[k])
            ),
        }
        if r.ignition_s is not None:
            row.update(_ignition_cells(fmt, float(r.ignition_s[k]), float(dur[k])))
        rows.append(row)

    day = day_index(bounds, p.start_ms)
    if params.group_by_driver:
        names = driver_names(ctx.drivers, r.info.id, p.start_ms, msg("stops.unidentified_driver"))
        order_of = {name: k for k, name in enumerate(dict.fromkeys(names))}
        key = np.array([order_of[n] for n in names], np.int64) * (len(dates) + 1) + day
        order = np.argsort(key, kind="stable")
        key = key[order]
    else:
        names = []
        order = np.arange(len(p))
        key = day
    groups = []
    first, last = runs(key)
    for a, b in zip(first, last, strict=True):
        idx = order[a:b]
        # A day's totals are the time of its stops within that day: an overnight stop counts up
        # to midnight here (its row shows it whole), so a day never holds more than 24 h.
        d = int(day[idx[0]])
        lo = np.clip(p.start_ms[idx], bounds[d], bounds[d + 1])
        hi = np.clip(p.end_ms[idx], bounds[d], bounds[d + 1])
        day_s = float((hi - lo).sum()) / 1000.0
        total: Json = {"text": msg("in_total"), "duration": fmt.duration(day_s)}
        if r.ignition_fn is not None:
            total.update(_ignition_cells(fmt, float(overlap_s(r.ignition_fn, lo, hi).sum()), day_s))
        header = msg.day_header(dates[int(day[idx[0]])], b - a)
        if params.group_by_driver:
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
    sections = [
        table(msg("stops.table"), _columns(fmt, r.ignition_s is not None), groups),
        map_table(msg("summary"), summary_rows),
    ]
    return sheet(r.info.label, [r.info.id], sections)


def _summary_sheet(results: list[TrackerStops], fmt: Formatter) -> Json:
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
        row: Json = {
            "tracker": cell(r.info.label, float(r.info.id)),
            "count": fmt.number(len(r.parkings), 0),
            "duration": fmt.duration(r.duration_s),
        }
        if r.ignition_s is not None:
            row.update(_ignition_cells(fmt, r.ignition_total_s, r.duration_s))
        rows.append(row)
    total: Json = {
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
