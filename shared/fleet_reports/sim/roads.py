"""Road-like paths: the polyline a simulated vehicle follows (pure numpy, deterministic for a seed).

:func:`road_path` turns a few waypoints into a dense polyline that looks like a road (rounded
corners, a smooth meander), optionally of an exact length; :func:`densify` adds vertices so that
no leg is long. :func:`solve` is the one-dimensional root finder both use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from fleet_reports.sim import geo

F64 = npt.NDArray[np.float64]
LatLng = tuple[float, float]
Waypoints = Sequence[LatLng] | F64

PATH_SPACING_M = 40.0  # vertex spacing of road-like paths


def as_points(waypoints: Waypoints) -> F64:
    """The waypoints as an (n, 2) array of finite (lat, lng)."""
    pts = np.asarray(waypoints, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 1:
        raise ValueError("waypoints must be a sequence of (lat, lng) pairs")
    if not np.isfinite(pts).all():
        raise ValueError("waypoints must be finite")
    return pts


def _round_corners(p: F64, radius_m: float = 300.0, iterations: int = 3) -> F64:
    """Chaikin corner cutting with the cut capped at ``radius_m`` (endpoints kept)."""
    for _ in range(iterations):
        if p.shape[0] < 3:
            break
        seg = p[1:] - p[:-1]
        length = np.hypot(seg[:, 0], seg[:, 1])
        f = np.minimum(0.25, radius_m / np.maximum(length, 1e-9))[:, None]
        out = np.empty((2 * seg.shape[0], 2), np.float64)
        out[0::2] = p[:-1] + seg * f
        out[1::2] = p[1:] - seg * f
        out[0] = p[0]
        out[-1] = p[-1]
        p = out
    return p


def _resample_xy(p: F64, spacing_m: float) -> tuple[F64, F64]:
    seg = np.hypot(np.diff(p[:, 0]), np.diff(p[:, 1]))
    keep = np.concatenate(([True], seg > 1e-9))
    p = p[keep]
    s = np.concatenate(([0.0], np.cumsum(seg[seg > 1e-9])))
    total = float(s[-1])
    n = max(2, math.ceil(total / spacing_m) + 1)
    grid = np.linspace(0.0, total, n)
    return np.interp(grid, s, p[:, 0]), np.interp(grid, s, p[:, 1])


def road_path(
    waypoints: Waypoints,
    *,
    seed: int = 0,
    wiggle: float = 1.0,
    target_m: float | None = None,
    spacing_m: float = PATH_SPACING_M,
) -> tuple[F64, F64]:
    """A road-like dense polyline (lat, lng) through the general course of ``waypoints``.

    Corners are rounded (radius a few hundred metres) and a smooth lateral meander of
    wavelengths 0.7-11 km (amplitude scaled by ``wiggle``) makes it look like a road; it starts
    and ends exactly at the first and last waypoint. With ``target_m`` the detour of the
    intermediate waypoints from the straight line (or the meander, when even the straight line
    is too long) is scaled so that the path length is ``target_m`` within a metre.
    """
    pts = as_points(waypoints)
    if pts.shape[0] < 2:
        raise ValueError("a path needs at least two waypoints")
    lat_a, lng_a = float(pts[0, 0]), float(pts[0, 1])
    lat0 = float(pts[:, 0].mean())
    ky = geo.EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    xy = np.stack(((pts[:, 1] - lng_a) * kx, (pts[:, 0] - lat_a) * ky), axis=1)
    rng = np.random.default_rng(seed)
    a, b = xy[0], xy[-1]
    chord = float(np.hypot(*(b - a)))
    u = (b - a) / chord if chord > 1.0 else np.array([1.0, 0.0])
    if xy.shape[0] == 2 and target_m is not None and target_m > chord:
        side = float(rng.choice([-1.0, 1.0]))
        perp = np.array([-u[1], u[0]]) * 0.1 * max(chord, 10.0)
        xy = np.stack((a, a + (b - a) / 3 + side * perp, a + 2 * (b - a) / 3 - side * perp, b))
    foot = a + ((xy - a) @ u)[:, None] * u
    disp = xy - foot
    lam = np.array([700.0, 1800.0, 4500.0, 11000.0]) * rng.uniform(0.8, 1.25, 4)
    amp = np.array([6.0, 20.0, 60.0, 150.0]) * rng.uniform(0.5, 1.0, 4)
    phase = rng.uniform(0.0, 2.0 * math.pi, 4)

    def shape(beta: float, omega: float) -> tuple[F64, F64]:
        p = _round_corners(foot + beta * disp)
        x, y = _resample_xy(p, spacing_m)
        total = float(np.hypot(np.diff(x), np.diff(y)).sum())
        s = np.linspace(0.0, total, x.shape[0])
        scale = omega * wiggle * np.minimum(1.0, total / lam)
        w = (scale * amp * np.sin(2.0 * math.pi * s[:, None] / lam + phase)).sum(axis=1)
        taper_len = max(min(400.0, total / 4.0), 1e-9)
        z = np.clip(np.minimum(s, total - s) / taper_len, 0.0, 1.0)
        w *= z * z * (3.0 - 2.0 * z)
        tx, ty = np.gradient(x), np.gradient(y)
        norm = np.maximum(np.hypot(tx, ty), 1e-12)
        x = x - w * ty / norm
        y = y + w * tx / norm
        return lat_a + y / ky, lng_a + x / kx

    if target_m is None:
        return shape(1.0, 1.0)

    def length(beta: float, omega: float) -> float:
        return geo.path_length_m(*shape(beta, omega))

    if length(0.0, 1.0) > target_m:
        omega = solve(lambda w: length(0.0, w), target_m, 0.0, 1.0, tol=0.5)
        return shape(0.0, omega)
    hi = 1.0
    while length(hi, 1.0) < target_m and hi < 64.0:
        hi *= 2.0
    beta = solve(lambda x: length(x, 1.0), target_m, 0.0, hi, tol=0.5)
    return shape(beta, 1.0)


def solve(f: Callable[[float], float], target: float, lo: float, hi: float, *, tol: float) -> float:
    """``x`` in [lo, hi] with ``f(x) ~= target`` for an increasing ``f`` (Illinois regula falsi,
    falling back to bisection); the nearest end when the target is out of range."""
    f_lo, f_hi = f(lo) - target, f(hi) - target
    if f_lo >= 0:
        return lo
    if f_hi <= 0:
        return hi
    side = 0
    x = lo
    for _ in range(60):
        x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not lo < x < hi:
            x = 0.5 * (lo + hi)
        fx = f(x) - target
        if abs(fx) <= tol:
            return x
        if fx < 0:
            lo, f_lo = x, fx
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = x, fx
            if side == 1:
                f_lo *= 0.5
            side = 1
    return x


def densify(lat: F64, lng: F64, spacing_m: float) -> tuple[F64, F64, F64]:
    """The polyline with extra vertices so that no leg exceeds ``spacing_m`` (vertices kept),
    and the distance along it at each vertex."""
    legs = geo.leg_lengths_m(lat, lng)
    keep = np.concatenate(([True], legs > 0.01))
    lat, lng, legs = lat[keep], lng[keep], legs[legs > 0.01]
    if legs.size == 0 or legs.max() <= 1.5 * spacing_m:
        return lat, lng, np.concatenate(([0.0], np.cumsum(legs)))
    pieces = np.maximum(1, np.ceil(legs / spacing_m).astype(np.int64))
    seg = np.repeat(np.arange(legs.shape[0]), pieces)
    first = np.repeat(np.cumsum(pieces) - pieces, pieces)
    frac = (np.arange(int(pieces.sum())) - first) / np.repeat(pieces, pieces)
    out_lat = np.append(lat[seg] + (lat[seg + 1] - lat[seg]) * frac, lat[-1])
    out_lng = np.append(lng[seg] + (lng[seg + 1] - lng[seg]) * frac, lng[-1])
    return out_lat, out_lng, geo.cumulative_m(out_lat, out_lng)
