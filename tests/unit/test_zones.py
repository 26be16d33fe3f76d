"""Geofence geometry: point in circle / polygon / sausage, and visits with interpolated entry and exit."""

from __future__ import annotations

import numpy as np
import pytest

from fleet_reports.engine.geo import haversine_m
from fleet_reports.engine.model import Zone
from fleet_reports.engine.zones import distance_to_polyline_m, inside, shape, visits
from fleet_reports.sim import geo
from fleet_reports.sim.drive import Scenario

T0 = 1_601_956_800_000  # 2020-10-06 07:00 Moscow
A = (55.0, 37.0)
SPEED_KMH = 72.0  # 20 m/s


def north(metres: float, origin: tuple[float, float] = A) -> tuple[float, float]:
    lat, lng = geo.destination(origin[0], origin[1], 0.0, metres)
    return float(lat), float(lng)


def east(metres: float, origin: tuple[float, float] = A) -> tuple[float, float]:
    lat, lng = geo.destination(origin[0], origin[1], 90.0, metres)
    return float(lat), float(lng)


def ring(center: tuple[float, float], radius_m: float, n: int = 72) -> tuple[np.ndarray, np.ndarray]:
    bearings = np.linspace(0.0, 360.0, n, endpoint=False)
    return geo.destination(np.full(n, center[0]), np.full(n, center[1]), bearings, np.full(n, radius_m))


def straight_drive(interval_s: float = 10.0, km: float = 10.0) -> Scenario:
    """Park 10 min at A, drive due north ``km`` at a constant 72 km/h (ramps at the ends), park 10 min."""
    return (
        Scenario(T0, *A, interval_s=interval_s, noise=False)
        .park(10)
        .drive([north(km * 1000.0)], cruise_kmh=SPEED_KMH, road=False, variation=0.0)
        .park(10)
    )


def test_point_in_circle_by_great_circle_distance() -> None:
    # Given a circle of 500 m
    c = shape(Zone(1, "c", "circle", north(5000.0), 500.0))
    # When points 1 m inside and 1 m outside its edge, all round, are tested
    lat_in, lng_in = ring(north(5000.0), 499.0)
    lat_out, lng_out = ring(north(5000.0), 501.0)
    # Then exactly the inner ring is inside
    assert inside(c, lat_in, lng_in).all()
    assert not inside(c, lat_out, lng_out).any()


def test_point_in_concave_polygon() -> None:
    # Given an L-shaped polygon (a 2 km square with its north-east quarter cut out)
    o = A
    pts = [o, east(2000.0, o), east(2000.0, north(1000.0, o)), east(1000.0, north(1000.0, o))]
    pts += [east(1000.0, north(2000.0, o)), north(2000.0, o)]
    p = shape(Zone(2, "L", "polygon", points=tuple(pts)))
    # When points in each quarter are tested
    quarters = [(500.0, 500.0), (1500.0, 500.0), (500.0, 1500.0), (1500.0, 1500.0), (2500.0, 500.0)]
    lat = np.array([east(x, north(y))[0] for x, y in quarters])
    lng = np.array([east(x, north(y))[1] for x, y in quarters])
    # Then the three arms are inside, the cut-out corner and the point beyond are not
    assert inside(p, lat, lng).tolist() == [True, True, True, False, False]


def test_point_in_sausage_by_distance_to_the_polyline() -> None:
    # Given a sausage: a polyline north 2 km then east 2 km, half-width 100 m
    corner = north(2000.0)
    s = shape(Zone(3, "road", "sausage", radius_m=100.0, points=(A, corner, east(2000.0, corner))))
    # When points beside each segment and beyond the end cap are measured and tested
    near = [east(99.0, north(1000.0)), east(-101.0, north(1000.0)), north(-99.0, east(1000.0, corner))]
    near += [north(95.0, east(1000.0, corner)), east(2099.0, corner), east(2101.0, corner)]
    lat, lng = np.array([p[0] for p in near]), np.array([p[1] for p in near])
    d = distance_to_polyline_m(lat, lng, s.lat, s.lng)
    # Then the distances are the perpendicular offsets (or to the end point) within 0.5 %
    assert d == pytest.approx([99.0, 101.0, 99.0, 95.0, 99.0, 101.0], rel=5e-3)
    assert inside(s, lat, lng).tolist() == [True, False, True, True, True, False]


