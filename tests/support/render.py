"""Rendering a report document and reading it back: XLSX with openpyxl, XLS with xlrd, PDF with pypdf."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import openpyxl
import xlrd
from pypdf import PdfReader

from fleet_reports.render import DocumentInfo, render_report


def info(title: str = "Trip report", locale: str = "en_US") -> DocumentInfo:
    """The document information of the seed's trip report (title page, file metadata)."""
    return DocumentInfo(
        title=title,
        period_from="2020-10-06 00:00:00",
        period_to="2020-10-06 23:59:59",
        time_zone="Europe/Moscow",
        locale=locale,
        measurement_system="metric",
        trackers=("Samantha (Ford Focus)",),
        generated_at="2020-10-06 16:01:46",
    )


def chart_report() -> dict[str, Any]:
    """A report of one sheet holding one line chart of two series (speed, fuel)."""
    start = 1601934439000.0
    chart = {
        "type": "chart",
        "header": "Speed graph",
        "x_axis": {"type": "time", "title": "Time", "units": ""},
        "series": [
            {"name": "Speed", "units": "km/h", "points": [[start + i * 60_000, 40.0 + i % 7] for i in range(50)]},
            {"name": "Fuel", "units": "l", "points": [[start + i * 120_000, 30.0 - i * 0.1] for i in range(25)]},
        ],
    }
    return {"title": "T", "sheets": [{"header": "Tracker", "sections": [chart]}]}


def xlsx(report: dict[str, Any], *, headless: bool = False) -> Any:
    return openpyxl.load_workbook(BytesIO(render_report(report, "xlsx", headless=headless, info=info())))


def xls(report: dict[str, Any], *, headless: bool = False) -> Any:
    return xlrd.open_workbook(file_contents=render_report(report, "xls", headless=headless, info=info()))


def pdf(report: dict[str, Any], *, headless: bool = False, title: str = "Trip report") -> PdfReader:
    data = render_report(report, "pdf", headless=headless, info=info(title))
    assert data.startswith(b"%PDF")
    return PdfReader(BytesIO(data))


def pdf_text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def xlsx_rows(ws: Any) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in ws.iter_rows()]


def _summary_of(report: dict[str, Any], sheet: int, rows: list[list[Any]]) -> dict[str, Any]:
    """The map_table summary of a report's sheet found in a rendered sheet's rows: name -> value."""
    summary = next(s for s in report["sheets"][sheet]["sections"] if s["type"] == "map_table")
    names = [r["name"] for r in summary["rows"]]
    for at, row in enumerate(rows):
        below = rows[at + 1 : at + 1 + len(names)]
        if row[0] == summary["header"] and [r[0] for r in below] == names:
            return {r[0]: r[1] for r in below}
    raise AssertionError(f"no summary {names} in the sheet")


def xlsx_summary(report: dict[str, Any], sheet: int = 0) -> dict[str, Any]:
    """A report sheet's summary as its XLSX holds it (durations as timedelta)."""
    return _summary_of(report, sheet, xlsx_rows(xlsx(report, headless=True).worksheets[sheet]))


def xls_summary(report: dict[str, Any], sheet: int = 0) -> dict[str, Any]:
    """A report sheet's summary as its XLS holds it (durations in days)."""
    book = xls(report, headless=True).sheet_by_index(sheet)
    return _summary_of(report, sheet, [book.row_values(i) for i in range(book.nrows)])


def row_seconds(report: dict[str, Any], field: str, sheet: int = 0) -> float:
    """The sum of a duration column over the rows of a report sheet's first table, in seconds."""
    table = next(s for s in report["sheets"][sheet]["sections"] if s["type"] == "table")
    return float(sum(row[field]["raw"] for g in table["data"] for row in g["rows"]))


def as_minutes(seconds: float) -> float:
    """A duration as a summary's raw holds it on the wire: minutes with 2 decimals."""
    return round(seconds / 60.0, 2)
