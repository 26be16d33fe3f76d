"""CSV track files: a header row, then one fix per row.

Fast path: pyarrow.csv reads the file with the types the header implies (time as a UTC timestamp
or epoch seconds, numbers as float64, ignition as a boolean); if a value does not convert, the file
is read again with every column as text and each column is converted on its own, value by value
only where vectorised conversion fails. Empty lines are read as all-null rows (then dropped), so
the n-th row is physical line n + 1 and rows pyarrow skips report their own line; a file whose
quoted fields span lines (or that uses bare CR newlines) is read with the standard library's csv
module instead, which counts physical lines exactly, a piece of text at a time (memory stays a
few times the text). Sensor columns beyond :data:`~fleet_reports.ingest.fixes.MAX_SENSOR_COLUMNS`
are not read (:class:`~fleet_reports.ingest.fixes.SensorBudget`); a field longer than the csv
module's limit (131,072 characters) is a rejected row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.model import I64
from fleet_reports.ingest.fixes import BASE_COLUMNS, RawTable, SensorBudget, canonical, column_map
from fleet_reports.ingest.source import count_lines
from fleet_reports.ingest.types import IngestError, Rejection
from fleet_reports.ingest.values import NUMBER, parse_time

_TRUE = ["1", "true", "True", "TRUE"]
_FALSE = ["0", "false", "False", "FALSE"]


MAX_HEADER_BYTES = 65_536  # a header row longer than this is no header (binary, or one huge line)


def _first_line(data: bytes) -> str:
    end = data.find(b"\n")
    return data[: end if end >= 0 else len(data)].decode("utf-8").rstrip("\r")


def _delimiter(header_line: str) -> str:
    if "," in header_line:
        return ","
    for d in (";", "\t"):
        if d in header_line:
            return d
    return ","


def read_header(data: bytes) -> tuple[list[str], str]:
    """The header's field names and the delimiter; IngestError when there is no header."""
    if not data or data.isspace():
        raise IngestError("empty file: no header row")
    if data.startswith((b"\n", b"\r\n")):
        raise IngestError("line 1 is empty: the first line must be the header row")
    end = data.find(b"\n", 0, MAX_HEADER_BYTES + 1)
    if end < 0 and len(data) > MAX_HEADER_BYTES:
        raise IngestError(f"line 1 is over {MAX_HEADER_BYTES} bytes: it is no header row")
    line = _first_line(data)
    delim = _delimiter(line)
    try:
        headers = next(csv.reader([line], delimiter=delim))
    except csv.Error as exc:
        raise IngestError(f"line 1 is no header row ({_csv_error(exc)})") from None
    known = [h for h in headers if canonical(h) in BASE_COLUMNS]
    if not known and headers:
        first = headers[0].strip()
        if NUMBER.match(first) or parse_time(first)[0] is not None:
            raise IngestError(f"no header row: line 1 looks like data ({line[:60]!r})")
    return headers, delim


def read_csv(data: bytes, sensors: Collection[str] = ()) -> RawTable:
    """The columns of a CSV file; ``sensors`` are the tracker's declared inputs (kept first when
    the header has more sensor columns than a file may bring)."""
    headers, delim = read_header(data)
    budget = SensorBudget(sensors)
    index = {name: i for name, i in column_map(headers, "header (line 1)").items() if budget.take(name)}
    quoted = b'"' in data
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        raw = _read_slow(data, headers, delim, index)  # bare CR newlines
    else:
        raw = _read_fast(data, headers, delim, index, quoted) or _read_slow(data, headers, delim, index)
    raw.ignored = budget.ignored
    return raw


def _types(headers: list[str], index: dict[str, int], first_time: str | None) -> dict[str, Any]:
    import pyarrow as pa

    types: dict[str, Any] = {h: pa.float64() for h in headers}
    for name, i in index.items():
        if name == "ignition":
            types[headers[i]] = pa.bool_()
        elif name == "time":
            epoch = first_time is not None and bool(NUMBER.match(first_time.strip()))
            types[headers[i]] = pa.float64() if epoch else pa.timestamp("ms", "UTC")
    for h in headers:
        if not h.strip():
            types[h] = pa.string()
    return types


def _first_value(data: bytes, delim: str, col: int) -> str | None:
    start = data.find(b"\n") + 1
    if start <= 0:
        return None
    end = data.find(b"\n", start)
    line = data[start : end if end >= 0 else len(data)].decode("utf-8").rstrip("\r")
    try:
        fields = next(csv.reader([line], delimiter=delim))
    except (StopIteration, csv.Error):
        return None
    return fields[col] if col < len(fields) else None


_FAILED_COLUMN = re.compile(r"In CSV column #(\d+)")
_RETYPES = 3  # columns retyped as text one at a time before reading every column as text


