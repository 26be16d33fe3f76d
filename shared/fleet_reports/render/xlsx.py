"""XLSX rendering: openpyxl makes the workbook (title page, contents with links, sheet heads with
column widths, frozen rows and the auto-filter, styles, native charts); the report sheets' rows
are streamed into it as XML, each row as it is made, so memory stays flat and 100,000 rows take
seconds (openpyxl's own cell writer costs some 30 µs a cell).

Text cells are inline strings: they never become formulas; one that starts like a formula
(``= + - @``) also carries Excel's quote prefix, so editing it in Excel keeps it text.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from fleet_reports.engine import document as doc
from fleet_reports.render.common import (
    QUOTE_PREFIX_STARTS,
    Chart,
    Plan,
    RowKind,
    clean_text,
    labels,
    plan,
    title_lines,
    zone_of,
)
from fleet_reports.render.document import DocumentInfo
from fleet_reports.render.sheet import Layout, NumberCell, Row, SheetView, chart_rows

_BOLD = Font(bold=True)
_BIG = Font(bold=True, size=16)
_LINK = Font(color="0563C1", underline="single")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CHUNK_ROWS = 2_000  # rows joined into one write
_COMPRESSION = 4  # zlib level of the streamed sheets: most of the size gain, a third of the time
_RISKY_START = QUOTE_PREFIX_STARTS  # a formula, or an error value (#N/A)
_ROW_CM = 0.5  # a default row's height (15 pt), a little less: a chart stays within its rows


class _Styles:
    """Cell style ids (cellXfs indices), registered with the workbook once each."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self.workbook = ws.parent
        self._ids: dict[tuple[bool, bool, bool, bool, str], int] = {}

    def get(
        self, *, bold: bool = False, big: bool = False, wrap: bool = False, quote: bool = False, fmt: str = "General"
    ) -> int:
        key = (bold, big, wrap, quote, fmt)
        found = self._ids.get(key)
        if found is None:
            cell = WriteOnlyCell(self._ws, None)
            if big:
                cell.font = _BIG
            elif bold:
                cell.font = _BOLD
            if wrap:
                cell.alignment = _WRAP
            if quote:
                cell.quotePrefix = True
            if fmt != "General":
                cell.number_format = fmt
            found = self._ids[key] = int(cell.style_id)
        return found


def render(report: doc.ReportDocument, *, headless: bool, info: DocumentInfo) -> bytes:
    book = Workbook(write_only=True)
    book.properties.title = clean_text(info.title)
    book.properties.creator = "Fleet Reports"
    layout = plan(report, headless=headless, info=info)
    words = labels(info.locale)
    if layout.title_sheet:
        _title_sheet(book.create_sheet(layout.title_sheet), info)
    if layout.contents_sheet:
        _contents_sheet(book.create_sheet(layout.contents_sheet), layout, info)
    zone = zone_of(info.time_zone)
    streams: list[tuple[Any, SheetView]] = []
    styles: _Styles | None = None
    for named in layout.sheets:
        ws = book.create_sheet(named.name)
        view = SheetView(named.sheet, named.header, zone, words)
        _sheet_head(ws, view.layout())
        styles = styles or _Styles(ws)
        streams.append((ws, view))
    if not book.worksheets:  # a workbook needs one sheet, even for an empty headless report
        book.create_sheet(layout.namer.take(info.title, words["title_sheet"]))
    shell = BytesIO()
    book.save(shell)
    if not streams:
        return shell.getvalue()
    assert styles is not None
    rows = {ws.path.lstrip("/"): view.rows() for ws, view in streams}
    return _with_rows(shell.getvalue(), rows, styles)


# ---------------------------------------------------------------- front sheets (openpyxl cells)


def _cell(ws: Any, value: str | None, font: Any = None) -> Any:
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    if value.startswith(_RISKY_START):
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
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


# ---------------------------------------------------------------- report sheets


