"""The plan of an apply: what the store holds (read once), the problems found, and the writes.

:class:`Plan` is the state every step of :func:`~fleet_reports.service.manifest.apply_manifest`
shares: the manifest indexed by id, cached store reads, the problems, the counts per kind and
outcome, and the queued writes. :func:`plan_writes` lists the creates and updates (only what
differs from the store); :mod:`.references` checks what the manifest leaves to the store first,
and :mod:`.prune` adds the removals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fleet_reports.service.manifest.checks import key_digest, to_ms
from fleet_reports.service.manifest.schema import (
    Assignment,
    CircleZone,
    Manifest,
    PolygonZone,
    Problem,
    Zone,
)
from fleet_reports.service.passwords import hash_password, verify_password
from fleet_reports.store import fleet
from fleet_reports.store.records import (
    AssignmentRecord,
    CredentialRecord,
    EmployeeRecord,
    PlaceRecord,
    SensorRecord,
    TariffRecord,
    TrackerRecord,
    UserRecord,
    ZoneRecord,
)

KINDS = ("users", "api_keys", "tariffs", "trackers", "employees", "assignments", "zones", "places")
OUTCOMES = ("created", "updated", "unchanged", "pruned")


@dataclass(frozen=True)
class ApplySummary:
    """kind -> {"created": n, "updated": n, "unchanged": n, "pruned": n}, every kind present."""

    counts: dict[str, dict[str, int]]

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] or c["pruned"] for c in self.counts.values())

    def lines(self) -> list[str]:
        width = max(len(k) for k in self.counts)
        return [f"{kind:<{width}}  " + ", ".join(f"{c[o]} {o}" for o in OUTCOMES) for kind, c in self.counts.items()]


def _same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a.model_dump() == b.model_dump()


class Plan:
    """What every step of an apply shares: the manifest indexed by id, the store's records
    (each read once), the problems, the counts and the queued writes."""

    def __init__(self, manifest: Manifest, *, prune: bool, dry_run: bool) -> None:
        self.m, self.prune, self.dry_run = manifest, prune, dry_run
        self.problems: list[Problem] = []
        self.ops: list[Callable[[], None]] = []
        self.counts = {k: dict.fromkeys(OUTCOMES, 0) for k in KINDS}
        self.now = int(time.time())
        self.users_in = {u.id: u for u in manifest.users}
        self.masters_in = [u.id for u in manifest.users if u.parent is None]
        self.trackers_in = {t.id: t for t in manifest.trackers}
        self.tariffs_in = {t.id for t in manifest.tariffs}
        self.employees_in = {(e.owner, e.id): e for e in manifest.employees}
        self.employee_owner = {e.id: e.owner for e in manifest.employees}
        self._users: dict[int, UserRecord | None] = {}
        self._owned: dict[int, fleet.Owned] = {}
        self._tariffs: dict[int, TariffRecord | None] = {}
        self.creds: dict[str, CredentialRecord | None] = {}
        self.stored_trackers: dict[int, TrackerRecord] = {}
        self.pruned_trackers: dict[int, int] = {}  # tracker -> owner
        self.pruned_subs: set[int] = set()
        self.intervals: dict[int, tuple[int, int, int | None]] = {}  # assignment index -> owner, from, to

    # --- store reads (cached) ------------------------------------------------------------
    def user(self, user_id: int) -> UserRecord | None:
        if user_id not in self._users:
            self._users[user_id] = fleet.get_user(user_id)
        return self._users[user_id]

    def owned(self, user_id: int) -> fleet.Owned:
        if user_id not in self._owned:
            self._owned[user_id] = fleet.list_owned(user_id)
        return self._owned[user_id]

    def tariff(self, tariff_id: int) -> TariffRecord | None:
        if tariff_id not in self._tariffs:
            self._tariffs[tariff_id] = fleet.get_tariff(tariff_id)
        return self._tariffs[tariff_id]

    def time_zone(self, user_id: int) -> str:
        if user_id in self.users_in:
            return self.users_in[user_id].time_zone
        stored = self.user(user_id)
        return stored.time_zone if stored is not None else "UTC"

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[kind][outcome] += n

    def write(self, kind: str, stored: Any, record: Any, op: Callable[[], None], *, linked: bool = True) -> None:
        """Count ``record`` against ``stored`` and queue ``op`` unless nothing changes."""
        if stored is None:
            self.count(kind, "created")
        elif _same(stored, record) and linked:
            self.count(kind, "unchanged")
            return
        else:
            self.count(kind, "updated")
        self.ops.append(op)

    def resolved(self) -> list[tuple[Assignment, tuple[int, int, int | None]]]:
        """The manifest's assignments with their owner and interval (ms), once resolved."""
        return [(a, self.intervals[i]) for i, a in enumerate(self.m.assignments)]

    def summary(self) -> ApplySummary:
        """The counts so far, per kind and outcome."""
        return ApplySummary({k: dict(v) for k, v in self.counts.items()})


# --- the writes ----------------------------------------------------------------------------


def plan_writes(plan: Plan) -> None:
    """Queue the creates and updates, in order: tariffs and users (with their API keys),
    trackers, then what users own (employees, zones, places, assignments)."""
    _tariffs_and_users(plan)
    _trackers(plan)
    _owned_entities(plan)


