"""Property tests of the segmentation over random drives (hypothesis).

``PROPERTY_EXAMPLES=20000 .venv/bin/pytest tests/unit/test_engine_properties.py`` tries more
drives than the default run does (the figure in the issue #4 closing note).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet_reports.engine.clean import clean
from fleet_reports.engine.motion import Bool, Trips, TripSettings, segment

from tests.support.drives import Drive
from tests.support.properties import EXAMPLES

piece = st.one_of(
    st.tuples(st.just("drive"), st.floats(50, 20_000), st.floats(3.5, 130), st.floats(0, 359)),
    st.tuples(st.just("halt"), st.floats(10, 3 * 3600), st.floats(0, 30), st.integers(-1, 1)),
    st.tuples(st.just("gap"), st.floats(60, 4 * 3600), st.floats(0, 50_000), st.floats(0, 359)),
)


@st.composite
def drives(draw: st.DrawFn) -> tuple[Drive, bool, bool]:
    drive = Drive(step_s=draw(st.sampled_from([1.0, 5.0, 10.0, 30.0])), seed=draw(st.integers(0, 1000)))
    drive.halt(60)
    for kind, a, b, c in draw(st.lists(piece, min_size=1, max_size=12)):
        if kind == "drive":
            drive.drive(a, b, c)
        elif kind == "halt":
            drive.halt(a, jitter_m=b, ignition=int(c))
        else:
            drive.gap(a, move_m=b, bearing_deg=c)
    return drive, draw(st.booleans()), draw(st.booleans())


@settings(max_examples=EXAMPLES or 150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drives(), st.booleans())
def test_trips_and_parkings_never_overlap_and_distances_are_never_negative(
    case: tuple[Drive, bool, bool], smart_filter: bool
) -> None:
    # Given a random drive of drives, halts (some with jitter and ignition) and gaps
    drive, device_speed, ignition = case
    track, _ = clean(drive.track(device_speed=device_speed, ignition=ignition), now_ms=int(drive.t_ms) + 1)
    # When it is segmented
    seg = segment(track, TripSettings(), smart_filter=smart_filter)
    trips, parks = seg.trips, seg.parkings
    # Then trips are ordered and never overlap each other
    assert np.all(trips.start_ms <= trips.end_ms)
    assert np.all(trips.end_ms[:-1] <= trips.start_ms[1:])
    assert np.all(trips.start_idx <= trips.end_idx)
    # And no trip overlaps a parking (they may touch at the boundary fix)
    for a, b in zip(parks.start_ms.tolist(), parks.end_ms.tolist(), strict=True):
        assert a <= b
        overlap = (trips.start_ms < b) & (trips.end_ms > a)
        assert not overlap.any()
    # And distances and speeds are never negative, and cumulative distance never decreases
    assert np.all(trips.distance_m >= 0)
    assert np.all(trips.max_speed_kmh >= 0)
    assert np.all(np.diff(seg.cum_distance_m) >= 0)
    # And the smart filter only removes trips
    if smart_filter:
        assert np.all(trips.distance_m >= 300) and np.all(trips.fixes >= 4)
    # And a trip's max speed is never below its average speed, and trips never count more
    # distance than the track's counted legs
    assert np.all(trips.max_speed_kmh >= trips.avg_speed_kmh)
    assert float(trips.distance_m.sum()) <= float(seg.cum_distance_m[-1]) * (1 + 1e-9) + 1e-6


# A trip this close to the cut (or a parking next to it that the half cannot see whole) may differ.
BOUNDARY_MARGIN_MS = 10 * 60_000


def _near(trips: Trips, cut: tuple[int, int]) -> Bool:
    """Trips within the margin of the cut; a cut inside a data gap spans the gap (from the last fix
    before it to the first fix after it), since neither half sees the other side's context."""
    before, after = cut
    out: Bool = (trips.end_ms + BOUNDARY_MARGIN_MS >= before) & (trips.start_ms - BOUNDARY_MARGIN_MS <= after)
    return out


def _overlapping(trips: Trips, others: Trips) -> Bool:
    """Which of ``trips`` share an instant with one of ``others``."""
    if len(others) == 0:
        return np.zeros(len(trips), np.bool_)
    k = np.searchsorted(others.start_ms, trips.end_ms, side="left") - 1
    ok = k >= 0
    out: Bool = ok & (others.end_ms[np.maximum(k, 0)] > trips.start_ms)
    return out


def _kept(trips: Trips, cut: tuple[int, int], cut_trips: Trips) -> list[tuple[int, int, float]]:
    far = ~_near(trips, cut) & ~_overlapping(trips, cut_trips)
    return [
        (int(a), int(b), float(d))
        for a, b, d in zip(trips.start_ms[far], trips.end_ms[far], trips.distance_m[far], strict=True)
    ]


@settings(max_examples=EXAMPLES or 100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drives(), st.booleans(), st.floats(0.05, 0.95))
def test_a_period_is_the_union_of_its_halves_up_to_trips_at_the_cut(
    case: tuple[Drive, bool, bool], smart_filter: bool, where: float
) -> None:
    # Given a random drive and an instant that cuts its period in two
    drive, device_speed, ignition = case
    track, _ = clean(drive.track(device_speed=device_speed, ignition=ignition), now_ms=int(drive.t_ms) + 1)
    if len(track) < 2:
        return
    cut_ms = int(track.t[0] + where * (track.t[-1] - track.t[0]))
    k = int(np.searchsorted(track.t, cut_ms, side="left"))
    cut = (int(track.t[max(k - 1, 0)]), int(track.t[min(k, len(track) - 1)]))
    # When the whole period and each half (only its own fixes, as a report loads them) are segmented
    ts = TripSettings()
    whole = segment(track, ts, smart_filter=smart_filter).trips
    first = segment(track.take(track.t < cut_ms), ts, smart_filter=smart_filter).trips
    second = segment(track.take(track.t >= cut_ms), ts, smart_filter=smart_filter).trips
    # Then, leaving out the trips at the cut (within 10 minutes of it, in either segmentation, and
    # what overlaps them), the halves find exactly the whole period's trips and distances
    at_cut_whole = whole.take(_near(whole, cut))
    at_cut_halves = first.take(_near(first, cut)), second.take(_near(second, cut))
    halves = _kept(first, cut, at_cut_whole) + _kept(second, cut, at_cut_whole)
    expected = [
        trip
        for trip in _kept(whole, cut, at_cut_whole)
        if not any(_overlapping(_one(trip), h).any() for h in at_cut_halves)
    ]
    halves = [h for h in halves if not any(_overlapping(_one(h), x).any() for x in at_cut_halves)]
    assert [(a, b) for a, b, _ in halves] == [(a, b) for a, b, _ in expected]
    for (_, _, got), (_, _, want) in zip(halves, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-6)


def _one(trip: tuple[int, int, float]) -> Trips:
    i = np.zeros(1, np.int64)
    f = np.zeros(1, np.float64)
    a, b, d = trip
    return Trips(
        start_idx=i,
        end_idx=i,
        start_ms=np.array([a]),
        end_ms=np.array([b]),
        distance_m=np.array([d]),
        max_speed_kmh=f,
        start_lat=f,
        start_lng=f,
        end_lat=f,
        end_lng=f,
    )
