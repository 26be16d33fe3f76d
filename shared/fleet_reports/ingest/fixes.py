"""From raw columns to validated fixes: the rules every format shares.

A reader (CSV, NDJSON, GPX) hands over a ``RawTable``: one pyarrow array per column, named by
the canonical column name (``time``, ``lat``, ... or a sensor input name), and the line number
of each row. ``build_fixes`` converts the columns, rejects the bad rows with their reasons, orders
the rest by time and keeps the last row of each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleet_reports.engine.model import F64, I64, Track
from fleet_reports.ingest.types import MAX_REJECTIONS, IngestError, ParsedFixes, Rejection
from fleet_reports.ingest.values import Errors, fmt_ms, num, show, to_float, to_time_ms

BASE_COLUMNS: tuple[str, ...] = (
    "time",
    "lat",
    "lng",
    "speed",
    "heading",
    "alt",
    "satellites",
    "hdop",
    "odometer",
    "ignition",
)
REQUIRED: tuple[str, ...] = ("time", "lat", "lng")
ALIASES: dict[str, str] = {
    "timestamp": "time",
    "latitude": "lat",
    "lon": "lng",
    "long": "lng",
    "longitude": "lng",
    "altitude": "alt",
    "course": "heading",
    "sats": "satellites",
}
MAX_FUTURE_MS = 24 * 3600 * 1000
MIN_SATELLITES = 3
MAX_SPEED_KMH = 500.0

# Rejection kinds found by validation; the text is made only for the rejections that are kept.
_OK, _PARSE, _MISSING_TIME, _MISSING_LAT, _MISSING_LNG = 0, 1, 2, 3, 4
_LAT_RANGE, _LNG_RANGE, _ZERO, _FUTURE, _SAT_WHOLE, _SAT_FEW, _SPEED, _HEADING, _HDOP, _IGNITION = range(5, 15)


def canonical(name: str) -> str:
    """The column a header (or JSON key) names: a base column (aliases resolved, case-insensitive)
    or, for anything else, a sensor input named by the trimmed header itself."""
    key = name.strip()
    low = key.lower()
    low = ALIASES.get(low, low)
    return low if low in BASE_COLUMNS else key


def column_map(headers: list[str], where: str) -> dict[str, int]:
    """Canonical name -> position; IngestError for duplicates or a missing required column.
    Columns with an empty header are ignored."""
    found: dict[str, int] = {}
    for i, h in enumerate(headers):
        c = canonical(h)
        if not c:
            continue
        if c in found:
            raise IngestError(f"{where}: columns {headers[found[c]].strip()!r} and {h.strip()!r} both mean {c!r}")
        found[c] = i
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        got = ", ".join(repr(h) for h in headers[:20])
        raise IngestError(f"{where}: missing column {', '.join(map(repr, missing))} (found {got})")
    return found


@dataclass
class RawTable:
    columns: dict[str, Any]  # canonical name -> pyarrow array
    lines: I64  # line number (GPX: trkpt ordinal) of each row
    rejected: list[Rejection] = field(default_factory=list)  # rows a reader could not split into columns
    scale: dict[str, float] = field(default_factory=dict)  # e.g. GPX speed m/s -> km/h


class _Rejects:
    def __init__(self, n: int) -> None:
        self.code = np.zeros(n, np.int8)
        self.text: dict[int, str] = {}

    def parse(self, errors: Errors) -> None:
        for row, reason in errors.items():
            if self.code[row] == _OK:
                self.code[row] = _PARSE
                self.text[row] = reason

    def check(self, mask: Any, code: int) -> None:
        self.code[mask & (self.code == _OK)] = code


def build_fixes(raw: RawTable, *, now_ms: int) -> ParsedFixes:
    n = len(raw.lines)
    rej = _Rejects(n)
    cols = raw.columns

    t, t_known, errs = to_time_ms(cols["time"])
    rej.parse(errs)
    values: dict[str, F64] = {}
    sensor_names = [c for c in cols if c not in BASE_COLUMNS]
    for name in [c for c in cols if c != "time"]:
        v, errs = to_float(name, cols[name], allow_bool=name == "ignition" or name in sensor_names)
        rej.parse(errs)
        if name in raw.scale:
            v = v * raw.scale[name]
        values[name] = v

    def col(name: str) -> F64:
        return values.get(name, np.full(n, np.nan))

    lat, lng = values["lat"], values["lng"]
    sats, speed, heading, hdop, ign = col("satellites"), col("speed"), col("heading"), col("hdop"), col("ignition")
    with np.errstate(invalid="ignore"):
        rej.check(~t_known, _MISSING_TIME)
        rej.check(np.isnan(lat), _MISSING_LAT)
        rej.check(np.isnan(lng), _MISSING_LNG)
        rej.check(np.abs(lat) > 90.0, _LAT_RANGE)
        rej.check(np.abs(lng) > 180.0, _LNG_RANGE)
        rej.check((lat == 0.0) & (lng == 0.0), _ZERO)
        rej.check(t > now_ms + MAX_FUTURE_MS, _FUTURE)
        rej.check((np.isfinite(sats) & (sats != np.round(sats))) | (sats < 0) | (sats > 127), _SAT_WHOLE)
        rej.check(sats < MIN_SATELLITES, _SAT_FEW)
        rej.check((speed < 0) | (speed > MAX_SPEED_KMH), _SPEED)
        rej.check((heading < 0) | (heading > 360), _HEADING)
        rej.check(hdop < 0, _HDOP)
        rej.check((ign != 0) & (ign != 1) & ~np.isnan(ign), _IGNITION)

    def reason(row: int) -> str:
        code = int(rej.code[row])
        if code == _PARSE:
            return rej.text[row]
        if code in (_MISSING_TIME, _MISSING_LAT, _MISSING_LNG):
            return f"{('time', 'lat', 'lng')[code - _MISSING_TIME]}: missing"
        if code == _LAT_RANGE:
            return f"lat: {num(lat[row])} is out of range -90..90"
        if code == _LNG_RANGE:
            return f"lng: {num(lng[row])} is out of range -180..180"
        if code == _ZERO:
            return "(0, 0) position"
        if code == _FUTURE:
            return f"time {fmt_ms(int(t[row]))} is more than 24 h in the future"
        if code == _SAT_WHOLE:
            return f"satellites: {num(sats[row])} is not a whole number in 0..127"
        if code == _SAT_FEW:
            return f"fewer than {MIN_SATELLITES} satellites ({num(sats[row])})"
        if code == _SPEED:
            return f"speed: {num(float(speed[row]))} is out of range 0..{num(MAX_SPEED_KMH)}"
        if code == _HEADING:
            return f"heading: {num(heading[row])} is out of range 0..360"
        if code == _HDOP:
            return f"hdop: {num(hdop[row])} is negative"
        raw_ign = cols["ignition"][row].as_py()
        return f"ignition: {show(raw_ign)} is not 0/1/true/false"

    bad_rows = np.flatnonzero(rej.code != _OK)
    rejected_count = len(raw.rejected) + int(bad_rows.size)
    kept = _first_rejections(raw.rejected, raw.lines, bad_rows, reason)

    ok = rej.code == _OK
    track = Track(
        t=t[ok],
        lat=lat[ok],
        lng=lng[ok],
        speed=speed[ok].astype(np.float32),
        heading=heading[ok].astype(np.float32),
        alt=col("alt")[ok].astype(np.float32),
        satellites=np.where(np.isnan(sats[ok]), -1, sats[ok]).astype(np.int8),
        hdop=hdop[ok].astype(np.float32),
        odometer=col("odometer")[ok],
        ignition=np.where(np.isnan(ign[ok]), -1, ign[ok]).astype(np.int8),
        sensors={name: values[name][ok] for name in sensor_names},
    )
    track, duplicates = order_last_wins(track)
    return ParsedFixes(
        track=track,
        rows=n + len(raw.rejected),
        rejected=kept,
        rejected_count=rejected_count,
        duplicates=duplicates,
        sensor_columns=tuple(sensor_names),
    )


def _first_rejections(early: list[Rejection], lines: I64, bad_rows: I64, reason: Any) -> tuple[Rejection, ...]:
    """The first MAX_REJECTIONS rejections by line: the reader's and the validation's."""
    candidates = [
        (int(lines[r]), int(r)) for r in bad_rows[np.argsort(lines[bad_rows], kind="stable")][:MAX_REJECTIONS]
    ]
    merged = sorted([(r.line, -1, r.reason) for r in early] + [(line, row, "") for line, row in candidates])
    return tuple(Rejection(line, text if row < 0 else reason(row)) for line, row, text in merged[:MAX_REJECTIONS])


def order_last_wins(track: Track) -> tuple[Track, int]:
    """Order by time (stable) and keep the last of each run of equal times; (track, dropped)."""
    t = track.t
    if t.size < 2:
        return track, 0
    d = np.diff(t)
    if bool(np.all(d > 0)):
        return track, 0
    order = np.argsort(t, kind="stable")
    st = t[order]
    last = np.ones(st.size, bool)
    last[:-1] = st[1:] != st[:-1]
    keep = order[last]
    return track.take(keep), int(t.size - keep.size)
