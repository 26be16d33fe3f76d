"""NDJSON track files: one JSON object per line with the CSV's keys.

Values are numbers, numeric strings, booleans (ignition and sensors) or null (unknown); ``time``
is epoch seconds or an ISO 8601 string with an offset. Blank lines are skipped.

Before any parser sees a line it is screened (:func:`screen`): a line longer than
:data:`MAX_LINE_BYTES` or nested deeper than :data:`MAX_JSON_DEPTH` is a rejection with its line
number, unread (pyarrow.json recursed into a line of 20,000 brackets until the process crashed).
Fast path: pyarrow.json reads the screened file into typed columns, with the keys of its first
lines as an explicit schema (a file whose keys keep changing would make a column per key: 20,000
keys in 1 MB took 5 GB); a file it refuses (a bad line, a new key, a value whose type changes)
is read line by line with the standard library, a piece at a time, so a bad line is a rejection
with its line number and memory stays a few times the text. Sensor keys beyond
:data:`~fleet_reports.ingest.fixes.MAX_SENSOR_COLUMNS` are ignored (:func:`~fleet_reports.ingest.fixes.SensorBudget`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleet_reports.engine.model import I64
from fleet_reports.ingest.fixes import BASE_COLUMNS, RawTable, SensorBudget, canonical, column_map
from fleet_reports.ingest.types import Rejection
from fleet_reports.ingest.values import show

MAX_LINE_BYTES = 65_536  # a longer line is rejected unread (a fix takes about 100 bytes)
MAX_JSON_DEPTH = 32  # a line nested deeper is rejected unread (an event's ``extra`` is the only nesting)
SAMPLE_BYTES = 256 << 10  # the first lines, whose keys make the fast path's schema
PIECE_BYTES = 4 << 20  # text screened and parsed at a time
_NL, _LBRACKET, _LBRACE, _RBRACKET, _RBRACE, _QUOTE, _BACKSLASH = b'\n[{]}"\\'
_SPACES = b" \t\r"


@dataclass
class Screened:
    """A file after :func:`screen`: the text with the rejected lines emptied (their newline
    kept, so line numbers hold), the rejections, and the numbers of the lines left to read."""

    data: bytes
    rejected: list[Rejection]
    lines: I64  # 1-based numbers of the non-blank lines not rejected


def pieces(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(start, end, number of its first line) of consecutive runs of whole lines of about
    PIECE_BYTES (one longer line is a run of its own)."""
    start, line, n = 0, 1, len(data)
    while start < n:
        end = n
        if n - start > PIECE_BYTES:
            end = data.rfind(b"\n", start, start + PIECE_BYTES) + 1
            if end <= start:
                nl = data.find(b"\n", start + PIECE_BYTES)
                end = n if nl < 0 else nl + 1
        yield start, end, line
        line += data.count(b"\n", start, end)
        start = end


