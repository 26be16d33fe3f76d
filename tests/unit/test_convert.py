"""Converters of third-party track formats to the import CSV (fleet_reports.convert), on small
hand-written inputs in each source's shape. The real files are exercised in test_real_tracks."""

from __future__ import annotations

import csv
import io
import json

import pytest

from fleet_reports.convert import (
    KINDS,
    ConvertError,
    barefoot_json,
    convert,
    envirocar_geojson,
    fcd_points_csv,
    liverpool_bus_csv,
    seventymai_txt,
)


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def header_of(data: bytes) -> list[str]:
    return data.decode("utf-8").splitlines()[0].split(",")


BODS = b"""\
"id","vehicle_id","trip_id","timestamp","latitude","longitude","bearing","origin","destination","route_name","direction","operator"
1,"4716","1091","2026-01-26 15:57:02",53.44451,-2.925173,,Queen_Square,Petherick_Road,"14",outbound,AMSY
2,"4803","1093","2026-01-26 15:57:10",53.40001,-2.900001,90,Queen_Square,Petherick_Road,"14",outbound,AMSY
3,"4716","1091","2026-01-26 15:57:24",53.445026,-2.923543,53,Queen_Square,Petherick_Road,"14",outbound,AMSY
"""


def test_bods_csv_splits_by_vehicle_and_keeps_source_values() -> None:
    # Given BODS rows of two buses, interleaved
    # When converted
    out = liverpool_bus_csv(BODS)
    # Then there is one file per vehicle, rows in source order, values passed through
    assert sorted(out) == ["bus-4716.csv", "bus-4803.csv"]
    assert header_of(out["bus-4716.csv"]) == ["time", "lat", "lng", "heading", "trip_id"]
    rows = rows_of(out["bus-4716.csv"])
    assert [r["time"] for r in rows] == ["2026-01-26T15:57:02Z", "2026-01-26T15:57:24Z"]
    assert rows[0] == {
        "time": "2026-01-26T15:57:02Z",
        "lat": "53.44451",
        "lng": "-2.925173",
        "heading": "",
        "trip_id": "1091",
    }
    assert rows[1]["heading"] == "53"


def test_bods_time_is_uk_local_time_so_summer_shifts_by_an_hour() -> None:
    # Given a BODS row recorded in July (British Summer Time, UTC+1)
    summer = BODS.replace(b"2026-01-26 15:57:02", b"2026-07-01 15:57:02")
    # When converted
    rows = rows_of(liverpool_bus_csv(summer)["bus-4716.csv"])
    # Then the January row is unchanged (UK time = UTC) and the July row is an hour earlier in UTC
    assert rows[0]["time"] == "2026-07-01T14:57:02Z"
    assert rows[1]["time"] == "2026-01-26T15:57:24Z"


def test_bods_csv_without_its_columns_is_refused() -> None:
    # Given a CSV that is not a BODS export
    # When converted, Then the error names the missing columns
    with pytest.raises(ConvertError, match="vehicle_id"):
        liverpool_bus_csv(b"time,lat,lng\n2020-01-01T00:00:00Z,1,2\n")


def envirocar_doc() -> dict[str, object]:
    def point(lon: float, lat: float, time: str, phen: dict[str, float]) -> dict[str, object]:
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "id": "f",
                "time": time,
                "phenomenons": {k: {"value": v, "unit": "x"} for k, v in phen.items()},
            },
        }

    full = {
        "GPS Speed": 58.5,
        "Speed": 57.0,
        "GPS Bearing": 257.25,
        "GPS Altitude": 57.0,
        "GPS HDOP": 0.4,
        "Rpm": 1549.5,
        "Consumption": 5.9,
        "Engine Load": 68.6,
        "O2 Lambda Voltage": 0.8,
    }
    return {
        "type": "FeatureCollection",
        "properties": {"id": "5e7c", "sensor": {"type": "car"}, "length": 1.0},
        "features": [
            point(9.2169, 53.0984, "2020-03-25T16:31:52Z", full),
            point(9.2157, 53.0982, "2020-03-25T16:31:57Z", {"GPS Speed": 0.0, "GPS Bearing": 0.0}),
        ],
    }


