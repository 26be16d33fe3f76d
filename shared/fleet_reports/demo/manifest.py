"""The demo fleet as a fleet manifest (docs/manifest.md): users and their API keys, tariffs,
trackers with sensors, drivers in shifts, zones and places around the south-west of Moscow Oblast.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

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
    RUSSIAN_ID,
    demo_days,
    place_named,
)
from fleet_reports.service.manifest import Manifest

TARIFF_PRO, TARIFF_TRACKING = 1, 2
SAMANTHA, IVAN, OLGA, DMITRY, ANNA = 101, 102, 103, 104, 105
_MODELS = {
    669673: "Teltonika FMB920",
    123456: "Teltonika FMC130",
    345678: "Galileosky 7.0",
    456789: "Queclink GV300",
}
_EMPLOYEES = (
    (SAMANTHA, "Samantha", "Lee", "01A4C7E2100000B3"),
    (IVAN, "Ivan", "Petrov", "01A4C7E2100000C8"),
    (OLGA, "Olga", "Smirnova", "01A4C7E2100000D1"),
    (DMITRY, "Dmitry", "Volkov", "01A4C7E2100000E6"),
    (ANNA, "Anna", "Kuznetsova", "01A4C7E2100000F9"),
)
_DEPOTS = ("Cold store Podolsk", "Warehouse Chekhov", "Naro-Fominsk office")  # circles
_CUSTOMER_SITES = ("Rassudovo", 'KhP "Lesnoe ozero"', "Troitsk")  # polygons
_MAIN_ROAD = ("Selyatino", "Naro-Fominsk office", "Obninsk", "Protvino", "Serpukhov")  # a sausage


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, dt_time(0), tzinfo=ZoneInfo(DEMO_TIME_ZONE)) + timedelta(hours=hour)


def _assignments(today: date) -> list[dict[str, Any]]:
    """Drivers in shifts over the demo days (the dates of ``demo_days`` taken as local dates: the
    documentation's 2020-10-04..07 and the last ``RECENT_DAYS`` days): Samantha keeps the Focus
    all day; the reefer runs an early shift (05:00-11:00, until the shift change at the cold
    store) and a late one (11:00-17:00), Ivan and Olga swapping them every other week; Dmitry
    drives the truck 07:00-17:00; the sales rep's car has been Anna's since 2020-10-01 (an open
    assignment)."""
    days = demo_days(today)
    out: list[dict[str, Any]] = [{"employee": ANNA, "tracker": 456789, "from": _local(date(2020, 10, 1), 0)}]
    for day in days:
        early, late = (IVAN, OLGA) if day.isocalendar().week % 2 == 0 else (OLGA, IVAN)
        out += [
            {"employee": SAMANTHA, "tracker": 669673, "from": _local(day, 0), "to": _local(day, 24)},
            {"employee": early, "tracker": 123456, "from": _local(day, 5), "to": _local(day, 11)},
            {"employee": late, "tracker": 123456, "from": _local(day, 11), "to": _local(day, 17)},
            {"employee": DMITRY, "tracker": 345678, "from": _local(day, 7), "to": _local(day, 17)},
        ]
    return out


def _ring(lat: float, lng: float, radius_m: float, n: int, wobble: float) -> list[dict[str, float]]:
    """``n`` vertices around (lat, lng) at about ``radius_m``, deterministically irregular."""
    points = []
    for k in range(n):
        angle = 2 * math.pi * k / n + 0.3
        r = radius_m * (1.0 + wobble * math.sin(3.7 * k + 1.1))
        dlat = r * math.cos(angle) / 111_320.0
        dlng = r * math.sin(angle) / (111_320.0 * math.cos(math.radians(lat)))
        points.append({"lat": round(lat + dlat, 6), "lng": round(lng + dlng, 6)})
    return points


def _zones() -> list[dict[str, Any]]:
    zones: list[dict[str, Any]] = []
    for name in _DEPOTS:
        p = place_named(name)
        center = {"lat": p.lat, "lng": p.lng}
        zones.append(
            {
                "kind": "circle",
                "label": f"Depot: {name}",
                "address": p.address,
                "color": "27A9E3",
                "center": center,
                "radius": max(p.radius_m, 250.0),
            }
        )
    for name in _CUSTOMER_SITES:
        p = place_named(name)
        zones.append(
            {
                "kind": "polygon",
                "label": f"Customer: {name}",
                "address": p.address,
                "color": "F5A623",
                "points": _ring(p.lat, p.lng, p.radius_m, 6, 0.2),
            }
        )
    road = [{"lat": place_named(n).lat, "lng": place_named(n).lng} for n in _MAIN_ROAD]
    zones.append(
        {
            "kind": "sausage",
            "label": "Main road Selyatino - Serpukhov",
            "color": "7ED321",
            "points": road,
            "radius": 1500.0,
        }
    )
    return [{"id": n, "owner": OWNER_ID, **z} for n, z in enumerate(zones, start=1)]


def demo_manifest(today: date | None = None) -> Manifest:
    """The demo fleet as a fleet manifest: users and their API keys, tariffs, trackers with
    sensors, drivers in shifts over the demo days ending ``today`` (UTC today by default),
    zones and places around the south-west of Moscow Oblast."""
    today = today or datetime.now(UTC).date()
    tracker_ids = [t.id for t in DEMO_TRACKERS]
    users: list[dict[str, Any]] = [
        {
            "id": OWNER_ID,
            "login": ACCESS.owner_login,
            "password": ACCESS.owner_password,
            "time_zone": DEMO_TIME_ZONE,
            "locale": "en_US",
            "measurement_system": "metric",
            "api_keys": [ACCESS.owner_hash],
        },
        {
            "id": NO_RIGHTS_ID,
            "login": "dispatcher@fleet.example",
            "parent": OWNER_ID,
            "rights": ["tracking"],
            "trackers": tracker_ids,
            "time_zone": DEMO_TIME_ZONE,
            "api_keys": [ACCESS.no_reports_right_hash],
        },
        {
            "id": DEMO_MODE_ID,
            "login": "guest@fleet.example",
            "parent": OWNER_ID,
            "rights": ["reports", "tracking"],
            "trackers": [*tracker_ids, NO_REPORTS_TRACKER],
            "time_zone": DEMO_TIME_ZONE,
            "demo": True,
            "api_keys": [ACCESS.demo_mode_hash],
        },
        {  # the second language: Russian, another time zone (UTC+5), metric
            "id": RUSSIAN_ID,
            "login": "ru@fleet.example",
            "parent": OWNER_ID,
            "rights": ["reports", "tracking"],
            "trackers": tracker_ids,
            "time_zone": "Asia/Yekaterinburg",
            "locale": "ru_RU",
            "measurement_system": "metric",
            "api_keys": [ACCESS.russian_user_hash],
        },
        {
            "id": OTHER_ID,
            "login": "other@fleet.example",
            "time_zone": "Europe/Berlin",
            "api_keys": [ACCESS.other_user_hash],
        },
    ]
    trackers: list[dict[str, Any]] = [
        {
            "id": info.id,
            "label": info.label,
            "owner": OWNER_ID,
            "tariff": TARIFF_PRO,
            "model": _MODELS.get(info.id, ""),
            "odometer_base": None
            if info.odometer_base_km is None or info.odometer_base_ms is None
            else {"km": info.odometer_base_km, "at": datetime.fromtimestamp(info.odometer_base_ms / 1000, UTC)},
            "trip_detection": dict(info.trip_detection),
            "sensors": [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "sensor_type": s.sensor_type,
                    "name": s.name,
                    "input_name": s.input_name,
                    "units": s.units,
                    "divider": s.divider,
                }
                for s in info.sensors
            ],
        }
        for info in DEMO_TRACKERS
    ]
    trackers += [
        {"id": NO_REPORTS_TRACKER, "label": "Old tracker (no reports)", "owner": OWNER_ID, "tariff": TARIFF_TRACKING},
        {"id": OTHER_TRACKER, "label": "Someone else's van", "owner": OTHER_ID},
    ]
    return Manifest.model_validate(
        {
            "version": 1,
            "users": users,
            "tariffs": [
                {"id": TARIFF_PRO, "name": "Fleet Pro", "has_reports": True},
                {"id": TARIFF_TRACKING, "name": "Tracking only", "has_reports": False},
            ],
            "trackers": trackers,
            "employees": [
                {"id": i, "owner": OWNER_ID, "first_name": first, "last_name": last, "hardware_key": key}
                for i, first, last, key in _EMPLOYEES
            ],
            "assignments": _assignments(today),
            "zones": _zones(),
            "places": [
                {
                    "id": n,
                    "owner": OWNER_ID,
                    "label": p.name,
                    "address": p.address,
                    "lat": p.lat,
                    "lng": p.lng,
                    "radius": p.radius_m,
                }
                for n, p in enumerate(PLACES, start=1)
            ],
        }
    )
