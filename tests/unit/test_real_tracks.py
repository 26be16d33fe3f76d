"""Real vehicle tracks (shared/data/real-tracks, see its SOURCES.md) through the documented path:
convert (fleet_reports.convert) -> parse_fixes (the importer's parser) -> clean -> segment.

The files are read from beside the repository, never copied into it; each test is skipped when
they are absent. The expected figures are SOURCES.md's, computed there independently of this code
(point counts, spans, raw path length); docs/real-tracks.md lists what the engine measures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fleet_reports.convert import convert
from fleet_reports.engine.clean import clean
from fleet_reports.engine.geo import leg_lengths_m
from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.engine.motion import Segments, TripSettings, segment
from fleet_reports.engine.report import build_report
from fleet_reports.ingest import ParsedFixes, parse_fixes

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real-tracks"
NOW_MS = 2_000_000_000_000  # the "ingestion time" (2033): every real file lies in its past
MAX_ROAD_KMH = 200.0
HOUR_S = 3600.0
DORIEL = "gpsbabel_GPSData000001-A810-Doriel.txt"
BODS = "mpex_route14_outbound.csv"


def ms(iso: str) -> int:
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


@functools.cache
def source(name: str) -> bytes:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"real track {name} is not in {REAL.resolve()} (it is kept beside the repository, not in it)")
    return path.read_bytes()


@functools.cache
def converted(kind: str, name: str) -> dict[str, bytes]:
    return convert(kind, source(name))


@functools.cache
def parsed(kind: str, name: str) -> dict[str, ParsedFixes]:
    """Each converted file (a GPX file as it is: kind "") parsed as the importer parses it."""
    files = converted(kind, name) if kind else {name: source(name)}
    return {file: parse_fixes(data, file, now_ms=NOW_MS) for file, data in files.items()}


@dataclass(frozen=True)
class Outcome:
    """One vehicle's fixes after cleaning, and the trips and parkings the engine finds in them."""

    track: Track
    drops: dict[str, int]
    seg: Segments

    @property
    def counted_km(self) -> float:
        """Distance the engine counts (moving legs, no legs across long gaps)."""
        return float(self.seg.cum_distance_m[-1]) / 1000.0

    @property
    def path_km(self) -> float:
        """Every leg between kept fixes, as SOURCES.md measures a file."""
        return float(leg_lengths_m(self.track.lat, self.track.lng).sum()) / 1000.0

    @property
    def trip_km(self) -> float:
        return float(self.seg.trips.distance_m.sum()) / 1000.0

    @property
    def max_kmh(self) -> float:
        trips = self.seg.trips
        return float(trips.max_speed_kmh.max()) if len(trips) else 0.0

    def gaps_after_trips_h(self) -> list[float]:
        """Time from each trip's end to the next trip's start (the report's idle duration), hours."""
        trips = self.seg.trips
        return [float(x) / 3.6e6 for x in trips.start_ms[1:] - trips.end_ms[:-1]]


def analyse(track: Track, **settings: Any) -> Outcome:
    """What the report engine does with a tracker's fixes: clean, then trips and parkings."""
    trip_settings = TripSettings(**settings)
    kept, drops = clean(track, max_implied_speed_kmh=trip_settings.max_implied_speed_kmh, now_ms=NOW_MS)
    return Outcome(kept, drops, segment(kept, trip_settings))


def only(kind: str, name: str) -> ParsedFixes:
    (one,) = parsed(kind, name).values()
    return one


def assert_sane(
    o: Outcome, *, max_kmh: float = MAX_ROAD_KMH, trip_share: float = 0.98, device_speed: bool = True
) -> None:
    """Trips lie inside the track, in order, without overlap; speeds are a road vehicle's; the trips
    hold (almost) all of the counted distance (the rest: drives the smart filter dropped), and no
    trip is longer than the track. A trip's average speed is at most its maximum only where the
    device gives speeds: see test_average_speed_is_at_most_max_speed_also_with_derived_speeds."""
    trips, t = o.seg.trips, o.track.t
    assert len(trips) >= 1
    assert np.all(trips.start_ms >= t[0]) and np.all(trips.end_ms <= t[-1])
    assert np.all(trips.end_ms > trips.start_ms)
    assert np.all(trips.start_ms[1:] >= trips.end_ms[:-1])
    assert np.all(trips.distance_m > 0)
    assert float(trips.distance_m.max()) / 1000.0 <= o.counted_km + 1e-9
    assert o.counted_km <= o.path_km + 1e-9
    assert trip_share * o.counted_km <= o.trip_km <= o.counted_km + 1e-9
    assert 0.0 < o.max_kmh < max_kmh
    if device_speed:
        assert np.all(trips.avg_speed_kmh <= trips.max_speed_kmh + 1e-6)


