"""Inputs of the engine: a tracker's fixes as numpy arrays and what a report job knows.

Nothing here touches AWS; the worker fills these from the store and hands them over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]


@dataclass
class Track:
    """Time-ordered fixes of one tracker.

    ``t`` is UTC epoch milliseconds. Unknown values are NaN (floats) or -1 (``ignition``,
    ``satellites``). ``sensors`` maps a sensor *input name* (the CSV column) to readings
    aligned with ``t`` (NaN where the fix carried no reading).
    """

    t: I64
    lat: F64
    lng: F64
    speed: F32  # km/h, NaN = unknown
    heading: F32  # degrees, NaN = unknown
    alt: F32  # metres, NaN = unknown
    satellites: I8  # -1 = unknown
    hdop: F32  # NaN = unknown
    odometer: F64  # km, NaN = unknown
    ignition: I8  # -1 unknown, 0 off, 1 on
    sensors: dict[str, F64] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @staticmethod
    def empty(sensor_names: tuple[str, ...] = ()) -> Track:
        return Track(
            t=np.empty(0, np.int64),
            lat=np.empty(0, np.float64),
            lng=np.empty(0, np.float64),
            speed=np.empty(0, np.float32),
            heading=np.empty(0, np.float32),
            alt=np.empty(0, np.float32),
            satellites=np.empty(0, np.int8),
            hdop=np.empty(0, np.float32),
            odometer=np.empty(0, np.float64),
            ignition=np.empty(0, np.int8),
            sensors={name: np.empty(0, np.float64) for name in sensor_names},
        )

    def take(self, index: npt.NDArray[Any] | slice) -> Track:
        """A new track with the rows selected by a boolean mask or an index array (copies), or
        by a slice (views of these arrays)."""
        return Track(
            t=self.t[index],
            lat=self.lat[index],
            lng=self.lng[index],
            speed=self.speed[index],
            heading=self.heading[index],
            alt=self.alt[index],
            satellites=self.satellites[index],
            hdop=self.hdop[index],
            odometer=self.odometer[index],
            ignition=self.ignition[index],
            sensors={k: v[index] for k, v in self.sensors.items()},
        )

    @staticmethod
    def concat(parts: list[Track]) -> Track:
        """Concatenate tracks (sensor columns missing from a part are NaN there)."""
        if not parts:
            return Track.empty()
        names = sorted({k for p in parts for k in p.sensors})
        return Track(
            t=np.concatenate([p.t for p in parts]),
            lat=np.concatenate([p.lat for p in parts]),
            lng=np.concatenate([p.lng for p in parts]),
            speed=np.concatenate([p.speed for p in parts]),
            heading=np.concatenate([p.heading for p in parts]),
            alt=np.concatenate([p.alt for p in parts]),
            satellites=np.concatenate([p.satellites for p in parts]),
            hdop=np.concatenate([p.hdop for p in parts]),
            odometer=np.concatenate([p.odometer for p in parts]),
            ignition=np.concatenate([p.ignition for p in parts]),
            sensors={n: np.concatenate([p.sensors.get(n, np.full(len(p), np.nan)) for p in parts]) for n in names},
        )


@dataclass(frozen=True)
class SensorInfo:
    id: int
    name: str
    input_name: str  # column name in the track data
    kind: str = "metering"  # metering | discrete | virtual
    sensor_type: str = "custom"  # ignition, fuel, temperature, ...
    units: str = ""
    divider: float = 1.0


@dataclass(frozen=True)
class TrackerInfo:
    id: int
    label: str
    sensors: tuple[SensorInfo, ...] = ()
    trip_detection: Mapping[str, Any] = field(default_factory=dict)  # overrides of TripSettings
    odometer_base_km: float | None = None  # odometer counter value at odometer_base_ms
    odometer_base_ms: int | None = None


@dataclass(frozen=True)
class Place:
    """A named place; an address near it (within ``radius_m``) is rendered as ``address``."""

    name: str
    address: str
    lat: float
    lng: float
    radius_m: float = 500.0


@dataclass(frozen=True)
class Zone:
    """A geofence (docs/analytics.md, "Plugins", 8). Points are (lat, lng); radii in metres."""

    id: int
    label: str
    kind: str  # circle | polygon | sausage
    center: tuple[float, float] | None = None  # circle
    radius_m: float | None = None  # circle; sausage half-width
    points: tuple[tuple[float, float], ...] = ()  # polygon vertices / sausage polyline
    address: str = ""


@dataclass(frozen=True)
class DriverShift:
    """An employee drove ``tracker_id`` from ``from_ms`` (inclusive) to ``to_ms`` (exclusive; None = still)."""

    tracker_id: int
    employee_id: int
    driver_name: str
    from_ms: int
    to_ms: int | None = None


@dataclass(frozen=True)
class ReportContext:
    """Everything a plugin needs besides the fixes."""

    report_id: int
    title: str
    created: str  # local "yyyy-MM-dd HH:mm:ss"
    period_from: str  # local "yyyy-MM-dd HH:mm:ss", as the client sent it
    period_to: str
    from_ms: int  # UTC epoch ms
    to_ms: int  # UTC epoch ms (inclusive end, e.g. 23:59:59 -> that second)
    time_zone: str  # IANA name
    locale: str  # e.g. "en_US", "ru_RU"
    measurement_system: str  # metric | imperial | us | nautical
    time_filter: Mapping[str, Any]  # {"from": "HH:mm[:ss]", "to": ..., "weekdays": [1..7]}
    plugin: Mapping[str, Any]  # the plugin object as sent (plugin_id + options)
    trackers: tuple[TrackerInfo, ...]
    places: tuple[Place, ...] = ()
    include_places_in_address: bool = True
    trip_defaults: Mapping[str, Any] = field(default_factory=dict)  # deployment-wide TripSettings
    zones: tuple[Zone, ...] = ()  # the owner's geofences (plugin 8, zone names in addresses)
    drivers: tuple[DriverShift, ...] = ()  # driver assignments of the report's trackers (group_by_driver)
    include_zones_in_address: bool = True


# load_track(tracker_id, from_ms, to_ms) -> Track of fixes in [from_ms, to_ms]
TrackLoader = Callable[[int, int, int], Track]
# progress(fraction in 0..1) -> None
Progress = Callable[[float], None]