def _sheet_head(ws: Any, layout: Layout) -> None:
    """Column widths, frozen rows, the auto-filter and the charts: what openpyxl writes around
    the rows."""
    for i, width in enumerate(layout.widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    if layout.frozen:
        ws.freeze_panes = f"A{layout.frozen + 1}"
    if layout.filter is not None:
        first, last, columns = layout.filter
        ws.auto_filter.ref = f"A{first}:{get_column_letter(columns)}{max(last, first)}"
    for header_row, chart in layout.charts:
        if chart.kind == "bar":
            _add_bar_chart(ws, chart, header_row=header_row)
        else:
            _add_chart(ws, chart, header_row=header_row)


def _add_chart(ws: Any, chart: Chart, *, header_row: int) -> None:
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
    if drawn.series:
        ws.add_chart(drawn, f"{get_column_letter(2 * len(chart.series) + 2)}{header_row}")


def _add_bar_chart(ws: Any, chart: Chart, *, header_row: int) -> None:
    """A native horizontal bar chart over the point table under ``header_row``: (label, value)
    columns per series, the categories from the first series' labels, the first bar on top."""
    drawn = BarChart()
    drawn.type = "bar"  # horizontal
    drawn.grouping = "clustered"
    drawn.title = chart.header or None
    drawn.width, drawn.height = 20, chart_rows(chart) * _ROW_CM
    drawn.gapWidth = 60
    if len(chart.series) == 1:  # the value axis names the one series
        drawn.legend = None
    drawn.x_axis.title = chart.x_title or None
    drawn.y_axis.title = chart.value_title or None
    drawn.x_axis.delete = False
    drawn.y_axis.delete = False
    drawn.x_axis.scaling.orientation = "maxMin"  # the categories top down, as in the table
    drawn.y_axis.crosses = "max"  # ... and the value axis still at the bottom
    drawn.y_axis.axPos = "b"
    if all(y >= 0 for s in chart.series for _, y in s.points):
        drawn.y_axis.scaling.min = 0  # the bars from 0
    categories = None  # the first series' labels (text: a string reference)
    for i, series in enumerate(chart.series):
        if not series.points:
            continue
        last = header_row + len(series.points)
        values = Reference(ws, min_col=2 * i + 2, min_row=header_row + 1, max_row=last)
        bar = Series(values, title=series.name or None)
        if categories is None:
            categories = str(Reference(ws, min_col=2 * i + 1, min_row=header_row + 1, max_row=last))
        bar.cat = AxDataSource(strRef=StrRef(f=categories))
        drawn.series.append(bar)
    if drawn.series:
        drawn.dataLabels = DataLabelList(showVal=True)
        ws.add_chart(drawn, f"{get_column_letter(2 * len(chart.series) + 2)}{header_row}")


def _with_rows(shell: bytes, rows: dict[str, Iterator[Row]], styles: _Styles) -> bytes:
    """``shell`` (openpyxl's workbook, report sheets without rows) with the rows streamed in."""
    out = BytesIO()
    with (
        zipfile.ZipFile(BytesIO(shell)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION) as dst,
    ):
        styles_xml = None
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/styles.xml":
                styles_xml = item  # written last: number formats register while rows stream
                continue
            if item.filename not in rows:
                dst.writestr(item, data)
                continue
            text = data.decode("utf-8")
            for empty in ("<sheetData></sheetData>", "<sheetData/>"):
                if empty in text:
                    head, tail = text.split(empty, 1)
                    break
            else:  # pragma: no cover - openpyxl always writes an empty sheetData for a row-less sheet
                raise RuntimeError(f"no sheetData in {item.filename}")
            entry = zipfile.ZipInfo(item.filename, date_time=item.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            _set_level(entry, _COMPRESSION)
            with dst.open(entry, "w", force_zip64=True) as stream:
                stream.write(head.encode("utf-8"))
                stream.write(b"<sheetData>")
                for chunk in _row_xml(rows[item.filename], styles):
                    stream.write(chunk.encode("utf-8"))
                stream.write(b"</sheetData>")
                stream.write(tail.encode("utf-8"))
        if styles_xml is not None:
            dst.writestr(styles_xml, _styles_xml(styles))
    return out.getvalue()


def _set_level(entry: zipfile.ZipInfo, level: int) -> None:
    """The zlib level of one entry (``compress_level`` from Python 3.13, ``_compresslevel`` before)."""
    try:
        entry.compress_level = level  # type: ignore[attr-defined,unused-ignore]
    except AttributeError:
        entry._compresslevel = level  # type: ignore[attr-defined,unused-ignore]


def _styles_xml(styles: _Styles) -> bytes:
    """The stylesheet with every style the rows used (openpyxl writes it from the workbook)."""
    from openpyxl.styles.stylesheet import write_stylesheet
    from openpyxl.xml.functions import tostring

    tree = write_stylesheet(styles.workbook)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + bytes(tostring(tree))


def _escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _row_xml(rows: Iterator[Row], styles: _Styles) -> Iterator[str]:
    letters = [get_column_letter(i) for i in range(1, 257)]
    plain = {(bold, big): styles.get(bold=bold, big=big) for bold in (False, True) for big in (False, True)}
    parts: list[str] = []
    for r, row in enumerate(rows, start=1):
        if not row.cells:
            continue
        big = row.kind is RowKind.TITLE
        wrap = row.kind in (RowKind.HEADER, RowKind.NOTE)
        base = plain[(row.bold, big)]
        parts.append(f'<row r="{r}">')
        for j, value in enumerate(row.cells):
            if value is None:
                continue
            ref = f"{_letter(letters, j)}{r}"
            if isinstance(value, NumberCell):
                sid = styles.get(bold=row.bold, fmt=value.number_format)
                parts.append(f'<c r="{ref}" s="{sid}"><v>{value.value!r}</v></c>')
                continue
            risky = value.startswith(_RISKY_START)
            sid = base if not (wrap or risky) else styles.get(bold=row.bold, big=big, wrap=wrap, quote=risky)
            style = f' s="{sid}"' if sid else ""
            parts.append(f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{_escape(value)}</t></is></c>')
        parts.append("</row>")
        if r % _CHUNK_ROWS == 0:
            yield "".join(parts)
            parts.clear()
    if parts:
        yield "".join(parts)


def _letter(letters: list[str], j: int) -> str:
    return letters[j] if j < len(letters) else get_column_letter(j + 1)
