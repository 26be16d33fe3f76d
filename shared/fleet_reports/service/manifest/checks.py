"""Checks of a manifest against itself: duplicates, cross-references, consistency.

References to entities that the manifest does not hold (an owner, a tariff, a tracker that is
already in the store) are resolved by ``apply_manifest`` against the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from fleet_reports.service.manifest.schema import Assignment, Manifest, Problem, entity_where

T = TypeVar("T")


def key_digest(key: str) -> str:
    """The SHA-256 digest (what the store keeps) of a manifest API key entry."""
    return key.removeprefix("sha256:") if key.startswith("sha256:") else hashlib.sha256(key.encode()).hexdigest()


def to_ms(moment: datetime, time_zone: str) -> int:
    """Epoch ms of a manifest time; a naive one is read in ``time_zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    return int(moment.timestamp() * 1000)


def local_time(ms: int, time_zone: str) -> datetime:
    """Epoch ms as an aware time in ``time_zone`` (the inverse of :func:`to_ms`)."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(time_zone))


@dataclass(frozen=True)
class Interval:
    index: int
    assignment: Assignment
    start_ms: int
    end_ms: int | None


def overlap_problems(intervals: Iterable[Interval]) -> list[Problem]:
    """One driver per tracker at a time: every assignment that starts before an earlier one of
    the same tracker has ended."""
    problems: list[Problem] = []
    by_tracker: dict[int, list[Interval]] = {}
    for iv in intervals:
        by_tracker.setdefault(iv.assignment.tracker, []).append(iv)
    for ivs in by_tracker.values():
        ivs.sort(key=lambda iv: (iv.start_ms, iv.index))
        latest: Interval | None = None
        for iv in ivs:
            if latest is not None and (latest.end_ms is None or iv.start_ms < latest.end_ms):
                other = entity_where("assignments", latest.index, latest.assignment)
                problems.append(
                    Problem(
                        f"{entity_where('assignments', iv.index, iv.assignment)}.from",
                        f"overlaps {other} (a tracker has one driver at a time)",
                    )
                )
            if latest is None or (latest.end_ms is not None and (iv.end_ms is None or iv.end_ms > latest.end_ms)):
                latest = iv
    return problems


class _Checker:
    def __init__(self, manifest: Manifest) -> None:
        self.m = manifest
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def unique(
        self, section: str, items: Sequence[T], key: Callable[[T], Hashable | None], field: str, what: str
    ) -> dict[Any, tuple[int, T]]:
        seen: dict[Any, tuple[int, T]] = {}
        for i, item in enumerate(items):
            k = key(item)
            if k is None:
                continue
            if k in seen:
                j, other = seen[k]
                shown = k[-1] if isinstance(k, tuple) else k
                self.add(
                    f"{entity_where(section, i, item)}.{field}",
                    f"duplicate {what} {shown} (also {entity_where(section, j, other)})",
                )
            else:
                seen[k] = (i, item)
        return seen

    def run(self) -> list[Problem]:
        m = self.m
        users = {u.id: u for _, u in self.unique("users", m.users, lambda u: u.id, "id", "id").values()}
        self.unique("users", m.users, lambda u: u.login.lower(), "login", "login")
        trackers = {t.id: t for _, t in self.unique("trackers", m.trackers, lambda t: t.id, "id", "id").values()}
        self.unique("tariffs", m.tariffs, lambda t: t.id, "id", "id")
        employees = {e.id: e for _, e in self.unique("employees", m.employees, lambda e: e.id, "id", "id").values()}
        self.unique("zones", m.zones, lambda z: z.id, "id", "id")
        self.unique("places", m.places, lambda p: p.id, "id", "id")
        self.unique(
            "employees", m.employees, lambda e: (e.owner, e.hardware_key) if e.hardware_key else None,
            "hardware_key", "hardware key",
        )  # fmt: skip
        self._users(users, trackers)
        self._owners(users)
        self._trackers()
        self._assignments(users, trackers, employees)
        return self.problems

    def _users(self, users: dict[int, Any], trackers: dict[int, Any]) -> None:
        keys: dict[str, str] = {}
        for i, user in enumerate(self.m.users):
            here = entity_where("users", i, user)
            for k, key in enumerate(user.api_keys):
                d = key_digest(key)
                if d in keys:
                    self.add(f"{here}.api_keys[{k}]", f"duplicate API key (also {keys[d]})")
                else:
                    keys[d] = f"{here}.api_keys[{k}]"
            if user.parent is None:
                if user.rights:
                    self.add(f"{here}.rights", "only a sub-user (a user with a parent) has rights; a master has all")
                if user.trackers:
                    self.add(f"{here}.trackers", "only a sub-user (a user with a parent) is bound to trackers")
                continue
            if user.parent == user.id:
                self.add(f"{here}.parent", "a user cannot be its own parent")
            elif user.parent in users and users[user.parent].parent is not None:
                self.add(f"{here}.parent", f"user {user.parent} is a sub-user; a parent is a master user")
            seen: set[int] = set()
            for k, tracker_id in enumerate(user.trackers):
                if tracker_id in seen:
                    self.add(f"{here}.trackers[{k}]", f"tracker {tracker_id} is listed twice")
                seen.add(tracker_id)
                tracker = trackers.get(tracker_id)
                if tracker is not None and tracker.owner != user.parent:
                    self.add(
                        f"{here}.trackers[{k}]",
                        f"tracker {tracker_id} belongs to user {tracker.owner}, not to the parent {user.parent}",
                    )

    def _owners(self, users: dict[int, Any]) -> None:
        sections: list[tuple[str, Sequence[Any]]] = [
            ("trackers", self.m.trackers),
            ("employees", self.m.employees),
            ("zones", self.m.zones),
            ("places", self.m.places),
        ]
        for section, items in sections:
            for i, item in enumerate(items):
                owner = users.get(item.owner)
                if owner is not None and owner.parent is not None:
                    self.add(
                        f"{entity_where(section, i, item)}.owner",
                        f"user {item.owner} is a sub-user; {section} belong to master users",
                    )

    def _trackers(self) -> None:
        from fleet_reports.engine.motion import TripSettings

        known = set(TripSettings.model_fields)
        for i, tracker in enumerate(self.m.trackers):
            here = entity_where("trackers", i, tracker)
            self.unique_sensors(here, tracker.sensors)
            unknown = sorted(set(tracker.trip_detection) - known)
            for name in unknown:
                self.add(f"{here}.trip_detection.{name}", f"unknown setting (one of {', '.join(sorted(known))})")
            try:
                TripSettings.model_validate({k: v for k, v in tracker.trip_detection.items() if k in known})
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = ".".join(str(p) for p in err["loc"])
                    self.add(f"{here}.trip_detection.{loc}", err["msg"])

    def unique_sensors(self, here: str, sensors: Sequence[Any]) -> None:
        seen: dict[int, int] = {}
        for k, sensor in enumerate(sensors):
            if sensor.id in seen:
                self.add(
                    f"{here}.sensors[{k}].id", f"duplicate sensor id {sensor.id} (also sensors[{seen[sensor.id]}])"
                )
            else:
                seen[sensor.id] = k

    def _assignments(self, users: dict[int, Any], trackers: dict[int, Any], employees: dict[int, Any]) -> None:
        intervals: list[Interval] = []
        for i, a in enumerate(self.m.assignments):
            here = entity_where("assignments", i, a)
            tracker, employee = trackers.get(a.tracker), employees.get(a.employee)
            if tracker is not None and employee is not None and tracker.owner != employee.owner:
                self.add(
                    f"{here}.employee",
                    f"employee {a.employee} belongs to user {employee.owner}, "
                    f"the tracker {a.tracker} to user {tracker.owner}",
                )
            if a.end is not None and (a.start.tzinfo is None) != (a.end.tzinfo is None):
                self.add(f"{here}.to", "'from' and 'to' must both have a UTC offset, or neither")
                continue
            if a.end is not None and a.end <= a.start:
                self.add(f"{here}.to", "must be after 'from'")
                continue
            owner = users.get(tracker.owner) if tracker is not None else None
            naive = a.start.tzinfo is None
            if naive and owner is None:
                continue  # the owner's time zone is in the store: checked when applied
            tz = owner.time_zone if owner is not None else "UTC"
            end = to_ms(a.end, tz) if a.end is not None else None
            intervals.append(Interval(i, a, to_ms(a.start, tz), end))
        self.problems.extend(overlap_problems(intervals))


def check_manifest(manifest: Manifest) -> list[Problem]:
    """Every problem of the manifest that can be found without the store."""
    return _Checker(manifest).run()


def external_references(m: Manifest) -> list[str]:
    """The references the manifest makes to entities it does not hold (users, tariffs, trackers,
    employees): they must exist in the target, which only ``apply`` (or ``apply --dry-run``) can
    check. Each as ``"user 12 (trackers[0].owner)"``, in order, once per entity and place."""
    users = {u.id for u in m.users}
    tariffs = {t.id for t in m.tariffs}
    trackers = {t.id for t in m.trackers}
    employees = {e.id for e in m.employees}
    out: list[str] = []
    for i, u in enumerate(m.users):
        if u.parent is not None and u.parent not in users:
            out.append(f"user {u.parent} (users[{i}].parent)")
        out += [f"tracker {t} (users[{i}].trackers)" for t in u.trackers if t not in trackers]
    for i, t in enumerate(m.trackers):
        if t.owner not in users:
            out.append(f"user {t.owner} (trackers[{i}].owner)")
        if t.tariff is not None and t.tariff not in tariffs:
            out.append(f"tariff {t.tariff} (trackers[{i}].tariff)")
    for section, items in (("employees", m.employees), ("zones", m.zones), ("places", m.places)):
        out += [f"user {it.owner} ({section}[{i}].owner)" for i, it in enumerate(items) if it.owner not in users]
    for i, a in enumerate(m.assignments):
        if a.employee not in employees:
            out.append(f"employee {a.employee} (assignments[{i}].employee)")
        if a.tracker not in trackers:
            out.append(f"tracker {a.tracker} (assignments[{i}].tracker)")
    return out
