"""Bar charts (the geofence report's time in zones): a horizontal bar chart in the PDF, a native
bar chart over a (label, value) table in the XLSX, the table alone in the XLS; line charts as before."""

from __future__ import annotations

import copy
import zipfile
from io import BytesIO
from typing import Any

import openpyxl
import pytest
import xlrd
from openpyxl.chart import BarChart, ScatterChart
from pypdf import PdfReader

from fleet_reports.render import render_report
from fleet_reports.render.common import chart_of

from tests.support.geofences import TRACKER, context, drive_north
from tests.support.render import chart_report, info, pdf, pdf_text, xls, xlsx, xlsx_rows
from tests.support.reports import run

CATEGORIES = ["Main road", "=SUM(A1)", "Склад «Север»"]
HOURS = [1.25, 0.5, 0.01]


def bar_chart(categories: list[str] | None = None, hours: list[float] | None = None) -> dict[str, Any]:
    categories = CATEGORIES if categories is None else categories
    hours = HOURS if hours is None else hours
    return {
        "type": "chart",
        "kind": "bar",
        "header": f"Time in zones (top {len(categories)})",
        "x_axis": {"type": "category", "title": "Zone", "units": "", "categories": categories},
        "series": [{"name": "Time in zone", "units": "h", "points": [[k, h] for k, h in enumerate(hours)]}],
    }


def bar_report(*sections: dict[str, Any]) -> dict[str, Any]:
    return {"title": "T", "sheets": [{"header": "Tracker", "sections": list(sections) or [bar_chart()]}]}


def page_of(pages: list[str], text: str) -> int:
    """The index of the first page (of their texts) that shows ``text``."""
    return next(k for k, page in enumerate(pages) if text in page)


def long_table(rows: int) -> dict[str, Any]:
    columns = [{"field": "name", "title": "Name", "align": "left", "width": 1}]
    data = [{"header": "Group", "rows": [{"name": {"v": f"row {i}"}} for i in range(rows)]}]
    return {"type": "table", "header": "Visits", "columns": columns, "data": data}


# ---------------------------------------------------------------- the document


def test_chart_of_reads_a_bar_chart_and_keeps_line_charts_as_they_were() -> None:
    # Given a bar chart section, and the sensors' line chart (no kind) and one of an unknown kind
    bar = chart_of(bar_chart())
    line = chart_of(chart_report()["sheets"][0]["sections"][0])
    odd = chart_of({**chart_report()["sheets"][0]["sections"][0], "kind": "pie"})
    # Then the bar chart has its kind, categories and one bar per category, in the document's order
    assert (bar.kind, bar.x_type, bar.x_title, bar.categories) == ("bar", "category", "Zone", tuple(CATEGORIES))
    assert bar.bars() == [(c, [h]) for c, h in zip(CATEGORIES, HOURS, strict=True)]
    assert bar.value_title == "Time in zone, h"
    # And a line chart is a line chart, with no categories, whatever kind it does not know
    assert (line.kind, line.x_type, line.categories, len(line.series)) == ("line", "time", (), 2)
    assert (odd.kind, odd.categories) == ("line", ())


def test_a_bar_without_a_category_is_labelled_with_its_x() -> None:
    # Given a bar chart whose categories are fewer than its points
    chart = chart_of(bar_chart(categories=["A"], hours=[2.0, 1.0]))
    # Then the bar past the categories is named by its x
    assert chart.bars() == [("A", [2.0])]
    assert chart.category(1.0) == "1"


# ---------------------------------------------------------------- XLSX


def test_xlsx_draws_a_native_bar_chart_over_the_labels_and_values() -> None:
    # Given a report with a bar chart of three zones (one named like a formula, one in Cyrillic)
    report = bar_report()
    # When rendered as XLSX
    ws = xlsx(report)["Tracker"]
    rows = xlsx_rows(ws)
    # Then the point table holds the labels as text and the hours as numbers
    header_at = rows.index(["Zone", "Time in zone, h"])
    table = rows[header_at + 1 : header_at + 4]
    assert [r[0] for r in table] == CATEGORIES
    assert [r[1] for r in table] == HOURS
    first = header_at + 2  # 1-based row of the first label
    labels = [ws.cell(first + k, 1) for k in range(3)]
    assert all(cell.data_type == "s" for cell in labels)
    assert all(isinstance(ws.cell(first + k, 2).value, float) for k in range(3))
    # And the label starting like a formula stays text, with Excel's quote prefix
    assert labels[1].value == "=SUM(A1)" and labels[1].quotePrefix
    # And one native horizontal bar chart covers them: its categories are the labels, its values the hours
    (drawn,) = ws._charts
    assert isinstance(drawn, BarChart) and drawn.type == "bar"
    (series,) = drawn.series
    assert series.cat.strRef.f == f"'Tracker'!$A${first}:$A${first + 2}"
    assert series.val.numRef.f == f"'Tracker'!$B${first}:$B${first + 2}"
    assert drawn.x_axis.scaling.orientation == "maxMin"  # the first (longest) bar on top


