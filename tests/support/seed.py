"""The seed: the documentation's trip report request and the report it answers.

The generate request is defined once, by ``events/generate.json`` (the API Gateway event that
``sam local invoke -e`` and tests/functions/test_events.py send): every test that sends the seed
request, or builds the seed report in-process, derives it from that file.

The seed report (tests/fixtures/seed_trip_report.json) is the documentation's ``retrieve``
example: report 5602232, a trip report (plugin 4) of tracker 311852 over 2020-10-06 in Moscow,
seven trips. :func:`seed_drive` is a drive that reproduces those trips and :func:`seed_context`
the engine's context for that request.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

from fleet_reports.engine.model import Place, ReportContext, Track, TrackerInfo
from fleet_reports.engine.report import build_report

from tests.support.drives import Drive
from tests.support.paths import EVENTS, FIXTURES
from tests.support.reports import loader


def load_event(name: str) -> dict[str, Any]:
    """A sample event of ``events/`` (a fresh copy)."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def seed_generate() -> dict[str, Any]:
    """The seed's generate request: the JSON body of ``events/generate.json`` (a fresh copy)."""
    body: dict[str, Any] = json.loads(load_event("generate.json")["body"])
    return body


# The seed request as the functions tests send it: the demo owner's hash, the trip report (plugin 4)
# of tracker 669673 from 2020-10-05 to 2020-10-06, all day.
SEED_GENERATE: dict[str, Any] = seed_generate()
# The days the ``demo`` fixture writes the demo fleet's tracks for: the seed's days with a margin.
SEED_DAYS = (date(2020, 10, 4), date(2020, 10, 5), date(2020, 10, 6), date(2020, 10, 7))

# ----------------------------------------------------------------------------- the seed report
SEED_REPORT = FIXTURES / "seed_trip_report.json"

# The seed's day: 2020-10-06 in Moscow (UTC+3).
FROM_MS = 1_601_931_600_000
TO_MS = 1_602_017_999_000
# The seed's trips: (from raw, to raw, km, max km/h); durations follow from the times.
SEED_TRIPS = [
    (1601934439000, 1601941188000, 106.29, 94),
    (1601943083000, 1601950218000, 106.97, 94),
    (1601959081000, 1601960075000, 10.03, 85),
    (1601960315000, 1601966165000, 95.31, 91),
    (1601966585000, 1601967190000, 0.95, 13),
    (1601969226000, 1601977017000, 108.48, 89),
    (1601980444000, 1601989300000, 95.79, 88),
]
SEED_ODOMETER_KM = 515_855.0
SEED_LABEL = "Samantha (Ford Focus)"
SEED_TRACKER = 311852


def load_seed_report() -> dict[str, Any]:
    """The seed's ``retrieve`` report (its ``report`` member)."""
    return dict(json.loads(SEED_REPORT.read_text(encoding="utf-8")))


def seed_drive() -> Track:
    """A drive that reproduces the seed's seven trips: each starts at the seed's "from" and ends at
    its "to" with the seed's length; a first part at the seed's max speed, the rest at the speed
    that makes the duration right."""
    step_ms = 10_000
    drive = Drive(t_ms=FROM_MS, lat=55.5311083, lng=36.96743)
    for k, (start, end, km, vmax) in enumerate(SEED_TRIPS):
        drive.halt_until(start - step_ms)
        bearing = 180.0 if k % 2 == 0 else 0.0
        fast_m = min(5_000.0, km * 250)
        drive.drive(fast_m, vmax, bearing)
        rest_s = (end - step_ms - drive.t_ms) / 1000
        drive.drive(km * 1000 - fast_m, (km * 1000 - fast_m) / rest_s * 3.6, bearing)
    drive.halt_until(TO_MS)
    return drive.track()


def seed_context(**changes: Any) -> ReportContext:
    """The engine's context of the seed report: the seed request's title, time filter and plugin
    options over the seed's day and tracker; ``changes`` replace fields."""
    request = seed_generate()
    ctx = ReportContext(
        report_id=5602232,
        title=request["title"],
        created="2020-10-06 16:01:46",
        period_from="2020-10-06 00:00:00",
        period_to="2020-10-06 23:59:59",
        from_ms=FROM_MS,
        to_ms=TO_MS,
        time_zone="Europe/Moscow",
        locale="en_US",
        measurement_system="metric",
        time_filter=request["time_filter"],
        plugin=request["plugin"],
        trackers=(
            TrackerInfo(
                SEED_TRACKER,
                SEED_LABEL,
                # The seed's account parks after 4 minutes (trips 3 and 4 are 4 minutes apart).
                trip_detection={"min_idle_duration": 180},
                odometer_base_km=SEED_ODOMETER_KM - sum(t[2] for t in SEED_TRIPS),
                odometer_base_ms=FROM_MS,
            ),
        ),
        places=(
            Place(
                "Selyatino", "Selyatino, Naro-Fominskii gor. okrug, Moscow Oblast, Russia, 143370", 55.5311083, 36.96743
            ),
        ),
    )
    return replace(ctx, **changes)


def run(ctx: ReportContext, tracks: dict[int, Track] | None = None) -> dict[str, Any]:
    """The report document of ``ctx`` over ``tracks``, by default the seed drive as the seed tracker."""
    return build_report(ctx, loader(tracks if tracks is not None else {SEED_TRACKER: seed_drive()}), lambda _: None)
