"""The report lifecycle through the real handlers, on moto, each with only its template environment."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3

from fleet_reports.demo import OWNER_ID

from tests.support.api import HASH, generate
from tests.support.lambdas import Lambdas


def test_seed_trip_report_end_to_end(demo: Lambdas) -> None:
    # Given the demo fleet and the documentation's generate request
    report_id = generate(demo)

    # When the report is queued, Then it is not ready yet
    status, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert (status, body["percent_ready"], body["state"]) == (200, 0, "queued")
    status, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    assert (status, body["status"]["code"]) == (404, 229)

    # When the worker drains the queue
    assert demo.run_worker() == 1

    # Then the status is 100 and done
    status, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert (body["percent_ready"], body["state"]) == (100, "done")

    # And the report has the seed's shape: one sheet, a Trips table with day groups, a Summary
    status, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    report = body["report"]
    assert report["id"] == report_id and report["title"] == "Trip report"
    assert report["from"] == "2020-10-05 00:00:00" and report["to"] == "2020-10-06 23:59:59"
    sheet = report["sheets"][0]
    assert sheet["entity_ids"] == [669673]
    table = sheet["sections"][0]
    assert table["type"] == "table" and table["header"] == "Trips"
    assert [c["field"] for c in table["columns"]] == ["from", "to", "length", "time", "avg_speed", "max_speed"]
    days = [g["header"] for g in table["data"]]
    assert any(h.startswith("Oct 6, 2020 (Tue) : ") for h in days)
    oct6 = next(g for g in table["data"] if g["header"].startswith("Oct 6, 2020"))
    assert len(oct6["rows"]) == int(oct6["header"].rsplit(":", 1)[1])
    assert oct6["total"]["text"] == "In total:"
    assert sum(r["length"]["raw"] for r in oct6["rows"]) > 400  # the seed's day drove ~524 km
    summary = sheet["sections"][1]
    assert summary["type"] == "map_table" and summary["rows"][0]["name"] == "Trips"

    # And it appears in the owner's list with the seed's fields
    status, body, _ = demo.api("ListFunction", {"hash": HASH})
    entry = next(r for r in body["list"] if r["id"] == report_id)
    assert entry["percent"] == 100 and entry["type"] == "user"
    assert entry["parameters"]["plugins"][0]["plugin_id"] == 4
    assert entry["parameters"]["locale_info"]["time_zone"] == "Europe/Moscow"
    assert set(entry) >= {"created", "time_filter", "title", "id", "parameters", "percent", "type", "from", "to"}


def test_downloads_in_every_format(demo: Lambdas) -> None:
    # Given a finished report
    report_id = generate(demo)
    demo.run_worker()

    # When each format is downloaded, Then the bytes are that kind of file, named after the title
    status, pdf, headers = demo.api("DownloadFunction", {"hash": HASH, "report_id": report_id, "format": "pdf"})
    assert status == 200 and pdf[:5] == b"%PDF-" and headers["content-type"] == "application/pdf"
    assert "Trip_report" in headers["content-disposition"]
    status, xls, headers = demo.api(
        "DownloadFunction", {}, method="GET", query=f"hash={HASH}&report_id={report_id}&format=xls"
    )
    assert status == 200 and xls[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # OLE2 (BIFF8)
    status, xlsx, _ = demo.api("DownloadFunction", {"hash": HASH, "report_id": report_id, "format": "xlsx"})
    assert status == 200 and xlsx[:2] == b"PK"

    # And headless drops the title page and the table of contents
    import openpyxl

    full = openpyxl.load_workbook(io.BytesIO(xlsx)).sheetnames
    status, headless, _ = demo.api(
        "DownloadFunction", {"hash": HASH, "report_id": report_id, "format": "xlsx", "headless": True}
    )
    bare = openpyxl.load_workbook(io.BytesIO(headless)).sheetnames
    assert len(full) == len(bare) + 2


def test_large_file_is_redirected_to_a_presigned_url(demo: Lambdas) -> None:
    # Given a finished report and a deployment whose inline limit is tiny
    report_id = generate(demo)
    demo.run_worker()

    # When the PDF is downloaded, Then the answer is a 302 to a short-lived presigned URL
    status, _, headers = demo.api(
        "DownloadFunction",
        {"hash": HASH, "report_id": report_id, "format": "pdf"},
        DOWNLOAD_INLINE_MAX_BYTES="100",
    )
    assert status == 302
    assert "X-Amz-Signature=" in headers["location"] and "X-Amz-Expires=" in headers["location"]


def test_delete_removes_report_and_files(demo: Lambdas) -> None:
    # Given a finished report with rendered files
    report_id = generate(demo)
    demo.run_worker()
    bucket = demo.resources.names["ReportsBucket"]
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"reports/{report_id}/")["KeyCount"] == 6

    # When it is deleted
    status, body, _ = demo.api("DeleteFunction", {"hash": HASH, "report_id": report_id})
    assert (status, body) == (200, {"success": True})

    # Then it is gone everywhere, and a second delete is 204
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"reports/{report_id}/")["KeyCount"] == 0
    status, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert (status, body["status"]["code"]) == (404, 204)
    status, body, _ = demo.api("DeleteFunction", {"hash": HASH, "report_id": report_id})
    assert body["status"]["code"] == 204


def test_job_delivered_twice_makes_one_report(demo: Lambdas) -> None:
    # Given a queued report whose job message is delivered twice
    report_id = generate(demo)
    queue = demo.resources.names["ReportJobsQueue"]
    boto3.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({"pool": OWNER_ID, "report_id": report_id}))

    # When the worker drains the queue
    assert demo.run_worker() == 2

    # Then there is one done report and its files were written once
    _, body, _ = demo.api("ListFunction", {"hash": HASH})
    assert [r["id"] for r in body["list"]] == [report_id]
    assert body["list"][0]["percent"] == 100


def test_poison_job_fails_the_report_with_a_reason_after_the_last_attempt(demo: Lambdas, monkeypatch: Any) -> None:
    # Given a report whose computation always crashes
    report_id = generate(demo)
    import fleet_reports.engine.report as engine_report

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the engine exploded")

    monkeypatch.setattr(engine_report, "build_report", boom)

    # When the worker has tried as often as the redrive policy allows
    demo.run_worker(max_batches=10)

    # Then the report is failed with a reason fit for the client (the internals stay in the log)
    status, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert body["state"] == "failed" and "internal error" in body["error"]
    assert "exploded" not in body["error"]
    status, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    assert (status, body["status"]["code"]) == (500, 6)
    assert "internal error" in body["status"]["description"]
    # And the message went to the dead-letter queue
    dlq = demo.resources.names["ReportJobsDLQ"]
    msgs = boto3.client("sqs").receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert len(msgs) == 1 and json.loads(msgs[0]["Body"])["report_id"] == report_id


def test_report_deleted_while_generating_leaves_no_files(demo: Lambdas, monkeypatch: Any) -> None:
    # Given a report that is deleted while the worker computes it
    report_id = generate(demo)
    import fleet_reports.engine.report as engine_report

    real = engine_report.build_report

    def delete_midway(*args: Any, **kwargs: Any) -> Any:
        from fleet_reports.store import reports

        reports.delete_report(OWNER_ID, report_id)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_report, "build_report", delete_midway)

    # When the worker finishes
    demo.run_worker()

    # Then nothing of the report remains
    bucket = demo.resources.names["ReportsBucket"]
    assert boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"reports/{report_id}/")["KeyCount"] == 0
    _, body, _ = demo.api("StatusFunction", {"hash": HASH, "report_id": report_id})
    assert body["status"]["code"] == 204


def test_sensor_report_answers_real_readings(demo: Lambdas) -> None:
    # Given the documentation's sensor plugin example (tracker 123456, sensor 123456)
    plugin = {
        "details_interval_seconds": 300,
        "plugin_id": 9,
        "show_seconds": False,
        "graph_type": "time",
        "smoothing": False,
        "sensors": [{"tracker_id": 123456, "sensor_id": 123456}],
    }
    report_id = generate(demo, title="Sensors", trackers=[123456], plugin=plugin)

    # When it is computed
    demo.run_worker()

    # Then it holds readings of that sensor and a chart
    status, body, _ = demo.api("RetrieveFunction", {"hash": HASH, "report_id": report_id})
    assert status == 200, body
    sections = [s for sheet in body["report"]["sheets"] for s in sheet["sections"]]
    tables = [s for s in sections if s["type"] == "table"]
    assert tables and sum(len(g["rows"]) for g in tables[0]["data"]) > 0
    assert any(s["type"] == "chart" and s["series"][0]["points"] for s in sections)
