"""Real vehicle tracks (../shared/data/real-tracks, see its SOURCES.md) through the documented path:
convert (fleet_reports.convert) -> parse_fixes (the importer's parser) -> clean -> segment.

The files are read from beside the repository, never copied into it; each test is skipped when
they are absent, and its reason says how to get them (docs/real-tracks.md). The expected figures
are SOURCES.md's, computed there independently of this code (point counts, spans, raw path
length); docs/real-tracks.md lists what the engine measures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from fleet_reports.convert import convert
from fleet_reports.engine.catalog import SpeedingParams
from fleet_reports.engine.clean import clean
from fleet_reports.engine.geo import haversine_m, leg_lengths_m
from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.engine.motion import Segments, TripSettings, segment
from fleet_reports.engine.plugins.common import TrackerData
from fleet_reports.engine.plugins.speeding import Violations, compute_violations
from fleet_reports.engine.report import build_report
from fleet_reports.ingest import ParsedFixes, parse_fixes

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real-tracks"
GET_TRACKS = (
    "put the real tracks of the Fleet Reports shared data at ../shared/data/real-tracks beside the repository"
    " (kept outside it for their licences; docs/real-tracks.md, Getting the tracks, says where each file comes from)"
)
F64 = npt.NDArray[np.float64]
pytestmark = pytest.mark.slow  # whole real files through the pipeline: make test, not make check
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
        pytest.skip(f"real track {name} is not in {REAL.resolve()}: {GET_TRACKS}")
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


def test_both_envirocar_files_are_one_car_with_27_6_hours_of_no_data_between_its_drives() -> None:
    # Given the two enviroCar drives of the same car as one tracker's fixes (each file's start and
    # end were cut off for privacy, so the car is not seen where it parked)
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
    # And nothing shows where the car stood meanwhile: no parking, so the trips report's idle time
    # after each trip is zero, as the stops report for the same fixes has no stop
    assert len(o.seg.parkings) == 0
    report = trips_report(track, "Europe/Berlin", "2020-03-24", "2020-03-25", show_idle_duration=True)
    rows = [row for group in report["sheets"][0]["sections"][0]["data"] for row in group["rows"]]
    assert len(rows) == 2
    assert [row["idle_duration"]["raw"] for row in rows] == [0.0, 0.0]
    assert [row["length"]["v"] for row in rows] == ["34.52", "42.95"]
    stops = trips_report(track, "Europe/Berlin", "2020-03-24", "2020-03-25", plugin_id=6)
    assert [section["type"] for sheet in stops["sheets"] for section in sheet["sections"]] == ["text"]


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
        plugin={"plugin_id": 4, "split": True, "filter": True, **options}
        if options.get("plugin_id", 4) == 4
        else dict(options),
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


def silent_halts(track: Track, min_s: float = 300.0, radius_m: float = 200.0, idle_kmh: float = 3.0) -> list[int]:
    """Legs (index of their first fix) that show a halt by themselves: no fix for at least a
    parking's length, both ends within the parking radius, an implied speed below the idle speed."""
    legs = leg_lengths_m(track.lat, track.lng)
    dt_s = np.diff(track.t) / 1000.0
    halt = (dt_s >= min_s) & (legs <= radius_m) & (legs / np.maximum(dt_s, 1e-9) * 3.6 < idle_kmh)
    return [int(k) for k in np.flatnonzero(halt)]


def assert_halts_are_parkings(o: Outcome) -> None:
    """Every silent halt lies inside a parking and inside no trip."""
    t, parkings, trips = o.track.t, o.seg.parkings, o.seg.trips
    for k in silent_halts(o.track):
        a, b = int(t[k]), int(t[k + 1])
        assert np.any((parkings.start_ms <= a) & (parkings.end_ms >= b)), (a, b)
        assert not np.any((trips.start_ms < b) & (trips.end_ms > a)), (a, b)


