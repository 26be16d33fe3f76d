"""Plugin 8, Geofence visits: the unit tests' zones along a road due north, a drive through them, the context."""

from __future__ import annotations

from typing import Any

from fleet_reports.engine.model import ReportContext, Track, TrackerInfo, Zone
from fleet_reports.sim import geo
from fleet_reports.sim.drive import Scenario

from tests.support.moscow import DAY_MS, FROM_MS, T0, TO_MS, A, two_days

__all__ = ["DAY_MS", "FROM_MS", "T0", "TO_MS", "A"]  # the shared period, re-exported for the tests that read it here
TRACKER = TrackerInfo(101, "Van 1")
OTHER = TrackerInfo(102, "Van 2")


def north(metres: float, origin: tuple[float, float] = A) -> tuple[float, float]:
    lat, lng = geo.destination(origin[0], origin[1], 0.0, metres)
    return float(lat), float(lng)


def east(metres: float, origin: tuple[float, float] = A) -> tuple[float, float]:
    lat, lng = geo.destination(origin[0], origin[1], 90.0, metres)
    return float(lat), float(lng)


# Along the road due north of A: a circle of 500 m at 5 km, a 1 km square polygon at 8 km
# (entered and left through its south and north sides), a sausage over the last 2 km; and a
# circle the van never reaches.
CIRCLE = Zone(1, "Depot", "circle", north(5000.0), 500.0, address="Depot street 1")
SQUARE = Zone(
    2,
    "Customer",
    "polygon",
    points=(
        east(-500.0, north(7500.0)),
        east(500.0, north(7500.0)),
        east(500.0, north(8500.0)),
        east(-500.0, north(8500.0)),
    ),
)
ROAD = Zone(3, "Main road", "sausage", radius_m=100.0, points=(north(8800.0), north(11_000.0)))
FAR = Zone(4, "Far away", "circle", east(30_000.0), 300.0, address="Nowhere 5")
ZONES = (CIRCLE, SQUARE, ROAD, FAR)


def drive_north(start_ms: int = T0, km: float = 10.0, kmh: float = 72.0) -> Track:
    """Park 10 min at A, drive due north ``km`` at a constant ``kmh`` (ramps at the ends), park 10 min."""
    sc = Scenario(start_ms, *A, interval_s=10.0, noise=False)
    sc.park(10).drive([north(km * 1000.0)], cruise_kmh=kmh, road=False, variation=0.0).park(10)
    return sc.build()[0]


def context(trackers: tuple[TrackerInfo, ...] = (TRACKER,), **plugin: Any) -> ReportContext:
    """The geofence visits report (plugin 8) of ``trackers`` over 2020-10-06 and -07 in Moscow, with :data:`ZONES`."""
    return two_days(
        1,
        "Geofence visits report",
        {"plugin_id": 8, "show_seconds": True, "min_minutes_in_zone": 0, **plugin},
        trackers,
        zones=ZONES,
    )
