"""What the three renderers share: reading the report document, sheet names, cell values,
formula safety, chart data and the few words the renderers print themselves.

The report document is the engine's JSON (spec/report-model.md); renderers only read it.
Cells carry a display string ``v`` (already localised) and the number behind it, ``raw``.
A spreadsheet gets a real number only when that number shows exactly as ``v`` does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from fleet_reports.render.document import DocumentInfo

MAX_SHEET_NAME = 31  # Excel's limit, in UTF-16 code units
MAX_CELL_CHARS = 32_767  # Excel's (and BIFF8's) limit for a text cell
FORMULA_PREFIXES = ("=", "+", "-", "@")
SECONDS_PER_DAY = 86_400.0
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML 1.0 / BIFF text
_DURATION = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d))?$")
_NUMBER = re.compile(r"^[-\u2212]?\d(?:[\d\s\u00a0\u202f.,']*\d)?$")
_DECIMALS = re.compile(r"[.,](\d+)$")
_EXCEL_EPOCH = datetime(1899, 12, 30)

# The words the renderers print themselves. The engine's message catalogs own the report's
# own texts; these few stay here until the catalogs carry them (unknown locales get English).
_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title_sheet": "Report",
        "contents": "Contents",
        "period": "Period",
        "time_zone": "Time zone",
        "units": "Units",
        "trackers": "Trackers",
        "generated_at": "Generated at",
        "sheet": "Sheet",
        "page": "Page",
    },
    "ru": {
        "title_sheet": "Отчёт",
        "contents": "Содержание",
        "period": "Период",
        "time_zone": "Часовой пояс",
        "units": "Единицы измерения",
        "trackers": "Трекеры",
        "generated_at": "Сформирован",
        "sheet": "Лист",
        "page": "Страница",
    },
}


def labels(locale: str) -> Mapping[str, str]:
    """The renderer's own words for ``locale`` ("ru_RU", "en-US", ...)."""
    language = locale.replace("-", "_").split("_")[0].lower()
    return _LABELS.get(language, _LABELS["en"])


def title_lines(info: DocumentInfo) -> list[tuple[str, str]]:
    """(label, value) pairs of a title page, one tracker per line after the first."""
    words = labels(info.locale)
    lines = [
        (words["period"], f"{info.period_from} — {info.period_to}"),
        (words["time_zone"], info.time_zone),
        (words["units"], info.measurement_system),
        (words["generated_at"], info.generated_at),
    ]
    trackers = info.trackers or ("",)
    lines.append((words["trackers"], trackers[0]))
    lines.extend(("", tracker) for tracker in trackers[1:])
    return lines


# ---------------------------------------------------------------- text and formula safety


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could take ``text`` for a formula: write it as text."""
    return text.startswith(FORMULA_PREFIXES)


def clean_text(text: str) -> str:
    """``text`` without control characters a spreadsheet refuses, cut to a cell's limit."""
    return _CONTROL.sub("", text)[:MAX_CELL_CHARS]


def printable(text: str) -> str:
    """``text`` with only line breaks left of its control characters (a PDF has no glyphs
    for the others)."""
    return _CONTROL.sub("", text).replace("\t", " ").replace("\r", "").replace("\x7f", "")


def text_of(cell: Any) -> str:
    """The display string of a cell (``{"v": ...}``), a plain value, or "" when missing."""
    if cell is None:
        return ""
    if isinstance(cell, Mapping):
        value = cell.get("v")
        return "" if value is None else str(value)
    return str(cell)


# ---------------------------------------------------------------- sheet names


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> str:
    while _utf16_len(text) > limit:
        text = text[:-1]
    return text