class _ArrowCsv:
    """One file read by pyarrow.csv with empty lines kept as all-null rows; the lines of the
    rows it left out, and whether it could number them."""

    def __init__(self, data: bytes, headers: list[str], delim: str, quoted: bool, include: list[str]) -> None:
        self.data = data
        self.headers = headers
        self.include = include
        self.delim = delim
        self.quoted = quoted
        self.invalid: list[tuple[int, int, int]] = []  # (physical line, expected fields, actual fields)
        self.skipped: list[int] = []  # physical lines of all the rows left out of the table
        self.numbered = True

    def _on_invalid(self, row: Any) -> str:
        if row.number is None:
            self.numbered = False
            return "skip"
        self.skipped.append(int(row.number))
        if row.text.strip():  # a whitespace-only line is as good as empty
            self.invalid.append((int(row.number), row.expected_columns, row.actual_columns))
        return "skip"

    def attempt(self, types: dict[str, Any]) -> Any:
        """The table with these column types (ArrowInvalid when a value does not convert)."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        self.invalid.clear()
        self.skipped.clear()
        parse = pcsv.ParseOptions(
            delimiter=self.delim,
            newlines_in_values=self.quoted,
            ignore_empty_lines=False,
            invalid_row_handler=self._on_invalid,
        )
        read = pcsv.ReadOptions(column_names=self.headers, skip_rows=1, block_size=4 << 20, use_threads=False)
        convert = pcsv.ConvertOptions(
            column_types=types,
            include_columns=self.include,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
            true_values=_TRUE,
            false_values=_FALSE,
        )
        return pcsv.read_csv(pa.py_buffer(self.data), read_options=read, parse_options=parse, convert_options=convert)

    def read(self, types: dict[str, Any]) -> Any:
        """The table with ``types``, retyping as text the columns that do not convert (a few one
        at a time, then all of them); None when even text fails."""
        import pyarrow as pa

        for _ in range(_RETYPES):
            try:
                return self.attempt(types)
            except pa.ArrowInvalid as exc:
                m = _FAILED_COLUMN.search(str(exc))
                if not m or int(m.group(1)) >= len(self.headers):
                    break
                types[self.headers[int(m.group(1))]] = pa.string()
        try:
            return self.attempt(dict.fromkeys(self.headers, pa.string()))
        except pa.ArrowInvalid:
            return None  # let the standard library's reader find (and report) the problem


def _empty_rows(table: Any) -> npt.NDArray[np.bool_]:
    """Which rows are null in every column (empty lines, lines of delimiters only)."""
    empty = np.ones(table.num_rows, bool)
    for c in table.columns:
        if c.null_count == 0:
            empty[:] = False
            break
        empty &= np.asarray(c.is_null().to_numpy(zero_copy_only=False), bool)
    return empty


def _read_fast(data: bytes, headers: list[str], delim: str, index: dict[str, int], quoted: bool) -> RawTable | None:
    """pyarrow.csv with empty lines kept as all-null rows, so that (without quoted newlines) the
    n-th row read is physical line n + 1; None when the slow path must count lines instead."""
    import pyarrow as pa

    reader = _ArrowCsv(data, headers, delim, quoted, [headers[i] for i in index.values()])
    table = reader.read(_types(headers, index, _first_value(data, delim, index["time"])))
    if table is None or not reader.numbered:
        return None
    n, skipped = table.num_rows, reader.skipped
    lines: I64 = np.arange(2, n + len(skipped) + 2, dtype=np.int64)
    if skipped:
        lines = np.delete(lines, np.array(skipped, np.int64) - 2)
    if quoted and n + len(skipped) + 1 != count_lines(data):
        return None  # a quoted field spans lines: count them exactly on the slow path
    columns = {name: table.column(headers[i]) for name, i in index.items()}
    if columns["time"].null_count:  # empty lines (and lines of delimiters only) read as all-null rows
        empty = _empty_rows(table)
        if empty.any():
            keep = np.flatnonzero(~empty)
            lines = lines[keep]
            take = pa.array(keep)
            columns = {name: col.take(take) for name, col in columns.items()}
    rejected = [Rejection(num, f"expected {exp} fields, found {act}") for num, exp, act in reader.invalid]
    return RawTable(columns=columns, lines=lines, rejected=rejected)


PIECE_CHARS = 4 << 20  # the slow path decodes this much text at a time
ROWS_PER_CHUNK = 65_536  # and turns this many rows into columns at a time


def _text_lines(data: bytes) -> Iterator[str]:
    """The lines of ``data``, line ends kept (LF, CRLF or bare CR, as the csv module expects),
    decoded a piece at a time."""
    start, n = 0, len(data)
    while start < n:
        end = n
        if n - start > PIECE_CHARS:
            end = max(data.rfind(b"\n", start, start + PIECE_CHARS), data.rfind(b"\r", start, start + PIECE_CHARS)) + 1
            if end <= start:
                end = n
            elif data[end - 1 : end + 1] == b"\r\n":
                end += 1
        yield from io.StringIO(data[start:end].decode("utf-8"), newline="")
        start = end


def _read_slow(data: bytes, headers: list[str], delim: str, index: dict[str, int]) -> RawTable:
    import pyarrow as pa

    reader = csv.reader(_text_lines(data), delimiter=delim)
    width = len(headers)
    chunks: dict[str, list[Any]] = {name: [] for name in index}
    records: list[list[str]] = []
    lines: list[int] = []
    rejected: list[Rejection] = []

    def flush() -> None:
        for name, i in index.items():
            chunks[name].append(pa.array([r[i] or None for r in records], pa.string()))
        records.clear()

    try:
        next(reader)
    except (StopIteration, csv.Error):
        raise IngestError("line 1 is no header row") from None
    prev = reader.line_num
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, prev = prev + 1, reader.line_num
            rejected.append(Rejection(start, _csv_error(exc)))
            continue
        start, prev = prev + 1, reader.line_num
        if not any(field.strip() for field in rec):
            continue  # an empty line (or only delimiters / whitespace)
        if len(rec) != width:
            rejected.append(Rejection(start, f"expected {width} fields, found {len(rec)}"))
            continue
        records.append(rec)
        lines.append(start)
        if len(records) >= ROWS_PER_CHUNK:
            flush()
    flush()
    columns = {name: pa.chunked_array(parts, pa.string()) for name, parts in chunks.items()}
    return RawTable(columns=columns, lines=np.array(lines, np.int64), rejected=rejected)


def _csv_error(exc: csv.Error) -> str:
    """A csv module error in the uploader's words."""
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    if "new-line character seen in unquoted field" in text or "unexpected end of data" in text:
        return "a quoted field is not closed"
    return "the row is not valid CSV"
