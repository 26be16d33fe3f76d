"""Addresses of points: the nearest known place within its radius, else the coordinates; with
``include_zones_in_address``, prefixed by the labels of the geofences holding the point
(``"[Depot] Lenina 1, Moscow"``).

No external geocoder exists offline; places and zones come from the fleet data
(``ReportContext.places`` and ``ReportContext.zones``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.geo import haversine_m
from fleet_reports.engine.model import Place, ReportContext, Zone
from fleet_reports.engine.zones import Shape, inside, shape

F64 = npt.NDArray[np.float64]
_CHUNK = 4096


def format_coordinates(lat: float, lng: float) -> str:
    """``"55.53111, 36.96743"`` (always a decimal point: coordinates are not localised)."""
    return f"{lat:.5f}, {lng:.5f}"


class AddressBook:
    """Resolves many points at once against the places (vectorised over points x places)."""

    def __init__(self, places: Sequence[Place], enabled: bool = True, zones: Sequence[Zone] = ()) -> None:
        self._places = tuple(places) if enabled else ()
        self._zones: list[Shape] = []
        for zone in zones:
            try:
                self._zones.append(shape(zone))
            except ValueError:
                continue  # a malformed zone names no address (plugin 8 reports it)
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

    @staticmethod
    def of(ctx: ReportContext) -> AddressBook:
        """The report's address book: its places and, unless turned off, its zones."""
        zones = ctx.zones if ctx.include_zones_in_address else ()
        return AddressBook(ctx.places, ctx.include_places_in_address, zones)

    def lookup(self, lat: F64, lng: F64) -> list[str]:
        """An address per point: the place's ``address``, else formatted coordinates; prefixed by
        the labels of the zones holding it, in brackets."""
        found = self.place_index(lat, lng).tolist()
        out = [
            self._places[k].address if k >= 0 else format_coordinates(float(y), float(x))
            for k, y, x in zip(found, lat.tolist(), lng.tolist(), strict=True)
        ]
        if not self._zones or lat.size == 0:
            return out
        labels: list[list[str]] = [[] for _ in out]
        for z in self._zones:
            for k in np.flatnonzero(inside(z, lat, lng)).tolist():
                labels[k].append(z.zone.label)
        return [f"[{', '.join(names)}] {text}" if names else text for names, text in zip(labels, out, strict=True)]
