"""The day codec (encode/decode), the exporters, merging and day splitting of fixes."""

from __future__ import annotations

import datetime as dt
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_reports.demo import demo_track
from fleet_reports.engine.model import Track
from fleet_reports.ingest import (
    CodecError,
    decode_fixes,
    encode_fixes,
    format_csv,
    format_gpx,
    format_ndjson,
    merge_tracks,
    parse_fixes,
    split_utc_days,
)

NOW = 1_900_000_000_000
DAY_MS = 86_400_000
BASE = ("t", "lat", "lng", "speed", "heading", "alt", "satellites", "hdop", "odometer", "ignition")


def same(a: Track, b: Track) -> bool:
    """Equal values column by column (NaN equal to NaN), same sensor inputs."""
    for name in BASE:
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    if set(a.sensors) != set(b.sensors):
        return False
    return all(np.array_equal(a.sensors[k], b.sensors[k], equal_nan=True) for k in a.sensors)


def make_track(n: int = 5, *, sensors: dict[str, list[float]] | None = None, t0: int = 1_601_967_600_000) -> Track:
    nan = math.nan
    return Track(
        t=t0 + np.arange(n, dtype=np.int64) * 10_000,
        lat=np.linspace(55.123456789, 55.2, n),
        lng=np.linspace(-37.5, -37.4, n),
        speed=np.array([12.34, nan, 0.0, 99.95, 500.0][:n], np.float32),
        heading=np.array([0.0, 359.9, nan, 180.04, 360.0][:n], np.float32),
        alt=np.array([-12.3, 8848.0, nan, 0.05, 100.0][:n], np.float32),
        satellites=np.array([3, -1, 12, 40, 7][:n], np.int8),
        hdop=np.array([0.87, nan, 1.0, 99.99, 0.5][:n], np.float32),
        odometer=np.array([212229.2234, nan, 0.0, 1e6, 5.0][:n]),
        ignition=np.array([1, 0, -1, 1, 0][:n], np.int8),
        sensors={k: np.array(v, np.float64) for k, v in (sensors or {}).items()},
    )


def ten_second_day(tracker_id: int, day: dt.date) -> Track:
    """A demo UTC day on a full 10 s grid (8,640 fixes); grid times the simulator skipped (it
    reports parked vehicles every 60 s) repeat its last fix with fresh GPS noise on position,
    speed, altitude, hdop, satellites and sensors, as a 10 s device would report."""
    src = demo_track(tracker_id, day)
    rng = np.random.default_rng(day.toordinal())
    start = int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
    grid = start + np.arange(8640, dtype=np.int64) * 10_000
    idx = np.clip(np.searchsorted(src.t, grid, side="right") - 1, 0, len(src) - 1)
    out = src.take(idx)
    out.t = grid
    filled = src.t[idx] != grid
    k = int(filled.sum())
    out.lat[filled] += rng.normal(0, 2.5e-5, k)
    out.lng[filled] += rng.normal(0, 4e-5, k)
    out.speed[filled] = np.round(np.abs(rng.normal(0, 0.6, k)), 1)
    out.alt[filled] = np.round(out.alt[filled] + rng.normal(0, 1.5, k), 1)
    out.hdop[filled] = np.round(np.clip(out.hdop[filled] + rng.normal(0, 0.15, k), 0.5, 5), 1)
    out.satellites[filled] = np.clip(out.satellites[filled] + rng.integers(-1, 2, k), 4, 14)
    for values in out.sensors.values():
        values[filled] = np.round(values[filled] + rng.normal(0, 0.15, k), 1)
    return out


# --------------------------------------------------------------------------------------------
# Codec
# --------------------------------------------------------------------------------------------


