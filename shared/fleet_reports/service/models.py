"""Request parameters of each action (code 7 names every bad one)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"  # HH:mm or HH:mm:ss (the OpenAPI document says it too)
_TIME = re.compile(TIME_PATTERN)


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic's lax int would take true for 1
        raise ValueError("an id is a number, not true or false")
    return value


Id = Annotated[int, BeforeValidator(_not_a_boolean)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TimeFilter(_Params):
    from_: str = Field(default="00:00:00", alias="from")
    to: str = "23:59:59"
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7)

    @field_validator("from_", "to")
    @classmethod
    def _time(cls, v: str) -> str:
        if not _TIME.fullmatch(v):
            raise ValueError("expected HH:mm or HH:mm:ss")
        return v if len(v) == 8 else v + ":00"

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in v):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        return sorted(set(v))

    @model_validator(mode="after")
    def _order(self) -> TimeFilter:
        # A window whose 'to' is before its 'from' runs overnight (22:00-06:00) and belongs to
        # the day it opens (docs/analytics.md); an empty window is a mistake.
        if self.to == self.from_:
            raise ValueError("'to' must differ from 'from' (a window ending before it starts runs overnight)")
        return self

    def wire(self) -> dict[str, Any]:
        return {"from": self.from_, "to": self.to, "weekdays": self.weekdays}


class GenerateParams(_Params):
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    title: str | None = Field(default=None, max_length=256)
    geocoder: str | None = Field(default=None, max_length=64)
    trackers: list[Id] | None = None
    employees: list[Id] | None = None
    time_filter: TimeFilter = Field(default_factory=TimeFilter)
    plugin: dict[str, Any]
    include_places_in_address: bool = True
    include_zones_in_address: bool = True

    @field_validator("plugin")
    @classmethod
    def _plugin(cls, v: dict[str, Any]) -> dict[str, Any]:
        pid = v.get("plugin_id")
        if isinstance(pid, str) and pid.strip().isdigit() and len(pid.strip()) <= 9:
            v = {**v, "plugin_id": int(pid)}
        elif not isinstance(pid, int) or isinstance(pid, bool):
            raise PydanticCustomError("parameter", "must be an integer", {"parameter": "plugin.plugin_id"})
        return v

    @field_validator("trackers", "employees")
    @classmethod
    def _ids(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(i <= 0 for i in v):
            raise ValueError("ids are positive integers")
        return v if v is None else list(dict.fromkeys(v))  # each once: 10,000 copies are one id


class ReportIdParams(_Params):
    report_id: Id = Field(gt=0)


class DownloadParams(ReportIdParams):
    format: Literal["xls", "xlsx", "pdf"]
    headless: bool = False


class AuthParams(_Params):
    login: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
