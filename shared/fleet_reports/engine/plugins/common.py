"""Building blocks of the report document (docs/report-model.md): cells, columns, sections, sheets,
the per-report formatting context shared by the plugins, and how a table's rows are grouped
(per local day, or per driver and day: :func:`row_groups`).

Each builder returns its part of the document typed (:mod:`fleet_reports.engine.document`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.address import format_coordinates
from fleet_reports.engine.document import (
    Align,
    Cell,
    Column,
    Group,
    MapRow,
    MapTableSection,
    Section,
    Sheet,
    TableRow,
    TableSection,
    TextSection,
    TextStyle,
    Total,
    with_exact_seconds,
)
from fleet_reports.engine.i18n import Messages, format_duration, format_time_of_day, messages
from fleet_reports.engine.intervals import key_runs
from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.odometer import OdometerStart
from fleet_reports.engine.timefilter import TimeFilter, local_days, windows
from fleet_reports.engine.units import UnitSystem, unit_system

I64 = npt.NDArray[np.int64]

LOCATION_DECIMALS = 7


class ReportError(ValueError):
    """The report cannot be built from these inputs (the message says why)."""


@dataclass(frozen=True)
class TrackerData:
    """One tracker's cleaned fixes, as a plugin receives them."""

    info: TrackerInfo
    settings: TripSettings
    track: Track  # cleaned fixes within the report period
    # the odometer at the period start from the base and the history before it (the trips'
    # odometer, engine/odometer.py); None when not needed or there is no base before the period
    odometer_start: OdometerStart | None = None


@dataclass(frozen=True)
class Period:
    """The report period as the plugins cut it: its local days (``dates``, and ``bounds``: the
    UTC instants of their midnights, one more than the dates) and the time filter's windows
    (``None`` when the filter covers everything)."""

    dates: list[date]
    bounds: I64
    windows: tuple[I64, I64] | None

    @staticmethod
    def of(ctx: ReportContext) -> Period:
        tf = TimeFilter.parse(ctx.time_filter)
        dates, bounds = local_days(ctx.from_ms, ctx.to_ms, ctx.time_zone)
        wins = None if tf.is_everything else windows(ctx.from_ms, ctx.to_ms, ctx.time_zone, tf)
        return Period(dates, bounds, wins)


@dataclass(frozen=True)
class Formatter:
    """Locale, units, zone and ``show_seconds`` of one report, and the cells they make."""

    msg: Messages
    units: UnitSystem
    zone: ZoneInfo
    show_seconds: bool

    @staticmethod
    def of(ctx: ReportContext, show_seconds: bool) -> Formatter:
        return Formatter(
            messages(ctx.locale), unit_system(ctx.measurement_system), ZoneInfo(ctx.time_zone), show_seconds
        )

    def number(self, value: float, decimals: int) -> Cell:
        v, raw = self.msg.number(value, decimals)
        return cell(v, raw)

    def distance(self, km: float, decimals: int) -> Cell:
        return self.number(self.units.distance(km), decimals)

    def speed(self, kmh: float) -> Cell:
        return self.number(self.units.speed(kmh), 0)

    def duration(self, seconds: float) -> Cell:
        """Table duration: ``raw`` in seconds."""
        return cell(format_duration(seconds, self.show_seconds), round(float(seconds), 3))  # whole ms

    def time_of_day(self, ms: int) -> str:
        return format_time_of_day(ms, self.zone, self.show_seconds)

    def distance_title(self, key: str, *, column: bool = True) -> str:
        return self.msg.with_unit(key, self.units.distance_unit, column=column)

    def speed_title(self, key: str, *, column: bool = True) -> str:
        return self.msg.with_unit(key, self.units.speed_unit, column=column)

    def altitude_title(self, key: str, *, column: bool = True) -> str:
        return self.msg.with_unit(key, self.units.altitude_unit, column=column)


def cell(v: str, raw: float, location: tuple[float, float] | None = None) -> Cell:
    out: Cell = {"v": v, "raw": float(raw), "type": "value"}
    if location is not None:
        out["location"] = {
            "lat": round(float(location[0]), LOCATION_DECIMALS),
            "lng": round(float(location[1]), LOCATION_DECIMALS),
        }
    return out


