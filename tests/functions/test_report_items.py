"""The reports table's items keep their attributes and types: stored reports stay readable both ways."""

from __future__ import annotations

from typing import Any

import boto3

from fleet_reports.demo import OWNER_ID

from tests.support.api import generate
from tests.support.lambdas import Lambdas

# Attribute -> DynamoDB type of a queued report, as generate has always written it.
QUEUED_ATTRIBUTES = {
    "pk": "S",
    "sk": "S",
    "id": "N",
    "pool": "N",
    "owner_id": "N",
    "type": "S",
    "title": "S",
    "created": "S",
    "created_ms": "N",
    "from": "S",
    "to": "S",
    "from_ms": "N",
    "to_ms": "N",
    "time_filter": "M",
    "plugin": "M",
    "trackers": "L",
    "employees": "L",
    "geocoder": "S",
    "include_places_in_address": "BOOL",
    "include_zones_in_address": "BOOL",
    "locale_info": "M",
    "state": "S",
    "percent": "N",
    "ttl": "N",
}


def raw_item(demo: Lambdas, report_id: int) -> dict[str, Any]:
    table = demo.resources.names["ReportsTable"]
    key = {"pk": {"S": f"POOL#{OWNER_ID}"}, "sk": {"S": f"REPORT#{report_id:012d}"}}
    item: dict[str, Any] = boto3.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    return item


def test_generate_writes_the_same_attributes_as_before(demo: Lambdas) -> None:
    # Given a report just generated
    report_id = generate(demo)
    # When its item is read raw
    item = raw_item(demo, report_id)
    # Then it has exactly the attributes, and the types, that reports have always had
    assert {name: next(iter(value)) for name, value in item.items()} == QUEUED_ATTRIBUTES
    assert item["state"] == {"S": "queued"} and item["percent"] == {"N": "0"}
    assert set(item["locale_info"]["M"]) == {"locale", "time_zone", "measurement_system"}


def test_a_finished_report_gains_its_document_and_files(demo: Lambdas) -> None:
    # Given a report the worker finished
    report_id = generate(demo)
    demo.run_worker()
    item = raw_item(demo, report_id)
    # Then the worker added its claim, the document (inline, binary) and the files' keys and sizes
    assert item["state"] == {"S": "done"} and item["percent"] == {"N": "100"}
    assert set(item) - set(QUEUED_ATTRIBUTES) == {"claim", "started", "final_attempt", "doc", "files"}
    assert "B" in item["doc"]
    files = item["files"]["M"]
    assert set(files) == {"xlsx", "xlsx-headless", "xls", "xls-headless", "pdf", "pdf-headless"}
    assert {k: set(v["M"]) for k, v in files.items()} == {k: {"key", "size"} for k in files}
    assert all("N" in v["M"]["size"] and "S" in v["M"]["key"] for v in files.values())
