"""Track file imports through the real import handler, on moto, with only its template environment.

Uploads go to the track bucket's ``incoming/``; the bucket's notification (wired as the local
stack wires it) carries moto's real S3 event to the handler, as S3 invokes Lambda.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import boto3
import numpy as np
import pytest

from fleet_reports.engine.model import Track
from fleet_reports.service import imports
from fleet_reports.service.imports import ImportOutcome
from fleet_reports.store import tracks

from tests.support.lambdas import Lambdas
from tests.support.moto_server import moto_server_with_resources

TRACKER = 669673
DAY = date(2021, 3, 10)


# ----------------------------------------------------------------------------- helpers
def day_ms(day: date, hour: float = 0.0) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000 + hour * 3_600_000)


def drive(day: date = DAY, hours: tuple[float, float] = (6.0, 9.0), tracker: int = TRACKER) -> Track:
    """The demo tracker's simulated fixes of ``day`` between the two UTC hours."""
    from fleet_reports.demo import demo_track

    track = demo_track(tracker, day)
    return track.take((track.t >= day_ms(day, hours[0])) & (track.t < day_ms(day, hours[1])))


def csv_of(track: Track) -> bytes:
    from fleet_reports.ingest import format_csv

    return format_csv(track)


def ndjson_of(track: Track) -> bytes:
    lines = [
        json.dumps({"time": int(t) / 1000, "lat": float(la), "lng": float(ln), "speed": float(s)})
        for t, la, ln, s in zip(track.t, track.lat, track.lng, np.nan_to_num(track.speed), strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def gpx_of(track: Track) -> bytes:
    points = "".join(
        f'<trkpt lat="{la:.7f}" lon="{ln:.7f}"><time>'
        f"{datetime.fromtimestamp(int(t) / 1000, UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        for t, la, ln in zip(track.t, track.lat, track.lng, strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>'
    ).encode()


class Importer:
    """Uploads through the service and delivers the bucket's S3 events to the import handler."""

    def __init__(self, lambdas: Lambdas) -> None:
        from fleet_reports.local.stack import connect_s3_events

        self.lambdas = lambdas
        self.bucket = lambdas.resources.names["TrackBucket"]
        self.events: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            self.events.append(event)
            result = lambdas.invoke("ImportFunction", event)
            self.results.append(result)
            return result

        lambdas.use_env("ImportFunction")
        (self.poller,) = connect_s3_events(lambdas.specs, lambdas.resources, {"ImportFunction": handler})
        self.poller.retry_delay_s = 0
        self.sqs = boto3.client("sqs")
        self.deliver()  # S3's test event, sent when the notification is configured: never reaches the handler

    def upload(self, name: str, data: bytes, tracker: int = TRACKER) -> str:
        """Upload as a client does: the service's upload with the track bucket of the CLI's environment."""
        self.lambdas.use_env("WorkerFunction")  # any environment naming the track bucket
        sent: list[int] = []
        key = imports.upload(tracker, name, io.BytesIO(data), len(data), sent.append)
        assert sum(sent) == len(data)
        return key

    def deliver(self) -> int:
        """Deliver every pending S3 event to the handler, as S3 invokes Lambda (retries included)."""
        done = 0
        while n := self.poller.poll_once(self.sqs):
            done += n
        return done

    def run(self, name: str, data: bytes, tracker: int = TRACKER) -> ImportOutcome:
        key = self.upload(name, data, tracker)
        assert self.deliver() == 1
        return self.outcome(key)

    def outcome(self, key: str) -> ImportOutcome:
        self.lambdas.use_env("WorkerFunction")
        found = imports.wait_outcome(key, timeout_s=5)
        assert found is not None, key
        return found

    def keys(self, prefix: str) -> list[str]:
        resp = boto3.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in resp.get("Contents", []))

    def stored(self, tracker: int, day: date) -> Track:
        self.lambdas.use_env("WorkerFunction")
        return tracks.load(tracker, day_ms(day), day_ms(day, 24) - 1)


@pytest.fixture
def importer(lambdas: Lambdas) -> Importer:
    """The demo fleet (its trackers, no tracks) and the import wiring."""
    from fleet_reports import demo as demo_fleet

    lambdas.use_env("WorkerFunction")
    demo_fleet.load_fleet()
    return Importer(lambdas)


# ----------------------------------------------------------------------------- formats
@pytest.mark.parametrize(
    ("name", "encode", "fmt"),
    [
        ("morning drive.csv", csv_of, "csv"),
        ("morning drive.csv.gz", lambda t: gzip.compress(csv_of(t)), "csv+gzip"),
        ("morning drive.ndjson", ndjson_of, "ndjson"),
        ("morning drive.gpx", gpx_of, "gpx"),
    ],
)
def test_each_format_lands_in_its_utc_day(importer: Importer, name: str, encode: Any, fmt: str) -> None:
    # Given three hours of a drive, as a file of one format
    track = drive()
    data = encode(track)

    # When it is uploaded to incoming/<tracker>/ and S3 invokes the import
    outcome = importer.run(name, data)

    # Then every fix is accepted and stored in the day's object, Hive-style
    assert (outcome.state, outcome.format, outcome.kind) == ("done", fmt, "fixes")
    assert outcome.rows == outcome.accepted == outcome.added == len(track) > 100
    assert (outcome.rejected_count, outcome.rejections, outcome.duplicates) == (0, [], 0)
    assert outcome.days == [DAY.isoformat()]
    assert importer.keys("tracks/") == [f"tracks/tracker_id={TRACKER}/date={DAY.isoformat()}/fixes.parquet"]
    stored = importer.stored(TRACKER, DAY)
    assert np.array_equal(stored.t, track.t)
    assert np.allclose(stored.lat, track.lat, atol=1e-6) and np.allclose(stored.lng, track.lng, atol=1e-6)
    # And the outcome says which upload it is about, and where it is
    assert outcome.key == f"incoming/{TRACKER}/{name}"
    assert outcome.outcome_key == f"outcomes/{TRACKER}/{name}.json"
    assert outcome.sha256 == __import__("hashlib").sha256(data).hexdigest() and outcome.size == len(data)
    assert outcome.started <= outcome.finished


def test_sensor_columns_and_values_survive_the_import(importer: Importer) -> None:
    # Given a CSV of the demo tracker with its ignition and voltage inputs
    track = drive()
    assert track.sensors

    # When it is imported
    outcome = importer.run("sensors.csv", csv_of(track))

    # Then speed, ignition and every sensor input are stored with the fixes
    assert outcome.state == "done"
    stored = importer.stored(TRACKER, DAY)
    assert set(stored.sensors) == set(track.sensors)
    for name, values in track.sensors.items():
        assert np.allclose(stored.sensors[name], values, equal_nan=True, atol=1e-3), name
    assert np.array_equal(stored.ignition, track.ignition)
    assert np.allclose(stored.speed, track.speed, equal_nan=True, atol=0.05)


# ----------------------------------------------------------------------------- rejections
def test_bad_rows_are_rejected_with_their_line_and_reason(importer: Importer) -> None:
    # Given a CSV whose lines 3 and 5 are bad (a latitude out of range, a time that is no time)
    data = (
        b"time,lat,lng,speed\n"
        b"2021-03-10T08:00:00Z,55.75,37.61,10\n"
        b"2021-03-10T08:00:10Z,95.00,37.61,10\n"
        b"2021-03-10T08:00:20Z,55.76,37.62,12\n"
        b"yesterday,55.76,37.62,12\n"
        b"2021-03-10T08:00:40Z,55.77,37.63,15\n"
    )

    # When it is imported
    outcome = importer.run("with-errors.csv", data)

    # Then the good rows land and each bad one is reported by line, with a reason
    assert (outcome.state, outcome.rows, outcome.accepted, outcome.rejected_count) == ("done", 5, 3, 2)
    assert [r.line for r in outcome.rejections] == [3, 5]
    assert all(r.reason for r in outcome.rejections)
    assert "lat" in outcome.rejections[0].reason.lower()
    assert "time" in outcome.rejections[1].reason.lower()
    assert len(importer.stored(TRACKER, DAY)) == 3


def test_an_unusable_file_fails_with_the_reason(importer: Importer) -> None:
    # Given a file whose type is not a track format
    # When it is imported
    outcome = importer.run("notes.txt", b"remember the milk\n")

    # Then the import failed, said why, and wrote no track data
    assert outcome.state == "failed" and outcome.error and "notes.txt" in outcome.error
    assert importer.keys("tracks/") == []
    # And its outcome JSON is beside the upload for an uploader with S3 access only
    body = boto3.client("s3").get_object(Bucket=importer.bucket, Key=f"outcomes/{TRACKER}/notes.txt.json")["Body"]
    assert json.loads(body.read())["state"] == "failed"


def test_an_unknown_tracker_fails_and_writes_nothing(importer: Importer) -> None:
    # Given a tracker id the fleet does not have
    # When a good file is uploaded for it
    outcome = importer.run("drive.csv", csv_of(drive()), tracker=999_999)

    # Then the import failed with the reason, and no track data was written
    assert (outcome.state, outcome.tracker_id) == ("failed", 999_999)
    assert outcome.error == "unknown tracker 999999: it is not in the fleet"
    assert importer.keys("tracks/") == []
    assert [o.key for o in imports.list_outcomes(999_999)] == ["incoming/999999/drive.csv"]


# ----------------------------------------------------------------------------- idempotency
def test_the_same_file_imported_twice_changes_nothing(importer: Importer) -> None:
    # Given a file imported once
    data = csv_of(drive())
    first = importer.run("monday.csv", data)
    s3 = boto3.client("s3")
    day_key = tracks.day_key(TRACKER, DAY)
    before = s3.head_object(Bucket=importer.bucket, Key=day_key)

    # When the same bytes are uploaded again under another name
    second = importer.run("monday-again.csv", data)

    # Then the second is a duplicate of the first, and the day object was not touched
    assert first.state == "done"
    assert (second.state, second.duplicate_of, second.sha256) == ("duplicate", first.key, first.sha256)
    assert (second.accepted, second.added, second.days) == (0, 0, [])
    after = s3.head_object(Bucket=importer.bucket, Key=day_key)
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])

    # When S3 delivers the first upload's event once more (at-least-once delivery)
    importer.lambdas.use_env("ImportFunction")
    result = importer.lambdas.invoke("ImportFunction", importer.events[0])

    # Then the first outcome is reported again, unchanged, and still nothing is written
    assert result["imports"][0]["state"] == "done"
    assert importer.outcome(first.key) == first
    assert s3.head_object(Bucket=importer.bucket, Key=day_key)["ETag"] == before["ETag"]
    # And the outcomes list both, newest first
    assert [o.state for o in imports.list_outcomes(TRACKER)] == ["duplicate", "done"]


