"""What the fleet table holds, as typed records (no boto3 here)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UserRecord(_Record):
    user_id: int
    login: str
    password_hash: str = ""
    parent_id: int | None = None  # set for a sub-user: the master user
    rights: list[str] = Field(default_factory=list)  # sub-users only; masters have every right
    trackers: list[int] = Field(default_factory=list)  # sub-users only: the bound trackers
    time_zone: str = "UTC"
    locale: str = "en_US"
    measurement_system: Literal["metric", "imperial", "us", "nautical"] = "metric"
    demo: bool = False
    blocked: bool = False


class CredentialRecord(_Record):
    user_id: int
    kind: Literal["session", "api_key"]
    created: int  # epoch seconds
    expires: int | None = None  # epoch seconds; None for API keys


class SensorRecord(_Record):
    id: int
    name: str
    input_name: str
    kind: Literal["metering", "discrete", "virtual"] = "metering"
    sensor_type: str = "custom"
    units: str = ""
    divider: float = 1.0


class TrackerRecord(_Record):
    tracker_id: int
    owner_id: int
    label: str
    tariff_id: int | None = None
    model: str = ""
    odometer_base_km: float | None = None
    odometer_base_ms: int | None = None
    trip_detection: dict[str, Any] = Field(default_factory=dict)
    sensors: list[SensorRecord] = Field(default_factory=list)


class TariffRecord(_Record):
    tariff_id: int
    name: str = ""
    has_reports: bool = True


class PlaceRecord(_Record):
    place_id: int
    owner_id: int
    name: str
    address: str = ""
    lat: float
    lng: float
    radius_m: float = 500.0


class EmployeeRecord(_Record):
    """An employee (driver) of a master user; ids are unique per owner."""

    employee_id: int
    owner_id: int
    first_name: str
    last_name: str = ""
    hardware_key: str | None = None  # driver identification key (iButton, RFID card ...)


class AssignmentRecord(_Record):
    """An employee drives a tracker's vehicle from ``from_ms`` until ``to_ms`` (None: still)."""

    owner_id: int
    tracker_id: int
    employee_id: int
    from_ms: int  # UTC epoch ms, inclusive
    to_ms: int | None = None  # UTC epoch ms, exclusive; None while the assignment is open


class ZoneRecord(_Record):
    """A geofence: a circle (center + radius), a polygon (points) or a sausage (polyline + radius)."""

    zone_id: int
    owner_id: int
    label: str
    kind: Literal["circle", "polygon", "sausage"]
    address: str = ""
    color: str | None = None  # "RRGGBB"
    center: tuple[float, float] | None = None  # circle: (lat, lng)
    radius_m: float | None = None  # circle and sausage
    points: list[tuple[float, float]] = Field(default_factory=list)  # polygon vertices / sausage polyline (lat, lng)
