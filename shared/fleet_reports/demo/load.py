"""Loading the demo fleet into the store: its manifest into the fleet table, its simulated days
into the track store. Only ever done on purpose (``make run`` does it for the local stack)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime

from fleet_reports.demo.drives import demo_track
from fleet_reports.demo.fleet import ACCESS, DEMO_TRACKERS, DemoAccess, demo_days
from fleet_reports.demo.manifest import demo_manifest
from fleet_reports.service.manifest import apply_manifest
from fleet_reports.store import odometer, tracks


def load_fleet() -> DemoAccess:
    """Apply the demo fleet's manifest (idempotent: a second call changes nothing)."""
    apply_manifest(demo_manifest(datetime.now(UTC).date()))
    return replace(ACCESS, tracker_ids=tuple(t.id for t in DEMO_TRACKERS))


def load_tracks(today: date, *, seed: int = 1) -> int:
    """Simulate and store every demo tracker's days, then their odometer summaries (for the
    trackers the fleet table knows: their trip settings are there); the number of fixes written."""
    jobs = [(t.id, d) for t in DEMO_TRACKERS for d in demo_days(today)]

    def one(job: tuple[int, date]) -> int:
        track = demo_track(job[0], job[1], seed=seed)
        if len(track):
            tracks.write_day(job[0], job[1], track)
        return len(track)

    def summary(tracker_id: int) -> None:
        settings = odometer.tracker_settings(tracker_id)
        if settings is not None:
            odometer.rebuild(tracker_id, settings)

    with ThreadPoolExecutor(max_workers=8) as pool:
        fixes = sum(pool.map(one, jobs))
        list(pool.map(summary, [t.id for t in DEMO_TRACKERS]))
    return fixes
