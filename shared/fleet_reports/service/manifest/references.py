"""What a manifest leaves to the store: references resolved, and problems found before any write.

:func:`load_trackers` reads the trackers the manifest mentions; :func:`resolve_references`
checks that every owner, parent, tariff, tracker and employee the manifest refers to but does
not list is in the store (and not about to be pruned), that logins and API keys are free, and
resolves each assignment's owner and interval, refusing overlaps with stored assignments.
Problems go to ``plan.problems``; nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from fleet_reports.service.manifest.checks import Interval, key_digest, local_time, overlap_problems, to_ms
from fleet_reports.service.manifest.plan import Plan
from fleet_reports.service.manifest.schema import Assignment, entity_where
from fleet_reports.store import fleet
from fleet_reports.store.records import TrackerRecord


def load_trackers(plan: Plan) -> None:
    """Read the stored records of every tracker the manifest mentions or its master users own."""
    m = plan.m
    ids = set(plan.trackers_in) | {t for u in m.users for t in u.trackers} | {a.tracker for a in m.assignments}
    for uid in plan.masters_in:
        ids |= set(plan.owned(uid).tracker_ids)
    plan.stored_trackers = fleet.get_trackers(ids)


def _master(plan: Plan, where: str, user_id: int) -> None:
    """``user_id`` must be a master user: in the manifest (checked already) or in the store."""
    if user_id in plan.users_in:
        return
    stored = plan.user(user_id)
    if stored is None:
        plan.add(where, f"user {user_id} is neither in the manifest nor in the store")
    elif stored.parent_id is not None:
        plan.add(where, f"user {user_id} is a sub-user (of user {stored.parent_id}), not a master user")


def _store_tracker(plan: Plan, where: str, tracker_id: int) -> TrackerRecord | None:
    rec = plan.stored_trackers.get(tracker_id)
    if rec is None:
        plan.add(where, f"tracker {tracker_id} is neither in the manifest nor in the store")
    elif tracker_id in plan.pruned_trackers:
        plan.add(where, f"tracker {tracker_id} is not in the manifest, so prune would remove it")
        return None
    return rec


def resolve_references(plan: Plan) -> None:
    """Check every reference the manifest leaves to the store, and resolve the assignments."""
    m = plan.m
    for section, items in (("trackers", m.trackers), ("employees", m.employees), ("zones", m.zones),
                           ("places", m.places)):  # fmt: skip
        for i, item in enumerate(items):
            _master(plan, f"{entity_where(section, i, item)}.owner", item.owner)
    for i, tracker in enumerate(m.trackers):
        if tracker.tariff is not None and tracker.tariff not in plan.tariffs_in and plan.tariff(tracker.tariff) is None:
            plan.add(
                f"{entity_where('trackers', i, tracker)}.tariff",
                f"tariff {tracker.tariff} is neither in the manifest nor in the store",
            )
    for i, user in enumerate(m.users):
        here = entity_where("users", i, user)
        _login(plan, here, user.id, user.login)
        _api_keys(plan, here, user.id, user.api_keys)
        if user.parent is None:
            continue
        _master(plan, f"{here}.parent", user.parent)
        for k, tid in enumerate(user.trackers):
            if tid in plan.trackers_in:
                continue
            rec = _store_tracker(plan, f"{here}.trackers[{k}]", tid)
            if rec is not None and rec.owner_id != user.parent:
                plan.add(
                    f"{here}.trackers[{k}]",
                    f"tracker {tid} belongs to user {rec.owner_id}, not to the parent {user.parent}",
                )
    _assignments(plan)


def _login(plan: Plan, here: str, user_id: int, login: str) -> None:
    holder = fleet.user_id_for_login(login)
    if holder is None or holder == user_id or holder in plan.pruned_subs:
        return
    if holder in plan.users_in:
        return  # that user changes its login in this manifest (duplicates were checked)
    other = plan.user(holder)
    if other is not None and other.login.lower() == login.lower():
        plan.add(f"{here}.login", f"'{login}' is already the login of user {holder}")


def _api_keys(plan: Plan, here: str, user_id: int, keys: Sequence[str]) -> None:
    for k, key in enumerate(keys):
        d = key_digest(key)
        cred = plan.creds[d] = fleet.get_credential_digest(d)
        if cred is None or cred.user_id == user_id:
            continue
        if cred.kind != "api_key":
            plan.add(f"{here}.api_keys[{k}]", "this hash is in use as a session; choose another key")
        elif cred.user_id not in plan.users_in and cred.user_id not in plan.pruned_subs:
            plan.add(f"{here}.api_keys[{k}]", f"this API key already belongs to user {cred.user_id}")


def _assignments(plan: Plan) -> None:
    """Resolve each assignment's owner and interval; refuse overlaps among them and with the
    stored assignments the manifest does not list (unless prune removes those)."""
    intervals: list[Interval] = []
    for i, a in enumerate(plan.m.assignments):
        interval = _resolve_assignment(plan, i, a)
        if interval is not None:
            intervals.append(interval)
    plan.problems.extend(overlap_problems(intervals))
    if plan.problems:
        return
    wanted = {(iv.assignment.tracker, iv.start_ms) for iv in intervals}
    for iv in intervals:
        _stored_overlaps(plan, iv, wanted)


def _resolve_assignment(plan: Plan, i: int, a: Assignment) -> Interval | None:
    """The assignment's owner and interval (kept in ``plan.intervals``), or None with the
    problem added when its tracker, employee or times do not hold."""
    here = entity_where("assignments", i, a)
    owner = _assignment_owner(plan, here, a)
    if owner is None or not _employee_known(plan, here, a, owner):
        return None
    tz = plan.time_zone(owner)
    start, end = to_ms(a.start, tz), (to_ms(a.end, tz) if a.end is not None else None)
    if end is not None and end <= start:
        plan.add(f"{here}.to", "must be after 'from'")
        return None
    plan.intervals[i] = (owner, start, end)
    return Interval(i, a, start, end)


def _assignment_owner(plan: Plan, here: str, a: Assignment) -> int | None:
    """The owner of the assignment's tracker (in the manifest, else in the store, where the
    employee must then be the same user's); None with the problem added."""
    if a.tracker in plan.trackers_in:
        return plan.trackers_in[a.tracker].owner
    rec = _store_tracker(plan, f"{here}.tracker", a.tracker)
    if rec is None:
        return None
    owner = rec.owner_id
    if a.employee in plan.employee_owner and plan.employee_owner[a.employee] != owner:
        plan.add(
            f"{here}.employee",
            f"employee {a.employee} belongs to user {plan.employee_owner[a.employee]}, "
            f"the tracker {a.tracker} to user {owner}",
        )
        return None
    return owner


