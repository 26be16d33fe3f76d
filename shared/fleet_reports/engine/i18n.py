"""Message catalogs and locale formatting.

Catalogs are JSON files in ``fleet_reports/i18n/<lang>.json`` (flat keys); a new language is a new
catalog and no code. Keys missing from a catalog fall back to English.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any, cast
from zoneinfo import ZoneInfo

DEFAULT_LANG = "en"


@lru_cache(maxsize=16)
def _catalog(lang: str) -> dict[str, Any] | None:
    """``<lang>.json`` plus every ``<lang>.<part>.json`` (one part per plugin), merged."""
    folder = resources.files("fleet_reports").joinpath("i18n")
    main = folder.joinpath(f"{lang}.json")
    if not main.is_file():
        return None
    merged = cast(dict[str, Any], json.loads(main.read_text(encoding="utf-8")))
    parts = sorted(
        (r for r in folder.iterdir() if r.name.startswith(f"{lang}.") and r.name.endswith(".json") and r != main),
        key=lambda r: r.name,
    )
    for part in parts:
        merged.update(cast(dict[str, Any], json.loads(part.read_text(encoding="utf-8"))))
    return merged


def language_of(locale: str) -> str:
    """``"ru_RU"`` / ``"ru-RU"`` / ``"ru"`` -> ``"ru"``; unknown languages -> ``"en"``."""
    lang = locale.replace("-", "_").split("_")[0].strip().lower()
    return lang if lang.isalpha() and _catalog(lang) is not None else DEFAULT_LANG


class Messages:
    """Translations and number/date formatting of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._own = _catalog(lang) or {}
        self._fallback = _catalog(DEFAULT_LANG) or {}
        self.decimal = str(self._get("number.decimal"))
        self.group = str(self._get("number.group"))

    def _get(self, key: str) -> Any:
        if key in self._own:
            return self._own[key]
        if key in self._fallback:
            return self._fallback[key]
        raise KeyError(f"no message {key!r}")

    def __call__(self, key: str, **values: object) -> str:
        text = str(self._get(key))
        return text.format(**values) if values else text

    def unit(self, key: str) -> str:
        return self(f"unit.{key}")

    def with_unit(self, key: str, unit_key: str, *, column: bool) -> str:
        """``"Total trips length,\\nkm"`` (column title) or ``"Total trips length, km"`` (row name)."""
        pattern = "with_unit.column" if column else "with_unit.row"
        return self(pattern, name=self(key), unit=self.unit(unit_key))

    def number(self, value: float, decimals: int, *, trim: bool = False) -> tuple[str, float]:
        """``decimals`` decimals, localised, with the rounded raw value: a column's cells all
        show the same decimals (106.27 beside 95.80, one number format per column). ``trim``
        drops trailing zeros, for numbers inside sentences ("longer than 1 min").

        The raw value is parsed back from the rounded text, so ``v`` and ``raw`` always agree and
        carry no float noise.
        """
        text = f"{value:.{decimals}f}"
        if trim and "." in text:
            text = text.rstrip("0").rstrip(".")
        if float(text) == 0.0:
            text = text.lstrip("-") or "0"
        raw = float(text)
        negative = text.startswith("-")
        whole, _, frac = text.lstrip("-").partition(".")
        if self.group and len(whole) > 3:
            head = len(whole) % 3 or 3
            whole = self.group.join([whole[:head]] + [whole[i : i + 3] for i in range(head, len(whole), 3)])
        out = ("-" if negative else "") + whole + (self.decimal + frac if frac else "")
        return out, raw

    def day_header(self, day: date, count: int) -> str:
        """``"Oct 6, 2020 (Tue) : 7"`` (en), ``"6 окт. 2020 (Вт) : 7"`` (ru)."""
        months = self._get("months_short")
        weekdays = self._get("weekdays_short")
        return self(
            "day_header",
            month=months[day.month - 1],
            day=day.day,
            year=day.year,
            weekday=weekdays[day.isoweekday() - 1],
            count=count,
        )


@lru_cache(maxsize=16)
def messages(locale: str) -> Messages:
    """Messages for a user locale such as ``"en_US"`` or ``"ru_RU"`` (fallback: English)."""
    return Messages(language_of(locale))


def format_duration(seconds: float, show_seconds: bool = False) -> str:
    """``HH:mm`` (or ``HH:mm:ss``), hours may exceed 24; truncated, never rounded up."""
    total = max(int(seconds), 0)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if show_seconds else f"{h:02d}:{m:02d}"


def format_time_of_day(ms: float, zone: ZoneInfo, show_seconds: bool = False) -> str:
    """Local wall-clock time of a UTC instant: ``HH:mm`` or ``HH:mm:ss``."""
    local = datetime.fromtimestamp(ms / 1000.0, zone)
    return local.strftime("%H:%M:%S" if show_seconds else "%H:%M")
