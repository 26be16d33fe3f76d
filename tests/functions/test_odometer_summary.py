"""The odometer summary on moto (docs/data.md, "The odometer summary"): kept by the demo loader
and the importer, rebuilt once by the report when missing or outdated, safe against concurrent
writers; a report's odometer costs a few reads however long the history, and is the one the
fixes themselves give."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import boto3
import numpy as np
import pytest

from fleet_reports.demo import ACCESS, OWNER_ID, demo_track
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.odometer import day_figures, settings_fingerprint
from fleet_reports.store import odometer, tracks
from fleet_reports.store.aws import s3

from tests.support.lambdas import Lambdas

TRUCK = 345678  # odometer base 48,210 km at 2020-10-04 00:00 UTC, no device odometer
DAYS = [date(2020, 10, d) for d in range(4, 8)]
LATER = date(2023, 6, 1)  # a Moscow day long after the days


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def fleet(lambdas: Lambdas) -> Lambdas:
    """The demo fleet's manifest (its trackers, no tracks)."""
    from fleet_reports import demo as demo_fleet

    lambdas.use_env("WorkerFunction")
    demo_fleet.load_fleet()
    return lambdas


@contextmanager
def requests() -> Iterator[Counter[tuple[str, str]]]:
    """S3 requests made meanwhile, by (operation, first part of the key or prefix)."""
    seen: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        where = str(params.get("Key") or params.get("Prefix") or "").split("/", 1)[0]
        with lock:
            seen[(model.name, where)] += 1

    events = s3().meta.events
    events.register("before-parameter-build.s3", count, unique_id="odometer-test-count")
    try:
        yield seen
    finally:
        events.unregister("before-parameter-build.s3", unique_id="odometer-test-count")


def write_days(tracker: int, days: list[date]) -> None:
    for day in days:
        tracks.write_day(tracker, day, demo_track(tracker, day))


def truck_settings() -> TripSettings:
    settings = odometer.tracker_settings(TRUCK)
    assert settings is not None
    return settings


