"""Geofence geometry (docs/analytics.md, "Plugins", 8), vectorised with numpy.

A zone is a circle (centre, radius in metres), a polygon (vertices) or a sausage (a polyline and
a half-width in metres). :func:`inside` tells which points lie in a zone: a bounding box drops
the points far away with four comparisons, and only the points in the box get the exact test
(haversine for a circle, ray casting for a polygon, distance to the polyline's segments in a
local tangent plane for a sausage). :func:`visits` turns the fixes of a track into visits, from
entry to exit, with the crossing instants interpolated between the fixes either side of the
boundary (linear in time along the leg, at the point where the leg crosses the boundary).
:func:`most_specific` picks, for each point, the one zone that names it in an address
(docs/analytics.md, "Addresses and zone labels"): a place (circle, polygon) before a corridor
(sausage), then the smallest by :func:`area_m2`, then the lowest zone id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.geo import EARTH_RADIUS_M, haversine_m
from fleet_reports.engine.intervals import Intervals, runs
from fleet_reports.engine.model import Zone

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0  # metres per degree of latitude
BISECTION_STEPS = 24  # 2**-24 of a leg: well under a millisecond and a millimetre
_BOX_MARGIN = 1.001  # the bounding box is padded a little so that it never cuts the zone


@dataclass(frozen=True)
class Shape:
    """A zone ready for tests: its kind, geometry as arrays, and a bounding box in degrees."""

    zone: Zone
    kind: str
    lat: F64  # circle: the centre; polygon: the vertices; sausage: the polyline
    lng: F64
    radius_m: float  # circle radius or sausage half-width (0 for a polygon)
    lat_lo: float
    lat_hi: float
    lng_lo: float
    lng_hi: float

    def in_box(self, lat: F64, lng: F64) -> Bool:
        out: Bool = (lat >= self.lat_lo) & (lat <= self.lat_hi) & (lng >= self.lng_lo) & (lng <= self.lng_hi)
        return out


def shape(zone: Zone) -> Shape:
    """The zone's geometry and bounding box; ValueError when the zone is malformed."""
    kind = zone.kind.strip().lower()
    radius = float(zone.radius_m or 0.0)
    if kind == "circle":
        if zone.center is None or radius <= 0:
            raise ValueError(f"zone {zone.id}: a circle needs a centre and a positive radius")
        lat = np.array([zone.center[0]], np.float64)
        lng = np.array([zone.center[1]], np.float64)
    elif kind in ("polygon", "sausage"):
        pts = np.asarray(zone.points, dtype=np.float64).reshape(-1, 2)
        if kind == "polygon" and pts.shape[0] < 3:
            raise ValueError(f"zone {zone.id}: a polygon needs at least 3 vertices")
        if kind == "sausage" and (pts.shape[0] < 1 or radius <= 0):
            raise ValueError(f"zone {zone.id}: a sausage needs points and a positive radius")
        lat, lng = pts[:, 0].copy(), pts[:, 1].copy()
        if kind == "polygon":
            radius = 0.0
    else:
        raise ValueError(f"zone {zone.id}: unknown kind {zone.kind!r}")
    pad_lat = radius * _BOX_MARGIN / M_PER_DEG
    lat_lo, lat_hi = float(lat.min()) - pad_lat, float(lat.max()) + pad_lat
    widest = max(abs(lat_lo), abs(lat_hi))
    cos_lat = max(math.cos(math.radians(min(widest, 89.9))), 1e-6)
    pad_lng = radius * _BOX_MARGIN / (M_PER_DEG * cos_lat)
    return Shape(zone, kind, lat, lng, radius, lat_lo, lat_hi, float(lng.min()) - pad_lng, float(lng.max()) + pad_lng)


def _exact(s: Shape, lat: F64, lng: F64) -> Bool:
    """The exact test for points (already in the zone's box)."""
    if s.kind == "circle":
        out: Bool = haversine_m(lat, lng, s.lat[0], s.lng[0]) <= s.radius_m
        return out
    if s.kind == "polygon":
        return point_in_polygon(lat, lng, s.lat, s.lng)
    return distance_to_polyline_m(lat, lng, s.lat, s.lng) <= s.radius_m


def inside(s: Shape, lat: F64, lng: F64) -> Bool:
    """Which points lie in the zone (the boundary counts as inside for circles and sausages)."""
    out = np.zeros(lat.shape[0], np.bool_)
    if lat.size == 0:
        return out
    box = np.flatnonzero(s.in_box(lat, lng))
    if box.size:
        out[box] = _exact(s, lat[box], lng[box])
    return out


CORRIDOR_KINDS = frozenset({"sausage"})  # ways between places: named only where no place holds the point


