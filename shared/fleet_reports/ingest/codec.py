"""Compact Parquet encoding of one tracker's day of fixes (and of device events).

Version 2 (written here) stores each base column as an exact decimal at a fixed precision, so
the values stay meaningful to Athena and other Parquet readers while taking a few bits per fix:

==========  ==========================  ==========================================
column      Parquet type                meaning
==========  ==========================  ==========================================
t           INT64 timestamp(ms, UTC)    GPS time
lat         INT32 DECIMAL(9,7)          degrees (1e-7 deg, about 1 cm)
lng         INT64 DECIMAL(10,7)         degrees
speed       INT32 DECIMAL(9,1)          km/h
heading     INT32 DECIMAL(9,1)          degrees clockwise from north
alt         INT32 DECIMAL(9,1)          metres
satellites  INT32 (int8)                count
hdop        INT32 DECIMAL(9,2)          horizontal dilution of precision
odometer    INT64 DECIMAL(18,3)         km (1 m)
ignition    BOOLEAN                     on/off
s_<input>   INT64 DECIMAL(18,k) or      a sensor input's readings: exact decimals with
            DOUBLE                      the fewest digits k that keep every value, else double
==========  ==========================  ==========================================

Unknown values are nulls. Integer columns use DELTA_BINARY_PACKED, doubles BYTE_STREAM_SPLIT,
booleans RLE, all compressed with zstd. The Parquet key-value metadata ``fleet_reports`` holds
JSON with the format name, the version, the unit and scale of each column and the sensor input
name of each ``s_`` column. Version 1 (no such metadata) is the first store encoding: plain
float columns named as the Track's fields and sensors as ``s:<input>``; it is still read.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.model import Track
from fleet_reports.ingest.types import Events

META_KEY = b"fleet_reports"
FIXES_FORMAT = "fleet-reports/fixes"
EVENTS_FORMAT = "fleet-reports/events"
FIXES_VERSION = 2
EVENTS_VERSION = 1
SENSOR_PREFIX = "s_"
V1_SENSOR_PREFIX = "s:"
ZSTD_LEVEL = 9
MAX_SENSOR_DIGITS = 9


@dataclass(frozen=True)
class _Dec:
    precision: int
    scale: int
    dtype: type  # numpy dtype of the Track field
    unit: str


_DECIMALS: dict[str, _Dec] = {
    "lat": _Dec(9, 7, np.float64, "deg"),
    "lng": _Dec(10, 7, np.float64, "deg"),
    "speed": _Dec(9, 1, np.float32, "km/h"),
    "heading": _Dec(9, 1, np.float32, "deg"),
    "alt": _Dec(9, 1, np.float32, "m"),
    "hdop": _Dec(9, 2, np.float32, ""),
    "odometer": _Dec(18, 3, np.float64, "km"),
}
_BASE = ("t", "lat", "lng", "speed", "heading", "alt", "satellites", "hdop", "odometer", "ignition")
_V1_TYPES: dict[str, Any] = {
    "t": np.int64,
    "lat": np.float64,
    "lng": np.float64,
    "speed": np.float32,
    "heading": np.float32,
    "alt": np.float32,
    "satellites": np.int8,
    "hdop": np.float32,
    "odometer": np.float64,
    "ignition": np.int8,
}


class CodecError(ValueError):
    """Bytes that are not a track or events object this code can read, or values it cannot store."""


def _decimal_type(precision: int, scale: int) -> Any:
    import pyarrow as pa

    return pa.decimal32(precision, scale) if precision <= 9 else pa.decimal64(precision, scale)


def _quantise(name: str, values: npt.NDArray[Any], precision: int, scale: int) -> Any:
    """An Arrow decimal array of ``values`` rounded to ``scale`` digits, null where not finite."""
    import pyarrow as pa

    x = np.asarray(values, np.float64)
    unknown = ~np.isfinite(x)
    q = np.round(np.where(unknown, 0.0, x) * 10.0**scale)
    if q.size and float(np.abs(q).max()) >= 10.0**precision:
        worst = float(x[~unknown][np.argmax(np.abs(q[~unknown]))])
        raise CodecError(f"{name}: {worst} cannot be stored as DECIMAL({precision},{scale})")
    ints = pa.array(q.astype(np.int32 if precision <= 9 else np.int64), mask=unknown if unknown.any() else None)
    return ints.view(_decimal_type(precision, scale))


def _sensor_digits(values: npt.NDArray[np.float64]) -> int | None:
    """The fewest decimal digits that keep every finite value exactly, or None (store doubles)."""
    x = values[np.isfinite(values)]
    if not x.size:
        return 0
    for k in range(MAX_SENSOR_DIGITS + 1):
        s = 10.0**k
        q = np.round(x * s)
        if float(np.abs(q).max()) >= 2.0**53:
            return None
        if bool(np.all(q / s == x)):
            return k
    return None


def _write(table: Any, encodings: dict[str, str], meta: dict[str, Any]) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    with pq.ParquetWriter(
        buf,
        table.schema,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=[n for n in table.column_names if n not in encodings],
        column_encoding=encodings,
        store_decimal_as_integer=True,
        store_schema=False,
        write_statistics=["t"],
    ) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({META_KEY.decode(): json.dumps(meta, separators=(",", ":"))})
    return buf.getvalue()


def encode_fixes(track: Track) -> bytes:
    """Parquet bytes of ``track`` (version 2, see the module docstring). Values are rounded to
    the stored precision; ``decode_fixes(encode_fixes(t))`` is ``t`` at that precision."""
    import pyarrow as pa

    n = len(track)
    columns: dict[str, Any] = {"t": pa.array(np.asarray(track.t, np.int64), pa.timestamp("ms", "UTC"))}
    units: dict[str, Any] = {"t": {"unit": "UTC timestamp, ms"}}
    encodings = {"t": "DELTA_BINARY_PACKED"}
    for name in _BASE[1:]:
        values = getattr(track, name)
        if name in _DECIMALS:
            d = _DECIMALS[name]
            columns[name] = _quantise(name, values, d.precision, d.scale)
            units[name] = {"unit": d.unit, "scale": d.scale}
            encodings[name] = "DELTA_BINARY_PACKED"
        elif name == "satellites":
            v = np.asarray(values, np.int8)
            columns[name] = pa.array(v, mask=v < 0)
            units[name] = {"unit": "count"}
            encodings[name] = "DELTA_BINARY_PACKED"
        else:  # ignition
            v = np.asarray(values, np.int8)
            columns[name] = pa.array(v == 1, mask=v < 0)
            units[name] = {"unit": "on/off"}
            encodings[name] = "RLE"
    sensors: dict[str, str] = {}
    for input_name, values in track.sensors.items():
        col = SENSOR_PREFIX + input_name  # base columns never start with "s_": no clash
        x = np.asarray(values, np.float64)
        digits = _sensor_digits(x)
        if digits is None:
            columns[col] = pa.array(x, mask=np.isnan(x))
            units[col] = {"unit": "", "input": input_name}
            encodings[col] = "BYTE_STREAM_SPLIT"
        else:
            columns[col] = _quantise(col, x, 18, digits)
            units[col] = {"unit": "", "input": input_name, "scale": digits}
            encodings[col] = "DELTA_BINARY_PACKED"
        sensors[col] = input_name
    table = pa.table(columns)
    assert table.num_rows == n
    meta = {"format": FIXES_FORMAT, "version": FIXES_VERSION, "columns": units, "sensors": sensors}
    return _write(table, encodings, meta)


def _meta(pf: Any) -> dict[str, Any] | None:
    kv = pf.metadata.metadata or {}
    if META_KEY not in kv:
        return None
    try:
        meta = json.loads(kv[META_KEY])
    except ValueError as exc:
        raise CodecError(f"bad {META_KEY.decode()} metadata: {exc}") from None
    if not isinstance(meta, dict):
        raise CodecError(f"bad {META_KEY.decode()} metadata")
    return meta


def _open(data: bytes) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CodecError(f"not a Parquet object: {exc}") from None


def _ints(arr: Any) -> npt.NDArray[np.int64]:
    """The unscaled integers of a decimal (or integer) array; nulls read as 0."""
    import pyarrow as pa

    t = arr.type
    if not pa.types.is_decimal(t):
        return np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    width = t.byte_width
    words = {4: np.int32, 8: np.int64}.get(width, np.int64)
    step = max(1, width // 8)
    raw = np.frombuffer(arr.buffers()[1], dtype=words)
    return raw[arr.offset * step : (arr.offset + len(arr)) * step : step].astype(np.int64, copy=False)


def _unknown(arr: Any) -> npt.NDArray[np.bool_] | None:
    if not arr.null_count:
        return None
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), bool)


def _column(table: Any, name: str) -> Any:
    col = table.column(name)
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _scaled(arr: Any, scale: int, dtype: Any) -> npt.NDArray[Any]:
    x = _ints(arr) / 10.0**scale
    unknown = _unknown(arr)
    if unknown is not None:
        x[unknown] = np.nan
    return x.astype(dtype, copy=False)


def _wanted(columns: Sequence[str] | None) -> set[str] | None:
    if columns is None:
        return None
    return {"t" if c == "time" else c for c in columns} | {"t"}


def decode_fixes(data: bytes, columns: Sequence[str] | None = None) -> Track:
    """The Track of an object written by ``encode_fixes`` (version 2) or by the first store
    encoding (version 1). With ``columns``, only those base columns (``t`` is always read) and
    sensor inputs are read; the other base columns are unknown and other sensors absent."""
    pf = _open(data)
    meta = _meta(pf)
    if meta is None:
        return _decode_v1(pf, _wanted(columns))
    _check_version(meta)
    wanted = _wanted(columns)
    sensors: dict[str, str] = meta.get("sensors", {})
    units: dict[str, dict[str, Any]] = meta.get("columns", {})
    names = [c for c in pf.schema_arrow.names if c in _BASE or c in sensors]
    if wanted is not None:
        names = [c for c in names if (c in _BASE and c in wanted) or (c in sensors and sensors[c] in wanted)]
    table = pf.read(columns=names, use_threads=False)
    n = table.num_rows
    out: dict[str, Any] = {}
    for name in _BASE:
        if name in table.column_names:
            out[name] = _base_column(_column(table, name), name, units)
        else:
            out[name] = _unknown_column(name, n)
    out_sensors: dict[str, npt.NDArray[np.float64]] = {}
    for col, input_name in sensors.items():
        if col in table.column_names:
            out_sensors[input_name] = _sensor_column(_column(table, col), units.get(col, {}))
    return Track(**out, sensors=out_sensors)


def _check_version(meta: dict[str, Any]) -> None:
    """CodecError unless the metadata is of a fixes object of the version this code writes."""
    if meta.get("format") != FIXES_FORMAT:
        raise CodecError(f"not a fixes object (format {meta.get('format')!r})")
    version = meta.get("version")
    if version != FIXES_VERSION:
        raise CodecError(f"fixes format version {version!r} is not supported (this code reads 1 and 2)")


def _base_column(arr: Any, name: str, units: dict[str, dict[str, Any]]) -> npt.NDArray[Any]:
    """A stored base column as the Track holds it: ``t`` in ms, decimals scaled, small integers
    with -1 for unknown."""
    if name == "t":
        return _ints(arr.cast("int64"))
    if name in _DECIMALS:
        return _scaled(arr, int(units.get(name, {}).get("scale", _DECIMALS[name].scale)), _DECIMALS[name].dtype)
    v = _ints(arr.cast("int8")).astype(np.int8)
    unknown = _unknown(arr)
    if unknown is not None:
        v[unknown] = -1
    return v


def _sensor_column(arr: Any, unit: dict[str, Any]) -> npt.NDArray[np.float64]:
    """A stored sensor column as floats: scaled decimals, or the floats stored."""
    if "scale" in unit:
        return _scaled(arr, int(unit["scale"]), np.float64)
    return np.asarray(arr.to_numpy(zero_copy_only=False), np.float64)


def _unknown_column(name: str, n: int) -> npt.NDArray[Any]:
    dtype = _V1_TYPES[name]
    if name in ("satellites", "ignition"):
        return np.full(n, -1, dtype)
    if name == "t":
        return np.zeros(n, dtype)
    return np.full(n, np.nan, dtype)


def _decode_v1(pf: Any, wanted: set[str] | None) -> Track:
    names = pf.schema_arrow.names
    if "t" not in names:
        raise CodecError("not a fixes object: no column t")
    selected = [
        c
        for c in names
        if (c in _BASE or c.startswith(V1_SENSOR_PREFIX))
        and (wanted is None or c in wanted or (c.startswith(V1_SENSOR_PREFIX) and c[len(V1_SENSOR_PREFIX) :] in wanted))
    ]
    table = pf.read(columns=selected, use_threads=False)
    n = table.num_rows
    out: dict[str, Any] = {}
    for name, dtype in _V1_TYPES.items():
        if name in table.column_names:
            out[name] = np.asarray(_column(table, name).to_numpy(zero_copy_only=False)).astype(dtype, copy=False)
        else:
            out[name] = _unknown_column(name, n)
    sensors = {
        c[len(V1_SENSOR_PREFIX) :]: np.asarray(_column(table, c).to_numpy(zero_copy_only=False)).astype(np.float64)
        for c in table.column_names
        if c.startswith(V1_SENSOR_PREFIX)
    }
    return Track(**out, sensors=sensors)


def encode_events(events: Events) -> bytes:
    """Parquet bytes of device events: t timestamp(ms, UTC), event, lat/lng DECIMAL (null when
    unknown), message and extra (JSON text) as strings."""
    import pyarrow as pa

    table = pa.table(
        {
            "t": pa.array(np.asarray(events.t, np.int64), pa.timestamp("ms", "UTC")),
            "event": pa.array(events.event, pa.string()),
            "lat": _quantise("lat", events.lat, 9, 7),
            "lng": _quantise("lng", events.lng, 10, 7),
            "message": pa.array(events.message, pa.string()),
            "extra": pa.array(events.extra, pa.string()),
        }
    )
    meta = {
        "format": EVENTS_FORMAT,
        "version": EVENTS_VERSION,
        "columns": {
            "t": {"unit": "UTC timestamp, ms"},
            "event": {"unit": "type name"},
            "lat": {"unit": "deg", "scale": 7},
            "lng": {"unit": "deg", "scale": 7},
            "message": {"unit": "text"},
            "extra": {"unit": "JSON text"},
        },
    }
    return _write(table, {"t": "DELTA_BINARY_PACKED", "lat": "DELTA_BINARY_PACKED", "lng": "DELTA_BINARY_PACKED"}, meta)


def decode_events(data: bytes) -> Events:
    pf = _open(data)
    meta = _meta(pf)
    if meta is None or meta.get("format") != EVENTS_FORMAT:
        raise CodecError("not an events object")
    if meta.get("version") != EVENTS_VERSION:
        raise CodecError(f"events format version {meta.get('version')!r} is not supported")
    table = pf.read(use_threads=False)
    return Events(
        t=_ints(_column(table, "t").cast("int64")),
        event=[str(x) for x in _column(table, "event").to_pylist()],
        lat=_scaled(_column(table, "lat"), 7, np.float64),
        lng=_scaled(_column(table, "lng"), 7, np.float64),
        message=[x or "" for x in _column(table, "message").to_pylist()],
        extra=[x or "" for x in _column(table, "extra").to_pylist()],
    )
