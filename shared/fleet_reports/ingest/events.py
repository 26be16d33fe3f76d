"""Device event files: NDJSON (optionally gzip), one event per line.

Keys: ``time`` (as for fixes), ``event`` (the type name, a non-empty string), optional ``lat``
and ``lng`` (both or neither; (0, 0) is taken as "no position"), ``message`` (a string) and
``extra`` (any JSON, kept as compact JSON text). Other keys are ignored. Events more than 24 h
in the future are rejected. Duplicates are the same time and event name: the last line wins.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from fleet_reports.ingest.fixes import MAX_FUTURE_MS
from fleet_reports.ingest.merge import _order_events
from fleet_reports.ingest.ndjson_reader import parse_chunks, screen
from fleet_reports.ingest.source import MAX_DECOMPRESSED, prepare
from fleet_reports.ingest.types import MAX_REJECTIONS, Events, IngestError, ParsedEvents, Rejection
from fleet_reports.ingest.values import fmt_ms, num, parse_number, parse_time, show

EventRow = tuple[int, str, float, float, str, str]  # time ms, name, lat, lng, message, extra JSON


def _event(obj: dict[str, Any], now_ms: int) -> tuple[EventRow | None, str | None]:
    """An event line's values, or None and the reason it is rejected."""
    keys = {k.strip().lower(): v for k, v in obj.items()}
    ms, err = _event_time(keys, now_ms)
    if ms is None:
        return None, err
    name = keys.get("event")
    if name is None or (isinstance(name, str) and not name.strip()):
        return None, "event: missing"
    if not isinstance(name, str):
        return None, f"event: {show(name)} is not a string"
    position, err = _event_position(keys)
    if position is None:
        return None, err
    message = keys.get("message")
    if message is not None and not isinstance(message, str):
        return None, f"message: {show(message)} is not a string"
    extra = keys.get("extra")
    extra_text = "" if extra is None else json.dumps(extra, separators=(",", ":"), ensure_ascii=False)
    return (ms, name.strip(), *position, message or "", extra_text), None


def _event_time(keys: dict[str, Any], now_ms: int) -> tuple[int | None, str | None]:
    """The event's time in epoch ms, or None and why not."""
    ms, err = parse_time(keys.get("time", keys.get("timestamp")))
    if err:
        return None, err
    if ms is None:
        return None, "time: missing"
    if ms > now_ms + MAX_FUTURE_MS:
        return None, f"time {fmt_ms(ms)} is more than 24 h in the future"
    return ms, None


def _event_position(keys: dict[str, Any]) -> tuple[tuple[float, float] | None, str | None]:
    """The event's (lat, lng), NaN for none ((0, 0) is none), or None and why not."""
    lat, err = parse_number("lat", keys.get("lat", keys.get("latitude")), allow_bool=False)
    if err:
        return None, err
    lng, err = parse_number("lng", keys.get("lng", keys.get("lon", keys.get("longitude"))), allow_bool=False)
    if err:
        return None, err
    if math.isnan(lat) != math.isnan(lng):
        return None, "lat and lng must be given together"
    if abs(lat) > 90:
        return None, f"lat: {num(lat)} is out of range -90..90"
    if abs(lng) > 180:
        return None, f"lng: {num(lng)} is out of range -180..180"
    if lat == 0.0 and lng == 0.0:
        return (math.nan, math.nan), None
    return (lat, lng), None


def parse_events(data: bytes, name: str, *, now_ms: int, max_bytes: int = MAX_DECOMPRESSED) -> ParsedEvents:
    """Parse an NDJSON events file; bad lines are rejected with their line numbers (lines too
    long or nested too deep among them, unread: :func:`~fleet_reports.ingest.ndjson_reader.screen`)."""
    fmt, text = prepare(data, name, max_bytes)
    if fmt != "ndjson":
        raise IngestError(f"{name!r}: events must be NDJSON (.ndjson or .jsonl, optionally .gz), not {fmt}")
    screened = screen(text)
    rejected = list(screened.rejected)
    rows = len(rejected)
    good: list[EventRow] = []
    for objs, lines, bad in parse_chunks(screened):  # a piece at a time: its objects are dropped after
        rejected.extend(bad)
        rows += len(objs) + len(bad)
        for obj, line in zip(objs, lines, strict=True):
            ev, err = _event(obj, now_ms)
            if ev is None:
                rejected.append(Rejection(line, err or "invalid"))
            else:
                good.append(ev)
    rejected.sort(key=lambda r: r.line)
    events = Events(
        t=np.array([g[0] for g in good], np.int64),
        event=[g[1] for g in good],
        lat=np.array([g[2] for g in good], np.float64),
        lng=np.array([g[3] for g in good], np.float64),
        message=[g[4] for g in good],
        extra=[g[5] for g in good],
    )
    events, duplicates = _order_events(events)
    return ParsedEvents(
        events=events,
        rows=rows,
        rejected=tuple(rejected[:MAX_REJECTIONS]),
        rejected_count=len(rejected),
        duplicates=duplicates,
    )