def test_xlsx_bar_chart_has_its_titles() -> None:
    # Given a report with a bar chart
    # When rendered as XLSX
    with zipfile.ZipFile(BytesIO(render_report(bar_report(), "xlsx", headless=True, info=info()))) as book:
        (name,) = [n for n in book.namelist() if n.startswith("xl/charts/chart")]
        chart_xml = book.read(name).decode("utf-8")
    # Then the chart is titled with the section's header, the zone axis and the series with its units
    assert '<barDir val="bar" />' in chart_xml
    for title in ("Time in zones (top 3)", "<a:t>Zone</a:t>", "<a:t>Time in zone, h</a:t>"):
        assert title in chart_xml


def test_xlsx_keeps_the_rows_beside_a_tall_bar_chart_free() -> None:
    # Given a bar chart of 30 zones followed by a note
    names = [f"Zone {k}" for k in range(30)]
    report = bar_report(bar_chart(names, [30.0 - k for k in range(30)]), {"type": "text", "text": "After the chart"})
    # When rendered as XLSX
    ws = xlsx(report, headless=True).active
    column = [row[0] for row in xlsx_rows(ws)]
    # Then the chart is as tall as its bars need, and the note comes below it (rows of 15 pt)
    header_at = column.index("Zone")
    (drawn,) = ws._charts
    anchor = drawn.anchor
    assert anchor._from.row == header_at  # 0-based: the chart starts beside the table's header row
    height_rows = anchor.ext.height / (15 * 12_700)  # EMU
    assert height_rows > 35  # more than a line chart's 20 rows
    assert column.index("After the chart") > header_at + height_rows


def test_xlsx_line_chart_is_still_a_scatter_chart() -> None:
    # Given the sensors' line chart, with no kind and with "kind": "line"
    for kind in (None, "line"):
        report = chart_report()
        if kind:
            report["sheets"][0]["sections"][0]["kind"] = kind
        # When rendered as XLSX
        ws = xlsx(report)["Tracker"]
        # Then it is the scatter chart of before over (time, value) columns
        (drawn,) = ws._charts
        assert isinstance(drawn, ScatterChart) and len(drawn.series) == 2
        assert xlsx_rows(ws)[3][:2] == ["Time", "Speed, km/h"]


# ---------------------------------------------------------------- XLS


def test_xls_holds_the_labels_and_values() -> None:
    # Given a report with a bar chart
    # When rendered as XLS
    sheet = xls(bar_report()).sheet_by_name("Tracker")
    rows = [sheet.row_values(i) for i in range(sheet.nrows)]
    # Then the header row and one row per bar: the label (text) and the hours (a number)
    header_at = rows.index(["Zone", "Time in zone, h"])
    assert [r[:2] for r in rows[header_at + 1 : header_at + 4]] == [
        [c, h] for c, h in zip(CATEGORIES, HOURS, strict=True)
    ]
    kinds = [(sheet.cell_type(header_at + 1 + k, 0), sheet.cell_type(header_at + 1 + k, 1)) for k in range(3)]
    assert kinds == [(xlrd.XL_CELL_TEXT, xlrd.XL_CELL_NUMBER)] * 3


# ---------------------------------------------------------------- PDF


def test_pdf_draws_the_bars_with_their_labels_values_and_ticks() -> None:
    # Given a report with a bar chart
    # When rendered as PDF
    text = pdf_text(pdf(bar_report(), headless=True))
    # Then the header, every label and every value with its units print, and ticks from 0
    assert "Time in zones (top 3)" in text
    for label in CATEGORIES:
        assert label in text
    for value in ("1.25 h", "0.50 h", "0.01 h"):
        assert value in text
    assert "0.00 0.25 0.50 0.75 1.00 1.25" in text  # round values from 0 to past the longest bar
    assert "Time in zone, h" in text


def test_pdf_values_use_the_locale_decimal_separator() -> None:
    # Given a report with a bar chart, for a Russian user
    data = render_report(bar_report(), "pdf", headless=True, info=info(locale="ru_RU"))
    # When its text is read
    text = pdf_text(PdfReader(BytesIO(data)))
    # Then the values carry a decimal comma
    assert "1,25 h" in text and "0,01 h" in text