def test_envirocar_maps_gps_values_and_keeps_obd_values_as_sensors() -> None:
    # Given an enviroCar track whose last point carries only GPS values
    data = json.dumps(envirocar_doc()).encode()
    # When converted
    out = envirocar_geojson(data)
    # Then one file named after the track has the GPS columns first, then the sensors
    assert list(out) == ["envirocar-5e7c.csv"]
    body = out["envirocar-5e7c.csv"]
    assert header_of(body) == [
        *("time", "lat", "lng", "speed", "heading", "alt", "hdop"),
        *("rpm", "engine_load", "consumption_lph", "obd_speed_kmh", "o2_lambda_voltage"),
    ]
    first, last = rows_of(body)
    assert (first["time"], first["lat"], first["lng"]) == ("2020-03-25T16:31:52Z", "53.0984", "9.2169")
    assert (first["speed"], first["heading"], first["alt"], first["hdop"]) == ("58.5", "257.25", "57.0", "0.4")
    assert (first["rpm"], first["consumption_lph"], first["obd_speed_kmh"]) == ("1549.5", "5.9", "57.0")
    assert first["o2_lambda_voltage"] == "0.8"
    # And the values the last point lacks stay empty (its GPS speed 0 is kept, not taken for missing)
    assert last["speed"] == "0.0"
    assert last["rpm"] == last["alt"] == last["consumption_lph"] == ""


def test_envirocar_falls_back_to_the_obd_speed_without_a_gps_speed() -> None:
    # Given a point with an OBD speed but no GPS speed
    doc = envirocar_doc()
    features = doc["features"]
    assert isinstance(features, list)
    del features[0]["properties"]["phenomenons"]["GPS Speed"]
    # When converted
    (body,) = envirocar_geojson(json.dumps(doc).encode()).values()
    # Then the speed column has the OBD speed
    assert rows_of(body)[0]["speed"] == "57.0"


def test_envirocar_refuses_what_is_not_a_feature_collection() -> None:
    # Given JSON that is an array, and bytes that are not JSON
    # When converted, Then both are refused with a reason
    with pytest.raises(ConvertError, match="FeatureCollection"):
        envirocar_geojson(b"[]")
    with pytest.raises(ConvertError, match="not JSON"):
        envirocar_geojson(b"{oops")


def test_barefoot_reads_wkt_lon_lat_and_writes_utc() -> None:
    # Given barefoot samples with a +0200 offset, WKT in lon-lat order, and one unreadable point
    data = json.dumps(
        [
            {"point": "POINT(11.564388 48.163506)", "time": "2014-09-10 06:54:07+0200", "id": "\\x0001"},
            {"point": "POINT(11.564254 48.163576)", "time": "2014-09-10 06:54:08+0200", "id": "\\x0001"},
            {"point": "LINESTRING(1 2, 3 4)", "time": "2014-09-10 06:54:09+0200", "id": "\\x0001"},
        ]
    ).encode()
    # When converted
    out = barefoot_json(data)
    # Then latitude and longitude are swapped into place and the time is UTC
    assert list(out) == ["barefoot-x0001.csv"]
    rows = rows_of(out["barefoot-x0001.csv"])
    assert rows[0] == {"time": "2014-09-10T04:54:07Z", "lat": "48.163506", "lng": "11.564388"}
    # And the point that is not a POINT is kept with an empty position, for the importer to reject
    assert rows[2] == {"time": "2014-09-10T04:54:09Z", "lat": "", "lng": ""}


SEVENTYMAI = b"""\
$V02
1740170756,A,46.840330,29.463088,32500,777,-65,5,44,NO20250222-064554-000000F.MP4,0,0,0
1740170757,A,46.840393,29.463026,32600,888,-81,3,62,NO20250222-064554-000000F.MP4,0,0,0
0,V, 0.000000,      nan,-1,45,0,0,0,0,0,0,0
$V02
1740170900,A,46.840539,29.462876,18400,0,-83,2,50,NO20250222-064854-000001F.MP4,0,0,0
$V02
"""


