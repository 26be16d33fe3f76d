"""Bytes in: format detection, gzip, byte order mark, UTF-8."""

from __future__ import annotations

import zlib
from typing import Literal

import numpy as np

from fleet_reports.ingest.types import IngestError

Format = Literal["csv", "ndjson", "gpx"]
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
# A larger inflated file is refused (a gzip bomb, or not one tracker's month): inflating it at all must
# fit the import function's memory (1769 MB) with the parse that follows; 2 GiB did not, so a bomb
# crashed the function (retried, then dead-lettered) instead of failing with its reason.
MAX_DECOMPRESSED = 256 << 20  # 256 MiB: a month of fixes at 1 Hz
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json-lines": "ndjson",
    ".jsonlines": "ndjson",
    ".gpx": "gpx",
}


def detect_format(name: str, data: bytes) -> tuple[Format, bool]:
    """(format, gzipped) of an upload, from its name's extension (``.csv``, ``.ndjson``, ``.jsonl``,
    ``.json-lines``, ``.jsonlines``, ``.gpx``, each optionally followed by ``.gz``; case-insensitive).
    A file is also taken as gzip when it starts with the gzip magic bytes."""
    base = name.rsplit("/", 1)[-1].strip().lower()
    gz_name = base.endswith(".gz")
    if gz_name:
        base = base[:-3]
    for ext, fmt in _EXTENSIONS.items():
        if base.endswith(ext):
            return fmt, gz_name or data[:2] == GZIP_MAGIC
    known = ", ".join(sorted(_EXTENSIONS))
    raise IngestError(f"{name!r}: unknown file type (expected one of {known}, optionally with .gz)")


def gunzip(data: bytes, name: str = "") -> bytes:
    """The inflated content of a gzip file (all members), refusing more than MAX_DECOMPRESSED."""
    if data[:2] != GZIP_MAGIC:
        raise IngestError(f"{name or 'file'}: not a gzip file (it does not start with the gzip magic bytes)")
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest[:2] == GZIP_MAGIC:
            d = zlib.decompressobj(wbits=31)
            while rest:
                chunk = d.decompress(rest, MAX_DECOMPRESSED + 1 - size)
                size += len(chunk)
                out.append(chunk)
                if size > MAX_DECOMPRESSED:
                    raise IngestError(f"{name or 'file'}: more than {MAX_DECOMPRESSED >> 20} MiB when decompressed")
                rest = d.unconsumed_tail
                if d.eof or not rest:
                    break
            if not d.eof:
                raise IngestError(f"{name or 'file'}: truncated gzip data")
            rest = d.unused_data
    except zlib.error as exc:
        raise IngestError(f"{name or 'file'}: bad gzip data ({exc})") from None
    if rest.strip(b"\x00"):
        raise IngestError(f"{name or 'file'}: trailing garbage after the gzip data")
    return b"".join(out)


def check_utf8(data: bytes) -> None:
    """Raise IngestError naming the line and column of the first byte that is not UTF-8."""
    import pyarrow as pa

    buf = pa.py_buffer(data)
    offsets = np.array([0, len(data)], np.int64)
    arr = pa.LargeStringArray.from_buffers(1, pa.py_buffer(offsets), buf)
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise IngestError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col}") from None


def prepare(data: bytes, name: str) -> tuple[Format, bytes]:
    """Detect the format, inflate gzip, drop a UTF-8 byte order mark, check UTF-8."""
    fmt, gz = detect_format(name, data)
    if gz:
        data = gunzip(data, name)
    if data.startswith(BOM):
        data = data[len(BOM) :]
    check_utf8(data)
    return fmt, data


def count_lines(data: bytes) -> int:
    """Lines in ``data`` (a final line without a newline counts; an empty tail does not)."""
    n = data.count(b"\n")
    return n + (1 if data and not data.endswith(b"\n") else 0)