def test_malformed_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="circle"):
        shape(Zone(1, "c", "circle", None, 100.0))
    with pytest.raises(ValueError, match="polygon"):
        shape(Zone(2, "p", "polygon", points=(A, north(10.0))))
    with pytest.raises(ValueError, match="kind"):
        shape(Zone(3, "x", "hexagon"))


@pytest.mark.parametrize("interval_s", [1.0, 10.0, 30.0])
def test_drive_through_a_circle_enters_and_exits_at_the_boundary(interval_s: float) -> None:
    # Given a straight drive at 72 km/h through the centre of a 500 m circle 5 km up the road
    zone = shape(Zone(1, "c", "circle", north(5000.0), 500.0))
    track, truth = straight_drive(interval_s).build()
    dense, _ = straight_drive(0.1).build()  # the same motion sampled every 0.1 s: the true entry/exit
    isin = inside(zone, dense.lat, dense.lng)
    true_entry, true_exit = dense.t[isin][0], dense.t[isin][-1]

    # When the visits are computed from fixes every interval_s
    (entry,), (exit_,) = (v := visits(zone, track.t, track.lat, track.lng)).entry_ms, v.exit_ms

    # Then there is one visit, entry and exit within 0.1 s of the truth (not just at a fix),
    # and it lasts the chord over the speed: 1000 m / 20 m/s = 50 s
    assert len(v) == 1
    assert abs(entry - true_entry) <= 100.0
    assert abs(exit_ - true_exit) <= 100.0
    assert v.duration_s[0] == pytest.approx(50.0, abs=0.05)
    # And the crossing points are on the circle
    k = np.interp([entry, exit_], track.t.astype(float), track.lat), np.interp([entry, exit_], track.t, track.lng)
    assert haversine_m(k[0], k[1], *north(5000.0)) == pytest.approx([500.0, 500.0], abs=0.5)
    assert truth.trips[0].start_ms < entry < exit_ < truth.trips[0].end_ms


def test_visit_open_at_either_end_starts_or_ends_at_the_fix() -> None:
    # Given a track that starts parked inside a zone, leaves, and ends inside another
    track, _ = straight_drive().build()
    start_zone = shape(Zone(1, "home", "circle", A, 300.0))
    end_zone = shape(Zone(2, "dest", "circle", north(10_000.0), 300.0))
    # When visits are computed
    home = visits(start_zone, track.t, track.lat, track.lng)
    dest = visits(end_zone, track.t, track.lat, track.lng)
    # Then the first visit enters at the first fix and the last exits at the last fix
    assert home.entry_ms.tolist() == [float(track.t[0])]
    assert home.exit_ms[0] > track.t[0] + 10 * 60_000  # left after the 10-minute parking
    assert dest.exit_ms.tolist() == [float(track.t[-1])]


def test_a_crossing_over_a_data_gap_is_not_interpolated() -> None:
    # Given fixes outside, then 2 hours later inside a circle
    zone = shape(Zone(1, "c", "circle", north(5000.0), 500.0))
    lat = np.array([A[0], north(5000.0)[0]])
    lng = np.array([A[1], north(5000.0)[1]])
    t = np.array([T0, T0 + 7_200_000], np.int64)
    # When visits are computed with a max gap of 1 hour
    v = visits(zone, t, lat, lng, max_gap_ms=3_600_000.0)
    # Then the entry is the first fix inside
    assert v.entry_ms.tolist() == [float(T0 + 7_200_000)]


def _leg(a: tuple[float, float], b: tuple[float, float], seconds: float) -> tuple[np.ndarray, ...]:
    t = np.array([T0, T0 + int(seconds * 1000)], np.int64)
    return t, np.array([a[0], b[0]]), np.array([a[1], b[1]])


def test_a_leg_that_cuts_a_circle_between_two_fixes_outside_is_a_visit() -> None:
    # Given two fixes 1 km apart and 50 s apart, due north, both outside a 200 m circle whose
    # centre lies 100 m east of the leg's middle (the chord is 2 * sqrt(200^2 - 100^2) = 346.4 m)
    zone = shape(Zone(1, "c", "circle", east(100.0, north(5000.0)), 200.0))
    t, lat, lng = _leg(north(4500.0), north(5500.0), 50.0)
    assert not inside(zone, lat, lng).any()
    # When visits are computed
    v = visits(zone, t, lat, lng, max_gap_ms=3_600_000.0)
    # Then the leg is one visit entering and exiting where the line crosses the circle
    half = float(np.sqrt(200.0**2 - 100.0**2))
    assert len(v) == 1
    assert v.entry_ms[0] - T0 == pytest.approx((500.0 - half) / 20.0 * 1000.0, abs=100.0)
    assert v.exit_ms[0] - T0 == pytest.approx((500.0 + half) / 20.0 * 1000.0, abs=100.0)
    assert v.first_idx[0] > v.last_idx[0]  # no fix inside


