"""Columns of raw values to numbers: vectorised with pyarrow, exact per value where that fails.

Every converter takes a pyarrow array of any type (strings from a CSV, numbers, booleans or
nested values from JSON) and returns numpy values plus ``{row: reason}`` for the rows it could
not convert. The per-value functions (``parse_number``, ``parse_time``) are the definition; the
vectorised paths only take the inputs they are sure to convert the same way, and send any chunk
they cannot convert to a bisection that ends in the per-value functions.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from fleet_reports.engine.model import F64, I64

Errors = dict[int, str]
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)\Z", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
MIN_EPOCH_S = -62_135_596_800.0  # 0001-01-01T00:00:00Z
MAX_EPOCH_S = 253_402_300_799.0  # 9999-12-31T23:59:59Z
_LEAF = 256  # chunks at most this long that fail vectorised conversion are converted value by value


def show(value: Any) -> str:
    """A raw value as quoted in a rejection reason."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, float):
        return repr(value)
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def num(value: float) -> str:
    """A number as written in a reason: integers without a fraction, else the shortest repr."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def fmt_ms(ms: int) -> str:
    """ISO 8601 UTC with a Z; milliseconds only when not zero."""
    d = _EPOCH + timedelta(milliseconds=ms)
    text = d.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms % 1000:03d}Z" if ms % 1000 else f"{text}Z"


# ---------------------------------------------------------------------------------------------
# Per-value definitions
# ---------------------------------------------------------------------------------------------


def parse_number(name: str, value: Any, *, allow_bool: bool) -> tuple[float, str | None]:
    """(value, None), (NaN, None) for an empty/absent value, or (NaN, reason)."""
    if value is None:
        return math.nan, None
    if isinstance(value, bool):
        if allow_bool:
            return float(value), None
        return math.nan, f"{name}: {show(value)} is not a number"
    if isinstance(value, int | float):
        x = float(value)
        if math.isfinite(x):
            return x, None
        return math.nan, f"{name}: {show(value)} is not a finite number"
    if not isinstance(value, str):
        return math.nan, f"{name}: {show(value)} is not a number"
    s = value.strip()
    if not s:
        return math.nan, None
    if NUMBER.match(s):
        x = float(s)
        if math.isfinite(x):
            return x, None
        return math.nan, f"{name}: {show(value)} is not a finite number"
    if _NON_FINITE.match(s):
        return math.nan, f"{name}: {show(value)} is not a finite number"
    if allow_bool and s.lower() in ("true", "false"):
        return float(s.lower() == "true"), None
    return math.nan, f"{name}: {show(value)} is not a number"


def epoch_s_to_ms(x: float) -> int | None:
    """Epoch seconds to epoch ms (rounded), None when outside years 1..9999."""
    if not (MIN_EPOCH_S <= x <= MAX_EPOCH_S):
        return None
    return round(x * 1000.0)


def parse_time(value: Any) -> tuple[int | None, str | None]:
    """(epoch ms, None), (None, None) when empty/absent, or (None, reason).

    Accepted: epoch seconds (integer or decimal, as a number or a string) and ISO 8601 with a UTC
    offset or Z (``2020-10-06T10:00:00+03:00``, ``2020-10-06 07:00:00Z``, fractional seconds).
    ISO times without an offset are rejected (their zone is unknown). Digits finer than a
    millisecond are dropped.
    """
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, f"time: cannot parse {show(value)}"
    if isinstance(value, int | float):
        x = float(value)
        ms = epoch_s_to_ms(x) if math.isfinite(x) else None
        if ms is None:
            return None, f"time: {show(value)} is out of range (epoch seconds expected)"
        return ms, None
    s = value.strip()
    if not s:
        return None, None
    if NUMBER.match(s):
        ms = epoch_s_to_ms(float(s))
        if ms is None:
            return None, f"time: {show(value)} is out of range (epoch seconds expected)"
        return ms, None
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        return None, f"time: cannot parse {show(value)}"
    if d.tzinfo is None:
        return None, f"time: {show(value)} has no UTC offset (add Z or an offset such as +03:00)"
    return (d - _EPOCH) // _MS, None


# ---------------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------------


def _bisect(
    arr: Any,
    fast: Callable[[Any], Any],
    slow: Callable[[Any, int], None],
    put: Callable[[int, int, Any], None],
) -> None:
    """Convert ``arr`` chunk by chunk with ``fast`` (returns values or None); chunks that fail are
    halved down to ``_LEAF`` values and then handed to ``slow(value, row)`` one value at a time."""
    stack = [(0, len(arr))]
    while stack:
        lo, hi = stack.pop()
        if hi <= lo:
            continue
        got = fast(arr.slice(lo, hi - lo))
        if got is not None:
            put(lo, hi, got)
        elif hi - lo <= _LEAF:
            for i, v in enumerate(arr.slice(lo, hi - lo).to_pylist()):
                slow(v, lo + i)
        else:
            mid = (lo + hi) // 2
            stack.append((mid, hi))
            stack.append((lo, mid))


def _is_string(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _numeric_numpy(arr: Any) -> F64:
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), np.float64)


def to_float(name: str, arr: Any, *, allow_bool: bool = False) -> tuple[F64, Errors]:
    """Numbers (NaN = empty/absent) and the reasons of the rows that are not numbers."""
    import pyarrow as pa

    t = arr.type
    if pa.types.is_null(t):
        return np.full(len(arr), np.nan), {}
    errors: Errors = {}
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        out = _numeric_numpy(arr)
    elif pa.types.is_boolean(t):
        out, errors = _floats_of_booleans(name, arr, allow_bool)
    elif _is_string(t):
        out, errors = _floats_of_strings(name, arr, allow_bool)
    else:  # nested JSON values
        return _floats_value_by_value(name, arr, allow_bool)
    return _explain_non_finite(name, arr, out, errors, allow_bool), errors


def _floats_of_booleans(name: str, arr: Any, allow_bool: bool) -> tuple[F64, Errors]:
    """A boolean column: 0/1 where booleans count as numbers, else each value rejected."""
    out = _numeric_numpy(arr)
    errors: Errors = {}
    if not allow_bool:
        out = out.copy()
        for i in np.flatnonzero(~np.isnan(out)).tolist():
            out[i] = np.nan
            errors[i] = f"{name}: {show(bool(arr[i].as_py()))} is not a number"
    return out, errors


def _floats_of_text(chunk: Any, allow_bool: bool) -> F64 | None:
    """A chunk of strings cast at once (with true/false as 1/0 where booleans count as numbers);
    None when a value does not cast."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return _numeric_numpy(chunk)
    except pa.ArrowInvalid:
        pass
    if not allow_bool:
        return None
    low = pc.utf8_lower(chunk)
    mapped = pc.if_else(pc.equal(low, "true"), "1", pc.if_else(pc.equal(low, "false"), "0", chunk))
    try:
        return _numeric_numpy(mapped)
    except pa.ArrowInvalid:
        return None


