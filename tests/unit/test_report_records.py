"""The report record, the state and outcome enums, the error codes, and the per-function settings."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from fleet_reports.errors import CODES, ApiError, ErrorCode
from fleet_reports.service.worker import JobOutcome
from fleet_reports.settings import FUNCTION_SETTINGS, ConfigError, function_settings
from fleet_reports.store.records import ReportFile, ReportOutput, ReportRecord, ReportState

# A queued report exactly as ``generate`` has always written it (attribute names and value types).
QUEUED_ITEM: dict[str, Any] = {
    "id": 1234568,
    "pool": 1001,
    "owner_id": 1001,
    "type": "user",
    "title": "Trip report",
    "created": "2020-10-07 12:00:00",
    "created_ms": 1602061200000,
    "from": "2020-10-05 00:00:00",
    "to": "2020-10-06 23:59:59",
    "from_ms": 1601845200000,
    "to_ms": 1602017999000,
    "time_filter": {"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
    "plugin": {"plugin_id": 4, "show_seconds": False, "split": True, "filter": True},
    "trackers": [669673],
    "employees": [],
    "geocoder": "none",
    "include_places_in_address": True,
    "include_zones_in_address": True,
    "locale_info": {"locale": "en_US", "time_zone": "Europe/Moscow", "measurement_system": "metric"},
    "state": "queued",
    "percent": 0,
    "ttl": 1604653200,
}

# The same report once a worker finished it, and one given back once and then failed.
DONE_ITEM: dict[str, Any] = {
    **QUEUED_ITEM,
    "state": "done",
    "percent": 100,
    "claim": "0123456789abcdef0123456789abcdef",
    "started": 1602061201,
    "doc_key": "reports/1234568/report.json.gz",
    "files": {"pdf": {"key": "reports/1234568/report.pdf", "size": 12345}},
}
FAILED_ITEM: dict[str, Any] = {
    **QUEUED_ITEM,
    "state": "failed",
    "error": "an internal error stopped the computation; it has been logged",
    "attempts": 1,
    "last_error": "an internal error stopped the computation; it has been logged",
    "claim": "feed",
    "started": 1602061201,
}


@pytest.mark.parametrize("item", [QUEUED_ITEM, DONE_ITEM, FAILED_ITEM], ids=["queued", "done", "failed"])
def test_a_report_item_round_trips_unchanged(item: dict[str, Any]) -> None:
    # Given a stored report item, When it becomes a record and an item again
    back = ReportRecord.from_item(item).to_item()
    # Then it has the same attributes with the same values and types
    assert back == item
    assert {k: type(v) for k, v in back.items()} == {k: type(v) for k, v in item.items()}
    assert json.dumps(back, sort_keys=True) == json.dumps(item, sort_keys=True)


def test_a_record_reads_typed_fields_and_drops_the_keys_and_the_document() -> None:
    # Given an item as the table holds it, with its keys and an inline document
    item = {**DONE_ITEM, "pk": "POOL#1001", "sk": "REPORT#000001234568", "doc": b"\x1f\x8b"}
    # When it is read
    record = ReportRecord.from_item(item)
    # Then its fields are typed
    assert record.state is ReportState.DONE and record.from_ == "2020-10-05 00:00:00"
    assert record.files["pdf"] == ReportFile(key="reports/1234568/report.pdf", size=12345)
    assert record.time_zone("UTC") == "Europe/Moscow"
    # And the keys and the document are not part of the record
    assert record.to_item() == DONE_ITEM


def test_a_projection_gives_the_defaults_of_what_it_left_out() -> None:
    # Given the attributes a listing reads, without locale, files and options
    listed = {k: QUEUED_ITEM[k] for k in ("id", "pool", "owner_id", "title", "created", "from", "to", "state")}
    # When it is read
    record = ReportRecord.from_item(listed)
    # Then what is missing reads as before: type user, percent 0, no files, address options on
    assert (record.type, record.percent, record.files, record.trackers) == ("user", 0, {}, [])
    assert record.include_places_in_address and record.include_zones_in_address
    assert record.time_zone("Asia/Yekaterinburg") == "Asia/Yekaterinburg"
    # And writing it back writes only what was read
    assert record.to_item() == listed


def test_the_output_of_a_computation_sets_the_document_then_the_files() -> None:
    files = {"pdf": ReportFile(key="k.pdf", size=3)}
    assert list(ReportOutput(doc=b"x", files=files).attributes().items()) == [
        ("doc", b"x"),
        ("files", {"pdf": {"key": "k.pdf", "size": 3}}),
    ]
    assert ReportOutput(doc_key="k.json.gz").attributes() == {"doc_key": "k.json.gz", "files": {}}


def test_report_states_are_the_wire_values() -> None:
    assert [s.value for s in ReportState] == ["queued", "running", "done", "failed"]
    assert [s for s in ReportState if s.active] == [ReportState.QUEUED, ReportState.RUNNING]
    assert ReportState("done") == "done"


def test_job_outcomes_name_their_metric() -> None:
    # The outcomes keep their logged text, and each names the worker's metric without parsing it
    assert {o.value: o.metric for o in JobOutcome} == {
        "done": "jobs_done",
        "skipped: gone": "jobs_skipped",
        "skipped: finished": "jobs_skipped",
        "lost": "jobs_lost",
        "failed: dead-lettered": "jobs_dead_lettered",
        "skipped: running": "jobs_skipped",
        "split": "jobs_split",
        "part done": "parts_done",
        "skipped: superseded": "jobs_skipped",
    }


def test_error_codes_have_names_and_the_wire_stays_numeric() -> None:
    # Every code has its description and HTTP status
    assert set(CODES) == set(ErrorCode)
    assert ErrorCode.ENTITY_NOT_FOUND == 217 and ErrorCode.PLUGIN_NOT_FOUND == 222
    # An error made from the name or from the number is the same error
    by_name = ApiError(ErrorCode.TIME_SPAN_TOO_BIG, extra={"max_time_span": "P90D"})
    by_number = ApiError(211, extra={"max_time_span": "P90D"})
    assert by_name.body() == by_number.body()
    assert by_name.code is ErrorCode.TIME_SPAN_TOO_BIG and by_name.http_status == 400
    # And the envelope carries the plain number
    text = json.dumps(by_name.body())
    assert '"code": 211' in text and type(by_name.body()["status"]["code"]) is int


# ============================================================================ per-function settings

WORKER_ENV = {
    "REPORTS_TABLE": "reports",
    "FLEET_TABLE": "fleet",
    "REPORTS_BUCKET": "files",
    "TRACK_BUCKET": "tracks",
    "RETENTION_DAYS": "30",
    "MAX_RECEIVE_COUNT": "3",
    "JOBS_QUEUE_URL": "https://sqs.example/jobs",
    "FAN_OUT_TRACKER_DAYS": "60",
}


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for model in FUNCTION_SETTINGS.values():
        for name in model.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)
    for key, value in WORKER_ENV.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_a_configured_function_gets_its_typed_settings(worker_env: pytest.MonkeyPatch) -> None:
    settings = function_settings("WorkerFunction")
    assert settings.model_dump() == {
        "reports_table": "reports",
        "fleet_table": "fleet",
        "reports_bucket": "files",
        "track_bucket": "tracks",
        "retention_days": 30,
        "max_receive_count": 3,
        "jobs_queue_url": "https://sqs.example/jobs",
        "fan_out_tracker_days": 60,
    }
    # validated once per environment: the next invocations reuse it
    assert function_settings("WorkerFunction") is settings


def test_a_missing_variable_fails_loudly_naming_it(
    worker_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the worker deployed without its reports bucket and with an empty track bucket
    worker_env.delenv("REPORTS_BUCKET")
    worker_env.setenv("TRACK_BUCKET", " ")
    # When its settings are checked
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError) as raised:
        function_settings("WorkerFunction")
    # Then the error names each variable and what is wrong with it
    assert raised.value.variables == ("REPORTS_BUCKET", "TRACK_BUCKET")
    assert "environment variable REPORTS_BUCKET is not set" in str(raised.value)
    assert "environment variable TRACK_BUCKET is empty" in str(raised.value)
    # And the log says so
    assert any("REPORTS_BUCKET is not set" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    # And once fixed, the next invocation passes
    worker_env.setenv("REPORTS_BUCKET", "files")
    worker_env.setenv("TRACK_BUCKET", "tracks")
    assert function_settings("WorkerFunction").model_dump()["reports_bucket"] == "files"


def test_an_invalid_limit_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every variable of the plugin-list function set well (whatever else the process has)
    good = {"max_time_span": "P1D", "point_report_max_time_span": "P1D"}
    for name in FUNCTION_SETTINGS["PluginsFunction"].model_fields:
        monkeypatch.setenv(name.upper(), good.get(name, "100" if "limit" in name or "bytes" in name else "x"))
    # When one limit is not a duration
    monkeypatch.setenv("MAX_TIME_SPAN", "ninety days")
    with pytest.raises(ConfigError) as raised:
        function_settings("PluginsFunction")
    assert raised.value.variables == ("MAX_TIME_SPAN",)
    assert "MAX_TIME_SPAN is invalid" in str(raised.value)
