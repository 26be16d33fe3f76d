"""Who is in the demo fleet: its time zone and days, places, trackers, and the users' access.

Plain data (no simulation, no store): :mod:`~fleet_reports.demo.manifest` writes it as a fleet
manifest and :mod:`~fleet_reports.demo.drives` simulates the trackers' days.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from fleet_reports.engine.model import Place, SensorInfo, TrackerInfo

DEMO_TIME_ZONE = "Europe/Moscow"
SEED_DAYS: tuple[dt.date, ...] = tuple(dt.date(2020, 10, d) for d in range(4, 8))
RECENT_DAYS = 15

# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------

PLACES: tuple[Place, ...] = (
    Place("Selyatino", "Selyatino, Naro-Fominskii gor. okrug, Moscow Oblast, Russia, 143370", 55.5311, 36.9674, 800.0),
    Place("Serpukhov", "Serpukhov, Moscow Oblast, Russia, 142253", 54.9218, 37.3355, 1500.0),
    Place(
        "Rassudovo",
        "Khievskii pereulok, 10, TNKh, Rassudovo, Troitsky Administrative Okrug, Moscow, Russia, 143340",
        55.4666,
        36.9217,
        300.0,
    ),
    Place(
        'KhP "Lesnoe ozero"',
        'KhP "Lesnoe ozero", Dernopol\'e, gor. okrug Serpukhov, Moscow Oblast, Russia, 142279',
        54.9875,
        37.3093,
        400.0,
    ),
    Place("Cold store Podolsk", "Podolsk, Moscow Oblast, Russia, 142116", 55.4115, 37.5532, 300.0),
    Place("Warehouse Chekhov", "Chekhov, Moscow Oblast, Russia, 142300", 55.1519, 37.4791, 300.0),
    Place("Naro-Fominsk office", "Naro-Fominsk, Moscow Oblast, Russia, 143300", 55.3856, 36.7340, 500.0),
    Place("Troitsk", "Troitsk, Moscow, Russia, 108840", 55.4847, 37.3072, 1200.0),
    Place("Aprelevka", "Aprelevka, Naro-Fominskii gor. okrug, Moscow Oblast, Russia, 143360", 55.5450, 37.0735, 800.0),
    Place("Vidnoye", "Vidnoye, Leninskii gor. okrug, Moscow Oblast, Russia, 142700", 55.5517, 37.7086, 1000.0),
    Place("Domodedovo", "Domodedovo, Moscow Oblast, Russia, 142000", 55.4364, 37.7665, 1000.0),
    Place("Podolsk", "Podolsk, Moscow Oblast, Russia, 142100", 55.4312, 37.5447, 1000.0),
    Place("Chekhov", "Chekhov, Moscow Oblast, Russia, 142301", 55.1426, 37.4545, 800.0),
    Place("Protvino", "Protvino, Moscow Oblast, Russia, 142280", 54.8707, 37.2181, 800.0),
    Place("Obninsk", "Obninsk, Kaluga Oblast, Russia, 249030", 55.0968, 36.6101, 1200.0),
    Place("Kubinka", "Kubinka, Odintsovskii gor. okrug, Moscow Oblast, Russia, 143070", 55.5762, 36.6951, 800.0),
)

# --------------------------------------------------------------------------------------------
# Trackers
# --------------------------------------------------------------------------------------------


def _ignition(sensor_id: int) -> SensorInfo:
    return SensorInfo(sensor_id, "Ignition", "ignition", kind="discrete", sensor_type="ignition")


def _voltage(sensor_id: int) -> SensorInfo:
    return SensorInfo(sensor_id, "Board voltage", "power", sensor_type="voltage", units="V")


def _fuel(sensor_id: int) -> SensorInfo:
    return SensorInfo(sensor_id, "Fuel level", "fuel", sensor_type="fuel", units="l")


_BASE_MS = 1_601_769_600_000  # 2020-10-04 00:00:00 UTC

DEMO_TRACKERS: tuple[TrackerInfo, ...] = (
    TrackerInfo(669673, "Samantha (Ford Focus)", (_ignition(669001), _voltage(669002))),
    TrackerInfo(
        123456,
        "Refrigerated van (Ford Transit)",
        (
            SensorInfo(123456, "Cargo temperature", "temp1", sensor_type="temperature", units="°C"),
            _fuel(123457),
            _ignition(123458),
        ),
    ),
    TrackerInfo(
        345678,
        "Delivery truck (GAZelle Next)",
        (_fuel(345001), _ignition(345002), _voltage(345003)),
        odometer_base_km=48_210.0,
        odometer_base_ms=_BASE_MS,
    ),
    TrackerInfo(456789, "Sales rep (Skoda Octavia)"),
)


# --------------------------------------------------------------------------------------------
# Users and their access
# --------------------------------------------------------------------------------------------

SEED_HASH = "a6aa75587e5c59c32d347da438505fc3"  # the API documentation's example hash
SEED_REPORT_ID = 1234567  # the documentation's example report id
OWNER_ID, NO_RIGHTS_ID, DEMO_MODE_ID, RUSSIAN_ID, OTHER_ID = 1001, 1002, 1003, 1004, 2001
NO_REPORTS_TRACKER, OTHER_TRACKER = 700001, 800001


def _hash(name: str) -> str:
    return hashlib.md5(f"fleet-reports-demo:{name}".encode()).hexdigest()


@dataclass(frozen=True)
class DemoAccess:
    owner_hash: str
    no_reports_right_hash: str
    demo_mode_hash: str
    other_user_hash: str
    russian_user_hash: str
    owner_login: str
    owner_password: str
    tracker_ids: tuple[int, ...]


ACCESS = DemoAccess(
    owner_hash=SEED_HASH,
    no_reports_right_hash=_hash("sub-user-without-reports"),
    demo_mode_hash=_hash("demo-mode-user"),
    other_user_hash=_hash("other-user"),
    russian_user_hash=_hash("russian-user"),
    owner_login="demo@fleet.example",
    owner_password="demo-password",
    tracker_ids=(),
)


# --------------------------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------------------------


def demo_days(today: dt.date) -> list[dt.date]:
    """The UTC days the demo fleet has tracks for: 2020-10-04..07 (around the documentation's
    example dates) and the ``RECENT_DAYS`` days up to and including ``today``."""
    recent = {today - dt.timedelta(days=k) for k in range(RECENT_DAYS)}
    return sorted(set(SEED_DAYS) | recent)


def place_named(name: str) -> Place:
    """A demo place by its name."""
    for p in PLACES:
        if p.name == name:
            return p
    raise KeyError(name)
