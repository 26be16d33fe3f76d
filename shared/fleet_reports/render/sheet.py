"""A report sheet as typed spreadsheet rows: what the XLSX and XLS renderers write.

Cells become real values wherever the display string ``v`` allows it without changing what the
reader sees: numbers as numbers (with their decimals and grouping as a number format), durations
``H:mm[:ss]`` as durations, times of day whose ``raw`` is the instant as local date-times, and a
"time - address" cell as two columns, a date-time and its address. Everything else is text.

:class:`SheetView` reads a sheet once: its tables' column plans, then the rows (:meth:`rows`)
and where they fall (:meth:`layout`: widths, frozen rows, the auto-filter, chart anchors), so
that a writer can set a sheet's head before it streams the rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, NamedTuple

from fleet_reports.engine import document as doc
from fleet_reports.render.common import (
    CellValue,
    Chart,
    Column,
    RowKind,
    axis_title,
    chart_of,
    clean_text,
    columns_of,
    exact_seconds,
    is_chart,
    is_finite_number,
    is_map_table,
    is_table,
    is_text,
    local_time,
    map_rows,
    sections_of,
    table_groups,
    text_of,
)

SECONDS_PER_DAY = 86_400.0
EXCEL_UNIX_EPOCH = 25_569.0  # 1970-01-01 as an Excel serial day (1900 date system)
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_SAMPLE = 64  # data cells looked at to decide a column's kind
CHART_ROWS = 20  # rows a native chart covers beside its point table (a bar chart: at least)
BAR_CHART_ROWS_PER_BAR = 1.2  # rows a bar of a native bar chart takes
BAR_CHART_FRAME_ROWS = 8  # rows of a bar chart's title and value axis
_EPOCH_MS_MIN = 1e11  # a raw this large is an instant in epoch milliseconds (after 1973)
_OFFSET_BUCKET_MS = 900_000  # zone offsets change on 15-minute UTC boundaries at most

_DURATION = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d))?$")
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_TIME_TEXT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))? - (.*)$", re.DOTALL)
_NUMBER = re.compile(r"^[-\u2212]?\d(?:[\d\s\u00a0\u202f.,']*\d)?$")
_GROUPING = (",", ".", " ", "\u00a0", "\u202f", "'")


class NumberCell(NamedTuple):
    value: float
    number_format: str  # an Excel number format


CellOut = str | NumberCell | None


class Row(NamedTuple):
    kind: RowKind
    cells: tuple[CellOut, ...] = ()
    bold: bool = False
    chart: Chart | None = None  # set on the header row of a chart's point table


@dataclass(frozen=True)
class Layout:
    """Where a sheet's rows fall (rows are 1-based)."""

    widths: list[float]  # characters, per column
    frozen: int  # rows to freeze at the top (0: none)
    filter: tuple[int, int, int] | None  # (header row, last row, columns) of the first table
    charts: list[tuple[int, Chart]] = field(default_factory=list)  # (header row of its points, chart)


# ---------------------------------------------------------------- cells


def _raw(cell: CellValue) -> float | None:
    """A cell's ``raw`` when it is a finite number."""
    if type(cell) is dict:
        raw: Any = cell.get("raw")
    elif isinstance(cell, Mapping):
        raw = cell.get("raw")
    else:
        return None
    return float(raw) if is_finite_number(raw) else None


_FORMATS: dict[tuple[int, bool], str] = {}


def _number_format(text: str, raw: float) -> str:
    """The Excel format that shows ``raw`` as ``text`` shows it: its decimals and grouping."""
    decimals = 0
    integer_part = text
    cut = max(text.rfind("."), text.rfind(","))
    # "1,234" with raw 1234 groups thousands; "7.5" or "1,5" carries decimals.
    if cut >= 0 and (len(text) - cut - 1 != 3 or not raw.is_integer()):
        decimals = len(text) - cut - 1
        integer_part = text[:cut]
    grouped = len(integer_part) > 4 and any(sep in integer_part[1:] for sep in _GROUPING)
    key = (decimals, grouped)
    found = _FORMATS.get(key)
    if found is None:
        found = _FORMATS[key] = ("#,##0" if grouped else "0") + ("." + "0" * decimals if decimals else "")
    return found


