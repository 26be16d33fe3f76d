"""Plugin 91, Point report: every kept fix with time, address, speed, heading, altitude, satellites."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from fleet_reports.engine.i18n import format_time_of_day
from fleet_reports.engine.model import Place, ReportContext, Track, TrackerInfo
from fleet_reports.engine.plugins.points import local_times
from fleet_reports.engine.report import build_report
from fleet_reports.sim.drive import Scenario

T0 = 1_601_942_400_000  # 2020-10-06 00:00:00 UTC
H = 3_600_000
HOME = (55.0, 37.0)
SHOP = (55.05, 37.1)
TRACKER = 669673


def errand() -> tuple[Track, list[int]]:
    """From 20:00 UTC: park, drive to the shop (one wild fix on the way), park, drive home, park;
    one fix every 10 s. Returns the fixes and the outlier times."""
    sc = Scenario(T0 + 20 * H, *HOME, seed=3)
    sc.park(10).drive([SHOP], cruise_kmh=60).park(10).outlier(5.0).park(10).drive([HOME], cruise_kmh=50).park(15)
    track, truth = sc.build()
    return track, truth.outliers


def context(locale: str = "en_US", units: str = "metric", tz: str = "UTC", **plugin: Any) -> ReportContext:
    return ReportContext(
        report_id=1,
        title="Point report",
        created="2020-10-07 10:00:00",
        period_from="2020-10-06 12:00:00",
        period_to="2020-10-07 12:00:00",
        from_ms=T0 + 12 * H,
        to_ms=T0 + 36 * H - 1000,
        time_zone=tz,
        locale=locale,
        measurement_system=units,
        time_filter={},
        plugin={"plugin_id": 91, **plugin},
        trackers=(TrackerInfo(TRACKER, "Samantha"),),
        places=(Place("Shop", "Shop, Moscow", SHOP[0], SHOP[1], 300.0),),
    )


def run(ctx: ReportContext, track: Track) -> dict[str, Any]:
    return build_report(ctx, lambda _id, a, b: track.take((track.t >= a) & (track.t <= b)), lambda _: None)


def all_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in report["sheets"][0]["sections"][0]["data"] for r in g["rows"]]


def test_every_kept_fix_is_a_row_with_its_values() -> None:
    # Given an errand with one wild fix that cleaning drops
    track, outliers = errand()
    assert len(outliers) == 1

    # When the point report is built
    report = run(context(), track)

    # Then every fix but the outlier is a row, in time order, with its own values
    (sheet,) = report["sheets"]
    table, summary = sheet["sections"]
    assert [c["field"] for c in table["columns"]] == [
        "time", "address", "speed", "heading", "altitude", "satellites", "lat", "lng"
    ]  # fmt: skip
    assert table["columns"][2]["title"] == "Speed,\nkm/h"
    assert table["columns"][4]["title"] == "Altitude,\nm"
    rows = all_rows(report)
    kept = track.take(~np.isin(track.t, outliers))
    assert len(rows) == len(kept) == len(track) - 1
    assert [r["time"]["raw"] for r in rows] == kept.t.astype(float).tolist()
    k = int(np.argmax(kept.speed))
    assert rows[k]["speed"]["raw"] == round(float(kept.speed[k]))
    assert rows[k]["heading"]["raw"] == round(float(kept.heading[k]))
    assert rows[k]["altitude"]["raw"] == round(float(kept.alt[k]))
    assert rows[k]["satellites"]["raw"] == int(kept.satellites[k])
    # (coordinates to the 6 decimals shown: raw is exactly the number the cell shows)
    assert rows[k]["lat"]["raw"] == round(float(kept.lat[k]), 6)
    assert rows[k]["lng"]["raw"] == round(float(kept.lng[k]), 6)
    assert rows[0]["time"]["v"] == "20:00"
    # And fixes at the shop carry the place's address, the others their coordinates
    at_shop = [r for r in rows if r["address"]["v"] == "Shop, Moscow"]
    assert len(at_shop) >= 10 * 6  # the 20 min parked there, at least
    assert rows[0]["address"]["v"] == f"{kept.lat[0]:.5f}, {kept.lng[0]:.5f}"
    # And one group for the day, headed with its count; a summary with the max speed
    assert [g["header"] for g in table["data"]] == [f"Oct 6, 2020 (Tue) : {len(rows)}"]
    assert summary["rows"][0]["raw"] == len(rows)
    assert summary["rows"][1]["raw"] == round(float(kept.speed.max()))


def test_units_locale_zone_seconds_and_no_coordinates() -> None:
    # Given the errand, When built for a Russian user in miles, Moscow time, with seconds
    track, _ = errand()
    report = run(context("ru_RU", "imperial", "Europe/Moscow", show_seconds=True, show_coordinates=False), track)
    table = report["sheets"][0]["sections"][0]
    # Then the columns are translated, without coordinates; speeds are in mph, altitudes in feet
    assert [c["title"] for c in table["columns"]] == [
        "Время", "Адрес", "Скорость,\nмиль/ч", "Курс, °", "Высота,\nфут", "Спутники"
    ]  # fmt: skip
    rows = all_rows(report)
    fast = max(rows, key=lambda r: r["speed"]["raw"])
    assert abs(fast["speed"]["raw"] - float(track.speed.max()) / 1.609344) <= 0.5
    k = int(np.argmax(track.speed))
    high = next(r for r in rows if r["time"]["raw"] == float(track.t[k]))
    assert abs(high["altitude"]["raw"] - float(track.alt[k]) / 0.3048) <= 0.5
    # And times are Moscow wall clock with seconds; the errand crosses local midnight
    assert rows[0]["time"]["v"] == "23:00:00"
    assert [g["header"].split(" : ")[0] for g in table["data"]] == ["6 окт. 2020 (Вт)", "7 окт. 2020 (Ср)"]


def test_unknown_values_leave_their_cells_out() -> None:
    track, _ = errand()
    track.heading[:] = np.nan
    track.satellites[:] = -1
    rows = all_rows(run(context(), track))
    assert "heading" not in rows[0] and "satellites" not in rows[0] and "speed" in rows[0]


def test_local_times_follow_dst_changes() -> None:
    # Given instants every 7 minutes across the autumn DST change in Berlin (2020-10-25 01:00 UTC)
    t = np.arange(1_603_580_000_000, 1_603_600_000_000, 420_000, dtype=np.int64)
    zone = ZoneInfo("Europe/Berlin")
    # Then each is formatted as the standard library does
    assert local_times(t, zone, True) == [format_time_of_day(int(x), zone, True) for x in t]


def test_a_day_of_fixes_every_ten_seconds_is_every_row() -> None:
    # Given 24 h of fixes every 10 s (8,640), mostly driving around, half near the shop
    n = 8640
    t = T0 + np.arange(n, dtype=np.int64) * 10_000
    angle = np.linspace(0, 40 * np.pi, n)
    lat = SHOP[0] + 0.01 * np.sin(angle)
    lng = SHOP[1] + 0.02 * np.cos(angle)
    track = Track(
        t=t,
        lat=lat,
        lng=lng,
        speed=np.full(n, 55.0, np.float32),
        heading=np.mod(np.degrees(angle), 360).astype(np.float32),
        alt=np.full(n, 150.0, np.float32),
        satellites=np.full(n, 9, np.int8),
        hdop=np.full(n, 0.9, np.float32),
        odometer=np.full(n, np.nan),
        ignition=np.full(n, -1, np.int8),
    )
    ctx = replace(context(tz="Europe/Moscow"), from_ms=T0, to_ms=T0 + 24 * H - 1000)
    # When the point report is built (bench/bench_zones.py measures how fast)
    report = run(ctx, track)
    # Then every fix is there, in two Moscow days (the day starts at 03:00 Moscow time)
    groups = report["sheets"][0]["sections"][0]["data"]
    assert sum(len(g["rows"]) for g in groups) == n
    assert len(groups) == 2
