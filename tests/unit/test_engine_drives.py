"""The known-answer drive builder (tests.support.drives) records the true trips."""

from __future__ import annotations

import numpy as np

from tests.support.drives import Drive


def test_drive_builder_records_the_true_trip() -> None:
    # Given a parking, a 10 km drive at 60 km/h and a parking
    d = Drive().halt(600).start().drive(10_000, 60).park(600)
    # When the track is built
    track = d.track()
    # Then fixes are ordered, the true trip lasts 10 minutes and is 10 km long
    assert np.all(np.diff(track.t) > 0)
    assert len(d.trips) == 1
    trip = d.trips[0]
    assert abs((trip.end_ms - trip.start_ms) / 1000 - 610) <= 10
    assert abs(trip.distance_m - 10_000) < 1.0
