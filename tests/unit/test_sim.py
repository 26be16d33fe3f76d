"""The drive simulator: geometry, known-answer scenarios and the demo fleet's tracks."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet_reports.demo import (
    DEMO_TIME_ZONE,
    DEMO_TRACKERS,
    PLACES,
    demo_days,
    demo_local_day,
    demo_track,
    place_named,
)
from fleet_reports.engine.model import Track
from fleet_reports.sim import geo
from fleet_reports.sim.drive import (
    FuelSensor,
    MeteringSensor,
    Scenario,
    TemperatureSensor,
    Truth,
    road_path,
)

T0 = 1_601_942_400_000  # 2020-10-06 00:00:00 UTC
HOME = (55.0, 37.0)
SHOP = (55.05, 37.1)
FAR = (55.1, 37.05)
MSK = ZoneInfo(DEMO_TIME_ZONE)


def day_scenario(seed: int = 1, **kwargs: object) -> Scenario:
    """A small day: park, drive with halts, a short stop, drive back, an outlier, a signal loss."""
    sc = Scenario(T0, *HOME, seed=seed, **kwargs)  # type: ignore[arg-type]
    sc.park(20).drive([SHOP, FAR], cruise_kmh=90, halts=3).park(15)
    sc.drive([HOME], cruise_kmh=60, halts=1, halt_s=80).park(10).outlier(5.0).park(10)
    sc.drive([SHOP], cruise_kmh=70).gap(12).park(30)
    return sc


def arrays(track: Track) -> dict[str, np.ndarray]:
    out = {k: getattr(track, k) for k in ("t", "lat", "lng", "speed", "heading", "alt", "satellites", "hdop")}
    out.update(odometer=track.odometer, ignition=track.ignition)
    out.update({f"sensor:{k}": v for k, v in track.sensors.items()})
    return out


def index_of(track: Track, t_ms: int) -> int:
    i = int(np.searchsorted(track.t, t_ms))
    assert i < len(track) and track.t[i] == t_ms, f"{t_ms} is not a fix time"
    return i


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def test_haversine_uses_the_mean_earth_radius() -> None:
    # Given one degree of latitude along a meridian
    d = geo.distance_m(55.0, 37.0, 56.0, 37.0)
    # Then it is pi * R / 180 with R = 6,371,008.8 m
    assert d == pytest.approx(math.pi * 6_371_008.8 / 180.0, rel=1e-12)


def test_destination_and_bearing_are_inverse() -> None:
    # Given points around Moscow and bearings/distances (vectorised)
    lat = np.array([55.5, 54.9, 55.1])
    lng = np.array([36.9, 37.3, 37.6])
    bearing = np.array([0.0, 135.0, 271.0])
    dist = np.array([1_000.0, 25_000.0, 80_000.0])
    # When walking from each point
    lat2, lng2 = geo.destination(lat, lng, bearing, dist)
    # Then the distance and the initial bearing come back
    np.testing.assert_allclose(geo.haversine_m(lat, lng, lat2, lng2), dist, rtol=1e-9)
    turn = np.mod(geo.bearing_deg(lat, lng, lat2, lng2) - bearing + 180.0, 360.0) - 180.0
    np.testing.assert_allclose(turn, 0.0, atol=1e-6)


def test_path_length_and_offsets() -> None:
    # Given a polyline and a point shifted by 30 m east and 40 m north
    assert geo.path_length_m([55.0, 55.0, 55.01], [37.0, 37.0, 37.0]) == pytest.approx(1111.95, abs=0.01)
    lat, lng = geo.offset_m(55.0, 37.0, 30.0, 40.0)
    # Then the shift is 50 m
    assert geo.distance_m(55.0, 37.0, float(lat), float(lng)) == pytest.approx(50.0, abs=0.01)
    np.testing.assert_allclose(geo.cumulative_m([55.0, 55.01], [37.0, 37.0]), [0.0, 1111.95], atol=0.01)


def test_road_path_hits_a_target_length_and_its_ends() -> None:
    # Given two towns 72 km apart and a target road length of 106.29 km
    a, via, b = (55.5310, 36.9674), (55.3856, 36.7340), (54.9219, 37.3355)
    # When the road is shaped
    lat, lng = road_path([a, via, b], seed=4, target_m=106_290.0)
    # Then it starts and ends at the towns, has that length and dense vertices
    assert (lat[0], lng[0]) == pytest.approx(a) and (lat[-1], lng[-1]) == pytest.approx(b)
    assert geo.path_length_m(lat, lng) == pytest.approx(106_290.0, abs=1.0)
    assert geo.leg_lengths_m(lat, lng).max() < 60.0
    # And it is deterministic for the seed
    lat2, _ = road_path([a, via, b], seed=4, target_m=106_290.0)
    np.testing.assert_array_equal(lat, lat2)


# --------------------------------------------------------------------------------------------
# Scenario: determinism and invariants
# --------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_arrays_and_another_seed_does_not() -> None:
    # Given the same scenario built twice with one seed, and once with another
    sensors = (FuelSensor(), TemperatureSensor(), MeteringSensor())
    a, truth_a = day_scenario(seed=7, sensors=sensors).build()
    b, truth_b = day_scenario(seed=7, sensors=sensors).build()
    c, _ = day_scenario(seed=8, sensors=sensors).build()
    # Then the first two are identical, array by array, truth included
    for name, values in arrays(a).items():
        np.testing.assert_array_equal(values, arrays(b)[name], err_msg=name)
    assert truth_a == truth_b
    # And the third differs
    assert len(a) != len(c) or not np.array_equal(a.lat, c.lat)


def test_time_is_strictly_increasing_with_irregular_and_sleepy_sampling() -> None:
    # Given scenarios with jittered sampling and sparse parked fixes
    for kwargs in (
        {},
        {"jitter_s": 7.0},
        {"park_interval_s": 60.0},
        {"interval_s": 30.0, "jitter_s": 4.0},
        {"halt_interval_s": 120.0, "jitter_s": 3.0},
        {"sleep_when_standing": True},
    ):
        track, _ = day_scenario(**kwargs).build()  # type: ignore[arg-type]
        # Then times increase strictly and the sampling is as asked
        assert np.all(np.diff(track.t) > 0), kwargs
        assert track.t.dtype == np.int64 and track.lat.dtype == np.float64 and track.speed.dtype == np.float32
    dense, _ = day_scenario().build()
    for sparse_kwargs in ({"park_interval_s": 60.0}, {"halt_interval_s": 60.0}, {"sleep_when_standing": True}):
        sparse, _ = day_scenario(**sparse_kwargs).build()  # type: ignore[arg-type]
        assert len(sparse) < len(dense), sparse_kwargs
    # And the ways of sampling a standstill exclude each other, and are never denser than driving
    for bad in (
        {"park_interval_s": 60.0, "halt_interval_s": 60.0},
        {"halt_interval_s": 60.0, "sleep_when_standing": True},
        {"halt_interval_s": 5.0},
        {"halt_interval_s": math.inf},
    ):
        with pytest.raises(ValueError):
            Scenario(T0, *HOME, **bad)  # type: ignore[arg-type]


def test_truth_boundaries_are_fixes_and_distance_matches_the_fixes_without_noise() -> None:
    # Given a noise-free scenario
    track, truth = day_scenario(noise=False).build()
    clean = track.take(~np.isin(track.t, truth.outliers))
    # Then there are three trips, the halts stayed inside them
    assert len(truth.trips) == 3
    for trip in truth.trips:
        a, b = index_of(clean, trip.start_ms), index_of(clean, trip.end_ms)
        # And each boundary is a fix: the first that left the parking, the first of the next one
        assert clean.speed[a] >= 3.0 and clean.speed[a - 1] < 3.0
        assert clean.speed[b] < 3.0 and clean.speed[b - 1] >= 3.0
        assert (clean.lat[a], clean.lng[a]) == trip.start
        # And the true distance is within 1 % of the haversine sum over its fixes (departure leg included)
        legs = geo.path_length_m(clean.lat[a - 1 : b + 1], clean.lng[a - 1 : b + 1])
        assert legs == pytest.approx(trip.distance_m, rel=0.01)
        assert trip.max_speed_kmh == pytest.approx(float(clean.speed[a : b + 1].max()))
    for h0, h1 in truth.halts:
        assert any(t.start_ms < h0 and h1 < t.end_ms for t in truth.trips)
        inside = (track.t >= h0 + 1000) & (track.t < h1)
        assert inside.any() and np.all(track.speed[inside] < 3.0)
    # And parkings and trips alternate without overlap
    spans = sorted([(p.start_ms, p.end_ms) for p in truth.parkings] + [(t.start_ms, t.end_ms) for t in truth.trips])
    assert all(x[1] <= y[0] for x, y in itertools.pairwise(spans))


def test_parked_jitter_stays_within_200_m() -> None:
    # Given long parkings with strong jitter
    sc = Scenario(T0, *HOME, seed=3).park(600, jitter_m=20.0).drive([SHOP]).park(300, jitter_m=10.0)
    track, truth = sc.build()
    # Then every fix of a parking lies within 200 m of its point, speed under 1 km/h, ignition off
    assert len(truth.parkings) == 2
    for p in truth.parkings:
        sel = (track.t >= p.start_ms) & (track.t < p.end_ms)
        d = geo.haversine_m(track.lat[sel], track.lng[sel], p.lat, p.lng)
        assert sel.sum() > 100 and d.max() < 200.0 and d.std() > 5.0
        assert np.all(track.speed[sel] <= 1.0) and np.all(track.ignition[sel] == 0)


def test_gaps_have_no_fixes() -> None:
    # Given a parked signal loss, a moving one and an absolute one
    sc = Scenario(T0, *HOME, seed=2).park(10).gap(70).drive([SHOP, FAR], cruise_kmh=80)
    sc.signal_loss(T0 + 100 * 60_000, T0 + 104 * 60_000)
    sc.gap(5, moving=True).drive([HOME], cruise_kmh=80).park(10)
    track, truth = sc.build()
    # Then the truth lists them and no fix lies inside
    assert len(truth.gaps) == 3
    for a, b in truth.gaps:
        assert not np.any((track.t >= a) & (track.t < b))
        assert np.any(track.t < a) and np.any(track.t >= b)
    # And a gap over an hour while parked keeps the parking (nothing moved)
    assert truth.trips[0].start_ms > truth.gaps[0][1]


def test_short_signal_loss_counts_the_straight_leg() -> None:
    # Given a signal loss of 4 minutes in the middle of a winding drive
    sc = Scenario(T0, *HOME, seed=6, noise=False).park(10).drive([SHOP, FAR], cruise_kmh=90, wiggle=3.0)
    sc.signal_loss(T0 + 16 * 60_000, T0 + 20 * 60_000).park(10)
    track, truth = sc.build()
    (trip,) = truth.trips
    # Then the trip's distance is the fixes' legs, the straight one across the loss included
    a, b = index_of(track, trip.start_ms), index_of(track, trip.end_ms)
    assert geo.path_length_m(track.lat[a - 1 : b + 1], track.lng[a - 1 : b + 1]) == pytest.approx(
        trip.distance_m, rel=0.002
    )


def test_outliers_imply_more_than_250_kmh() -> None:
    # Given wild fixes while parked and while driving
    sc = Scenario(T0, *HOME, seed=4).park(10).outlier(2.0).park(5).drive([SHOP], cruise_kmh=70)
    sc.outlier(8.0, at_ms=T0 + 18 * 60_000).park(10)
    track, truth = sc.build()
    # Then each is one fix whose implied speed from the fix before exceeds 250 km/h
    assert len(truth.outliers) == 2
    for t_out in truth.outliers:
        i = index_of(track, t_out)
        d = geo.distance_m(track.lat[i - 1], track.lng[i - 1], track.lat[i], track.lng[i])
        assert d * 3.6 / ((track.t[i] - track.t[i - 1]) / 1000.0) > 250.0
        assert t_out not in {t.start_ms for t in truth.trips} | {t.end_ms for t in truth.trips}
    # And an outlier too close to be wild is refused
    with pytest.raises(ValueError, match="implies"):
        Scenario(T0, *HOME).park(10).outlier(0.1).park(5).build()


def test_ignition_decides_what_a_short_stop_is() -> None:
    # Given a 4-minute stop between two drives, engine off
    def build(ignition: bool) -> Truth:
        sc = Scenario(T0, *HOME, seed=9, ignition=ignition).park(10).drive([SHOP], cruise_kmh=70)
        return sc.park(4).drive([HOME], cruise_kmh=70).park(10).build()[1]

    # Then an ignition-aware tracker ends the trip there (ignition off ends it at once)
    assert len(build(True).trips) == 2
    # And without ignition it is a halt under 5 minutes: one trip
    track, truth = Scenario(T0, *HOME, ignition=False).park(10).drive([SHOP]).park(4).drive([HOME]).park(9).build()
    assert len(truth.trips) == 1 and np.all(track.ignition == -1)


def test_idling_is_a_parking_only_when_it_lasts_one() -> None:
    # Given 3 minutes with the engine running, 10 minutes with it running, then 10 with it off
    sc = Scenario(T0, *HOME, seed=5).park(10).drive([SHOP]).idle(3).drive([FAR]).idle(10)
    sc.drive([SHOP]).park(10, ignition=True).drive([HOME]).park(10)
    track, truth = sc.build()
    # Then the short idling keeps the trip going and the long ones end it: three trips, the
    # first of two drives, all with the engine on
    assert len(truth.trips) == 3
    first = truth.trips[0]
    assert np.all(track.ignition[(track.t > first.start_ms) & (track.t < first.end_ms)] == 1)
    assert len(truth.parkings) == 4
    # And without ignition the same stops are the same parkings
    sc = Scenario(T0, *HOME, seed=5, ignition=False).park(10).drive([SHOP]).idle(3).drive([FAR]).idle(10)
    assert len(sc.drive([SHOP]).park(10).drive([HOME]).park(10).build()[1].trips) == 3


def test_drive_duration_and_speeds() -> None:
    # Given a drive that must take exactly 25 minutes with two halts
    sc = Scenario(T0, *HOME, seed=11).park(10)
    depart = sc.now_ms
    sc.drive([SHOP, FAR], cruise_kmh=88, halts=2, halt_s=[60, 90], duration_s=1500.0)
    assert sc.now_ms - depart == 1_500_000
    track, truth = sc.park(10).build()
    (trip,) = truth.trips
    # Then the trip lasts that long to a sampling interval, speeds stay near the cruise
    assert abs(trip.duration_s - 1500.0) <= 10.0
    assert 85.0 <= trip.max_speed_kmh <= 91.0
    # And heading follows the path while moving
    moving = track.speed >= 3.0
    assert np.all((track.heading[moving] >= 0) & (track.heading[moving] < 360))
    # And an impossible duration is refused
    with pytest.raises(ValueError):
        Scenario(T0, *HOME).drive([FAR], cruise_kmh=60, duration_s=60.0)


def test_odometer_satellites_and_sensors() -> None:
    # Given a day with a fuel sensor, a thermometer and a voltmeter, and a refuel
    sensors = (FuelSensor(start_l=30.0, capacity_l=50.0), TemperatureSensor(), MeteringSensor())
    sc = Scenario(T0, *HOME, seed=12, sensors=sensors, odometer_km=1000.0).park(10).drive([SHOP, FAR])
    sc.park(15).refuel().drive([HOME]).park(10)
    track, truth = sc.build()
    total = sum(t.distance_m for t in truth.trips)
    # Then the odometer accumulated the true distance from its base
    assert track.odometer[0] == pytest.approx(1000.0)
    assert track.odometer[-1] - 1000.0 == pytest.approx(total / 1000.0, rel=1e-6)
    # And satellites are 6..12 (a little fewer near gaps and in outliers)
    assert track.satellites.min() >= 6 and track.satellites.max() <= 12
    # And fuel burns ~7 l/100 km, the refuel filled up to the capacity
    fuel = track.sensors["fuel"]
    (refuel,) = truth.refuels
    first_leg = truth.trips[0].distance_m / 1000.0
    before = float(np.median(fuel[(track.t > refuel.start_ms - 120_000) & (track.t < refuel.start_ms)]))
    assert before == pytest.approx(30.0 - 0.07 * first_leg, abs=0.5)
    assert refuel.litres == pytest.approx(50.0 - before, abs=0.5)
    assert float(np.median(fuel[(track.t > refuel.end_ms) & (track.t < refuel.end_ms + 120_000)])) == pytest.approx(
        50.0, abs=0.5
    )
    # And the temperature is a slow wave, the voltage follows the ignition
    assert track.sensors["temp1"].min() > 1.5 and track.sensors["temp1"].max() < 6.5
    power = track.sensors["power"]
    assert power[track.ignition == 1].mean() > 14.0 and power[track.ignition == 0].mean() < 12.5
    # And refuelling needs a parking and a fuel sensor
    with pytest.raises(ValueError):
        Scenario(T0, *HOME).park(10).refuel()


# --------------------------------------------------------------------------------------------
# The truth comes from the story (phases, halts, signal losses), not from the fixes
# --------------------------------------------------------------------------------------------


def _stand(sc: Scenario, spans: list[tuple[int, int]], step: str, minutes: float) -> None:
    """``sc.park``/``sc.idle`` for ``minutes``, recording the true span of the standstill."""
    a = sc.now_ms
    getattr(sc, step)(minutes)
    spans.append((a, sc.now_ms))


def _covers(truth: Truth, want: list[tuple[int, int]], step_ms: float) -> None:
    """The truth's parkings are exactly the wanted true spans, told in fixes: each starts at its
    first fix (within one step after the span's start) and ends at the first fix after it (or at
    the last fix, when the data ends first)."""
    got = [(p.start_ms, p.end_ms) for p in truth.parkings]
    assert len(got) == len(want), (got, want)
    for (a, b), (w0, w1) in zip(got, want, strict=True):
        assert w0 - 1 <= a <= w0 + step_ms, (a, w0)
        assert abs(b - w1) <= step_ms, (b, w1)


@pytest.mark.parametrize("ignition", [True, False], ids=["ignition-aware", "no-ignition"])
def test_what_is_a_true_parking_follows_from_the_story(ignition: bool) -> None:
    # Given a story: parked, a drive with a 3-minute light halt and an 8-minute queue (engine
    # running), 12 minutes idling, a drive, a 3-minute stop with the engine off, a drive, parked
    sc = Scenario(T0, *HOME, seed=4, ignition=ignition)
    spans: list[tuple[int, int]] = []
    _stand(sc, spans, "park", 10)
    sc.drive([SHOP, FAR], cruise_kmh=80, halts=2, halt_s=[180, 480])
    _stand(sc, spans, "idle", 12)
    sc.drive([SHOP], cruise_kmh=70)
    _stand(sc, spans, "park", 3)
    sc.drive([HOME], cruise_kmh=70)
    _stand(sc, spans, "park", 15)
    start, idle, stop, end = spans
    _, truth = sc.build()
    light, queue = sorted(truth.halts, key=lambda h: h[1] - h[0])
    # When the truth is read
    # Then the standstills of 5 minutes or more are parkings, engine on or off (the idle and the
    # 8-minute queue); with ignition an ignition-off standstill is one whatever its length (the
    # 3-minute stop too), without ignition that stop is a halt like the light
    want = [start, queue, idle, stop, end] if ignition else [start, queue, idle, end]
    _covers(truth, want, sc.interval_s * 1000)
    # And there is one trip between each two parkings, and the rest lies inside the trips
    assert len(truth.trips) == len(want) - 1
    inside = [light] if ignition else [light, stop]
    for a, b in inside:
        assert any(t.start_ms < a and b < t.end_ms for t in truth.trips), (a, b)


def test_a_sleeping_loggers_long_halt_is_a_true_parking_with_no_fix_inside() -> None:
    # Given a logger that records only while the vehicle moves, and a 20-minute halt between two
    # drives with light halts, parked at both ends
    sc = Scenario(T0, *HOME, seed=3, ignition=False, sleep_when_standing=True, noise=False)
    sc.park(10).drive([SHOP, FAR], cruise_kmh=80, halts=2, halt_s=[40, 150])
    spans: list[tuple[int, int]] = []
    _stand(sc, spans, "park", 20)
    sc.drive([HOME], cruise_kmh=70, halts=1).park(10)
    ((h0, h1),) = spans
    track, truth = sc.build()
    # Then no fix lies inside a standstill, and every fix reports a driving speed
    assert np.all(track.speed >= 3.0)
    for a, b in [*truth.halts, (h0, h1)]:
        assert not np.any((track.t >= a) & (track.t <= b)), (a, b)
    # And the 20-minute halt is a true parking (those at the ends have no fix on one side: no one
    # can see them): it lasts from the last fix before it to the first fix after it
    (parking,) = truth.parkings
    i = index_of(track, parking.start_ms)
    assert track.t[i] < h0 and track.t[i + 1] > h1 and parking.end_ms == track.t[i + 1]
    # And the trips meet there: the first ends at the last fix before it, the second starts at
    # the first fix after it; the light halts stay inside them
    first, second = truth.trips
    assert first.start_ms == track.t[0] and first.end_ms == parking.start_ms and second.start_ms == parking.end_ms
    for a, b in truth.halts:
        assert any(t.start_ms < a and b < t.end_ms for t in truth.trips)
    # And their distances are the true path (the odometer) from the first fix to the second's
    # end, but the straight leg across each standstill: no fix shows how the vehicle rolled in
    # and out (noise-free fixes are the true positions)
    end = index_of(track, second.end_ms)
    legs = np.diff(track.odometer[: end + 1]) * 1000.0
    across = np.searchsorted(track.t, [a for a, _ in [*truth.halts, (h0, h1)]]) - 1
    straight = geo.leg_lengths_m(track.lat[: end + 1], track.lng[: end + 1])[across]
    assert np.all(straight <= legs[across] + 1e-3) and straight.sum() < legs[across].sum() - 1.0
    legs[across] = straight
    assert truth.distance_m == pytest.approx(float(legs.sum()), rel=1e-9)


def test_a_parking_hidden_by_a_signal_loss_is_still_a_parking() -> None:
    # Given a drive, then a signal loss from 30 s before the arrival to 2 minutes after the
    # departure of a 10-minute parking, then a drive (noise-free)
    sc = Scenario(T0, *HOME, seed=6, noise=False).park(10).drive([SHOP], cruise_kmh=60)
    spans: list[tuple[int, int]] = []
    _stand(sc, spans, "park", 10)
    ((h0, h1),) = spans
    sc.signal_loss(h0 - 30_000, h1 + 120_000)
    sc.drive([FAR], cruise_kmh=60).park(10)
    track, truth = sc.build()
    # Then the parking lasts from the last fix before the loss to the first fix after it
    _, hidden, _ = truth.parkings
    i = index_of(track, hidden.start_ms)
    assert track.t[i] < h0 - 30_000 and track.t[i + 1] >= h1 + 120_000 and hidden.end_ms == track.t[i + 1]
    # And it ends the first trip there; the second starts at the first fix after it and counts
    # the straight leg across the loss (the motion it hides), then the true path
    first, second = truth.trips
    assert first.end_ms == hidden.start_ms and second.start_ms == hidden.end_ms
    j = index_of(track, second.end_ms)
    straight = geo.distance_m(track.lat[i], track.lng[i], track.lat[i + 1], track.lng[i + 1])
    path = (track.odometer[j] - track.odometer[i + 1]) * 1000.0
    assert second.distance_m == pytest.approx(straight + path, rel=1e-9)
    assert straight < (track.odometer[i + 1] - track.odometer[i]) * 1000.0


STANDSTILL_SAMPLINGS = [
    {"interval_s": 1.0},
    {"interval_s": 10.0},
    {"interval_s": 30.0},
    {"interval_s": 1.0, "halt_interval_s": 120.0},
    {"interval_s": 30.0, "halt_interval_s": 300.0},
    {"interval_s": 10.0, "park_interval_s": 60.0},
    {"interval_s": 10.0, "sleep_when_standing": True},
]


@pytest.mark.parametrize("report_speed", [True, False], ids=["device-speed", "no-speed"])
@pytest.mark.parametrize("ignition", [True, False], ids=["ignition-aware", "no-ignition"])
def test_the_truth_does_not_depend_on_how_the_logger_samples(ignition: bool, report_speed: bool) -> None:
    # Given one story with light halts and parkings of 6 and 11 minutes, recorded by loggers
    # sampling in every supported way (dense, sparse while standing, asleep while standing)
    def build(kwargs: dict[str, float]) -> tuple[Track, Truth]:
        sc = Scenario(T0, *HOME, seed=8, ignition=ignition, report_speed=report_speed, **kwargs)  # type: ignore[arg-type]
        sc.park(10).drive([SHOP], cruise_kmh=70, halts=2).park(6).drive([FAR], cruise_kmh=60, halts=1)
        return sc.park(11).drive([HOME], cruise_kmh=80).park(10).build()

    reference = build(STANDSTILL_SAMPLINGS[0])[1]
    assert len(reference.trips) == 3
    for kwargs in STANDSTILL_SAMPLINGS[1:]:
        # When its truth is read
        track, truth = build(kwargs)
        # Then the trips are the same, each boundary within the driving interval (and the
        # slow roll a sleeping logger does not record), the distance within 1 %
        step_ms = kwargs["interval_s"] * 1000 + (5_000 if kwargs.get("sleep_when_standing") else 0)
        assert len(truth.trips) == len(reference.trips), kwargs
        for got, want in zip(truth.trips, reference.trips, strict=True):
            assert abs(got.start_ms - want.start_ms) <= step_ms, kwargs
            assert abs(got.end_ms - want.end_ms) <= step_ms, kwargs
            assert got.distance_m == pytest.approx(want.distance_m, rel=0.01), kwargs
        # And every parking between two trips is there whatever the sampling
        inner = [p for p in truth.parkings if truth.trips[0].end_ms <= p.start_ms < truth.trips[-1].start_ms]
        assert len(inner) == 2, kwargs
        assert np.isnan(track.speed).all() != report_speed


def test_halt_interval_samples_every_standstill_sparsely() -> None:
    # Given a logger sampling every second while driving and every 2 minutes while standing:
    # parked, a drive with light halts of 90 s and 200 s, 6 minutes idling, a drive, parked
    sc = Scenario(T0, *HOME, seed=5, interval_s=1.0, halt_interval_s=120.0)
    spans: list[tuple[int, int]] = []
    _stand(sc, spans, "park", 10)
    sc.drive([SHOP], cruise_kmh=60, halts=2, halt_s=[90, 200])
    _stand(sc, spans, "idle", 6)
    sc.drive([FAR], cruise_kmh=60)
    _stand(sc, spans, "park", 8)
    track, truth = sc.build()
    t = track.t
    standstills = sorted(spans + truth.halts)
    # Then inside every standstill (ignition on or off) the fixes are 2 minutes apart, the first
    # within a second of its start, and report standing; the first fix after it comes within a
    # second of the departure
    for a, b in standstills:
        inside = t[(t >= a) & (t <= b)]
        assert inside.size >= 1 and inside[0] - a <= 1000
        assert np.all(np.diff(inside) == 120_000)
        assert np.all(track.speed[(t >= a) & (t <= b)] < 1.0)
        later = t[t > b]
        assert later.size == 0 or later[0] - b <= 1000
    # And everywhere else a fix every second, reporting a driving speed
    driving = np.ones(len(track), np.bool_)
    for a, b in standstills:
        driving &= (t < a) | (t > b)
    assert np.all(track.speed[driving] >= 3.0)
    assert np.all(np.diff(t)[driving[1:] & driving[:-1]] == 1000)


def test_a_sleeping_logger_without_speed_records_the_same_fixes() -> None:
    # Given the same story recorded by a sleeping logger with and without device speed
    def build(report_speed: bool) -> tuple[Track, Truth]:
        sc = Scenario(T0, *HOME, seed=2, ignition=False, sleep_when_standing=True, report_speed=report_speed)
        return sc.park(10).drive([SHOP], cruise_kmh=60, halts=2).park(12).drive([HOME], cruise_kmh=60).build()

    with_speed, truth = build(True)
    without, truth_without = build(False)
    # Then the fixes are at the same times and places, only the speed is missing, and the truth
    # is the same (its max speed is then the true one)
    np.testing.assert_array_equal(with_speed.t, without.t)
    np.testing.assert_array_equal(with_speed.lat, without.lat)
    assert np.isnan(without.speed).all()
    assert [(p.start_ms, p.end_ms) for p in truth.parkings] == [(p.start_ms, p.end_ms) for p in truth_without.parkings]
    assert [(x.start_ms, x.end_ms, x.distance_m) for x in truth.trips] == [
        (x.start_ms, x.end_ms, x.distance_m) for x in truth_without.trips
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["park", "idle", "drive", "gap", "loss"]), st.floats(0.5, 90.0)),
        min_size=1,
        max_size=8,
    ),
    seed=st.integers(0, 1000),
    ignition=st.booleans(),
    jitter=st.sampled_from([0.0, 3.0]),
    standing=st.sampled_from([{}, {"halt_interval_s": 120.0}, {"sleep_when_standing": True}]),
)
def test_any_story_gives_consistent_fixes_and_truth(
    steps: list[tuple[str, float]], seed: int, ignition: bool, jitter: float, standing: dict[str, object]
) -> None:
    # Given any sequence of steps, sampled densely, sparsely or not at all while standing
    sc = Scenario(T0, *HOME, seed=seed, ignition=ignition, jitter_s=jitter, **standing)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    for kind, minutes in steps:
        if kind == "park":
            sc.park(minutes)
        elif kind == "idle":
            sc.idle(minutes)
        elif kind == "gap":
            sc.gap(minutes, moving=bool(rng.random() < 0.5))
        elif kind == "loss":
            sc.signal_loss(sc.now_ms - 60_000, sc.now_ms + int(minutes * 20_000))
        else:
            lat, lng = sc.position
            to = (lat + rng.uniform(-0.05, 0.05), lng + rng.uniform(-0.05, 0.05))
            halts = int(rng.integers(0, 3)) if geo.distance_m(lat, lng, *to) > 1_000 else 0
            sc.drive([to], cruise_kmh=minutes + 10, halts=halts)
    track, truth = sc.build()
    # Then times increase strictly, gaps are empty, trip boundaries are fixes in order
    assert np.all(np.diff(track.t) > 0)
    for a, b in truth.gaps:
        assert not np.any((track.t >= a) & (track.t < b))
    fixes = set(track.t.tolist())
    last = -1
    for trip in truth.trips:
        assert trip.start_ms in fixes and trip.end_ms in fixes
        assert last <= trip.start_ms < trip.end_ms and trip.distance_m > 0
        last = trip.end_ms
    for p in truth.parkings:
        assert p.start_ms in fixes and p.start_ms <= p.end_ms
        assert not any(t.start_ms < p.start_ms < t.end_ms for t in truth.trips)
    # And no halt is a parking for an ignition-aware device (the engine runs), and a short halt is
    # never where a trip starts or ends (unless a signal loss hides what came before or after it)
    for a, b in truth.halts:
        # (a halt that touches a signal loss, or lies next to one with no fix in between, is where
        # the fixes resume or stop: what came before or after it is not known)
        if any(not np.any((track.t > min(b, g1)) & (track.t < max(a, g0))) for g0, g1 in truth.gaps):
            continue
        assert not (ignition and any(p.start_ms <= a and b <= p.end_ms for p in truth.parkings))
        assert not any(a <= t.start_ms <= b or a <= t.end_ms <= b for t in truth.trips if b - a < 300_000)


# --------------------------------------------------------------------------------------------
# Demo fleet
# --------------------------------------------------------------------------------------------

# The API documentation's retrieve example: 669673 on 2020-10-06 (Moscow time), raw UTC ms.
SEED_TRIPS = [
    (1601934439000, 1601941188000, 106.29, "Selyatino", "Serpukhov"),  # 00:47 - 02:39
    (1601943083000, 1601950218000, 106.97, "Serpukhov", "Selyatino"),  # 03:11 - 05:10
    (1601959081000, 1601960075000, 10.03, "Selyatino", "Rassudovo"),  # 07:38 - 07:54
    (1601960315000, 1601966165000, 95.31, "Rassudovo", "Serpukhov"),  # 07:58 - 09:36
    (1601966585000, 1601967190000, 0.95, "Serpukhov", "Serpukhov"),  # 09:43 - 09:53
    (1601969226000, 1601977017000, 108.48, "Serpukhov", "Selyatino"),  # 10:27 - 12:36
    (1601980444000, 1601989300000, 95.79, "Selyatino", 'KhP "Lesnoe ozero"'),  # 13:34 - 16:01
]


def test_demo_trackers_places_and_sensors() -> None:
    # Given the demo fleet's static info
    ids = [t.id for t in DEMO_TRACKERS]
    sensor_ids = [s.id for t in DEMO_TRACKERS for s in t.sensors]
    # Then the documented trackers exist, sensor ids are unique, 123456 has thermometer 123456
    assert ids[:2] == [669673, 123456] and len(set(ids)) == len(ids) == 4
    assert len(set(sensor_ids)) == len(sensor_ids)
    assert next(t for t in DEMO_TRACKERS if t.id == 669673).label == "Samantha (Ford Focus)"
    van = next(t for t in DEMO_TRACKERS if t.id == 123456)
    temp = next(s for s in van.sensors if s.id == 123456)
    assert (temp.input_name, temp.units, temp.kind) == ("temp1", "°C", "metering")
    assert any(s.sensor_type == "fuel" for s in van.sensors)
    # And the places carry the seed's addresses
    assert place_named("Selyatino").address == "Selyatino, Naro-Fominskii gor. okrug, Moscow Oblast, Russia, 143370"
    assert place_named("Serpukhov").address == "Serpukhov, Moscow Oblast, Russia, 142253"
    assert place_named("Rassudovo").address.startswith("Khievskii pereulok, 10, TNKh, Rassudovo")
    assert len({p.name for p in PLACES}) == len(PLACES)
    # And each tracker's track carries its sensors' input names
    for info in DEMO_TRACKERS:
        track = demo_track(info.id, dt.date(2020, 10, 6))
        metering = {s.input_name for s in info.sensors if s.kind == "metering"}
        assert metering <= set(track.sensors), info.id


def test_demo_669673_drives_the_seed_trips_on_2020_10_06() -> None:
    # Given the local day of the documentation's report
    day = dt.date(2020, 10, 6)
    track, truth = demo_local_day(669673, day)
    # Then its truth has the seed's seven trips: times within a minute, lengths within 1 %
    assert len(truth.trips) == len(SEED_TRIPS)
    for trip, (start, end, km, origin, destination) in zip(truth.trips, SEED_TRIPS, strict=True):
        assert abs(trip.start_ms - start) < 60_000 and abs(trip.end_ms - end) < 60_000
        assert dt.datetime.fromtimestamp(trip.start_ms / 1000, MSK).date() == day
        assert trip.distance_m / 1000.0 == pytest.approx(km, rel=0.01)
        for (lat, lng), name in ((trip.start, origin), (trip.end, destination)):
            place = place_named(name)
            assert geo.distance_m(lat, lng, place.lat, place.lng) < place.radius_m
    # And the odometer at the end of the day is the seed's 515855 km
    assert round(float(track.odometer[-1])) == 515_855
    # And the seed day's UTC cut holds the first trip (it starts at 21:47 UTC on Oct 5)
    prev_utc = demo_track(669673, dt.date(2020, 10, 5))
    assert np.any(prev_utc.t == truth.trips[0].start_ms)


def test_consecutive_demo_days_join_into_one_track() -> None:
    # Given every demo tracker over the documented days and a later stretch
    for info in DEMO_TRACKERS:
        days = [dt.date(2020, 10, 4) + dt.timedelta(days=k) for k in range(4)]
        days += [dt.date(2024, 3, 29) + dt.timedelta(days=k) for k in range(4)]  # around a weekend
        for chunk in (days[:4], days[4:]):
            parts = [demo_track(info.id, d) for d in chunk]
            whole = Track.concat(parts)
            # Then times increase strictly across midnights, each part within its UTC day
            assert np.all(np.diff(whole.t) > 0), info.id
            for d, part in zip(chunk, parts, strict=True):
                u0 = int(dt.datetime.combine(d, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
                assert len(part) > 100 and u0 <= part.t[0] and part.t[-1] < u0 + 86_400_000
            # And the odometer never runs back, nor jumps at a local midnight
            assert np.isnan(whole.odometer).all() or np.all(np.diff(whole.odometer) > -1e-6)
            for d in chunk[1:]:
                i = int(
                    np.searchsorted(whole.t, int(dt.datetime.combine(d, dt.time(0), tzinfo=MSK).timestamp() * 1000))
                )
                assert geo.distance_m(whole.lat[i - 1], whole.lng[i - 1], whole.lat[i], whole.lng[i]) < 200.0
            # And nothing jumps at a UTC midnight: position, odometer and fuel carry on
            for a, b in itertools.pairwise(parts):
                gap_s = (b.t[0] - a.t[-1]) / 1000.0
                jump = geo.distance_m(a.lat[-1], a.lng[-1], b.lat[0], b.lng[0])
                assert jump <= 200.0 + gap_s * 130 / 3.6, info.id
                if not np.isnan(a.odometer[-1]):
                    assert 0.0 <= b.odometer[0] - a.odometer[-1] <= jump / 1000.0 + 0.5
                if "fuel" in a.sensors:
                    assert abs(b.sensors["fuel"][0] - a.sensors["fuel"][-1]) < 3.0


def test_utc_days_are_cut_consistently_from_the_local_days() -> None:
    # Given a UTC day of the van and the two Moscow days it overlaps (03:00 to 03:00 local)
    d = dt.date(2024, 4, 2)
    local = Track.concat([demo_local_day(123456, d)[0], demo_local_day(123456, d + dt.timedelta(days=1))[0]])
    utc = demo_track(123456, d)
    # Then the UTC day is exactly the local fixes in that UTC range
    u0 = int(dt.datetime.combine(d, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
    sel = (local.t >= u0) & (local.t < u0 + 86_400_000)
    assert sel.sum() == len(utc) > 1000
    for name, values in arrays(utc).items():
        np.testing.assert_array_equal(values, arrays(local.take(sel))[name], err_msg=name)


def test_demo_tracks_are_deterministic_and_seeded() -> None:
    # Given a demo day generated twice, and with another seed
    a = demo_track(345678, dt.date(2024, 4, 3))
    b = demo_track(345678, dt.date(2024, 4, 3))
    c = demo_track(345678, dt.date(2024, 4, 3), seed=2)
    # Then the same arguments give the same arrays, another seed other ones
    for name, values in arrays(a).items():
        np.testing.assert_array_equal(values, arrays(b)[name], err_msg=name)
    assert len(a) != len(c) or not np.array_equal(a.lat, c.lat)
    # And an unknown tracker is an error
    with pytest.raises(ValueError):
        demo_track(1, dt.date(2024, 4, 3))


def test_demo_days_cover_the_seed_dates_and_the_last_two_weeks() -> None:
    # Given today
    today = dt.date(2026, 11, 22)
    days = demo_days(today)
    # Then the seed's dates with a margin and the 15 days up to today are covered, sorted, once
    assert {dt.date(2020, 10, d) for d in (4, 5, 6, 7)} <= set(days)
    assert {today - dt.timedelta(days=k) for k in range(15)} <= set(days)
    assert days == sorted(set(days)) and len(days) == 19


def test_demo_track_is_the_same_on_every_run() -> None:
    # Given a tracker-day simulated twice (roads are built once per process)
    a = demo_track(669673, dt.date(2021, 6, 2))
    b = demo_track(669673, dt.date(2021, 6, 2))
    # Then the fixes are identical (the demo fleet is reproducible)
    assert len(a) > 0
    assert np.array_equal(a.t, b.t) and np.array_equal(a.lat, b.lat) and np.array_equal(a.lng, b.lng)