def with_coordinates(address: str, lat: float, lng: float, show: bool) -> str:
    """An address with the point's coordinates appended in brackets when ``show`` (the plugins'
    ``show_coordinates``), unless the address already ends with them (a point no place names)."""
    plain = format_coordinates(lat, lng)
    return f"{address} ({plain})" if show and not address.endswith(plain) else address


def place_cell(address: str, lat: float, lng: float, coords: bool, ms: int) -> Cell:
    """An address cell (``raw``: the instant it belongs to, UTC ms); ``coords`` appends the coordinates."""
    return cell(with_coordinates(address, lat, lng, coords), float(ms), (lat, lng))


def column(field: str, title: str, *, align: Align = "right", width: int = 1, weight: int = 0) -> Column:
    return {
        "align": align,
        "field": field,
        "title": title,
        "width": width,
        "weight": weight,
        "highlight_min_max": False,
    }


def group(header: str, rows: list[TableRow], total: Total | None) -> Group:
    out: Group = {"header": header, "rows": rows}
    if total is not None:
        out["total"] = total
    return out


def table(header: str, columns: Sequence[Column], data: Iterable[Group]) -> TableSection:
    return {"type": "table", "header": header, "columns": list(columns), "column_groups": [], "data": list(data)}


def map_row(name: str, value: Cell) -> MapRow:
    return {"name": name, "v": value["v"], "raw": value["raw"], "highlight": False}


def map_duration(name: str, seconds: float, fmt: Formatter) -> MapRow:
    """A summary (map_table) duration: ``v`` from the exact seconds, ``raw`` in MINUTES with 2
    decimals (the wire format's compatibility quirk), the exact seconds for the renderers
    (``document.with_exact_seconds``: an attribute, not a key; the row keeps the seed's keys)."""
    row: MapRow = {
        "name": name,
        "v": format_duration(seconds, fmt.show_seconds),
        "raw": round(seconds / 60.0, 2),
        "highlight": False,
    }
    return with_exact_seconds(row, seconds)


def map_table(header: str, rows: Iterable[MapRow]) -> MapTableSection:
    return {"type": "map_table", "header": header, "rows": list(rows)}


def text(content: str, style: TextStyle = "normal") -> TextSection:
    return {"type": "text", "text": content, "style": style}


def sheet(header: str, entity_ids: Sequence[int], sections: Sequence[Section]) -> Sheet:
    return {"header": header, "entity_ids": list(entity_ids), "additional_field": "", "sections": list(sections)}


def no_data_sheet(info: TrackerInfo, msg: Messages) -> Sheet:
    return sheet(info.label, [info.id], [text(msg("no_data"))])


DriverOrder = Literal["by_name", "first_seen"]


def row_groups(
    days: I64,
    drivers: Sequence[str | None] | None = None,
    *,
    unidentified: str | None = None,
    order: DriverOrder = "by_name",
) -> list[I64]:
    """The rows of a table in its groups: the row indices of each group, in group order.

    ``days`` is each row's local day (``timefilter.day_index``) and the rows come in time order,
    which they keep within a group. Without ``drivers``: one group per day, in day order. With
    them (each row's driver, ``drivers.drivers_at``; None: nobody): one group per driver and
    day, the groups of a driver together and in day order, the drivers in the plugin's ``order``:

    - ``"by_name"``: alphabetically, nobody (None, or the name ``unidentified``) last;
    - ``"first_seen"``: as they first appear in the rows, nobody among them.

    Trips passes nobody as None (a group of its own, whatever the drivers' names), Speed
    violation and Stops as their "Unidentified driver" label; each plugin's order is its
    ``DRIVER_ORDER``.
    """
    n = days.shape[0]
    if n == 0:
        return []
    if drivers is None:
        rank = np.zeros(n, np.int64)
    else:
        if order == "by_name":
            ranked = sorted(set(drivers), key=lambda name: (name is None or name == unidentified, name or ""))
        else:
            ranked = list(dict.fromkeys(drivers))
        rank_of = {name: k for k, name in enumerate(ranked)}
        rank = np.array([rank_of[name] for name in drivers], np.int64)
    key = rank * (int(days.max()) + 1) + days
    by_key = np.argsort(key, kind="stable")
    first, last = key_runs(key[by_key])
    return [by_key[a : b + 1] for a, b in zip(first.tolist(), last.tolist(), strict=True)]
