"""``list`` a page at a time: no pool, however large, makes one answer exceed Lambda's 6 MB response
or one call read the whole pool.

* A pool of up to ``LIST_PAGE_SIZE`` (1000) reports is answered whole, exactly as Navixy answers it
  (``{"success": true, "list": [...]}``, nothing more).
* A larger pool answers its newest 1000 and ``next_before_id``; ``before_id`` asks for the reports
  older than it. ``limit`` (1..1000) asks for fewer. Every report appears once, newest first.
* A page also ends at ``LIST_PAGE_MAX_BYTES`` of reports, whatever they hold.
* The reports table is read for at most one page (and one report more, to know whether another
  page follows).
"""

from __future__ import annotations

from typing import Any

import pytest

from fleet_reports.demo import OWNER_ID

from tests.support.api import HASH, generate
from tests.support.done_reports import put_done_reports
from tests.support.lambdas import Lambdas

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def put_reports(demo: Lambdas, count: int, *, trackers: int = 1, title: str = "Trip report") -> list[int]:
    """``count`` done reports straight into the owner's pool (as generate and the worker leave them);
    their ids, oldest first."""
    demo.use_env("ListFunction")
    table = demo.resources.names["ReportsTable"]
    return put_done_reports(table, OWNER_ID, count, first_tracker=669_673, trackers=trackers, title=title)


def listing(demo: Lambdas, **params: Any) -> tuple[int, dict[str, Any], int]:
    """``list`` with these parameters: (HTTP status, body, bytes of the response Lambda returns)."""
    import json

    from fleet_reports.local.gateway import api_event

    body = json.dumps({"hash": HASH, **params}).encode()
    result = demo.invoke(
        "ListFunction",
        api_event("POST", "/report/tracker/list", "", {"Content-Type": "application/json"}, body, "127.0.0.1"),
    )
    return int(result["statusCode"]), json.loads(result["body"]), len(json.dumps(result).encode())


def every_page(demo: Lambdas, **params: Any) -> tuple[list[int], int]:
    """Follow ``next_before_id`` to the end: every listed id in order, and the pages it took."""
    ids: list[int] = []
    pages = 0
    cursor: dict[str, Any] = {}
    while True:
        status, body, _ = listing(demo, **params, **cursor)
        assert status == 200, body
        pages += 1
        ids.extend(r["id"] for r in body["list"])
        if "next_before_id" not in body:
            return ids, pages
        cursor = {"before_id": body["next_before_id"]}


