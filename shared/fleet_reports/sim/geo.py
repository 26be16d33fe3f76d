"""Spherical geometry for the simulator: distances, bearings, destinations (vectorised numpy).

The sphere is the one the engine measures on (docs/analytics.md, "Trips and parkings"): mean Earth radius
6,371,008.8 m. All angles are degrees; every function broadcasts over array arguments.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8
_DEG = math.pi / 180.0


def _f64(x: npt.ArrayLike) -> F64:
    return np.asarray(x, dtype=np.float64)


def haversine_m(lat1: npt.ArrayLike, lng1: npt.ArrayLike, lat2: npt.ArrayLike, lng2: npt.ArrayLike) -> F64:
    """Great-circle distance in metres between points (degrees)."""
    p1 = _f64(lat1) * _DEG
    p2 = _f64(lat2) * _DEG
    dl = (_f64(lng2) - _f64(lng1)) * _DEG
    h = np.sin((p2 - p1) * 0.5) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl * 0.5) ** 2
    out: F64 = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return out


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Scalar great-circle distance in metres."""
    return float(haversine_m(lat1, lng1, lat2, lng2))


def leg_lengths_m(lat: npt.ArrayLike, lng: npt.ArrayLike) -> F64:
    """Lengths of the ``n - 1`` legs between consecutive points (empty for fewer than 2)."""
    la, ln = _f64(lat), _f64(lng)
    if la.shape[0] < 2:
        return np.empty(0, np.float64)
    return haversine_m(la[:-1], ln[:-1], la[1:], ln[1:])


def path_length_m(lat: npt.ArrayLike, lng: npt.ArrayLike) -> float:
    """Sum of the legs of a polyline in metres."""
    return float(leg_lengths_m(lat, lng).sum())


def cumulative_m(lat: npt.ArrayLike, lng: npt.ArrayLike) -> F64:
    """Distance along a polyline at each of its points (0 at the first)."""
    legs = leg_lengths_m(lat, lng)
    out = np.zeros(legs.shape[0] + 1, np.float64)
    np.cumsum(legs, out=out[1:])
    return out


def bearing_deg(lat1: npt.ArrayLike, lng1: npt.ArrayLike, lat2: npt.ArrayLike, lng2: npt.ArrayLike) -> F64:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1 = _f64(lat1) * _DEG
    p2 = _f64(lat2) * _DEG
    dl = (_f64(lng2) - _f64(lng1)) * _DEG
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    deg = np.mod(np.degrees(np.arctan2(y, x)), 360.0)
    out: F64 = np.where(deg >= 360.0, 0.0, deg)  # mod of a tiny negative rounds up to 360
    return out


def destination(
    lat: npt.ArrayLike, lng: npt.ArrayLike, bearing: npt.ArrayLike, distance: npt.ArrayLike
) -> tuple[F64, F64]:
    """The point ``distance`` metres from (lat, lng) along the initial ``bearing`` (degrees)."""
    p1 = _f64(lat) * _DEG
    l1 = _f64(lng) * _DEG
    b = _f64(bearing) * _DEG
    d = _f64(distance) / EARTH_RADIUS_M
    sin_p2 = np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b)
    p2 = np.arcsin(np.clip(sin_p2, -1.0, 1.0))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * sin_p2)
    lng2 = np.mod(np.degrees(l2) + 540.0, 360.0) - 180.0
    return np.degrees(p2), lng2


def offset_m(lat: npt.ArrayLike, lng: npt.ArrayLike, east_m: npt.ArrayLike, north_m: npt.ArrayLike) -> tuple[F64, F64]:
    """Points shifted by small east/north offsets in metres (local flat approximation, for
    GPS noise of metres to a few hundred metres)."""
    la = _f64(lat)
    dlat = np.degrees(_f64(north_m) / EARTH_RADIUS_M)
    dlng = np.degrees(_f64(east_m) / (EARTH_RADIUS_M * np.cos(la * _DEG)))
    return la + dlat, _f64(lng) + dlng
