"""The demo fleet: who is in it, its manifest, its simulated tracks, and loading it.

- :mod:`~fleet_reports.demo.fleet`: the time zone and days, places, trackers, the users' access
  hashes and ids (plain data);
- :mod:`~fleet_reports.demo.manifest`: the fleet as a fleet manifest (``demo_manifest``);
- :mod:`~fleet_reports.demo.routes`: the spots where vehicles park and the roads between them;
- :mod:`~fleet_reports.demo.drives`: each tracker's simulated days (``demo_track``,
  ``demo_local_day``);
- :mod:`~fleet_reports.demo.load`: the manifest and the tracks into the store (``load_fleet``,
  ``load_tracks``).

Only ever loaded on purpose (``make run`` does it for the local stack); a deployed stack starts
empty, so the publicly documented example hash opens nothing there. The package sits above
``service`` and ``sim`` (it uses both); only the local stack, the CLI, scripts and tests import it.
"""

from __future__ import annotations

from fleet_reports.demo.drives import demo_local_day, demo_track
from fleet_reports.demo.fleet import (
    ACCESS,
    DEMO_MODE_ID,
    DEMO_TIME_ZONE,
    DEMO_TRACKERS,
    NO_REPORTS_TRACKER,
    NO_RIGHTS_ID,
    OTHER_ID,
    OTHER_TRACKER,
    OWNER_ID,
    PLACES,
    RECENT_DAYS,
    RUSSIAN_ID,
    SEED_DAYS,
    SEED_HASH,
    SEED_REPORT_ID,
    DemoAccess,
    demo_days,
    place_named,
)
from fleet_reports.demo.load import load_fleet, load_tracks
from fleet_reports.demo.manifest import demo_manifest

__all__ = [
    "ACCESS",
    "DEMO_MODE_ID",
    "DEMO_TIME_ZONE",
    "DEMO_TRACKERS",
    "NO_REPORTS_TRACKER",
    "NO_RIGHTS_ID",
    "OTHER_ID",
    "OTHER_TRACKER",
    "OWNER_ID",
    "PLACES",
    "RECENT_DAYS",
    "RUSSIAN_ID",
    "SEED_DAYS",
    "SEED_HASH",
    "SEED_REPORT_ID",
    "DemoAccess",
    "demo_days",
    "demo_local_day",
    "demo_manifest",
    "demo_track",
    "load_fleet",
    "load_tracks",
    "place_named",
]
