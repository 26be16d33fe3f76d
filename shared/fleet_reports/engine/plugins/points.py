"""Plugin 91, Point report: every kept fix of one tracker (at most 24 h, the catalog's
``point_report_max_time_span``) with its time, address, speed, heading, altitude and satellites,
grouped per local day; ``show_coordinates`` adds latitude and longitude columns.

Built for many rows: addresses are resolved for all fixes at once (``AddressBook.place_index``),
local times come from one UTC offset per quarter hour, and number cells are formatted once per
distinct value. A value the fix does not carry (NaN heading, unknown satellites) leaves its cell
out of the row. A plugin for one tracker: there is no summary sheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.address import AddressBook
from fleet_reports.engine.catalog import PointsParams
from fleet_reports.engine.document import Cell, Column, Location, Sheet, TableRow
from fleet_reports.engine.intervals import key_runs
from fleet_reports.engine.model import ReportContext, Track
from fleet_reports.engine.motion import fix_speeds
from fleet_reports.engine.plugins.common import (
    Formatter,
    Period,
    TrackerData,
    column,
    group,
    map_row,
    map_table,
    no_data_sheet,
    sheet,
    table,
)
from fleet_reports.engine.timefilter import day_index, in_windows

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

OFFSET_STEP_MS = 900_000  # UTC offsets change on quarter hours at most
COORDINATE_DECIMALS = 6


def _offset_s(ms: int, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def local_times(t_ms: I64, zone: ZoneInfo, show_seconds: bool) -> list[str]:
    """``HH:mm[:ss]`` wall-clock times of many instants (one zone lookup per quarter hour)."""
    if t_ms.size == 0:
        return []
    slot = t_ms // OFFSET_STEP_MS
    uniq, inverse = np.unique(slot, return_inverse=True)
    offsets = np.array([_offset_s(int(s) * OFFSET_STEP_MS, zone) for s in uniq.tolist()], np.int64)
    local_s = (t_ms // 1000 + offsets[inverse]) % 86_400
    h, rest = np.divmod(local_s, 3600)
    m, s = np.divmod(rest, 60)
    if show_seconds:
        return [f"{a:02d}:{b:02d}:{c:02d}" for a, b, c in zip(h.tolist(), m.tolist(), s.tolist(), strict=True)]
    return [f"{a:02d}:{b:02d}" for a, b in zip(h.tolist(), m.tolist(), strict=True)]


def number_cells(fmt: Formatter, values: F64, decimals: int) -> list[Cell | None]:
    """A number cell per value (``None`` for NaN), each distinct rounded value formatted once."""
    known = np.isfinite(values)
    out: list[Cell | None] = [None] * values.shape[0]
    if not known.any():
        return out
    rounded = np.round(values[known], decimals)
    uniq, inverse = np.unique(rounded, return_inverse=True)
    cells = [fmt.number(float(u), decimals) for u in uniq.tolist()]
    for k, j in zip(np.flatnonzero(known).tolist(), inverse.tolist(), strict=True):
        out[k] = cells[j].copy()
    return out


def compute(ctx: ReportContext, params: PointsParams, data: TrackerData) -> list[Sheet]:
    """One tracker's part of the report, its sheet made (none: an empty tab hidden)."""
    fmt = Formatter.of(ctx, params.show_seconds)
    period = Period.of(ctx)
    track = data.track
    if period.windows is not None and len(track):
        track = track.take(in_windows(track.t, *period.windows))
    if len(track):
        return [_tracker_sheet(data, track, params, fmt, AddressBook.of(ctx), period.dates, period.bounds)]
    return [] if params.hide_empty_tabs else [no_data_sheet(data.info, fmt.msg)]


def sheets(ctx: ReportContext, params: PointsParams, results: Sequence[list[Sheet]]) -> list[Sheet]:
    """The report's sheets: each tracker's, in the report's tracker order."""
    return [s for part in results for s in part]


def _columns(params: PointsParams, fmt: Formatter) -> list[Column]:
    msg = fmt.msg
    cols = [
        column("time", msg("points.time"), align="left", width=2, weight=1),
        column("address", msg("points.address"), align="left", width=5, weight=3),
        column("speed", fmt.speed_title("points.speed")),
        column("heading", msg("points.heading")),
        column("altitude", fmt.altitude_title("points.altitude")),
        column("satellites", msg("points.satellites")),
    ]
    if params.show_coordinates:
        cols.append(column("lat", msg("points.lat"), width=2))
        cols.append(column("lng", msg("points.lng"), width=2))
    return cols


def _tracker_sheet(
    data: TrackerData,
    track: Track,
    params: PointsParams,
    fmt: Formatter,
    book: AddressBook,
    dates: list[date],
    bounds: I64,
) -> Sheet:
    msg = fmt.msg
    n = len(track)
    lat_l, lng_l, t_l = track.lat.tolist(), track.lng.tolist(), track.t.tolist()
    addresses = book.lookup(track.lat, track.lng)
    times = local_times(track.t, fmt.zone, fmt.show_seconds)
    gap = np.diff(track.t) > int(data.settings.max_gap * 1000)
    speed_kmh = fix_speeds(track, gap, data.settings.idle_speed_threshold)
    speeds = number_cells(fmt, fmt.units.speed(1.0) * speed_kmh, 0)
    headings = number_cells(fmt, track.heading.astype(np.float64), 0)
    altitudes = number_cells(fmt, fmt.units.altitude(1.0) * track.alt.astype(np.float64), 0)
    sats = track.satellites.astype(np.float64)
    sats[track.satellites < 0] = np.nan
    satellites = number_cells(fmt, sats, 0)
    rows: list[TableRow] = []
    for k in range(n):
        lat, lng, ms = lat_l[k], lng_l[k], float(t_l[k])
        location: Location = {"lat": round(lat, 7), "lng": round(lng, 7)}
        row: TableRow = {
            "time": {"v": times[k], "raw": ms, "type": "value"},
            "address": {"v": addresses[k], "raw": ms, "type": "value", "location": location},
        }
        for field, values in (
            ("speed", speeds),
            ("heading", headings),
            ("altitude", altitudes),
            ("satellites", satellites),
        ):
            value = values[k]
            if value is not None:
                row[field] = value
        if params.show_coordinates:
            for field, deg in (("lat", lat), ("lng", lng)):
                shown = round(deg, COORDINATE_DECIMALS)
                row[field] = {"v": f"{deg:.{COORDINATE_DECIMALS}f}", "raw": shown, "type": "value"}
        rows.append(row)

    day = day_index(bounds, track.t)
    first, last = key_runs(day)
    groups = [
        group(msg.day_header(dates[int(day[a])], b - a), rows[a:b], None)
        for a, b in zip(first.tolist(), (last + 1).tolist(), strict=True)
    ]
    max_kmh = float(np.nanmax(speed_kmh)) if bool(np.isfinite(speed_kmh).any()) else 0.0
    summary = map_table(
        msg("summary"),
        [
            map_row(msg("points.count"), fmt.number(n, 0)),
            map_row(fmt.speed_title("points.max_speed", column=False), fmt.speed(max_kmh)),
        ],
    )
    return sheet(data.info.label, [data.info.id], [table(msg("points.table"), _columns(params, fmt), groups), summary])
