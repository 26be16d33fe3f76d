"""NDJSON track files: one JSON object per line with the CSV's keys.

Values are numbers, numeric strings, booleans (ignition and sensors) or null (unknown); ``time``
is epoch seconds or an ISO 8601 string with an offset. Blank lines are skipped. Fast path:
pyarrow.json reads a clean file into typed columns; a file it refuses (a bad line, a key whose
values change type) is read line by line with the standard library, so a bad line is a
rejection with its line number.
"""

from __future__ import annotations

import itertools
import json
import operator
from typing import Any

import numpy as np

from fleet_reports.ingest.fixes import RawTable, canonical, column_map
from fleet_reports.ingest.source import count_lines
from fleet_reports.ingest.types import Rejection
from fleet_reports.ingest.values import show


def _mapping(keys: list[str]) -> dict[str, list[str]]:
    """Canonical name -> the raw keys that mean it (``lat`` on one line, ``Latitude`` on another)."""
    found: dict[str, list[str]] = {}
    for k in keys:
        c = canonical(k)
        if c:
            found.setdefault(c, []).append(k)
    return found


def _required(columns: dict[str, Any]) -> None:
    column_map(list(columns), "NDJSON keys")


def read_ndjson(data: bytes) -> RawTable:
    fast = _read_fast(data)
    return fast if fast is not None else read_lines(data)


def _read_fast(data: bytes) -> RawTable | None:
    import pyarrow as pa
    import pyarrow.json as pj

    if not data or data.isspace():
        return None
    try:
        table = pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=4 << 20))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count_lines(data):
        return None  # blank lines: the slow path numbers lines exactly
    mapping = _mapping(table.column_names)
    if any(len(raws) > 1 for raws in mapping.values()):
        return None
    columns = {c: table.column(raws[0]) for c, raws in mapping.items()}
    _required(columns)
    return RawTable(columns=columns, lines=np.arange(1, table.num_rows + 1, dtype=np.int64))


def _decode_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at column {exc.colno}"
    return f"not valid JSON: {exc}"


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], list[int], list[Rejection], int]:
    """(objects, their line numbers, rejected lines, rows): one JSON object per non-blank line.

    A file whose every line looks like one object is parsed in one ``json.loads`` call; if that
    fails (or the count does not match), line by line, so each bad line is found."""
    texts = [line.strip() for line in data.decode("utf-8").split("\n")]
    numbers = [i for i, line in enumerate(texts, 1) if line]
    if all(texts[i - 1][0] == "{" and texts[i - 1][-1] == "}" for i in numbers):
        try:
            batch = json.loads("[" + ",".join(texts[i - 1] for i in numbers) + "]")
        except ValueError:
            batch = None
        if batch is not None and len(batch) == len(numbers) and all(type(o) is dict for o in batch):
            return batch, numbers, [], len(numbers)
    objs: list[dict[str, Any]] = []
    lines: list[int] = []
    rejected: list[Rejection] = []
    for number in numbers:
        try:
            obj = json.loads(texts[number - 1])
        except ValueError as exc:
            rejected.append(Rejection(number, _decode_error(exc)))
            continue
        if not isinstance(obj, dict):
            rejected.append(Rejection(number, f"not a JSON object: {show(obj)}"))
            continue
        objs.append(obj)
        lines.append(number)
    return objs, lines, rejected, len(numbers)


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


def read_lines(data: bytes) -> RawTable:
    objs, lines, rejected, _ = parse_lines(data)
    keys = dict.fromkeys(itertools.chain.from_iterable(objs))
    columns: dict[str, Any] = {}
    mapping = _mapping(list(keys))
    by_key: dict[str, list[Any]] = {}
    if objs and all(len(raws) == 1 for raws in mapping.values()):
        try:  # every object has every key: transpose in C
            names = [raws[0] for raws in mapping.values()]
            if len(names) == 1:
                by_key = {names[0]: [o[names[0]] for o in objs]}
            else:
                by_key = dict(
                    zip(names, map(list, zip(*map(operator.itemgetter(*names), objs), strict=True)), strict=True)
                )
        except KeyError:
            by_key = {}
    for c, raws in mapping.items():
        if raws[0] in by_key:
            columns[c] = _column(by_key[raws[0]])
        elif len(raws) == 1:
            columns[c] = _column([o.get(raws[0]) for o in objs])
        else:  # the first of the keys that has a value
            columns[c] = _column([next((o[r] for r in raws if o.get(r) is not None), None) for o in objs])
    if objs or not rejected:
        _required(columns)
    elif not columns:
        import pyarrow as pa

        columns = {c: pa.array([], pa.string()) for c in ("time", "lat", "lng")}
    return RawTable(columns=columns, lines=np.array(lines, np.int64), rejected=rejected)