class SheetNamer:
    """Hands out sheet names Excel accepts: no ``[]:*?/\\``, at most 31 characters, not
    starting or ending with an apostrophe, unique regardless of case."""

    def __init__(self) -> None:
        self._taken: set[str] = {"history"}  # Excel reserves "History"

    def take(self, wanted: str, fallback: str = "Sheet") -> str:
        base = _SHEET_FORBIDDEN.sub("_", wanted).strip().strip("'").strip()
        base = _fit(base, MAX_SHEET_NAME).rstrip("'").strip() or fallback
        name, n = base, 1
        while name.casefold() in self._taken:
            n += 1
            suffix = f" ({n})"
            name = _fit(base, MAX_SHEET_NAME - len(suffix)).rstrip("'") + suffix
        self._taken.add(name.casefold())
        return name


@dataclass(frozen=True)
class NamedSheet:
    name: str  # the safe, unique sheet (or PDF part) name
    header: str  # the sheet's full header
    sheet: Mapping[str, Any]


@dataclass(frozen=True)
class Plan:
    """The sheets of a document: the front sheets (absent when headless) and report sheets."""

    title_sheet: str | None
    contents_sheet: str | None
    sheets: list[NamedSheet]
    namer: SheetNamer


def plan(report: Mapping[str, Any], *, headless: bool, info: DocumentInfo) -> Plan:
    namer = SheetNamer()
    words = labels(info.locale)
    title_sheet = None if headless else namer.take(words["title_sheet"])
    contents_sheet = None if headless else namer.take(words["contents"])
    sheets = []
    for sheet in report.get("sheets") or ():
        header = str(sheet.get("header") or "")
        sheets.append(NamedSheet(namer.take(header, words["sheet"]), header or words["sheet"], sheet))
    return Plan(title_sheet, contents_sheet, sheets, namer)


# ---------------------------------------------------------------- sections


@dataclass(frozen=True)
class Column:
    field: str
    title: str
    align: str  # left | right | center
    width: float  # relative width, 1 = a number column


def columns_of(section: Mapping[str, Any]) -> list[Column]:
    return [
        Column(
            field=str(column.get("field", "")),
            title=str(column.get("title", "")),
            align=str(column.get("align", "left")),
            width=float(column.get("width") or 1),
        )
        for column in section.get("columns") or ()
    ]