def test_pdf_cuts_a_long_label_with_an_ellipsis() -> None:
    # Given a zone with a very long name
    long_name = "Очень длинное название геозоны " * 10
    # When the chart is rendered as PDF
    text = pdf_text(pdf(bar_report(bar_chart([long_name, "Short"], [2.0, 1.0])), headless=True))
    # Then the label prints cut, with an ellipsis, and the short one whole
    assert "Очень длинное название" in text and "…" in text and long_name.strip() not in text
    assert "Short" in text


def test_pdf_moves_a_bar_chart_that_does_not_fit_to_the_next_page() -> None:
    # Given a long table followed by a chart of 30 zones
    names = [f"Zone {k:02d}" for k in range(30)]
    report = bar_report(long_table(40), bar_chart(names, [30.0 - k for k in range(30)]))
    # When rendered as PDF
    reader = pdf(report, headless=True)
    # Then the chart starts on a new page, its header with it, and is not split
    assert len(reader.pages) == 2
    second = reader.pages[1].extract_text()
    assert "Time in zones (top 30)" in second and all(name in second for name in names)


def test_pdf_bar_chart_taller_than_a_page_goes_on_over_the_next() -> None:
    # Given a chart of 120 bars (more than a page holds)
    names = [f"Zone {k:03d}" for k in range(120)]
    reader = pdf(bar_report(bar_chart(names, [float(120 - k) for k in range(120)])), headless=True)
    # When rendered as PDF, Then every bar prints once, in order, over several pages
    texts = [page.extract_text() for page in reader.pages]
    pages = [page_of(texts, name) for name in names]
    assert len(texts) >= 3
    assert pages == sorted(pages) and pages[0] == 0


@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "xls"])
def test_an_empty_bar_chart_renders(fmt: str) -> None:
    # Given a bar chart with no bars (a tracker that visited no zone), and one with every value 0
    for chart in (bar_chart([], []), bar_chart(["A"], [0.0])):
        # When rendered, Then the file opens
        data = render_report(bar_report(chart), fmt, headless=False, info=info())
        if fmt == "xlsx":
            assert openpyxl.load_workbook(BytesIO(data))["Tracker"]
        elif fmt == "xls":
            assert xlrd.open_workbook(file_contents=data).sheet_by_name("Tracker")
        else:
            assert "Time in zones" in pdf_text(PdfReader(BytesIO(data)))


def test_pdf_line_chart_is_drawn_as_before() -> None:
    # Given the sensors' line chart, with no kind and with "kind": "line"
    plain = chart_report()
    explicit = copy.deepcopy(plain)
    explicit["sheets"][0]["sections"][0]["kind"] = "line"
    # When both are rendered as PDF
    pages = [pdf(report, headless=True).pages for report in (plain, explicit)]
    # Then they draw the same page, with the line chart's legend and time ticks
    assert pages[0][0].get_contents().get_data() == pages[1][0].get_contents().get_data()
    text = pages[0][0].extract_text()
    assert "Speed" in text and "Fuel" in text and "00:50 01:00" in text


# ---------------------------------------------------------------- the geofence report


def test_a_geofence_report_renders_its_time_in_zones_in_every_format() -> None:
    # Given a geofence visits report of a drive through three zones
    report = run(context(), {TRACKER.id: drive_north()})
    chart = report["sheets"][0]["sections"][-1]
    zones = chart["x_axis"]["categories"]
    # When rendered, Then the PDF shows the chart's header and every zone
    reader = pdf(report, headless=True)
    text = pdf_text(reader)
    assert chart["header"] in text and all(zone in text for zone in zones)
    # And the XLSX has a bar chart of as many categories as zones
    ws = xlsx(report, headless=True).active
    bar = next(c for c in ws._charts if isinstance(c, BarChart))
    ref = bar.series[0].cat.strRef.f
    first, last = (int(part.split("$")[-1]) for part in ref.split("!")[1].split(":"))
    assert last - first + 1 == len(zones)
    assert [ws.cell(r, 1).value for r in range(first, last + 1)] == zones
    # And the XLS the same labels
    sheet = xls(report, headless=True).sheet_by_index(0)
    column = [sheet.cell_value(r, 0) if sheet.row_len(r) else None for r in range(sheet.nrows)]
    at = column.index(chart["header"])
    assert column[at + 2 : at + 2 + len(zones)] == zones
