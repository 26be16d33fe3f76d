"""Plugin 9, Measuring sensors: readings bucketed by ``details_interval_seconds`` (min / max /
average) in per-day groups, and a chart over time or mileage (docs/report-model.md ``chart``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.address import AddressBook
from fleet_reports.engine.catalog import SensorsParams
from fleet_reports.engine.document import (
    Cell,
    LineAxis,
    LineChartSection,
    Section,
    Sheet,
    TableRow,
    TableSection,
    Total,
)
from fleet_reports.engine.intervals import key_runs, runs
from fleet_reports.engine.model import ReportContext, SensorInfo, Track
from fleet_reports.engine.motion import Segments, in_trips, segment
from fleet_reports.engine.plugins.common import (
    Formatter,
    Period,
    ReportError,
    TrackerData,
    cell,
    column,
    group,
    no_data_sheet,
    place_cell,
    sheet,
    table,
)
from fleet_reports.engine.timefilter import day_index, in_windows

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

VALUE_DECIMALS = 2
MEDIAN_WINDOW = 5
MAX_CHART_POINTS = 2000


@dataclass(frozen=True)
class Readings:
    """A sensor's readings in its units (divided, filtered, optionally smoothed)."""

    t: I64
    value: F64
    fix_index: I64  # row of each reading in the tracker's track


@dataclass(frozen=True)
class Buckets:
    start_ms: I64
    day: I64  # index into the report's local days
    count: I64
    minimum: F64
    maximum: F64
    total: F64
    first_fix: I64  # the fix of each bucket's first reading

    @property
    def average(self) -> F64:
        """Each bucket's mean, within its min and max (a float sum can round past them)."""
        out: F64 = np.clip(self.total / self.count, self.minimum, self.maximum)
        return out

    def mean_of(self, a: int, z: int) -> float:
        """The mean of the readings in buckets ``a`` to ``z`` (exclusive), within their min and max."""
        mean = float(self.total[a:z].sum() / self.count[a:z].sum())
        return min(max(mean, float(self.minimum[a:z].min())), float(self.maximum[a:z].max()))


def rolling_median(values: F64, window: int = MEDIAN_WINDOW) -> F64:
    """Centred rolling median; the ends are padded with the edge values."""
    if values.size == 0 or window <= 1:
        return values
    half = window // 2
    padded = np.pad(values, half, mode="edge")
    out: F64 = np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
    return out


def readings(track: Track, sensor: SensorInfo, keep: npt.NDArray[np.bool_], smoothing: bool) -> Readings:
    raw = track.sensors.get(sensor.input_name)
    if raw is None:
        return Readings(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int64))
    values = raw / sensor.divider if sensor.divider not in (0.0, 1.0) else raw
    idx = np.flatnonzero(np.isfinite(values) & keep)
    v = values[idx].astype(np.float64)
    if smoothing:
        v = rolling_median(v)
    return Readings(track.t[idx], v, idx.astype(np.int64))


def bucketize(r: Readings, bounds: I64, interval_s: int) -> Buckets:
    """Buckets of ``interval_s`` aligned to each local midnight (a bucket never spans two days)."""
    step = interval_s * 1000
    day = day_index(bounds, r.t)
    slot = (r.t - bounds[day]) // step
    # Runs of readings in the same day and slot.
    first, last = runs(np.ones(r.t.shape[0], np.bool_), (np.diff(day) != 0) | (np.diff(slot) != 0))
    count = last - first + 1
    return Buckets(
        start_ms=bounds[day[first]] + slot[first] * step,
        day=day[first],
        count=count,
        minimum=np.minimum.reduceat(r.value, first),
        maximum=np.maximum.reduceat(r.value, first),
        total=np.add.reduceat(r.value, first),
        first_fix=r.fix_index[first],
    )