def test_decode_gives_the_values_at_the_stored_precision() -> None:
    # Given a track with unknowns and values finer than the stored precision
    track = make_track(sensors={"fuel": [80.5, math.nan, 0.0, 12.25, -3.0], "raw": [0.1 + 0.2, 1e-12, 3.0, 4.0, 5.0]})
    # When encoded and decoded
    back = decode_fixes(encode_fixes(track))
    # Then each value is rounded to its column's precision and unknowns stay unknown
    assert back.t.tolist() == track.t.tolist()
    assert back.lat[0] == 55.1234568 and back.lng[0] == -37.5
    assert back.speed.dtype == np.float32 and back.speed[0] == np.float32(12.3) and math.isnan(back.speed[1])
    assert back.heading[3] == np.float32(180.0) and back.alt[1] == np.float32(8848.0)
    assert back.hdop[0] == np.float32(0.87) and back.odometer[0] == 212229.223 and math.isnan(back.odometer[1])
    assert back.satellites.tolist() == [3, -1, 12, 40, 7] and back.ignition.tolist() == [1, 0, -1, 1, 0]
    # And sensors keep every value exactly (decimals when they are decimals, else doubles)
    assert np.array_equal(back.sensors["fuel"], track.sensors["fuel"], equal_nan=True)
    assert back.sensors["raw"].tolist() == track.sensors["raw"].tolist()


def test_encoding_is_idempotent() -> None:
    # Given a track encoded once
    once = encode_fixes(make_track(sensors={"fuel": [1.0, 2.0, 3.0, 4.0, 5.5]}))
    # When its decoded track is encoded again
    twice = encode_fixes(decode_fixes(once))
    # Then the bytes are the same (re-imports do not drift)
    assert twice == once


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    data=st.data(),
)
def test_round_trip_property(n: int, data: st.DataObject) -> None:
    # Given any track of valid fixes (values already at the stored precision) and unknowns
    def col(lo: float, hi: float, digits: int, dtype: type, unknown: bool = True) -> np.ndarray:
        q = data.draw(st.lists(st.integers(int(lo * 10**digits), int(hi * 10**digits)), min_size=n, max_size=n))
        x = (np.array(q, np.int64) / 10.0**digits).astype(dtype)
        if unknown:
            mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
            x[mask] = np.nan
        return x

    t = np.sort(
        np.array(data.draw(st.lists(st.integers(0, 4_000_000_000_000), min_size=n, max_size=n, unique=True)), np.int64)
    )
    sensor = np.array(data.draw(st.lists(finite | st.just(math.nan), min_size=n, max_size=n)), np.float64)
    track = Track(
        t=t,
        lat=col(-90, 90, 7, np.float64, False),
        lng=col(-180, 180, 7, np.float64, False),
        speed=col(0, 500, 1, np.float32),
        heading=col(0, 360, 1, np.float32),
        alt=col(-1000, 20000, 1, np.float32),
        satellites=np.array(data.draw(st.lists(st.integers(-1, 127), min_size=n, max_size=n)), np.int8),
        hdop=col(0, 100, 2, np.float32),
        odometer=col(0, 10_000_000, 3, np.float64),
        ignition=np.array(data.draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n, max_size=n)), np.int8),
        sensors={"s1": sensor, "dec": col(-1e6, 1e6, 2, np.float64)},
    )
    # When encoded and decoded / Then it is the same track, bit for bit
    assert same(decode_fixes(encode_fixes(track)), track)


def test_fewer_columns_decode_only_those() -> None:
    # Given a stored day with two sensors
    blob = encode_fixes(make_track(sensors={"fuel": [1, 2, 3, 4, 5], "temp": [5, 4, 3, 2, 1]}))
    # When only lat, speed and the fuel sensor are asked for
    part = decode_fixes(blob, ["lat", "speed", "fuel"])
    # Then t and those are read, the other base columns are unknown, other sensors absent
    full = decode_fixes(blob)
    assert part.t.tolist() == full.t.tolist() and part.lat.tolist() == full.lat.tolist()
    assert np.array_equal(part.speed, full.speed, equal_nan=True)
    assert np.isnan(part.alt).all() and (part.satellites == -1).all() and (part.ignition == -1).all()
    assert list(part.sensors) == ["fuel"]