def trip_report(lambdas: Lambdas, day: date) -> tuple[int, float]:
    """The truck's trip report of that Moscow day through the pipeline (its summary sheet alone,
    which shows the odometer with or without trips): its id and the odometer."""
    request = {
        "hash": ACCESS.owner_hash,
        "title": "Odometer",
        "trackers": [TRUCK],
        "from": f"{day} 00:00:00",
        "to": f"{day} 23:59:59",
        "time_filter": {"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        "plugin": {"plugin_id": 4, "include_summary_sheet_only": True},
    }
    status, body, _ = lambdas.api("GenerateFunction", request)
    assert status == 200, body
    report_id = int(body["id"])
    assert lambdas.run_worker() == 1
    status, body, _ = lambdas.api("RetrieveFunction", {"hash": ACCESS.owner_hash, "report_id": report_id})
    assert status == 200, body
    return report_id, odometer_in(body["report"])


def odometer_in(report: Any) -> float:
    return float(report["sheets"][0]["sections"][0]["data"][0]["rows"][0]["odometer"]["raw"])


def odometer_from_the_fixes(lambdas: Lambdas, report_id: int) -> float:
    """The same report built in-process from every stored day's fixes (no summary)."""
    from fleet_reports.engine.report import build_report
    from fleet_reports.service.worker import build_context
    from fleet_reports.store import reports

    lambdas.use_env("WorkerFunction")
    record = reports.get_report(OWNER_ID, report_id)
    assert record is not None
    return odometer_in(build_report(build_context(record), tracks.load, lambda _: None))


# ----------------------------------------------------------------------------- the report's side
def test_the_demo_loader_keeps_summaries_and_a_report_years_later_reads_a_few_objects(fleet: Lambdas) -> None:
    # Given the demo fleet's tracks loaded as `make run` loads them, up to 2020-10-20
    from fleet_reports import demo as demo_fleet

    demo_fleet.load_tracks(date(2020, 10, 20))
    # Then each tracker's summary holds a figure for every stored day, with its settings
    summary = odometer.read(TRUCK)
    assert summary is not None and summary.valid_for(truck_settings())
    assert sorted(summary.days) == tracks.list_days(TRUCK)
    assert len(summary.days) == 17  # 2020-10-04 to 2020-10-20

    # When the truck's trip report of a day two and a half years later is generated
    with requests() as seen:
        report_id, got = trip_report(fleet, LATER)

    # Then the worker read the summary once and the period's two UTC days and the part of the
    # UTC day before it: nothing listed, nothing of the history, nothing written to the track bucket
    track_reads = {k: n for k, n in seen.items() if k[1] in ("tracks", "odometer")}
    assert track_reads == {("GetObject", "odometer"): 1, ("GetObject", "tracks"): 3}
    # And the odometer is the base plus the trips of every day since, as the fixes themselves give
    assert got == odometer_from_the_fixes(fleet, report_id)
    assert got > 48_210.0 + 1_000.0


def test_a_summary_missing_or_outdated_is_rebuilt_once_by_the_report(fleet: Lambdas) -> None:
    # Given the truck's days written without a summary
    write_days(TRUCK, DAYS)
    assert odometer.read(TRUCK) is None

    # When a report needs the history, twice
    with requests() as first:
        _, odo_first = trip_report(fleet, LATER)
    with requests() as second:
        _, odo_second = trip_report(fleet, LATER)

    # Then the first listed the days, read them and put the summary back; the second only read it
    assert first[("ListObjectsV2", "tracks")] == 1 and first[("PutObject", "odometer")] == 1
    assert first[("GetObject", "tracks")] == len(DAYS) + 3
    assert (second[("ListObjectsV2", "tracks")], second[("PutObject", "odometer")]) == (0, 0)
    assert second[("GetObject", "tracks")] == 3
    assert odo_first == odo_second

    # Given the manifest changes the truck's trip settings (parkings from 30 minutes)
    from fleet_reports.store import fleet as fleet_store

    fleet.use_env("WorkerFunction")
    record = fleet_store.get_tracker(TRUCK)
    assert record is not None
    fleet_store.put_tracker(record.model_copy(update={"trip_detection": {"min_idle_duration": 1800}}), previous=record)
    # When the report runs again
    with requests() as third:
        report_id, odo_third = trip_report(fleet, LATER)
    # Then the summary was rebuilt with the new settings, and the odometer is what they give
    assert third[("ListObjectsV2", "tracks")] == 1 and third[("PutObject", "odometer")] == 1
    fleet.use_env("WorkerFunction")
    summary = odometer.read(TRUCK)
    assert summary is not None and summary.fingerprint == settings_fingerprint(truck_settings())
    assert odo_third == odometer_from_the_fixes(fleet, report_id)


# ----------------------------------------------------------------------------- the writers
def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    return {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]}


def test_an_import_records_its_days_or_marks_a_missing_summary(fleet: Lambdas) -> None:
    from fleet_reports.ingest import format_csv

    # Given the truck's days and its summary, and another tracker without one
    write_days(TRUCK, DAYS)
    before = odometer.rebuild(TRUCK, truck_settings())
    bucket = fleet.resources.names["TrackBucket"]
    new_day = date(2021, 3, 10)

    # When a file of a new day is imported for each
    for tracker in (TRUCK, 669673):
        key = f"incoming/{tracker}/day.csv"
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=format_csv(demo_track(tracker, new_day)))
        assert fleet.invoke("ImportFunction", _s3_event(bucket, key))["imports"]

    # Then the truck's summary holds the new day's figures, computed from the day as stored
    fleet.use_env("WorkerFunction")
    after = odometer.read(TRUCK)
    stored = tracks.read_day(TRUCK, new_day)
    assert after is not None and stored is not None
    assert after.days == {**before.days, new_day: day_figures(stored, truck_settings())}
    assert after.generation == before.generation + 1
    # And the other tracker's summary, which did not exist, is marked to be rebuilt, not patched
    marked = odometer.read(669673)
    assert marked is not None and marked.fingerprint is None and marked.days == {}


