"""Device events: parsing NDJSON, duplicates, merging, days and the events codec."""

from __future__ import annotations

import datetime as dt
import gzip
import math

import numpy as np
import pytest

from fleet_reports.ingest import (
    Events,
    IngestError,
    Rejection,
    decode_events,
    encode_events,
    merge_events,
    parse_events,
    split_event_days,
)

NOW = 1_700_000_000_000
T0 = 1_601_967_600_000  # 2020-10-06T07:00:00Z

FILE = b"""{"time": "2020-10-06T10:00:00+03:00", "event": "door_open", "lat": 55.1, "lng": 37.2, "message": "Door 1"}
{"time": 1601967600, "event": "panic", "extra": {"button": 2, "note": "\xd1\x82\xd0\xb5\xd1\x81\xd1\x82"}}

{"time": 1601967590, "event": "door_open", "lat": 0, "lng": 0}
{"time": 1601967600, "event": "door_open", "message": "Door 2"}
{"time": "2031-01-01T00:00:00Z", "event": "x"}
{"time": 1601967600, "event": ""}
{"time": 1601967600, "event": "x", "lat": 55}
{"time": 1601967600, "event": "x", "lat": 95, "lng": 1}
{"time": 1601967600, "event": "x", "message": 5}
not json
{"event": "x"}
"""


def test_events_parse_with_rejections_and_last_wins() -> None:
    # Given an events file with good, duplicate and bad lines
    p = parse_events(FILE, "incoming/1/events/e.ndjson", now_ms=NOW)
    ev = p.events
    # Then events are ordered by (time, event); for the same time and event the last line wins
    assert ev.t.tolist() == [T0 - 10_000, T0, T0]
    assert ev.event == ["door_open", "door_open", "panic"]
    assert ev.message == ["", "Door 2", ""] and p.duplicates == 1
    # And (0, 0) is no position, extra is compact JSON text, a missing position is NaN
    assert math.isnan(ev.lat[0]) and math.isnan(ev.lat[1])
    assert ev.extra == ["", "", '{"button":2,"note":"тест"}']
    # And each bad line is rejected with its number and reason
    assert p.rows == 11 and p.rejected_count == 7
    assert p.rejected[:5] == (
        Rejection(6, "time 2031-01-01T00:00:00Z is more than 24 h in the future"),
        Rejection(7, "event: missing"),
        Rejection(8, "lat and lng must be given together"),
        Rejection(9, "lat: 95 is out of range -90..90"),
        Rejection(10, "message: 5 is not a string"),
    )
    assert p.rejected[5].line == 11 and p.rejected[5].reason.startswith("not valid JSON")
    assert p.rejected[6] == Rejection(12, "time: missing")


def test_events_gzipped() -> None:
    # Given a gzipped events file / When parsed / Then read like the plain one
    p = parse_events(gzip.compress(FILE), "e.jsonl.gz", now_ms=NOW)
    assert len(p.events) == 3


def test_events_must_be_ndjson() -> None:
    # Given a CSV under events/ / Then it is unusable
    with pytest.raises(IngestError, match="events must be NDJSON"):
        parse_events(b"time,event\n", "e.csv", now_ms=NOW)


def events(*rows: tuple[int, str, str]) -> Events:
    return Events(
        t=np.array([r[0] for r in rows], np.int64),
        event=[r[1] for r in rows],
        lat=np.full(len(rows), 55.5),
        lng=np.full(len(rows), math.nan),
        message=[r[2] for r in rows],
        extra=["" for _ in rows],
    )


def test_merge_events_newer_wins_for_the_same_time_and_event() -> None:
    # Given stored events and a newer import sharing one (time, event)
    older = events((T0, "a", "old"), (T0, "b", "kept"), (T0 + 5, "a", "x"))
    newer = events((T0, "a", "new"), (T0 - 5, "c", "first"))
    # When merged
    merged = merge_events(older, newer)
    # Then the union is ordered by (time, event) and the newer (T0, "a") replaced the older
    assert list(zip(merged.t.tolist(), merged.event, merged.message, strict=True)) == [
        (T0 - 5, "c", "first"),
        (T0, "a", "new"),
        (T0, "b", "kept"),
        (T0 + 5, "a", "x"),
    ]
    # And merging the same events again changes nothing
    again = merge_events(merged, merged)
    assert again.event == merged.event and again.t.tolist() == merged.t.tolist()


def test_split_event_days_and_codec_round_trip() -> None:
    # Given events on both sides of midnight UTC, with unicode text and extra JSON
    midnight = 1_602_028_800_000
    ev = Events(
        t=np.array([midnight - 1, midnight, midnight + 1], np.int64),
        event=["ignition_on", "geofence_in", "ignition_off"],
        lat=np.array([55.1234567, math.nan, -33.9]),
        lng=np.array([37.1, math.nan, 151.2]),
        message=["", "Склад", "x"],
        extra=['{"zone":7}', "", ""],
    )
    # When split into days and each day encoded and decoded
    days = split_event_days(ev)
    back = {d: decode_events(encode_events(e)) for d, e in days.items()}
    # Then each day holds its events exactly
    assert list(back) == [dt.date(2020, 10, 6), dt.date(2020, 10, 7)]
    assert back[dt.date(2020, 10, 6)].event == ["ignition_on"]
    second = back[dt.date(2020, 10, 7)]
    assert second.t.tolist() == [midnight, midnight + 1] and second.message == ["Склад", "x"]
    assert math.isnan(second.lat[0]) and second.lat[1] == -33.9 and second.lng[1] == 151.2
    assert back[dt.date(2020, 10, 6)].extra == ['{"zone":7}'] and back[dt.date(2020, 10, 6)].lat[0] == 55.1234567