@pytest.fixture
def query_reads(demo: Lambdas, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The items each reports-table query of ``list`` returned."""
    from fleet_reports.store import reports as store

    reads: list[int] = []
    real_table = store._table

    class Counted:
        def __init__(self, table: Any) -> None:
            self._table = table

        def __getattr__(self, name: str) -> Any:
            return getattr(self._table, name)

        def query(self, **kwargs: Any) -> Any:
            resp = self._table.query(**kwargs)
            reads.append(len(resp.get("Items", [])))
            return resp

    monkeypatch.setattr(store, "_table", lambda: Counted(real_table()))
    return reads


# ============================================================================ small pools: Navixy's answer


def test_a_pool_that_fits_a_page_is_answered_whole_as_on_navixy(demo: Lambdas) -> None:
    # Given three reports in the owner's pool
    ids = [generate(demo) for _ in range(3)]

    # When the owner lists them, with no paging parameter
    status, body, _ = listing(demo)

    # Then the answer is Navixy's, and only that: success and the list, newest first
    assert status == 200
    assert set(body) == {"success", "list"}
    assert [r["id"] for r in body["list"]] == ids[::-1]


# ============================================================================ large pools: pages


def test_a_pool_over_a_page_is_listed_a_page_at_a_time(demo: Lambdas, query_reads: list[int]) -> None:
    # Given 1001 reports in the owner's pool: one more than a page
    from fleet_reports.service.models import LIST_PAGE_SIZE

    ids = put_reports(demo, LIST_PAGE_SIZE + 1)

    # When the owner lists them
    status, first, size = listing(demo)
    first_reads = sum(query_reads)
    query_reads.clear()
    # And asks for the rest, below the id the first page gave
    status2, second, _ = listing(demo, before_id=first["next_before_id"])

    # Then the first page holds the newest 1000 and says where the next starts; the second the last one
    assert (status, status2) == (200, 200)
    assert [r["id"] for r in first["list"]] == ids[::-1][:LIST_PAGE_SIZE]
    assert first["next_before_id"] == ids[1]
    assert [r["id"] for r in second["list"]] == [ids[0]]
    assert "next_before_id" not in second
    # And the table was read for one page at most (plus one report, to know that more follow)
    assert first_reads <= LIST_PAGE_SIZE + 1
    assert sum(query_reads) == 1
    # And the answer is far under Lambda's response limit
    assert size < LAMBDA_RESPONSE_LIMIT


def test_a_smaller_limit_pages_through_every_report_once(demo: Lambdas) -> None:
    # Given 7 reports
    ids = put_reports(demo, 7)

    # When the owner lists them 3 at a time, following next_before_id
    listed, pages = every_page(demo, limit=3)

    # Then every report comes once, newest first, in 3 pages
    assert listed == ids[::-1]
    assert pages == 3


def test_a_page_ends_at_its_byte_budget(demo: Lambdas, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 12 reports of 200 trackers each, and a page budget of about 5 of them
    from fleet_reports.service import reports as service

    ids = put_reports(demo, 12, trackers=200, title="T" * 256)
    _, whole, _ = listing(demo, limit=1)
    import json

    one = len(json.dumps(whole["list"][0], ensure_ascii=False, separators=(",", ":")).encode())
    monkeypatch.setattr(service, "LIST_PAGE_MAX_BYTES", one * 5 + 10)

    # When the owner lists them, page after page
    status, first, _ = listing(demo)
    listed, pages = every_page(demo)

    # Then each page stops at the budget, and the pages together still hold every report once
    assert status == 200
    assert len(first["list"]) == 5
    assert len(json.dumps(first["list"], ensure_ascii=False, separators=(",", ":")).encode()) <= one * 5 + 10
    assert listed == ids[::-1]
    assert pages == 3


def test_the_byte_budget_keeps_a_full_page_under_the_response_limit() -> None:
    # Given the page's byte budget and the largest report entry generate can make: 256 title
    # characters that JSON writes as 6 bytes each, and up to 1000 trackers of 16-digit ids
    from fleet_reports.service.reports import LIST_PAGE_MAX_BYTES

    worst_entry = 256 * 6 + 1000 * 17 + 4096  # title, trackers, every other field with room to spare
    envelope = 200 + 2 * 1024  # {"success":true,"list":[...],"next_before_id":N} and the headers

    # Then a page (which ends before its budget is passed) and its envelope stay under 6 MB
    assert LIST_PAGE_MAX_BYTES + worst_entry + envelope < LAMBDA_RESPONSE_LIMIT


# ============================================================================ bad paging parameters


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": True}, "limit"),
        ({"before_id": 0}, "before_id"),
        ({"before_id": "1" * 4300}, "before_id"),
        ({"before_id": -5}, "before_id"),
    ],
)
def test_bad_paging_parameters_are_refused_naming_them(demo: Lambdas, params: dict[str, Any], parameter: str) -> None:
    # Given a report in the pool
    report_id = generate(demo)

    # When the owner lists with a bad paging parameter
    status, body, _ = listing(demo, **params)

    # Then it is a 7 naming that parameter
    assert (status, body["status"]["code"]) == (400, 7)
    assert [e["parameter"] for e in body["errors"]] == [parameter]
    # And the pool is untouched: a plain list still answers the report
    assert [r["id"] for r in listing(demo)[1]["list"]] == [report_id]


def test_before_id_beyond_every_key_lists_from_the_newest(demo: Lambdas) -> None:
    # Given two reports
    ids = put_reports(demo, 2)

    # When listed below an id larger than any report key holds (but a valid id)
    status, body, _ = listing(demo, before_id=9_007_199_254_740_991)

    # Then every report is older than it
    assert status == 200
    assert [r["id"] for r in body["list"]] == ids[::-1]
