"""What a rendered document says about itself on its title page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentInfo:
    """Title-page facts, every string already formatted for display by the caller.

    ``time_zone`` is also used to show chart time axes in local time when it is an IANA name
    (e.g. ``"Europe/Moscow"``); anything else falls back to UTC there.
    """

    title: str
    period_from: str
    period_to: str
    time_zone: str
    locale: str
    measurement_system: str
    trackers: tuple[str, ...]
    generated_at: str
