"""The demo fleet: users, credentials, tariffs, trackers, places and simulated tracks.

Only ever loaded on purpose (``make run`` does it for the local stack); a deployed stack
starts empty, so the publicly documented example hash opens nothing there.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from fleet_reports.service.passwords import hash_password
from fleet_reports.store import fleet, tracks
from fleet_reports.store.records import (
    CredentialRecord,
    PlaceRecord,
    SensorRecord,
    TariffRecord,
    TrackerRecord,
    UserRecord,
)

SEED_HASH = "a6aa75587e5c59c32d347da438505fc3"  # the API documentation's example hash
SEED_REPORT_ID = 1234567  # the documentation's example report id
OWNER_ID, NO_RIGHTS_ID, DEMO_MODE_ID, OTHER_ID = 1001, 1002, 1003, 2001
NO_REPORTS_TRACKER, OTHER_TRACKER = 700001, 800001


def _hash(name: str) -> str:
    return hashlib.md5(f"fleet-reports-demo:{name}".encode()).hexdigest()


@dataclass(frozen=True)
class DemoAccess:
    owner_hash: str
    no_reports_right_hash: str
    demo_mode_hash: str
    other_user_hash: str
    owner_login: str
    owner_password: str
    tracker_ids: tuple[int, ...]


ACCESS = DemoAccess(
    owner_hash=SEED_HASH,
    no_reports_right_hash=_hash("sub-user-without-reports"),
    demo_mode_hash=_hash("demo-mode-user"),
    other_user_hash=_hash("other-user"),
    owner_login="demo@fleet.example",
    owner_password="demo-password",
    tracker_ids=(),
)


def load_fleet() -> DemoAccess:
    """Write the demo users, credentials, tariffs, trackers and places (idempotent)."""
    from fleet_reports.sim.demo import DEMO_TIME_ZONE, DEMO_TRACKERS, PLACES

    now = int(time.time())
    owner = UserRecord(
        user_id=OWNER_ID,
        login=ACCESS.owner_login,
        password_hash=hash_password(ACCESS.owner_password),
        time_zone=DEMO_TIME_ZONE,
        locale="en_US",
        measurement_system="metric",
    )
    tracker_ids = [t.id for t in DEMO_TRACKERS]
    users = [
        owner,
        UserRecord(
            user_id=NO_RIGHTS_ID,
            login="dispatcher@fleet.example",
            parent_id=OWNER_ID,
            rights=["tracking"],
            trackers=tracker_ids,
            time_zone=DEMO_TIME_ZONE,
        ),
        UserRecord(
            user_id=DEMO_MODE_ID,
            login="guest@fleet.example",
            parent_id=OWNER_ID,
            rights=["reports", "tracking"],
            trackers=[*tracker_ids, NO_REPORTS_TRACKER],
            time_zone=DEMO_TIME_ZONE,
            demo=True,
        ),
        UserRecord(user_id=OTHER_ID, login="other@fleet.example", time_zone="Europe/Berlin"),
    ]
    for user in users:
        fleet.put_user(user)
    keys = {
        ACCESS.owner_hash: OWNER_ID,
        ACCESS.no_reports_right_hash: NO_RIGHTS_ID,
        ACCESS.demo_mode_hash: DEMO_MODE_ID,
        ACCESS.other_user_hash: OTHER_ID,
    }
    for secret, user_id in keys.items():
        fleet.put_credential(secret, CredentialRecord(user_id=user_id, kind="api_key", created=now))

    fleet.put_tariff(TariffRecord(tariff_id=1, name="Fleet Pro", has_reports=True))
    fleet.put_tariff(TariffRecord(tariff_id=2, name="Tracking only", has_reports=False))
    for info in DEMO_TRACKERS:
        fleet.put_tracker(
            TrackerRecord(
                tracker_id=info.id,
                owner_id=OWNER_ID,
                label=info.label,
                tariff_id=1,
                odometer_base_km=info.odometer_base_km,
                odometer_base_ms=info.odometer_base_ms,
                trip_detection=dict(info.trip_detection),
                sensors=[
                    SensorRecord.model_validate(
                        {
                            "id": s.id,
                            "name": s.name,
                            "input_name": s.input_name,
                            "kind": s.kind,
                            "sensor_type": s.sensor_type,
                            "units": s.units,
                            "divider": s.divider,
                        }
                    )
                    for s in info.sensors
                ],
            )
        )
    fleet.put_tracker(
        TrackerRecord(tracker_id=NO_REPORTS_TRACKER, owner_id=OWNER_ID, label="Old tracker (no reports)", tariff_id=2)
    )
    fleet.put_tracker(TrackerRecord(tracker_id=OTHER_TRACKER, owner_id=OTHER_ID, label="Someone else's van"))
    for n, place in enumerate(PLACES, start=1):
        fleet.put_place(
            PlaceRecord(
                place_id=n,
                owner_id=OWNER_ID,
                name=place.name,
                address=place.address,
                lat=place.lat,
                lng=place.lng,
                radius_m=place.radius_m,
            )
        )
    return DemoAccess(**{**ACCESS.__dict__, "tracker_ids": tuple(tracker_ids)})


def load_tracks(today: date, *, seed: int = 1) -> int:
    """Simulate and store every demo tracker's days; the number of fixes written."""
    from fleet_reports.sim.demo import DEMO_TRACKERS, demo_days, demo_track

    jobs = [(t.id, d) for t in DEMO_TRACKERS for d in demo_days(today)]

    def one(job: tuple[int, date]) -> int:
        track = demo_track(job[0], job[1], seed=seed)
        if len(track):
            tracks.write_day(job[0], job[1], track)
        return len(track)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(one, jobs))