def test_a_leg_that_cuts_a_polygon_corner_or_a_sausage_is_a_visit() -> None:
    # Given a square whose west corner pokes 50 m across a leg, and a sausage crossing the leg
    c = east(250.0, north(5000.0))  # square centre; the diagonal half-length is 300 m
    square = (north(300.0, c), east(300.0, c), north(-300.0, c), east(-300.0, c))
    poly = shape(Zone(1, "p", "polygon", points=square))
    road = shape(
        Zone(2, "s", "sausage", radius_m=50.0, points=(east(-500.0, north(5200.0)), east(500.0, north(5200.0))))
    )
    t, lat, lng = _leg(north(4500.0), north(5500.0), 50.0)
    # When visits are computed
    pv = visits(poly, t, lat, lng)
    sv = visits(road, t, lat, lng)
    # Then each is a visit of the time the leg spends inside: 100 m of the corner, 100 m of the road
    assert len(pv) == 1 and pv.duration_s[0] == pytest.approx(5.0, abs=0.1)
    assert pv.entry_ms[0] - T0 == pytest.approx(22_500.0, abs=100.0)
    assert len(sv) == 1 and sv.duration_s[0] == pytest.approx(5.0, abs=0.1)
    assert sv.entry_ms[0] - T0 == pytest.approx(32_500.0, abs=100.0)


def test_a_leg_passing_beside_a_zone_or_across_a_long_gap_is_no_visit() -> None:
    # Given a leg passing 210 m from a 200 m circle, and one through it across a 2-hour gap
    zone = shape(Zone(1, "c", "circle", east(210.0, north(5000.0)), 200.0))
    t, lat, lng = _leg(north(4500.0), north(5500.0), 50.0)
    assert len(visits(zone, t, lat, lng)) == 0
    zone = shape(Zone(1, "c", "circle", north(5000.0), 200.0))
    t, lat, lng = _leg(north(4500.0), north(5500.0), 7200.0)
    # Then neither is a visit (when it crossed a gap is unknown)
    assert len(visits(zone, t, lat, lng, max_gap_ms=3_600_000.0)) == 0


@pytest.mark.slow
def test_ninety_days_against_fifty_zones_finds_visits() -> None:
    # Given 780,000 fixes (90 days every 10 s) wandering over 60 km, and 50 zones of every kind
    n = 780_000
    rng = np.random.default_rng(1)
    t = T0 + np.arange(n, dtype=np.int64) * 10_000
    phase = np.cumsum(rng.normal(0.0, 0.01, n))
    lat = A[0] + 0.25 * np.sin(phase) + 0.1 * np.sin(np.arange(n) / 5000.0)
    lng = A[1] + 0.4 * np.cos(phase * 0.7)
    zones = []
    for k in range(50):
        c = (A[0] + rng.uniform(-0.3, 0.3), A[1] + rng.uniform(-0.5, 0.5))
        if k % 3 == 0:
            zones.append(shape(Zone(k, "c", "circle", c, 400.0)))
        elif k % 3 == 1:
            lat_r, lng_r = ring(c, 600.0, 12)
            zones.append(shape(Zone(k, "p", "polygon", points=tuple(zip(lat_r, lng_r, strict=True)))))
        else:
            pts = (c, (c[0] + 0.05, c[1] + 0.02), (c[0] + 0.06, c[1] + 0.1))
            zones.append(shape(Zone(k, "s", "sausage", radius_m=150.0, points=pts)))
    # When every zone's visits are computed (bench/bench_zones.py measures how fast)
    found = [visits(z, t, lat, lng, max_gap_ms=3_600_000.0) for z in zones]
    # Then visits are found, each in time order, none overlapping the next of the same zone
    assert sum(len(v) for v in found) > 0
    for v in found:
        assert np.all(v.entry_ms <= v.exit_ms)
        assert np.all(v.exit_ms[:-1] <= v.entry_ms[1:])
