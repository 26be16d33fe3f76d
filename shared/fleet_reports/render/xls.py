"""XLS (BIFF8) rendering with xlwt. BIFF8 holds 65,536 rows and 256 columns a sheet: a longer
sheet continues on a next one ("Name (2)", repeating the table's column titles), columns past
the 256th are dropped. Text cells are labels: xlwt never turns a string into a formula."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from io import BytesIO
from typing import Any

import xlwt

from fleet_reports.render.common import (
    CellOut,
    NamedSheet,
    NumberCell,
    Plan,
    Row,
    RowKind,
    SheetNamer,
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

MAX_ROWS = 65_536
MAX_COLUMNS = 256
_FLUSH_EVERY = 1_000  # rows; keeps xlwt's memory down on long sheets


class _Styles:
    """xlwt styles, made once each (a BIFF8 file holds at most ~4,000 of them)."""

    def __init__(self) -> None:
        self._made: dict[tuple[bool, bool, bool, str], Any] = {}

    def get(self, *, bold: bool = False, big: bool = False, wrap: bool = False, fmt: str = "General") -> Any:
        key = (bold, big, wrap, fmt)
        if key not in self._made:
            parts = []
            if bold or big:
                parts.append("font: bold on" + (", height 320" if big else ""))
            if wrap:
                parts.append("alignment: wrap on, vert top")
            self._made[key] = xlwt.easyxf("; ".join(parts), num_format_str=fmt)
        return self._made[key]


class _SheetWriter:
    """Writes rows down a sheet and carries on to a next sheet when this one is full."""

    def __init__(self, book: Any, namer: SheetNamer, styles: _Styles, name: str, widths: Sequence[float] = ()) -> None:
        self._book, self._namer, self._styles = book, namer, styles
        self._name, self._widths = name, widths
        self._sheet = self._new_sheet(name)
        self._row = 0
        self._header: Row | None = None  # the column titles to repeat on a continuation sheet

    def _new_sheet(self, name: str) -> Any:
        sheet = self._book.add_sheet(name)
        for i, width in enumerate(self._widths[:MAX_COLUMNS]):
            sheet.col(i).width = int(256 * width)
        return sheet

    def freeze(self, rows: int) -> None:
        self._sheet.panes_frozen = True
        self._sheet.horz_split_pos = rows
        self._sheet.horz_split_first_visible = rows

    def append(self, row: Row) -> None:
        if row.kind is RowKind.HEADER:
            self._header = row
        elif row.kind is RowKind.BLANK:
            self._header = None
        if self._row == MAX_ROWS:
            self._sheet.flush_row_data()
            self._sheet = self._new_sheet(self._namer.take(self._name))
            self._row = 0
            if self._header is not None and row is not self._header:
                self._write(self._header)
                self.freeze(1)
        self._write(row)

    def _write(self, row: Row) -> None:
        for col, value in enumerate(row.cells[:MAX_COLUMNS]):
            self._write_cell(col, value, bold=row.bold, big=row.kind is RowKind.TITLE)
        self._row += 1
        if self._row % _FLUSH_EVERY == 0:
            self._sheet.flush_row_data()

    def _write_cell(self, col: int, value: CellOut, *, bold: bool, big: bool) -> None:
        if value is None:
            return
        if isinstance(value, NumberCell):
            style = self._styles.get(bold=bold, fmt=value.number_format)
            self._sheet.write(self._row, col, value.value, style)
        else:
            style = self._styles.get(bold=bold, big=big, wrap="\n" in value)
            self._sheet.write(self._row, col, value, style)


def render(report: Mapping[str, Any], *, headless: bool, info: DocumentInfo) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    styles = _Styles()
    layout = plan(report, headless=headless, info=info)
    if layout.title_sheet:
        _title_sheet(_SheetWriter(book, layout.namer, styles, layout.title_sheet, (24, 70)), info)
    if layout.contents_sheet:
        writer = _SheetWriter(book, layout.namer, styles, layout.contents_sheet, (32, 60))
        _contents_sheet(writer, layout, info)
    zone = zone_of(info.time_zone)
    for named in layout.sheets:
        _report_sheet(_SheetWriter(book, layout.namer, styles, named.name, column_widths(named.sheet)), named, zone)
    if not (layout.title_sheet or layout.sheets):  # a workbook needs one sheet
        book.add_sheet(layout.namer.take(info.title, labels(info.locale)["title_sheet"]))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _title_sheet(writer: _SheetWriter, info: DocumentInfo) -> None:
    writer.append(Row(RowKind.TITLE, (clean_text(info.title),), bold=True))
    writer.append(Row(RowKind.BLANK))
    for label, value in title_lines(info):
        writer.append(Row(RowKind.DATA, (label or None, clean_text(value) or None)))


def _contents_sheet(writer: _SheetWriter, layout: Plan, info: DocumentInfo) -> None:
    words = labels(info.locale)
    writer.append(Row(RowKind.TITLE, (words["contents"],), bold=True))
    writer.append(Row(RowKind.BLANK))
    for named in layout.sheets:  # BIFF8 has no internal links xlwt can write: names only
        header = clean_text(named.header)
        writer.append(Row(RowKind.DATA, (named.name, header if header != named.name else None)))


def _report_sheet(writer: _SheetWriter, named: NamedSheet, zone: tzinfo) -> None:
    frozen = frozen_rows(spreadsheet_rows(named.sheet, named.header, zone))
    if frozen:
        writer.freeze(frozen)
    for row in spreadsheet_rows(named.sheet, named.header, zone):
        writer.append(row)
