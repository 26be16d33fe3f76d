"""From raw columns to validated fixes: the rules every format shares.

A reader (CSV, NDJSON, GPX) hands over a ``RawTable``: one pyarrow array per column, named by
the canonical column name (``time``, ``lat``, ... or a sensor input name), and the line number
of each row. ``build_fixes`` converts the columns, rejects the bad rows with their reasons, orders
the rest by time and keeps the last row of each time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import partial
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
# Sensor columns one file may bring: the tracker's declared inputs first, then the others in file
# order; the rest are ignored and named in the outcome. A day object's cost grows with the square
# of its columns (20,000 made every import into the day take minutes), so the day is bounded too
# (MAX_DAY_SENSOR_COLUMNS, ingest.merge).
MAX_SENSOR_COLUMNS = 128
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


class SensorBudget:
    """Which sensor columns a file keeps: every declared input, and undeclared ones while fewer
    than MAX_SENSOR_COLUMNS (less the declared inputs) are kept; base columns always."""

    def __init__(self, declared: Collection[str] = ()) -> None:
        self.declared = frozenset(declared) - set(BASE_COLUMNS)
        self.room = max(0, MAX_SENSOR_COLUMNS - len(self.declared))
        self.kept: set[str] = set()
        self.ignored: list[str] = []  # in file order
        self._ignored: set[str] = set()

    def take(self, name: str) -> bool:
        """Whether the column of this canonical name is read."""
        if not name or name in BASE_COLUMNS or name in self.kept or name in self.declared:
            return True
        if name not in self._ignored and len(self.kept) < self.room:
            self.kept.add(name)
            return True
        if name not in self._ignored:
            self._ignored.add(name)
            self.ignored.append(name)
        return False


@dataclass
class RawTable:
    columns: dict[str, Any]  # canonical name -> pyarrow array
    lines: I64  # line number (GPX: trkpt ordinal) of each row
    rejected: list[Rejection] = field(default_factory=list)  # rows a reader could not split into columns
    scale: dict[str, float] = field(default_factory=dict)  # e.g. GPX speed m/s -> km/h
    ignored: list[str] = field(default_factory=list)  # sensor columns left unread (SensorBudget)


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


@dataclass
class _Columns:
    """A raw table's columns converted: times in epoch ms (and which are known), every other
    column as numbers (NaN: empty), the optional base columns it lacks all NaN."""

    t: I64
    t_known: Any
    values: dict[str, F64]
    sensor_names: list[str]
    raw: dict[str, Any]

    def __getitem__(self, name: str) -> F64:
        return self.values[name]


def _convert(raw: RawTable, rej: _Rejects) -> _Columns:
    """Every column to numbers, the rows that do not convert rejected (the first reason wins:
    time, then the columns in their order)."""
    n = len(raw.lines)
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
    for name in BASE_COLUMNS:
        if name not in REQUIRED and name not in values:
            values[name] = np.full(n, np.nan)
    return _Columns(t, t_known, values, sensor_names, cols)


def _validate(c: _Columns, rej: _Rejects, now_ms: int) -> None:
    """The rules every fix must pass, in order: a row keeps the first rule it breaks."""
    lat, lng, sats, speed, ign = c["lat"], c["lng"], c["satellites"], c["speed"], c["ignition"]
    with np.errstate(invalid="ignore"):
        rej.check(~c.t_known, _MISSING_TIME)
        rej.check(np.isnan(lat), _MISSING_LAT)
        rej.check(np.isnan(lng), _MISSING_LNG)
        rej.check(np.abs(lat) > 90.0, _LAT_RANGE)
        rej.check(np.abs(lng) > 180.0, _LNG_RANGE)
        rej.check((lat == 0.0) & (lng == 0.0), _ZERO)
        rej.check(c.t > now_ms + MAX_FUTURE_MS, _FUTURE)
        rej.check((np.isfinite(sats) & (sats != np.round(sats))) | (sats < 0) | (sats > 127), _SAT_WHOLE)
        rej.check(sats < MIN_SATELLITES, _SAT_FEW)
        rej.check((speed < 0) | (speed > MAX_SPEED_KMH), _SPEED)
        rej.check((c["heading"] < 0) | (c["heading"] > 360), _HEADING)
        rej.check(c["hdop"] < 0, _HDOP)
        rej.check((ign != 0) & (ign != 1) & ~np.isnan(ign), _IGNITION)


# The reasons that quote one column's value: (column, text with {} for the value).
_VALUE_REASONS: dict[int, tuple[str, str]] = {
    _LAT_RANGE: ("lat", "lat: {} is out of range -90..90"),
    _LNG_RANGE: ("lng", "lng: {} is out of range -180..180"),
    _SAT_WHOLE: ("satellites", "satellites: {} is not a whole number in 0..127"),
    _SAT_FEW: ("satellites", f"fewer than {MIN_SATELLITES} satellites ({{}})"),
    _SPEED: ("speed", f"speed: {{}} is out of range 0..{num(MAX_SPEED_KMH)}"),
    _HEADING: ("heading", "heading: {} is out of range 0..360"),
    _HDOP: ("hdop", "hdop: {} is negative"),
}


def _reason(c: _Columns, rej: _Rejects, row: int) -> str:
    """The text of a rejected row's reason."""
    code = int(rej.code[row])
    if code == _PARSE:
        return rej.text[row]
    if code in (_MISSING_TIME, _MISSING_LAT, _MISSING_LNG):
        return f"{('time', 'lat', 'lng')[code - _MISSING_TIME]}: missing"
    if code in _VALUE_REASONS:
        name, text = _VALUE_REASONS[code]
        return text.format(num(float(c[name][row])))
    if code == _ZERO:
        return "(0, 0) position"
    if code == _FUTURE:
        return f"time {fmt_ms(int(c.t[row]))} is more than 24 h in the future"
    return f"ignition: {show(c.raw['ignition'][row].as_py())} is not 0/1/true/false"


def _track(c: _Columns, ok: Any) -> Track:
    """The fixes of the rows that passed, in row order."""
    sats, ign = c["satellites"][ok], c["ignition"][ok]
    return Track(
        t=c.t[ok],
        lat=c["lat"][ok],
        lng=c["lng"][ok],
        speed=c["speed"][ok].astype(np.float32),
        heading=c["heading"][ok].astype(np.float32),
        alt=c["alt"][ok].astype(np.float32),
        satellites=np.where(np.isnan(sats), -1, sats).astype(np.int8),
        hdop=c["hdop"][ok].astype(np.float32),
        odometer=c["odometer"][ok],
        ignition=np.where(np.isnan(ign), -1, ign).astype(np.int8),
        sensors={name: c[name][ok] for name in c.sensor_names},
    )


def build_fixes(raw: RawTable, *, now_ms: int) -> ParsedFixes:
    """Convert, validate (keeping the first rejections by line), order by time, last row wins."""
    n = len(raw.lines)
    rej = _Rejects(n)
    columns = _convert(raw, rej)
    _validate(columns, rej, now_ms)
    bad_rows = np.flatnonzero(rej.code != _OK)
    rejected_count = len(raw.rejected) + int(bad_rows.size)
    kept = _first_rejections(raw.rejected, raw.lines, bad_rows, partial(_reason, columns, rej))
    track, duplicates = order_last_wins(_track(columns, rej.code == _OK))
    return ParsedFixes(
        track=track,
        rows=n + len(raw.rejected),
        rejected=kept,
        rejected_count=rejected_count,
        duplicates=duplicates,
        sensor_columns=tuple(columns.sensor_names),
        ignored_columns=tuple(raw.ignored),
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
