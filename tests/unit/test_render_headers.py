"""PDF column titles and units (issue #10): titles wrap only between words, in both languages and
every plugin, and a total or summary value with a unit in English keeps it in Russian.

The reports are the demo fleet's simulated day (2020-10-06, Moscow), built by the engine for each
plugin, then laid out and rendered by the PDF renderer; the layout checked is the renderer's own
(``pdf.table_layout`` at the width of the table's page), the text is read back with pypdf.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from fleet_reports.demo import DEMO_TIME_ZONE, DEMO_TRACKERS, PLACES, demo_track
from fleet_reports.engine.i18n import messages
from fleet_reports.engine.model import ReportContext, Track, Zone
from fleet_reports.engine.report import build_report
from fleet_reports.render import DocumentInfo, render_report
from fleet_reports.render import pdf as pdf_render
from fleet_reports.render.common import Column, columns_of, sections_of

DAY = dt.date(2020, 10, 6)
FROM_MS = int(dt.datetime(2020, 10, 6, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp() * 1000)
TO_MS = FROM_MS + 86_400_000 - 1000
TRACKERS = (669673, 345678, 123456)
ZONES = tuple(Zone(k + 1, p.name, "circle", (p.lat, p.lng), 1500.0, address=p.address) for k, p in enumerate(PLACES))
SENSORS = [{"tracker_id": 345678, "sensor_id": 345001}, {"tracker_id": 123456, "sensor_id": 123456}]

# Every plugin, with the options that add columns, under a name for the test ids.
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "trips": ({"plugin_id": 4}, "metric"),  # 6 columns: portrait, the "скорост / ь"
    "trips-idle": ({"plugin_id": 4, "show_idle_duration": True}, "metric"),
    "trips-nautical": ({"plugin_id": 4}, "nautical"),  # the longest unit: "мор. миль"
    "trips-imperial": ({"plugin_id": 4, "show_idle_duration": True}, "imperial"),
    "stops": ({"plugin_id": 6}, "metric"),
    "engine-hours": ({"plugin_id": 7}, "metric"),
    "engine-hours-days": ({"plugin_id": 7, "show_detailed": False}, "metric"),
    "geofences": ({"plugin_id": 8, "show_not_visited_zones": True}, "metric"),
    "sensors": ({"plugin_id": 9, "details_interval_seconds": 3600, "show_address": True, "sensors": SENSORS}, "metric"),
    "speeding": ({"plugin_id": 27, "max_speed": 60}, "metric"),
    "speeding-nautical": ({"plugin_id": 27, "max_speed": 40}, "nautical"),
    "points": ({"plugin_id": 91}, "metric"),
    "points-no-coordinates": ({"plugin_id": 91, "show_coordinates": False}, "imperial"),
}
LOCALES = ("en_US", "ru_RU")
# The point reports print every fix (a PDF of many pages per case): make test runs them, make check not.
CASE_PARAMS = [pytest.param(c, marks=pytest.mark.slow) if CASES[c][0]["plugin_id"] == 91 else c for c in sorted(CASES)]


def load(tracker_id: int, a: int, b: int) -> Track:
    track = demo_track(tracker_id, DAY)
    return track.take((track.t >= a) & (track.t <= b))


def context(case: str, locale: str) -> ReportContext:
    plugin, system = CASES[case]
    points = plugin["plugin_id"] == 91  # every fix: three hours of one vehicle are plenty
    trackers = (669673,) if points else TRACKERS
    from_ms, to_ms = (FROM_MS + 8 * 3_600_000, FROM_MS + 11 * 3_600_000) if points else (FROM_MS, TO_MS)
    return ReportContext(
        report_id=1,
        title="Report",
        created="2020-10-07 09:00:00",
        period_from="2020-10-06 00:00:00",
        period_to="2020-10-06 23:59:59",
        from_ms=from_ms,
        to_ms=to_ms,
        time_zone=DEMO_TIME_ZONE,
        locale=locale,
        measurement_system=system,
        time_filter={"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        plugin=plugin,
        trackers=tuple(t for t in DEMO_TRACKERS if t.id in trackers),
        places=PLACES,
        zones=ZONES,
    )


@cache
def report(case: str, locale: str) -> dict[str, Any]:
    return build_report(context(case, locale), load, lambda _: None)


@cache
def pdf_pages(case: str, locale: str) -> tuple[str, ...]:
    """The text of each page of the report's PDF (headless: the report's sheets only)."""
    ctx = context(case, locale)
    doc = DocumentInfo("Report", "a", "b", ctx.time_zone, locale, ctx.measurement_system, ("x",), "g")
    data = render_report(report(case, locale), "pdf", headless=True, info=doc)
    return tuple(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def tables(rep: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(sheet, section) of every table section of a report."""
    return [(sheet, s) for sheet in rep["sheets"] for s in sections_of(sheet) if s.get("type") == "table"]


