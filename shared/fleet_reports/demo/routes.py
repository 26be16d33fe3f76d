"""The demo fleet's roads: the spots where vehicles park and the road between any two of them.

A route is the same on every call (cached, read-only): the seed day's routes have the seed's
course and length (``_ROUTE_SPECS``); any other pair gets a road-like path of its own, seeded by
the pair's names, and the way back is the way there reversed.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
import numpy.typing as npt

from fleet_reports.sim import geo
from fleet_reports.sim.drive import road_path

F64 = npt.NDArray[np.float64]

# Parking spots (lat, lng): the seed's spots to the fifth decimal, else the place itself.
SPOTS: dict[str, tuple[float, float]] = {
    "selyatino": (55.53100, 36.96738),
    "serpukhov": (54.92190, 37.33551),
    "serpukhov_north": (54.92662, 37.33389),
    "rassudovo": (55.46662, 36.92167),
    "lesnoe_ozero": (54.98751, 37.30932),
    "cold_store": (55.41150, 37.55320),
    "chekhov_wh": (55.15190, 37.47910),
    "naro_fominsk": (55.38560, 36.73400),
    "troitsk": (55.48470, 37.30720),
    "aprelevka": (55.54500, 37.07350),
    "vidnoye": (55.55170, 37.70860),
    "domodedovo": (55.43640, 37.76650),
    "podolsk": (55.43120, 37.54470),
    "chekhov": (55.14260, 37.45450),
    "protvino": (54.87070, 37.21810),
    "obninsk": (55.09680, 36.61010),
    "kubinka": (55.57620, 36.69510),
}

_NARO_FOMINSK = (55.3856, 36.7340)
_BALABANOVO = (55.1810, 36.6570)
_PROTVINO = (54.8707, 37.2181)
_OBNINSK = (55.0968, 36.6101)

# Routes with a known course and length (metres): the seed day's roads.
_ROUTE_SPECS: dict[tuple[str, str, int], tuple[tuple[tuple[float, float], ...], float]] = {
    ("selyatino", "serpukhov", 0): ((_NARO_FOMINSK, _BALABANOVO, _PROTVINO), 106_290.0),
    ("serpukhov", "selyatino", 0): ((_PROTVINO, _BALABANOVO, _NARO_FOMINSK), 106_970.0),
    ("serpukhov", "selyatino", 1): ((_PROTVINO, _OBNINSK, _BALABANOVO, _NARO_FOMINSK), 108_480.0),
    ("selyatino", "rassudovo", 0): (((55.4950, 36.9750),), 10_030.0),
    ("rassudovo", "serpukhov_north", 0): ((_NARO_FOMINSK, _BALABANOVO, _PROTVINO), 95_310.0),
    ("serpukhov_north", "serpukhov", 0): (((54.9245, 37.3372),), 950.0),
    ("selyatino", "lesnoe_ozero", 0): ((_NARO_FOMINSK, _PROTVINO), 95_790.0),
}


def crc(*parts: object) -> int:
    """A stable seed from the parts (CRC-32 of their text)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


@functools.cache
def route(a: str, b: str, variant: int = 0) -> F64:
    """The road from spot ``a`` to spot ``b``: dense (n, 2) lat/lng, read-only, the same on
    every call (the seed's routes have the seed's lengths)."""
    if (a, b, variant) in _ROUTE_SPECS:
        via, target = _ROUTE_SPECS[(a, b, variant)]
        pts = (SPOTS[a], *via, SPOTS[b])
        lat, lng = road_path(pts, seed=crc("route", a, b, variant), target_m=target)
        out = np.column_stack((lat, lng))
    elif (b, a, variant) in _ROUTE_SPECS or (b, a) < (a, b):
        out = route(b, a, variant)[::-1].copy()
    else:
        out = _generic_route(a, b, variant)
    out.flags.writeable = False
    return out


def _generic_route(a: str, b: str, variant: int) -> F64:
    (lat1, lng1), (lat2, lng2) = SPOTS[a], SPOTS[b]
    rng = np.random.default_rng(crc("generic", a, b, variant))
    chord = geo.distance_m(lat1, lng1, lat2, lng2)
    n_via = int(np.clip(round(chord / 15_000.0), 1, 4))
    frac = np.sort(rng.uniform(0.15, 0.85, n_via))
    side = rng.choice([-1.0, 1.0]) * np.where(np.arange(n_via) % 2 == 0, 1.0, -0.6)
    bearing = float(geo.bearing_deg(lat1, lng1, lat2, lng2))
    base_lat = lat1 + (lat2 - lat1) * frac
    base_lng = lng1 + (lng2 - lng1) * frac
    off = side * rng.uniform(0.04, 0.12, n_via) * chord
    vlat, vlng = geo.destination(base_lat, base_lng, bearing + 90.0, off)
    pts = [(lat1, lng1), *zip(vlat.tolist(), vlng.tolist(), strict=True), (lat2, lng2)]
    lat, lng = road_path(pts, seed=crc("road", a, b, variant))
    return np.column_stack((lat, lng))


def route_length_m(a: str, b: str, variant: int = 0) -> float:
    """The length of :func:`route` in metres."""
    r = route(a, b, variant)
    return geo.path_length_m(r[:, 0], r[:, 1])