def test_dg100_logger_stops_are_gaps_and_each_is_a_parking() -> None:
    # Given the DG-100 log (GPX as it is): it writes nothing while the car stands, so its stops are
    # data gaps between fixes whose device speed is still 3-11 km/h; the evening of 2020-02-14
    # halts about 72 minutes (gaps of 54.6 and 14.2 min), 44, 11 (5.3 and 5.5) and 21 minutes,
    # the fixes either side of each gap metres apart
    fixes = only("", "gpsbabel_dg100.gpx")
    track = fixes.track
    evening = (ms("2020-02-14T18:00:00Z"), ms("2020-02-15T00:20:00Z"))
    halts = [k for k in silent_halts(track) if evening[0] <= track.t[k] and track.t[k + 1] < evening[1]]
    assert [round((int(track.t[k + 1]) - int(track.t[k])) / 60_000, 1) for k in halts] == [
        54.6,
        14.2,
        44.2,
        5.3,
        5.5,
        21.2,
    ]
    assert all(float(track.speed[k]) > 3.0 and float(track.speed[k + 1]) > 3.0 for k in halts)
    # When analysed with the default settings
    o = analyse(track)
    # Then every such gap is a parking inside no trip: the evening is four trips, not one of 6 h
    assert_sane(o)
    assert_halts_are_parkings(o)
    trips = o.seg.trips
    in_evening = (trips.start_ms >= evening[0]) & (trips.end_ms <= evening[1])
    assert int(np.count_nonzero(in_evening)) == 4
    assert float(trips.duration_s[in_evening].max()) < 2 * HOUR_S
    # And no distance is lost or invented: the trips hold SOURCES.md's 317.8 km within 0.5 %, and
    # no trip's average speed is a halt's crawl
    assert o.trip_km == pytest.approx(317.8, rel=0.005)
    assert float(trips.avg_speed_kmh.min()) > 10.0
    # And on 2020-05-08 (4.6 km in 82 min with three halts) the halts are parkings too
    may = (trips.start_ms >= ms("2020-05-08T00:00:00Z")) & (trips.end_ms <= ms("2020-05-09T00:00:00Z"))
    assert int(np.count_nonzero(may)) == 2
    assert float(trips.avg_speed_kmh[may].min()) > 10.0
    # When the tracker's max_gap is 10 minutes (the gaps are no trip break by that setting alone)
    short = analyse(track, max_gap=600)
    # Then the trips are the same: the gaps are parkings either way
    assert_sane(short)
    assert np.array_equal(short.seg.trips.start_ms, trips.start_ms)
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
        # distance (docs/analytics.md: a shorter gap counts the straight leg), inside one trip
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
        # (the rest of the counted distance: buses edging forward at their termini, now parkings)
        assert_sane(o, max_kmh=60.0, trip_share=0.93, device_speed=False)
    total = sum(len(o.seg.trips) for _, o in outcomes.values())
    assert 18 <= total <= 24


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
    # And all are below 135 km/h (SOURCES.md: p90 74 km/h; fcd-083 drives 125 km/h on average over
    # 35 s of its fixes, 08:38:36-08:39:11), track 230 too (see the test below)
    fast = sorted(name for name, o in with_trips.items() if o.max_kmh >= 135.0)
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


# --------------------------------------------------------------------------------------------
# Speeds derived from positions next to sparsely sampled halts (issue #9, defect 2)


def fcd(name: str) -> Outcome:
    return analyse(parsed("fcd_points_csv", "mm2fcd_points.csv")[f"{name}.csv"].track)


def driving_legs_m(track: Track, a_ms: int, b_ms: int, min_m: float = 0.0) -> float:
    """Metres of the legs between ``a_ms`` and ``b_ms`` whose own implied speed is a driving speed
    (at least 3 km/h), and at least ``min_m`` long."""
    inside = (track.t[:-1] >= a_ms) & (track.t[1:] <= b_ms)
    legs = leg_lengths_m(track.lat, track.lng)
    kmh = legs / (np.diff(track.t) / 1000.0) * 3.6
    return float(legs[inside & (kmh >= 3.0) & (legs >= min_m)].sum())


def test_fcd_005_an_eight_minute_silence_between_two_drives_is_a_parking() -> None:
    # Given floating car 005: fixes at 24-52 km/h until 11:25:44, no fix for 8.1 minutes, the next
    # fix 27 m away, and fixes at 16-151 km/h again from 11:33:51
    o = fcd("fcd-005")
    silence = (ms("2019-03-19T11:25:44Z"), ms("2019-03-19T11:33:51Z"))
    assert [(int(o.track.t[k]), int(o.track.t[k + 1])) for k in silent_halts(o.track)] == [silence]
    # When analysed
    trips, parkings = o.seg.trips, o.seg.parkings
    # Then the silence is a parking that ends one trip and starts the next
    assert [(int(a), int(b)) for a, b in zip(parkings.start_ms, parkings.end_ms, strict=True)] == [silence]
    assert silence[0] in trips.end_ms.tolist() and silence[1] in trips.start_ms.tolist()
    # And the driving on either side of it is driven distance: both trips hold at least the legs
    # whose own speed is a driving speed (the 30 s window used to read them as standing)
    around = driving_legs_m(o.track, ms("2019-03-19T11:25:14Z"), ms("2019-03-19T11:34:22Z"))
    assert around > 500.0
    counted = float(o.seg.cum_distance_m[np.searchsorted(o.track.t, ms("2019-03-19T11:34:22Z"))]) - float(
        o.seg.cum_distance_m[np.searchsorted(o.track.t, ms("2019-03-19T11:25:14Z"))]
    )
    assert counted == pytest.approx(around, rel=0.03)


