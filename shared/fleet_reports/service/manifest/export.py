"""Exporting what the fleet table holds for some users, as a manifest that applies unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleet_reports.service.manifest.checks import local_time
from fleet_reports.service.manifest.plan import KINDS
from fleet_reports.service.manifest.schema import Manifest, ManifestError, Problem
from fleet_reports.store import fleet
from fleet_reports.store.records import (
    AssignmentRecord,
    EmployeeRecord,
    PlaceRecord,
    TrackerRecord,
    UserRecord,
    ZoneRecord,
)


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
        out["odometer_base"] = {"km": rec.odometer_base_km, "at": local_time(rec.odometer_base_ms, time_zone)}
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
    out: dict[str, Any] = {"employee": a.employee_id, "tracker": a.tracker_id, "from": local_time(a.from_ms, time_zone)}
    if a.to_ms is not None:
        out["to"] = local_time(a.to_ms, time_zone)
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
