"""Addresses of points: the nearest known place within its radius, else the coordinates.

No external geocoder exists offline; places come from the fleet data (``ReportContext.places``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.geo import haversine_m
from fleet_reports.engine.model import Place

F64 = npt.NDArray[np.float64]
_CHUNK = 4096


def format_coordinates(lat: float, lng: float) -> str:
    """``"55.53111, 36.96743"`` (always a decimal point: coordinates are not localised)."""
    return f"{lat:.5f}, {lng:.5f}"


class AddressBook:
    """Resolves many points at once against the places (vectorised over points x places)."""

    def __init__(self, places: Sequence[Place], enabled: bool = True) -> None:
        self._places = tuple(places) if enabled else ()
        self._lat = np.array([p.lat for p in self._places], dtype=np.float64)
        self._lng = np.array([p.lng for p in self._places], dtype=np.float64)
        self._radius = np.array([p.radius_m for p in self._places], dtype=np.float64)

    def place_index(self, lat: F64, lng: F64) -> npt.NDArray[np.int64]:
        """Index of the nearest place holding each point within its radius, or -1."""
        out = np.full(lat.shape[0], -1, dtype=np.int64)
        if not self._places or lat.size == 0:
            return out
        for a in range(0, lat.shape[0], _CHUNK):
            d = haversine_m(lat[a : a + _CHUNK, None], lng[a : a + _CHUNK, None], self._lat, self._lng)
            d[d > self._radius] = np.inf
            best = np.argmin(d, axis=1)
            found = np.isfinite(d[np.arange(d.shape[0]), best])
            out[a : a + _CHUNK] = np.where(found, best, -1)
        return out

    def lookup(self, lat: F64, lng: F64) -> list[str]:
        """An address per point: the place's ``address``, else formatted coordinates."""
        found = self.place_index(lat, lng).tolist()
        return [
            self._places[k].address if k >= 0 else format_coordinates(float(y), float(x))
            for k, y, x in zip(found, lat.tolist(), lng.tolist(), strict=True)
        ]
