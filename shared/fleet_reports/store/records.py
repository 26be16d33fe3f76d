"""What the fleet and reports tables hold, as typed records (no boto3 here)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer


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
    master_id: int | None = None
    """The user's master when the credential was made (None: a master's own, or not known): read
    with the user in one request. A hint only: the user's own ``parent_id`` decides."""


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


# ============================================================================ the reports table


class ReportState(StrEnum):
    """A report's life: queued -> running -> done | failed (the wire's ``state``)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Queued or running: it holds one of its pool's parallel slots."""
        return self in (ReportState.QUEUED, ReportState.RUNNING)


class LocaleInfo(_Record):
    """The requesting user's locale, time zone and units when the report was asked for."""

    locale: str
    time_zone: str
    measurement_system: str


class ReportFile(_Record):
    """A rendered file of the report in the reports bucket."""

    key: str
    size: int  # bytes


class ReportRecord(_Record):
    """One report of a (sub-)user's pool, as the reports table stores it.

    Field names are the item's attribute names (``from`` is ``from_`` here). Read with
    :meth:`from_item`; :meth:`to_item` writes back exactly the attributes that were given (a new
    report: those ``generate`` sets; a read one: those it was read with), never the defaults of
    the others. Reads through a projection leave out what they did not ask for (the defaults
    below are what a missing attribute means).
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: int
    pool: int  # the (sub-)user whose report it is
    owner_id: int  # the master user (fleet data: zones, places, employees)
    type: str = "user"
    title: str
    created: str  # wire time in the user's time zone
    created_ms: int | None = None  # the same instant, UTC epoch ms
    from_: str = Field(alias="from")
    from_ms: int | None = None
    to: str
    to_ms: int | None = None
    time_filter: dict[str, Any] = Field(default_factory=dict)  # the wire's time_filter object
    plugin: dict[str, Any] = Field(default_factory=dict)  # the plugin's own options, as echoed by list
    trackers: list[int] = Field(default_factory=list)
    employees: list[int] = Field(default_factory=list)
    geocoder: str | None = None
    include_places_in_address: bool = True
    include_zones_in_address: bool = True
    locale_info: LocaleInfo | None = None
    state: ReportState
    percent: int = 0
    ttl: int | None = None  # epoch seconds: the table's TTL
    error: str | None = None  # why it failed (shown to its owner)
    # the worker's claim
    claim: str | None = None  # the claiming attempt's token
    lease_until: int | None = None  # epoch seconds
    started: int | None = None  # epoch seconds of the last claim
    final_attempt: bool | None = None  # the claim is the job's last allowed delivery: no retry follows
    # a report split across workers (the claim is then the split's run token)
    parts_total: int | None = None  # its parts, one per tracker (the item's parts_done set counts
    # those stored, its assembling attribute the run whose assembly was enqueued: store.reports)
    attempts: int | None = None  # failed attempts given back to the queue
    last_error: str | None = None  # the last given-back attempt's reason
    # where the result is (done)
    doc_key: str | None = None  # the gzip'd JSON in the reports bucket; None: inline (attribute ``doc``)
    files: dict[str, ReportFile] = Field(default_factory=dict)  # "pdf", "pdf-headless", ... -> file

    @field_serializer("state")
    def _state(self, state: ReportState) -> str:
        return state.value

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ReportRecord:
        """The record of a table item (plain Python values: numbers, not Decimals; keys ignored)."""
        return cls.model_validate(item)

    def to_item(self) -> dict[str, Any]:
        """The item's attributes (without its keys), exactly those this record was given."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)

    def time_zone(self, default: str) -> str:
        """The time zone the report was asked in (``default`` when not stored)."""
        return self.locale_info.time_zone if self.locale_info is not None else default


class ReportOutput(BaseModel):
    """What a finished computation leaves in the record: where the document is, and the files."""

    model_config = ConfigDict(frozen=True)

    doc: bytes | None = None  # the gzip'd JSON, inline when small
    doc_key: str | None = None  # else its key in the reports bucket
    files: dict[str, ReportFile] = Field(default_factory=dict)

    def attributes(self) -> dict[str, Any]:
        """The attributes to set, in this order: ``doc`` or ``doc_key``, then ``files``."""
        out: dict[str, Any] = {}
        if self.doc is not None:
            out["doc"] = self.doc
        if self.doc_key is not None:
            out["doc_key"] = self.doc_key
        out["files"] = {name: entry.model_dump() for name, entry in self.files.items()}
        return out