def downsample(x: F64, y: F64, limit: int = MAX_CHART_POINTS) -> tuple[F64, F64]:
    """At most ``limit`` points: the lowest and the highest point of each chunk (keeps spikes)."""
    n = x.shape[0]
    if n <= limit:
        return x, y
    size = math.ceil(n / (limit // 2))
    chunks = math.ceil(n / size)
    padded = np.full(chunks * size, np.nan)
    padded[:n] = y
    grid = padded.reshape(chunks, size)
    base = np.arange(chunks) * size
    idx = np.unique(np.concatenate((base + np.nanargmin(grid, axis=1), base + np.nanargmax(grid, axis=1))))
    return x[idx], y[idx]


def sheets(ctx: ReportContext, params: SensorsParams, results: Sequence[list[Sheet]]) -> list[Sheet]:
    """The report's sheets: each tracker's, in the report's tracker order."""
    return [s for part in results for s in part]


def compute(ctx: ReportContext, params: SensorsParams, data: TrackerData) -> list[Sheet]:
    """One tracker's part of the report, its sheet made (none: nothing to show, empty tab hidden)."""
    fmt = Formatter.of(ctx, params.show_seconds)
    period = Period.of(ctx)
    dates, bounds, wins = period.dates, period.bounds, period.windows
    book = AddressBook.of(ctx) if params.show_address else None
    wanted: list[int] = []
    for ref in params.sensors:
        if ref.tracker_id == data.info.id and ref.sensor_id not in wanted:
            wanted.append(ref.sensor_id)
    by_id = {s.id: s for s in data.info.sensors}
    track = data.track
    keep = np.ones(len(track), np.bool_) if wins is None else in_windows(track.t, *wins)
    mileage_km: F64 | None = None
    sections: list[Section] = []
    for sensor_id in wanted:
        sensor = by_id.get(sensor_id)
        if sensor is None:
            raise ReportError(f"tracker {data.info.id} has no sensor {sensor_id}")
        r = readings(track, sensor, keep, params.smoothing)
        if r.t.size == 0:
            continue
        if params.graph_type == "mileage" and mileage_km is None:
            mileage_km = mileage_of(segment(track, data.settings, smart_filter=params.filter), params.filter)
        buckets = bucketize(r, bounds, params.details_interval_seconds)
        places = None
        if book is not None:
            places = _places(track, buckets.first_fix, book, params.show_coordinates)
        sections.append(_table(sensor, buckets, fmt, dates, places))
        sections.append(_chart(sensor, r, fmt, mileage_km))
    if sections:
        return [sheet(data.info.label, [data.info.id], sections)]
    return [] if params.hide_empty_tabs else [no_data_sheet(data.info, fmt.msg)]


def mileage_of(seg: Segments, smart_filter: bool) -> F64:
    """Kilometres driven up to each fix: every counted leg, or with the smart filter only the legs
    inside the trips it keeps (GPS drift while parked never moves the axis)."""
    if not smart_filter or seg.t.shape[0] < 2:
        out: F64 = seg.cum_distance_m / 1000.0
        return out
    inside = in_trips(seg)
    steps = np.diff(seg.cum_distance_m) * inside[1:]  # legs into a trip's fixes (departure legs too)
    return np.concatenate(([0.0], np.cumsum(steps))) / 1000.0


def _places(track: Track, fixes: I64, book: AddressBook, show_coordinates: bool) -> list[Cell]:
    """The address cell of each row: where its first reading was taken (with coordinates)."""
    lat, lng = track.lat[fixes], track.lng[fixes]
    out: list[Cell] = []
    named = book.lookup(lat, lng)
    for name, la, ln, ms in zip(named, lat.tolist(), lng.tolist(), track.t[fixes].tolist(), strict=True):
        out.append(place_cell(name, la, ln, show_coordinates, ms))
    return out


def _title(fmt: Formatter, key: str, units: str) -> str:
    return fmt.msg("with_unit.column", name=fmt.msg(key), unit=units) if units else fmt.msg(key)


def _table(
    sensor: SensorInfo, b: Buckets, fmt: Formatter, dates: list[date], places: list[Cell] | None
) -> TableSection:
    msg = fmt.msg
    cols = [
        column("time", msg("sensors.time"), align="left", width=2, weight=1),
        column("min", _title(fmt, "sensors.min", sensor.units)),
        column("max", _title(fmt, "sensors.max", sensor.units)),
        column("avg", _title(fmt, "sensors.avg", sensor.units)),
    ]
    if places is not None:
        cols.append(column("address", msg("sensors.address"), align="left", width=4, weight=3))
    avg = b.average
    rows: list[TableRow] = [
        {
            "time": cell(fmt.time_of_day(int(b.start_ms[k])), float(b.start_ms[k])),
            "min": fmt.number(float(b.minimum[k]), VALUE_DECIMALS),
            "max": fmt.number(float(b.maximum[k]), VALUE_DECIMALS),
            "avg": fmt.number(float(avg[k]), VALUE_DECIMALS),
        }
        for k in range(b.start_ms.shape[0])
    ]
    if places is not None:
        for row, place in zip(rows, places, strict=True):
            row["address"] = place
    first, last = key_runs(b.day)
    groups = []
    for a, z in zip(first.tolist(), (last + 1).tolist(), strict=True):
        total: Total = {
            "text": msg("in_total"),
            "min": fmt.number(float(b.minimum[a:z].min()), VALUE_DECIMALS),
            "max": fmt.number(float(b.maximum[a:z].max()), VALUE_DECIMALS),
            "avg": fmt.number(b.mean_of(a, z), VALUE_DECIMALS),
        }
        groups.append(group(msg.day_header(dates[int(b.day[a])], z - a), rows[a:z], total))
    return table(sensor.name, cols, groups)


def _chart(sensor: SensorInfo, r: Readings, fmt: Formatter, mileage_km: F64 | None) -> LineChartSection:
    """Time axis: x = UTC epoch ms (shown in the report's zone); mileage: x = distance driven."""
    if mileage_km is None:
        x = r.t.astype(np.float64)
        axis: LineAxis = {"type": "time", "title": fmt.msg("sensors.axis_time"), "units": ""}
    else:
        x = np.round(mileage_km[r.fix_index] / fmt.units.km_per_unit, 3)
        axis = {
            "type": "mileage",
            "title": fmt.msg("sensors.axis_mileage"),
            "units": fmt.msg.unit(fmt.units.distance_unit),
        }
    xs, ys = downsample(x, r.value)
    points = np.column_stack((xs, np.round(ys, 4))).tolist()
    return {
        "type": "chart",
        "header": sensor.name,
        "x_axis": axis,
        "series": [{"name": sensor.name, "units": sensor.units, "points": points}],
    }