# --------------------------------------------------------------------------------------------
# Every file imports through a documented format with no rejected row

SOURCES = [
    # kind ("" = imported as it is), file, output files, rows, duplicate times, first fix, last fix
    ("liverpool_bus_csv", BODS, 8, 1533, 0, "2026-01-26T15:55:12Z", "2026-01-26T18:19:36Z"),
    ("envirocar_geojson", "envirocar_track_1.json", 1, 368, 0, "2020-03-25T16:31:52Z", "2020-03-25T17:02:42Z"),
    ("envirocar_geojson", "envirocar_track_2.json", 1, 269, 0, "2020-03-24T12:31:18Z", "2020-03-24T12:53:56Z"),
    ("barefoot_json", "barefoot_x0001-001.json", 1, 1194, 0, "2014-09-10T06:54:07+02:00", "2014-09-10T07:14:02+02:00"),
    # 7,140 data rows of which the 2 invalid (V) rows are dropped by the conversion
    ("seventymai_txt", DORIEL, 1, 7138, 548, "2025-02-21T20:45:56Z", "2025-02-22T08:50:30Z"),
    ("fcd_points_csv", "mm2fcd_points.csv", 263, 14651, 433, "2018-07-02T06:15:14Z", "2019-03-31T10:31:29Z"),
    ("", "gpsbabel_dg100.gpx", 1, 12027, 0, "2020-02-14T18:04:30Z", "2020-05-08T15:34:22Z"),
    ("", "gpsbabel_sbn-v13.gpx", 1, 3453, 0, "2010-02-01T12:31:38.545Z", "2010-02-01T13:30:40Z"),
]


@pytest.mark.parametrize(
    ("kind", "name", "files", "rows", "duplicates", "first", "last"), SOURCES, ids=[s[1] for s in SOURCES]
)
def test_every_real_file_imports_with_no_rejected_row(
    kind: str, name: str, files: int, rows: int, duplicates: int, first: str, last: str
) -> None:
    # Given a real track file, converted when it is not in an import format already
    # When each resulting file is parsed as an upload
    results = parsed(kind, name)
    # Then there are as many files as vehicles/tracks, and every row of every file is accepted
    assert len(results) == files
    assert sum(p.rows for p in results.values()) == rows
    assert [p.rejected for p in results.values() if p.rejected_count] == []
    # And only the repeated times of the source collapse (the last row of each time wins)
    assert sum(p.duplicates for p in results.values()) == duplicates
    assert sum(len(p.track) for p in results.values()) == rows - duplicates
    # And the fixes span SOURCES.md's time span
    assert min(int(p.track.t[0]) for p in results.values()) == ms(first)
    assert max(int(p.track.t[-1]) for p in results.values()) == ms(last)


# --------------------------------------------------------------------------------------------
# enviroCar: one car with OBD-II data, two drives on consecutive days


@pytest.mark.parametrize(
    ("name", "km", "first_kmh"), [("envirocar_track_1.json", 43.1, 58.98), ("envirocar_track_2.json", 34.6, 113.53)]
)
def test_envirocar_drive_is_one_trip_of_its_length_with_obd_sensors(name: str, km: float, first_kmh: float) -> None:
    # Given one enviroCar drive (which starts already moving: the start was cut off for privacy)
    fixes = only("envirocar_geojson", name)
    # When analysed
    o = analyse(fixes.track)
    # Then it is one trip of SOURCES.md's length (within 1 %), at motorway speeds below 200 km/h
    assert_sane(o)
    assert len(o.seg.trips) == 1
    assert o.trip_km == pytest.approx(km, rel=0.01)
    assert 120.0 < o.max_kmh < MAX_ROAD_KMH
    # And nothing was cleaned away, the GPS speed is the fix speed and the OBD values are sensors
    assert sum(o.drops.values()) == 0
    assert float(fixes.track.speed[0]) == pytest.approx(first_kmh, abs=0.01)
    assert {"rpm", "engine_load", "consumption_lph", "co2_kgph", "obd_speed_kmh"} <= set(fixes.sensor_columns)
    rpm = fixes.track.sensors["rpm"]
    assert np.isnan(rpm[-1])  # the last point carries no OBD values: left unknown, not invented
    assert 500.0 < float(np.nanmedian(rpm)) < 4000.0


