"""Deployment settings, read from the environment on first use (never at import time).

Names flow one way: template ``!Ref`` -> environment variable -> field here. The template
tests check that every function gets the variables of ``contract.FUNCTION_ENV``.

Two views of the same environment:

* :class:`Settings` (:func:`get_settings`): every setting, with the limits' defaults; what the
  service and store code reads. A resource name is taken with :meth:`Settings.require`.
* one :class:`FunctionSettings` model per function (:data:`FUNCTION_SETTINGS`, keyed by the
  template's logical id): exactly the variables that function reads, all required. The entry
  points check it at the function's first invocation (:func:`function_settings`), so a function
  deployed without a variable fails at once, loudly, naming it, instead of answering "storage was
  unavailable" later.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Literal

from aws_lambda_powertools import Logger
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    ValidationError,
)

from fleet_reports import contract

logger = Logger(child=True)


class ConfigError(RuntimeError):
    """A setting this function needs is missing from its environment or invalid.

    ``variables`` names the environment variables at fault."""

    def __init__(self, message: str, variables: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.variables = variables


Resource = Literal["reports_table", "fleet_table", "reports_bucket", "track_bucket", "jobs_queue_url"]
"""The settings that name a deployed resource (template ``!Ref`` of a table, bucket or queue)."""


class Settings(BaseModel):
    """Every setting; each field is read from the environment variable of its upper-case name."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # resource names (template !Ref -> env); None where this function is not given one
    reports_table: str | None = None
    fleet_table: str | None = None
    reports_bucket: str | None = None
    track_bucket: str | None = None
    jobs_queue_url: str | None = None

    # limits (template parameters -> env)
    max_time_span: str = "P90D"
    point_report_max_time_span: str = "P1D"
    max_parallel_reports: int = Field(default=5, ge=1)
    max_trackers_per_report: int = Field(default=200, ge=1)
    retention_days: int = Field(default=30, ge=1)
    session_days: int = Field(default=30, ge=1)
    max_receive_count: int = Field(default=3, ge=1)
    # a report of at least this many tracker-days is split across workers (0: never)
    fan_out_tracker_days: int = Field(default=60, ge=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # requests a second per user (its sessions together) or per API key; generates a minute
    caller_rate_limit: int = Field(default=50, ge=1)
    caller_generate_limit: int = Field(default=30, ge=1)
    # failed sign-ins (/user/auth) per login and per client address before a lock; the longest lock
    login_attempt_limit: int = Field(default=10, ge=1)
    address_attempt_limit: int = Field(default=100, ge=1)
    login_lockout_max_seconds: int = Field(default=900, ge=1)

    # tunables with safe defaults (not in the template)
    download_inline_max_bytes: int = 3_000_000  # about 4 MB once base64-encoded
    # A download URL is a bearer credential for one file: it lives minutes, never longer than 15.
    presign_seconds: int = Field(default=300, ge=1, le=900)
    # A worker's claim on a report outlasts the longest worker run (so a live worker never loses
    # it) and ends before the job's next delivery (which then takes the report over).
    job_lease_seconds: int = contract.WORKER_MAX_TIMEOUT_S + 60
    # A report still "running" this long after its lease ran out has no delivery left to finish
    # it (the queue's visibility timeout, plus margin): it is failed when next looked at.
    stale_after_seconds: int = contract.JOBS_VISIBILITY_TIMEOUT_S + 1800
    # A report still "queued" this long after it was created has no job message anywhere (the
    # queue keeps one at most JOBS_RETENTION_S): it is failed when next looked at. A job moved to
    # the dead-letter queue fails its report at once (the worker consumes that queue too).
    queued_stale_after_seconds: int = contract.JOBS_RETENTION_S + 3600
    inline_report_max_bytes: int = 300_000  # gzip'd JSON kept in the table up to this size

    def require(self, name: Resource) -> str:
        """The resource's name; ConfigError naming its variable when this function has none."""
        value = getattr(self, name)
        if not value:
            variable = name.upper()
            raise ConfigError(f"environment variable {variable} is not set for this function", (variable,))
        return str(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    # Read by hand, not through pydantic-settings: importing it would add about 20 ms to every
    # function's cold start (bench/RESULTS.md, 2026-12-06) for what these lines do.
    return Settings.model_validate(
        {name: os.environ[name.upper()] for name in Settings.model_fields if name.upper() in os.environ}
    )


_DURATION = re.compile(r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")


def parse_iso_duration(text: str) -> timedelta:
    """``P90D``, ``PT12H``, ``P1DT6H`` ... (weeks, days, hours, minutes, seconds)."""
    m = _DURATION.fullmatch(text)
    if not m or text in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
    return timedelta(weeks=parts["w"], days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


# ============================================================================ per-function models
# In the manner of the Lambda Handler Cookbook's env_vars models: small mixins, one per need,
# combined into one model per function. Fields are the variables' lower-case names.

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A resource name: set and not blank."""


def _iso_duration(text: str) -> str:
    parse_iso_duration(text)
    return text


IsoDuration = Annotated[str, AfterValidator(_iso_duration)]


class FunctionSettings(BaseModel):
    """What one function reads from its environment (every field required)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _ReportsTable(FunctionSettings):
    reports_table: Name


class _FleetTable(FunctionSettings):
    fleet_table: Name


class _ReportsBucket(FunctionSettings):
    reports_bucket: Name


class _TrackBucket(FunctionSettings):
    track_bucket: Name


class _JobsQueue(FunctionSettings):
    jobs_queue_url: Name


class _Spans(FunctionSettings):
    max_time_span: IsoDuration
    point_report_max_time_span: IsoDuration


class _Retention(FunctionSettings):
    retention_days: PositiveInt


class _Requests(FunctionSettings):
    """Every API function: the largest request body it reads (error 9 beyond)."""

    max_body_bytes: PositiveInt


class _RateLimited(_Requests, _ReportsTable):
    """An API function whose caller is counted (service.limits): its rate, in the reports table."""

    caller_rate_limit: PositiveInt


class GenerateSettings(_RateLimited, _FleetTable, _JobsQueue, _Spans, _Retention):
    max_parallel_reports: PositiveInt
    max_trackers_per_report: PositiveInt
    caller_generate_limit: PositiveInt


class ReportReaderSettings(_RateLimited, _FleetTable):
    """``list`` and ``status``: the report records only."""


class ReportFilesSettings(_RateLimited, _FleetTable, _ReportsBucket):
    """``retrieve``, ``download``, ``delete``: the records and the report files."""


class AuthSettings(_Requests, _FleetTable):
    session_days: PositiveInt
    login_attempt_limit: PositiveInt
    address_attempt_limit: PositiveInt
    login_lockout_max_seconds: PositiveInt


class LogoutSettings(_Requests, _FleetTable):
    """``logout``: the fleet table only."""


class FleetSettings(_FleetTable):
    """``import``: the fleet table only (the importer gets its bucket from each event)."""


class PluginsSettings(_RateLimited, _FleetTable, _Spans):
    pass


class WorkerSettings(_ReportsTable, _FleetTable, _ReportsBucket, _TrackBucket, _Retention):
    max_receive_count: PositiveInt
    jobs_queue_url: Name
    fan_out_tracker_days: NonNegativeInt


FUNCTION_SETTINGS: dict[str, type[FunctionSettings]] = {
    contract.GENERATE: GenerateSettings,
    contract.LIST: ReportReaderSettings,
    contract.STATUS: ReportReaderSettings,
    contract.RETRIEVE: ReportFilesSettings,
    contract.DOWNLOAD: ReportFilesSettings,
    contract.DELETE: ReportFilesSettings,
    contract.AUTH: AuthSettings,
    contract.LOGOUT: LogoutSettings,
    contract.PLUGINS: PluginsSettings,
    contract.WORKER: WorkerSettings,
    contract.IMPORT: FleetSettings,
}
"""Function logical id -> the model of its environment (fields = ``contract.FUNCTION_ENV``, lower-cased)."""


def function_settings(function: str) -> FunctionSettings:
    """This function's environment, validated; ConfigError (logged, naming each variable at fault)
    when something is missing or invalid.

    Validated once per process and environment, i.e. at the function's cold start; a failure is
    not remembered, so every invocation of a misconfigured function fails and says why."""
    model = FUNCTION_SETTINGS[function]
    values = tuple(
        (name, os.environ[name.upper()]) for name in sorted(model.model_fields) if name.upper() in os.environ
    )
    return _validated(function, values)


@lru_cache(maxsize=32)
def _validated(function: str, values: tuple[tuple[str, str], ...]) -> FunctionSettings:
    model = FUNCTION_SETTINGS[function]
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems = {str(e["loc"][0]).upper(): _problem(e["type"], str(e["msg"])) for e in exc.errors()}
        message = f"{function} is misconfigured: " + "; ".join(
            f"environment variable {variable} {problem}" for variable, problem in sorted(problems.items())
        )
        logger.error(message, extra={"function": function, "variables": sorted(problems)})
        raise ConfigError(message, tuple(sorted(problems))) from None


def _problem(kind: str, text: str) -> str:
    if kind == "missing":
        return "is not set"
    if kind == "string_too_short":
        return "is empty"
    return f"is invalid ({text})"
