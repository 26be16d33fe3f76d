"""The fleet manifest's schema (pydantic) and how its problems are named.

Every model forbids unknown keys, so that a typo is an error rather than a silently ignored
field. A problem is reported as ``where: message``, ``where`` naming the entity and the field:
``trackers[2] (id 669673).sensors[0].kind``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

# --------------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: ``where`` names the entity and the field."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ManifestError(ValueError):
    """A manifest that cannot be applied; ``problems`` lists every reason, one per line in str()."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def entity_label(section: str, item: Any) -> str:
    """``"id 669673"`` for an entity (a model or its raw mapping); assignments have no id:
    ``"tracker 669673, employee 7"``. Empty when the item does not say."""

    def get(name: str) -> Any:
        return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)

    def shown(value: Any) -> str | None:
        if isinstance(value, bool) or value is None:
            return None
        return str(value) if isinstance(value, int | str) and str(value).strip() else None

    if section == "assignments":
        parts = [f"{name} {v}" for name in ("tracker", "employee") if (v := shown(get(name))) is not None]
        return ", ".join(parts)
    ident = shown(get("id"))
    return f"id {ident}" if ident is not None else ""


def entity_where(section: str, index: int, item: Any) -> str:
    label = entity_label(section, item)
    return f"{section}[{index}]" + (f" ({label})" if label else "")


def where_of(loc: Sequence[int | str], data: Any) -> str:
    """A pydantic error location as a readable path, the top-level entity named by its id.
    Union tags that pydantic inserts (``zones[0].circle.radius``) are left out."""
    out = ""
    node: Any = data
    for depth, key in enumerate(loc):
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
            if depth == 1 and isinstance(loc[0], str):
                out = entity_where(loc[0], key, item)
            else:
                out += f"[{key}]"
            node = item
            continue
        if isinstance(node, Mapping) and key not in node and node.get("kind") == key:
            continue  # the discriminated union's branch name
        out += f".{key}" if out else key
        node = node.get(key) if isinstance(node, Mapping) else None
    return out or "manifest"


QUOTE = "'"


def _or_list(quoted: str) -> str:
    """``"'a', 'b', 'c'"`` -> ``"'a', 'b' or 'c'"``."""
    head, sep, tail = quoted.rpartition(", ")
    return f"{head} or {tail}" if sep else quoted


def problems_from(exc: ValidationError, data: Any) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        where = where_of(err["loc"], data)
        kind, msg, ctx = err["type"], err["msg"], err.get("ctx") or {}
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            where = f"{where}.{str(ctx.get('discriminator', 'kind')).strip(QUOTE)}"
            msg = ("Input should be " if kind == "union_tag_invalid" else "Field required: ") + _or_list(
                str(ctx.get("expected_tags", "'circle', 'polygon', 'sausage'"))
            )
        elif kind == "extra_forbidden":
            msg = "unknown field (not part of the manifest schema)"
        problems.append(Problem(where, msg))
    return problems


# ----------------------------------------------------------------------------------- models

Id = Annotated[int, Field(ge=1, le=2**53 - 1)]
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
_API_KEY = re.compile(r"^(?:[0-9a-f]{32}|sha256:[0-9a-f]{64})$")
_COLOR = re.compile(r"^#?[0-9A-Fa-f]{6}$")
_NAME = r"^[a-z][a-z0-9_]*$"


def _api_key(value: str) -> str:
    if not _API_KEY.fullmatch(value):
        raise PydanticCustomError(
            "api_key", "an API key is 32 lowercase hexadecimal characters (or 'sha256:' and 64 of them)"
        )
    return value


ApiKey = Annotated[str, AfterValidator(_api_key), Field(json_schema_extra={"pattern": _API_KEY.pattern})]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)


class Tariff(_Model):
    """A tariff (plan); trackers on a tariff without reports answer error 236."""

    id: Id
    name: str = ""
    has_reports: bool = True