def test_a_rebuild_that_read_the_days_before_an_import_does_not_store_over_it(
    fleet: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the truck's days, and an import of a new day that lands while a rebuild reads them
    write_days(TRUCK, DAYS)
    settings = truck_settings()
    new_day = date(2020, 10, 9)
    listed = tracks.list_days
    imported: list[date] = []

    def list_while_importing(*args: Any, **kwargs: Any) -> list[date]:
        days = listed(*args, **kwargs)
        if not imported:  # the import merges and records its day after the rebuild listed
            tracks.merge_day(TRUCK, new_day, demo_track(TRUCK, new_day))
            odometer.record_days(TRUCK, [new_day], settings)
            imported.append(new_day)
        return days

    monkeypatch.setattr(tracks, "list_days", list_while_importing)

    # When the summary is rebuilt
    summary = odometer.rebuild(TRUCK, settings)

    # Then its first write was turned away (the import's record changed the summary), and the
    # second, from the days listed again, holds the imported day
    assert sorted(summary.days) == [*DAYS, new_day]
    assert odometer.read(TRUCK) == summary
    assert summary.generation == 2  # the import's mark, then this rebuild


def test_concurrent_imports_of_different_days_all_land_in_the_summary(
    fleet: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the truck's summary (no days yet), and 8 imports of 8 different days, racing as
    # separate processes would (threads of one process otherwise take turns on an object)
    monkeypatch.setattr(tracks, "TAKE_TURNS", False)
    settings = truck_settings()
    odometer.rebuild(TRUCK, settings)
    days = [date(2020, 10, d) for d in range(4, 12)]
    turned_away: list[str] = []
    put_if = tracks.put_if

    def counted(bucket: str, key: str, body: bytes, etag: str | None) -> bool:
        ok = put_if(bucket, key, body, etag)
        if not ok and key == odometer.summary_key(TRUCK):
            turned_away.append(key)
        return ok

    monkeypatch.setattr(tracks, "put_if", counted)
    start = threading.Barrier(len(days))
    errors: list[BaseException] = []

    def run(day: date) -> None:
        try:
            start.wait()
            tracks.merge_day(TRUCK, day, demo_track(TRUCK, day))
            assert odometer.record_days(TRUCK, [day], settings)
        except BaseException as exc:
            errors.append(exc)

    # When they merge and record at the same moment, in 8 threads
    threads = [threading.Thread(target=run, args=(day,)) for day in days]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then every day is in the summary, with its figures, and the writes did collide
    assert errors == []
    summary = odometer.read(TRUCK)
    assert summary is not None and sorted(summary.days) == days
    stored = tracks.read_day(TRUCK, days[3])
    assert stored is not None and summary.days[days[3]] == day_figures(stored, settings)
    assert summary.generation == 1 + len(days)
    assert turned_away, "no write was turned away: this run did not test a race"


def test_a_long_sparse_span_lists_the_days_it_has(fleet: Lambdas) -> None:
    # Given three days stored over two years
    stored = [date(2021, 1, 5), date(2021, 9, 30), date(2022, 12, 1)]
    write_days(TRUCK, stored)
    lo = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp() * 1000)
    hi = int(datetime(2022, 12, 31, tzinfo=UTC).timestamp() * 1000)

    # When the span is loaded, and a short one
    with requests() as long_span:
        track = tracks.load(TRUCK, lo, hi)
    with requests() as short_span:
        tracks.load(TRUCK, lo, lo + 10 * 86_400_000)

    # Then the long one listed the days (one request) and read the three, nothing else
    assert +long_span == Counter({("ListObjectsV2", "tracks"): 1, ("GetObject", "tracks"): 3})
    assert np.array_equal(track.t, np.concatenate([demo_track(TRUCK, d).t for d in stored]))
    # And the short one asked for each of its 11 days
    assert +short_span == Counter({("GetObject", "tracks"): 11})
    # And the days can be listed within bounds
    assert tracks.list_days(TRUCK, date(2021, 2, 1), date(2022, 12, 1)) == stored[1:]