def _employee_known(plan: Plan, here: str, a: Assignment, owner: int) -> bool:
    """Whether the assignment's employee is the owner's, in the manifest or in the store (and
    not about to be pruned); the problem added when not."""
    if (owner, a.employee) in plan.employees_in:
        return True
    if plan.prune and owner in plan.masters_in:
        plan.add(f"{here}.employee", f"employee {a.employee} is not in the manifest, so prune removes it")
        return False
    if not any(e.employee_id == a.employee for e in plan.owned(owner).employees):
        plan.add(
            f"{here}.employee",
            f"employee {a.employee} of user {owner} is neither in the manifest nor in the store",
        )
        return False
    return True


def _stored_overlaps(plan: Plan, iv: Interval, wanted: set[tuple[int, int]]) -> None:
    """Problems for the stored assignments of the same tracker that ``iv`` overlaps and the
    manifest does not list (none under prune: those are removed)."""
    owner = plan.intervals[iv.index][0]
    if plan.prune and owner in plan.masters_in:
        return  # the stored ones that the manifest does not list are pruned
    for old in plan.owned(owner).assignments:
        if old.tracker_id != iv.assignment.tracker or (old.tracker_id, old.from_ms) in wanted:
            continue
        if _overlap(old.from_ms, old.to_ms, iv.start_ms, iv.end_ms):
            tz = plan.time_zone(owner)
            until = local_time(old.to_ms, tz).isoformat() if old.to_ms is not None else "open"
            span = f"{local_time(old.from_ms, tz).isoformat()} .. {until}"
            plan.add(
                f"{entity_where('assignments', iv.index, iv.assignment)}.from",
                f"overlaps the stored assignment of employee {old.employee_id} ({span}), which the "
                "manifest does not list (apply with prune to remove it)",
            )


def _overlap(a_from: int, a_to: int | None, b_from: int, b_to: int | None) -> bool:
    forever = 2**63
    return a_from < (b_to if b_to is not None else forever) and b_from < (a_to if a_to is not None else forever)
