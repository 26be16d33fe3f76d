"""The trip report (plugin 4) document: the seed's shape and numbers, units, locales, sheets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.engine.report import ReportError, build_report

from tests.support.drives import Drive
from tests.support.reports import loader
from tests.support.seed import (
    FROM_MS,
    SEED_LABEL,
    SEED_TRACKER,
    SEED_TRIPS,
    TO_MS,
    load_seed_report,
    run,
    seed_context,
    seed_drive,
)


def assert_same_shape(mine: Any, seed: Any, path: str = "report") -> None:
    """Same keys at every level and the same JSON types (lists: item by item when the lengths
    match, else every item against the seed's first)."""
    if isinstance(seed, dict):
        assert isinstance(mine, dict), path
        extra = {"diagnostics"} if path == "report" else set()
        assert set(mine) - extra == set(seed), f"{path}: {sorted(set(mine) ^ set(seed))}"
        for key, value in seed.items():
            assert_same_shape(mine[key], value, f"{path}.{key}")
    elif isinstance(seed, list):
        assert isinstance(mine, list), path
        if seed:
            pairs = zip(mine, seed, strict=True) if len(mine) == len(seed) else ((m, seed[0]) for m in mine)
            for k, (m, s) in enumerate(pairs):
                assert_same_shape(m, s, f"{path}[{k}]")
    else:
        assert type(mine) is type(seed), f"{path}: {type(mine).__name__} != {type(seed).__name__}"


def test_report_has_the_seed_shape_at_every_level() -> None:
    # Given the seed's request over a drive like the seed's
    seed = load_seed_report()
    # When the report is built
    report = run(seed_context())
    # Then it has the seed's keys and types at every level (plus the diagnostics)
    assert_same_shape(report, seed)
    assert report["diagnostics"] == {
        str(SEED_TRACKER): {"out_of_range": 0, "future": 0, "duplicate": 0, "low_satellites": 0, "implied_speed": 0}
    }


def test_report_reproduces_the_seed_numbers() -> None:
    # Given a drive with the seed's trip times, lengths and top speeds
    seed = load_seed_report()
    # When the report is built
    report = run(seed_context())
    # Then the top level, columns, group header, every row's numbers, the totals, the summary and
    # the small print equal the seed's (addresses and positions aside: our road is straight)
    for key in ("id", "title", "created", "from", "to", "time_filter"):
        assert report[key] == seed[key]
    mine, theirs = report["sheets"][0], seed["sheets"][0]
    assert (mine["header"], mine["entity_ids"], mine["additional_field"]) == (
        theirs["header"],
        theirs["entity_ids"],
        theirs["additional_field"],
    )
    table, summary, note = mine["sections"]
    s_table, s_summary, s_note = theirs["sections"]
    assert table["columns"] == s_table["columns"]
    assert table["header"] == s_table["header"]
    (group,), (s_group,) = table["data"], s_table["data"]
    assert group["header"] == s_group["header"] == "Oct 6, 2020 (Tue) : 7"
    for row, s_row in zip(group["rows"], s_group["rows"], strict=True):
        for field in ("length", "time", "avg_speed", "max_speed"):
            assert row[field] == s_row[field], field
        for field in ("from", "to"):
            assert row[field]["raw"] == s_row[field]["raw"]
            assert row[field]["v"][:8] == s_row[field]["v"][:8]  # "00:47 - "
    assert group["total"] == s_group["total"]
    assert summary == s_summary
    assert note == s_note


def test_addresses_come_from_places_else_coordinates() -> None:
    # Given the seed drive starting at a known place
    report = run(seed_context())
    rows = report["sheets"][0]["sections"][0]["data"][0]["rows"]
    # Then the first trip starts at the place's address, and ends at formatted coordinates
    assert rows[0]["from"]["v"].startswith("00:47 - Selyatino, Naro-Fominskii")
    assert rows[0]["to"]["v"].startswith("02:39 - 54.") and ", 36.9" in rows[0]["to"]["v"]
    assert set(rows[0]["from"]["location"]) == {"lat", "lng"}
    # And with places switched off, coordinates only
    plain = run(seed_context(include_places_in_address=False))
    assert plain["sheets"][0]["sections"][0]["data"][0]["rows"][0]["from"]["v"].startswith("00:47 - 55.5")


def test_show_coordinates_seconds_and_idle() -> None:
    # Given the seed request with coordinates, seconds and idle duration switched on
    ctx = seed_context()
    ctx = replace(
        ctx, plugin={**ctx.plugin, "show_coordinates": True, "show_seconds": True, "show_idle_duration": True}
    )
    # When built
    table = run(ctx)["sheets"][0]["sections"][0]
    row = table["data"][0]["rows"][0]
    # Then the start shows seconds and the place with its coordinates, and an idle column follows time
    assert row["from"]["v"].startswith("00:47:19 - Selyatino")
    where = row["from"]["location"]
    assert row["from"]["v"].endswith(f"({where['lat']:.5f}, {where['lng']:.5f})")
    assert row["time"]["v"] == "01:52:29"
    fields = [c["field"] for c in table["columns"]]
    assert fields == ["from", "to", "length", "time", "idle_duration", "avg_speed", "max_speed"]
    # And the idle time after trip 1 is its parking, until trip 2 starts (1,895 s, as the stops
    # report has it)
    assert row["idle_duration"]["raw"] == 1895.0
    assert row["idle_duration"]["v"] == "00:31:35"


@pytest.mark.parametrize(
    ("system", "unit", "speed_unit", "length", "max_speed"),
    [
        ("imperial", "mi", "mph", "66.05", "58"),
        ("us", "mi", "mph", "66.05", "58"),
        ("nautical", "nmi", "kn", "57.39", "51"),
    ],
)
def test_units_convert(system: str, unit: str, speed_unit: str, length: str, max_speed: str) -> None:
    # Given the seed request for a user with another measurement system
    report = run(seed_context(measurement_system=system))
    table, summary, _ = report["sheets"][0]["sections"]
    # Then titles carry the units and the values are converted (106.29 km, 94 km/h)
    titles = {c["field"]: c["title"] for c in table["columns"]}
    assert titles["length"] == f"Total trips length,\n{unit}"
    assert titles["avg_speed"] == f"Average speed,\n{speed_unit}"
    row = table["data"][0]["rows"][0]
    assert row["length"]["v"] == length
    assert row["max_speed"]["v"] == max_speed
    assert summary["rows"][1]["name"] == f"Total trips length, {unit}"


def test_russian_locale_formats_numbers_and_translates() -> None:
    # Given the seed request for a Russian-speaking user
    report = run(seed_context(locale="ru_RU"))
    table, summary, note = report["sheets"][0]["sections"]
    group = table["data"][0]
    # Then numbers use a decimal comma and grouped thousands, and texts are Russian
    assert group["rows"][0]["length"]["v"] == "106,29"
    assert group["rows"][0]["length"]["raw"] == 106.29
    assert group["total"]["length"]["v"] == "523,8"
    assert group["total"]["text"] == "Итого:"
    assert group["header"] == "6 окт. 2020 (Вт) : 7"
    assert table["header"] == "Поездки"
    assert [c["title"] for c in table["columns"]][:3] == [
        "Начало движения",
        "Конец движения",
        "Общая длина поездок,\nкм",
    ]
    assert summary["header"] == "Сводка"
    assert summary["rows"][-1]["v"] == "515\u00a0855"
    assert note["text"] == "Показания одометра на конец выбранного периода."


def test_unknown_locale_falls_back_to_english() -> None:
    report = run(seed_context(locale="xx_YY"))
    assert report["sheets"][0]["sections"][0]["header"] == "Trips"


def _two_trackers_ctx(**plugin: Any) -> ReportContext:
    ctx = seed_context()
    empty = TrackerInfo(42, "Parked van")
    return replace(ctx, trackers=(*ctx.trackers, empty), plugin={**ctx.plugin, **plugin})


def test_several_trackers_get_a_summary_sheet_and_empty_ones_a_no_data_sheet() -> None:
    # Given two trackers, one without any fix, and empty tabs shown
    ctx = _two_trackers_ctx(hide_empty_tabs=False)
    # When built
    sheets = run(ctx)["sheets"]
    # Then a summary sheet with one row per tracker comes first, then one sheet per tracker
    assert [s["header"] for s in sheets] == ["Summary", SEED_LABEL, "Parked van"]
    summary = sheets[0]
    assert summary["entity_ids"] == [SEED_TRACKER, 42]
    rows = summary["sections"][0]["data"][0]["rows"]
    assert [r["tracker"]["v"] for r in rows] == [SEED_LABEL, "Parked van"]
    assert [r["count"]["v"] for r in rows] == ["7", "0"]
    assert summary["sections"][0]["data"][0]["total"]["length"]["v"] == "523.8"
    # And the empty tracker's sheet says there is no data
    assert sheets[2]["sections"] == [{"type": "text", "text": "No data for the period", "style": "normal"}]


def test_hide_empty_tabs_and_summary_only() -> None:
    # Given two trackers, one empty
    hidden = run(_two_trackers_ctx(hide_empty_tabs=True))["sheets"]
    only = run(_two_trackers_ctx(include_summary_sheet_only=True))["sheets"]
    no_summary = run(_two_trackers_ctx(include_summary_sheet=False))["sheets"]
    # Then hiding drops the empty tab, summary-only keeps just the summary, and it can be left out
    assert [s["header"] for s in hidden] == ["Summary", SEED_LABEL]
    assert [s["header"] for s in only] == ["Summary"]
    assert [s["header"] for s in no_summary] == [SEED_LABEL]


def test_progress_after_each_tracker_and_one_load_per_tracker() -> None:
    # Given two trackers
    ctx = _two_trackers_ctx()
    calls: list[tuple[int, int, int]] = []
    progress: list[float] = []
    # When built
    build_report(ctx, loader({SEED_TRACKER: seed_drive()}, calls), progress.append)
    # Then each track was loaded once for the period and progress advanced per tracker
    assert calls == [(SEED_TRACKER, FROM_MS, TO_MS), (42, FROM_MS, TO_MS)]
    assert progress == [0.5, 1.0]


def test_odometer_from_the_device_reading() -> None:
    # Given fixes that carry the device's odometer up to the end of trip 4
    track = seed_drive()
    end4 = int(np.searchsorted(track.t, SEED_TRIPS[3][1]))
    track.odometer[: end4 + 1] = 100_000.0
    # When built
    summary = run(seed_context(), {SEED_TRACKER: track})["sheets"][0]["sections"][1]
    # Then the odometer is that reading plus trips 5 to 7
    assert summary["rows"][-1]["raw"] == round(100_000 + 0.95 + 108.48 + 95.79)


def test_odometer_base_before_the_period_adds_the_distance_since() -> None:
    # Given an odometer base of 1,000 km set one day before the period, and a 20 km trip that day
    before = Drive(t_ms=FROM_MS - 86_400_000 + 3_600_000).halt(600).drive(20_000, 60).halt(600).track()
    track = Track.concat([before, seed_drive()])
    info = TrackerInfo(SEED_TRACKER, SEED_LABEL, odometer_base_km=1_000.0, odometer_base_ms=FROM_MS - 86_400_000)
    calls: list[tuple[int, int, int]] = []
    # When built
    report = build_report(seed_context(trackers=(info,)), loader({SEED_TRACKER: track}, calls), lambda _: None)
    # Then the base's UTC day and the period's first UTC day up to the period start were loaded
    # too (docs/analytics.md, "odometer": the history counts day by day), and the trip counted
    base_day = (FROM_MS - 86_400_000) // 86_400_000 * 86_400_000
    assert calls[1:] == [
        (SEED_TRACKER, base_day, base_day + 86_400_000 - 1),
        (SEED_TRACKER, base_day + 86_400_000, FROM_MS - 1),
    ]
    odometer = report["sheets"][0]["sections"][1]["rows"][-1]["raw"]
    assert odometer == round(1_000 + 20 + sum(t[2] for t in SEED_TRIPS))


def test_time_filter_limits_the_trips() -> None:
    # Given a filter from 07:00 to 10:00 Moscow time
    ctx = seed_context(time_filter={"from": "07:00", "to": "10:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]})
    # When built
    group = run(ctx)["sheets"][0]["sections"][0]["data"][0]
    # Then only trips 3, 4 and 5 remain (all inside the window)
    assert group["header"] == "Oct 6, 2020 (Tue) : 3"
    assert [r["length"]["v"] for r in group["rows"]] == ["10.03", "95.31", "0.95"]


def test_split_false_gives_one_trip_for_the_day() -> None:
    # Given the seed request with split off
    ctx = seed_context()
    ctx = replace(ctx, plugin={**ctx.plugin, "split": False})
    # When built
    group = run(ctx)["sheets"][0]["sections"][0]["data"][0]
    # Then one trip from the first start to the last end with the day's length
    assert group["header"] == "Oct 6, 2020 (Tue) : 1"
    (row,) = group["rows"]
    assert row["from"]["raw"] == SEED_TRIPS[0][0]
    assert row["to"]["raw"] == SEED_TRIPS[-1][1]
    assert row["length"]["v"] == "523.82"


def test_unknown_plugin_is_refused() -> None:
    with pytest.raises(ReportError):
        run(seed_context(plugin={"plugin_id": 999}))
