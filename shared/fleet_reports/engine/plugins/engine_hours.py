"""Plugin 7, Engine hours: ignition-on intervals of at least a minute (cut at data gaps over
15 minutes), split into time in motion and idle time; per local day, with every interval listed
under its day when ``show_detailed``; a summary sheet over several trackers (docs/report-model.md).

A tracker without an ignition sensor (a discrete sensor of type ``ignition``) gets a sheet with
a text section saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.catalog import EngineHoursParams
from fleet_reports.engine.document import Cell, Column, Group, Sheet, TableRow, Total
from fleet_reports.engine.ignition import ignition_series, on_intervals
from fleet_reports.engine.intervals import Intervals, key_runs, time_on_function
from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.engine.motion import segment
from fleet_reports.engine.plugins.common import (
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
    sheet,
    table,
    text,
)
from fleet_reports.engine.timefilter import clip_to_windows, day_index, local_days

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MIN_INTERVAL_MS = 60_000  # shorter ignition-on intervals are not engine hours
PERCENT_DECIMALS = 1


@dataclass(frozen=True, kw_only=True)
class EngineIntervals(Intervals[np.int64]):
    """Ignition-on intervals with their time in motion; durations in seconds."""

    motion_s: F64

    @property
    def idle_s(self) -> F64:
        out: F64 = np.maximum(self.duration_s - self.motion_s, 0.0)
        return out


@dataclass(frozen=True)
class TrackerHours:
    info: TrackerInfo
    intervals: EngineIntervals | None  # None: the tracker has no ignition sensor


def motion_function(track: Track, data: TrackerData, smart_filter: bool = True) -> tuple[F64, F64]:
    """Breakpoints of M(t) = seconds spent in trips up to t (the trips of the Trips report: with
    the smart filter, those it keeps); evaluate with ``np.interp(t, *fn)``. An ignition-on
    interval's time in motion is its time inside trips, its idle time the rest (parkings with
    the engine running, drift the smart filter drops): short halts at lights stay in motion, as
    they stay inside the trip."""
    if len(track) < 2:
        return np.array([0.0, 1.0]), np.array([0.0, 0.0])
    trips = segment(track, data.settings, smart_filter=smart_filter).trips
    return time_on_function(trips.start_ms, trips.end_ms)


def compute_hours(data: TrackerData, filter_windows: tuple[I64, I64] | None, smart_filter: bool = True) -> TrackerHours:
    series = ignition_series(data.info, data.track)
    if series is None:
        return TrackerHours(data.info, None)
    starts, ends = engine_on_intervals(*series)
    if filter_windows is not None:  # cut at the windows' edges, like trips and stops
        _, starts, ends = clip_to_windows(starts, ends, *filter_windows)
    fn = motion_function(data.track, data, smart_filter)
    motion = np.interp(ends.astype(np.float64), *fn) - np.interp(starts.astype(np.float64), *fn)
    return TrackerHours(data.info, EngineIntervals(start_ms=starts, end_ms=ends, motion_s=motion))


def engine_on_intervals(t: I64, on: npt.NDArray[np.bool_]) -> tuple[I64, I64]:
    """The intervals that count as engine hours: ignition-on intervals (cut at data gaps over
    15 minutes, ``ignition.on_intervals``) of at least ``MIN_INTERVAL_MS``."""
    starts, ends = on_intervals(t, on)
    keep = (ends - starts) >= MIN_INTERVAL_MS
    return starts[keep], ends[keep]


def compute(ctx: ReportContext, params: EngineHoursParams, data: TrackerData) -> TrackerHours:
    """One tracker's part of the report (the engine may compute each in its own worker)."""
    return compute_hours(data, Period.of(ctx).windows, params.filter)


def sheets(ctx: ReportContext, params: EngineHoursParams, results: Sequence[TrackerHours]) -> list[Sheet]:
    """The report's sheets from every tracker's part, in the report's tracker order."""
    fmt = Formatter.of(ctx, params.show_seconds)
    dates, bounds = local_days(ctx.from_ms, ctx.to_ms, ctx.time_zone)

    summary_only = params.include_summary_sheet_only
    sheets: list[Sheet] = []
    if summary_only or (params.include_summary_sheet and len(results) >= 2):
        sheets.append(_summary_sheet(list(results), fmt))
    if summary_only:
        return sheets
    for r in results:
        if r.intervals is not None and len(r.intervals):
            sheets.append(_tracker_sheet(r.info, r.intervals, params, fmt, dates, bounds))
        elif params.hide_empty_tabs:
            continue
        elif r.intervals is None:
            sheets.append(sheet(r.info.label, [r.info.id], [text(fmt.msg("engine_hours.no_sensor"))]))
        else:
            sheets.append(no_data_sheet(r.info, fmt.msg))
    return sheets


def _stats(fmt: Formatter, duration: float, motion: float, idle: float) -> dict[str, Cell]:
    pct = 100.0 * idle / duration if duration > 0 else 0.0
    return {
        "duration": fmt.duration(duration),
        "in_motion": fmt.duration(motion),
        "idle": fmt.duration(idle),
        "idle_pct": fmt.number(pct, PERCENT_DECIMALS),
    }


