"""Parsing uploaded track files: formats, line numbers, rejections and unusable files."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

from fleet_reports.ingest import IngestError, ParsedFixes, Rejection, detect_format, parse_fixes

NOW = 1_700_000_000_000  # 2023-11-14T22:13:20Z
T0 = 1_601_967_600_000  # 2020-10-06T07:00:00Z


def parse(text: str | bytes, name: str = "track.csv") -> ParsedFixes:
    data = text.encode() if isinstance(text, str) else text
    return parse_fixes(data, name, now_ms=NOW)


def reasons(p: ParsedFixes) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in p.rejected]


# --------------------------------------------------------------------------------------------
# Format detection
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.csv", b"time", ("csv", False)),
        ("incoming/1/A.CSV.GZ", b"\x1f\x8b...", ("csv", True)),
        ("x.ndjson", b"{}", ("ndjson", False)),
        ("x.jsonl.gz", b"\x1f\x8b", ("ndjson", True)),
        ("x.json-lines", b"{}", ("ndjson", False)),
        ("x.gpx", b"<gpx/>", ("gpx", False)),
        ("x.gpx", b"\x1f\x8b\x08", ("gpx", True)),  # gzip recognised by its magic bytes alone
    ],
)
def test_format_comes_from_the_extension_and_gzip_also_from_magic_bytes(
    name: str, data: bytes, expected: tuple[str, bool]
) -> None:
    # Given an upload name and its first bytes / When detected / Then format and compression
    assert detect_format(name, data) == expected


def test_an_unknown_extension_is_an_ingest_error() -> None:
    # Given a spreadsheet upload / When detected / Then the error names the file and what is known
    with pytest.raises(IngestError, match=r"unknown file type.*\.csv"):
        detect_format("fixes.xlsx", b"PK")


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def test_clean_csv_with_every_column_and_sensors() -> None:
    # Given a CSV with all base columns and two sensor inputs
    text = (
        "time,lat,lng,speed,heading,alt,satellites,hdop,odometer,ignition,fuel,temp1\n"
        "2020-10-06T07:00:00Z,55.4115576,37.5532492,12.5,204.5,123.2,11,0.7,212229.223,1,80.5,2.4\n"
        "2020-10-06T07:00:10Z,55.4115,37.5532,0,0,-12,3,1.25,212229.3,0,,-1\n"
    )
    # When parsed
    p = parse(text)
    # Then every value lands in its column, in the Track's types
    t = p.track
    assert (p.rows, p.rejected_count, p.duplicates, p.sensor_columns) == (2, 0, 0, ("fuel", "temp1"))
    assert t.t.tolist() == [T0, T0 + 10_000]
    assert t.lat.tolist() == [55.4115576, 55.4115] and t.lng.tolist() == [37.5532492, 37.5532]
    assert t.speed.dtype == np.float32 and t.speed.tolist() == [12.5, 0.0]
    assert t.heading.tolist() == [204.5, 0.0] and t.alt.tolist() == pytest.approx([123.2, -12.0])
    assert t.satellites.dtype == np.int8 and t.satellites.tolist() == [11, 3]
    assert t.hdop.tolist() == pytest.approx([0.7, 1.25]) and t.odometer.tolist() == [212229.223, 212229.3]
    assert t.ignition.tolist() == [1, 0]
    assert t.sensors["fuel"][0] == 80.5 and math.isnan(t.sensors["fuel"][1])
    assert t.sensors["temp1"].tolist() == [2.4, -1.0]


def test_only_required_columns_leave_the_rest_unknown() -> None:
    # Given only time, lat and lng
    p = parse("time,lat,lng\n2020-10-06T07:00:00Z,55,37\n")
    # Then the optional columns are unknown (NaN / -1) and there are no sensors
    t = p.track
    assert math.isnan(t.speed[0]) and math.isnan(t.odometer[0]) and math.isnan(t.hdop[0])
    assert t.satellites[0] == -1 and t.ignition[0] == -1 and t.sensors == {} and p.sensor_columns == ()


@pytest.mark.parametrize(
    ("value", "expected_ms"),
    [
        ("2020-10-06T10:00:00+03:00", T0),
        ("2020-10-06T10:00:00+0300", T0),
        ("2020-10-06T02:30:00-04:30", T0),
        ("2020-10-06 07:00:00Z", T0),
        ("2020-10-06T07:00:00.250Z", T0 + 250),
        ("2020-10-06T07:00:00.1239Z", T0 + 123),  # finer than a millisecond: dropped
        ("1601967600", T0),
        ("1601967600.5", T0 + 500),
        ("1601967600.123", T0 + 123),
    ],
)
def test_time_is_iso_with_offset_or_epoch_seconds(value: str, expected_ms: int) -> None:
    # Given a one-row CSV with that time (and a clean row first so the fast path sees a type)
    p = parse(f"time,lat,lng\n{value},55,37\n")
    # Then it is that UTC instant
    assert p.track.t.tolist() == [expected_ms] and p.rejected_count == 0


def test_mixed_time_notations_in_one_file() -> None:
    # Given epoch seconds and ISO times with different offsets in one column
    text = "time,lat,lng\n1601967600,55,37\n2020-10-06T10:00:01+03:00,55,37\n2020-10-06T07:00:02Z,55,37\n"
    # When parsed / Then all three are read
    assert parse(text).track.t.tolist() == [T0, T0 + 1000, T0 + 2000]


def test_bom_crlf_quotes_and_header_case_and_aliases() -> None:
    # Given a UTF-8 BOM, CRLF newlines, quoted fields and header aliases in other cases
    text = (
        '\ufeff"Timestamp", LATITUDE ,Lon,Course,"fuel, l"\r\n'
        '"2020-10-06T07:00:00Z","55.1","37.2","90","1.5"\r\n'
        '2020-10-06T07:00:01Z,55.2,37.3,,"2"\r\n'
    )
    # When parsed
    p = parse(text.encode("utf-8"))
    # Then the aliases map to the base columns and the quoted comma is not a separator
    assert p.rejected_count == 0 and p.sensor_columns == ("fuel, l",)
    assert p.track.lat.tolist() == [55.1, 55.2] and p.track.heading[0] == 90
    assert math.isnan(p.track.heading[1])
    assert p.rejected == () and len(p.track) == 2


def test_quoted_value_with_comma_rejects_with_the_right_line() -> None:
    # Given a quoted sensor value "1,5" (not a number) after an empty line
    text = 'time,lat,lng,fuel\n2020-10-06T07:00:00Z,55,37,1\n\n2020-10-06T07:00:01Z,55,37,"1,5"\n'
    # When parsed / Then the row is rejected at line 4, naming the column
    assert reasons(parse(text)) == [(4, "fuel: '1,5' is not a number")]


def test_quoted_newline_keeps_line_numbers_right() -> None:
    # Given a quoted field spanning two lines, followed by a bad row
    text = (
        "time,lat,lng,note\n"
        '2020-10-06T07:00:00Z,55,37,"two\nlines"\n'
        "2020-10-06T07:00:01Z,95,37,1\n"
        "2020-10-06T07:00:02Z,55,37,2\n"
    )
    # When parsed
    p = parse(text)
    # Then the bad row is reported at its physical line (4), and the multi-line row at line 2
    assert reasons(p) == [(2, "note: 'two\\nlines' is not a number"), (4, "lat: 95 is out of range -90..90")]
    assert len(p.track) == 1


def test_semicolon_delimited_csv() -> None:
    # Given a semicolon-separated file (a header without commas)
    p = parse("time;lat;lng;speed\n2020-10-06T07:00:00Z;55;37;10\n")
    # Then it is read with that delimiter
    assert p.track.speed.tolist() == [10.0]


def test_empty_and_whitespace_lines_are_skipped_but_counted_for_line_numbers() -> None:
    # Given empty, whitespace-only and CRLF-empty lines between rows
    text = "time,lat,lng\r\n\r\n2020-10-06T07:00:00Z,55,37\r\n   \r\n\r\n2020-10-06T07:00:01Z,0,0\r\n"
    # When parsed
    p = parse(text)
    # Then only the two data rows count and the (0, 0) row is at line 6
    assert p.rows == 2 and reasons(p) == [(6, "(0, 0) position")]


def test_wrong_number_of_fields_is_a_rejection() -> None:
    # Given a short row and a long row
    text = "time,lat,lng\n2020-10-06T07:00:00Z,55\n2020-10-06T07:00:01Z,55,37,9\n2020-10-06T07:00:02Z,55,37\n"
    # When parsed / Then both are rejected with their lines and the good row lands
    p = parse(text)
    assert reasons(p) == [(2, "expected 3 fields, found 2"), (3, "expected 3 fields, found 4")]
    assert p.rows == 3 and len(p.track) == 1


BAD_ROWS = [
    ("yesterday,55,37,,,", "time: cannot parse 'yesterday'"),
    (
        "2020-10-06T07:00:00,55,37,,,",
        "time: '2020-10-06T07:00:00' has no UTC offset (add Z or an offset such as +03:00)",
    ),
    (",55,37,,,", "time: missing"),
    ("2020-10-06T07:00:00Z,,37,,,", "lat: missing"),
    ("2020-10-06T07:00:00Z,55,,,,", "lng: missing"),
    ("2020-10-06T07:00:00Z,91.2,37,,,", "lat: 91.2 is out of range -90..90"),
    ("2020-10-06T07:00:00Z,55,-180.5,,,", "lng: -180.5 is out of range -180..180"),
    ("2020-10-06T07:00:00Z,nan,37,,,", "lat: nan is not a finite number"),
    ("2020-10-06T07:00:00Z,55,inf,,,", "lng: inf is not a finite number"),
    ("2020-10-06T07:00:00Z,abc,37,,,", "lat: 'abc' is not a number"),
    ("2020-10-06T07:00:00Z,0,0,,,", "(0, 0) position"),
    ("2031-01-01T00:00:00Z,55,37,,,", "time 2031-01-01T00:00:00Z is more than 24 h in the future"),
    ("2020-10-06T07:00:00Z,55,37,2,,", "fewer than 3 satellites (2)"),
    ("2020-10-06T07:00:00Z,55,37,2.5,,", "satellites: 2.5 is not a whole number in 0..127"),
    ("2020-10-06T07:00:00Z,55,37,,-3,", "speed: -3 is out of range 0..500"),
    ("2020-10-06T07:00:00Z,55,37,,500.5,", "speed: 500.5 is out of range 0..500"),
    ("2020-10-06T07:00:00Z,55,37,,fast,", "speed: 'fast' is not a number"),
    ("2020-10-06T07:00:00Z,55,37,,,2", "ignition: '2' is not 0/1/true/false"),
    ("2020-10-06T07:00:00Z,55,37,,,on", "ignition: 'on' is not a number"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_each_rejection_reason_with_its_line_number(row: str, reason: str) -> None:
    # Given a bad row between two good ones
    text = (
        "time,lat,lng,satellites,speed,ignition\n"
        "2020-10-06T06:00:00Z,55,37,8,10,1\n"
        f"{row}\n"
        "2020-10-06T06:00:01Z,55,37,8,10,0\n"
    )
    # When parsed
    p = parse(text)
    # Then the bad row is rejected at line 3 with the reason, and the good rows land
    assert p.rejected == (Rejection(3, reason),)
    assert p.rejected_count == 1 and len(p.track) == 2 and p.rows == 3


def test_heading_and_hdop_limits() -> None:
    # Given heading 360 (allowed), heading 361 and a negative hdop
    text = (
        "time,lat,lng,heading,hdop\n"
        "2020-10-06T07:00:00Z,55,37,360,0\n"
        "2020-10-06T07:00:01Z,55,37,361,1\n"
        "2020-10-06T07:00:02Z,55,37,-0.5,1\n"
        "2020-10-06T07:00:03Z,55,37,10,-1\n"
    )
    # When parsed / Then
    assert reasons(parse(text)) == [
        (3, "heading: 361 is out of range 0..360"),
        (4, "heading: -0.5 is out of range 0..360"),
        (5, "hdop: -1 is negative"),
    ]


def test_bad_values_in_a_large_file_are_found_without_losing_the_rest() -> None:
    # Given 5,000 rows, three of them bad in different columns
    rows = [f"{1601967600 + i},55.{i:04d},37,{i % 100},1" for i in range(5000)]
    rows[10] = "1601967610,55,37,x,1"
    rows[2500] = "1601970100,55,37,10,maybe"
    rows[4999] = "soon,55,37,10,1"
    text = "time,lat,lng,speed,ignition\n" + "\n".join(rows) + "\n"
    # When parsed
    p = parse(text)
    # Then exactly those rows are rejected with their lines
    assert [r.line for r in p.rejected] == [12, 2502, 5001]
    assert len(p.track) == 4997


def test_sensor_values_may_be_booleans_and_ignition_true_false_any_case() -> None:
    # Given sensor and ignition columns with true/false in several cases
    text = (
        "time,lat,lng,ignition,door\n1601967600,55,37,TRUE,true\n1601967601,55,37,False,FALSE\n1601967602,55,37,,1.5\n"
    )
    # When parsed / Then booleans read as 1/0 and empty ignition is unknown
    p = parse(text)
    assert p.track.ignition.tolist() == [1, 0, -1]
    assert p.track.sensors["door"].tolist() == [1.0, 0.0, 1.5]


def test_duplicates_keep_the_last_row_and_output_is_time_ordered() -> None:
    # Given rows out of order with a repeated time (the later row differs)
    text = (
        "time,lat,lng,speed\n"
        "2020-10-06T07:00:10Z,55,37,1\n"
        "2020-10-06T07:00:00Z,55,37,2\n"
        "2020-10-06T07:00:10Z,55,37,3\n"
        "2020-10-06T10:00:10+03:00,55,37,4\n"
    )
    # When parsed
    p = parse(text)
    # Then one fix per time, ordered, the last row of the file winning
    assert p.track.t.tolist() == [T0, T0 + 10_000]
    assert p.track.speed.tolist() == [2.0, 4.0]
    assert p.duplicates == 2 and p.rows == 4


def test_only_the_first_thousand_rejections_are_kept_but_all_are_counted() -> None:
    # Given 1,500 rows at (0, 0)
    text = "time,lat,lng\n" + "".join(f"{1601967600 + i},0,0\n" for i in range(1500))
    # When parsed
    p = parse(text)
    # Then 1,000 reasons are kept, in line order, and all 1,500 counted
    assert p.rejected_count == 1500 and len(p.rejected) == 1000
    assert p.rejected[0].line == 2 and p.rejected[-1].line == 1001


@pytest.mark.parametrize("name", ["up.csv.gz", "up.csv"])
def test_gzipped_csv(name: str) -> None:
    # Given a gzipped CSV (a multi-member gzip, as concatenated uploads produce)
    data = gzip.compress(b"time,lat,lng\n2020-10-06T07:00:00Z,55,37\n") + gzip.compress(b"1601967601,55,37\n")
    # When parsed under a .csv.gz name, or a .csv name (recognised by its magic bytes)
    p = parse(data, name)
    # Then it is inflated and read
    assert p.track.t.tolist() == [T0, T0 + 1000]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "a.csv", "empty file"),
        (b"2020-10-06T07:00:00Z,55,37\n", "a.csv", "no header row: line 1 looks like data"),
        (b"time,latitude_x,lng\n2020-10-06T07:00:00Z,55,37\n", "a.csv", "missing column 'lat'"),
        (b"time,lat,lat\n1,2,3\n", "a.csv", "both mean 'lat'"),
        (b"time,lat,lng\n", "a.csv.gz", "not a gzip file"),
        (b"\x1f\x8b\x08\x00garbage", "a.csv.gz", "bad gzip data|truncated gzip"),
        (b"time,lat,lng\n2020-10-06T07:00:00Z,55\xff,37\n", "a.csv", "not UTF-8 text: byte 0xff at line 2, column 24"),
    ],
)
def test_unusable_files_raise_ingest_error(data: bytes, name: str, message: str) -> None:
    # Given a file that cannot be read at all / When parsed / Then IngestError says what and where
    with pytest.raises(IngestError, match=message):
        parse_fixes(data, name, now_ms=NOW)


def test_header_only_is_an_empty_result() -> None:
    # Given a header and no data / When parsed / Then nothing is imported and nothing rejected
    p = parse("time,lat,lng\n")
    assert (len(p.track), p.rows, p.rejected_count) == (0, 0, 0)


# --------------------------------------------------------------------------------------------
# NDJSON
# --------------------------------------------------------------------------------------------


def test_ndjson_numbers_strings_booleans_and_null() -> None:
    # Given NDJSON with numbers, numeric strings, booleans, null, a key in capitals and a sensor
    text = (
        '{"time": "2020-10-06T07:00:00Z", "lat": 55.1, "lng": "37.2", "speed": 12, "ignition": true, "fuel": null}\n'
        "\n"
        '{"time": 1601967601, "LAT": 55.2, "lng": 37.3, "ignition": "0", "fuel": 40.5}\n'
    )
    # When parsed
    p = parse(text, "t.ndjson")
    # Then values convert as in CSV and the blank line is skipped
    assert p.rejected_count == 0 and p.rows == 2
    assert p.track.t.tolist() == [T0, T0 + 1000]
    assert p.track.lat.tolist() == [55.1, 55.2] and p.track.lng.tolist() == [37.2, 37.3]
    assert p.track.ignition.tolist() == [1, 0]
    assert math.isnan(p.track.sensors["fuel"][0]) and p.track.sensors["fuel"][1] == 40.5


def test_ndjson_bad_lines_are_rejections_with_line_numbers() -> None:
    # Given a bad JSON line, a non-object line, a nested value and an out-of-range value
    text = (
        '{"time": 1601967600, "lat": 55, "lng": 37}\n'
        '{"time": 1601967601, "lat": 55, "lng": \n'
        "[1, 2]\n"
        '{"time": 1601967602, "lat": 55, "lng": 37, "speed": {"v": 1}}\n'
        "\n"
        '{"time": 1601967603, "lat": 55, "lng": 37, "speed": true}\n'
        '{"time": 1601967604, "lat": 55, "lng": 37, "heading": 400}\n'
    )
    # When parsed
    p = parse(text, "t.jsonl")
    # Then each bad line is rejected with its number and the good line lands
    got = reasons(p)
    assert [line for line, _ in got] == [2, 3, 4, 6, 7]
    assert got[0][1].startswith("not valid JSON: Expecting value")
    assert got[1] == (3, "not a JSON object: [1,2]")
    assert got[2] == (4, """speed: '{"v":1}' is not a number""")
    assert got[3] == (6, "speed: 'true' is not a number")
    assert got[4] == (7, "heading: 400 is out of range 0..360")
    assert len(p.track) == 1 and p.rows == 6


def test_ndjson_gzipped_with_crlf() -> None:
    # Given gzipped NDJSON with CRLF line ends
    data = gzip.compress(
        b'{"time":"2020-10-06T07:00:00Z","lat":55,"lng":37}\r\n{"time":1601967601,"lat":55,"lng":37}\r\n'
    )
    # When parsed / Then both fixes land
    assert parse(data, "t.ndjson.gz").track.t.tolist() == [T0, T0 + 1000]


def test_ndjson_without_lat_key_is_unusable() -> None:
    # Given objects with no latitude at all / Then IngestError names the missing column
    with pytest.raises(IngestError, match="missing column 'lat'"):
        parse('{"time": 1601967600, "lng": 37}\n', "t.ndjson")


# --------------------------------------------------------------------------------------------
# GPX
# --------------------------------------------------------------------------------------------

GPX10 = """<?xml version="1.0"?>
<gpx version="1.0" creator="x" xmlns="http://www.topografix.com/GPX/1/0">
 <trk><trkseg>
  <trkpt lat="55.1" lon="37.2"><ele>150.5</ele><time>2020-10-06T07:00:00Z</time>
   <course>90</course><speed>10</speed><sat>7</sat><hdop>1.2</hdop></trkpt>
  <trkpt lat="95" lon="37.2"><time>2020-10-06T07:00:01Z</time></trkpt>
  <trkpt lat="55.2" lon="37.3"><time>2020-10-06T07:00:02Z</time><sat>2</sat></trkpt>
  <trkpt lat="55.3" lon="37.4"><time>2020-10-06T10:00:03+03:00</time></trkpt>
 </trkseg></trk>