def test_fcd_188_the_drive_after_a_sparse_halt_starts_when_the_fixes_move() -> None:
    # Given floating car 188: a halt sampled sparsely, then 251 m driven at 17-59 km/h between
    # 15:42:11 and 15:42:40 (every 1-7 s)
    o = fcd("fcd-188")
    start = ms("2019-03-22T15:42:11Z")
    # When analysed
    trips = o.seg.trips
    k = int(np.flatnonzero(trips.end_ms > start)[0])
    # Then the trip starts at 15:42:11, and its distance holds every leg driven from there to its
    # end (2.46 km; the windowed speed read 1.7-2.2 km/h and lost 251 m) plus the leg that left
    # the parking (137 m from the last fix seen there, 7.6 min before), and no more than the path
    i = int(np.searchsorted(o.track.t, start))
    assert int(trips.start_ms[k]) == start
    driven = driving_legs_m(o.track, start, int(trips.end_ms[k]))
    assert driven > 2400.0
    legs = leg_lengths_m(o.track.lat[i - 1 : int(trips.end_idx[k]) + 1], o.track.lng[i - 1 : int(trips.end_idx[k]) + 1])
    assert float(legs[0]) == pytest.approx(137, abs=1)
    assert driven + float(legs[0]) - 1.0 <= float(trips.distance_m[k]) <= float(legs.sum()) + 1.0


def test_bus_4722_a_174_m_leg_at_19_kmh_between_two_slow_fixes_is_driven() -> None:
    # Given bus 4722 polled every 33 s: at 16:46:17 and 16:46:50 its windowed speeds read 2.0 and
    # 0.7 km/h, yet it moved 174 m between them (19 km/h)
    _, o = bus_outcomes()["bus-4722.csv"]
    a, b = ms("2026-01-26T16:46:17Z"), ms("2026-01-26T16:46:50Z")
    i = int(np.searchsorted(o.track.t, a))
    assert int(o.track.t[i + 1]) == b
    assert float(leg_lengths_m(o.track.lat[i : i + 2], o.track.lng[i : i + 2])[0]) == pytest.approx(174, abs=1)
    # When analysed
    # Then the leg is inside a trip and counted as distance
    trips = o.seg.trips
    assert np.any((trips.start_ms <= a) & (trips.end_ms >= b))
    assert float(o.seg.cum_distance_m[i + 1] - o.seg.cum_distance_m[i]) == pytest.approx(174, abs=1)


# --------------------------------------------------------------------------------------------
# Peaks of speeds derived from positions (issue #9, defects 3 and 4)


def peak_5s(track: Track, a_ms: int | None = None, b_ms: int | None = None) -> tuple[float, F64, F64]:
    """The highest straight-line speed from a fix to the first fix at least 5 s later (windows
    across a step of more than 5 s skipped), and each window's start and end times and speed."""
    t = track.t
    j = np.searchsorted(t, t + 5000, side="left")
    ok = j < len(track)
    i = np.flatnonzero(ok)
    j = j[ok]
    steps = np.diff(t)
    longest = np.array([steps[x:y].max() for x, y in zip(i.tolist(), j.tolist(), strict=True)])
    keep = longest <= 5000
    i, j = i[keep], j[keep]
    d = haversine_m(track.lat[i], track.lng[i], track.lat[j], track.lng[j])
    kmh = d / ((t[j] - t[i]) / 1000.0) * 3.6
    return float(kmh.max()), np.stack((t[i], t[j])).astype(np.float64), kmh


