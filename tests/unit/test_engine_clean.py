"""Cleaning of fixes (docs/analytics.md, "Cleaning"): each bad kind is dropped and counted."""

from __future__ import annotations

import numpy as np

from fleet_reports.engine.clean import clean
from fleet_reports.engine.model import Track

from tests.support.drives import T0_MS, Drive

NOW = T0_MS + 86_400_000


def _insert(track: Track, at: int, **values: float | int) -> Track:
    """A copy of ``track`` with one extra fix (a copy of fix ``at`` with ``values``) appended."""
    extra = track.take(np.array([at]))
    for name, value in values.items():
        getattr(extra, name)[0] = value
    return Track.concat([track, extra])


def test_a_clean_track_is_untouched() -> None:
    # Given a normal drive
    track = Drive().halt(300).drive(5_000, 60).track()
    # When cleaned
    kept, counts = clean(track, now_ms=NOW)
    # Then every fix is kept and nothing is counted
    assert len(kept) == len(track)
    assert sum(counts.values()) == 0


def test_each_bad_kind_is_dropped_and_counted() -> None:
    # Given a drive with: a fix at (0, 0), one with latitude 95, one two days in the future,
    # a duplicate time (the later copy carries the right position), a fix with 2 satellites,
    # and a fix 5 km off the road 10 s after its neighbour (1,800 km/h)
    base = Drive().halt(300).drive(5_000, 60).track()
    n = len(base)
    track = _insert(base, 10, lat=0.0, lng=0.0)
    track = _insert(track, 11, lat=95.0)
    track = _insert(track, 12, t=NOW + 2 * 86_400_000)
    track = _insert(track, 13, lat=float(base.lat[13]) + 1e-4)  # resent fix: the last one wins
    track = _insert(track, 20, satellites=2)
    track.lat[25] += 0.045  # about 5 km north: implied speed far beyond 250 km/h
    # When cleaned
    kept, counts = clean(track, now_ms=NOW)
    # Then each kind is counted once and the kept fixes are ordered and unique in time
    assert counts == {
        "out_of_range": 2,
        "future": 1,
        "duplicate": 1,
        "low_satellites": 1,
        "implied_speed": 1,
    }
    assert np.all(np.diff(kept.t) > 0)
    # Only the spike is lost: a bad resend (the low-satellite copy of fix 20) does not erase the
    # good fix received before it, because duplicates are resolved among valid fixes
    assert len(kept) == n - 1
    # And the duplicate kept the position received last
    k13 = int(np.flatnonzero(kept.t == base.t[13])[0])
    assert kept.lat[k13] == base.lat[13] + 1e-4


def test_fixes_are_ordered_by_gps_time_not_arrival() -> None:
    # Given fixes that arrived out of order
    track = Drive().drive(3_000, 60).track()
    shuffled = track.take(np.random.default_rng(3).permutation(len(track)))
    # When cleaned
    kept, _ = clean(shuffled, now_ms=NOW)
    # Then they are in time order
    assert np.array_equal(kept.t, track.t)


def test_unknown_satellites_are_kept() -> None:
    # Given fixes whose satellite count is unknown (-1)
    track = Drive().drive(2_000, 60).track()
    track.satellites[:] = -1
    # When cleaned / Then none is dropped for satellites
    _, counts = clean(track, now_ms=NOW)
    assert counts["low_satellites"] == 0


def test_implied_speed_is_measured_from_the_last_kept_fix() -> None:
    # Given three consecutive outliers in the same wrong place (each close to the previous one)
    track = Drive().drive(5_000, 60).track()
    track.lat[10:13] += 0.05
    # When cleaned
    kept, counts = clean(track, now_ms=NOW)
    # Then all three are dropped: each is measured against the last *kept* fix, not its neighbour
    assert counts["implied_speed"] == 3
    assert len(kept) == len(track) - 3


def test_a_bad_first_fix_does_not_reject_the_whole_track() -> None:
    # Given a track whose very first fix is 50 km away
    track = Drive().drive(20_000, 60).track()
    track.lat[0] += 0.5
    # When cleaned
    kept, counts = clean(track, now_ms=NOW)
    # Then the consistent rest of the track is kept (only a few fixes are lost while resyncing)
    assert len(kept) >= len(track) - 11
    assert counts["implied_speed"] <= 10
