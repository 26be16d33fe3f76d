"""``parse_fixes``: any supported track file to validated fixes."""

from __future__ import annotations

from fleet_reports.ingest.csv_reader import read_csv
from fleet_reports.ingest.fixes import build_fixes
from fleet_reports.ingest.gpx_reader import read_gpx
from fleet_reports.ingest.ndjson_reader import read_ndjson
from fleet_reports.ingest.source import prepare
from fleet_reports.ingest.types import IngestError, ParsedFixes


def parse_fixes(data: bytes, name: str, *, now_ms: int) -> ParsedFixes:
    """Parse and validate an uploaded track file (format from ``name``, see the package docs).

    Raises IngestError when the whole file is unusable; bad rows are rejections in the result.
    """
    fmt, text = prepare(data, name)
    if not text or text.isspace():
        raise IngestError(f"{name!r}: empty file")
    if fmt == "csv":
        raw = read_csv(text)
    elif fmt == "ndjson":
        raw = read_ndjson(text)
    else:
        raw = read_gpx(text)
    return build_fixes(raw, now_ms=now_ms)