def test_version_1_objects_still_decode() -> None:
    # Given an object in the first store encoding: plain columns, sensors as "s:<input>", no metadata
    import pyarrow as pa
    import pyarrow.parquet as pq

    track = make_track(sensors={"fuel": [1.5, 2.5, math.nan, 4.0, 5.0]})
    columns = {name: getattr(track, name) for name in BASE} | {"s:fuel": track.sensors["fuel"]}
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf, compression="zstd")
    # When decoded (all columns, and a subset)
    back = decode_fixes(buf.getvalue())
    part = decode_fixes(buf.getvalue(), ["speed", "fuel"])
    # Then it is the track as written, and the subset has only what was asked for
    assert same(back, track)
    assert np.array_equal(part.speed, track.speed, equal_nan=True) and np.isnan(part.lat).all()
    assert list(part.sensors) == ["fuel"]


def test_unreadable_objects_raise_codec_error() -> None:
    # Given bytes that are not Parquet, and a fixes object from a newer version
    blob = encode_fixes(make_track())
    newer = blob.replace(b'"version":2', b'"version":9')
    # Then decoding says what is wrong
    with pytest.raises(CodecError, match="not a Parquet object"):
        decode_fixes(b"hello")
    with pytest.raises(CodecError, match="version 9 is not supported"):
        decode_fixes(newer)


def test_values_outside_the_stored_range_are_refused() -> None:
    # Given a speed that does not fit DECIMAL(9,1)
    track = make_track(1)
    track.speed[:] = 1e9
    # Then encoding refuses rather than wrapping around
    with pytest.raises(CodecError, match="speed"):
        encode_fixes(track)


def test_storage_budget_for_a_ten_second_day() -> None:
    # Given a realistic 10 s day (8,640 fixes, all base columns, 2 sensors) of the refrigerated van
    day = ten_second_day(123456, dt.date(2020, 10, 6))
    assert len(day) == 8640 and len(day.sensors) == 2
    # When encoded
    blob = encode_fixes(day)
    # Then it takes at most 10 bytes per fix, and the metadata documents the units
    assert len(blob) / len(day) <= 10.0
    assert b'"lat":{"unit":"deg","scale":7}' in blob and b'"odometer":{"unit":"km","scale":3}' in blob


def test_parquet_columns_are_meaningful_for_athena() -> None:
    # Given a stored day read with a plain Parquet reader
    import pyarrow.parquet as pq

    blob = encode_fixes(make_track(sensors={"fuel": [1, 2, 3, 4, 5]}))
    table = pq.read_table(io.BytesIO(blob))
    # Then columns hold real units (degrees as decimals, UTC timestamps, booleans)
    assert table.column_names == [*BASE, "s_fuel"]
    assert str(table.schema.field("t").type) == "timestamp[ms, tz=UTC]"
    assert float(table.column("lat")[0].as_py()) == 55.1234568
    assert table.column("ignition").to_pylist() == [True, False, None, True, False]


# --------------------------------------------------------------------------------------------
# Exporters
# --------------------------------------------------------------------------------------------


def test_format_csv_writes_the_documented_format() -> None:
    # Given a track with a millisecond time, unknown columns and a sensor
    track = make_track(2, sensors={"fuel": [1.5, math.nan]})
    track.t[1] += 250
    track.odometer[:] = np.nan
    # When written as CSV
    lines = format_csv(track).decode().splitlines()
    # Then the header lists only columns with a known value, times are UTC ISO with Z
    assert lines[0] == "time,lat,lng,speed,heading,alt,satellites,hdop,ignition,fuel"
    assert lines[1] == "2020-10-06T07:00:00Z,55.1234568,-37.5,12.3,0,-12.3,3,0.87,1,1.5"
    assert lines[2].startswith("2020-10-06T07:00:10.250Z,") and lines[2].endswith(",,,0,")


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_exports_parse_back_to_the_stored_track(fmt: str) -> None:
    # Given a demo day as stored
    stored = decode_fixes(encode_fixes(demo_track(123456, dt.date(2020, 10, 6))))
    # When written as CSV / NDJSON and parsed again
    data = format_csv(stored) if fmt == "csv" else format_ndjson(stored)
    parsed = parse_fixes(data, f"day.{fmt}", now_ms=NOW)
    # Then the track is exactly the stored one
    assert parsed.rejected_count == 0 and same(parsed.track, stored)


