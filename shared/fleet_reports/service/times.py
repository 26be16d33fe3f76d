"""Date/time strings of the wire: ``yyyy-MM-dd HH:mm:ss`` in the user's zone, or ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"
MIN_YEAR, MAX_YEAR = 1970, 2199  # GPS data exists in neither the year 1 nor 9999

# What each mode reads, in the digits 0-9 only (``strptime`` and ``fromisoformat`` take any script's
# digits, ``２０２０``, and ``fromisoformat`` ISO week dates, ordinal dates and times without an offset).
WIRE_SHAPE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
"""``yyyy-MM-dd HH:mm:ss``, in the user's zone."""
ISO_SHAPE: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
)
"""ISO 8601 in extended calendar form with an offset: ``2020-10-06T00:00:00+03:00`` (Navixy's
``yyyy-MM-dd'T'HH:mm:ssZZ``); seconds and their fraction optional, the offset ``Z``, ``+03:00``,
``+0300`` or ``+03``."""

_ISO_ERROR = "expected ISO 8601 date-time with an offset, e.g. 2020-10-06T00:00:00+03:00 or 2020-10-05T21:00:00Z"


def parse_wire(text: str, tz: str, *, iso: bool = False) -> datetime:
    """An aware datetime; ValueError with a message fit for the client."""
    zone = ZoneInfo(tz)
    if iso:
        if not ISO_SHAPE.fullmatch(text):
            raise ValueError(_ISO_ERROR)
        try:
            value = datetime.fromisoformat(text.replace(",", "."))
        except ValueError as exc:  # no such day, hour or offset (+25:00)
            raise ValueError(_ISO_ERROR) from exc
        _check_year(value)  # before the zone's arithmetic can overflow at the calendar's ends
        return value.astimezone(zone)
    try:
        if not WIRE_SHAPE.fullmatch(text):
            raise ValueError(text)
        value = datetime.strptime(text, WIRE_FORMAT).replace(tzinfo=zone)
    except ValueError as exc:
        raise ValueError("expected 'yyyy-MM-dd HH:mm:ss'") from exc
    _check_year(value)
    return value


def _check_year(value: datetime) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")


def format_wire(moment: datetime, tz: str, *, iso: bool = False) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return local.isoformat(timespec="seconds") if iso else local.strftime(WIRE_FORMAT)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def now() -> datetime:
    return datetime.now(UTC)