def _depth(line: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings in one line."""
    a = np.frombuffer(line, np.uint8)
    idx = np.arange(a.size)
    backslash = a == _BACKSLASH
    last_other = np.maximum.accumulate(np.where(backslash, -1, idx))  # last non-backslash at or before i
    run_before = np.empty(a.size, np.int64)  # backslashes right before each byte
    run_before[0] = 0
    run_before[1:] = idx[:-1] - last_other[:-1]
    quote = (a == _QUOTE) & (run_before % 2 == 0)
    inside = (np.cumsum(quote) - quote) % 2 == 1  # within a string (its opening quote excluded)
    step = np.zeros(a.size, np.int32)
    step[(a == _LBRACKET) | (a == _LBRACE)] = 1
    step[(a == _RBRACKET) | (a == _RBRACE)] = -1
    step[inside | quote] = 0
    return int(np.cumsum(step).max(initial=0))


def screen(data: bytes) -> Screened:
    """Reject, unread, the lines longer than MAX_LINE_BYTES or nested deeper than MAX_JSON_DEPTH."""
    bad: list[tuple[int, int]] = []  # (start, end) of the rejected lines' content
    rejected: list[Rejection] = []
    numbers: list[I64] = []
    for start, end, first in pieces(data):
        a = np.frombuffer(data, np.uint8, count=end - start, offset=start)
        if end - start > PIECE_BYTES:  # one line, longer than any line may be
            rejected.append(Rejection(first, f"the line is longer than {MAX_LINE_BYTES:,} bytes"))
            bad.append((start, end - (a[-1] == _NL)))
            continue
        nl = np.flatnonzero(a == _NL)
        starts = np.concatenate(([0], nl + 1))
        ends = np.concatenate((nl, [a.size]))
        if starts[-1] == a.size:  # the run ends with a newline: no line after it
            starts, ends = starts[:-1], ends[:-1]
        opens = np.flatnonzero((a == _LBRACKET) | (a == _LBRACE))
        spaces = np.flatnonzero((a == _SPACES[0]) | (a == _SPACES[1]) | (a == _SPACES[2]))
        brackets = np.searchsorted(opens, ends) - np.searchsorted(opens, starts)
        filled = ends - starts > np.searchsorted(spaces, ends) - np.searchsorted(spaces, starts)
        long = ends - starts > MAX_LINE_BYTES
        suspect = np.flatnonzero(~long & (brackets > MAX_JSON_DEPTH))
        deep = [int(i) for i in suspect if _depth(data[start + starts[i] : start + ends[i]]) > MAX_JSON_DEPTH]
        rejected_here = np.zeros(starts.size, bool)
        rejected_here[long] = True
        rejected_here[deep] = True
        for i in np.flatnonzero(rejected_here).tolist():
            why = (
                f"the line is longer than {MAX_LINE_BYTES:,} bytes"
                if long[i]
                else f"the line is nested more than {MAX_JSON_DEPTH} levels deep"
            )
            rejected.append(Rejection(first + i, why))
            bad.append((start + int(starts[i]), start + int(ends[i])))
        keep = ~rejected_here & filled
        numbers.append(np.flatnonzero(keep).astype(np.int64) + first)
    lines: I64 = np.concatenate(numbers) if numbers else np.empty(0, np.int64)
    if not bad:
        return Screened(data, rejected, lines)
    parts: list[bytes] = []
    prev = 0
    for s, e in bad:
        parts.append(data[prev:s])
        prev = e
    parts.append(data[prev:])
    return Screened(b"".join(parts), rejected, lines)


def _mapping(keys: Collection[str]) -> dict[str, list[str]]:
    """Canonical name -> the raw keys that mean it (``lat`` on one line, ``Latitude`` on another)."""
    found: dict[str, list[str]] = {}
    for k in keys:
        c = canonical(k)
        if c:
            found.setdefault(c, []).append(k)
    return found


def _required(columns: dict[str, Any]) -> None:
    column_map(list(columns), "NDJSON keys")


def read_ndjson(data: bytes, sensors: Collection[str] = ()) -> RawTable:
    """The columns of a screened NDJSON file; ``sensors`` are the tracker's declared inputs
    (kept first when a file has more sensor keys than a file may bring)."""
    screened = screen(data)
    fast = _read_fast(screened, sensors)
    return fast if fast is not None else read_lines(screened, sensors)


def _schema(sample: bytes, sensors: Collection[str]) -> Any:
    """The explicit schema of the fast path: the sample's keys, numbers as float64; None when the
    sample has a line that is no JSON object or more keys than kept."""
    import pyarrow as pa
    import pyarrow.json as pj

    budget = SensorBudget(sensors)
    seen = False
    for line in sample.split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if type(obj) is not dict or not all(budget.take(canonical(k)) for k in obj):
            return None  # not an object, or more keys than kept: the slow path
        seen = True
    if not seen:
        return None
    try:
        inferred = pj.read_json(pa.BufferReader(sample)).schema
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    fields = []
    for f in inferred:
        t = f.type
        if pa.types.is_integer(t) or pa.types.is_null(t):
            t = pa.float64()
        elif not (pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_string(t)):
            return None
        fields.append(pa.field(f.name, t))
    return pa.schema(fields)


def _read_fast(screened: Screened, sensors: Collection[str]) -> RawTable | None:
    import pyarrow as pa
    import pyarrow.json as pj

    data = screened.data
    if not screened.lines.size:
        return None
    cut = data.rfind(b"\n", 0, SAMPLE_BYTES) + 1 if len(data) > SAMPLE_BYTES else len(data)
    schema = _schema(data[: cut or len(data)], sensors)
    if schema is None:
        return None
    try:
        table = pj.read_json(
            pa.BufferReader(data),
            read_options=pj.ReadOptions(block_size=4 << 20),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != screened.lines.size:
        return None  # pyarrow left out a line the screen kept (or the other way): number them exactly
    mapping = _mapping(table.column_names)
    if any(len(raws) > 1 for raws in mapping.values()):
        return None
    columns = {c: table.column(raws[0]) for c, raws in mapping.items()}
    _required(columns)
    return RawTable(columns=columns, lines=screened.lines, rejected=list(screened.rejected))


def _decode_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at column {exc.colno}"
    return "not valid JSON"


def parse_chunks(screened: Screened) -> Iterator[tuple[list[dict[str, Any]], list[int], list[Rejection]]]:
    """(objects, their line numbers, rejected lines) of each piece of a screened file: one JSON
    object per non-blank line. A piece whose every line looks like one object is parsed in one
    ``json.loads`` call; if that fails, line by line, so each bad line is found."""
    data = screened.data
    for start, end, first in pieces(data):
        texts = [line.strip() for line in data[start:end].decode("utf-8").split("\n")]
        numbers = [i for i, line in enumerate(texts, first) if line]
        if all(texts[i - first][0] == "{" and texts[i - first][-1] == "}" for i in numbers):
            try:
                batch = json.loads("[" + ",".join(texts[i - first] for i in numbers) + "]")
            except (ValueError, RecursionError):
                batch = None
            if batch is not None and len(batch) == len(numbers) and all(type(o) is dict for o in batch):
                yield batch, numbers, []
                continue
        objs: list[dict[str, Any]] = []
        lines: list[int] = []
        rejected: list[Rejection] = []
        for number in numbers:
            try:
                obj = json.loads(texts[number - first])
            except RecursionError:
                rejected.append(Rejection(number, f"the line is nested more than {MAX_JSON_DEPTH} levels deep"))
                continue
            except ValueError as exc:
                rejected.append(Rejection(number, _decode_error(exc)))
                continue
            if not isinstance(obj, dict):
                rejected.append(Rejection(number, f"not a JSON object: {show(obj)}"))
                continue
            objs.append(obj)
            lines.append(number)
        yield objs, lines, rejected


def _column(values: list[Any]) -> Any:
    import pyarrow as pa

    try:
        arr = pa.array(values)
        if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_null(arr.type):
            return arr
        if pa.types.is_boolean(arr.type) or pa.types.is_string(arr.type):
            return arr
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass

    def text(v: Any) -> str | None:
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

    return pa.array([text(v) for v in values], pa.string())


def _common_type(columns: list[Any]) -> Any:
    """The type several pieces of one column share: theirs when one, float64 for numbers, else text."""
    import pyarrow as pa

    types = {c.type for c in columns if not pa.types.is_null(c.type)}
    if not types:
        return pa.null()
    if len(types) == 1:
        return types.pop()
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
        return pa.float64()
    return pa.string()


def _joined(chunks: list[Any]) -> Any:
    """One column of chunks that may have been typed differently."""
    import pyarrow as pa

    t = _common_type(chunks)
    return pa.chunked_array([c.cast(t) for c in chunks], t)


DENSE_KEYS = 16  # up to this many keys in a piece, each column is one pass over the objects


def _transposed(objs: list[dict[str, Any]], keys: list[str]) -> dict[str, list[Any]]:
    """The values of each key, None where an object lacks it: a pass over the objects per key
    when they are few, else one pass over the objects' own items (a file whose keys keep
    changing costs its values, not its keys times its lines)."""
    if len(keys) <= DENSE_KEYS:
        return {k: [o.get(k) for o in objs] for k in keys}
    columns: dict[str, list[Any]] = {k: [None] * len(objs) for k in keys}
    for row, o in enumerate(objs):
        for k, v in o.items():
            column = columns.get(k)
            if column is not None:
                column[row] = v
    return columns


def read_lines(screened: Screened, sensors: Collection[str] = ()) -> RawTable:
    """The slow path: every piece parsed by the standard library, its keys' values made columns."""
    budget = SensorBudget(sensors)
    chunks: dict[str, list[Any]] = {}  # raw key -> its column, a chunk per piece
    rows = 0
    lines: list[I64] = []
    rejected = list(screened.rejected)
    for objs, numbers, bad in parse_chunks(screened):
        rejected.extend(bad)
        if not objs:
            continue
        keys = [k for k in dict.fromkeys(k for o in objs for k in o) if budget.take(canonical(k))]
        for k, values in _transposed(objs, keys).items():
            if k not in chunks:
                chunks[k] = [_column([None] * rows)] if rows else []
            chunks[k].append(_column(values))
        for k, column in chunks.items():
            if k not in keys:
                column.append(_column([None] * len(objs)))
        rows += len(objs)
        lines.append(np.array(numbers, np.int64))
    rejected.sort(key=lambda r: r.line)
    raws = {k: _joined(v) for k, v in chunks.items()}
    columns: dict[str, Any] = {}
    for c, names in _mapping(list(raws)).items():
        columns[c] = raws[names[0]] if len(names) == 1 else _first_known([raws[n] for n in names])
    if rows or not rejected:
        _required(columns)
    elif not columns:
        import pyarrow as pa

        columns = {c: pa.array([], pa.string()) for c in ("time", "lat", "lng")}
    return RawTable(
        columns=columns,
        lines=np.concatenate(lines) if lines else np.empty(0, np.int64),
        rejected=rejected,
        ignored=budget.ignored,
    )


def _first_known(columns: list[Any]) -> Any:
    """Several keys that mean one column (``lat`` on one line, ``Latitude`` on another): per row,
    the first that has a value."""
    import pyarrow.compute as pc

    t = _common_type(columns)
    return pc.coalesce(*[c.cast(t) for c in columns])


__all__ = ["BASE_COLUMNS", "MAX_JSON_DEPTH", "MAX_LINE_BYTES", "Screened", "parse_chunks", "read_ndjson", "screen"]
