"""The running local stack (`make run`), driven over loopback through the seed's whole flow."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.seed_examples import Example, examples

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def wait_done(stack: dict[str, Any], report_id: int, timeout: float = 120) -> list[int]:
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = get_json(f"{stack['api_url']}/report/tracker/status?hash={stack['demo_hash']}&report_id={report_id}")
        if not seen or seen[-1] != body["percent_ready"]:
            seen.append(body["percent_ready"])
        assert body["state"] != "failed", body
        if body["percent_ready"] == 100:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"report {report_id} not done: {seen}")


def by(kind: str, action: str) -> Example:
    return next(e for e in examples() if e.kind == kind and e.action == action)


def test_state_file_names_the_stack(stack: dict[str, Any]) -> None:
    # Given `make run`'s state file, Then tools can find everything there
    for key in ("api_url", "aws_endpoint_url", "region", "data_bucket", "reports_bucket", "demo_hash"):
        assert stack[key], key
    assert stack["api_url"].startswith("http://127.0.0.1:")
    assert stack["aws_endpoint_url"].startswith("http://127.0.0.1:")


def test_the_banner_says_when_the_example_report_is_ready(stack_state: Path, stack: dict[str, Any]) -> None:
    # Given `make run`'s output (stack.log beside its state file)
    log = stack_state.parent / "stack.log"
    deadline = time.monotonic() + 60  # the banner follows the state file (one store read later)
    while "example report 1234567" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    if "the documentation's example report 1234567 is ready." in log.read_text():
        return  # it was done before the banner: the banner says so, nothing follows
    # whose banner said the documentation's example report is being generated, progress below
    assert "example report 1234567 is being generated now: progress below" in log.read_text()
    # Then, once it is done, a line says it is ready, how long it took and how to fetch it
    deadline = time.monotonic() + 120
    while "The example report 1234567 is ready (" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    ready = log.read_text().split("The example report 1234567 is ready (")[1].splitlines()[0]
    assert f"{stack['api_url']}/report/tracker/retrieve?hash={stack['demo_hash']}&report_id=1234567" in ready


def test_the_copied_examples_cover_every_report_action() -> None:
    # Given the API reference's examples as the repository keeps them (tests/fixtures/seed_examples.txt)
    # Then there is a cURL and an HTTP GET example of every report action (the reference has no GET generate)
    assert {(e.kind, e.action) for e in examples()} == {
        (kind, action)
        for kind in ("curl", "get")
        for action in ("generate", "list", "status", "retrieve", "download", "delete")
        if (kind, action) != ("get", "generate")
    }


def test_seed_examples_work_verbatim(stack: dict[str, Any]) -> None:
    base = stack["api_url"]
    # Given the documentation's example report (1234567), generated when the stack started
    wait_done(stack, 1234567)

    # When the generate example is sent verbatim, Then a new report id comes back and completes
    status, body = by("curl", "generate").json(base)
    assert status == 200 and body["success"] is True
    new_id = body["id"]
    progress = wait_done(stack, new_id)
    assert progress[-1] == 100

    # When each read example is sent verbatim (cURL and GET), Then it answers as documented
    for kind in ("curl", "get"):
        status, body = by(kind, "status").json(base)
        assert (status, body) == (200, {"success": True, "percent_ready": 100, "state": "done"})
        status, body = by(kind, "list").json(base)
        assert status == 200 and {r["id"] for r in body["list"]} >= {1234567, new_id}
        status, body = by(kind, "retrieve").json(base)
        sheet = body["report"]["sheets"][0]
        assert sheet["sections"][0]["header"] == "Trips" and sheet["sections"][1]["type"] == "map_table"
        status, headers, data = by(kind, "download").call(base)
        assert status == 200 and data[:5] == b"%PDF-" and headers["content-type"] == "application/pdf"

    # And the other formats and headless download too
    import openpyxl

    url = f"{base}/report/tracker/download?hash={stack['demo_hash']}&report_id={new_id}"
    with urllib.request.urlopen(url + "&format=xls") as resp:
        assert resp.read()[:4] == bytes.fromhex("d0cf11e0")
    with urllib.request.urlopen(url + "&format=xlsx") as resp:
        full = openpyxl.load_workbook(io.BytesIO(resp.read())).sheetnames
    with urllib.request.urlopen(url + "&format=xlsx&headless=true") as resp:
        bare = openpyxl.load_workbook(io.BytesIO(resp.read())).sheetnames
    assert len(full) == len(bare) + 2

    # When the delete example is sent, Then the report is gone and the other example answers 204
    status, body = by("get", "delete").json(base)
    assert (status, body) == (200, {"success": True})
    status, body = by("curl", "delete").json(base)
    assert (status, body["status"]["code"]) == (404, 204)


def test_documented_errors_over_http(stack: dict[str, Any]) -> None:
    base, h = stack["api_url"], stack["demo_hash"]
    # Given requests that break one rule each, Then each answers its code in the envelope
    cases = [
        (f"{base}/report/tracker/list?hash=nothex", 3),
        (f"{base}/report/tracker/list", 4),
        (f"{base}/report/tracker/list?hash={stack['sub_user_without_reports_hash']}", 13),
        (f"{base}/report/tracker/status?hash={h}&report_id=1", 204),
        (f"{base}/report/tracker/delete?hash={stack['demo_mode_user_hash']}&report_id=1", 101),
        (
            f"{base}/report/tracker/generate?hash={h}&plugin=%7B%22plugin_id%22%3A77777%7D&trackers=[669673]"
            "&from=2020-10-05%2000:00:00&to=2020-10-06%2000:00:00",
            222,
        ),
        (f"{base}/no/such/action", 111),
    ]
    for url, code in cases:
        try:
            urllib.request.urlopen(url, timeout=30)
            raise AssertionError(f"{url} succeeded")
        except urllib.error.HTTPError as err:
            body = json.loads(err.read())
            assert body["success"] is False and body["status"]["code"] == code, (url, body)
            if code == 111:  # an unknown action: "Wrong handler", HTTP 400 (Navixy's errors page)
                assert (err.code, body["status"]["description"]) == (400, "Wrong handler")


def post_json(url: str, payload: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def trip_rows(stack: dict[str, Any], day: str) -> list[dict[str, Any]]:
    """Generate the trip report of tracker 669673 for one local day over HTTP; its trip rows."""
    body = post_json(
        f"{stack['api_url']}/report/tracker/generate",
        {
            "hash": stack["demo_hash"],
            "title": "Imported day",
            "trackers": [669673],
            "from": f"{day} 00:00:00",
            "to": f"{day} 23:59:59",
            "time_filter": {"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
            "plugin": {"plugin_id": 4, "split": True, "filter": True, "hide_empty_tabs": False},
        },
    )
    assert body["success"] is True, body
    wait_done(stack, body["id"])
    report = get_json(f"{stack['api_url']}/report/tracker/retrieve?hash={stack['demo_hash']}&report_id={body['id']}")
    trips = report["report"]["sheets"][0]["sections"][0]
    return [row for group in trips.get("data", []) for row in group.get("rows", [])]


def test_an_uploaded_csv_is_imported_and_reported(stack: dict[str, Any]) -> None:
    import uuid
    from datetime import date

    import boto3

    from fleet_reports.demo import demo_track
    from fleet_reports.engine.model import Track
    from fleet_reports.ingest import format_csv

    # Given a day the demo fleet has no track for: the trip report of it is empty
    day = date(2021, 3, 10)
    assert trip_rows(stack, day.isoformat()) == []

    # When a CSV of the demo car's drives (the UTC days around that local day) is uploaded to the
    # local stack's data bucket under incoming/669673/, with boto3 pointed at the stack
    s3 = boto3.client(
        "s3",
        endpoint_url=stack["aws_endpoint_url"],
        region_name=stack["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    track = Track.concat([demo_track(669673, date(2021, 3, 9)), demo_track(669673, day)])
    name = f"drives-{uuid.uuid4().hex[:8]}.csv"
    s3.put_object(Bucket=stack["data_bucket"], Key=f"{stack['import_prefix']}669673/{name}", Body=format_csv(track))

    # Then the import's outcome appears beside the upload, every fix accepted
    deadline = time.monotonic() + 120
    outcome: dict[str, Any] | None = None
    while outcome is None:
        try:
            body = s3.get_object(Bucket=stack["data_bucket"], Key=f"outcomes/669673/{name}.json")["Body"]
            outcome = json.loads(body.read())
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "no import outcome"
            time.sleep(0.2)
    assert outcome["state"] == "done", outcome
    assert outcome["accepted"] == len(track) and outcome["days"] == ["2021-03-09", "2021-03-10"]

    # And the trip report of that day, generated through the HTTP API, has the drives
    rows = trip_rows(stack, day.isoformat())
    assert len(rows) >= 2
    assert sum(r["length"]["raw"] for r in rows) > 10  # km
