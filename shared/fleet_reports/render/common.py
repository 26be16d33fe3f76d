"""What the three renderers share: reading the report document, sheet names, cell values,
formula safety, chart data and the few words the renderers print themselves.

The report document is the engine's JSON (docs/report-model.md); renderers only read it.
Cells carry a display string ``v`` (already localised) and the number behind it, ``raw``.
A spreadsheet gets a real number only when that number shows exactly as ``v`` does.

The document is typed (:mod:`fleet_reports.engine.document`, imported as ``doc``); the readers
still take what they read with ``get`` and defaults, so a document short of a key renders.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from fleet_reports.engine import document as doc
from fleet_reports.render.document import DocumentInfo

MAX_SHEET_NAME = 31  # Excel's limit, in UTF-16 code units
MAX_CELL_CHARS = 32_767  # Excel's (and BIFF8's) limit for a text cell
FORMULA_PREFIXES = ("=", "+", "-", "@")
# A text cell starting with one of these carries Excel's quote prefix in XLSX and XLS (a formula,
# or an error value such as #N/A): editing it in Excel keeps it text.
QUOTE_PREFIX_STARTS = (*FORMULA_PREFIXES, "#")

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
# not allowed in XML 1.0 / BIFF text: C0 controls, lone surrogates, U+FFFE and U+FFFF
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

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
        "address": "address",
        "datetime_format": "yyyy-mm-dd hh:mm",
        "decimal": ".",  # a bar chart's values in the PDF
        "units.metric": "metric (km, km/h)",
        "units.imperial": "imperial (mi, mph, ft)",
        "units.us": "US (mi, mph, ft)",
        "units.nautical": "nautical (nmi, kn)",
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
        "address": "адрес",
        "datetime_format": "dd.mm.yyyy hh:mm",
        "decimal": ",",  # a bar chart's values in the PDF
        "units.metric": "метрическая (км, км/ч)",
        "units.imperial": "имперская (мили, миль/ч, футы)",
        "units.us": "США (мили, миль/ч, футы)",
        "units.nautical": "морская (мор. мили, узлы)",
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
        (words["units"], words.get(f"units.{info.measurement_system.strip().lower()}", info.measurement_system)),
        (words["generated_at"], info.generated_at),
    ]
    trackers = info.trackers or ("",)
    lines.append((words["trackers"], trackers[0]))
    lines.extend(("", tracker) for tracker in trackers[1:])
    return lines


# ---------------------------------------------------------------- text and formula safety


def needs_quote_prefix(text: str) -> bool:
    """True when a spreadsheet could take ``text`` for a formula or an error value: the renderers
    write it as a text cell with Excel's quote prefix (hot loops test :data:`QUOTE_PREFIX_STARTS`
    themselves)."""
    return text.startswith(QUOTE_PREFIX_STARTS)


def clean_text(text: str) -> str:
    """``text`` without control characters a spreadsheet refuses, cut to a cell's limit."""
    if text.isprintable():  # the common case, checked in C: nothing to remove
        return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS]
    return _CONTROL.sub("", text)[:MAX_CELL_CHARS]


def printable(text: str) -> str:
    """``text`` with only line breaks left of its control characters (a PDF has no glyphs
    for the others)."""
    return _CONTROL.sub("", text).replace("\t", " ").replace("\r", "").replace("\x7f", "")


CellValue = doc.Value | str | None
"""What a renderer finds where a cell goes: a cell (or a map row: both carry ``v`` and ``raw``),
a string (a group's header, a total's text) or nothing (a field the row leaves out)."""


def text_of(cell: CellValue) -> str:
    """The display string of a cell (``{"v": ...}``), a plain value, or "" when missing."""
    if type(cell) is dict:  # the engine's cells: no isinstance check against the ABC
        value = cell.get("v")
        if type(value) is str:
            return value
        return "" if value is None else str(value)
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
    sheet: doc.Sheet


@dataclass(frozen=True)
class Plan:
    """The sheets of a document: the front sheets (absent when headless) and report sheets."""

    title_sheet: str | None
    contents_sheet: str | None
    sheets: list[NamedSheet]
    namer: SheetNamer


def plan(report: doc.ReportDocument, *, headless: bool, info: DocumentInfo) -> Plan:
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


def columns_of(section: doc.TableSection) -> list[Column]:
    return [
        Column(
            field=str(column.get("field", "")),
            title=str(column.get("title", "")),
            align=str(column.get("align", "left")),
            width=float(column.get("width") or 1),
        )
        for column in section.get("columns") or ()
    ]


def sections_of(sheet: doc.Sheet) -> list[doc.Section]:
    return list(sheet.get("sections") or ())


def is_table(section: doc.Section) -> TypeGuard[doc.TableSection]:
    return section.get("type") == "table"


def is_map_table(section: doc.Section) -> TypeGuard[doc.MapTableSection]:
    return section.get("type") == "map_table"


def is_text(section: doc.Section) -> TypeGuard[doc.TextSection]:
    return section.get("type") == "text"


def is_chart(section: doc.Section) -> TypeGuard[doc.ChartSection]:
    return section.get("type") == "chart"


class RowKind(Enum):
    TITLE = "title"  # the sheet's header
    NOTE = "note"  # additional field, text section
    SECTION = "section"  # a section's header
    HEADER = "header"  # column titles
    GROUP = "group"  # a group's header
    DATA = "data"
    TOTAL = "total"
    BLANK = "blank"  # between sections