</gpx>
"""

GPX11 = """<?xml version="1.0" encoding="UTF-8"?>
<g:gpx version="1.1" xmlns:g="http://www.topografix.com/GPX/1/1"
  xmlns:tp="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">
 <g:metadata><g:time>2020-01-01T00:00:00Z</g:time></g:metadata>
 <g:trk><g:trkseg>
  <g:trkpt lat="55.1" lon="37.2"><g:time>2020-10-06T07:00:00Z</g:time>
   <g:extensions><tp:TrackPointExtension><tp:speed>2.5</tp:speed><tp:course>45.5</tp:course>
   </tp:TrackPointExtension></g:extensions></g:trkpt>
  <g:trkpt lat="55.2" lon="37.3"><g:time>now</g:time></g:trkpt>
 </g:trkseg></g:trk>
</g:gpx>
"""


def test_gpx_10_with_speed_course_sat_hdop_and_rejections_by_ordinal() -> None:
    # Given a GPX 1.0 track with a bad latitude and too few satellites
    p = parse(GPX10, "t.gpx")
    # Then speed m/s becomes km/h, course heading, and rejections carry the trkpt ordinal
    assert reasons(p) == [(2, "lat: 95 is out of range -90..90"), (3, "fewer than 3 satellites (2)")]
    t = p.track
    assert t.t.tolist() == [T0, T0 + 3000]
    assert t.speed[0] == pytest.approx(36.0) and t.heading[0] == 90 and t.alt[0] == 150.5
    assert t.satellites.tolist() == [7, -1] and t.hdop[0] == pytest.approx(1.2)


def test_gpx_11_prefixed_namespaces_and_extension_speed() -> None:
    # Given GPX 1.1 with prefixed namespaces, metadata time and a Garmin extension
    p = parse(GPX11.encode(), "t.gpx")
    # Then the extension's speed and course are read and the bad time is rejected
    assert p.track.speed.tolist() == [pytest.approx(9.0)] and p.track.heading.tolist() == [45.5]
    assert reasons(p) == [(2, "time: cannot parse 'now'")]


def test_gpx_gzipped() -> None:
    # Given a gzipped GPX / When parsed / Then read like the plain one
    assert len(parse(gzip.compress(GPX10.encode()), "t.gpx.gz").track) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "b">]><gpx></gpx>', "DOCTYPE or ENTITY"),
        ("<gpx><trk><trkseg><trkpt lat='1' lon='2'></trkseg></trk></gpx>", "not valid XML"),
        ("<kml><Placemark/></kml>", "not a GPX file"),
    ],
)
def test_unusable_gpx(text: str, message: str) -> None:
    # Given XML that must not or cannot be read / Then IngestError
    with pytest.raises(IngestError, match=message):
        parse(text, "t.gpx")