def area_m2(s: Shape) -> float:
    """The zone's area in square metres: a circle's pi r^2; a polygon's by the shoelace formula in
    a local tangent plane at its mean latitude (the absolute value, whatever the winding); a
    sausage's length x width plus its two round ends (2 r L + pi r^2, overlaps at bends counted
    twice), so a one-point sausage is the circle it is."""
    if s.kind == "circle":
        return math.pi * s.radius_m * s.radius_m
    kx = M_PER_DEG * math.cos(math.radians(float(s.lat.mean())))
    x, y = (s.lng - s.lng[0]) * kx, (s.lat - s.lat[0]) * M_PER_DEG
    if s.kind == "polygon":
        return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    length = float(np.hypot(np.diff(x), np.diff(y)).sum())
    return 2.0 * s.radius_m * length + math.pi * s.radius_m * s.radius_m


def specificity(s: Shape) -> tuple[int, float, int]:
    """Sort key, most specific first: a place (circle, polygon) before a corridor (sausage),
    whatever their areas; then the smaller area; then the lower zone id."""
    return (1 if s.kind in CORRIDOR_KINDS else 0, area_m2(s), s.zone.id)


def most_specific(shapes: Sequence[Shape], lat: F64, lng: F64) -> I64:
    """For each point, the index in ``shapes`` of the most specific zone holding it (by
    :func:`specificity`; equal keys: the earlier in ``shapes``), or -1 when none does."""
    out = np.full(lat.shape[0], -1, np.int64)
    order = sorted(range(len(shapes)), key=lambda k: specificity(shapes[k]))
    for k in order:
        todo = np.flatnonzero(out < 0)
        if todo.size == 0:
            break
        out[todo[inside(shapes[k], lat[todo], lng[todo])]] = k
    return out


def point_in_polygon(lat: F64, lng: F64, vlat: F64, vlng: F64) -> Bool:
    """Ray casting (even-odd rule) of points against a polygon's vertices, in degrees.

    Inside-ness is invariant under the affine map from degrees to a local plane, so no
    projection is needed. The loop runs over the edges (few), each vectorised over the points.
    """
    out = np.zeros(lat.shape[0], np.bool_)
    n = vlat.shape[0]
    for k in range(n):
        y1, x1 = vlat[k], vlng[k]
        y2, x2 = vlat[(k + 1) % n], vlng[(k + 1) % n]
        if y1 == y2:
            continue
        straddles = (y1 > lat) != (y2 > lat)
        x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        out ^= straddles & (lng < x_cross)
    return out


def distance_to_polyline_m(lat: F64, lng: F64, vlat: F64, vlng: F64) -> F64:
    """Distance in metres from each point to a polyline (a single point when it has one vertex),
    in a local tangent plane at the polyline's mean latitude (exact to a fraction of a percent
    over tens of kilometres)."""
    ky = M_PER_DEG
    kx = M_PER_DEG * math.cos(math.radians(float(vlat.mean())))
    px, py = (lng - vlng[0]) * kx, (lat - vlat[0]) * ky
    vx, vy = (vlng - vlng[0]) * kx, (vlat - vlat[0]) * ky
    best: F64 = np.hypot(px - vx[0], py - vy[0])
    for k in range(vx.shape[0] - 1):
        ax, ay, bx, by = vx[k], vy[k], vx[k + 1], vy[k + 1]
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        if length2 <= 0:
            continue
        u = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
        np.minimum(best, np.hypot(px - (ax + u * dx), py - (ay + u * dy)), out=best)
    return best


def crossing_fraction(s: Shape, lat0: F64, lng0: F64, lat1: F64, lng1: F64, inside0: Bool) -> F64:
    """Where each leg from point 0 to point 1 crosses the boundary, as a fraction of the leg.

    The two ends are on different sides (``inside0`` says where point 0 is); bisection keeps
    that so, over all legs at once, and returns the fraction at the first point on point 1's
    side (the leg is a straight line in degrees, as the fixes are interpolated).
    """
    lo = np.zeros(lat0.shape[0], np.float64)
    hi = np.ones(lat0.shape[0], np.float64)
    dlat, dlng = lat1 - lat0, lng1 - lng0
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        same = inside(s, lat0 + dlat * mid, lng0 + dlng * mid) == inside0
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return hi


@dataclass(frozen=True, kw_only=True)
class Visits(Intervals[np.float64]):
    """Visits to one zone: entry ``start_ms`` and exit ``end_ms`` (UTC ms, interpolated between
    fixes) and the indices of the first and last fix inside (``first_idx > last_idx``: none, a
    leg that clips the zone)."""

    first_idx: I64
    last_idx: I64

    @property
    def entry_ms(self) -> F64:
        return self.start_ms

    @property
    def exit_ms(self) -> F64:
        return self.end_ms


