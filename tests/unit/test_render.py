"""The renderers: the report document as XLSX, XLS and PDF, read back with openpyxl, xlrd, pypdf."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlrd
from pypdf import PdfReader

from fleet_reports.render import CONTENT_TYPES, DocumentInfo, content_disposition, file_name, render_report

from tests.support import speeding
from tests.support.render import (
    as_minutes,
    chart_report,
    info,
    pdf,
    pdf_text,
    xls,
    xls_summary,
    xlsx,
    xlsx_rows,
    xlsx_summary,
)
from tests.support.reports import run
from tests.support.seed import load_seed_report

SEED = load_seed_report()
SEED_TITLES = [
    "Movement start",
    "Movement end",
    "Total trips length,\nkm",
    "Travel time",
    "Average speed,\nkm/h",
    "Max. speed,\nkm/h",
]
# In a spreadsheet, a "time - address" column is two: the local date-time and the address.
SPLIT_TITLES = [
    "Movement start",
    "Movement start: address",
    "Movement end",
    "Movement end: address",
    *SEED_TITLES[2:],
]
INJECTIONS = ['=HYPERLINK("http://evil","x")', "+1", "-2+3", "@SUM(A1)", "=1+2"]
FORMATS = sorted(CONTENT_TYPES)


def seed() -> dict[str, Any]:
    return copy.deepcopy(SEED)


def one_table(rows: list[dict[str, Any]], header: str = "Trips", sheet: str = "Tracker") -> dict[str, Any]:
    columns = [
        {"field": "name", "title": "Name", "align": "left", "width": 3},
        {"field": "value", "title": "Value", "align": "right", "width": 1},
    ]
    table = {"type": "table", "header": header, "columns": columns, "column_groups": [], "data": []}
    table["data"] = [{"header": "Group", "rows": rows, "total": {"text": "In total:"}}]
    return {"title": "T", "sheets": [{"header": sheet, "sections": [table], "entity_ids": [1]}]}


# ---------------------------------------------------------------- XLSX


def test_xlsx_has_title_contents_and_the_trips_sheet() -> None:
    # Given the seed's trip report
    # When it is rendered as XLSX
    book = xlsx(seed())
    # Then a title sheet and a table of contents come before the tracker's sheet
    assert book.sheetnames == ["Report", "Contents", "Samantha (Ford Focus)"]
    title = xlsx_rows(book["Report"])
    assert title[0][0] == "Trip report"
    assert ["Trackers", "Samantha (Ford Focus)"] in title
    assert ["Units", "metric (km, km/h)"] in title
    # And the table of contents links to the sheet
    link = next(c for row in book["Contents"].iter_rows() for c in row if c.hyperlink is not None)
    assert link.value == "Samantha (Ford Focus)"
    assert link.hyperlink.location == "'Samantha (Ford Focus)'!A1"


def test_xlsx_trips_sheet_holds_the_seed_columns_and_values() -> None:
    # Given the seed's trip report rendered as XLSX
    ws = xlsx(seed())["Samantha (Ford Focus)"]
    rows = xlsx_rows(ws)
    # Then the column titles (each "time - address" column split in two), the group header and
    # the rows are there
    header_at = rows.index(SPLIT_TITLES)
    assert rows[header_at - 1][0] == "Trips"
    assert rows[header_at + 1][0] == "Oct 6, 2020 (Tue) : 7"
    first = rows[header_at + 2]
    # And a trip's start is a real date-time in the user's zone (Moscow), its address text
    assert first[0] == datetime(2020, 10, 6, 0, 47, 19)
    assert first[1] == "Selyatino, Naro-Fominskii gor. okrug, Moscow Oblast, Russia, 143370"
    cells = ws[header_at + 3]
    assert cells[0].number_format == "yyyy-mm-dd hh:mm" and cells[0].is_date
    # And numbers are real numbers with number formats, durations are durations
    assert cells[4].value == 106.29 and cells[4].data_type == "n" and cells[4].number_format == "0.00"
    assert cells[5].value == timedelta(seconds=6749) and cells[5].number_format == "[h]:mm"
    assert cells[6].value == 57
    # And the totals row is bold with its text first
    total = next(row for row in ws.iter_rows() if row[0].value == "In total:")
    assert total[0].font.b and total[4].value == 523.8
    # And the summary's duration (raw in minutes) is 10:33, the note is there, the header frozen
    assert ["Travel time", timedelta(hours=10, minutes=33)] in [r[:2] for r in rows]
    assert ["Odometer value at the end of the selected period.", None] in [r[:2] for r in rows]
    assert ws.freeze_panes == f"A{header_at + 2}"
    # And the trips table has an auto-filter over its columns and rows
    last = header_at + 1 + 1 + 7 + 1  # header, group header, 7 trips, total
    assert ws.auto_filter.ref == f"A{header_at + 1}:H{last}"


def test_xlsx_headless_drops_title_and_contents() -> None:
    # Given the seed's trip report
    # When it is rendered headless
    book = xlsx(seed(), headless=True)
    # Then only the tracker's sheet is left
    assert book.sheetnames == ["Samantha (Ford Focus)"]


def test_xlsx_sheet_names_are_safe_unique_and_short() -> None:
    # Given sheets whose headers repeat, are too long or hold characters Excel forbids
    report = {
        "sheets": [
            {"header": "Truck [1]: a/b\\c*?", "sections": []},
            {"header": "Truck [1]: a/b\\c*?", "sections": []},
            {"header": "x" * 40, "sections": []},
            {"header": "X" * 40, "sections": []},
            {"header": "", "sections": []},
            {"header": "Report", "sections": []},
        ]
    }
    # When it is rendered
    names = xlsx(report).sheetnames
    # Then every name is accepted by Excel and unique regardless of case
    assert names[:2] == ["Report", "Contents"]
    assert names[2:4] == ["Truck _1__ a_b_c__", "Truck _1__ a_b_c__ (2)"]
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert len({n.casefold() for n in names}) == len(names)


# ---------------------------------------------------------------- XLS


def test_xls_holds_the_same_data() -> None:
    # Given the seed's trip report
    # When it is rendered as XLS
    book = xls(seed())
    # Then it has the title, contents and tracker sheets
    assert book.sheet_names() == ["Report", "Contents", "Samantha (Ford Focus)"]
    sheet = book.sheet_by_name("Samantha (Ford Focus)")
    rows = [sheet.row_values(i) for i in range(sheet.nrows)]
    # And the column titles and rows: date-times, numbers and durations as numbers
    header_at = rows.index(SPLIT_TITLES)
    first = header_at + 2
    assert sheet.cell(first, 0).ctype == xlrd.XL_CELL_DATE
    assert xlrd.xldate_as_datetime(sheet.cell(first, 0).value, book.datemode) == datetime(2020, 10, 6, 0, 47, 19)
    assert sheet.cell(first, 1).value.startswith("Selyatino")
    assert sheet.cell(first, 4).ctype == xlrd.XL_CELL_NUMBER and sheet.cell(first, 4).value == 106.29
    assert sheet.cell(first, 5).value == pytest.approx(6749 / 86400)
    assert ["In total:", "", "", "", 523.8, pytest.approx(37980 / 86400), 50.0, 94.0] in [r[:8] for r in rows]


def test_xls_headless_drops_title_and_contents() -> None:
    # Given the seed's trip report rendered headless as XLS
    # Then only the tracker's sheet is there
    assert xls(seed(), headless=True).sheet_names() == ["Samantha (Ford Focus)"]


@pytest.mark.slow
def test_xls_long_table_continues_on_a_next_sheet() -> None:
    # Given a table of 70,000 rows
    rows = [{"name": {"v": f"row {i}", "raw": i}, "value": {"v": str(i), "raw": float(i)}} for i in range(70_000)]
    # When it is rendered as XLS
    book = xls(one_table(rows, sheet="Big"), headless=True)
    # Then the sheet is full at 65,536 rows and goes on in "Big (2)", column titles repeated
    assert book.sheet_names() == ["Big", "Big (2)"]
    first, second = book.sheet_by_index(0), book.sheet_by_index(1)
    assert first.nrows == 65_536
    assert second.row_values(0) == ["Name", "Value"]
    values = [first.cell_value(r, 1) for r in range(first.nrows)] + [
        second.cell_value(r, 1) for r in range(1, second.nrows)
    ]
    numbers = [v for v in values if isinstance(v, float)]
    assert numbers == [float(i) for i in range(70_000)]
    assert second.cell_value(second.nrows - 1, 0) == "In total:"


# ---------------------------------------------------------------- PDF


def test_pdf_prints_the_report_with_a_cyrillic_title() -> None:
    # Given the seed's trip report with a Russian title
    # When it is rendered as PDF
    reader = pdf(seed(), title="Отчёт о поездках")
    text = pdf_text(reader)
    # Then the title page, the table and its values print, Cyrillic included
    assert "Отчёт о поездках" in text
    assert "Trips" in text and "Movement start" in text and "106.29" in text and "In total:" in text
    assert "Odometer value at the end of the selected period." in text
    # And pages are numbered
    assert f"Page 1 / {len(reader.pages)}" in reader.pages[0].extract_text()


def test_pdf_contents_link_to_the_sheets() -> None:
    # Given the seed's trip report rendered as PDF
    reader = pdf(seed())
    # Then the second page is the table of contents with a link to the sheet's page
    assert "Contents" in reader.pages[1].extract_text()
    annotations = [a.get_object() for a in reader.pages[1].get("/Annots", [])]
    links = [a for a in annotations if a["/Subtype"] == "/Link"]
    assert links
    target = links[0]["/Dest"][0] if "/Dest" in links[0] else links[0]["/A"]["/D"][0]
    assert reader.get_page_number(target.get_object()) == 2
    assert "Samantha (Ford Focus)" in reader.pages[2].extract_text()


def test_pdf_headless_drops_title_and_contents() -> None:
    # Given the seed's trip report rendered headless
    reader = pdf(seed(), headless=True)
    # Then the first page is the tracker's sheet
    assert len(reader.pages) == 1
    assert reader.pages[0].extract_text().startswith("Samantha (Ford Focus)")


def test_pdf_repeats_column_titles_and_turns_wide_tables_landscape() -> None:
    # Given a long table with 8 columns
    columns = [{"field": f"c{i}", "title": f"Col {i}", "align": "right", "width": 1} for i in range(8)]
    rows = [{f"c{i}": {"v": f"{n}.{i}", "raw": n + i / 10} for i in range(8)} for n in range(300)]
    table = {"type": "table", "header": "Wide", "columns": columns, "data": [{"header": "G", "rows": rows}]}
    report = {"sheets": [{"header": "Tracker", "sections": [table]}]}
    # When it is rendered as PDF
    reader = pdf(report, headless=True)
    # Then its pages are landscape and each carries the column titles
    assert len(reader.pages) > 2
    for page in reader.pages:
        assert page.mediabox.width > page.mediabox.height
        assert "Col 7" in page.extract_text()


def test_pdf_survives_very_long_strings() -> None:
    # Given cells, headers and notes far longer than any line
    rows = [{"name": {"v": "x" * 50_000, "raw": 0}}, {"name": {"v": "word " * 5_000, "raw": 0}}]
    report = one_table(rows, header="H" * 3_000, sheet="S" * 500)
    report["sheets"][0]["sections"].append({"type": "text", "text": "y" * 30_000, "style": "small_print"})
    # When it is rendered as PDF
    reader = pdf(report)
    # Then a cell is cut with an ellipsis
    assert "…" in pdf_text(reader)


# ---------------------------------------------------------------- all formats


def test_formula_like_strings_stay_text() -> None:
    # Given cells, a group header and a sheet header that look like formulas
    rows = [{"name": {"v": text, "raw": 0}, "value": {"v": "-5", "raw": -5.0}} for text in INJECTIONS]
    report = one_table(rows, sheet="=cmd|' /C calc'!A0")
    # When rendered as XLSX, they come back as strings, not formulas; -5 stays a number
    ws = xlsx(report).worksheets[-1]
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    for text in INJECTIONS:
        assert cells[text].data_type == "s" and cells[text].quotePrefix
    assert cells["=cmd|' /C calc'!A0"].data_type == "s"
    assert cells[-5].data_type == "n"
    # And as XLS, they are text cells
    sheet = xls(report).sheet_by_index(2)
    texts = {sheet.cell(r, 0).value: sheet.cell(r, 0).ctype for r in range(sheet.nrows)}
    for text in INJECTIONS:
        assert texts[text] == xlrd.XL_CELL_TEXT


@pytest.mark.parametrize("fmt", FORMATS)
def test_control_characters_and_huge_cells_do_not_break_a_document(fmt: str) -> None:
    # Given text with control characters a spreadsheet refuses, and a cell over Excel's limit
    rows = [{"name": {"v": "a\x00b\x07c", "raw": 0}}, {"name": {"v": "z" * 40_000, "raw": 0}}]
    report = one_table(rows, header="Head\x01er")
    report["sheets"][0]["sections"].append(
        {"type": "chart", "header": "C", "x_axis": {"type": "mileage", "title": "D\x02"}, "series": []}
    )
    # When it is rendered
    data = render_report(report, fmt, headless=True, info=info())
    # Then the document opens and the control characters are gone
    if fmt == "xlsx":
        values = [v for row in xlsx_rows(openpyxl.load_workbook(BytesIO(data)).active) for v in row]
        assert "abc" in values and "Header" in values and "z" * 32_767 in values
    elif fmt == "xls":
        sheet = xlrd.open_workbook(file_contents=data).sheet_by_index(0)
        assert "abc" in [sheet.cell_value(r, 0) for r in range(sheet.nrows)]
    else:
        assert "abc" in pdf_text(PdfReader(BytesIO(data)))


WORLD_TEXTS = ["Грузовик 🚚", "Trip to שלום עולם now", "مرحبا بالعالم", "中文 漢字", "😀🚚" * 400]


@pytest.mark.parametrize("fmt", FORMATS)
def test_right_to_left_emoji_and_cjk_text_never_break_a_document(fmt: str, caplog: pytest.LogCaptureFixture) -> None:
    # Given labels in Hebrew, Arabic, Chinese, with emoji, one of them 800 emoji long
    rows = [{"name": {"v": text, "raw": 0}, "value": {"v": "1", "raw": 1.0}} for text in WORLD_TEXTS]
    report = one_table(rows, sheet="Truck 🚚 עברית")
    # When rendered
    data = render_report(report, fmt, headless=False, info=info("Emoji 🚚 report"))
    # Then spreadsheets keep every character
    if fmt == "xlsx":
        values = {v for row in xlsx_rows(openpyxl.load_workbook(BytesIO(data)).worksheets[-1]) for v in row}
        assert set(WORLD_TEXTS) <= values
    elif fmt == "xls":
        sheet = xlrd.open_workbook(file_contents=data).sheet_by_index(2)
        assert set(WORLD_TEXTS) <= {sheet.cell_value(r, 0) for r in range(sheet.nrows)}
    else:
        # And the PDF prints a white square for a character its fonts lack (no silent gap, no
        # warning), keeps Hebrew and Cyrillic, and the long label stays in its cell
        reader = PdfReader(BytesIO(data))
        text = pdf_text(reader)
        assert "Грузовик \u25a1" in text and "\u25a1\u25a1 \u25a1\u25a1" in text and "שלום" in text
        assert len(reader.pages) == 3
        assert "missing the following glyphs" not in caplog.text


@pytest.mark.parametrize("locale", ["en_US", "ru_RU"])
def test_times_of_day_become_date_times_only_when_they_show_the_instant(locale: str) -> None:
    # Given a column of times of day whose raw is the instant (Moscow: 2020-10-06 00:47:19 local),
    # and one whose shown time disagrees with its raw
    start = 1601934439000.0
    rows = [
        {"name": {"v": "00:47", "raw": start}, "value": {"v": "1", "raw": 1.0}},
        {"name": {"v": "00:48", "raw": start + 60_000}, "value": {"v": "2", "raw": 2.0}},
        {"name": {"v": "13:00", "raw": start + 120_000}, "value": {"v": "3", "raw": 3.0}},
    ]
    report = one_table(rows)
    doc = DocumentInfo("T", "a", "b", "Europe/Moscow", locale, "metric", ("x",), "g")
    # When rendered as XLSX and XLS
    ws = openpyxl.load_workbook(BytesIO(render_report(report, "xlsx", headless=True, info=doc))).active
    sheet = xlrd.open_workbook(file_contents=render_report(report, "xls", headless=True, info=doc)).sheet_by_index(0)
    # Then the agreeing ones are local date-times in the locale's format, the other stays text
    column = [row[0] for row in ws.iter_rows() if row[1].value in (1, 2, 3)]
    assert [c.value for c in column[:2]] == [datetime(2020, 10, 6, 0, 47, 19), datetime(2020, 10, 6, 0, 48, 19)]
    assert column[0].number_format == ("dd.mm.yyyy hh:mm" if locale == "ru_RU" else "yyyy-mm-dd hh:mm")
    assert column[2].value == "13:00"
    kinds = [sheet.cell(r, 0).ctype for r in range(sheet.nrows) if sheet.cell_value(r, 1) in (1.0, 2.0, 3.0)]
    assert kinds == [xlrd.XL_CELL_DATE, xlrd.XL_CELL_DATE, xlrd.XL_CELL_TEXT]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("report", [{}, {"sheets": []}, {"sheets": [{"header": "Empty", "sections": []}]}])
@pytest.mark.parametrize("headless", [False, True])
def test_an_empty_report_renders(fmt: str, report: dict[str, Any], headless: bool) -> None:
    # Given a report with nothing in it
    # When it is rendered
    data = render_report(report, fmt, headless=headless, info=info())
    # Then the document opens
    if fmt == "xlsx":
        assert openpyxl.load_workbook(BytesIO(data)).sheetnames
    elif fmt == "xls":
        assert xlrd.open_workbook(file_contents=data).nsheets >= 1
    else:
        assert len(PdfReader(BytesIO(data)).pages) >= 1


def test_a_chart_renders_in_every_format() -> None:
    # Given a report with a chart of two series
    report = chart_report()
    # When rendered as XLSX, its points are in cells under the header and a native chart covers them
    ws = xlsx(report)["Tracker"]
    rows = xlsx_rows(ws)
    header_at = rows.index(["Time", "Speed, km/h", "Time", "Fuel, l"])
    assert rows[header_at + 1][1] == 40.0 and rows[header_at + 1][3] == 30.0
    assert rows[header_at + 1][0].hour == 0 and rows[header_at + 1][0].minute == 47  # local time, Moscow
    assert len(ws._charts) == 1
    assert len(ws._charts[0].series) == 2
    # And as XLS, its points are a table
    sheet = xls(report).sheet_by_name("Tracker")
    all_rows = [sheet.row_values(i) for i in range(sheet.nrows)]
    assert ["Time", "Speed, km/h", "Time", "Fuel, l"] in all_rows
    # And as PDF, it is drawn with its title, legend, and ticks on round local times and values
    text = pdf_text(pdf(report, headless=True))
    assert "Speed graph" in text and "Speed" in text and "Fuel" in text
    assert "00:50 01:00 01:10 01:20 01:30" in text  # the points run from 00:47 to 01:36 Moscow time
    assert "30.0\n35.0\n40.0\n45.0" in text


@pytest.mark.parametrize("show_seconds", [True, False])
def test_a_summary_duration_is_the_exact_sum_of_its_rows_in_every_format(show_seconds: bool) -> None:
    # Given a truck over the limit for 3,001 s, 3,210 s and 3,411 s (100 km/h between fixes at
    # 80 km/h a second apart, against 90 km/h): 9,622 s in all, which minutes with 2 decimals
    # cannot hold (160.37 min is 9,622.2 s)
    runs = [3001, 3210, 3411]
    speeds = [80.0] * 5
    for seconds in runs:
        speeds += [100.0] * seconds + [80.0] * 5
    track = speeding.steps(speeds, step_s=1.0)
    report = run(speeding.context(show_seconds=show_seconds), {speeding.TRACKER.id: track})
    assert [r["duration"]["raw"] for r in speeding.rows_of(report)] == [float(s) for s in runs]
    total = sum(runs)
    assert abs(as_minutes(total) * 60.0 - total) > 0.01
    shown = f"{total // 3600:02d}:{total % 3600 // 60:02d}" + (f":{total % 60:02d}" if show_seconds else "")

    # When it is rendered as XLSX, XLS and PDF
    book = xlsx(report, headless=True).worksheets[0]
    summary, xls_cells = xlsx_summary(report), xls_summary(report)
    text = pdf_text(pdf(report, headless=True))

    # Then the JSON keeps the wire format: the seed's keys, raw in minutes with 2 decimals
    wire = json.loads(json.dumps(report))["sheets"][0]["sections"][1]["rows"][1]
    assert wire == {"name": "Duration", "v": shown, "raw": as_minutes(total), "highlight": False}
    # And the XLSX summary holds exactly 9,622 s, the sum of the row cells above it
    rows = [r for r in xlsx_rows(book) if isinstance(r[0], datetime)]
    assert [r[2] for r in rows] == [timedelta(seconds=s) for s in runs]
    assert summary["Duration"] == timedelta(seconds=total) == sum((r[2] for r in rows), timedelta())
    # And so does the XLS (in days)
    assert xls_cells["Duration"] * 86_400 == pytest.approx(total, abs=1e-6)
    # And the PDF prints it as the day's total does
    assert text.count(f"Duration {shown}") == 1 and text.count(shown) == 2
    # And the document read back from its JSON (no exact seconds) renders the wire's minutes
    assert xlsx_summary(json.loads(json.dumps(report)))["Duration"].total_seconds() == pytest.approx(
        as_minutes(total) * 60.0
    )


def test_unknown_format_is_refused() -> None:
    # Given a format that is not one of xlsx, xls or pdf
    # Then rendering it is an error
    with pytest.raises(ValueError, match="csv"):
        render_report(seed(), "csv", headless=False, info=info())


def test_importing_the_package_loads_no_renderer_library() -> None:
    # Given a fresh interpreter that imports the render package
    code = "import sys, fleet_reports.render; print(sorted({'openpyxl', 'xlwt', 'fpdf'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Then none of the heavy renderer libraries was imported
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize(
    ("title", "fmt", "expected"),
    [
        ("Trip report", "pdf", "Trip_report_1234567.pdf"),
        ("Отчёт о поездках", "xlsx", "Otchet_o_poezdkakh_1234567.xlsx"),
        ('../../etc/"passwd"', "xls", "etc_passwd_1234567.xls"),
        ("", "pdf", "report_1234567.pdf"),
        ("日本語", "pdf", "report_1234567.pdf"),
    ],
)
def test_file_name_is_safe_ascii(title: str, fmt: str, expected: str) -> None:
    # Given a report title
    # Then its file name is plain ASCII, never empty, with no path or quote in it
    assert file_name(title, 1234567, fmt) == expected


def test_content_disposition_carries_ascii_and_utf8_names() -> None:
    # Given an English and a Russian title
    # Then the header has an ASCII fallback and the percent-encoded UTF-8 name (RFC 6266)
    assert content_disposition("Trip report", 1234567, "pdf") == (
        "attachment; filename=\"Trip_report_1234567.pdf\"; filename*=UTF-8''Trip%20report_1234567.pdf"
    )
    header = content_disposition("Отчёт о поездках", 7, "xlsx")
    assert 'filename="Otchet_o_poezdkakh_7.xlsx"' in header
    assert "filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%D0%BE%20" in header
    # And a title with quotes or slashes cannot break out of the header
    header = content_disposition('a"b/c\\d', 1, "xls")
    assert header.count('"') == 2 and "/" not in header.split("filename*=")[1]


@pytest.mark.slow
def test_make_samples_renders_every_demo_report(tmp_path: Path) -> None:
    # Given the samples script (make samples), When it runs without previews into a folder
    script = Path(__file__).parents[2] / "scripts" / "samples.py"
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--no-previews"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    # Then each demo report is there as a PDF and an XLSX that open
    for name in ("trips-3-vehicles", "sensors-chart", "empty", "cyrillic"):
        reader = PdfReader(tmp_path / f"{name}.pdf")
        book = openpyxl.load_workbook(tmp_path / f"{name}.xlsx")
        assert len(reader.pages) >= 3 and len(book.sheetnames) >= 3
    # And the Russian one speaks Russian, the chart one has native charts, the empty one says so
    assert "Отчёт о поездках" in pdf_text(PdfReader(tmp_path / "cyrillic.pdf"))
    with zipfile.ZipFile(tmp_path / "sensors-chart.xlsx") as xlsx_zip:
        assert any(n.startswith("xl/charts/chart") for n in xlsx_zip.namelist())
    assert "No data" in pdf_text(PdfReader(tmp_path / "empty.pdf"))


@pytest.mark.slow
def test_make_samples_without_a_rasteriser_changes_nothing(tmp_path: Path) -> None:
    # Given committed samples, and a machine with neither pdftoppm nor pypdfium2
    (tmp_path / "trips-3-vehicles-1.png").write_bytes(b"old preview")
    (tmp_path / "trips-3-vehicles.pdf").write_bytes(b"old pdf")
    blocker = tmp_path / "no_pypdfium2"
    blocker.mkdir()
    (blocker / "pypdfium2.py").write_text("raise ImportError('not here')\n")
    script = Path(__file__).parents[2] / "scripts" / "samples.py"
    env = {**os.environ, "PATH": str(tmp_path / "empty-path"), "PYTHONPATH": str(blocker)}
    # When the samples script runs with previews
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=False, capture_output=True, text=True, env=env
    )
    # Then it stops at once, says what to install, and leaves every file as it was
    assert done.returncode == 2
    assert "nothing changed" in done.stderr and "pypdfium2" in done.stderr and "pdftoppm" in done.stderr
    assert (tmp_path / "trips-3-vehicles-1.png").read_bytes() == b"old preview"
    assert (tmp_path / "trips-3-vehicles.pdf").read_bytes() == b"old pdf"


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_a_short_chart_keeps_the_rows_beside_it_free(fmt: str) -> None:
    # Given a chart of 5 points followed by a note
    report = chart_report()
    for series in report["sheets"][0]["sections"][0]["series"]:
        series["points"] = series["points"][:5]
    report["sheets"][0]["sections"].append({"type": "text", "text": "After the chart"})
    # When rendered as a spreadsheet
    data = render_report(report, fmt, headless=True, info=info())
    if fmt == "xlsx":
        rows = [row[0] for row in xlsx_rows(openpyxl.load_workbook(BytesIO(data)).active)]
    else:
        sheet = xlrd.open_workbook(file_contents=data).sheet_by_index(0)
        rows = [sheet.cell_value(r, 0) if sheet.row_len(r) else None for r in range(sheet.nrows)]
    # Then the note comes below the 20 rows the native chart covers, not under the chart
    header_at = rows.index("Time")
    assert rows.index("After the chart") > header_at + 20
