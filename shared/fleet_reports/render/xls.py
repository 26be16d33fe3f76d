"""XLS (BIFF8) rendering with xlwt. BIFF8 holds 65,536 rows and 256 columns a sheet: a longer
sheet continues on a next one ("Name (2)", repeating the table's column titles), columns past
the 256th are dropped. Text cells are labels: xlwt never turns a string into a formula; one that
starts like a formula (``= + - @``, or ``#`` as an error value) also carries Excel's quote prefix,
as in XLSX, so editing it in Excel keeps it text."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from io import BytesIO
from typing import Any

import xlwt
from xlwt.Row import Row as XlsRow

from fleet_reports.engine import document as doc
from fleet_reports.render.common import (
    QUOTE_PREFIX_STARTS,
    Plan,
    RowKind,
    SheetNamer,
    clean_text,
    labels,
    needs_quote_prefix,
    plan,
    title_lines,
    zone_of,
)
from fleet_reports.render.document import DocumentInfo
from fleet_reports.render.sheet import CellOut, NumberCell, Row, SheetView

_NUMBER_RECORD = struct.Struct("<HHHHHd")  # NUMBER (0x0203): row, column, XF, IEEE double
_LABELSST_RECORD = struct.Struct("<HHHHHI")  # LABELSST (0x00FD): row, column, XF, shared string index
_XF_HEAD = struct.Struct("<HH")  # an XF record's id (0x00E0) and length (20 in BIFF8)
_XF_SIZE = 24  # bytes an XF record takes, its head included
_QUOTE_PREFIX = 0x08  # f123Prefix, bit 3 of an XF's type-and-protection field (its data's 5th byte)


class _PackedRow(XlsRow):  # type: ignore[misc]
    """An xlwt row whose cell records come packed (NUMBER and LABELSST, in column order): xlwt's
    own cell objects cost several microseconds a cell. Rows written the usual way (``data`` None)
    serialise as xlwt does."""

    __slots__ = ("data",)

    def __init__(self, rowx: int, parent_sheet: Any) -> None:
        super().__init__(rowx, parent_sheet)
        self.data: bytes | None = None

    def pack(self, data: bytes, first_col: int, last_col: int) -> None:
        self.data = data
        # the ROW record's column span (xlwt keeps it private) and the sheet's DIMENSIONS
        self._Row__min_col_idx = first_col  # type: ignore[misc]
        self._Row__max_col_idx = last_col  # type: ignore[misc]
        sheet = self._Row__parent
        sheet.first_used_col = min(sheet.first_used_col, first_col)
        sheet.last_used_col = max(sheet.last_used_col, last_col)

    def get_cells_biff_data(self) -> bytes:
        return self.data if self.data is not None else bytes(super().get_cells_biff_data())


MAX_ROWS = 65_536
MAX_COLUMNS = 256
_FLUSH_EVERY = 1_000  # rows; keeps xlwt's memory down on long sheets


class _Styles:
    """xlwt styles, made once each (a BIFF8 file holds at most ~4,000 of them), and their XF
    indices in the workbook.

    A quoted style is Excel's quote prefix (what Excel writes for a cell typed as ``'=1+2``, and
    XLSX's ``quotePrefix``): xlwt has no such flag, so the workbook's XF records get its bit as
    they are written (:meth:`_xf_records`)."""

    def __init__(self, book: Any) -> None:
        self._book = book
        self._made: dict[tuple[bool, bool, bool, bool, str], Any] = {}
        self._xf: dict[tuple[bool, bool, bool, bool, str], int] = {}
        self._quoted: set[int] = set()  # XF indices of the quoted styles
        collection = book._Workbook__styles  # xlwt's StyleCollection: its XF records, through ours
        self._records = collection._all_cell_styles
        collection._all_cell_styles = self._xf_records

    def get(
        self, *, bold: bool = False, big: bool = False, wrap: bool = False, quote: bool = False, fmt: str = "General"
    ) -> Any:
        key = (bold, big, wrap, quote, fmt)
        if key not in self._made:
            parts = []
            if bold or big:
                parts.append("font: bold on" + (", height 320" if big else ""))
            if wrap:
                parts.append("alignment: wrap on, vert top")
            style = self._made[key] = xlwt.easyxf("; ".join(parts), num_format_str=fmt)
            if quote:
                self._quoted.add(int(self._book.add_style(style)))
        return self._made[key]

    def xf(self, bold: bool, wrap: bool, fmt: str, quote: bool = False) -> int:
        key = (bold, False, wrap, quote, fmt)
        found = self._xf.get(key)
        if found is None:
            style = self.get(bold=bold, wrap=wrap, quote=quote, fmt=fmt)
            found = self._xf[key] = int(self._book.add_style(style))
        return found

    def _xf_records(self) -> bytes:
        """xlwt's XF records (one per index, in index order), the quoted ones with the prefix bit."""
        data = bytearray(self._records())
        for index in self._quoted:
            at = index * _XF_SIZE
            if _XF_HEAD.unpack_from(data, at) != (0x00E0, _XF_SIZE - 4):  # xlwt's layout changed
                raise RuntimeError(f"XF record {index} is not where xlwt writes it")
            data[at + 8] |= _QUOTE_PREFIX
        return bytes(data)


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
        sheet.Row = _PackedRow  # the class xlwt's sheet.row() makes rows with
        for i, width in enumerate(self._widths[:MAX_COLUMNS]):
            sheet.col(i).width = int(256 * width)
        return sheet

    def _write_cell(self, target: Any, col: int, value: CellOut, *, bold: bool, big: bool) -> None:
        if isinstance(value, NumberCell):
            target.set_cell_number(col, value.value, self._styles.get(bold=bold, fmt=value.number_format))
        elif value is not None:
            style = self._styles.get(bold=bold, big=big, wrap="\n" in value, quote=needs_quote_prefix(value))
            target.set_cell_text(col, value, style)

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
        cells = row.cells[:MAX_COLUMNS]
        last = len(cells) - 1
        while last >= 0 and cells[last] is None:
            last -= 1
        if last >= 0:
            target = self._sheet.row(self._row)
            bold, big = row.bold, row.kind is RowKind.TITLE
            if big:
                for col in range(last + 1):
                    self._write_cell(target, col, cells[col], bold=bold, big=big)
            else:
                first = next(col for col, value in enumerate(cells) if value is not None)
                target.pack(self._records(cells, last, bold), first, last)
        self._row += 1
        if self._row % _FLUSH_EVERY == 0:
            self._sheet.flush_row_data()

    def _records(self, cells: tuple[CellOut, ...], last: int, bold: bool) -> bytes:
        r, xf, add_str = self._row, self._styles.xf, self._book.add_str
        text_xf, wrap_xf = xf(bold, False, "General"), xf(bold, True, "General")
        number, label = _NUMBER_RECORD.pack, _LABELSST_RECORD.pack
        parts: list[bytes] = []
        for col in range(last + 1):
            value = cells[col]
            if value is None:
                continue
            if type(value) is not str:  # a NumberCell
                parts.append(number(0x0203, 14, r, col, xf(bold, False, value[1]), value[0]))
            elif value.startswith(QUOTE_PREFIX_STARTS):  # text a spreadsheet could take for a formula
                parts.append(label(0x00FD, 10, r, col, xf(bold, "\n" in value, "General", True), add_str(value)))
            else:
                parts.append(label(0x00FD, 10, r, col, wrap_xf if "\n" in value else text_xf, add_str(value)))
        return b"".join(parts)


def render(report: doc.ReportDocument, *, headless: bool, info: DocumentInfo) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    styles = _Styles(book)
    layout = plan(report, headless=headless, info=info)
    if layout.title_sheet:
        _title_sheet(_SheetWriter(book, layout.namer, styles, layout.title_sheet, (24, 70)), info)
    if layout.contents_sheet:
        writer = _SheetWriter(book, layout.namer, styles, layout.contents_sheet, (32, 60))
        _contents_sheet(writer, layout, info)
    zone = zone_of(info.time_zone)
    words = labels(info.locale)
    for named in layout.sheets:
        view = SheetView(named.sheet, named.header, zone, words)
        sheet_layout = view.layout()
        writer = _SheetWriter(book, layout.namer, styles, named.name, sheet_layout.widths)
        if sheet_layout.frozen:
            writer.freeze(sheet_layout.frozen)
        for row in view.rows():
            writer.append(row)
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