def test_overlapping_files_merge_and_the_newer_row_wins(importer: Importer) -> None:
    # Given a file of 06:00-09:00 imported
    importer.run("early.csv", csv_of(drive(hours=(6, 9))))

    # When a file of 08:00-10:00 is imported, with a different speed at 08:00
    later = drive(hours=(8, 10))
    later.speed[0] = 123.0
    outcome = importer.run("late.csv", csv_of(later))

    # Then the day holds 06:00-10:00 once, with the newer value where both had a fix
    assert outcome.state == "done"
    stored = importer.stored(TRACKER, DAY)
    whole = drive(hours=(6, 10))
    assert np.array_equal(stored.t, whole.t)
    assert outcome.added == len(whole) - len(drive(hours=(6, 9)))
    assert stored.speed[np.searchsorted(stored.t, later.t[0])] == pytest.approx(123.0)


# ----------------------------------------------------------------------------- days and events
def test_a_file_over_several_days_is_split_by_utc_day(importer: Importer) -> None:
    # Given a file with the last hours of one UTC day, a whole day, and the first hours of the next
    days = [date(2021, 3, 9), date(2021, 3, 10), date(2021, 3, 11)]
    parts = [drive(days[0], (20, 24)), drive(days[1], (0, 24)), drive(days[2], (0, 3))]
    whole = Track.concat(parts)

    # When it is imported
    outcome = importer.run("three-days.csv", csv_of(whole))

    # Then each UTC day has its own object with exactly its fixes
    assert outcome.state == "done" and outcome.accepted == len(whole)
    assert outcome.days == [d.isoformat() for d in days]
    assert importer.keys("tracks/") == [tracks.day_key(TRACKER, d) for d in days]
    for day, part in zip(days, parts, strict=True):
        assert np.array_equal(importer.stored(TRACKER, day).t, part.t), day