def test_gpx_export_parses_back_at_the_stored_precision() -> None:
    # Given a demo day as stored
    stored = decode_fixes(encode_fixes(demo_track(669673, dt.date(2020, 10, 6))))
    # When written as GPX and parsed again
    parsed = parse_fixes(format_gpx(stored), "day.gpx", now_ms=NOW)
    back = decode_fixes(encode_fixes(parsed.track))
    # Then position, time, altitude, speed, course, satellites and hdop survive
    assert parsed.rejected_count == 0
    for name in ("t", "lat", "lng", "alt", "speed", "heading", "satellites", "hdop"):
        assert np.array_equal(getattr(back, name), getattr(stored, name), equal_nan=True), name


def test_ndjson_export_leaves_out_unknown_keys() -> None:
    # Given a fix with unknown speed and ignition
    track = make_track(3)
    # When written as NDJSON / Then the unknowns are absent and ignition is a boolean
    first, second, third = format_ndjson(track).decode().splitlines()
    assert '"ignition":true' in first and '"speed":' not in second and '"ignition"' not in third


# --------------------------------------------------------------------------------------------
# Merging and days
# --------------------------------------------------------------------------------------------


def test_merge_newer_rows_win_and_sensors_are_unioned() -> None:
    # Given a stored track with a fuel sensor and a newer import overlapping it with a temp sensor
    older = make_track(3, sensors={"fuel": [1.0, 2.0, 3.0]})
    newer = make_track(3, sensors={"temp": [7.0, 8.0, 9.0]}, t0=int(older.t[1]))
    newer.speed[:] = [42.0, 43.0, 44.0]
    # When merged
    merged = merge_tracks(older, newer)
    # Then times are the union, the overlapping rows are the newer ones (NaN for their missing sensor)
    assert merged.t.tolist() == [*older.t.tolist(), int(older.t[2]) + 10_000]
    assert merged.speed[0] == np.float32(12.34) and merged.speed[1:].tolist() == [42.0, 43.0, 44.0]
    assert merged.sensors["fuel"][0] == 1.0 and np.isnan(merged.sensors["fuel"][1:]).all()
    assert math.isnan(merged.sensors["temp"][0]) and merged.sensors["temp"][1:].tolist() == [7.0, 8.0, 9.0]


def test_merging_a_track_with_itself_changes_nothing() -> None:
    # Given a stored day / When the same fixes are imported again / Then the day is the same
    day = decode_fixes(encode_fixes(demo_track(669673, dt.date(2020, 10, 6))))
    merged = merge_tracks(day, day)
    assert same(merged, day) and encode_fixes(merged) == encode_fixes(day)


def test_merge_into_an_empty_day() -> None:
    # Given nothing stored yet / When merged / Then the import itself
    newer = make_track(3)
    assert same(merge_tracks(Track.empty(), newer), newer)


def test_split_utc_days_cuts_at_midnight_utc() -> None:
    # Given fixes around midnight UTC, out of order
    midnight = 1_602_028_800_000  # 2020-10-07T00:00:00Z
    track = make_track(4, t0=midnight - 20_000)
    track = track.take(np.array([3, 0, 2, 1]))
    # When split
    days = split_utc_days(track)
    # Then each day has its own fixes, time-ordered
    assert list(days) == [dt.date(2020, 10, 6), dt.date(2020, 10, 7)]
    assert days[dt.date(2020, 10, 6)].t.tolist() == [midnight - 20_000, midnight - 10_000]
    assert days[dt.date(2020, 10, 7)].t.tolist() == [midnight, midnight + 10_000]
    assert split_utc_days(Track.empty()) == {}
