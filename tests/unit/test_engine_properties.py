"""Property tests of the segmentation over random drives (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_drives import Drive

from fleet_reports.engine.clean import clean
from fleet_reports.engine.motion import TripSettings, segment

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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
