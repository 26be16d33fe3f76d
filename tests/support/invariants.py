"""Invariants every reliability test checks once the jobs queue is drained.

The reports table keeps, per report pool (a user), the count of its reports generating
(``POOL#<id>`` / ``ACTIVE``: ``{active}``), taken by generate and given back by the final state
change or the delete of an unfinished report (:mod:`fleet_reports.store.reports`). When nothing is
left to do, every count is back to zero and no report is still queued or running.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

_ACTIVE_STATES = ("queued", "running")


def _client(client: Any | None) -> Any:
    if client is not None:
        return client
    import boto3

    return boto3.client("dynamodb")


def _items(table_name: str, client: Any | None) -> list[dict[str, Any]]:
    """Every item of the reports table (a consistent scan), as plain Python values."""
    ddb, plain = _client(client), TypeDeserializer()
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        items.extend({k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"])
    return items


def _pool(item: dict[str, Any]) -> int:
    return int(str(item["pk"]).removeprefix("POOL#"))


def generating_counts(table_name: str, client: Any | None = None) -> dict[int, int]:
    """Each pool's count of reports generating, as its ``ACTIVE`` item holds it (pools that
    never generated have no item, hence no entry)."""
    return {
        _pool(item): int(item.get("active", 0))
        for item in _items(table_name, client)
        if str(item["pk"]).startswith("POOL#") and item["sk"] == "ACTIVE"
    }


def unfinished_reports(table_name: str, client: Any | None = None) -> dict[int, list[int]]:
    """Each pool's reports still queued or running (pools with none have no entry)."""
    out: dict[int, list[int]] = {}
    for item in _items(table_name, client):
        if str(item["sk"]).startswith("REPORT#") and item.get("state") in _ACTIVE_STATES:
            out.setdefault(_pool(item), []).append(int(str(item["sk"]).removeprefix("REPORT#")))
    return out


def assert_nothing_generating(table_name: str, client: Any | None = None, *, pools: tuple[int, ...] = ()) -> None:
    """Every pool's generating count is zero and no report is queued or running; each pool of
    ``pools`` (those the test generated for) has its count item, so the check is not vacuous."""
    counts = generating_counts(table_name, client)
    assert {pool: n for pool, n in counts.items() if n} == {}, f"reports still counted as generating: {counts}"
    assert set(pools) <= set(counts), f"no generating count for pools {set(pools) - set(counts)}: {counts}"
    unfinished = unfinished_reports(table_name, client)
    assert unfinished == {}, f"reports still queued or running: {unfinished}"
