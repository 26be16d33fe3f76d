"""Track store: fixes per tracker per UTC day as Parquet in the track bucket.

Key: ``tracks/tracker_id=<id>/date=<YYYY-MM-DD>/fixes.parquet`` (Hive-style, Athena-ready).
A report reads only the days it needs, in parallel.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from fleet_reports.engine.model import Track
from fleet_reports.settings import get_settings
from fleet_reports.store.aws import error_code, s3, store_call

_BASE = {
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
_MISSING = {"satellites": -1, "ignition": -1}
SENSOR_PREFIX = "s:"


def day_key(tracker_id: int, day: date) -> str:
    return f"tracks/tracker_id={tracker_id}/date={day.isoformat()}/fixes.parquet"


def _bucket() -> str:
    return get_settings().require("track_bucket")


def utc_days(from_ms: int, to_ms: int) -> list[date]:
    first = datetime.fromtimestamp(from_ms / 1000, UTC).date()
    last = datetime.fromtimestamp(to_ms / 1000, UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def encode(track: Track) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, Any] = {name: getattr(track, name) for name in _BASE}
    for name, values in track.sensors.items():
        columns[SENSOR_PREFIX + name] = values
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf, compression="zstd")
    return buf.getvalue()


def decode(data: bytes) -> Track:
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    n = table.num_rows
    cols: dict[str, Any] = {}
    for name, dtype in _BASE.items():
        if name in table.column_names:
            cols[name] = table.column(name).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
        elif name in _MISSING:
            cols[name] = np.full(n, _MISSING[name], dtype)
        else:
            cols[name] = np.full(n, np.nan, dtype)
    sensors = {
        c[len(SENSOR_PREFIX) :]: table.column(c).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        for c in table.column_names
        if c.startswith(SENSOR_PREFIX)
    }
    return Track(**cols, sensors=sensors)


def write_day(tracker_id: int, day: date, track: Track) -> None:
    with store_call("track put"):
        s3().put_object(Bucket=_bucket(), Key=day_key(tracker_id, day), Body=encode(track))


def read_day(tracker_id: int, day: date) -> Track | None:
    try:
        with store_call("track get"):
            body = s3().get_object(Bucket=_bucket(), Key=day_key(tracker_id, day))["Body"].read()
    except Exception as exc:
        if error_code(exc.__cause__ or exc) in ("NoSuchKey", "404"):
            return None
        raise
    return decode(body)


def load(tracker_id: int, from_ms: int, to_ms: int) -> Track:
    """The tracker's fixes with ``from_ms <= t <= to_ms``, time-ordered."""
    days = utc_days(from_ms, to_ms)
    with ThreadPoolExecutor(max_workers=min(16, len(days))) as pool:
        parts = [p for p in pool.map(lambda d: read_day(tracker_id, d), days) if p is not None and len(p)]
    track = Track.concat(parts)
    if not len(track):
        return track
    keep = (track.t >= from_ms) & (track.t <= to_ms)
    track = track.take(keep)
    order = np.argsort(track.t, kind="stable")
    return track.take(order)
