"""Addresses of points: the nearest known place within its radius, else the coordinates; with
``include_zones_in_address``, prefixed by the label of the most specific geofence holding the
point (``"[Depot] Lenina 1, Moscow"``; :func:`fleet_reports.engine.zones.most_specific`), and
without the place's text when it only repeats the label (``"[Depot: Lenina 1]"``, not
``"[Depot: Lenina 1] Lenina 1"``). docs/analytics.md, "Addresses and zone labels".

No external geocoder exists offline; places and zones come from the fleet data
(``ReportContext.places`` and ``ReportContext.zones``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.geo import haversine_m
from fleet_reports.engine.model import Place, ReportContext, Zone
from fleet_reports.engine.zones import Shape, most_specific, shape

F64 = npt.NDArray[np.float64]
_CHUNK = 4096


def format_coordinates(lat: float, lng: float) -> str:
    """``"55.53111, 36.96743"`` (always a decimal point: coordinates are not localised)."""
    return f"{lat:.5f}, {lng:.5f}"


_NOT_A_WORD = re.compile(r"[\W_]+")


def _words(text: str) -> str:
    """``text`` as its words, case-folded, single-spaced: ``"Depot: Naro-Fominsk"`` -> ``"depot naro fominsk"``."""
    return _NOT_A_WORD.sub(" ", text.casefold()).strip()


def repeats(label: str, text: str) -> bool:
    """Whether ``text`` says nothing the label does not: it is empty, or its words appear, whole
    and in order, in the label (``"Naro-Fominsk office"`` in ``"Depot: Naro-Fominsk office"``).
    A text that says more (``"Troitsk, Moscow, Russia"`` after ``"Troitsk"``) is no repeat."""
    words = _words(text)
    return not words or f" {words} " in f" {_words(label)} "


def compose(label: str | None, text: str) -> str:
    """An address: ``"[label] text"``, ``"[label]"`` when the text repeats the label, or the
    text alone when no zone labels the point."""
    if label is None:
        return text
    return f"[{label}]" if repeats(label, text) else f"[{label}] {text}"


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
        the label of the most specific zone holding it, in brackets (the place's address left
        out when it repeats the label; coordinates are always kept)."""
        found = self.place_index(lat, lng).tolist()
        if not self._zones or lat.size == 0:
            labels: list[str | None] = [None] * len(found)
        else:
            labels = [
                self._zones[z].zone.label if z >= 0 else None for z in most_specific(self._zones, lat, lng).tolist()
            ]
        out: list[str] = []
        for k, label, y, x in zip(found, labels, lat.tolist(), lng.tolist(), strict=True):
            if k < 0:  # coordinates never repeat a label
                plain = format_coordinates(float(y), float(x))
                out.append(plain if label is None else f"[{label}] {plain}")
            else:
                out.append(compose(label, self._places[k].address))
        return out