def _floats_of_strings(name: str, arr: Any, allow_bool: bool) -> tuple[F64, Errors]:
    """A string column: vectorised chunk by chunk, value by value in the chunks that fail."""
    out = np.full(len(arr), np.nan)
    errors: Errors = {}

    def slow(v: Any, row: int) -> None:
        x, err = parse_number(name, v, allow_bool=allow_bool)
        out[row] = x
        if err:
            errors[row] = err

    def put(lo: int, hi: int, got: Any) -> None:
        out[lo:hi] = got

    _bisect(arr, partial(_floats_of_text, allow_bool=allow_bool), slow, put)
    return out, errors


def _floats_value_by_value(name: str, arr: Any, allow_bool: bool) -> tuple[F64, Errors]:
    """Any other column (nested JSON values): each value by the per-value definition."""
    out = np.full(len(arr), np.nan)
    errors: Errors = {}
    for i, v in enumerate(arr.to_pylist()):
        x, err = parse_number(name, v, allow_bool=allow_bool)
        out[i] = x
        if err:
            errors[i] = err
    return out, errors


def _explain_non_finite(name: str, arr: Any, out: F64, errors: Errors, allow_bool: bool) -> F64:
    """The values a cast left NaN or infinite though present, per value (adding their reasons
    to ``errors``); ``out`` itself, or a writable copy when it had to change."""
    bad = ~np.isfinite(out) & ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), bool)
    if bad.any() and not out.flags.writeable:
        out = out.copy()
    for i in np.flatnonzero(bad).tolist():
        if i not in errors:
            x, err = parse_number(name, arr[i].as_py(), allow_bool=allow_bool)
            out[i] = x
            if err:
                errors[i] = err
    return out


def _ms_of_epoch(chunk: Any) -> tuple[I64, Any] | None:
    """Epoch seconds to ms at once (nulls unknown); None when one is outside years 1..9999."""
    import pyarrow as pa
    import pyarrow.compute as pc

    x = np.asarray(pc.cast(chunk, pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    valid = ~np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), bool)
    with np.errstate(invalid="ignore"):
        if not np.all((x[valid] >= MIN_EPOCH_S) & (x[valid] <= MAX_EPOCH_S)):
            return None
    return np.round(np.where(valid, x, 0.0) * 1000.0).astype(np.int64), valid


def _ms_of_timestamp(chunk: Any) -> tuple[I64, Any]:
    """A timestamp column to epoch ms (nulls unknown)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid = ~np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), bool)
    unit = chunk.type.unit
    raw = np.asarray(pc.cast(chunk, pa.int64()).fill_null(0).to_numpy(), np.int64)
    div = {"s": None, "ms": 1, "us": 1000, "ns": 1_000_000}[unit]
    return (raw * 1000 if div is None else raw // div), valid


def _ms_of_text(chunk: Any) -> tuple[I64, Any] | None:
    """A chunk of strings as epoch seconds, else as ISO 8601 times; None when neither casts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return _ms_of_epoch(chunk)
    except pa.ArrowInvalid:
        pass
    try:
        return _ms_of_timestamp(pc.cast(chunk, pa.timestamp("ns", "UTC")))
    except pa.ArrowInvalid:
        return None


def to_time_ms(arr: Any) -> tuple[I64, Any, Errors]:
    """(epoch ms, known mask, reasons) of a time column: epoch seconds or ISO 8601 with offset."""
    import pyarrow as pa

    n = len(arr)
    ms = np.zeros(n, np.int64)
    known = np.zeros(n, bool)
    errors: Errors = {}

    def slow(v: Any, row: int) -> None:
        value, err = parse_time(v)
        if err:
            errors[row] = err
        elif value is not None:
            ms[row] = value
            known[row] = True

    def put(lo: int, hi: int, got: Any) -> None:
        ms[lo:hi], known[lo:hi] = got

    t = arr.type
    got = None
    if pa.types.is_timestamp(t):
        got = _ms_of_timestamp(arr)
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        got = _ms_of_epoch(arr)
    elif _is_string(t):
        _bisect(arr, _ms_of_text, slow, put)
        return ms, known, errors
    if got is None:
        for i, v in enumerate(arr.to_pylist()):
            slow(v, i)
    else:
        put(0, n, got)
    return ms, known, errors
