"""Applying a manifest to the fleet table (idempotently) and exporting what the table holds.

``apply_manifest`` reads what the store has for the manifest's entities, resolves the
references the manifest leaves to the store, and raises ``ManifestError`` before writing
anything if a reference does not resolve. Then it writes only what differs: applying the same
manifest twice reports every entity ``unchanged`` the second time (a password is compared with
the stored scrypt hash, never re-hashed when it still matches).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from fleet_reports.service.manifest.checks import Interval, check_manifest, key_digest, overlap_problems, to_ms
from fleet_reports.service.manifest.schema import (
    Assignment,
    CircleZone,
    Manifest,
    ManifestError,
    PolygonZone,
    Problem,
    Zone,
    entity_where,
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


class _Plan:
    """Reads the store once, checks what the manifest leaves to it, lists the writes."""

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

    # --- resolution --------------------------------------------------------------------------
    def load(self) -> None:
        m = self.m
        ids = set(self.trackers_in) | {t for u in m.users for t in u.trackers} | {a.tracker for a in m.assignments}
        for uid in self.masters_in:
            ids |= set(self.owned(uid).tracker_ids)
        self.stored_trackers = fleet.get_trackers(ids)
        if not self.prune:
            return
        for uid in self.masters_in:
            owned = self.owned(uid)
            for tid in owned.tracker_ids:
                rec = self.stored_trackers.get(tid)
                if tid not in self.trackers_in and rec is not None and rec.owner_id == uid:
                    self.pruned_trackers[tid] = uid
            for sid in owned.sub_user_ids:
                sub = self.user(sid)
                if sid not in self.users_in and sub is not None and sub.parent_id == uid:
                    self.pruned_subs.add(sid)

    def master(self, where: str, user_id: int) -> None:
        """``user_id`` must be a master user: in the manifest (checked already) or in the store."""
        if user_id in self.users_in:
            return
        stored = self.user(user_id)
        if stored is None:
            self.add(where, f"user {user_id} is neither in the manifest nor in the store")
        elif stored.parent_id is not None:
            self.add(where, f"user {user_id} is a sub-user (of user {stored.parent_id}), not a master user")

    def store_tracker(self, where: str, tracker_id: int) -> TrackerRecord | None:
        rec = self.stored_trackers.get(tracker_id)
        if rec is None:
            self.add(where, f"tracker {tracker_id} is neither in the manifest nor in the store")
        elif tracker_id in self.pruned_trackers:
            self.add(where, f"tracker {tracker_id} is not in the manifest, so prune would remove it")
            return None
        return rec

    def resolve(self) -> None:
        m = self.m
        for section, items in (("trackers", m.trackers), ("employees", m.employees), ("zones", m.zones),
                               ("places", m.places)):  # fmt: skip
            for i, item in enumerate(items):
                self.master(f"{entity_where(section, i, item)}.owner", item.owner)
        for i, tracker in enumerate(m.trackers):
            if (
                tracker.tariff is not None
                and tracker.tariff not in self.tariffs_in
                and self.tariff(tracker.tariff) is None
            ):
                self.add(
                    f"{entity_where('trackers', i, tracker)}.tariff",
                    f"tariff {tracker.tariff} is neither in the manifest nor in the store",
                )
        for i, user in enumerate(m.users):
            here = entity_where("users", i, user)
            self._login(here, user.id, user.login)
            self._api_keys(here, user.id, user.api_keys)
            if user.parent is None:
                continue
            self.master(f"{here}.parent", user.parent)
            for k, tid in enumerate(user.trackers):
                if tid in self.trackers_in:
                    continue
                rec = self.store_tracker(f"{here}.trackers[{k}]", tid)
                if rec is not None and rec.owner_id != user.parent:
                    self.add(
                        f"{here}.trackers[{k}]",
                        f"tracker {tid} belongs to user {rec.owner_id}, not to the parent {user.parent}",
                    )
        self._assignments()

    def _login(self, here: str, user_id: int, login: str) -> None:
        holder = fleet.user_id_for_login(login)
        if holder is None or holder == user_id or holder in self.pruned_subs:
            return
        if holder in self.users_in:
            return  # that user changes its login in this manifest (duplicates were checked)
        other = self.user(holder)
        if other is not None and other.login.lower() == login.lower():
            self.add(f"{here}.login", f"'{login}' is already the login of user {holder}")

    def _api_keys(self, here: str, user_id: int, keys: Sequence[str]) -> None:
        for k, key in enumerate(keys):
            d = key_digest(key)
            cred = self.creds[d] = fleet.get_credential_digest(d)
            if cred is None or cred.user_id == user_id:
                continue
            if cred.kind != "api_key":
                self.add(f"{here}.api_keys[{k}]", "this hash is in use as a session; choose another key")
            elif cred.user_id not in self.users_in and cred.user_id not in self.pruned_subs:
                self.add(f"{here}.api_keys[{k}]", f"this API key already belongs to user {cred.user_id}")

    def _assignments(self) -> None:
        intervals: list[Interval] = []
        for i, a in enumerate(self.m.assignments):
            here = entity_where("assignments", i, a)
            if a.tracker in self.trackers_in:
                owner = self.trackers_in[a.tracker].owner
            else:
                rec = self.store_tracker(f"{here}.tracker", a.tracker)
                if rec is None:
                    continue
                owner = rec.owner_id
                if a.employee in self.employee_owner and self.employee_owner[a.employee] != owner:
                    self.add(
                        f"{here}.employee",
                        f"employee {a.employee} belongs to user {self.employee_owner[a.employee]}, "
                        f"the tracker {a.tracker} to user {owner}",
                    )
                    continue
            if (owner, a.employee) not in self.employees_in:
                if self.prune and owner in self.masters_in:
                    self.add(f"{here}.employee", f"employee {a.employee} is not in the manifest, so prune removes it")
                    continue
                if not any(e.employee_id == a.employee for e in self.owned(owner).employees):
                    self.add(
                        f"{here}.employee",
                        f"employee {a.employee} of user {owner} is neither in the manifest nor in the store",
                    )
                    continue
            tz = self.time_zone(owner)
            start, end = to_ms(a.start, tz), (to_ms(a.end, tz) if a.end is not None else None)
            if end is not None and end <= start:
                self.add(f"{here}.to", "must be after 'from'")
                continue
            self.intervals[i] = (owner, start, end)
            intervals.append(Interval(i, a, start, end))
        self.problems.extend(overlap_problems(intervals))
        if self.problems:
            return
        wanted = {(iv.assignment.tracker, iv.start_ms) for iv in intervals}
        for iv in intervals:
            owner = self.intervals[iv.index][0]
            if self.prune and owner in self.masters_in:
                continue  # the stored ones that the manifest does not list are pruned
            for old in self.owned(owner).assignments:
                if old.tracker_id != iv.assignment.tracker or (old.tracker_id, old.from_ms) in wanted:
                    continue
                if _overlap(old.from_ms, old.to_ms, iv.start_ms, iv.end_ms):
                    tz = self.time_zone(owner)
                    until = _iso(old.to_ms, tz).isoformat() if old.to_ms is not None else "open"
                    span = f"{_iso(old.from_ms, tz).isoformat()} .. {until}"
                    self.add(
                        f"{entity_where('assignments', iv.index, iv.assignment)}.from",
                        f"overlaps the stored assignment of employee {old.employee_id} ({span}), which the "
                        "manifest does not list (apply with prune to remove it)",
                    )

    # --- the writes ----------------------------------------------------------------------------
    def plan(self) -> None:
        self._tariffs_and_users()
        self._trackers()
        self._owned_entities()
        if self.prune:
            self._prune()

    def _tariffs_and_users(self) -> None:
        for t in self.m.tariffs:
            tariff = TariffRecord(tariff_id=t.id, name=t.name, has_reports=t.has_reports)
            self.write("tariffs", self.tariff(t.id), tariff, partial(fleet.put_tariff, tariff))
        for u in self.m.users:
            stored = self.user(u.id)
            password_hash = stored.password_hash if stored is not None else ""
            changed = False
            if u.password is not None:
                secret = u.password.get_secret_value()
                if not (password_hash and verify_password(secret, password_hash)):
                    changed = True
                    password_hash = "" if self.dry_run else hash_password(secret)
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
            linked = not changed and (u.parent is None or u.id in self.owned(u.parent).sub_user_ids)
            self.write("users", stored, rec, partial(fleet.put_user, rec, previous=stored), linked=linked)
            for key in u.api_keys:
                self._api_key(u.id, key_digest(key))

    def _api_key(self, user_id: int, d: str) -> None:
        cred = self.creds.get(d)
        if cred is not None and cred.user_id == user_id and d in self.owned(user_id).api_key_digests:
            self.count("api_keys", "unchanged")
            return
        self.count("api_keys", "created" if cred is None else "updated")
        if cred is not None and cred.user_id != user_id:
            self.ops.append(partial(fleet.delete_api_key, d, cred.user_id))
        created = cred.created if cred is not None else self.now
        rec = CredentialRecord(user_id=user_id, kind="api_key", created=created)
        self.ops.append(partial(fleet.put_credential_digest, d, rec))

    def _trackers(self) -> None:
        for t in self.m.trackers:
            base = t.odometer_base
            rec = TrackerRecord(
                tracker_id=t.id,
                owner_id=t.owner,
                label=t.label,
                tariff_id=t.tariff,
                model=t.model,
                odometer_base_km=base.km if base is not None else None,
                odometer_base_ms=to_ms(base.at, self.time_zone(t.owner)) if base is not None else None,
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
            stored = self.stored_trackers.get(t.id)
            linked = t.id in self.owned(t.owner).tracker_ids
            self.write("trackers", stored, rec, partial(fleet.put_tracker, rec, previous=stored), linked=linked)

    def _owned_entities(self) -> None:
        for e in self.m.employees:
            emp = EmployeeRecord(
                employee_id=e.id,
                owner_id=e.owner,
                first_name=e.first_name,
                last_name=e.last_name,
                hardware_key=e.hardware_key,
            )
            old_emp = next((x for x in self.owned(e.owner).employees if x.employee_id == e.id), None)
            self.write("employees", old_emp, emp, partial(fleet.put_employee, emp))
        for z in self.m.zones:
            zone = zone_record(z)
            old_zone = next((x for x in self.owned(z.owner).zones if x.zone_id == z.id), None)
            self.write("zones", old_zone, zone, partial(fleet.put_zone, zone))
        for p in self.m.places:
            place = PlaceRecord(
                place_id=p.id,
                owner_id=p.owner,
                name=p.label,
                address=p.address,
                lat=p.lat,
                lng=p.lng,
                radius_m=p.radius,
            )
            old_place = next((x for x in self.owned(p.owner).places if x.place_id == p.id), None)
            self.write("places", old_place, place, partial(fleet.put_place, place))
        for a, (owner, start, end) in self._resolved():
            rec = AssignmentRecord(
                owner_id=owner, tracker_id=a.tracker, employee_id=a.employee, from_ms=start, to_ms=end
            )
            old = next(
                (x for x in self.owned(owner).assignments if (x.tracker_id, x.from_ms) == (a.tracker, start)), None
            )
            self.write("assignments", old, rec, partial(fleet.put_assignment, rec))

    def _resolved(self) -> list[tuple[Assignment, tuple[int, int, int | None]]]:
        return [(a, self.intervals[i]) for i, a in enumerate(self.m.assignments)]

    def _prune(self) -> None:
        m = self.m
        keep_assignments = {(owner, a.tracker, start) for a, (owner, start, _) in self._resolved()}
        keep_zones = {(z.owner, z.id) for z in m.zones}
        keep_places = {(p.owner, p.id) for p in m.places}
        for uid in self.masters_in:
            owned = self.owned(uid)
            for a in owned.assignments:
                if (uid, a.tracker_id, a.from_ms) not in keep_assignments:
                    self.count("assignments", "pruned")
                    self.ops.append(partial(fleet.delete_assignment, uid, a.tracker_id, a.from_ms))
            for z in owned.zones:
                if (uid, z.zone_id) not in keep_zones:
                    self.count("zones", "pruned")
                    self.ops.append(partial(fleet.delete_zone, uid, z.zone_id))
            for p in owned.places:
                if (uid, p.place_id) not in keep_places:
                    self.count("places", "pruned")
                    self.ops.append(partial(fleet.delete_place, uid, p.place_id))
            for e in owned.employees:
                if (uid, e.employee_id) not in self.employees_in:
                    self.count("employees", "pruned")
                    self.ops.append(partial(fleet.delete_employee, uid, e.employee_id))
        for tid, uid in sorted(self.pruned_trackers.items()):
            self.count("trackers", "pruned")
            self.ops.append(partial(fleet.delete_tracker, tid, uid))
        wanted = {key_digest(k) for u in m.users for k in u.api_keys}  # a key moved to a listed user stays
        for sid in sorted(self.pruned_subs):
            self.count("users", "pruned")
            self.count("api_keys", "pruned", len(set(self.owned(sid).api_key_digests) - wanted))
            self.ops.append(partial(fleet.delete_user, sid))
        for u in m.users:
            for d in self.owned(u.id).api_key_digests:
                if d not in wanted:
                    self.count("api_keys", "pruned")
                    self.ops.append(partial(fleet.delete_api_key, d, u.id))


def zone_record(zone: Zone) -> ZoneRecord:
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


def _overlap(a_from: int, a_to: int | None, b_from: int, b_to: int | None) -> bool:
    forever = 2**63
    return a_from < (b_to if b_to is not None else forever) and b_from < (a_to if a_to is not None else forever)


def _iso(ms: int, time_zone: str) -> datetime:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(time_zone))


def apply_manifest(manifest: Manifest, *, prune: bool = False, dry_run: bool = False) -> ApplySummary:
    """Make the store hold what the manifest says (needs FLEET_TABLE).

    Entities the manifest does not list are left alone, unless ``prune``: then the sub-users,
    API keys, trackers, employees, assignments, zones and places of the manifest's users that
    it does not list are removed (tariffs, reports and track data never are). ``dry_run``
    reads and checks everything and reports what would change, writing nothing.
    """
    problems = check_manifest(manifest)
    if problems:
        raise ManifestError(problems)
    plan = _Plan(manifest, prune=prune, dry_run=dry_run)
    plan.load()
    plan.resolve()
    if plan.problems:
        raise ManifestError(plan.problems)
    plan.plan()
    if not dry_run:
        for op in plan.ops:
            op()
    return ApplySummary({k: dict(v) for k, v in plan.counts.items()})


# ------------------------------------------------------------------------------------ export


def export_manifest(user_ids: Sequence[int]) -> Manifest:
    """What the store holds for these users (a master brings its sub-users, trackers, employees,
    assignments, zones and places, and the tariffs its trackers use), as a manifest that applies
    unchanged. Passwords are never exported (a user without one keeps its stored password); API
    keys appear as ``sha256:<digest>``, the only form the store keeps."""
    doc: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS if k != "api_keys"}
    problems: list[Problem] = []
    seen: set[int] = set()
    tariff_ids: set[int] = set()
    queue = list(dict.fromkeys(user_ids))
    while queue:
        uid = queue.pop(0)
        if uid in seen:
            continue
        seen.add(uid)
        user = fleet.get_user(uid)
        if user is None:
            problems.append(Problem(f"user {uid}", "not in the store"))
            continue
        owned = fleet.list_owned(uid)
        doc["users"].append(_user_doc(user, owned))
        if user.parent_id is not None:
            continue
        queue[0:0] = sorted(owned.sub_user_ids)  # right after their master
        tz = user.time_zone
        for rec in sorted(fleet.get_trackers(owned.tracker_ids).values(), key=lambda r: r.tracker_id):
            if rec.owner_id == uid:
                doc["trackers"].append(_tracker_doc(rec, tz))
                if rec.tariff_id is not None:
                    tariff_ids.add(rec.tariff_id)
        doc["employees"] += [_employee_doc(e) for e in sorted(owned.employees, key=lambda e: e.employee_id)]
        doc["assignments"] += [_assignment_doc(a, tz) for a in owned.assignments]
        doc["zones"] += [_zone_doc(z) for z in sorted(owned.zones, key=lambda z: z.zone_id)]
        doc["places"] += [_place_doc(p) for p in sorted(owned.places, key=lambda p: p.place_id)]
    if problems:
        raise ManifestError(problems)
    for tariff_id in sorted(tariff_ids):
        tariff = fleet.get_tariff(tariff_id)
        if tariff is not None:
            doc["tariffs"].append({"id": tariff.tariff_id, "name": tariff.name, "has_reports": tariff.has_reports})
    return Manifest.model_validate({"version": 1, **doc})


def _user_doc(user: UserRecord, owned: fleet.Owned) -> dict[str, Any]:
    out: dict[str, Any] = {"id": user.user_id, "login": user.login}
    if user.parent_id is not None:
        out |= {"parent": user.parent_id, "rights": user.rights, "trackers": user.trackers}
    out |= {
        "time_zone": user.time_zone,
        "locale": user.locale,
        "measurement_system": user.measurement_system,
        "demo": user.demo,
        "blocked": user.blocked,
        "api_keys": [f"sha256:{d}" for d in sorted(owned.api_key_digests)],
    }
    return out


def _tracker_doc(rec: TrackerRecord, time_zone: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rec.tracker_id, "label": rec.label, "owner": rec.owner_id, "tariff": rec.tariff_id}
    out["model"] = rec.model
    if rec.odometer_base_km is not None and rec.odometer_base_ms is not None:
        out["odometer_base"] = {"km": rec.odometer_base_km, "at": _iso(rec.odometer_base_ms, time_zone)}
    out["trip_detection"] = dict(rec.trip_detection)
    out["sensors"] = [s.model_dump() for s in rec.sensors]
    return out


def _employee_doc(e: EmployeeRecord) -> dict[str, Any]:
    return {
        "id": e.employee_id,
        "owner": e.owner_id,
        "first_name": e.first_name,
        "last_name": e.last_name,
        "hardware_key": e.hardware_key,
    }


def _assignment_doc(a: AssignmentRecord, time_zone: str) -> dict[str, Any]:
    out: dict[str, Any] = {"employee": a.employee_id, "tracker": a.tracker_id, "from": _iso(a.from_ms, time_zone)}
    if a.to_ms is not None:
        out["to"] = _iso(a.to_ms, time_zone)
    return out


def _zone_doc(z: ZoneRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": z.zone_id, "owner": z.owner_id, "label": z.label, "kind": z.kind}
    out |= {"address": z.address, "color": z.color}
    if z.kind == "circle" and z.center is not None:
        out["center"] = {"lat": z.center[0], "lng": z.center[1]}
    if z.kind != "circle":
        out["points"] = [{"lat": lat, "lng": lng} for lat, lng in z.points]
    if z.kind != "polygon":
        out["radius"] = z.radius_m
    return out


def _place_doc(p: PlaceRecord) -> dict[str, Any]:
    return {
        "id": p.place_id,
        "owner": p.owner_id,
        "label": p.name,
        "address": p.address,
        "lat": p.lat,
        "lng": p.lng,
        "radius": p.radius_m,
    }
