"""Trips and parkings against drives with known answers (docs/analytics.md, "Trips and parkings")."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fleet_reports.engine.clean import clean
from fleet_reports.engine.geo import haversine_m
from fleet_reports.engine.model import Track, TrackerInfo
from fleet_reports.engine.motion import Segments, Trips, TripSettings, merge_by_day, segment
from fleet_reports.engine.plugins.common import TrackerData
from fleet_reports.engine.plugins.trips import odometer_km
from fleet_reports.engine.timefilter import TimeFilter, cut_trips, local_days, windows
from fleet_reports.sim.drive import Scenario, Truth, TruthTrip

from tests.support.drives import Drive, TrueTrip

SETTINGS = TripSettings()


def assert_trips_match(seg: Segments, truth: list[TrueTrip], step_s: float) -> None:
    """Trip count equal; each boundary within one sampling interval; distance within 1 %."""
    trips = seg.trips
    assert len(trips) == len(truth), (trips.start_ms, [t.start_ms for t in truth])
    tol_ms = step_s * 1000
    for k, want in enumerate(truth):
        assert abs(int(trips.start_ms[k]) - want.start_ms) <= tol_ms
        assert abs(int(trips.end_ms[k]) - want.end_ms) <= tol_ms
        assert trips.distance_m[k] == pytest.approx(want.distance_m, rel=0.01)


@pytest.mark.parametrize("device_speed", [True, False], ids=["device-speed", "derived-speed"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_trips_separated_by_a_ten_minute_parking(device_speed: bool, seed: int) -> None:
    # Given a parking, a 10 km drive, a 10-minute parking with GPS jitter, a 5 km drive, a parking
    drive = (
        Drive(seed=seed)
        .halt(600, jitter_m=5)
        .start()
        .drive(10_000, 60)
        .park(600, jitter_m=5)
        .start()
        .drive(5_000, 50, bearing_deg=90)
        .park(900, jitter_m=5)
    )
    # When it is segmented
    seg = segment(drive.track(device_speed=device_speed), SETTINGS)
    # Then there are two trips matching the truth, and the middle parking sits between them
    assert_trips_match(seg, drive.trips, drive.step_s)
    middle = np.flatnonzero(
        (seg.parkings.start_ms >= seg.trips.end_ms[0]) & (seg.parkings.end_ms <= seg.trips.start_ms[1])
    )
    assert middle.size == 1
    assert seg.parkings.duration_s[middle[0]] == pytest.approx(600, abs=2 * drive.step_s)


def test_a_two_minute_traffic_halt_stays_inside_the_trip() -> None:
    # Given a drive with a 2-minute halt at a traffic light in the middle
    drive = Drive().halt(600, jitter_m=3).start().drive(6_000, 50).halt(120, jitter_m=3).drive(4_000, 70).park(600)
    # When it is segmented
    seg = segment(drive.track(), SETTINGS)
    # Then it is one trip of 10 km spanning the halt
    assert_trips_match(seg, drive.trips, drive.step_s)
    assert seg.trips.distance_m[0] == pytest.approx(10_000, rel=0.01)


@pytest.mark.parametrize("device_speed", [True, False], ids=["device-speed", "derived-speed"])
def test_parked_jitter_adds_no_distance_and_no_trip(device_speed: bool) -> None:
    # Given five hours parked with 8 m of GPS jitter (and occasional speed spikes from the device)
    drive = Drive(seed=5).halt(5 * 3600, jitter_m=8)
    track = drive.track(device_speed=device_speed)
    if device_speed:
        track.speed[::97] = 6.0
    # When it is segmented
    seg = segment(track, SETTINGS)
    # Then there is no trip, no distance, and a single parking over the whole time
    assert len(seg.trips) == 0
    assert seg.cum_distance_m[-1] == 0.0
    assert len(seg.parkings) == 1
    assert seg.parkings.duration_s[0] == pytest.approx(5 * 3600, abs=20)


def test_parking_position_is_the_median_of_its_fixes() -> None:
    # Given a long parking with jitter around a known point
    drive = Drive(lat=48.1, lng=11.5).halt(3600, jitter_m=10)
    # When it is segmented
    seg = segment(drive.track(), SETTINGS)
    # Then the parking's position is within a few metres of that point
    assert abs(seg.parkings.lat[0] - 48.1) * 111_000 < 3
    assert abs(seg.parkings.lng[0] - 11.5) * 111_000 * np.cos(np.radians(48.1)) < 3


def test_ignition_off_ends_the_trip_at_once() -> None:
    # Given a drive, a 2-minute stop with the ignition off (shorter than a parking), another drive
    drive = (
        Drive()
        .halt(600, ignition=0)
        .start()
        .drive(8_000, 60)
        .park(120, ignition=0)
        .start()
        .drive(4_000, 60)
        .park(900, ignition=0)
    )
    track = drive.track(ignition=True)
    # When it is segmented with ignition awareness (auto: the track has ignition values)
    seg = segment(track, SETTINGS)
    # Then the ignition-off stop splits it into two trips
    assert_trips_match(seg, drive.trips, drive.step_s)
    # And without ignition awareness the 2-minute stop is a halt inside one trip
    assert len(segment(track, TripSettings(ignition_aware=False)).trips) == 1


def test_idling_as_long_as_a_parking_is_an_engine_on_parking() -> None:
    # Given a drive, 3 minutes standing with the engine on (a queue), a drive, 20 minutes standing
    # with the engine on (a delivery with the cooling unit running), a drive, then ignition off
    drive = (
        Drive()
        .halt(600, ignition=0)
        .start()
        .drive(8_000, 60)
        .halt(180, jitter_m=3, ignition=1)
        .drive(2_000, 60)
        .halt(1200, jitter_m=3, ignition=1, end_trip=True)
        .start()
        .drive(4_000, 60)
        .park(900, ignition=0)
    )
    # When it is segmented
    seg = segment(drive.track(ignition=True), SETTINGS)
    # Then the 3-minute idling stays inside the first trip (its jitter adds no distance) and the
    # 20-minute one, as long as a parking, ends it: a parking with the engine running
    assert_trips_match(seg, drive.trips, drive.step_s)
    assert seg.trips.distance_m[0] == pytest.approx(10_000, rel=0.01)
    assert len(seg.parkings) == 3


def test_a_two_hour_gap_splits_the_trip_and_its_displacement_is_not_distance() -> None:
    # Given a drive, then two hours without data during which the vehicle moved 30 km, then a drive
    drive = (
        Drive().halt(600).start().drive(10_000, 60).end().gap(7200, move_m=30_000).start().drive(5_000, 50).park(900)
    )
    # When it is segmented
    seg = segment(drive.track(), SETTINGS)
    # Then two trips of 10 km and 5 km; the one before the gap ends at its last fix, the one after
    # starts at the first fix after it (nothing is known of the road in between)
    truth = drive.trips
    track = drive.track()
    after_gap = int(np.flatnonzero(np.diff(track.t) > 3600_000)[0]) + 1
    truth[1].start_ms = int(track.t[after_gap])
    truth[1].distance_m -= 50 / 3.6 * drive.step_s
    assert_trips_match(seg, truth, drive.step_s)
    assert seg.trips.end_ms[0] == track.t[after_gap - 1]
    assert seg.trips.distance_m.sum() == pytest.approx(15_000, rel=0.01)


def test_a_short_gap_counts_the_straight_leg() -> None:
    # Given a drive with a 10-minute gap (under max_gap) during which the vehicle drove 8 km straight
    drive = Drive().halt(600).start().drive(5_000, 60).gap(600, move_m=8_000).drive(5_000, 60).park(600)
    # When it is segmented
    seg = segment(drive.track(), SETTINGS)
    # Then it is one trip whose distance includes the straight 8 km leg
    assert len(seg.trips) == 1
    assert seg.trips.distance_m[0] == pytest.approx(18_000, rel=0.01)


def test_a_trip_still_moving_when_the_data_stops_is_kept() -> None:
    # Given a parking then a drive that is still going when the data ends
    drive = Drive().halt(900).start().drive(7_000, 80)
    # When it is segmented
    seg = segment(drive.track(), SETTINGS)
    # Then the trip is kept and ends at the last fix
    assert_trips_match(seg, drive.trips, drive.step_s)
    assert int(seg.trips.end_ms[0]) == int(drive.track().t[-1])


def _with_wander(drive: Drive, legs: int, metres: float) -> Drive:
    """Fixes reported as moving while wandering back and forth within a few dozen metres."""
    for k in range(legs):
        drive.drive(metres, 10, bearing_deg=0 if k % 2 == 0 else 180)
    return drive


def test_smart_filter_drops_a_drift_trip_within_a_small_circle() -> None:
    # Given a parking, 400 m of "moving" fixes wandering inside a 100 m circle, and a parking
    drive = _with_wander(Drive().halt(900), 8, 50).halt(900)
    track = drive.track()
    # When it is segmented with the smart filter
    seg = segment(track, SETTINGS, smart_filter=True)
    # Then the drift is not a trip and its time joins one parking
    assert len(seg.trips) == 0
    assert len(seg.parkings) == 1
    assert seg.parkings.start_ms[0] == track.t[0]
    # And without the filter it is reported as a trip of over 300 m
    raw = segment(track, SETTINGS, smart_filter=False)
    assert len(raw.trips) == 1
    assert raw.trips.distance_m[0] > 300


def test_smart_filter_drops_short_and_sparse_trips() -> None:
    # Given a 200 m hop between parkings, and a 1 km hop recorded with only three fixes
    short = Drive().halt(900).start().drive(200, 20, bearing_deg=45).park(900)
    sparse = Drive(step_s=60).halt(900).start().drive(1_000, 30).park(900)
    for drive in (short, sparse):
        track = drive.track()
        # When each is segmented with and without the smart filter
        kept = segment(track, SETTINGS, smart_filter=True)
        raw = segment(track, SETTINGS, smart_filter=False)
        # Then only the unfiltered segmentation reports the hop
        assert len(raw.trips) == 1
        assert len(kept.trips) == 0


def test_split_false_merges_the_trips_of_a_day() -> None:
    # Given three trips on one day and one the next day (UTC zone)
    drive = Drive()
    for _ in range(3):
        drive.halt(1800).start().drive(3_000, 40).park(600)
    drive.halt(24 * 3600).start().drive(2_000, 40).park(600)
    seg = segment(drive.track(), SETTINGS)
    assert len(seg.trips) == 4
    # When the trips are merged per local day
    _, bounds = local_days(int(seg.t[0]), int(seg.t[-1]), "UTC")
    merged = merge_by_day(seg.trips, bounds)
    # Then there is one trip per day, from the first start to the last end, with the summed distance
    assert len(merged) == 2
    assert merged.start_ms[0] == seg.trips.start_ms[0]
    assert merged.end_ms[0] == seg.trips.end_ms[2]
    assert merged.distance_m[0] == pytest.approx(seg.trips.distance_m[:3].sum())
    assert merged.distance_m[0] == pytest.approx(9_000, rel=0.01)


def test_trip_settings_take_defaults_then_tracker_overrides() -> None:
    # Given deployment defaults and a tracker's overrides (with an unknown key)
    defaults = {"min_idle_duration": 240, "parking_radius_m": 150}
    overrides = {"min_idle_duration": 600, "whatever": 1}
    # When settings are built
    s = TripSettings.build(defaults, overrides)
    # Then the override wins, defaults fill the rest, unknown keys are ignored
    assert s.min_idle_duration == 600
    assert s.parking_radius_m == 150
    assert s.idle_speed_threshold == 3.0


def test_min_idle_duration_override_turns_a_short_parking_into_a_halt() -> None:
    # Given two trips separated by a 10-minute parking
    drive = Drive().halt(600).start().drive(5_000, 60).park(600).start().drive(5_000, 60).park(600)
    track = drive.track()
    # When a tracker requires 15 minutes for a parking
    seg = segment(track, TripSettings(min_idle_duration=900))
    # Then it is a single trip
    assert len(seg.trips) == 1


def test_empty_and_single_fix_tracks() -> None:
    # Given no fixes, and a single fix
    one = Drive().halt(10).track()
    # When segmented / Then nothing is found and nothing breaks
    assert len(segment(one.take(np.array([], dtype=np.int64)), SETTINGS).trips) == 0
    assert len(segment(one, SETTINGS).trips) == 0


# --------------------------------------------------------------------------------------------
# Every rule of docs/analytics.md "Trips and parkings" against the road-like simulator (sim.drive.Scenario)
# --------------------------------------------------------------------------------------------

T0 = 1_601_942_400_000  # 2020-10-06 00:00:00 UTC
HOME = (55.0, 37.0)
SHOP = (55.05, 37.1)
FAR = (55.1, 37.05)


def simulate(sc: Scenario) -> tuple[Track, Truth]:
    track, truth = sc.build()
    kept, _ = clean(track, now_ms=int(track.t[-1]) + 1)
    return kept, truth


def assert_matches_truth(trips: Trips, truth: list[TruthTrip], interval_s: float) -> None:
    """docs/analytics.md, known-answer tests: trip count, each boundary within a sampling step, distance within 1 %."""
    assert len(trips) == len(truth), ([int(x) for x in trips.start_ms], [t.start_ms for t in truth])
    tol_ms = interval_s * 1000
    for k, want in enumerate(truth):
        assert abs(int(trips.start_ms[k]) - want.start_ms) <= tol_ms, k
        assert abs(int(trips.end_ms[k]) - want.end_ms) <= tol_ms, k
        assert trips.distance_m[k] == pytest.approx(want.distance_m, rel=0.01), k


@pytest.mark.parametrize(
    ("report_speed", "interval_s"),
    [
        (True, 5.0),
        (True, 10.0),
        (True, 30.0),
        (False, 5.0),
        (False, 10.0),
        (False, 30.0),
    ],
)
def test_sim_parkings_end_trips_and_short_halts_stay_inside(report_speed: bool, interval_s: float) -> None:
    # Given a device without ignition: drives with traffic halts, a 4-minute stop, 10-minute parkings
    sc = Scenario(T0, *HOME, seed=7, interval_s=interval_s, ignition=False, report_speed=report_speed)
    sc.park(20).drive([SHOP, FAR], cruise_kmh=90, halts=3).park(4).drive([SHOP], cruise_kmh=60)
    sc.park(10, jitter_m=8.0).drive([HOME], cruise_kmh=70, halts=2, halt_s=120).park(30)
    track, truth = simulate(sc)
    assert len(truth.trips) == 2
    # When segmented with the defaults (moving >= 3 km/h, parking >= 5 min within 200 m)
    seg = segment(track, SETTINGS, smart_filter=False)
    # Then the trips are the true ones: the 4-minute stop and the halts stay inside the first,
    # boundaries are back-dated to the fixes where the vehicle left and halted
    assert_matches_truth(seg.trips, truth.trips, interval_s)
    # And every true parking is found, at its true place (the median of its jittery fixes)
    assert len(seg.parkings) == len(truth.parkings)
    for k, want in enumerate(truth.parkings):
        assert abs(int(seg.parkings.start_ms[k]) - want.start_ms) <= interval_s * 1000
        assert abs(int(seg.parkings.end_ms[k]) - want.end_ms) <= interval_s * 1000
        assert haversine_m(seg.parkings.lat[k], seg.parkings.lng[k], want.lat, want.lng) < 10.0


@pytest.mark.parametrize("report_speed", [True, False], ids=["device-speed", "derived-speed"])
def test_sim_parked_jitter_adds_no_distance_and_no_speed(report_speed: bool) -> None:
    # Given an hour parked with 10 m GPS jitter, a drive, and another hour of jitter
    sc = Scenario(T0, *HOME, seed=3, ignition=False, report_speed=report_speed)
    sc.park(60, jitter_m=10.0).drive([SHOP], cruise_kmh=60).park(60, jitter_m=10.0)
    track, truth = simulate(sc)
    # When segmented
    seg = segment(track, SETTINGS, smart_filter=False)
    # Then only the drive is a trip, no parked fix moves and no distance is counted while parked
    assert_matches_truth(seg.trips, truth.trips, sc.interval_s)
    parked = (seg.t < seg.trips.start_ms[0]) | (seg.t > seg.trips.end_ms[0])
    assert not seg.moving[parked].any()
    assert float(seg.cum_distance_m[-1]) == pytest.approx(truth.distance_m, rel=0.01)


def test_sim_ignition_off_ends_the_trip_at_once_and_long_idling_too() -> None:
    # Given an ignition-reporting device: a 2-minute stop with ignition off, 3 minutes idling,
    # then 10 minutes idling
    sc = Scenario(T0, *HOME, seed=5, ignition=True)
    sc.park(10).drive([SHOP], cruise_kmh=70).park(2).drive([FAR], cruise_kmh=70).idle(3)
    sc.drive([SHOP], cruise_kmh=70).idle(10).drive([HOME], cruise_kmh=60).park(15)
    track, truth = simulate(sc)
    assert len(truth.trips) == 3
    # When segmented (ignition-aware: the track has ignition values)
    seg = segment(track, SETTINGS, smart_filter=False)
    # Then the 2-minute ignition-off stop ends a trip, the 3-minute idling stays inside the
    # second and the 10-minute idling ends it
    assert_matches_truth(seg.trips, truth.trips, sc.interval_s)


def test_sim_a_long_gap_ends_the_trip_and_its_displacement_is_not_distance() -> None:
    # Given a drive, then 90 minutes without signal during which the vehicle drove on, then a drive
    sc = Scenario(T0, *HOME, seed=11, ignition=False)
    sc.park(10).drive([SHOP], cruise_kmh=60).gap(90, moving=True).drive([FAR], cruise_kmh=60)
    sc.park(120).drive([HOME], cruise_kmh=60).park(20)
    track, truth = simulate(sc)
    # When segmented
    seg = segment(track, SETTINGS, smart_filter=False)
    # Then the trip still moving when the data stopped is kept and ends at the last fix before
    # the gap; the unseen displacement is not distance
    assert_matches_truth(seg.trips, truth.trips, sc.interval_s)
    assert len(seg.trips) == 2
    assert float(seg.trips.distance_m.sum()) == pytest.approx(truth.distance_m, rel=0.01)


def test_sim_a_short_gap_counts_the_straight_leg() -> None:
    # Given a drive with 10 minutes of signal loss in the middle of it
    sc = Scenario(T0, *HOME, seed=6, ignition=False)
    sc.park(10).drive([SHOP, FAR], cruise_kmh=90)
    sc.signal_loss(T0 + 15 * 60_000, T0 + 25 * 60_000)
    sc.park(20)
    track, truth = simulate(sc)
    # When segmented
    seg = segment(track, SETTINGS, smart_filter=False)
    # Then it is one trip, whose distance counts the straight leg across the loss (the truth's)
    assert_matches_truth(seg.trips, truth.trips, sc.interval_s)


def test_sim_smart_filter_turns_a_short_hop_into_parking() -> None:
    # Given two parkings with a 150 m hop between them, then a real drive
    sc = Scenario(T0, *HOME, seed=2, ignition=False, noise=False)
    hop = (HOME[0] + 0.00135, HOME[1])
    sc.park(20).drive([hop], cruise_kmh=20, road=False).park(20).drive([SHOP], cruise_kmh=60).park(20)
    track, truth = simulate(sc)
    assert len(truth.trips) == 2
    # When segmented with and without the smart filter
    raw = segment(track, SETTINGS, smart_filter=False)
    kept = segment(track, SETTINGS, smart_filter=True)
    # Then without it both trips are found; with it the hop is no trip and its time joins the
    # parking around it, which now lasts from the first parking's start to the real drive
    assert_matches_truth(raw.trips, truth.trips, sc.interval_s)
    assert_matches_truth(kept.trips, truth.trips[1:], sc.interval_s)
    assert int(kept.parkings.start_ms[0]) == int(raw.parkings.start_ms[0])
    assert abs(int(kept.parkings.end_ms[0]) - truth.trips[1].start_ms) <= sc.interval_s * 1000


def test_sim_split_false_gives_one_trip_per_local_day() -> None:
    # Given three drives on one Moscow day
    sc = Scenario(T0, *HOME, seed=4, ignition=False)
    sc.park(6 * 60).drive([SHOP], cruise_kmh=60).park(60).drive([FAR], cruise_kmh=60).park(60)
    sc.drive([HOME], cruise_kmh=60).park(60)
    track, truth = simulate(sc)
    assert len(truth.trips) == 3
    seg = segment(track, SETTINGS, smart_filter=False)
    # When merged per local day
    _, bounds = local_days(int(seg.t[0]), int(seg.t[-1]), "Europe/Moscow")
    merged = merge_by_day(seg.trips, bounds)
    # Then one trip spans the first to the last true boundary with all the distance
    assert len(merged) == 1
    assert abs(int(merged.start_ms[0]) - truth.trips[0].start_ms) <= sc.interval_s * 1000
    assert abs(int(merged.end_ms[0]) - truth.trips[-1].end_ms) <= sc.interval_s * 1000
    assert float(merged.distance_m[0]) == pytest.approx(truth.distance_m, rel=0.01)


def test_sim_tracker_override_of_min_idle_duration() -> None:
    # Given two drives separated by an 8-minute parking (a parking by the defaults)
    sc = Scenario(T0, *HOME, seed=8, ignition=False)
    sc.park(10).drive([SHOP], cruise_kmh=60).park(8).drive([FAR], cruise_kmh=60).park(10)
    track, truth = simulate(sc)
    assert len(truth.trips) == 2
    # When the tracker's trip_detection asks for 10 minutes
    settings = TripSettings.build({"min_idle_duration": 300}, {"min_idle_duration": 600})
    seg = segment(track, settings, smart_filter=False)
    # Then the stop is a halt inside one trip from the first start to the second end
    merged = [TruthTrip(truth.trips[0].start_ms, truth.trips[1].end_ms, truth.distance_m, (0, 0), (0, 0), 0.0)]
    assert_matches_truth(seg.trips, merged, sc.interval_s)


def test_sim_average_speed_never_exceeds_max_speed() -> None:
    # Given a device without speed sampled every 30 s (speeds are derived from positions)
    sc = Scenario(T0, *HOME, seed=9, interval_s=30.0, ignition=False, report_speed=False)
    sc.park(10).drive([SHOP], cruise_kmh=50, halts=2).park(10).drive([HOME], cruise_kmh=90).park(10)
    track, truth = simulate(sc)
    # When segmented
    seg = segment(track, SETTINGS, smart_filter=False)
    # Then each trip's max speed is at least its average, and close to the true top speed
    assert_matches_truth(seg.trips, truth.trips, sc.interval_s)
    assert np.all(seg.trips.max_speed_kmh >= seg.trips.avg_speed_kmh)
    for k, want in enumerate(truth.trips):
        assert seg.trips.max_speed_kmh[k] == pytest.approx(want.max_speed_kmh, rel=0.15)


BERLIN = "Europe/Berlin"
FRI_23_OCT_UTC = 1_603_411_200_000  # 2020-10-23 00:00 UTC (a Friday; DST ends Sunday 25th)


def _berlin(day: int, hh: int, mm: int = 0) -> int:
    """UTC ms of a Berlin wall-clock time in October 2020 (CEST until the 25th, CET after)."""
    return int(dt.datetime(2020, 10, day, hh, mm, tzinfo=ZoneInfo(BERLIN)).timestamp() * 1000)


def _three_days() -> tuple[Track, Truth]:
    """Friday: a drive across 08:00; Saturday: a drive at 10:00; Monday (after the DST change):
    a drive across 18:00 (Berlin wall clock)."""
    sc = Scenario(_berlin(23, 7, 0), *HOME, seed=21, ignition=False)
    sc.park(until_ms=_berlin(23, 7, 50)).drive([SHOP, FAR], cruise_kmh=60)
    sc.park(until_ms=_berlin(24, 10, 0)).drive([HOME], cruise_kmh=60)
    sc.park(until_ms=_berlin(26, 17, 50)).drive([SHOP], cruise_kmh=50).park(30)
    return simulate(sc)


def test_sim_time_filter_cuts_trips_at_local_window_edges_across_dst() -> None:
    # Given three drives over a DST change, and a weekday filter 08:00-18:00 Berlin time
    track, truth = _three_days()
    assert len(truth.trips) == 3
    assert truth.trips[0].start_ms < _berlin(23, 8) < truth.trips[0].end_ms
    assert truth.trips[2].start_ms < _berlin(26, 18) < truth.trips[2].end_ms
    seg = segment(track, SETTINGS, smart_filter=False)
    assert_matches_truth(seg.trips, truth.trips, 10.0)
    a, b = int(track.t[0]), int(track.t[-1])
    weekdays = TimeFilter.parse({"from": "08:00", "to": "18:00", "weekdays": [1, 2, 3, 4, 5]})
    # When the trips are cut at the filter's windows
    cut = cut_trips(seg, *windows(a, b, BERLIN, weekdays))
    # Then Friday's trip starts at 08:00 CEST, Saturday's is gone, Monday's ends at 18:00 CET
    assert len(cut) == 2
    assert int(cut.start_ms[0]) == _berlin(23, 8) == FRI_23_OCT_UTC + 6 * 3_600_000
    assert abs(int(cut.end_ms[0]) - truth.trips[0].end_ms) <= 10_000
    assert abs(int(cut.start_ms[1]) - truth.trips[2].start_ms) <= 10_000
    assert int(cut.end_ms[1]) == _berlin(26, 18) == FRI_23_OCT_UTC + 3 * 86_400_000 + 17 * 3_600_000


def test_sim_a_filter_and_its_complement_share_the_distance() -> None:
    # Given the three drives, a daily 08:00-18:00 filter and its complement 18:00-08:00
    track, truth = _three_days()
    seg = segment(track, SETTINGS, smart_filter=False)
    a, b = int(track.t[0]), int(track.t[-1])
    day = TimeFilter.parse({"from": "08:00", "to": "18:00"})
    night = TimeFilter.parse({"from": "18:00", "to": "08:00"})
    # When the trips are cut at each
    in_day = cut_trips(seg, *windows(a, b, BERLIN, day))
    in_night = cut_trips(seg, *windows(a, b, BERLIN, night))
    # Then the pieces are the trips cut in two where they cross an edge, and their distances add
    # up to the true distance within 1 %
    assert len(in_day) == 3 and len(in_night) == 2
    assert in_night.end_ms[0] == in_day.start_ms[0] and in_day.end_ms[2] == in_night.start_ms[1]
    total = float(in_day.distance_m.sum() + in_night.distance_m.sum())
    assert total == pytest.approx(truth.distance_m, rel=0.01)
    assert total == pytest.approx(float(seg.trips.distance_m.sum()), rel=1e-9)


def test_sim_odometer_at_period_end_from_the_device_or_the_base() -> None:
    # Given a device whose odometer reads 12,345 km at the start, with two drives
    sc = Scenario(T0, *HOME, seed=23, ignition=False, odometer_km=12_345.0)
    sc.park(10).drive([SHOP], cruise_kmh=60).park(20).drive([HOME], cruise_kmh=60).park(10)
    track, truth = simulate(sc)
    seg = segment(track, SETTINGS)
    info = TrackerInfo(1, "Odo")
    # When the odometer at the period end is asked for
    from_device = odometer_km(TrackerData(info, SETTINGS, track), seg, int(track.t[0]))
    # Then it is the device's reading: the start value plus the true distance (within 1 %)
    assert from_device == pytest.approx(12_345.0 + truth.distance_m / 1000.0, rel=0.01 * truth.distance_m / 12_345e3)
    # Given the same fixes without odometer values, and a base of 500 km at the start
    bare = replace(track, odometer=np.full(len(track), np.nan))
    based = replace(info, odometer_base_km=500.0, odometer_base_ms=int(track.t[0]))
    # When asked / Then it is the base plus the distance computed since, within 1 %
    from_base = odometer_km(TrackerData(based, SETTINGS, bare), seg, int(track.t[0]))
    assert from_base - 500.0 == pytest.approx(truth.distance_m / 1000.0, rel=0.01)
