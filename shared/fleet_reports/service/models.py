"""Request parameters of each action (code 7 names every bad one)."""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from fleet_reports.ids import MAX_PLUGIN_ID, Id, WholeNumber, distinct_ids, whole_number

# HH:mm or HH:mm:ss in the digits 0-9 (``\d`` would take any script's digits); the OpenAPI document says it too
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_TIME = re.compile(TIME_PATTERN)

MAX_EMPLOYEES_PER_REPORT: Final = 1000
"""Distinct employee ids one ``generate`` may name (7 naming ``employees`` beyond); they are read in
batches of 100 (``store.fleet.get_employees_by_id``)."""

DATE_MAX_LENGTH: Final = 40
"""``from`` and ``to``: the longest date string read (an ISO 8601 date-time with nanoseconds and an
offset is 35 characters)."""


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TimeFilter(_Params):
    from_: str = Field(default="00:00:00", alias="from")
    to: str = "23:59:59"
    weekdays: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7, fail_fast=True
    )

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
    from_: str = Field(alias="from", min_length=1, max_length=DATE_MAX_LENGTH)
    to: str = Field(min_length=1, max_length=DATE_MAX_LENGTH)
    title: str | None = Field(default=None, max_length=256)
    geocoder: str | None = Field(default=None, max_length=64)
    # fail_fast: the first bad element is named, not each of 200,000 (an answer of megabytes)
    trackers: list[WholeNumber] | None = Field(default=None, fail_fast=True)
    employees: list[WholeNumber] | None = Field(default=None, fail_fast=True)
    time_filter: TimeFilter = Field(default_factory=TimeFilter)
    plugin: dict[str, Any]
    include_places_in_address: bool = True
    include_zones_in_address: bool = True

    @field_validator("plugin")
    @classmethod
    def _plugin(cls, v: dict[str, Any]) -> dict[str, Any]:
        # The plugin's own model validates the rest once the plugin is known (service.reports).
        pid = v.get("plugin_id")
        try:
            pid = int(whole_number(pid)) if isinstance(pid, (int, str)) else None
        except (PydanticCustomError, ValueError):
            pid = None
        if pid is None:
            raise PydanticCustomError("parameter", "must be an integer", {"parameter": "plugin.plugin_id"})
        if not 1 <= pid <= MAX_PLUGIN_ID:
            context = {"parameter": "plugin.plugin_id", "max_id": MAX_PLUGIN_ID}
            raise PydanticCustomError("parameter", "must be an integer from 1 to {max_id}", context)
        return {**v, "plugin_id": pid}

    @field_validator("trackers")
    @classmethod
    def _trackers(cls, v: list[int] | None) -> list[int] | None:
        # Each once (10,000 copies are one tracker); their number is checked against
        # MaxTrackersPerReport with the trackers the plugin's options name (service.reports).
        return v if v is None else distinct_ids(v)

    @field_validator("employees")
    @classmethod
    def _employees(cls, v: list[int] | None) -> list[int] | None:
        return v if v is None else distinct_ids(v, MAX_EMPLOYEES_PER_REPORT)


class ReportIdParams(_Params):
    report_id: Id


LIST_PAGE_SIZE = 1000
"""The most reports one ``list`` answers (and reads): a pool of up to this many is answered whole,
exactly as Navixy answers it; a larger one page by page (``before_id``, ``next_before_id``)."""


class ListParams(_Params):
    """``list``'s paging, both optional: without them, the newest 1000 reports (a pool that fits is
    answered whole); a page that may have more after it says where they start (``next_before_id``)."""

    limit: WholeNumber = Field(default=LIST_PAGE_SIZE, ge=1, le=LIST_PAGE_SIZE, description="reports per page at most")
    before_id: Id | None = Field(
        default=None, description="only reports older than this id: the next_before_id of the previous page"
    )


class DownloadParams(ReportIdParams):
    format: Literal["xls", "xlsx", "pdf"]
    headless: bool = False


class AuthParams(_Params):
    login: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