def number_of(cell: CellValue, *, duration_unit_s: float = 1.0) -> NumberCell | None:
    """The real number a spreadsheet should hold for ``cell``, or None to write its text.

    A number is written only when it shows as ``v`` does: a plain localised number, or a
    duration ``H:mm[:ss]`` whose ``raw`` (in units of ``duration_unit_s`` seconds) agrees
    with it; a time of day or any other text stays text.
    """
    if type(cell) is dict:  # the engine's cells: a fast path, remembering values seen
        raw: Any = cell.get("raw")
        text: Any = cell.get("v")
        if type(raw) is float and type(text) is str and duration_unit_s == 1.0:
            key = (text, raw)
            found = _SEEN.get(key, _MISSING)
            if found is _MISSING:
                found = _number_of(cell, 1.0)
                if len(_SEEN) >= _SEEN_MAX:
                    _SEEN.clear()
                _SEEN[key] = found
            return found  # type: ignore[return-value]
    return _number_of(cell, duration_unit_s)


_SEEN: dict[tuple[str, float], NumberCell | None] = {}
_SEEN_MAX = 50_000
_MISSING = object()


def _number_of(cell: CellValue, duration_unit_s: float) -> NumberCell | None:
    number = _raw(cell)
    if number is None:
        return None
    shown_text = text_of(cell).strip()
    if ":" in shown_text:
        duration = _DURATION.match(shown_text)
        if not duration:
            return None
        hours, minutes, seconds = duration.groups()
        shown = int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
        actual = number * duration_unit_s
        granularity = 1.0 if seconds else 60.0
        if actual < 0 or abs(actual - shown) >= granularity:
            return None
        return NumberCell(actual / SECONDS_PER_DAY, "[h]:mm:ss" if seconds else "[h]:mm")
    if _NUMBER.match(shown_text):
        return NumberCell(number, _number_format(shown_text, number))
    return None


