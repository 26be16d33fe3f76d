"""Text that a spreadsheet or fpdf2 could interpret stays the text it is, in every format: in XLS and
XLSX a text cell starting with ``= + - @`` (or ``#``, an error value) is a text cell with Excel's
quote prefix; in the PDF nothing in a label is expanded (fpdf2's page-count alias included)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import openpyxl
import xlrd
from pypdf import PdfReader

from fleet_reports.render import render_report
from fleet_reports.render.common import QUOTE_PREFIX_STARTS

from tests.support.render import info, pdf_text

RISKY = ['=HYPERLINK("http://evil","x")', "+1", "-2+3", "@SUM(A1)", "=1+2", "#N/A", "=A1\n=B2"]
PLAIN = ["Depot", "a-b", "1+2", "Truck {nb}"]
TITLE = "=TITLE()"
SHEET = "@sheet"
TABLE = "-table"
GROUP = "+group"


def report() -> dict[str, Any]:
    """One sheet: a table whose first column holds risky and plain texts, a number beside each."""
    columns = [
        {"field": "name", "title": "=Name", "align": "left", "width": 3},
        {"field": "value", "title": "Value", "align": "right", "width": 1},
    ]
    rows = [{"name": {"v": text, "raw": 0}, "value": {"v": "-5", "raw": -5.0}} for text in RISKY + PLAIN]
    table = {
        "type": "table",
        "header": TABLE,
        "columns": columns,
        "column_groups": [],
        "data": [{"header": GROUP, "rows": rows, "total": {"text": "In total:"}}],
    }
    return {"title": TITLE, "sheets": [{"header": SHEET, "sections": [table], "entity_ids": [1]}]}


def xls_cells(data: bytes) -> dict[str, tuple[int, bool]]:
    """Every non-empty cell of an XLS file by its text (numbers by their value): its xlrd type and
    whether its XF carries the quote prefix (BIFF8's f123Prefix)."""
    book = xlrd.open_workbook(file_contents=data, formatting_info=True)
    cells: dict[str, tuple[int, bool]] = {}
    for sheet in book.sheets():
        for r in range(sheet.nrows):
            for c in range(sheet.ncols):
                cell = sheet.cell(r, c)
                if cell.ctype != xlrd.XL_CELL_EMPTY:
                    cells[str(cell.value)] = (cell.ctype, bool(book.xf_list[cell.xf_index].lotus_123_prefix))
    return cells


def test_formula_like_text_is_quoted_text_in_xls() -> None:
    # Given a report whose title, sheet, table, column, group and cells start like formulas,
    # beside plain texts and numbers
    # When it is rendered as XLS, with its title sheet, and read back
    cells = xls_cells(render_report(report(), "xls", headless=False, info=info(TITLE)))
    # Then each risky text is a text cell, unchanged, with Excel's quote prefix
    for text in [*RISKY, TITLE, SHEET, TABLE, GROUP, "=Name"]:
        assert cells[text] == (xlrd.XL_CELL_TEXT, True), text
    # And plain texts are text without the prefix, and -5 is still a number (unquoted)
    for text in [*PLAIN, "Value", "In total:"]:
        assert cells[text] == (xlrd.XL_CELL_TEXT, False), text
    assert cells["-5.0"] == (xlrd.XL_CELL_NUMBER, False)


def test_xls_quotes_exactly_the_cells_xlsx_quotes() -> None:
    # Given the same report
    data = report()
    # When it is rendered as XLSX and as XLS
    book = openpyxl.load_workbook(BytesIO(render_report(data, "xlsx", headless=False, info=info(TITLE))))
    texts = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    xls = xls_cells(render_report(data, "xls", headless=False, info=info(TITLE)))
    # Then the same texts carry the quote prefix in both, those that start as the shared rule says
    quoted = {c.value for c in texts if c.quotePrefix}
    assert quoted == {text for text, (ctype, flag) in xls.items() if ctype == xlrd.XL_CELL_TEXT and flag}
    assert quoted == {c.value for c in texts if c.value.startswith(QUOTE_PREFIX_STARTS)}
    assert set(RISKY) <= quoted


def test_pdf_prints_labels_literally() -> None:
    # Given the same report, whose title, sheet and a cell hold fpdf2's page-count alias "{nb}"
    data = report()
    data["sheets"][0]["header"] = "Sheet {nb}"
    # When it is rendered as PDF
    text = pdf_text(PdfReader(BytesIO(render_report(data, "pdf", headless=False, info=info("Title {nb}")))))
    # Then every label prints as it was written, the alias included, and formulas are only text
    for label in ["Title {nb}", "Sheet {nb}", "Truck {nb}", "=1+2", "@SUM(A1)", '=HYPERLINK("http://evil","x")']:
        assert label in text, label
    # And the footer still counts the pages
    pages = text.count("Page ")
    assert pages > 1 and f"Page {pages} / {pages}" in text