def header_layout(sheet: Mapping[str, Any], section: Mapping[str, Any]) -> list[pdf_render.HeaderCell]:
    """The section's column titles as the PDF lays them out on the sheet's page."""
    width = pdf_render.content_width(pdf_render.sheet_orientation(sheet))
    return pdf_render.table_layout(columns_of(section), width).header


def whole_words(title: str, lines: list[str]) -> bool:
    """Each line is whole words of the title, and the lines hold all of them in order."""
    words = title.split()
    return " ".join(lines).split() == words and all(word in words for line in lines for word in line.split())


def unit_of(title: str) -> str | None:
    """The unit a title or row name ends with (``"Total trips length,\\nkm"`` -> ``"km"``), if any."""
    name, comma, unit = title.replace("\n", " ").rpartition(", ")
    return unit.strip() if comma and name else None


def russian_units() -> dict[str, str]:
    """The English unit -> its Russian name, from the message catalogs; anything else (a sensor's
    own units, "%", "°") reads the same in both."""
    en, ru = messages("en_US"), messages("ru_RU")
    catalog = json.loads(resources.files("fleet_reports").joinpath("i18n", "en.json").read_text(encoding="utf-8"))
    keys = [key.removeprefix("unit.") for key in catalog if key.startswith("unit.")]
    assert {"km", "km/h", "mi", "mph", "nmi", "kn"} <= set(keys)
    return {en.unit(key): ru.unit(key) for key in keys}


