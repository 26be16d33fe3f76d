"""Track uploads in, compact day objects out: parsing, validation, merging and the day codec.

Pure (no AWS): the import Lambda, the worker and the CLI call it with bytes.

Formats (docs/data.md; detected by extension, optionally ``.gz``, gzip also by its magic bytes):

* CSV (``.csv``): a header row, then one fix per row. Delimiter ``,`` (``;`` or a tab when the
  header has no comma). UTF-8, with or without a BOM; LF or CRLF; quoted fields. Header names
  are trimmed and case-insensitive; aliases: ``timestamp`` = time, ``latitude`` = lat,
  ``lon``/``long``/``longitude`` = lng, ``altitude`` = alt, ``course`` = heading, ``sats`` =
  satellites. Every other column is a sensor input named by its trimmed header (case kept);
  columns with an empty header are ignored. Empty lines (and lines of only whitespace or
  delimiters) are skipped; a row with the wrong number of fields is rejected.
* NDJSON (``.ndjson``, ``.jsonl``, ``.json-lines``, ``.jsonlines``): one object per line with the
  same keys (and aliases); values are numbers, numeric strings, booleans (ignition, sensors) or
  null; blank lines are skipped; a line that is not a JSON object is a rejection.
* GPX (``.gpx``, 1.0 and 1.1): ``trkpt`` lat/lon, ``time``, ``ele``; ``speed`` (m/s, the GPX 1.0
  element or any extension element so named) is converted to km/h; ``course``, ``sat``, ``hdop``.
  A DOCTYPE or ENTITY declaration makes the file unusable (untrusted XML).

Values: ``time`` is epoch seconds (integer or decimal) or ISO 8601 *with* an offset or ``Z``
(``2020-10-06T10:00:00+03:00``, ``2020-10-06 07:00:00Z``, fractional seconds); an ISO time
without an offset is rejected, since its zone is unknown. Sub-millisecond digits are dropped.
``speed`` km/h, ``heading`` degrees, ``alt`` m, ``odometer`` km, ``ignition`` 0/1/true/false
(case-insensitive); an empty cell is unknown.

A row is rejected (with its line number and a reason; the other rows still land) when: a value
does not parse (naming the column), time/lat/lng is missing, lat is outside -90..90 or lng
outside -180..180 or not finite, the position is exactly (0, 0), the time is more than 24 h after
``now_ms``, satellites is not a whole number in 0..127 or is known and below 3, speed is outside
0..500, heading outside 0..360, hdop negative, or ignition not 0/1/true/false. The accepted fixes
are ordered by time and, for rows with the same time, the last in the file wins.

Limits (docs/data.md, "Limits"): the text of a file (as given, or once inflated) is at most
``max_bytes`` (:func:`~fleet_reports.ingest.source.max_text_bytes`, from the function's memory);
an NDJSON line of more than 64 KiB or nested more than 32 levels is a rejection, unread; a file
brings at most 128 sensor columns (the declared ``sensors`` first; the others are named in
``ParsedFixes.ignored_columns``) and a day holds at most 256 (``merge.bound_sensors``).

The implied-speed filter of docs/analytics.md ("Cleaning") is NOT applied here: the raw fixes are kept
and the report engine applies it when it reads them.
"""

from fleet_reports.ingest.codec import CodecError, decode_events, decode_fixes, encode_events, encode_fixes
from fleet_reports.ingest.events import parse_events
from fleet_reports.ingest.export import format_csv, format_gpx, format_ndjson
from fleet_reports.ingest.merge import merge_events, merge_tracks, split_event_days, split_utc_days
from fleet_reports.ingest.parse import parse_fixes
from fleet_reports.ingest.source import detect_format
from fleet_reports.ingest.types import Events, IngestError, ParsedEvents, ParsedFixes, Rejection

__all__ = [
    "CodecError",
    "Events",
    "IngestError",
    "ParsedEvents",
    "ParsedFixes",
    "Rejection",
    "decode_events",
    "decode_fixes",
    "detect_format",
    "encode_events",
    "encode_fixes",
    "format_csv",
    "format_gpx",
    "format_ndjson",
    "merge_events",
    "merge_tracks",
    "parse_events",
    "parse_fixes",
    "split_event_days",
    "split_utc_days",
]
