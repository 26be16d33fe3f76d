"""``parse_fixes``: any supported track file to validated fixes."""

from __future__ import annotations

from collections.abc import Collection

from fleet_reports.ingest.csv_reader import read_csv
from fleet_reports.ingest.fixes import build_fixes
from fleet_reports.ingest.gpx_reader import read_gpx
from fleet_reports.ingest.ndjson_reader import read_ndjson
from fleet_reports.ingest.source import MAX_DECOMPRESSED, prepare
from fleet_reports.ingest.types import IngestError, ParsedFixes


def parse_fixes(
    data: bytes, name: str, *, now_ms: int, max_bytes: int = MAX_DECOMPRESSED, sensors: Collection[str] = ()
) -> ParsedFixes:
    """Parse and validate an uploaded track file (format from ``name``, see the package docs).

    ``max_bytes``: the largest text read, as given or once inflated
    (:func:`~fleet_reports.ingest.source.max_text_bytes`);
    ``sensors``: the tracker's declared sensor inputs, kept first when a file brings more sensor
    columns than :data:`~fleet_reports.ingest.fixes.MAX_SENSOR_COLUMNS`.
    Raises IngestError when the whole file is unusable; bad rows are rejections in the result.
    """
    fmt, text = prepare(data, name, max_bytes)
    if not text or text.isspace():
        raise IngestError(f"{name!r}: empty file")
    if fmt == "csv":
        raw = read_csv(text, sensors)
    elif fmt == "ndjson":
        raw = read_ndjson(text, sensors)
    else:
        raw = read_gpx(text)
    return build_fixes(raw, now_ms=now_ms)
