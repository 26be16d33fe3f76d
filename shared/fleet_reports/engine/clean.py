"""Cleaning of raw fixes before any analytics (docs/analytics.md, "Cleaning").

``clean`` returns the kept fixes ordered by GPS time and how many were dropped for each
reason; the report carries those counts in its ``diagnostics``.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.geo import distance_m, leg_lengths_m
from fleet_reports.engine.model import Track

DROP_KINDS: tuple[str, ...] = ("out_of_range", "future", "duplicate", "low_satellites", "implied_speed")
MAX_FUTURE_MS = 24 * 3600 * 1000
MIN_SATELLITES = 3
# After this many consecutive fixes rejected for implied speed that agree with each other, the
# last kept fix is taken to be the outlier and the run is accepted (else one bad first fix would
# reject the whole track).
RESYNC_FIXES = 10

BoolArray = npt.NDArray[np.bool_]


def clean(
    track: Track,
    *,
    max_implied_speed_kmh: float = 250.0,
    now_ms: int | None = None,
    resync_fixes: int = RESYNC_FIXES,
) -> tuple[Track, dict[str, int]]:
    """Drop bad fixes and order by time. ``now_ms`` stands for the ingestion time (default: now).

    Returns the kept fixes (the input track itself when nothing changes) and the drop counts.
    """
    counts = dict.fromkeys(DROP_KINDS, 0)
    n = len(track)
    if n == 0:
        return track, counts
    lat, lng, t = track.lat, track.lng, track.t
    with np.errstate(invalid="ignore"):
        keep = (
            np.isfinite(lat)
            & np.isfinite(lng)
            & (np.abs(lat) <= 90.0)
            & (np.abs(lng) <= 180.0)
            & ~((lat == 0.0) & (lng == 0.0))
        )
    counts["out_of_range"] = n - int(np.count_nonzero(keep))

    limit = (int(time.time() * 1000) if now_ms is None else now_ms) + MAX_FUTURE_MS
    future = keep & (t > limit)
    counts["future"] = int(np.count_nonzero(future))
    keep &= ~future

    sats = track.satellites
    low = keep & (sats >= 0) & (sats < MIN_SATELLITES)
    counts["low_satellites"] = int(np.count_nonzero(low))
    keep &= ~low

    # Order by GPS time; among fixes with the same time the last one received wins.
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(t[idx], kind="stable")]
    ts = t[order]
    last_of_time = np.ones(order.shape[0], dtype=np.bool_)
    last_of_time[:-1] = ts[1:] != ts[:-1]
    counts["duplicate"] = int(order.shape[0] - np.count_nonzero(last_of_time))
    order = order[last_of_time]

    fast = _implied_speed_ok(t[order], lat[order], lng[order], max_implied_speed_kmh, resync_fixes)
    counts["implied_speed"] = int(order.shape[0] - np.count_nonzero(fast))
    order = order[fast]
    if order.shape[0] == n and bool(np.all(np.diff(order) == 1)):
        return track, counts  # already clean and ordered: no copy
    return track.take(order), counts


def _implied_speed_ok(
    t: npt.NDArray[np.int64],
    lat: npt.NDArray[np.float64],
    lng: npt.NDArray[np.float64],
    max_kmh: float,
    resync_fixes: int,
) -> BoolArray:
    """Keep-mask: a fix is kept when its speed from the last *kept* fix is at most ``max_kmh``.

    Vectorised over the legs between neighbours; the sequential rule only runs over the few
    fixes that fail against their immediate predecessor (and the fixes right after them).
    """
    n = t.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    if n < 2:
        return keep
    max_m_per_ms = max_kmh / 3.6 / 1000.0
    legs = leg_lengths_m(lat, lng)
    too_fast = legs > max_m_per_ms * np.diff(t).astype(np.float64)
    candidates = np.flatnonzero(too_fast) + 1
    if candidates.size == 0:
        return keep
    cand = candidates.tolist()
    ci = 0
    last = 0
    rejected: list[int] = []
    i = 1
    while i < n:
        if last == i - 1:
            # Every fix up to the next candidate is fine against its (kept) predecessor.
            while ci < len(cand) and cand[ci] < i:
                ci += 1
            if ci == len(cand):
                break
            i = cand[ci]
            last = i - 1
        d = distance_m(float(lat[last]), float(lng[last]), float(lat[i]), float(lng[i]))
        if d > max_m_per_ms * float(t[i] - t[last]):
            keep[i] = False
            rejected.append(i)
            if len(rejected) >= resync_fixes and not too_fast[rejected[0] : i].any():
                # A consistent run of "outliers": the kept fix before them was the outlier.
                keep[rejected] = True
                last = i
                rejected = []
        else:
            last = i
            rejected = []
        i += 1
    return keep
