"""A report reads the drivers of its period, never a tracker's whole history of drivers.

The worker names each trip's driver from the trackers' assignments (``service.worker._driver_shifts``).
It used to read every assignment the owner ever made; now each tracker's are read backwards from
the period's end until one ended before it began (``store.fleet.assignments_during``): a tracker has
one driver at a time, so its assignments end in the order they start.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.lambdas import Lambdas

OWNER = 77
DAY_MS = 86_400_000
START_MS = 1_500_000_000_000  # 2017-07-14
YEARS = 3
TRACKER, NEIGHBOUR = 1, 12  # ASSIGN#1#... and ASSIGN#12#...: the one's keys are no prefix of the other's


@pytest.fixture
def shifts(lambdas: Lambdas) -> list[Any]:
    """TRACKER driven in daily shifts 06:00 - 18:00 for YEARS years, then an open assignment;
    NEIGHBOUR driven the whole time by one driver (its assignment still open)."""
    from fleet_reports.store import fleet
    from fleet_reports.store.records import AssignmentRecord

    lambdas.use_env("WorkerFunction")
    made: list[AssignmentRecord] = []
    days = 365 * YEARS
    for d in range(days):
        begin = START_MS + d * DAY_MS + 6 * 3_600_000
        made.append(
            AssignmentRecord(
                owner_id=OWNER, tracker_id=TRACKER, employee_id=d % 7, from_ms=begin, to_ms=begin + 12 * 3_600_000
            )
        )
    made.append(AssignmentRecord(owner_id=OWNER, tracker_id=TRACKER, employee_id=99, from_ms=START_MS + days * DAY_MS))
    made.append(AssignmentRecord(owner_id=OWNER, tracker_id=NEIGHBOUR, employee_id=5, from_ms=START_MS))
    for a in made:
        fleet.put_assignment(a)
    return made


@pytest.fixture
def items_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many items each query of the fleet table returned."""
    from fleet_reports.store import fleet

    counts: list[int] = []
    real = fleet._table

    class Counting:
        def __init__(self, table: Any) -> None:
            self.table = table

        def query(self, **kwargs: Any) -> Any:
            answer = self.table.query(**kwargs)
            counts.append(len(answer.get("Items", [])))
            return answer

        def __getattr__(self, name: str) -> Any:
            return getattr(self.table, name)

    monkeypatch.setattr(fleet, "_table", lambda: Counting(real()))
    yield counts


def overlapping(made: list[Any], tracker: int, from_ms: int, to_ms: int) -> list[tuple[int, int, int | None]]:
    """The truth: the assignments made for ``tracker`` that overlap the period (to exclusive)."""
    return [
        (a.employee_id, a.from_ms, a.to_ms)
        for a in made
        if a.tracker_id == tracker and a.from_ms <= to_ms and (a.to_ms is None or a.to_ms > from_ms)
    ]


def test_one_days_drivers_are_read_without_the_years_before(shifts: list[Any], items_read: list[int]) -> None:
    from fleet_reports.store import fleet

    # Given three years of daily shifts on the tracker
    day = START_MS + 400 * DAY_MS

    # When the drivers of one day in the middle are read
    got = fleet.assignments_during(OWNER, TRACKER, day, day + DAY_MS - 1)

    # Then that day's shift, and a few items read: not the 400 days before it
    assert [(a.employee_id, a.from_ms, a.to_ms) for a in got] == overlapping(shifts, TRACKER, day, day + DAY_MS - 1)
    assert len(got) == 1
    assert sum(items_read) <= fleet.ASSIGNMENTS_PAGE


def test_any_period_gets_exactly_the_assignments_that_overlap_it(shifts: list[Any]) -> None:
    from fleet_reports.store import fleet

    # Given the shifts, and periods of every kind: random ones, whole months, ones that begin
    # where a shift ends (to is exclusive), end where one begins (from is inclusive), reach the
    # open assignment, or lie before the first
    rng = random.Random(7)
    end = START_MS + 365 * YEARS * DAY_MS
    periods = [
        (s, s + rng.randint(1, 45) * 3_600_000)
        for s in (rng.randint(START_MS - 5 * DAY_MS, end + 5 * DAY_MS) for _ in range(25))
    ]
    periods += [
        (START_MS + 30 * DAY_MS, START_MS + 61 * DAY_MS),
        (START_MS + 18 * 3_600_000, START_MS + DAY_MS + 6 * 3_600_000),  # a shift's end .. the next one's start
        (end - DAY_MS, end + 10 * DAY_MS),
        (START_MS - 10 * DAY_MS, START_MS - DAY_MS),
    ]

    # When each is read, for the tracker and its neighbour
    for from_ms, to_ms in periods:
        for tracker in (TRACKER, NEIGHBOUR):
            got = fleet.assignments_during(OWNER, tracker, from_ms, to_ms)

            # Then it is exactly the truth, by start time
            assert [(a.employee_id, a.from_ms, a.to_ms) for a in got] == overlapping(shifts, tracker, from_ms, to_ms), (
                tracker,
                from_ms,
                to_ms,
            )


def test_a_report_names_the_drivers_of_its_period(shifts: list[Any]) -> None:
    from fleet_reports.service.worker import _driver_shifts

    # Given the two trackers' assignments
    from_ms = START_MS + 700 * DAY_MS
    to_ms = from_ms + 2 * DAY_MS - 1

    # When a two-day report's driver shifts are gathered
    got = _driver_shifts(OWNER, [NEIGHBOUR, TRACKER, TRACKER], from_ms, to_ms)

    # Then each tracker's overlapping assignments, in key order (tracker 1 before 12), named by id
    want = [(TRACKER, e, f, t) for e, f, t in overlapping(shifts, TRACKER, from_ms, to_ms)]
    want += [(NEIGHBOUR, e, f, t) for e, f, t in overlapping(shifts, NEIGHBOUR, from_ms, to_ms)]
    assert [(s.tracker_id, s.employee_id, s.from_ms, s.to_ms) for s in got] == want
    assert len(want) == 3 and {s.driver_name for s in got} == {f"#{e}" for _, e, _, _ in want}