def test_both_envirocar_files_are_one_car_that_parks_27_6_hours() -> None:
    # Given the two enviroCar drives of the same car as one tracker's fixes
    march_24 = only("envirocar_geojson", "envirocar_track_2.json")
    march_25 = only("envirocar_geojson", "envirocar_track_1.json")
    track = Track.concat([march_25.track, march_24.track])  # uploaded in file order: the later drive first
    # When analysed (cleaning orders the fixes by time)
    o = analyse(track)
    # Then there are two trips, each its own file's, with ~27.6 h between them
    assert_sane(o)
    assert len(o.seg.trips) == 2
    assert [round(d / 1000, 1) for d in o.seg.trips.distance_m] == [34.5, 43.0]
    (gap_h,) = o.gaps_after_trips_h()
    assert gap_h == pytest.approx(27.6, abs=0.05)
    # And the trips report shows that time as the idle duration after the first trip
    report = trips_report(track, "Europe/Berlin", "2020-03-24", "2020-03-25", show_idle_duration=True)
    rows = [row for group in report["sheets"][0]["sections"][0]["data"] for row in group["rows"]]
    assert len(rows) == 2
    assert rows[0]["idle_duration"]["raw"] == pytest.approx(27.6 * HOUR_S, abs=180)
    assert [row["length"]["v"] for row in rows] == ["34.52", "42.95"]


