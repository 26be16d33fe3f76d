"""The odometer at the period end over days of history (docs/analytics.md, "odometer"), with
simulated drives whose true distance is known: the history counted day by day from per-day
figures (what the store's summary keeps) reads a few fixes around the period start, however long
the history, and gives what counting the fixes themselves gives."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import numpy as np
import pytest

from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.odometer import (
    DayOdometer,
    OdometerHistory,
    day_figures,
    day_start_ms,
    history_from_loader,
    odometer_start,
    settings_fingerprint,
    split_utc_days,
    utc_day,
)
from fleet_reports.engine.report import build_report
from fleet_reports.sim.drive import Scenario

from tests.support.reports import loader
from tests.support.seed import seed_context

HOME = (55.0, 37.0)
SHOP = (55.05, 37.1)
FAR = (55.1, 37.05)
TRACKER = 77
HOUR_MS = 3_600_000
SETTINGS = TripSettings()


def at(day: date, hour: float) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000 + hour * HOUR_MS)


def errand(start_ms: int, seed: int, odometer_km: float | None = None) -> tuple[Track, float]:
    """Parked, a drive to the shop and back, parked: the fixes and the true distance in km."""
    sc = Scenario(start_ms, *HOME, seed=seed, ignition=False, odometer_km=odometer_km)
    sc.park(10).drive([SHOP], cruise_kmh=60).park(20).drive([HOME], cruise_kmh=60).park(10)
    track, truth = sc.build()
    return track, truth.distance_m / 1000.0


def tour(start_ms: int, seed: int) -> tuple[Track, float]:
    """A longer drive (about 40 minutes) through the shop and the far place, home again."""
    sc = Scenario(start_ms, *HOME, seed=seed, ignition=False, odometer_km=None)
    sc.park(5).drive([SHOP, FAR, HOME], cruise_kmh=60).park(10)
    track, truth = sc.build()
    return track, truth.distance_m / 1000.0


FIRST = date(2020, 10, 1)
PERIOD_DAY = date(2020, 10, 12)  # a Moscow day: 2020-10-11 21:00 to 2020-10-12 20:59:59 UTC
FROM_MS = at(PERIOD_DAY, -3)
TO_MS = at(PERIOD_DAY, 21) - 1000


def history_drives() -> tuple[Track, float, float]:
    """Ten days of history, an errand a day (one a tour that crosses midnight UTC, one that crosses
    the period start), then an errand in the period: the fixes, the true km before the period
    start and the true km in the period."""
    parts: list[tuple[Track, float]] = [errand(at(date(2020, 10, d), 6), seed=d) for d in range(1, 11)]
    parts.append(tour(at(date(2020, 10, 5), 23.6), seed=50))  # 23:36 UTC, on into the next day
    before = sum(km for _, km in parts)
    period = [errand(at(PERIOD_DAY, 6), seed=60)]
    track = Track.concat([p for p, _ in parts + period])
    track = track.take(np.argsort(track.t, kind="stable"))
    return track, before, sum(km for _, km in period)


def context(base_km: float, base_ms: int) -> ReportContext:
    info = TrackerInfo(TRACKER, "Errands", odometer_base_km=base_km, odometer_base_ms=base_ms)
    return seed_context(trackers=(info,), from_ms=FROM_MS, to_ms=TO_MS)


def odometer_of(report: Mapping[str, object]) -> float:
    sheets = report["sheets"]
    assert isinstance(sheets, list)
    return float(sheets[0]["sections"][1]["rows"][-1]["raw"])


class Summary:
    """Per-day figures computed once, as the store keeps them; each call of it recorded."""

    def __init__(self, track: Track, settings: TripSettings = SETTINGS) -> None:
        self.days = {day: day_figures(part, settings) for day, part in split_utc_days(track).items()}
        self.calls: list[tuple[int, date, date]] = []

    def __call__(self, tracker_id: int, settings: TripSettings, first: date, last: date) -> dict[date, DayOdometer]:
        self.calls.append((tracker_id, first, last))
        return {d: f for d, f in self.days.items() if first <= d <= last}


# ----------------------------------------------------------------------------- known answers
def test_the_odometer_after_days_of_history_is_the_base_plus_the_true_distance() -> None:
    # Given ten days of errands (one drive across midnight UTC, one across the period start) after
    # an odometer base of 40,000 km at 2020-10-01 00:00 UTC, and an errand in the period
    track, before_km, period_km = history_drives()
    ctx = context(40_000.0, at(FIRST, 0))
    summary = Summary(track)
    calls: list[tuple[int, int, int]] = []

    # When the trip report is built with the per-day figures (as the worker passes the store's)
    odometer = odometer_of(build_report(ctx, loader({TRACKER: track}, calls), lambda _: None, odometer_history=summary))

    # Then the odometer at the period end is the base plus the true distance, within the
    # engine's 1 % on distance
    assert odometer - 40_000.0 == pytest.approx(before_km + period_km, rel=0.01)
    # And the figures were asked once for the whole days, and only the period and the part of
    # its first UTC day before it were read as fixes
    assert summary.calls == [(TRACKER, FIRST, date(2020, 10, 10))]
    assert calls == [(TRACKER, FROM_MS, TO_MS), (TRACKER, at(date(2020, 10, 11), 0), FROM_MS - 1)]


def test_the_figures_kept_give_what_the_fixes_themselves_give() -> None:
    # Given the same history
    track, _, _ = history_drives()
    ctx = context(40_000.0, at(FIRST, 0))

    # When the report reads the kept figures, and when it computes them from every day's fixes
    kept = build_report(ctx, loader({TRACKER: track}), lambda _: None, odometer_history=Summary(track))
    computed = build_report(ctx, loader({TRACKER: track}), lambda _: None)

    # Then both are one and the same report
    assert kept == computed


def test_the_last_device_reading_before_the_period_counts_from_there() -> None:
    # Given the base, an errand whose device odometer reads from 90,000 km on 2020-10-08, and
    # errands without odometer on the days after it and in the period
    days = [errand(at(date(2020, 10, d), 6), seed=d) for d in (2, 3, 9, 10)]
    read, read_km = errand(at(date(2020, 10, 8), 6), seed=8, odometer_km=90_000.0)
    period, period_km = errand(at(PERIOD_DAY, 6), seed=60)
    track = Track.concat([read, period, *(p for p, _ in days)])
    track = track.take(np.argsort(track.t, kind="stable"))
    ctx = context(40_000.0, at(FIRST, 0))

    # When built from the kept figures
    odometer = odometer_of(build_report(ctx, loader({TRACKER: track}), lambda _: None, odometer_history=Summary(track)))

    # Then it is the reading at the start of that errand plus the true distance since (the
    # errands before the reading, and the base, do not count)
    since_km = read_km + days[2][1] + days[3][1] + period_km
    assert odometer - 90_000.0 == pytest.approx(since_km, rel=0.01)


def test_a_base_within_a_day_counts_that_day_from_the_base() -> None:
    # Given a base at 12:00 UTC on a day with an errand in the morning and one in the afternoon
    morning, _ = errand(at(date(2020, 10, 3), 6), seed=31)
    afternoon, afternoon_km = errand(at(date(2020, 10, 3), 14), seed=32)
    later, later_km = errand(at(date(2020, 10, 7), 6), seed=33)
    track = Track.concat([morning, afternoon, later])
    summary = Summary(track)
    calls: list[tuple[int, int, int]] = []
    info = TrackerInfo(TRACKER, "Errands", odometer_base_km=100.0, odometer_base_ms=at(date(2020, 10, 3), 12))

    # When the odometer at the period start is asked for
    start = odometer_start(info, SETTINGS, FROM_MS, summary, loader({TRACKER: track}, calls))

    # Then it is the base plus the afternoon's errand and the later days' (not the morning's)
    assert start is not None
    assert start.km - 100.0 == pytest.approx(afternoon_km + later_km, rel=0.01)
    # And the base's day was read whole, the days after it came from the figures
    assert calls[0] == (TRACKER, at(date(2020, 10, 3), 0), at(date(2020, 10, 4), 0) - 1)
    assert summary.calls == [(TRACKER, date(2020, 10, 4), date(2020, 10, 10))]


@pytest.mark.parametrize("base_ms", [None, FROM_MS, FROM_MS + HOUR_MS])
def test_without_a_base_before_the_period_no_history_is_read(base_ms: int | None) -> None:
    # Given a tracker whose base is unset, at the period start or inside the period
    info = TrackerInfo(TRACKER, "Errands", odometer_base_km=None if base_ms is None else 5.0, odometer_base_ms=base_ms)
    summary = Summary(Track.empty())
    calls: list[tuple[int, int, int]] = []

    # When the odometer at the period start is asked for, Then there is none and nothing was read
    assert odometer_start(info, SETTINGS, FROM_MS, summary, loader({}, calls)) is None
    assert (summary.calls, calls) == ([], [])


def test_the_same_history_costs_the_same_reads_after_one_day_or_ten_years() -> None:
    # Given one errand a day before the period, and a base one day or ten years before it
    track, _ = errand(at(date(2020, 10, 11), 6), seed=1)
    reads: dict[str, list[tuple[int, int, int]]] = {}
    history: dict[str, list[tuple[int, date, date]]] = {}
    for name, base in (("one day", date(2020, 10, 10)), ("ten years", date(2010, 10, 10))):
        summary = Summary(track)
        calls: list[tuple[int, int, int]] = []
        info = TrackerInfo(TRACKER, "Errands", odometer_base_km=1.0, odometer_base_ms=at(base, 0))
        # When the odometer at the period start is asked for
        odometer_start(info, SETTINGS, FROM_MS, summary, loader({TRACKER: track}, calls))
        reads[name], history[name] = calls, summary.calls

    # Then both read the same fixes and asked the figures once
    assert reads["one day"] == reads["ten years"] == [(TRACKER, at(date(2020, 10, 11), 0), FROM_MS - 1)]
    assert [len(h) for h in history.values()] == [1, 1]


# ----------------------------------------------------------------------------- the figures
def test_a_days_figures_hold_its_distance_and_last_reading() -> None:
    # Given an errand whose device odometer reads only during the drive out (from 1,000 km)
    track, km = errand(at(date(2020, 10, 3), 6), seed=5, odometer_km=1_000.0)
    back = track.t > int(track.t[len(track) // 2])
    track.odometer[back] = np.nan
    last = int(np.flatnonzero(np.isfinite(track.odometer))[-1])

    # When its figures are computed
    fig = day_figures(track, SETTINGS)

    # Then they hold the day's trip distance (the truth within 1 %), the last reading and its
    # time, and the distance after it: the reading plus that is where the day ended
    assert fig.trip_m / 1000.0 == pytest.approx(km, rel=0.01)
    assert (fig.reading_km, fig.reading_ms) == (float(track.odometer[last]), int(track.t[last]))
    assert fig.reading_km + fig.after_reading_m / 1000.0 == pytest.approx(1_000.0 + km, rel=1e-4)
    # And they survive their JSON form
    assert DayOdometer.from_json(fig.to_json()) == fig
    assert DayOdometer.from_json(day_figures(Track.empty(), SETTINGS).to_json()) == DayOdometer(0.0)


def test_the_fingerprint_names_the_settings() -> None:
    # Given the default settings, the same built again, and one threshold changed
    same = TripSettings.build({}, {"min_idle_duration": 300})
    other = TripSettings.build({}, {"min_idle_duration": 180})
    # Then equal settings have equal fingerprints and a changed one another
    assert settings_fingerprint(SETTINGS) == settings_fingerprint(same) != settings_fingerprint(other)


def test_days_and_instants_are_utc() -> None:
    # Given instants around midnight UTC and before 1970, Then each falls in its UTC day
    assert utc_day(at(date(2020, 10, 5), 0)) == date(2020, 10, 5)
    assert utc_day(at(date(2020, 10, 5), 0) - 1) == date(2020, 10, 4)
    assert utc_day(-1) == date(1969, 12, 31)
    assert day_start_ms(date(2020, 10, 5)) == at(date(2020, 10, 5), 0)
    # And a track is cut into its UTC days
    track, _ = tour(at(date(2020, 10, 5), 23.6), seed=50)
    parts = split_utc_days(track)
    assert list(parts) == [date(2020, 10, 5), date(2020, 10, 6)]
    assert sum(len(p) for p in parts.values()) == len(track)


def test_history_from_the_fixes_reads_the_span_once() -> None:
    # Given errands on two days, and the figures computed from the fixes
    a, _ = errand(at(date(2020, 10, 2), 6), seed=1)
    b, _ = errand(at(date(2020, 10, 4), 6), seed=2)
    calls: list[tuple[int, int, int]] = []
    history: OdometerHistory = history_from_loader(loader({TRACKER: Track.concat([a, b])}, calls))

    # When asked for the days 2020-10-01 to 2020-10-05
    days = history(TRACKER, SETTINGS, date(2020, 10, 1), date(2020, 10, 5))

    # Then the span was read once, and only the days with fixes have figures, the ones computed
    # from each day alone
    assert calls == [(TRACKER, at(date(2020, 10, 1), 0), at(date(2020, 10, 6), 0) - 1)]
    assert days == {date(2020, 10, 2): day_figures(a, SETTINGS), date(2020, 10, 4): day_figures(b, SETTINGS)}
