"""Date/time strings of the wire: ``yyyy-MM-dd HH:mm:ss`` in the user's zone, or ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"
MIN_YEAR, MAX_YEAR = 1970, 2199  # GPS data exists in neither the year 1 nor 9999


def parse_wire(text: str, tz: str, *, iso: bool = False) -> datetime:
    """An aware datetime; ValueError with a message fit for the client."""
    zone = ZoneInfo(tz)
    if iso:
        try:
            value = datetime.fromisoformat(text)
            value = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
        except (ValueError, OverflowError) as exc:
            raise ValueError("expected ISO 8601 date-time with offset, e.g. 2020-10-06T00:00:00+03:00") from exc
    else:
        try:
            value = datetime.strptime(text, WIRE_FORMAT).replace(tzinfo=zone)
        except ValueError as exc:
            raise ValueError("expected 'yyyy-MM-dd HH:mm:ss'") from exc
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


def format_wire(moment: datetime, tz: str, *, iso: bool = False) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return local.isoformat(timespec="seconds") if iso else local.strftime(WIRE_FORMAT)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def now() -> datetime:
    return datetime.now(UTC)
