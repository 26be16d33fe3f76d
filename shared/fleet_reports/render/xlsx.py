"""XLSX rendering with openpyxl in write-only mode, so rows stream and memory stays flat."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from fleet_reports.render.common import (
    CellOut,
    Chart,
    NamedSheet,
    NumberCell,
    Plan,
    RowKind,
    clean_text,
    column_widths,
    frozen_rows,
    labels,
    plan,
    spreadsheet_rows,
    title_lines,
    zone_of,
)
from fleet_reports.render.document import DocumentInfo

_BOLD = Font(bold=True)
_BIG = Font(bold=True, size=16)
_LINK = Font(color="0563C1", underline="single")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CHART_ROWS = 20  # rows a chart covers beside its point table
# A string a spreadsheet could read as something else: a formula (= + - @) or an error (#N/A).
_RISKY_START = ("=", "+", "-", "@", "#")


def render(report: Mapping[str, Any], *, headless: bool, info: DocumentInfo) -> bytes:
    book = Workbook(write_only=True)
    book.properties.title = clean_text(info.title)
    book.properties.creator = "Fleet Reports"
    layout = plan(report, headless=headless, info=info)
    if layout.title_sheet:
        _title_sheet(book.create_sheet(layout.title_sheet), info)
    if layout.contents_sheet:
        _contents_sheet(book.create_sheet(layout.contents_sheet), layout, info)
    zone = zone_of(info.time_zone)
    for named in layout.sheets:
        _report_sheet(book.create_sheet(named.name), named, zone)
    if not book.worksheets:  # a workbook needs one sheet, even for an empty headless report
        book.create_sheet(layout.namer.take(info.title, labels(info.locale)["title_sheet"]))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(ws: Any, value: CellOut, font: Any = None, alignment: Any = None) -> Any:
    """A value for ``ws.append``: plain when it can be, a styled cell when it must be.

    Strings always stay strings: one that starts like a formula is typed "s" and
    quote-prefixed, so neither openpyxl nor Excel ever evaluates it.
    """
    if value is None:
        return None
    plain = font is None and alignment is None
    if isinstance(value, NumberCell):
        if plain and value.number_format == "General":
            return value.value
        cell = WriteOnlyCell(ws, value.value)
        cell.number_format = value.number_format
    else:
        if plain and not value.startswith(_RISKY_START):
            return value
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"
        if value.startswith(_RISKY_START):
            cell.quotePrefix = True
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _title_sheet(ws: Any, info: DocumentInfo) -> None:
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 70
    ws.append([_cell(ws, clean_text(info.title), _BIG)])
    ws.append([])
    for label, value in title_lines(info):
        ws.append([_cell(ws, label or None, _BOLD), _cell(ws, clean_text(value) or None)])


def _contents_sheet(ws: Any, layout: Plan, info: DocumentInfo) -> None:
    ws.column_dimensions["A"].width = 60
    ws.append([_cell(ws, labels(info.locale)["contents"], _BIG)])
    ws.append([])
    for named in layout.sheets:
        cell = _cell(ws, clean_text(named.header) or named.name, _LINK)
        quoted = named.name.replace("'", "''")
        cell.hyperlink = Hyperlink(ref="", location=f"'{quoted}'!A1", display=named.header[:255])
        ws.append([cell])


def _report_sheet(ws: Any, named: NamedSheet, zone: tzinfo) -> None:
    # widths and panes go in the sheet's head, so they must be set before the first row
    for i, width in enumerate(column_widths(named.sheet), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    frozen = frozen_rows(spreadsheet_rows(named.sheet, named.header, zone))
    if frozen:
        ws.freeze_panes = f"A{frozen + 1}"

    written = 0
    chart_end = 0  # rows under a chart stay free of the next section
    for row in spreadsheet_rows(named.sheet, named.header, zone):
        if row.kind is RowKind.BLANK:
            while written < chart_end:
                ws.append([])
                written += 1
        font = _BIG if row.kind is RowKind.TITLE else _BOLD if row.bold else None
        alignment = _WRAP if row.kind in (RowKind.HEADER, RowKind.NOTE) else None
        ws.append([_cell(ws, value, font, alignment) for value in row.cells])
        written += 1
        if row.chart is not None and _add_chart(ws, row.chart, header_row=written):
            chart_end = written + _CHART_ROWS


def _add_chart(ws: Any, chart: Chart, *, header_row: int) -> bool:
    """A native scatter-with-lines chart over the point table under ``header_row``."""
    drawn = ScatterChart()
    drawn.title = chart.header or None
    drawn.style = 13
    drawn.width, drawn.height = 24, 10
    drawn.x_axis.title = chart.x_title or None
    drawn.y_axis.title = chart.y_title or None
    drawn.x_axis.delete = False
    drawn.y_axis.delete = False
    if chart.x_type == "time":
        drawn.x_axis.number_format = "dd.mm hh:mm"
    for i, series in enumerate(chart.series):
        if not series.points:
            continue
        last = header_row + len(series.points)
        xs = Reference(ws, min_col=2 * i + 1, min_row=header_row + 1, max_row=last)
        ys = Reference(ws, min_col=2 * i + 2, min_row=header_row + 1, max_row=last)
        line = Series(ys, xs, title=series.name or None)
        line.marker.symbol = "none"
        line.smooth = False
        drawn.series.append(line)
    if not drawn.series:
        return False
    ws.add_chart(drawn, f"{get_column_letter(2 * len(chart.series) + 2)}{header_row}")
    return True