def totals_with_units(rep: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(where, title or row name, its unit) of every total value and summary row of a report."""
    out: list[tuple[str, str, str | None]] = []
    for s_index, sheet in enumerate(rep["sheets"]):
        for k, section in enumerate(sections_of(sheet)):
            where = f"sheet {s_index} section {k}"
            if section.get("type") == "table":
                totals = [g["total"] for g in section.get("data") or () if g.get("total")]
                for column in section["columns"]:
                    if any(column["field"] in total for total in totals):
                        out.append((f"{where} total {column['field']}", column["title"], unit_of(column["title"])))
            elif section.get("type") == "map_table":
                for i, row in enumerate(section["rows"]):
                    out.append((f"{where} summary row {i}", row["name"], unit_of(row["name"])))
    return out


# ---------------------------------------------------------------- column titles


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_column_titles_wrap_only_between_words(case: str, locale: str) -> None:
    # Given a plugin's report on the demo day, in English or Russian
    rep = report(case, locale)
    assert tables(rep), "the demo day gives every plugin a table"
    for sheet, section in tables(rep):
        # When the PDF lays out the column titles of each table on the table's page
        cells = header_layout(sheet, section)
        # Then every title's lines are whole words of it, all of them, at a readable size
        for column, cell in zip(section["columns"], cells, strict=True):
            assert whole_words(column["title"], cell.lines), (column["title"], cell.lines)
            assert len(cell.lines) <= 4 and cell.size >= 5.5
    # And the rendered PDF holds every word of every title whole
    words = {word for page in pdf_pages(case, locale) for word in page.split()}
    for _, section in tables(rep):
        for column in section["columns"]:
            assert set(column["title"].split()) <= words, column["title"]


def test_russian_speed_titles_no_longer_break_inside_a_word() -> None:
    # Given the Russian trip report of the issue (6 columns: a portrait page, narrow number columns)
    sheet, section = tables(report("trips", "ru_RU"))[1]
    # When its column titles are laid out
    cells = {c["field"]: cell.lines for c, cell in zip(section["columns"], header_layout(sheet, section), strict=True)}
    # Then "скорость," stays whole and each unit keeps its own line
    assert cells["avg_speed"] == ["Средняя", "скорость,", "км/ч"]
    assert cells["max_speed"][-2:] == ["скорость,", "км/ч"]
    assert cells["length"][-1] == "км"
    assert "скорост" not in {word for page in pdf_pages("trips", "ru_RU") for word in page.split()}


def test_room_for_a_long_word_comes_from_the_columns_with_some_to_spare() -> None:
    # Given a stops-like table: a wide address column beside narrow ones titled with long words
    columns = [
        Column("start", "Начало стоянки", "left", 2),
        Column("duration", "Длительность", "right", 1),
        Column("address", "Адрес", "left", 5),
        Column("count", "Превышения", "right", 1),
    ]
    # When it is laid out on a portrait page
    layout = pdf_render.table_layout(columns, pdf_render.content_width("P"))
    # Then the narrow columns grow to hold their word whole at the body size, the address column
    # gives the room, and the table keeps its width
    assert [cell.lines for cell in layout.header] == [["Начало стоянки"], ["Длительность"], ["Адрес"], ["Превышения"]]
    assert {cell.size for cell in layout.header} == {7.5}
    assert layout.widths[1] > layout.widths[3] > 186.0 / 9
    assert layout.widths[2] < 186.0 * 5 / 9
    assert sum(layout.widths) == pytest.approx(186.0)


def test_titles_shrink_rather_than_break_when_the_page_is_too_narrow() -> None:
    # Given ten columns titled with a long Russian word, on a portrait page
    columns = [Column(f"c{i}", "Длительность,\nмор. миль", "right", 1) for i in range(10)]
    # When they are laid out
    layout = pdf_render.table_layout(columns, pdf_render.content_width("P"))
    # Then the titles shrink (not below 5.5 pt) and still wrap between words, unit included
    for cell in layout.header:
        assert 5.5 <= cell.size < 7.5
        assert whole_words("Длительность,\nмор. миль", cell.lines)
    assert sum(layout.widths) == pytest.approx(186.0)


def test_a_word_too_long_for_its_column_breaks_after_a_hyphen_or_a_slash() -> None:
    # Given narrow columns whose titles hold compound words, and a wide one
    columns = [
        Column("a", "Naro-Fominsk-Obninsk-Serpukhov", "left", 1),
        Column("b", "km/h/km/h/km/h/km/h/km/h", "left", 1),
        Column("c", "", "left", 1),
    ] * 3
    # When they are laid out on a portrait page (too narrow for the words whole even at 5.5 pt)
    layout = pdf_render.table_layout(columns, pdf_render.content_width("P"))
    # Then they break right after a hyphen or a slash, and nothing is lost
    first, second = layout.header[0].lines, layout.header[1].lines
    assert len(first) > 1 and all(line.endswith("-") for line in first[:-1])
    assert "".join(first) == "Naro-Fominsk-Obninsk-Serpukhov"
    assert len(second) > 1 and all(line.endswith("/") for line in second[:-1])
    assert "".join(second) == "km/h/km/h/km/h/km/h/km/h"


# ---------------------------------------------------------------- units of totals


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_a_total_with_a_unit_in_english_has_its_unit_in_russian(case: str) -> None:
    # Given a plugin's report in English and in Russian
    en, ru = report(case, "en_US"), report(case, "ru_RU")
    names = russian_units()
    en_totals, ru_totals = totals_with_units(en), totals_with_units(ru)
    # Then the same totals and summary rows are there, and each that has a unit in English has
    # the corresponding unit in Russian
    assert [where for where, _, _ in en_totals] == [where for where, _, _ in ru_totals]
    assert any(unit for _, _, unit in en_totals), "the report shows totals with units"
    for (where, title, unit), (_, ru_title, ru_unit) in zip(en_totals, ru_totals, strict=True):
        if unit is not None:
            assert ru_unit == names.get(unit, unit), (where, title, ru_title)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_the_pdf_prints_the_unit_of_every_total(case: str, locale: str) -> None:
    # Given a plugin's report
    rep = report(case, locale)
    pages = pdf_pages(case, locale)
    text = "\n".join(pages)
    # Then each table column that carries a total shows its title, unit included, in the PDF
    for sheet, section in tables(rep):
        totals = [g["total"] for g in section.get("data") or () if g.get("total")]
        for column, cell in zip(section["columns"], header_layout(sheet, section), strict=True):
            unit = unit_of(column["title"])
            if unit and any(column["field"] in total for total in totals):
                assert " ".join(" ".join(cell.lines).split()).endswith(f", {unit}"), (column["title"], cell.lines)
                assert "…" not in "".join(cell.lines)
    # And each summary row's name, unit included, is printed whole beside its value
    lines = {re.sub(r"\s+", " ", line).strip() for line in text.splitlines()}
    for named in rep["sheets"]:
        for part in sections_of(named):
            if part.get("type") == "map_table":
                for row in part["rows"]:
                    assert re.sub(r"\s+", " ", f"{row['name']} {row['v']}") in lines, row["name"]


def occurrences(unit: str, text: str) -> int:
    """How often ``unit`` is printed in ``text`` as a word of its own ("км" not in "км/ч")."""
    return len(re.findall(rf"(?<![\w/]){re.escape(unit)}(?![\w/])", text))


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_english_and_russian_pdfs_print_their_units_as_often(case: str) -> None:
    # Given the PDFs of a plugin's report in English and in Russian (lines joined: a unit of two
    # words may wrap)
    texts = {locale: " ".join(" ".join(pdf_pages(case, locale)).split()) for locale in LOCALES}
    # Then each unit of the report's totals is printed as often in Russian as in English
    names = russian_units()
    units = {unit for _, _, unit in totals_with_units(report(case, "en_US")) if unit}
    for unit in units:
        ru = names.get(unit, unit)
        assert occurrences(unit, texts["en_US"]) == occurrences(ru, texts["ru_RU"]) > 0, (unit, ru)