def test_an_events_file_lands_in_the_events_days(importer: Importer) -> None:
    # Given device events of two UTC days, one line of them bad
    lines = [
        {"time": "2021-03-10T23:59:00Z", "event": "ignition_on", "lat": 55.75, "lng": 37.61},
        {"time": "2021-03-11T00:01:00Z", "event": "door_open", "message": "rear door", "extra": {"door": 2}},
        {"event": "panic"},
        {"time": "2021-03-11T00:05:00Z", "event": "ignition_off"},
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()

    # When it is uploaded under incoming/<tracker>/events/
    outcome = importer.run("events/today.ndjson", data)

    # Then the events are stored per UTC day, Hive-style, the bad line reported
    assert (outcome.state, outcome.kind, outcome.accepted, outcome.rejected_count) == ("done", "events", 3, 1)
    assert [r.line for r in outcome.rejections] == [3]
    assert outcome.days == ["2021-03-10", "2021-03-11"]
    assert importer.keys("events/") == [
        f"events/tracker_id={TRACKER}/date=2021-03-10/events.parquet",
        f"events/tracker_id={TRACKER}/date=2021-03-11/events.parquet",
    ]
    importer.lambdas.use_env("WorkerFunction")
    second = tracks.read_events_day(TRACKER, date(2021, 3, 11))
    assert second is not None
    assert second.event == ["door_open", "ignition_off"]
    assert second.message[0] == "rear door" and json.loads(second.extra[0]) == {"door": 2}
    assert importer.keys("tracks/") == []
    assert importer.keys(f"outcomes/{TRACKER}/events/") == [f"outcomes/{TRACKER}/events/today.ndjson.json"]


# ----------------------------------------------------------------------------- concurrency
def test_a_concurrent_write_between_read_and_write_is_merged_not_lost(importer: Importer) -> None:
    # Given a day already stored (06:00-07:00)
    importer.run("first.csv", csv_of(drive(hours=(6, 7))))

    # And another writer that lands 07:00-08:00 in the day just before the import's first write
    from fleet_reports.store.aws import s3

    other = drive(hours=(7, 8))
    injected: list[bool] = []

    def concurrent_writer(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == tracks.day_key(TRACKER, DAY) and not injected:
            injected.append(True)
            tracks.merge_day(TRACKER, DAY, other, bucket=importer.bucket)

    s3().meta.events.register("before-parameter-build.s3.PutObject", concurrent_writer)
    try:
        # When a file of 08:00-09:00 is imported
        outcome = importer.run("third.csv", csv_of(drive(hours=(8, 9))))
    finally:
        s3().meta.events.unregister("before-parameter-build.s3.PutObject", concurrent_writer)

    # Then its first write was refused (412), it merged again, and all three hours are stored
    assert injected and outcome.state == "done" and outcome.conflicts == 1
    assert np.array_equal(importer.stored(TRACKER, DAY).t, drive(hours=(6, 9)).t)


def test_a_day_that_keeps_changing_fails_the_import_loudly_then_the_retry_lands(
    importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a writer that changes the day before every write of the import, and 2 attempts allowed
    from fleet_reports.store.aws import s3

    monkeypatch.setattr(tracks, "MAX_ATTEMPTS", 2)
    importer.run("base.csv", csv_of(drive(hours=(5, 6))))
    hours = iter(range(10, 20))
    writing: list[bool] = []

    def busy_writer(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") != tracks.day_key(TRACKER, DAY) or writing:  # not its own writes
            return
        if (hour := next(hours, None)) is not None:
            writing.append(True)
            try:
                tracks.merge_day(TRACKER, DAY, drive(hours=(hour, hour + 0.1)), bucket=importer.bucket)
            finally:
                writing.clear()

    s3().meta.events.register("before-parameter-build.s3.PutObject", busy_writer)
    try:
        # When a file is uploaded and S3 invokes the import (which Lambda retries on failure)
        key = importer.upload("contended.csv", csv_of(drive(hours=(6, 7))))
        assert importer.poller.poll_once(importer.sqs) == 1
        failed = importer.outcome(key)
    finally:
        s3().meta.events.unregister("before-parameter-build.s3.PutObject", busy_writer)

    # Then the invocation raised (so Lambda retries it) after recording a failed outcome
    assert importer.poller.failures == 1
    assert failed.state == "failed" and failed.error and "could not be merged" in failed.error

    # When the retry comes, with the writer gone
    assert importer.deliver() == 1

    # Then the file lands, and the outcome says so
    assert importer.outcome(key).state == "done"
    assert np.isin(drive(hours=(6, 7)).t, importer.stored(TRACKER, DAY).t).all()


# ----------------------------------------------------------------------------- the race, on moto's server
@pytest.fixture
def moto_server(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's server on 127.0.0.1 with the template's resources, as the local stack runs it."""
    with moto_server_with_resources(template, monkeypatch, prefix="race") as resources:
        yield resources


def test_concurrent_imports_for_the_same_day_never_lose_a_fix(
    moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo tracker, and 8 files that share one day, each with every 8th fix of it
    from fleet_reports import demo as demo_fleet

    monkeypatch.setattr(tracks, "TAKE_TURNS", False)  # the threads race as separate processes would

    demo_fleet.load_fleet()
    bucket = moto_server.names["TrackBucket"]
    whole = drive(hours=(0, 24))
    files = {f"part-{n}.csv": csv_of(whole.take(np.arange(n, len(whole), 8))) for n in range(8)}
    s3 = boto3.client("s3")
    for name, data in files.items():
        s3.put_object(Bucket=bucket, Key=f"incoming/{TRACKER}/{name}", Body=data)

    # When the 8 imports run at the same moment, in 8 threads
    start = threading.Barrier(len(files))
    outcomes: dict[str, ImportOutcome] = {}

    def run(name: str) -> None:
        start.wait()
        outcomes[name] = imports.import_object(bucket, f"incoming/{TRACKER}/{name}")

    threads = [threading.Thread(target=run, args=(name,)) for name in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then every import is done, the adds sum to the day, and the day holds every fix once
    assert {o.state for o in outcomes.values()} == {"done"}
    assert sum(o.added for o in outcomes.values()) == len(whole)
    obj = s3.get_object(Bucket=bucket, Key=tracks.day_key(TRACKER, DAY))["Body"].read()
    assert np.array_equal(tracks.decode(obj).t, whole.t)
    # And they did collide: conditional writes turned the losers away and they merged again
    # (each run here sees a dozen or more; without them this test would not test a race)
    assert sum(o.conflicts for o in outcomes.values()) >= 1


# ----------------------------------------------------------------------------- the uploader's side
def test_upload_names_stay_inside_the_trackers_folder(importer: Importer) -> None:
    # Given the service's upload, as the CLI calls it
    importer.lambdas.use_env("WorkerFunction")

    # When names that would leave incoming/<tracker>/ (or its events/ folder) are given
    # Then they are refused before anything is sent
    for name in ("../x.csv", "/x.csv", "a/b.csv", "events/../x.csv", "events/a/b.ndjson", "", "x\\y.csv"):
        with pytest.raises(ValueError):
            imports.upload(TRACKER, name, io.BytesIO(b"time,lat,lng\n"), 13)
    with pytest.raises(ValueError):
        imports.upload(0, "x.csv", io.BytesIO(b""), 0)
    assert importer.keys("incoming/") == []


def test_outcomes_are_listed_per_tracker_and_for_all_newest_first(importer: Importer) -> None:
    # Given imports for two trackers, one after the other
    importer.run("a.csv", csv_of(drive(hours=(6, 7))))
    importer.run("b.csv", csv_of(drive(hours=(6, 7), tracker=123456)), tracker=123456)
    importer.run("c.csv", csv_of(drive(hours=(7, 8))))

    # When the outcomes are listed
    # Then each tracker's come newest first, and the list of all has every one, newest first
    assert [o.key for o in imports.list_outcomes(TRACKER)] == [f"incoming/{TRACKER}/c.csv", f"incoming/{TRACKER}/a.csv"]
    assert [o.key for o in imports.list_outcomes()] == [
        f"incoming/{TRACKER}/c.csv",
        "incoming/123456/b.csv",
        f"incoming/{TRACKER}/a.csv",
    ]
    assert [o.key for o in imports.list_outcomes(limit=1)] == [f"incoming/{TRACKER}/c.csv"]
    # And a wait for an upload that was never imported ends empty-handed
    assert imports.wait_outcome(f"incoming/{TRACKER}/never.csv", timeout_s=0.3) is None