def visits(s: Shape, t: I64, lat: F64, lng: F64, *, max_gap_ms: float = math.inf) -> Visits:
    """Visits of time-ordered fixes to a zone: runs of fixes inside it.

    A visit enters on the leg from the last fix outside to the first fix inside, at the
    interpolated instant where that leg crosses the boundary; it exits likewise. A visit that is
    inside at the first (last) fix starts (ends) there; so does one whose leg across the
    boundary is a data gap longer than ``max_gap_ms`` (when it crossed is unknown, and the fix
    inside is the first evidence).
    """
    n = t.shape[0]
    if n == 0:
        return Visits.empty()
    # Skip the whole track when it never comes near the zone (the common case for 50 zones).
    isin = inside(s, lat, lng)
    clips = _clipping_legs(s, t, lat, lng, isin, max_gap_ms)
    if not isin.any() and clips[0].size == 0:
        return Visits.empty()
    first, last = runs(isin)
    tf = t.astype(np.float64)
    entry = tf[first].copy()
    exit_ = tf[last].copy()
    # Entries: legs (first - 1, first); exits: legs (last, last + 1), where they exist and are no gap.
    a = first[first > 0]
    a = a[(tf[a] - tf[a - 1]) <= max_gap_ms]
    b = last[last < n - 1]
    b = b[(tf[b + 1] - tf[b]) <= max_gap_ms]
    if a.size or b.size:
        lo = np.concatenate((a - 1, b))
        hi = np.concatenate((a, b + 1))
        frac = crossing_fraction(s, lat[lo], lng[lo], lat[hi], lng[hi], isin[lo])
        when = tf[lo] + frac * (tf[hi] - tf[lo])
        entry[np.searchsorted(first, a)] = when[: a.size]
        exit_[np.searchsorted(last, b)] = when[a.size :]
    legs, inner = clips
    if legs.size:
        # A leg that clips the zone with both fixes outside (a corner cut between two fixes):
        # a visit with no fix inside, entering and exiting where the leg crosses the boundary.
        lat0, lng0, lat1, lng1 = lat[legs], lng[legs], lat[legs + 1], lng[legs + 1]
        ilat, ilng = lat0 + inner * (lat1 - lat0), lng0 + inner * (lng1 - lng0)
        out0 = np.zeros(legs.shape[0], np.bool_)
        f_in = inner * crossing_fraction(s, lat0, lng0, ilat, ilng, out0)
        f_out = inner + (1.0 - inner) * crossing_fraction(s, ilat, ilng, lat1, lng1, ~out0)
        span = tf[legs + 1] - tf[legs]
        entry = np.concatenate((entry, tf[legs] + f_in * span))
        exit_ = np.concatenate((exit_, tf[legs] + f_out * span))
        first = np.concatenate((first, legs + 1))  # first > last: no fix inside
        last = np.concatenate((last, legs))
        order = np.argsort(entry, kind="stable")
        entry, exit_, first, last = entry[order], exit_[order], first[order], last[order]
    return Visits(start_ms=entry, end_ms=exit_, first_idx=first.astype(np.int64), last_idx=last.astype(np.int64))


CLIP_SAMPLES = 64  # points tested along a leg with both ends outside a zone


def _clipping_legs(s: Shape, t: I64, lat: F64, lng: F64, isin: Bool, max_gap_ms: float) -> tuple[I64, F64]:
    """Legs (index of their first fix) whose fixes are both outside the zone but whose straight
    line passes through it, with the fraction of the leg at a point inside. Only legs whose box
    meets the zone's box are sampled; a clip shorter than 1/64 of its leg can go unseen."""
    if t.shape[0] < 2:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    lat0, lat1, lng0, lng1 = lat[:-1], lat[1:], lng[:-1], lng[1:]
    cand = np.flatnonzero(
        ~isin[:-1]
        & ~isin[1:]
        & (np.minimum(lat0, lat1) <= s.lat_hi)
        & (np.maximum(lat0, lat1) >= s.lat_lo)
        & (np.minimum(lng0, lng1) <= s.lng_hi)
        & (np.maximum(lng0, lng1) >= s.lng_lo)
        & (np.diff(t).astype(np.float64) <= max_gap_ms)
    )
    if cand.size == 0:
        return cand.astype(np.int64), np.empty(0, np.float64)
    u = (np.arange(CLIP_SAMPLES, dtype=np.float64) + 0.5) / CLIP_SAMPLES
    plat = (lat0[cand, None] + u[None, :] * (lat1[cand] - lat0[cand])[:, None]).ravel()
    plng = (lng0[cand, None] + u[None, :] * (lng1[cand] - lng0[cand])[:, None]).ravel()
    hit = inside(s, plat, plng).reshape(cand.shape[0], CLIP_SAMPLES)
    found = hit.any(axis=1)
    return cand[found].astype(np.int64), u[np.argmax(hit[found], axis=1)]
