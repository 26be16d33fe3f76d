"""Great-circle distances on the mean Earth sphere (docs/analytics.md, "Trips and parkings")."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8
_DEG = math.pi / 180.0


def haversine_m(lat1: npt.ArrayLike, lng1: npt.ArrayLike, lat2: npt.ArrayLike, lng2: npt.ArrayLike) -> F64:
    """Vectorised haversine distance in metres between points given in degrees (broadcasts)."""
    p1 = np.asarray(lat1, dtype=np.float64) * _DEG
    p2 = np.asarray(lat2, dtype=np.float64) * _DEG
    dl = (np.asarray(lng2, dtype=np.float64) - np.asarray(lng1, dtype=np.float64)) * _DEG
    return _haversine_rad(p1, p2, dl, np.cos(p1), np.cos(p2))


SMALL_RAD = 1e-3  # below this, sin and arcsin by their series are exact to the last bit


def _haversine_rad(p1: F64, p2: F64, dl: F64, c1: F64, c2: F64) -> F64:
    s_lat = _sin((p2 - p1) * 0.5)
    s_lng = _sin(dl * 0.5)
    h = s_lat * s_lat + c1 * c2 * (s_lng * s_lng)  # >= 0 (cosines of latitudes are >= 0)
    out: F64 = (2.0 * EARTH_RADIUS_M) * _arcsin(np.minimum(np.sqrt(h), 1.0))
    return out


def _sin(x: F64) -> F64:
    """``np.sin``; for the half-angles of legs under ~6 km its series x - x^3/6 + x^5/120 (the
    next term is below 1e-19 of the value), several times faster."""
    x = np.asarray(x, dtype=np.float64)
    x2 = x * x
    out: F64 = np.asarray(x * (1.0 - x2 * (1.0 / 6.0 - x2 * (1.0 / 120.0))))  # 0-d stays an array
    big = np.flatnonzero(np.abs(x) > SMALL_RAD)
    if big.size:
        out.flat[big] = np.sin(x.flat[big])
    return out


def _arcsin(y: F64) -> F64:
    """``np.arcsin`` for 0 <= y <= 1; by its series y + y^3/6 + 3y^5/40 below SMALL_RAD."""
    y = np.asarray(y, dtype=np.float64)
    y2 = y * y
    out: F64 = np.asarray(y * (1.0 + y2 * (1.0 / 6.0 + y2 * (3.0 / 40.0))))
    big = np.flatnonzero(y > SMALL_RAD)
    if big.size:
        out.flat[big] = np.arcsin(y.flat[big])
    return out


def leg_lengths_m(lat: F64, lng: F64, cos_phi: F64 | None = None) -> F64:
    """Length of each leg between consecutive points: ``n - 1`` values (empty for n < 2);
    ``cos_phi``, the cosines of the latitudes, when the caller has them already."""
    if lat.shape[0] < 2:
        return np.empty(0, np.float64)
    phi = lat * _DEG
    if cos_phi is None:
        cos_phi = np.cos(phi)
    return _haversine_rad(phi[:-1], phi[1:], np.diff(lng) * _DEG, cos_phi[:-1], cos_phi[1:])


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Scalar haversine (for the few places where a loop is unavoidable)."""
    p1 = lat1 * _DEG
    p2 = lat2 * _DEG
    s_lat = math.sin((p2 - p1) * 0.5)
    s_lng = math.sin((lng2 - lng1) * _DEG * 0.5)
    h = s_lat * s_lat + math.cos(p1) * math.cos(p2) * s_lng * s_lng
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, h))))