def trips_report(track: Track, zone: str, first_day: str, last_day: str, **options: Any) -> dict[str, Any]:
    """The Trips report (plugin 4) of one tracker holding ``track``, over whole local days."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    from_ms = int(datetime.fromisoformat(f"{first_day}T00:00:00").replace(tzinfo=tz).timestamp() * 1000)
    to_ms = int(datetime.fromisoformat(f"{last_day}T23:59:59").replace(tzinfo=tz).timestamp() * 1000)
    ctx = ReportContext(
        report_id=1,
        title="Trip report",
        created=f"{last_day} 23:59:59",
        period_from=f"{first_day} 00:00:00",
        period_to=f"{last_day} 23:59:59",
        from_ms=from_ms,
        to_ms=to_ms,
        time_zone=zone,
        locale="en_US",
        measurement_system="metric",
        time_filter={"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        plugin={"plugin_id": 4, "split": True, "filter": True, **options},
        trackers=(TrackerInfo(1, "real track"),),
    )
    return build_report(ctx, lambda _id, lo, hi: track.take((track.t >= lo) & (track.t <= hi)), lambda _: None)


# --------------------------------------------------------------------------------------------
# barefoot: 1 Hz in Munich, with one 470 m jump in one second


def test_barefoot_drive_drops_the_jump_and_keeps_its_length() -> None:
    # Given the 1 Hz Munich drive, whose position leaps 470 m between 07:04:26 and 07:04:27 (+02:00)
    fixes = only("barefoot_json", "barefoot_x0001-001.json")
    jump = ms("2014-09-10T07:04:27+02:00")
    legs = leg_lengths_m(fixes.track.lat, fixes.track.lng)
    assert int(np.argmax(legs)) + 1 == int(np.flatnonzero(fixes.track.t == jump)[0])
    assert float(legs.max()) == pytest.approx(470, abs=5)
    # When analysed
    o = analyse(fixes.track)
    # Then the fixes after the jump are dropped as impossibly fast until the track agrees again
    assert o.drops["implied_speed"] == 8
    assert jump not in set(o.track.t.tolist())
    assert float((leg_lengths_m(o.track.lat, o.track.lng) / np.diff(o.track.t)).max()) * 3600 <= 250.0
    # And the drive is one trip (its traffic-light halts are all under 5 minutes) of about 13.6 km
    assert_sane(o, device_speed=False)
    assert len(o.seg.trips) == 1
    assert o.trip_km == pytest.approx(13.6, rel=0.03)
    assert len(o.seg.parkings) == 0


# --------------------------------------------------------------------------------------------
# 70mai dash cam: four recording sessions over an evening and the next morning


def test_seventymai_log_gives_three_trips_around_the_night_and_a_35_minute_stop() -> None:
    # Given the dash-cam log converted (its 2 invalid V rows dropped), four $V02 sessions
    fixes = only("seventymai_txt", DORIEL)
    assert np.unique(fixes.track.sensors["session"]).tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.all(fixes.track.ignition == -1)  # no ignition in the log: none invented
    # When analysed
    o = analyse(fixes.track)
    # Then sessions 1 and 2 (69 s apart: a camera restart, not a parking) make the evening trip,
    # the morning has a trip, a 35-minute stop and a last trip
    assert_sane(o)
    trips = o.seg.trips
    assert len(trips) == 3
    assert trips.start_ms[0] == ms("2025-02-21T20:45:56Z")
    overnight, stop = o.gaps_after_trips_h()
    assert 8.6 <= overnight <= 9.0
    assert stop * 60 == pytest.approx(35.4, abs=1)
    assert len(o.seg.parkings) == 2 and o.seg.parkings.duration_s[1] / 60 == pytest.approx(35.4, abs=1)
    # And the distance is SOURCES.md's 141.6 km (within 1 %), at most 109 km/h as the log says
    assert o.trip_km == pytest.approx(141.6, rel=0.01)
    assert o.max_kmh == pytest.approx(109.0, abs=0.5)


# --------------------------------------------------------------------------------------------
# GPX files import as they are


def test_dg100_logger_stops_are_gaps_so_only_a_short_max_gap_splits_the_evening_drive() -> None:
    # Given the DG-100 log (GPX as it is): it writes nothing while the car stands, so its stops
    # of 14-55 minutes are data gaps between moving fixes, and it holds three days of driving
    fixes = only("", "gpsbabel_dg100.gpx")
    gaps_s = np.diff(fixes.track.t) / 1000.0
    assert int(np.count_nonzero(gaps_s > 300)) == 15
    # When analysed with the default settings (a data gap ends a trip only beyond 1 h)
    o = analyse(fixes.track)
    # Then each day is one trip: the evening's stops under an hour stay inside its 312 km trip
    assert_sane(o)
    assert len(o.seg.trips) == 3
    assert [round(d / 1000) for d in o.seg.trips.distance_m] == [312, 1, 5]
    assert o.counted_km == pytest.approx(317.8, rel=0.01)
    assert 100.0 < o.max_kmh < 135.0
    # When the tracker's max_gap is 10 minutes (documented for loggers that sleep when stationary)
    short = analyse(fixes.track, max_gap=600)
    # Then the evening drive splits at its stops, and no distance is lost
    assert_sane(short)
    assert len(short.seg.trips) == 6
    assert short.trip_km == pytest.approx(o.trip_km, rel=0.002)


def test_sbn_log_with_fix_quality_is_one_trip_of_37_km() -> None:
    # Given the SiRF log (GPX as it is) whose first points have fix=none, with satellites and hdop
    fixes = only("", "gpsbabel_sbn-v13.gpx")
    known = fixes.track.satellites[fixes.track.satellites >= 0]
    assert known.size == 3453 - 33 and int(known.min()) == 3  # never below the 3-satellite floor
    assert float(np.nanmax(fixes.track.hdop)) > 1.0
    # When analysed
    o = analyse(fixes.track)
    # Then nothing is cleaned away (the fix=none points agree with their neighbours: the importer
    # does not read <fix>), and the urban drive with its short halts is one trip of ~37.4 km
    assert sum(o.drops.values()) == 0
    assert_sane(o)
    assert len(o.seg.trips) == 1
    assert o.trip_km == pytest.approx(37.4, rel=0.015)
    assert o.max_kmh == pytest.approx(100.9, abs=0.1)


# --------------------------------------------------------------------------------------------
# Liverpool buses: eight vehicles, two outbound runs each, the inbound runs not in the file


def bus_outcomes(**settings: Any) -> dict[str, tuple[ParsedFixes, Outcome]]:
    return {name: (p, analyse(p.track, **settings)) for name, p in parsed("liverpool_bus_csv", BODS).items()}


def test_liverpool_buses_with_default_settings_count_the_missing_inbound_leg() -> None:
    # Given the eight buses, each with a 30-52 minute gap between its two outbound runs
    outcomes = bus_outcomes()
    assert len(outcomes) == 8
    for name, (p, o) in outcomes.items():
        gaps_s = np.diff(p.track.t) / 1000.0
        k = int(np.argmax(gaps_s))
        assert 30 * 60 <= gaps_s[k] <= 53 * 60, name
        assert 110 <= len(p.track) <= 278, name
        # When analysed with the default max_gap of 1 h
        # Then the straight 5-9 km leg across the gap (the bus back at the terminus) is driven
        # distance (analytics.md: a shorter gap counts the straight leg), inside one trip
        leg_m = float(leg_lengths_m(p.track.lat[k : k + 2], p.track.lng[k : k + 2])[0])
        assert 4_900 <= leg_m <= 8_600, name
        trips = o.seg.trips
        spanning = (trips.start_ms <= p.track.t[k]) & (trips.end_ms >= p.track.t[k + 1])
        assert int(np.count_nonzero(spanning)) == 1, name
        assert_sane(o, max_kmh=60.0, trip_share=0.97, device_speed=False)


def test_liverpool_buses_with_a_20_minute_max_gap_run_each_outbound_leg_as_its_own_trips() -> None:
    # Given the eight buses, with the tracker setting max_gap = 20 min (AVL polled every ~24 s)
    # When analysed
    outcomes = bus_outcomes(max_gap=1200)
    for name, (p, o) in outcomes.items():
        gaps_s = np.diff(p.track.t) / 1000.0
        k = int(np.argmax(gaps_s))
        trips = o.seg.trips
        # Then no trip spans the gap: the runs before and after it are separate trips
        assert not np.any((trips.start_ms <= p.track.t[k]) & (trips.end_ms >= p.track.t[k + 1])), name
        assert np.any(trips.end_ms <= p.track.t[k]) and np.any(trips.start_ms >= p.track.t[k + 1]), name
        # And the gap leg is no distance: the counted distance is the path without it
        legs = leg_lengths_m(o.track.lat, o.track.lng)
        assert o.counted_km <= (float(legs.sum()) - float(legs[k])) / 1000.0 + 1e-9, name
        assert_sane(o, max_kmh=60.0, trip_share=0.97, device_speed=False)
    total = sum(len(o.seg.trips) for _, o in outcomes.values())
    assert 16 <= total <= 20


# --------------------------------------------------------------------------------------------
# mm2fcd: 263 short floating-car tracks, each its own file


def fcd_outcomes() -> dict[str, Outcome]:
    return {name: analyse(p.track) for name, p in parsed("fcd_points_csv", "mm2fcd_points.csv").items()}


def test_fcd_tracks_are_short_separate_drives() -> None:
    # Given the 263 floating-car tracks, one file each (their repeated times collapsed on import)
    outcomes = fcd_outcomes()
    assert len(outcomes) == 263
    spans_h = [(int(o.track.t[-1]) - int(o.track.t[0])) / 3.6e6 for o in outcomes.values()]
    assert max(spans_h) * 60 == pytest.approx(52, abs=1)
    assert sum(spans_h) == pytest.approx(29, abs=0.5)
    # When analysed
    with_trips = {name: o for name, o in outcomes.items() if len(o.seg.trips)}
    # Then most tracks hold a trip (the others stand or move less than the smart filter's 300 m)
    assert len(with_trips) >= 240
    for o in with_trips.values():
        assert_sane(o, max_kmh=250.0, trip_share=0.9, device_speed=False)
    # And all are below 125 km/h (SOURCES.md: p90 74 km/h), track 230 too (see the test below)
    fast = sorted(name for name, o in with_trips.items() if o.max_kmh >= 125.0)
    assert fast == []
    assert sum(o.trip_km for o in with_trips.values()) == pytest.approx(760, rel=0.02)


def test_fcd_track_230_has_a_plausible_max_speed() -> None:
    # Given track 230: fixes every 15 s, then 26 s, then a last fix 317 m on after only 5 s
    fixes = parsed("fcd_points_csv", "mm2fcd_points.csv")["fcd-230.csv"]
    # When analysed (the 228 km/h leg is under the 250 km/h cleaning limit, so the fix stays)
    o = analyse(fixes.track)
    # Then the speed derived over the documented >= 30 s window (31 s: ~78 km/h) is the maximum
    assert o.max_kmh < 125.0


def test_average_speed_is_at_most_max_speed_also_with_derived_speeds() -> None:
    # Given the tracks without a device speed that are sampled every 2-30 s: buses and floating cars
    outcomes = [o for _, o in bus_outcomes().values()] + list(fcd_outcomes().values())
    # When their trips are computed
    slower = [
        (float(o.seg.trips.avg_speed_kmh[k]), float(o.seg.trips.max_speed_kmh[k]))
        for o in outcomes
        for k in range(len(o.seg.trips))
        if o.seg.trips.avg_speed_kmh[k] > o.seg.trips.max_speed_kmh[k]
    ]
    # Then no trip's average speed exceeds its maximum speed
    assert slower == []