def sections_of(sheet: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(sheet.get("sections") or ())


class RowKind(Enum):
    TITLE = "title"  # the sheet's header
    NOTE = "note"  # additional field, text section
    SECTION = "section"  # a section's header
    HEADER = "header"  # column titles
    GROUP = "group"  # a group's header
    DATA = "data"
    TOTAL = "total"
    BLANK = "blank"  # between sections


def table_rows(section: Mapping[str, Any], columns: Sequence[Column]) -> Iterator[tuple[RowKind, list[Any]]]:
    """A table section's groups as rows of cells (``{"v", "raw"}`` mappings, strings or None),
    one per column: a GROUP row (its header in the first column), DATA rows, a TOTAL row."""
    width = len(columns)
    if not width:
        return
    for group in section.get("data") or ():
        if group.get("header"):
            yield RowKind.GROUP, [group["header"]] + [None] * (width - 1)
        for row in group.get("rows") or ():
            yield RowKind.DATA, [row.get(column.field) for column in columns]
        total = group.get("total")
        if total:
            cells = [total.get(column.field) for column in columns]
            cells[0] = total.get("text", cells[0])
            yield RowKind.TOTAL, cells


def map_rows(section: Mapping[str, Any]) -> Iterator[tuple[bool, str, Any]]:
    """A map_table section's rows as (highlight, name, cell)."""
    for row in section.get("rows") or ():
        yield bool(row.get("highlight")), str(row.get("name", "")), row


# ---------------------------------------------------------------- charts


@dataclass(frozen=True)
class Series:
    name: str
    units: str
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class Chart:
    header: str
    x_type: str  # time (x = UTC epoch ms) | mileage
    x_title: str
    series: list[Series]

    @property
    def y_title(self) -> str:
        units = {s.units for s in self.series}
        return next(iter(units)) if len(units) == 1 else ""


def axis_title(title: str, units: str) -> str:
    return f"{title}, {units}" if title and units else title or units


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def chart_of(section: Mapping[str, Any]) -> Chart:
    axis = section.get("x_axis") or {}
    series = []
    for item in section.get("series") or ():
        points = [
            (float(p[0]), float(p[1]))
            for p in item.get("points") or ()
            if isinstance(p, Sequence) and len(p) >= 2 and _finite(p[0]) and _finite(p[1])
        ]
        series.append(Series(str(item.get("name", "")), str(item.get("units", "")), points))
    return Chart(
        header=str(section.get("header", "")),
        x_type=str(axis.get("type", "time")),
        x_title=axis_title(str(axis.get("title", "")), str(axis.get("units", ""))),
        series=series,
    )


def zone_of(name: str) -> tzinfo:
    """The IANA zone ``name``, or UTC when it is not one."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return UTC


def local_time(epoch_ms: float, zone: tzinfo) -> datetime | None:
    try:
        return datetime.fromtimestamp(epoch_ms / 1000.0, zone)
    except (OverflowError, OSError, ValueError):
        return None


# ---------------------------------------------------------------- spreadsheet rows


@dataclass(frozen=True)
class NumberCell:
    value: float
    number_format: str  # an Excel number format


CellOut = str | NumberCell | None


def _raw_number(cell: Any) -> float | None:
    if isinstance(cell, Mapping) and _finite(cell.get("raw")):
        return float(cell["raw"])
    return None


def _number_format(text: str, raw: float) -> str:
    decimals = 0
    integer_part = text
    match = _DECIMALS.search(text)
    # "1,234" with raw 1234 groups thousands; "7.5" or "1,5" carries decimals.
    if match and (len(match.group(1)) != 3 or not raw.is_integer()):
        decimals = len(match.group(1))
        integer_part = text[: match.start()]
    grouped = re.search(r"\d\D\d", integer_part) is not None
    return ("#,##0" if grouped else "0") + ("." + "0" * decimals if decimals else "")


def number_of(cell: Any, *, duration_unit_s: float = 1.0) -> NumberCell | None:
    """The real number a spreadsheet should hold for ``cell``, or None to write its text.

    A number is written only when it shows as ``v`` does: a plain localised number, or a
    duration ``H:mm[:ss]`` whose ``raw`` (in units of ``duration_unit_s`` seconds) agrees
    with it; a time of day or any other text stays text.
    """
    raw = _raw_number(cell)
    if raw is None:
        return None
    text = text_of(cell).strip()
    duration = _DURATION.match(text)
    if duration:
        hours, minutes, seconds = duration.groups()
        shown = int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
        actual = raw * duration_unit_s
        granularity = 1.0 if seconds else 60.0
        if actual < 0 or abs(actual - shown) >= granularity:
            return None
        return NumberCell(actual / SECONDS_PER_DAY, "[h]:mm:ss" if seconds else "[h]:mm")
    if _NUMBER.match(text):
        return NumberCell(raw, _number_format(text, raw))
    return None


def spreadsheet_cell(cell: Any, *, numeric: bool, duration_unit_s: float = 1.0) -> CellOut:
    """What a spreadsheet cell holds: a number when ``numeric`` allows it, else clean text."""
    if numeric:
        number = number_of(cell, duration_unit_s=duration_unit_s)
        if number is not None:
            return number
    return clean_text(text_of(cell)) or None


def excel_time(epoch_ms: float, zone: tzinfo) -> NumberCell | None:
    """UTC epoch ms as an Excel date-time serial in local time."""
    local = local_time(epoch_ms, zone)
    if local is None:
        return None
    days = (local.replace(tzinfo=None) - _EXCEL_EPOCH).total_seconds() / SECONDS_PER_DAY
    return NumberCell(days, TIME_FORMAT)


@dataclass(frozen=True)
class Row:
    kind: RowKind
    cells: tuple[CellOut, ...] = ()
    bold: bool = False
    chart: Chart | None = None  # set on the header row of a chart's point table


def chart_rows(chart: Chart, zone: tzinfo) -> Iterator[Row]:
    """A chart's points as a table: series i has x in column 2i and y in column 2i + 1."""
    header: list[CellOut] = []
    for series in chart.series:
        header += [clean_text(chart.x_title) or "x", clean_text(axis_title(series.name, series.units)) or "y"]
    yield Row(RowKind.HEADER, tuple(header), bold=True, chart=chart)
    for i in range(max((len(s.points) for s in chart.series), default=0)):
        cells: list[CellOut] = []
        for series in chart.series:
            if i >= len(series.points):
                cells += [None, None]
                continue
            x, y = series.points[i]
            x_cell = excel_time(x, zone) if chart.x_type == "time" else NumberCell(x, "General")
            cells += [x_cell, NumberCell(y, "General")]
        yield Row(RowKind.DATA, tuple(cells))


def spreadsheet_rows(sheet: Mapping[str, Any], header: str, zone: tzinfo) -> Iterator[Row]:
    """A report sheet as spreadsheet rows: the XLSX and XLS renderers write these."""
    yield Row(RowKind.TITLE, (clean_text(header),), bold=True)
    if sheet.get("additional_field"):
        yield Row(RowKind.NOTE, (clean_text(str(sheet["additional_field"])),))
    for section in sections_of(sheet):
        yield Row(RowKind.BLANK)
        kind = section.get("type")
        if section.get("header") and kind in ("table", "map_table", "chart"):
            yield Row(RowKind.SECTION, (clean_text(str(section["header"])),), bold=True)
        if kind == "table":
            columns = columns_of(section)
            yield Row(RowKind.HEADER, tuple(clean_text(c.title) for c in columns), bold=True)
            for row_kind, cells in table_rows(section, columns):
                out = tuple(
                    spreadsheet_cell(cell, numeric=column.align == "right")
                    for cell, column in zip(cells, columns, strict=True)
                )
                yield Row(row_kind, out, bold=row_kind is not RowKind.DATA)
        elif kind == "map_table":
            for highlight, name, cell in map_rows(section):
                # map_table durations carry raw in minutes (a Navixy quirk the engine keeps)
                value = spreadsheet_cell(cell, numeric=True, duration_unit_s=60.0)
                yield Row(RowKind.DATA, (clean_text(name), value), bold=highlight)
        elif kind == "text":
            yield Row(RowKind.NOTE, (clean_text(str(section.get("text", ""))),))
        elif kind == "chart":
            yield from chart_rows(chart_of(section), zone)


def frozen_rows(rows: Iterator[Row]) -> int:
    """How many rows to freeze: everything down to the column titles of the sheet's first
    section when it is a table (or chart); 0 otherwise."""
    for count, row in enumerate(rows, start=1):
        if row.kind is RowKind.HEADER:
            return count
        if row.kind not in (RowKind.TITLE, RowKind.NOTE, RowKind.BLANK, RowKind.SECTION):
            return 0
    return 0


def column_widths(sheet: Mapping[str, Any]) -> list[float]:
    """Spreadsheet column widths (in characters) that suit every section of a sheet."""
    widths: list[float] = []

    def widen(index: int, width: float) -> None:
        widths.extend([10.0] * (index + 1 - len(widths)))
        widths[index] = max(widths[index], width)

    for section in sections_of(sheet):
        kind = section.get("type")
        if kind == "table":
            for i, column in enumerate(columns_of(section)):
                widen(i, min(12.0 * column.width + 2.0, 80.0))
        elif kind == "map_table":
            widen(0, 36.0)
            widen(1, 14.0)
        elif kind == "chart":
            for i in range(2 * len(section.get("series") or ())):
                widen(i, 20.0)
    return widths
