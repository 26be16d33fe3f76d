"""Deployment settings, read from the environment on first use (never at import time).

Names flow one way: template ``!Ref`` -> environment variable -> field here. The template
tests check that every function gets the variables of ``contract.FUNCTION_ENV``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(RuntimeError):
    """A required setting is missing from this function's environment."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # resource names (template !Ref -> env)
    reports_table: str = ""
    fleet_table: str = ""
    reports_bucket: str = ""
    track_bucket: str = ""
    jobs_queue_url: str = ""

    # limits (template parameters -> env)
    max_time_span: str = "P90D"
    point_report_max_time_span: str = "P1D"
    max_parallel_reports: int = Field(default=5, ge=1)
    max_trackers_per_report: int = Field(default=200, ge=1)
    retention_days: int = Field(default=30, ge=1)
    session_days: int = Field(default=30, ge=1)
    max_receive_count: int = Field(default=3, ge=1)

    # tunables with safe defaults (not in the template)
    max_body_bytes: int = 1_048_576
    download_inline_max_bytes: int = 3_000_000  # about 4 MB once base64-encoded
    presign_seconds: int = 300
    job_lease_seconds: int = 960
    # A report still "running" this long after its lease ran out has no delivery left to finish
    # it (the queue's visibility timeout, 5400 s, plus margin): it is failed when next looked at.
    stale_after_seconds: int = 7200
    inline_report_max_bytes: int = 300_000  # gzip'd JSON kept in the table up to this size

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigError(f"environment variable {name.upper()} is not set for this function")
        return str(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


_DURATION = re.compile(r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")


def parse_iso_duration(text: str) -> timedelta:
    """``P90D``, ``PT12H``, ``P1DT6H`` ... (weeks, days, hours, minutes, seconds)."""
    m = _DURATION.fullmatch(text)
    if not m or text in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
    return timedelta(weeks=parts["w"], days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
