"""Pruning: what an apply with ``prune`` removes from the store.

The manifest's master users are authoritative for what they own: :func:`find_pruned` finds their
stored trackers and sub-users the manifest does not list (before references are resolved, so
that nothing may refer to them), and :func:`plan_prune` queues the removal of those and of every
API key, employee, assignment, zone and place of theirs that the manifest does not list.
Tariffs, reports and track data are never pruned.
"""

from __future__ import annotations

from functools import partial

from fleet_reports.service.manifest.checks import key_digest
from fleet_reports.service.manifest.plan import Plan
from fleet_reports.store import fleet


def find_pruned(plan: Plan) -> None:
    """The stored trackers and sub-users of the manifest's masters that it does not list."""
    for uid in plan.masters_in:
        owned = plan.owned(uid)
        for tid in owned.tracker_ids:
            rec = plan.stored_trackers.get(tid)
            if tid not in plan.trackers_in and rec is not None and rec.owner_id == uid:
                plan.pruned_trackers[tid] = uid
        for sid in owned.sub_user_ids:
            sub = plan.user(sid)
            if sid not in plan.users_in and sub is not None and sub.parent_id == uid:
                plan.pruned_subs.add(sid)


def plan_prune(plan: Plan) -> None:
    """Queue the removals, after the writes (assignments, zones, places and employees per master,
    then trackers, sub-users and the API keys no listed user keeps)."""
    _prune_owned_items(plan)
    for tid, uid in sorted(plan.pruned_trackers.items()):
        plan.count("trackers", "pruned")
        plan.ops.append(partial(fleet.delete_tracker, tid, uid))
    _prune_users_and_keys(plan)


def _prune_owned_items(plan: Plan) -> None:
    """Per master: the assignments, zones, places and employees of theirs the manifest does not list."""
    m = plan.m
    keep_assignments = {(owner, a.tracker, start) for a, (owner, start, _) in plan.resolved()}
    keep_zones = {(z.owner, z.id) for z in m.zones}
    keep_places = {(p.owner, p.id) for p in m.places}
    for uid in plan.masters_in:
        owned = plan.owned(uid)
        for a in owned.assignments:
            if (uid, a.tracker_id, a.from_ms) not in keep_assignments:
                plan.count("assignments", "pruned")
                plan.ops.append(partial(fleet.delete_assignment, uid, a.tracker_id, a.from_ms))
        for z in owned.zones:
            if (uid, z.zone_id) not in keep_zones:
                plan.count("zones", "pruned")
                plan.ops.append(partial(fleet.delete_zone, uid, z.zone_id))
        for p in owned.places:
            if (uid, p.place_id) not in keep_places:
                plan.count("places", "pruned")
                plan.ops.append(partial(fleet.delete_place, uid, p.place_id))
        for e in owned.employees:
            if (uid, e.employee_id) not in plan.employees_in:
                plan.count("employees", "pruned")
                plan.ops.append(partial(fleet.delete_employee, uid, e.employee_id))


def _prune_users_and_keys(plan: Plan) -> None:
    """The pruned sub-users (with their keys), then the API keys no listed user keeps."""
    m = plan.m
    wanted = {key_digest(k) for u in m.users for k in u.api_keys}  # a key moved to a listed user stays
    for sid in sorted(plan.pruned_subs):
        plan.count("users", "pruned")
        plan.count("api_keys", "pruned", len(set(plan.owned(sid).api_key_digests) - wanted))
        plan.ops.append(partial(fleet.delete_user, sid))
    for u in m.users:
        for d in plan.owned(u.id).api_key_digests:
            if d not in wanted:
                plan.count("api_keys", "pruned")
                plan.ops.append(partial(fleet.delete_api_key, d, u.id))
