"""Hostile track files against the parser (issue #18, imports): each is refused with its reason or
bounded, and the good rows beside it survive. Memory and time are measured by
bench/bench_hostile_imports.py, not here."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from fleet_reports.engine.model import Track
from fleet_reports.ingest import IngestError, parse_events, parse_fixes
from fleet_reports.ingest.fixes import MAX_SENSOR_COLUMNS
from fleet_reports.ingest.merge import MAX_DAY_SENSOR_COLUMNS, bound_sensors
from fleet_reports.ingest.ndjson_reader import MAX_JSON_DEPTH, MAX_LINE_BYTES
from fleet_reports.ingest.source import MAX_DECOMPRESSED, MIN_TEXT_BYTES, gunzip, max_text_bytes

NOW = 1_700_000_000_000
T0 = 1_601_967_600


def fix(i: int, **extra: object) -> bytes:
    return json.dumps({"time": T0 + 60 * i, "lat": 55.5 + i / 1000, "lng": 37.1, **extra}).encode() + b"\n"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# ----------------------------------------------------------------------------- 1. nesting and long lines
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 20_000])
def test_a_deeply_nested_line_is_a_rejected_row_and_the_rest_imports(depth: int) -> None:
    # Given an NDJSON file whose second line holds a field nested `depth` levels (20,000 crashed pyarrow)
    data = fix(0) + fix(1)[:-2] + b', "x": ' + nested(depth).encode() + b"}\n" + fix(2)

    # When it is parsed
    parsed = parse_fixes(data, "deep.ndjson", now_ms=NOW)

    # Then that line is rejected, unread, with its number and the limit; the other two are imported
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (2, f"the line is nested more than {MAX_JSON_DEPTH} levels deep")
    ]
    assert parsed.track.t.tolist() == [T0 * 1000, (T0 + 120) * 1000]


def test_brackets_inside_strings_are_no_nesting() -> None:
    # Given a line whose string value holds many brackets (and escaped quotes), nested only once
    line = json.dumps({"time": T0, "lat": 55.5, "lng": 37.1, "note": '[{"\\' + "[" * 500}).encode() + b"\n"

    # When it is parsed
    parsed = parse_fixes(line + fix(1), "strings.ndjson", now_ms=NOW)

    # Then no line is taken for deep (the note is a sensor value that is not a number, rejected as such)
    (rejection,) = parsed.rejected
    assert rejection.line == 1 and rejection.reason.startswith("note: ")
    assert rejection.reason.endswith("is not a number")


def test_a_line_longer_than_the_limit_is_a_rejected_row() -> None:
    # Given a file with one line of more than MAX_LINE_BYTES between two good ones
    long_line = fix(1)[:-2] + b', "pad": "' + b"x" * MAX_LINE_BYTES + b'"}\n'

    # When it is parsed
    parsed = parse_fixes(fix(0) + long_line + fix(2), "long.jsonl", now_ms=NOW)

    # Then it is rejected with its line, and the others land
    assert [(r.line, r.reason) for r in parsed.rejected] == [(2, f"the line is longer than {MAX_LINE_BYTES:,} bytes")]
    assert len(parsed.track) == 2


def test_an_events_file_with_a_deeply_nested_extra_keeps_its_other_events() -> None:
    # Given device events, the second with an `extra` nested 5,000 levels
    good = b'{"time": %d, "event": "door_open"}\n'
    data = good % T0 + b'{"time": %d, "event": "x", "extra": %s}\n' % (T0 + 1, nested(5_000).encode()) + good % (T0 + 2)

    # When it is parsed
    parsed = parse_events(data, "events/e.ndjson", now_ms=NOW)

    # Then the nested one is a rejection of line 2 and the two others are events
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (2, f"the line is nested more than {MAX_JSON_DEPTH} levels deep")
    ]
    assert parsed.events.t.tolist() == [T0 * 1000, (T0 + 2) * 1000]


# ----------------------------------------------------------------------------- 2 and 6. sizes
def test_the_largest_text_comes_from_the_functions_memory() -> None:
    # Given the template's memory, a larger one and a tiny one
    # When the limits are computed
    # Then the template's is the module's default, it grows with memory, and never falls below the floor
    assert max_text_bytes() == MAX_DECOMPRESSED == max_text_bytes(1769)
    assert 150 << 20 < MAX_DECOMPRESSED < 200 << 20
    assert max_text_bytes(3538) > 2 * MAX_DECOMPRESSED
    assert max_text_bytes(128) == MIN_TEXT_BYTES


def _bomb(mib: int) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return deflater.compress(b"\0" * (mib << 20)) + deflater.flush()


@pytest.mark.parametrize("name", ["bomb.csv.gz", "bomb.ndjson.gz", "bomb.gpx.gz", "bomb.jsonl"])
def test_a_gzip_bomb_of_any_format_is_refused_past_the_limit(name: str) -> None:
    # Given 64 MiB of zeros gzip'd (about 64 KiB), as each format (the last only by its magic bytes)
    bomb = _bomb(64)

    # When it is parsed with a limit of 8 MiB
    # Then it is refused, saying it is larger than the limit once decompressed
    with pytest.raises(IngestError, match="more than 8 MiB when decompressed"):
        parse_fixes(bomb, name, now_ms=NOW, max_bytes=8 << 20)


def test_an_events_gzip_bomb_is_refused_too() -> None:
    with pytest.raises(IngestError, match="when decompressed"):
        parse_events(_bomb(64), "events/bomb.ndjson.gz", now_ms=NOW, max_bytes=8 << 20)


def test_gzip_up_to_the_limit_inflates_whole_across_members() -> None:
    # Given three gzip members that inflate to exactly the limit together
    parts = [b"a" * (3 << 20), b"b" * (3 << 20), b"c" * (2 << 20)]
    data = b"".join(gzip.compress(p) for p in parts)

    # When inflated with that limit, and with one byte less
    # Then the first gives every byte back, the second is refused
    assert gunzip(data, "x.csv.gz", limit=8 << 20) == b"".join(parts)
    with pytest.raises(IngestError, match="decompressed"):
        gunzip(data, "x.csv.gz", limit=(8 << 20) - 1)


def test_a_plain_file_over_the_limit_is_refused_unread() -> None:
    # Given a plain CSV of a little more than 1 MiB
    data = b"time,lat,lng\n" + b"1601967600,55.5,37.1\n" * 60_000

    # When parsed with a limit of 1 MiB
    # Then it is refused, naming the limit
    with pytest.raises(IngestError, match="more than 1 MiB"):
        parse_fixes(data, "big.csv", now_ms=NOW, max_bytes=1 << 20)


# ----------------------------------------------------------------------------- 3. columns
def test_a_csv_with_twelve_thousand_sensor_columns_keeps_a_bounded_number() -> None:
    # Given a CSV with 12,000 sensor columns (the tracker declares `fuel`, the last of them) and two
    # rows: as many as a header of at most 64 KiB holds with short names
    names = [f"{i:x}" for i in range(11_999)] + ["fuel"]
    header = "time,lat,lng," + ",".join(names)
    row = ",55.5,37.1," + ",".join(["1"] * 12_000)
    data = f"{header}\n{T0}{row}\n{T0 + 60}{row}\n".encode()

    # When it is parsed for that tracker
    parsed = parse_fixes(data, "wide.csv", now_ms=NOW, sensors=["fuel"])

    # Then both rows land with MAX_SENSOR_COLUMNS sensors: the declared one and the first others
    assert len(parsed.track) == 2
    assert len(parsed.track.sensors) == MAX_SENSOR_COLUMNS
    assert "fuel" in parsed.track.sensors and "0" in parsed.track.sensors
    # And every other column is named as ignored, in file order
    assert len(parsed.ignored_columns) == 12_000 - MAX_SENSOR_COLUMNS
    assert parsed.ignored_columns[0] == f"{MAX_SENSOR_COLUMNS - 1:x}"


def test_an_ndjson_file_whose_keys_keep_changing_keeps_a_bounded_number() -> None:
    # Given NDJSON whose every line brings a key of its own (20,000 keys took 5 GB in pyarrow.json)
    data = b"".join(fix(i, **{f"k{i}": i}) for i in range(2_000))

    # When it is parsed
    parsed = parse_fixes(data, "keys.ndjson", now_ms=NOW)

    # Then every row lands, with MAX_SENSOR_COLUMNS sensor columns; the other keys are named as ignored
    assert len(parsed.track) == 2_000
    assert len(parsed.track.sensors) == MAX_SENSOR_COLUMNS
    assert parsed.ignored_columns[:2] == (f"k{MAX_SENSOR_COLUMNS}", f"k{MAX_SENSOR_COLUMNS + 1}")
    assert len(parsed.ignored_columns) == 2_000 - MAX_SENSOR_COLUMNS


def test_a_day_keeps_its_sensor_columns_and_takes_new_ones_only_up_to_its_bound() -> None:
    # Given a day with MAX_DAY_SENSOR_COLUMNS - 1 sensors and new fixes bringing one of those and 3 new ones
    older = Track.empty(tuple(f"d{i}" for i in range(MAX_DAY_SENSOR_COLUMNS - 1)))
    newer = Track.empty(("d0", "n1", "n2", "n3"))

    # When bounded against the day
    kept, left_out = bound_sensors(older, newer)

    # Then the day's own column and the first new one stay; the other two are named as left out
    assert list(kept.sensors) == ["d0", "n1"]
    assert left_out == ("n2", "n3")


# ----------------------------------------------------------------------------- 4. no exception text
def test_a_csv_field_over_the_csv_modules_limit_is_a_rejected_row() -> None:
    # Given a CSV read by the csv module (a quoted field spans two lines, in a column without a
    # header: ignored) whose third line has a 200,000-character field
    data = (
        b'time,lat,lng,\n1601967600,55.5,37.1,"two\nlines"\n1601967660,55.5,37.1,"'
        + b"x" * 200_000
        + b'"\n1601967720,55.6,37.1,\n'
    )

    # When it is parsed
    parsed = parse_fixes(data, "field.csv", now_ms=NOW)

    # Then that row is rejected in plain words and the two others land
    assert [(r.line, r.reason) for r in parsed.rejected] == [(4, "a field is longer than 131,072 characters")]
    assert parsed.track.t.tolist() == [T0 * 1000, (T0 + 120) * 1000]