def test_seventymai_scales_course_and_speed_numbers_sessions_and_drops_v_rows() -> None:
    # Given a 70mai log with two sessions, one invalid (V) row and a trailing empty session
    # When converted
    out = seventymai_txt(SEVENTYMAI)
    # Then the V row is gone and the rows carry their session number
    assert list(out) == ["70mai.csv"]
    assert header_of(out["70mai.csv"]) == ["time", "lat", "lng", "speed", "heading", "session"]
    rows = rows_of(out["70mai.csv"])
    assert [r["session"] for r in rows] == ["1", "1", "2"]
    # And time is the Unix second in UTC, course is /100 degrees, speed is /100 m/s in km/h
    assert rows[0] == {
        "time": "2025-02-21T20:45:56Z",
        "lat": "46.840330",
        "lng": "29.463088",
        "speed": "27.972",
        "heading": "325.0",
        "session": "1",
    }
    assert rows[2]["speed"] == "0.0"


def test_seventymai_refuses_other_text() -> None:
    # Given a CSV file that is not a 70mai log
    # When converted, Then it is refused
    with pytest.raises(ConvertError, match="70mai"):
        seventymai_txt(b"time,lat,lng\n")


def test_fcd_points_one_padded_file_per_id_keeping_duplicate_times() -> None:
    # Given floating car data of tracks 0 and 12, track 0 with a repeated timestamp
    data = b"""\
id,time,geometry
0,2019-03-11 08:33:24+00:00,POINT (11.925816 50.301888)
0,2019-03-11 08:33:24+00:00,POINT (11.925354 50.302128)
12,2018-07-12 06:18:49+00:00,POINT (11.881471 50.313127)
"""
    # When converted
    out = fcd_points_csv(data)
    # Then each id has its own file, zero-padded so that they sort by id
    assert list(out) == ["fcd-00.csv", "fcd-12.csv"]
    # And both rows of the repeated second are kept, with lat/lng out of the WKT and time in UTC
    assert rows_of(out["fcd-00.csv"]) == [
        {"time": "2019-03-11T08:33:24Z", "lat": "50.301888", "lng": "11.925816"},
        {"time": "2019-03-11T08:33:24Z", "lat": "50.302128", "lng": "11.925354"},
    ]


def test_dispatcher_lists_kinds_and_refuses_an_unknown_one() -> None:
    # Given the kinds the CLI offers
    # Then each has a one-line description
    assert set(KINDS) == {"liverpool_bus_csv", "envirocar_geojson", "barefoot_json", "seventymai_txt", "fcd_points_csv"}
    assert all(d and "\n" not in d for d in KINDS.values())
    # When a kind is converted through the dispatcher, Then it is that kind's converter
    assert convert("seventymai_txt", SEVENTYMAI) == seventymai_txt(SEVENTYMAI)
    # And an unknown kind is refused with the list of known ones
    with pytest.raises(ConvertError, match="liverpool_bus_csv"):
        convert("gpx", b"")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_output_file_name_is_safe(kind: str) -> None:
    # Given each kind's sample with a hostile id or vehicle where the format has one
    samples = {
        "liverpool_bus_csv": BODS.replace(b'"4716"', b'"../x y"'),
        "envirocar_geojson": json.dumps(envirocar_doc()).replace("5e7c", "../a b").encode(),
        "barefoot_json": b'[{"point": "POINT(1 2)", "time": "2014-09-10 06:54:07+0200", "id": "../\\\\x01"}]',
        "seventymai_txt": SEVENTYMAI,
        "fcd_points_csv": b"id,time,geometry\n../a,2019-03-11 08:33:24+00:00,POINT (1 2)\n",
    }
    # When converted
    names = list(convert(kind, samples[kind]))
    # Then every name is a plain .csv file name
    assert names
    for name in names:
        assert name.endswith(".csv")
        assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_ids_that_make_the_same_file_name_get_distinct_files() -> None:
    # Given two buses whose ids differ only in characters unsafe in a file name
    data = BODS.replace(b'"4716"', b'"a/b"').replace(b'"4803"', b'"a b"')
    # When converted
    out = liverpool_bus_csv(data)
    # Then neither overwrites the other
    assert sorted(out) == ["bus-a_b-2.csv", "bus-a_b.csv"]
    assert [len(rows_of(body)) for body in out.values()] == [2, 1]