class Clock:
    """Epoch milliseconds -> local seconds and Excel serial days in a zone.

    Offsets are cached per UTC day when the day has one offset throughout (two lookups a day),
    else per 15 minutes (zone offsets change on 15-minute UTC boundaries at most).
    """

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._days: dict[int, float | None] = {}
        self._offsets: dict[int, float] = {}

    def _utcoffset(self, epoch_ms: int) -> float | None:
        local = local_time(epoch_ms, self.zone)
        delta = local.utcoffset() if local is not None else None
        return None if delta is None else delta.total_seconds()

    def local_seconds(self, epoch_ms: float) -> float | None:
        day = int(epoch_ms // 86_400_000)
        if day in self._days:
            offset = self._days[day]
        else:
            first, last = self._utcoffset(day * 86_400_000), self._utcoffset((day + 1) * 86_400_000 - 1)
            offset = self._days[day] = first if first == last else None
        if offset is None:  # a day with a change of offset (or out of range): per 15 minutes
            bucket = int(epoch_ms // _OFFSET_BUCKET_MS)
            offset = self._offsets.get(bucket)
            if offset is None:
                found = self._utcoffset(bucket * _OFFSET_BUCKET_MS)
                if found is None:
                    return None
                offset = self._offsets[bucket] = found
        return epoch_ms / 1000.0 + offset

    def excel(self, epoch_ms: float, fmt: str = TIME_FORMAT) -> NumberCell | None:
        local = self.local_seconds(epoch_ms)
        return None if local is None else NumberCell(local / SECONDS_PER_DAY + EXCEL_UNIX_EPOCH, fmt)

    def time_cell(self, raw: float | None, match: re.Match[str], formats: tuple[str, str]) -> NumberCell | None:
        """The instant ``raw`` as a local date-time, when its time of day is the one shown."""
        if raw is None or raw < _EPOCH_MS_MIN:
            return None
        local = self.local_seconds(raw)
        if local is None:
            return None
        minute_of_day = int(local // 60) % 1440
        hour, minute, seconds = match.group(1, 2, 3)
        if minute_of_day != int(hour) * 60 + int(minute):
            return None
        return NumberCell(local / SECONDS_PER_DAY + EXCEL_UNIX_EPOCH, formats[1 if seconds else 0])


# ---------------------------------------------------------------- table plans

WHOLE, TIME, SPLIT = "whole", "time", "split"


@dataclass(frozen=True)
class ColumnPlan:
    """How one column of the document's table is written: whole (a number or text), as a local
    date-time, or split into a date-time and the text after it."""

    column: Column
    kind: str

    @property
    def numeric(self) -> bool:
        return self.column.align == "right"


def _column_kind(section: doc.TableSection, column: Column) -> str:
    if column.align == "right":
        return WHOLE
    seen = time = split = 0
    for group in section.get("data") or ():
        for row in group.get("rows") or ():
            cell = row.get(column.field)
            text = text_of(cell)
            if not text:
                continue
            seen += 1
            raw = _raw(cell)
            epoch = raw is not None and raw >= _EPOCH_MS_MIN
            time += bool(epoch and _TIME_OF_DAY.match(text))
            split += bool(epoch and _TIME_TEXT.match(text))
            if seen >= _SAMPLE:
                break
        if seen >= _SAMPLE:
            break
    if seen and time == seen:
        return TIME
    if seen and split == seen:
        return SPLIT
    return WHOLE


def plan_table(section: doc.TableSection) -> list[ColumnPlan]:
    return [ColumnPlan(column, _column_kind(section, column)) for column in columns_of(section)]


def _text_width(column: Column) -> float:
    return min(12.0 * column.width + 2.0, 80.0)


def out_titles(plans: Sequence[ColumnPlan], words: Mapping[str, str]) -> list[str]:
    titles: list[str] = []
    for p in plans:
        titles.append(clean_text(p.column.title))
        if p.kind == SPLIT:
            titles.append(clean_text(f"{p.column.title.replace(chr(10), ' ')}: {words['address']}"))
    return titles


def out_widths(plans: Sequence[ColumnPlan], seconds: bool) -> list[float]:
    widths: list[float] = []
    stamp = 20.0 if seconds else 17.0
    for p in plans:
        if p.kind == TIME:
            widths.append(stamp)
        elif p.kind == SPLIT:
            widths += [stamp, _text_width(p.column)]
        else:
            widths.append(_text_width(p.column))
    return widths


# ---------------------------------------------------------------- the sheet


class SheetView:
    """One report sheet read for a spreadsheet: rows, and the layout they make."""

    def __init__(self, sheet: doc.Sheet, header: str, zone: tzinfo, words: Mapping[str, str]) -> None:
        self.sheet, self.header, self.words = sheet, header, words
        self.clock = Clock(zone)
        self.formats = (words["datetime_format"], words["datetime_format"] + ":ss")
        self.plans = {id(s): plan_table(s) for s in sections_of(sheet) if is_table(s)}

    def _steps(self) -> Iterator[tuple[RowKind, bool, Chart | None, Callable[[], tuple[CellOut, ...]] | None]]:
        """(kind, bold, chart, make cells) per row; ``make`` is None for a blank row."""
        yield RowKind.TITLE, True, None, _const((clean_text(self.header),))
        if self.sheet.get("additional_field"):
            yield RowKind.NOTE, False, None, _const((clean_text(str(self.sheet["additional_field"])),))
        for section in sections_of(self.sheet):
            yield RowKind.BLANK, False, None, None
            header = section.get("header")
            if header and section.get("type") in ("table", "map_table", "chart"):
                yield RowKind.SECTION, True, None, _const((clean_text(str(header)),))
            if is_table(section):
                plans = self.plans[id(section)]
                yield RowKind.HEADER, True, None, _const(tuple(out_titles(plans, self.words)))
                yield from self._table_steps(section, plans)
            elif is_map_table(section):
                for highlight, name, cell in map_rows(section):
                    yield RowKind.DATA, highlight, None, _bind(self._map_cells, name, cell)
            elif is_text(section):
                yield RowKind.NOTE, False, None, _const((clean_text(str(section.get("text", ""))),))
            elif is_chart(section):
                chart = chart_of(section)
                yield RowKind.HEADER, True, chart, _const(_chart_header(chart))
                points = max((len(s.points) for s in chart.series), default=0)
                for i in range(points):
                    yield RowKind.DATA, False, None, _bind(self._chart_cells, chart, i)
                for _ in range(chart_rows(chart) - points):  # the chart beside a short table: keep its rows free
                    yield RowKind.BLANK, False, None, None

    def _table_steps(
        self, section: doc.TableSection, plans: Sequence[ColumnPlan]
    ) -> Iterator[tuple[RowKind, bool, Chart | None, Callable[[], tuple[CellOut, ...]] | None]]:
        """A table's groups: header, data rows (converted a group at a time, column by column,
        when first asked for), total."""
        for group in table_groups(section, [p.column for p in plans]):
            if group.header is not None:
                yield RowKind.GROUP, True, None, _bind(self._table_cells, group.header, plans)
            batch = _Batch(self, group.rows, plans)
            for i in range(len(group.rows)):
                yield RowKind.DATA, False, None, _bind(batch.row, i)
            if group.total is not None:
                yield RowKind.TOTAL, True, None, _bind(self._table_cells, group.total, plans)

    def convert_rows(self, rows: Sequence[doc.TableRow], plans: Sequence[ColumnPlan]) -> list[tuple[CellOut, ...]]:
        """Data rows of a table, converted column by column (list comprehensions, no per-cell
        dispatch)."""
        out_columns: list[list[CellOut]] = []
        clock, formats = self.clock, self.formats
        for p in plans:
            values = [row.get(p.column.field) for row in rows]
            if p.kind == WHOLE:
                out_columns.append([_whole(c, True) for c in values] if p.numeric else [_plain(c) for c in values])
            elif p.kind == TIME:
                out_columns.append([_time_of_day(clock, c, formats) for c in values])
            else:
                pairs = [_time_and_text(clock, c, formats) for c in values]
                out_columns.append([a for a, _ in pairs])
                out_columns.append([b for _, b in pairs])
        return list(zip(*out_columns, strict=True))

    def rows(self) -> Iterator[Row]:
        for kind, bold, chart, make in self._steps():
            yield Row(kind, make() if make is not None else (), bold, chart)

    def layout(self) -> Layout:
        widths: list[float] = []
        for section in sections_of(self.sheet):
            if is_table(section):
                _widen(widths, out_widths(self.plans[id(section)], _has_seconds(section)))
            elif is_map_table(section):
                _widen(widths, [36.0, 14.0])
            elif is_chart(section):
                if section.get("kind") == "bar":  # (label, value) per series: room for the labels
                    bar = chart_of(section)
                    longest = max((len(label) for label in bar.categories), default=0)
                    _widen(widths, [min(max(20.0, longest + 2.0), 50.0), 14.0] * len(bar.series))
                else:
                    _widen(widths, [20.0] * (2 * len(section.get("series") or ())))
        first_plans = next(iter(self.plans.values()), None)
        columns = sum(2 if p.kind == SPLIT else 1 for p in first_plans) if first_plans else 0
        frozen = 0
        header_row = last_row = 0  # of the first table: the auto-filter's rows
        charts: list[tuple[int, Chart]] = []
        settled = False  # the frozen rows are known
        for count, (kind, _bold, chart, _make) in enumerate(self._steps(), start=1):
            if not settled:
                settled = kind not in (RowKind.TITLE, RowKind.NOTE, RowKind.BLANK, RowKind.SECTION)
                frozen = count if kind is RowKind.HEADER else 0
            if chart is not None:
                charts.append((count, chart))
            elif kind is RowKind.HEADER and not header_row:
                header_row = last_row = count
            elif kind in (RowKind.GROUP, RowKind.DATA, RowKind.TOTAL) and last_row == count - 1 and header_row:
                last_row = count  # still the first table: its rows follow one another
        table = (header_row, last_row, columns) if header_row and columns else None
        return Layout(widths, frozen, table, charts)

    # -- cells

    @staticmethod
    def _table_cells(cells: list[CellValue], plans: Sequence[ColumnPlan]) -> tuple[CellOut, ...]:
        """A group header or a total row: text first, numbers in place."""
        out: list[CellOut] = []
        for k, (cell, p) in enumerate(zip(cells, plans, strict=True)):
            out.append(_whole(cell, p.numeric and k > 0))
            if p.kind == SPLIT:
                out.append(None)
        return tuple(out)

    @staticmethod
    def _map_cells(name: str, cell: doc.MapRow) -> tuple[CellOut, ...]:
        # map_table durations carry raw in minutes rounded to 2 decimals (a Navixy quirk the
        # engine keeps): the exact seconds, when the row has them, so that the summary equals
        # the sum of its rows to the second
        seconds = exact_seconds(cell)
        if seconds is not None:
            number = number_of({"v": text_of(cell), "raw": seconds})
        else:
            number = number_of(cell, duration_unit_s=60.0)
        return clean_text(name), number if number is not None else (clean_text(text_of(cell)) or None)

    def _chart_cells(self, chart: Chart, i: int) -> tuple[CellOut, ...]:
        cells: list[CellOut] = []
        for series in chart.series:
            if i >= len(series.points):
                cells += [None, None]
                continue
            x, y = series.points[i]
            if chart.kind == "bar":  # the category's label, always text
                x_cell: CellOut = clean_text(chart.category(x)) or None
            elif chart.x_type == "time":
                x_cell = self.clock.excel(x)
            else:
                x_cell = NumberCell(x, "General")
            cells += [x_cell, NumberCell(y, "General")]
        return tuple(cells)


class _Batch:
    """A group's data rows, converted on the first ask."""

    def __init__(self, view: SheetView, rows: Sequence[doc.TableRow], plans: Sequence[ColumnPlan]) -> None:
        self._view, self._rows, self._plans = view, rows, plans
        self._done: list[tuple[CellOut, ...]] | None = None

    def row(self, i: int) -> tuple[CellOut, ...]:
        if self._done is None:
            self._done = self._view.convert_rows(self._rows, self._plans)
        return self._done[i]


def _plain(cell: CellValue) -> CellOut:
    return clean_text(text_of(cell)) or None


def _time_of_day(clock: Clock, cell: CellValue, formats: tuple[str, str]) -> CellOut:
    text = text_of(cell).strip()
    match = _TIME_OF_DAY.match(text)
    stamp = clock.time_cell(_raw(cell), match, formats) if match else None
    return stamp if stamp is not None else (clean_text(text) or None)


def _time_and_text(clock: Clock, cell: CellValue, formats: tuple[str, str]) -> tuple[CellOut, CellOut]:
    text = text_of(cell).strip()
    split = _TIME_TEXT.match(text)
    stamp = clock.time_cell(_raw(cell), split, formats) if split else None
    if split is None or stamp is None:
        return None, clean_text(text) or None
    return stamp, clean_text(split.group(4)) or None


def _const(cells: tuple[CellOut, ...]) -> Callable[[], tuple[CellOut, ...]]:
    return lambda: cells


def _bind(fn: Callable[..., tuple[CellOut, ...]], *args: Any) -> Callable[[], tuple[CellOut, ...]]:
    return lambda: fn(*args)


def _whole(cell: CellValue, numeric: bool) -> CellOut:
    if numeric:
        number = number_of(cell)
        if number is not None:
            return number
    return clean_text(text_of(cell)) or None


def chart_rows(chart: Chart) -> int:
    """The rows a native chart covers from its point table's header row down: ``CHART_ROWS``,
    or for a bar chart enough for its bars."""
    if chart.kind != "bar":
        return CHART_ROWS
    bars = max((len(s.points) for s in chart.series), default=0)
    return max(CHART_ROWS, math.ceil(BAR_CHART_ROWS_PER_BAR * bars * max(len(chart.series), 1)) + BAR_CHART_FRAME_ROWS)


def _chart_header(chart: Chart) -> tuple[CellOut, ...]:
    header: list[CellOut] = []
    for series in chart.series:
        header += [clean_text(chart.x_title) or "x", clean_text(axis_title(series.name, series.units)) or "y"]
    return tuple(header)


def _has_seconds(section: doc.TableSection) -> bool:
    """Whether the table's first row shows times with seconds (``show_seconds``)."""
    for group in section.get("data") or ():
        for row in (group.get("rows") or ())[:1]:
            for cell in row.values():
                shown = text_of(cell).split(" - ")[0]
                if _TIME_OF_DAY.match(shown) and shown.count(":") == 2:
                    return True
            return False
    return False


def _widen(widths: list[float], wanted: Sequence[float]) -> None:
    for i, width in enumerate(wanted):
        if i >= len(widths):
            widths.append(10.0)
        widths[i] = max(widths[i], width)
