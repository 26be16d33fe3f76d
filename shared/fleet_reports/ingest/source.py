"""Bytes in: format detection, gzip, byte order mark, UTF-8."""

from __future__ import annotations

import zlib
from typing import Literal

import numpy as np

from fleet_reports.ingest.types import IngestError

Format = Literal["csv", "ndjson", "gpx"]
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
# How large a file may be: its text (as uploaded, or once inflated) must fit the import function's
# memory with the parse that follows. Reading a file takes up to PARSE_MEMORY_FACTOR times its text
# at the peak (measured for every format and path by bench/bench_hostile_imports.py: CSV and GPX
# about 6, CSV read by the csv module about 7, NDJSON about 3.5, events about 6, plus the text
# itself), beside RESERVED_MEMORY_MB for the runtime, its libraries and the day merges. At the
# template's 1769 MB that is 163 MiB of text, about two million fixes. 2 GiB (the first cap) let a
# 3 MB gzip bomb take 5 GB and crash; 256 MiB still let a CSV with one quoted newline take 5 GB.
DEFAULT_MEMORY_MB = 1769  # template.yaml ImportFunction MemorySize (when the caller does not say)
RESERVED_MEMORY_MB = 300
PARSE_MEMORY_FACTOR = 9
MIN_TEXT_BYTES = 16 << 20  # never less, however small the function
INFLATE_CHUNK = 4 << 20  # gzip is inflated (and counted) this much at a time
FEED_BYTES = 64 << 10  # from this much compressed input at a time


def max_text_bytes(memory_mb: int = DEFAULT_MEMORY_MB) -> int:
    """The largest upload, and the most a gzip upload may inflate to, for a function of ``memory_mb``."""
    return max(MIN_TEXT_BYTES, ((memory_mb - RESERVED_MEMORY_MB) << 20) // PARSE_MEMORY_FACTOR)


MAX_DECOMPRESSED = max_text_bytes()  # the limit at the template's memory (docs, tests)
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


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def _members(data: bytes, name: str, limit: int, keep: list[bytes] | None) -> int:
    """Inflate every gzip member of ``data``, INFLATE_CHUNK of output at a time from FEED_BYTES of
    input at a time (so that zlib's unconsumed input is never copied whole); the inflated size.
    Each chunk is appended to ``keep`` when given, else dropped. IngestError past ``limit``
    (having held no more than one chunk of it) or on bad gzip."""
    size = 0
    view = memoryview(data)
    pos = 0
    try:
        while bytes(view[pos : pos + 2]) == GZIP_MAGIC:
            d = zlib.decompressobj(wbits=31)
            while not d.eof:
                feed = view[pos : pos + FEED_BYTES]
                if not feed:
                    break
                pos += len(feed)
                pending: bytes | memoryview = feed
                while True:  # drain this input, and whatever output it still holds
                    chunk = d.decompress(pending, min(INFLATE_CHUNK, limit + 1 - size))
                    size += len(chunk)
                    if size > limit:
                        raise IngestError(
                            f"{name or 'file'}: more than {_mib(limit)} when decompressed (the largest file the"
                            " import reads; split it, for example by month)"
                        )
                    if keep is not None and chunk:
                        keep.append(chunk)
                    pending = d.unconsumed_tail
                    if d.eof or (not pending and not chunk):
                        break
            if not d.eof:
                raise IngestError(f"{name or 'file'}: truncated gzip data")
            pos -= len(d.unused_data)  # the input after this member: the next member, or padding
    except zlib.error as exc:
        raise IngestError(f"{name or 'file'}: bad gzip data ({exc})") from None
    if bytes(view[pos:]).strip(b"\x00"):
        raise IngestError(f"{name or 'file'}: trailing garbage after the gzip data")
    return size


def gunzip(data: bytes, name: str = "", limit: int = MAX_DECOMPRESSED) -> bytes:
    """The inflated content of a gzip file (all members), refusing more than ``limit`` bytes.

    A first pass only counts (inflating chunk by chunk, keeping nothing), so a bomb is refused
    having used no memory; a file within the limit is then inflated for real."""
    if data[:2] != GZIP_MAGIC:
        raise IngestError(f"{name or 'file'}: not a gzip file (it does not start with the gzip magic bytes)")
    _members(data, name, limit, None)
    out: list[bytes] = []
    _members(data, name, limit, out)
    text = b"".join(out)
    out.clear()
    return text


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


def prepare(data: bytes, name: str, limit: int = MAX_DECOMPRESSED) -> tuple[Format, bytes]:
    """Detect the format, inflate gzip, drop a UTF-8 byte order mark, check UTF-8. IngestError
    for a text of more than ``limit`` bytes (as given, or once inflated)."""
    fmt, gz = detect_format(name, data)
    if len(data) > limit:
        raise IngestError(f"{name or 'file'}: more than {_mib(limit)} (the largest file the import reads; split it)")
    if gz:
        data = gunzip(data, name, limit)
    if data.startswith(BOM):
        data = data[len(BOM) :]
    check_utf8(data)
    return fmt, data


def count_lines(data: bytes) -> int:
    """Lines in ``data`` (a final line without a newline counts; an empty tail does not)."""
    n = data.count(b"\n")
    return n + (1 if data and not data.endswith(b"\n") else 0)