def _stat_columns(fmt: Formatter) -> list[Column]:
    msg = fmt.msg
    return [
        column("duration", msg("engine_hours.duration")),
        column("in_motion", msg("engine_hours.in_motion")),
        column("idle", msg("engine_hours.idle")),
        column("idle_pct", msg("engine_hours.idle_pct")),
    ]


def _day_label(fmt: Formatter, day: date) -> str:
    """The day header without its count: ``"Oct 6, 2020 (Tue)"``."""
    return fmt.msg.day_header(day, 0).rsplit(" : ", 1)[0]


def _tracker_sheet(
    info: TrackerInfo, iv: EngineIntervals, params: EngineHoursParams, fmt: Formatter, dates: list[date], bounds: I64
) -> Sheet:
    msg = fmt.msg
    dur, motion, idle = iv.duration_s, iv.motion_s, iv.idle_s
    day = day_index(bounds, iv.start_ms)
    first, last = key_runs(day)
    day_rows = list(zip(first.tolist(), (last + 1).tolist(), strict=True))  # each day's rows, as slices
    groups: list[Group] = []
    if params.show_detailed:
        columns = [
            column("start", msg("engine_hours.start"), align="left", width=2, weight=1),
            column("end", msg("engine_hours.end"), align="left", width=2, weight=1),
            *_stat_columns(fmt),
        ]
        for a, b in day_rows:
            rows: list[TableRow] = [
                {
                    "start": cell(fmt.time_of_day(int(iv.start_ms[k])), float(iv.start_ms[k])),
                    "end": cell(fmt.time_of_day(int(iv.end_ms[k])), float(iv.end_ms[k])),
                    **_stats(fmt, float(dur[k]), float(motion[k]), float(idle[k])),
                }
                for k in range(a, b)
            ]
            total: Total = {
                "text": msg("in_total"),
                **_stats(fmt, float(dur[a:b].sum()), float(motion[a:b].sum()), float(idle[a:b].sum())),
            }
            groups.append(group(msg.day_header(dates[int(day[a])], b - a), rows, total))
    else:
        columns = [
            column("day", msg("engine_hours.day"), align="left", width=3, weight=1),
            *_stat_columns(fmt),
            column("intervals", msg("engine_hours.intervals")),
        ]
        rows = []
        for a, b in day_rows:
            d = int(day[a])
            row: TableRow = {"day": cell(_day_label(fmt, dates[d]), float(bounds[d]))}
            row.update(_stats(fmt, float(dur[a:b].sum()), float(motion[a:b].sum()), float(idle[a:b].sum())))
            row["intervals"] = fmt.number(b - a, 0)
            rows.append(row)
        total = {"text": msg("in_total"), **_stats(fmt, float(dur.sum()), float(motion.sum()), float(idle.sum()))}
        total["intervals"] = fmt.number(len(iv), 0)
        groups.append(group(msg("group_header", name=msg("engine_hours.days"), count=len(rows)), rows, total))

    total_s, idle_s = float(dur.sum()), float(idle.sum())
    pct = 100.0 * idle_s / total_s if total_s > 0 else 0.0
    summary = map_table(
        msg("summary"),
        [
            map_duration(msg("engine_hours.duration"), total_s, fmt),
            map_duration(msg("engine_hours.in_motion"), float(motion.sum()), fmt),
            map_duration(msg("engine_hours.idle"), idle_s, fmt),
            map_row(msg("engine_hours.idle_pct"), fmt.number(pct, PERCENT_DECIMALS)),
            map_row(msg("engine_hours.intervals"), fmt.number(len(iv), 0)),
        ],
    )
    return sheet(info.label, [info.id], [table(msg("engine_hours.table"), columns, groups), summary])


def _summary_sheet(results: list[TrackerHours], fmt: Formatter) -> Sheet:
    """One row per tracker with an ignition sensor: its engine hours, motion, idle, intervals."""
    msg = fmt.msg
    cols = [
        column("tracker", msg("tracker"), align="left", width=4, weight=3),
        *_stat_columns(fmt),
        column("intervals", msg("engine_hours.intervals")),
    ]
    known = [(r.info, r.intervals) for r in results if r.intervals is not None]
    rows = []
    for info, iv in known:
        row: TableRow = {"tracker": cell(info.label, float(info.id))}
        row.update(_stats(fmt, float(iv.duration_s.sum()), float(iv.motion_s.sum()), float(iv.idle_s.sum())))
        row["intervals"] = fmt.number(len(iv), 0)
        rows.append(row)
    total: Total = {
        "text": msg("in_total"),
        **_stats(
            fmt,
            sum(float(iv.duration_s.sum()) for _, iv in known),
            sum(float(iv.motion_s.sum()) for _, iv in known),
            sum(float(iv.idle_s.sum()) for _, iv in known),
        ),
        "intervals": fmt.number(sum(len(iv) for _, iv in known), 0),
    }
    header = msg("group_header", name=msg("trackers"), count=len(rows))
    return sheet(
        msg("summary"), [info.id for info, _ in known], [table(msg("summary"), cols, [group(header, rows, total)])]
    )