class User(_Model):
    """A master user (no ``parent``) or a sub-user of one."""

    id: Id
    login: str = Field(min_length=1, max_length=254, pattern=r"^\S+$", description="unique, case-insensitive")
    password: SecretStr | None = Field(
        default=None,
        description="in clear text; hashed with scrypt on the way in and never stored in clear. "
        "Omitted: the stored password is kept (a new user without one can use only API keys).",
    )
    parent: Id | None = Field(default=None, description="a sub-user's master user")
    rights: list[Annotated[str, Field(pattern=_NAME)]] = Field(
        default_factory=list, description="sub-users only, e.g. reports, tracking (masters have every right)"
    )
    trackers: list[Id] = Field(default_factory=list, description="sub-users only: trackers of the parent it sees")
    time_zone: str = Field(default="UTC", description="IANA name, e.g. Europe/Moscow")
    locale: str = Field(default="en_US", json_schema_extra={"pattern": _LOCALE.pattern})
    measurement_system: Literal["metric", "imperial", "us", "nautical"] = "metric"
    demo: bool = Field(default=False, description="demo mode: delete answers error 101")
    blocked: bool = Field(default=False, description="every request answers error 11")
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description="long-lived hashes of this user: 32 lowercase hex characters, or 'sha256:' and the "
        "64-hex SHA-256 digest of one (what export writes, as the store keeps only digests)",
    )

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 6:
            raise PydanticCustomError("password", "a password has at least 6 characters")
        return value

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):
            raise PydanticCustomError(
                "time_zone", "unknown time zone '{tz}' (an IANA name such as Europe/Moscow)", {"tz": value}
            ) from None
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not _LOCALE.fullmatch(value):
            raise PydanticCustomError("locale", "'{v}' is not a locale such as en_US or ru_RU", {"v": value})
        return value

    @model_serializer(mode="wrap")
    def _no_password_out(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if info.mode_is_json():
            data.pop("password", None)  # never written out, not even masked
        return data


class OdometerBase(_Model):
    """The odometer counter's value at a moment (the tracker's odometer counts from there)."""

    km: float = Field(ge=0)
    at: datetime = Field(description="ISO 8601; without an offset: in the owner's time zone")


class Sensor(_Model):
    id: Id
    kind: Literal["metering", "discrete", "virtual"]
    sensor_type: str = Field(default="custom", pattern=_NAME, description="ignition, fuel, temperature, voltage ...")
    name: str = Field(min_length=1)
    input_name: str = Field(min_length=1, description="the track data column it reads")
    units: str = ""
    divider: float = Field(default=1.0, gt=0, description="raw value / divider = value in units")


class Tracker(_Model):
    id: Id
    label: str = Field(min_length=1)
    owner: Id = Field(description="a master user, in the manifest or already in the store")
    tariff: Id | None = Field(default=None, description="in the manifest or already in the store")
    model: str = ""
    odometer_base: OdometerBase | None = None
    trip_detection: dict[str, Any] = Field(
        default_factory=dict, description="overrides of the trip detection thresholds (see docs/manifest.md)"
    )
    sensors: list[Sensor] = Field(default_factory=list)


class Employee(_Model):
    """An employee (driver) of a master user."""

    id: Id
    owner: Id
    first_name: str = Field(min_length=1)
    last_name: str = ""
    hardware_key: str | None = Field(
        default=None, pattern=r"^[0-9A-Za-z_:.-]{1,64}$", description="driver identification key (iButton, RFID)"
    )


class Assignment(_Model):
    """The employee drives the tracker's vehicle from ``from`` until ``to`` (open when omitted)."""

    employee: Id
    tracker: Id
    start: datetime = Field(alias="from", description="ISO 8601; without an offset: in the owner's time zone")
    end: datetime | None = Field(default=None, alias="to", description="exclusive; omitted: still assigned")


class LatLng(_Model):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class _Zone(_Model):
    id: Id
    owner: Id
    label: str = Field(min_length=1)
    address: str = ""
    color: str | None = Field(default=None, description="RRGGBB (a leading # is accepted)")

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _COLOR.fullmatch(value):
            raise PydanticCustomError("color", "'{v}' is not a colour RRGGBB such as 27A9E3", {"v": value})
        return value.lstrip("#").upper()


class CircleZone(_Zone):
    kind: Literal["circle"]
    center: LatLng
    radius: float = Field(gt=0, le=1_000_000, description="metres")


class PolygonZone(_Zone):
    kind: Literal["polygon"]
    points: list[LatLng] = Field(min_length=3, max_length=2000, description="vertices, not closed")


class SausageZone(_Zone):
    kind: Literal["sausage"]
    points: list[LatLng] = Field(min_length=2, max_length=2000, description="the polyline")
    radius: float = Field(gt=0, le=100_000, description="metres either side of the polyline")


Zone = Annotated[CircleZone | PolygonZone | SausageZone, Field(discriminator="kind")]


class Place(_Model):
    """A named place: reports show its name in addresses within ``radius`` metres."""

    id: Id
    owner: Id
    label: str = Field(min_length=1, validation_alias=AliasChoices("label", "name"), description="alias: name")
    address: str = ""
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    radius: float = Field(default=500.0, gt=0, le=1_000_000, description="metres")


class Manifest(_Model):
    """A fleet manifest: users (with their API keys), tariffs, trackers with sensors, employees and
    their driver assignments, zones and places. Applied idempotently by ``apply_manifest``."""

    version: Literal[1]
    users: list[User] = Field(default_factory=list)
    tariffs: list[Tariff] = Field(default_factory=list)
    trackers: list[Tracker] = Field(default_factory=list)
    employees: list[Employee] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
