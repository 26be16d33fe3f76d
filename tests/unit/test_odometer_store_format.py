"""The odometer summary's stored form (docs/data.md, "The odometer summary"), without AWS."""

from __future__ import annotations

import gzip
import json
from datetime import date

from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.odometer import DayOdometer, settings_fingerprint
from fleet_reports.store.odometer import FORMAT, Summary, summary_key

SETTINGS = TripSettings()
DAYS = {
    date(2024, 3, 1): DayOdometer(42_310.52),
    date(2024, 3, 2): DayOdometer(18_004.27, 84_297.6, 1_709_380_800_000, 2_512.9),
}


def test_a_summary_survives_its_stored_form() -> None:
    # Given a summary with two days, computed with the default settings
    summary = Summary(settings_fingerprint(SETTINGS), 12, dict(DAYS))
    # When stored and read back
    data = summary.encode()
    back = Summary.decode(data)
    # Then it is the same summary, valid for those settings alone, as the documented JSON
    assert back == summary
    assert back.valid_for(SETTINGS) and not back.valid_for(TripSettings(min_idle_duration=180))
    doc = json.loads(gzip.decompress(data))
    assert doc["format"] == FORMAT and doc["version"] == 1 and doc["generation"] == 12
    assert doc["days"]["2024-03-02"] == [18_004.27, 84_297.6, 1_709_380_800_000, 2_512.9]
    # And the same summary encodes to the same bytes (no time in the gzip header)
    assert summary.encode() == data


def test_a_span_of_days_comes_out_of_it() -> None:
    # Given the summary, Then a span holds the days inside it, both ends included
    summary = Summary("x", 1, dict(DAYS))
    assert summary.between(date(2024, 3, 2), date(2024, 12, 31)) == {date(2024, 3, 2): DAYS[date(2024, 3, 2)]}
    assert summary.between(date(2024, 3, 1), date(2024, 3, 2)) == DAYS
    assert summary.between(date(2023, 1, 1), date(2024, 2, 29)) == {}


def test_an_unreadable_or_foreign_summary_is_marked_for_a_rebuild() -> None:
    # Given a summary of another version, one that is not gzip'd JSON, and a marked one
    other = gzip.compress(json.dumps({"format": FORMAT, "version": 99, "generation": 7, "days": {}}).encode())
    # When read, Then each is marked (no fingerprint, no days), keeping the generation it had
    assert Summary.decode(other) == Summary(None, 7)
    assert Summary.decode(b"not gzip") == Summary(None)
    assert Summary.decode(gzip.compress(b"[1, 2]")) == Summary(None)
    marked = Summary.decode(Summary(None, 3).encode())
    assert marked == Summary(None, 3) and not marked.valid_for(SETTINGS)


def test_each_tracker_has_its_key_beside_the_days() -> None:
    # Then the summary lives under odometer/, Hive-style like the days
    assert summary_key(345678) == "odometer/tracker_id=345678/summary.json.gz"