def test_barefoot_peak_speed_is_the_peak_of_the_fixes() -> None:
    # Given the 1 Hz Munich drive without device speed, whose fixes reach 112.7 km/h over 5 s
    o = analyse(only("barefoot_json", "barefoot_x0001-001.json").track)
    peak, windows, kmh = peak_5s(o.track)
    assert peak == pytest.approx(112.7, abs=0.1)
    # When analysed
    # Then the trip's max speed is that peak within 1 % (a 30 s window clipped it to 104.2)
    assert o.max_kmh == pytest.approx(peak, rel=0.01)
    # And a 90 km/h speed violation lasts as long as the fixes are over 90 km/h (within 10 s)
    rows = violations(o, 90.0)
    longest = int(np.argmax(rows.duration_s))
    a, b = int(rows.start_ms[longest]), int(rows.end_ms[longest])
    over = (kmh > 90.0) & (windows[1] >= a - 60_000) & (windows[0] <= b + 60_000)
    first, last = windows[0][over].min(), windows[1][over].max()
    assert abs(a - first) <= 10_000
    assert abs(b - last) <= 10_000


def violations(o: Outcome, limit_kmh: float) -> Violations:
    params = SpeedingParams(plugin_id=27, max_speed=limit_kmh, min_duration_minutes=0)
    data = TrackerData(TrackerInfo(1, "real track"), TripSettings(), o.track)
    return compute_violations(params, limit_kmh, data, None)


def all_outcomes() -> list[tuple[str, Outcome]]:
    out = [(name, o) for name, (_, o) in bus_outcomes().items()]
    out += [(name, o) for name, o in fcd_outcomes().items()]
    for kind, name in [
        ("envirocar_geojson", "envirocar_track_1.json"),
        ("envirocar_geojson", "envirocar_track_2.json"),
        ("barefoot_json", "barefoot_x0001-001.json"),
        ("seventymai_txt", DORIEL),
        ("", "gpsbabel_dg100.gpx"),
        ("", "gpsbabel_sbn-v13.gpx"),
    ]:
        out.append((name, analyse(only(kind, name).track)))
    return out


def test_on_every_real_track_no_speed_violation_is_faster_on_average_than_at_its_maximum() -> None:
    # Given every real track, and speed limits of 60, 90 and 100 km/h with no minimum duration
    # When the speed violations are computed
    faster = [
        (name, limit, k)
        for name, o in all_outcomes()
        for limit in (60.0, 90.0, 100.0)
        for rows in [violations(o, limit)]
        for k in range(len(rows))
        if rows.avg_speed_kmh[k] > rows.max_speed_kmh[k] + 1e-9
    ]
    # Then no row's average speed exceeds its maximum speed
    assert faster == []


def test_on_every_real_track_halts_are_parkings_and_driving_legs_are_distance() -> None:
    # Given every real track
    for name, o in all_outcomes():
        # When analysed
        # Then every halt the gaps show (5 min or more, within 200 m, slower than 3 km/h) is a parking
        assert_halts_are_parkings(o)
        # And each trip holds at least its legs whose own implied speed is a driving speed and that
        # are longer than GPS jitter (50 m)
        trips = o.seg.trips
        for k in range(len(trips)):
            driven = driving_legs_m(o.track, int(trips.start_ms[k]), int(trips.end_ms[k]), min_m=50.0)
            assert float(trips.distance_m[k]) >= driven - 1e-6, (name, k)


def test_fcd_184_idle_time_after_the_last_trip_ends_with_the_data() -> None:
    # Given floating car 184, whose fixes span minutes, in a report over the whole 272 days of the
    # floating car data (2018-07-02 to 2019-03-31)
    track = parsed("fcd_points_csv", "mm2fcd_points.csv")["fcd-184.csv"].track
    # When its trips report with idle durations is built
    report = trips_report(track, "UTC", "2018-07-02", "2019-03-31", show_idle_duration=True)
    rows = [row for group in report["sheets"][0]["sections"][0]["data"] for row in group["rows"]]
    # Then the idle time after its last trip lasts no longer than the fixes that show it parked
    # (it read 6543:41 h, the time to the period end)
    last_trip_end = rows[-1]["to"]["raw"]
    assert 0.0 <= rows[-1]["idle_duration"]["raw"] <= (int(track.t[-1]) - last_trip_end) / 1000.0
    # And every idle time is time the stops report shows as parked
    o = analyse(track)
    parked_s = float(o.seg.parkings.duration_s.sum())
    assert sum(row["idle_duration"]["raw"] for row in rows) <= parked_s + 1e-6