@dataclass(frozen=True)
class TableGroup:
    """One group of a table section: its header row, data rows (the document's row mappings) and
    total row; header and total are cells per column (the text first), or None when absent."""

    header: list[CellValue] | None
    rows: Sequence[doc.TableRow]
    total: list[CellValue] | None


def table_groups(section: doc.TableSection, columns: Sequence[Column]) -> Iterator[TableGroup]:
    width = len(columns)
    if not width:
        return
    for group in section.get("data") or ():
        header: list[CellValue] | None = [group["header"]] + [None] * (width - 1) if group.get("header") else None
        total = group.get("total")
        total_cells: list[CellValue] | None = None
        if total:
            total_cells = [total.get(column.field) for column in columns]
            total_cells[0] = total.get("text", total_cells[0])
        yield TableGroup(header, group.get("rows") or (), total_cells)


def table_rows(section: doc.TableSection, columns: Sequence[Column]) -> Iterator[tuple[RowKind, list[CellValue]]]:
    """A table section's groups as rows of cells (``{"v", "raw"}`` mappings, strings or None),
    one per column: a GROUP row (its header in the first column), DATA rows, a TOTAL row."""
    for group in table_groups(section, columns):
        if group.header is not None:
            yield RowKind.GROUP, group.header
        for row in group.rows:
            yield RowKind.DATA, [row.get(column.field) for column in columns]
        if group.total is not None:
            yield RowKind.TOTAL, group.total


def map_rows(section: doc.MapTableSection) -> Iterator[tuple[bool, str, doc.MapRow]]:
    """A map_table section's rows as (highlight, name, cell)."""
    for row in section.get("rows") or ():
        yield bool(row.get("highlight")), str(row.get("name", "")), row


def exact_seconds(row: doc.Value) -> float | None:
    """The exact seconds behind a map_table duration, when the engine handed them over.

    A summary duration's ``raw`` is in minutes rounded to 2 decimals (the wire format's quirk:
    9,622 s is 160.37 min, 9,622.2 s), so the engine's duration rows also carry the exact
    seconds (``engine.document.with_exact_seconds``), not as a key: the document keeps the
    seed's keys. A row read back from JSON has none (None: use ``raw``).
    """
    seconds = doc.exact_seconds_of(row)
    return float(seconds) if is_finite_number(seconds) else None


# ---------------------------------------------------------------- charts


@dataclass(frozen=True)
class Series:
    name: str
    units: str
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class Chart:
    """A chart section: a line chart (``kind`` "line": x is a UTC epoch ms or a mileage) or a
    bar chart (``kind`` "bar": the x of a point is the index of its category in ``categories``,
    the bars in the document's order)."""

    header: str
    x_type: str  # time (x = UTC epoch ms) | mileage | category (bar charts)
    x_title: str
    series: list[Series]
    kind: str = "line"  # line | bar
    categories: tuple[str, ...] = ()

    @property
    def y_title(self) -> str:
        units = {s.units for s in self.series}
        return next(iter(units)) if len(units) == 1 else ""

    @property
    def value_title(self) -> str:
        """A bar chart's value axis title: the series' name and units when there is one series."""
        if len(self.series) == 1:
            return axis_title(self.series[0].name, self.series[0].units)
        return self.y_title

    def category(self, x: float) -> str:
        """The label of the bar at ``x`` (its category's index; the number itself when it is none)."""
        if x.is_integer() and 0 <= x < len(self.categories):
            return self.categories[int(x)]
        return f"{x:g}"

    def bars(self) -> list[tuple[str, list[float | None]]]:
        """A bar chart's bars in order: (label, the value of each series or None), one per
        category (or, without categories, per distinct x of the points)."""
        values = [{x: y for x, y in reversed(s.points)} for s in self.series]  # the first point of an x wins
        slots = [float(k) for k in range(len(self.categories))]
        if not slots:
            slots = sorted({x for s in self.series for x, _ in s.points})
        return [(self.category(x), [v.get(x) for v in values]) for x in slots]


def axis_title(title: str, units: str) -> str:
    return f"{title}, {units}" if title and units else title or units


def is_finite_number(value: Any) -> TypeGuard[float]:
    """A real, finite int or float (not a bool, NaN or infinity)."""
    if type(value) is float:  # the common case, without isinstance checks
        return bool(value - value == 0.0)  # False for NaN and infinities
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def chart_of(section: doc.ChartSection) -> Chart:
    axis = section.get("x_axis") or {}
    series = []
    for item in section.get("series") or ():
        points = [
            (float(p[0]), float(p[1]))
            for p in item.get("points") or ()
            if isinstance(p, Sequence) and len(p) >= 2 and is_finite_number(p[0]) and is_finite_number(p[1])
        ]
        series.append(Series(str(item.get("name", "")), str(item.get("units", "")), points))
    kind = "bar" if section.get("kind") == "bar" else "line"
    categories = axis.get("categories") if kind == "bar" else None
    if not isinstance(categories, list | tuple):
        categories = ()
    return Chart(
        header=str(section.get("header", "")),
        x_type=str(axis.get("type", "category" if kind == "bar" else "time")),
        x_title=axis_title(str(axis.get("title", "")), str(axis.get("units", ""))),
        series=series,
        kind=kind,
        categories=tuple("" if c is None else str(c) for c in categories),
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