def _tariffs_and_users(plan: Plan) -> None:
    for t in plan.m.tariffs:
        tariff = TariffRecord(tariff_id=t.id, name=t.name, has_reports=t.has_reports)
        plan.write("tariffs", plan.tariff(t.id), tariff, partial(fleet.put_tariff, tariff))
    for u in plan.m.users:
        stored = plan.user(u.id)
        password_hash = stored.password_hash if stored is not None else ""
        changed = False
        if u.password is not None:
            secret = u.password.get_secret_value()
            if not (password_hash and verify_password(secret, password_hash)):
                changed = True
                password_hash = "" if plan.dry_run else hash_password(secret)
        rec = UserRecord(
            user_id=u.id,
            login=u.login,
            password_hash=password_hash,
            parent_id=u.parent,
            rights=list(u.rights),
            trackers=list(u.trackers),
            time_zone=u.time_zone,
            locale=u.locale,
            measurement_system=u.measurement_system,
            demo=u.demo,
            blocked=u.blocked,
        )
        linked = not changed and (u.parent is None or u.id in plan.owned(u.parent).sub_user_ids)
        plan.write("users", stored, rec, partial(fleet.put_user, rec, previous=stored), linked=linked)
        for key in u.api_keys:
            _api_key(plan, u.id, u.parent, key_digest(key))


def _api_key(plan: Plan, user_id: int, master_id: int | None, d: str) -> None:
    cred = plan.creds.get(d)
    same = cred is not None and cred.user_id == user_id and cred.master_id == master_id
    if same and d in plan.owned(user_id).api_key_digests:
        plan.count("api_keys", "unchanged")
        return
    plan.count("api_keys", "created" if cred is None else "updated")
    if cred is not None and cred.user_id != user_id:
        plan.ops.append(partial(fleet.delete_api_key, d, cred.user_id))
    created = cred.created if cred is not None else plan.now
    rec = CredentialRecord(user_id=user_id, kind="api_key", created=created, master_id=master_id)
    plan.ops.append(partial(fleet.put_credential_digest, d, rec))


def _trackers(plan: Plan) -> None:
    for t in plan.m.trackers:
        base = t.odometer_base
        rec = TrackerRecord(
            tracker_id=t.id,
            owner_id=t.owner,
            label=t.label,
            tariff_id=t.tariff,
            model=t.model,
            odometer_base_km=base.km if base is not None else None,
            odometer_base_ms=to_ms(base.at, plan.time_zone(t.owner)) if base is not None else None,
            trip_detection=dict(t.trip_detection),
            sensors=[
                SensorRecord(
                    id=s.id,
                    name=s.name,
                    input_name=s.input_name,
                    kind=s.kind,
                    sensor_type=s.sensor_type,
                    units=s.units,
                    divider=s.divider,
                )
                for s in t.sensors
            ],
        )
        stored = plan.stored_trackers.get(t.id)
        linked = t.id in plan.owned(t.owner).tracker_ids
        plan.write("trackers", stored, rec, partial(fleet.put_tracker, rec, previous=stored), linked=linked)


def _owned_entities(plan: Plan) -> None:
    for e in plan.m.employees:
        emp = EmployeeRecord(
            employee_id=e.id,
            owner_id=e.owner,
            first_name=e.first_name,
            last_name=e.last_name,
            hardware_key=e.hardware_key,
        )
        old_emp = next((x for x in plan.owned(e.owner).employees if x.employee_id == e.id), None)
        plan.write("employees", old_emp, emp, partial(fleet.put_employee, emp))
    for z in plan.m.zones:
        zone = zone_record(z)
        old_zone = next((x for x in plan.owned(z.owner).zones if x.zone_id == z.id), None)
        plan.write("zones", old_zone, zone, partial(fleet.put_zone, zone))
    for p in plan.m.places:
        place = PlaceRecord(
            place_id=p.id,
            owner_id=p.owner,
            name=p.label,
            address=p.address,
            lat=p.lat,
            lng=p.lng,
            radius_m=p.radius,
        )
        old_place = next((x for x in plan.owned(p.owner).places if x.place_id == p.id), None)
        plan.write("places", old_place, place, partial(fleet.put_place, place))
    for a, (owner, start, end) in plan.resolved():
        rec = AssignmentRecord(owner_id=owner, tracker_id=a.tracker, employee_id=a.employee, from_ms=start, to_ms=end)
        old = next((x for x in plan.owned(owner).assignments if (x.tracker_id, x.from_ms) == (a.tracker, start)), None)
        plan.write("assignments", old, rec, partial(fleet.put_assignment, rec))


def zone_record(zone: Zone) -> ZoneRecord:
    """A manifest zone as the fleet table stores it."""
    common: dict[str, Any] = {
        "zone_id": zone.id,
        "owner_id": zone.owner,
        "label": zone.label,
        "kind": zone.kind,
        "address": zone.address,
        "color": zone.color,
    }
    if isinstance(zone, CircleZone):
        return ZoneRecord(**common, center=(zone.center.lat, zone.center.lng), radius_m=zone.radius)
    points = [(p.lat, p.lng) for p in zone.points]
    if isinstance(zone, PolygonZone):
        return ZoneRecord(**common, points=points)
    return ZoneRecord(**common, points=points, radius_m=zone.radius)
