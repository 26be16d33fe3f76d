"""Applying fleet manifests to the fleet table (on moto): idempotency, prune, passwords, API keys."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from fleet_reports.errors import ApiError
from fleet_reports.service import auth
from fleet_reports.service.manifest import (
    ManifestError,
    apply_manifest,
    dump_manifest,
    export_manifest,
    load_manifest,
    manifest_document,
    parse_manifest,
)
from fleet_reports.service.passwords import verify_password
from fleet_reports.store import fleet

from tests.support.lambdas import Lambdas
from tests.support.paths import ROOT

KEY_BOSS = "0123456789abcdef0123456789abcdef"
KEY_SUB = "fedcba9876543210fedcba9876543210"
KEY_SPARE = "00112233445566778899aabbccddeeff"


@pytest.fixture
def store(lambdas: Lambdas) -> Lambdas:
    """The template's tables on moto, with the environment of a function that reads the fleet."""
    lambdas.use_env("WorkerFunction")
    return lambdas


def assignments_of(owner_id: int, tracker_id: int) -> list[Any]:
    """The tracker's stored driver assignments, by start time (all of the owner's, as a manifest export reads them)."""
    from fleet_reports.store import fleet

    return [a for a in fleet.list_owned(owner_id).assignments if a.tracker_id == tracker_id]


def fleet_doc() -> dict[str, Any]:
    return {
        "version": 1,
        "users": [
            {"id": 10, "login": "Boss@Fleet.example", "password": "first-password", "time_zone": "Europe/Moscow",
             "api_keys": [KEY_BOSS, KEY_SPARE]},
            {"id": 11, "login": "sub@fleet.example", "parent": 10, "rights": ["reports"], "trackers": [501],
             "api_keys": [KEY_SUB]},
        ],
        "tariffs": [{"id": 1, "name": "Pro"}],
        "trackers": [
            {"id": 501, "label": "Van", "owner": 10, "tariff": 1,
             "odometer_base": {"km": 1000.5, "at": "2020-10-04 00:00:00"},
             "trip_detection": {"min_idle_duration": 240},
             "sensors": [{"id": 1, "kind": "discrete", "sensor_type": "ignition", "name": "Ign", "input_name": "ign"}]},
            {"id": 502, "label": "Truck", "owner": 10},
        ],
        "employees": [
            {"id": 1, "owner": 10, "first_name": "Ivan", "hardware_key": "01AA"},
            {"id": 2, "owner": 10, "first_name": "Olga"},
        ],
        "assignments": [
            {"employee": 1, "tracker": 501, "from": "2020-10-05 05:00:00", "to": "2020-10-05 11:00:00"},
            {"employee": 2, "tracker": 501, "from": "2020-10-05 11:00:00", "to": "2020-10-05 17:00:00"},
            {"employee": 2, "tracker": 502, "from": "2020-10-01T00:00:00+03:00"},
        ],
        "zones": [
            {"id": 1, "owner": 10, "kind": "circle", "label": "Depot", "center": {"lat": 55.4, "lng": 37.5},
             "radius": 300},
            {"id": 2, "owner": 10, "kind": "sausage", "label": "Road", "radius": 100,
             "points": [{"lat": 55.4, "lng": 37.5}, {"lat": 55.5, "lng": 37.6}]},
        ],
        "places": [{"id": 1, "owner": 10, "label": "Depot", "lat": 55.4, "lng": 37.5, "radius": 300}],
    }  # fmt: skip


def apply(doc: dict[str, Any], **kwargs: bool) -> dict[str, dict[str, int]]:
    return apply_manifest(parse_manifest(doc), **kwargs).counts


def state(*user_ids: int) -> dict[str, Any]:
    return manifest_document(export_manifest(list(user_ids)))


def test_apply_writes_every_kind_and_twice_is_unchanged(store: Lambdas) -> None:
    # Given an empty store, When a manifest is applied
    first = apply(fleet_doc())
    # Then everything is created
    assert {k: c["created"] for k, c in first.items()} == {
        "users": 2, "api_keys": 3, "tariffs": 1, "trackers": 2, "employees": 2, "assignments": 3, "zones": 2,
        "places": 1,
    }  # fmt: skip
    before = state(10)
    # When it is applied again
    second = apply(fleet_doc())
    # Then nothing is written and the store holds the same
    assert all(c["created"] == c["updated"] == c["pruned"] == 0 for c in second.values()), second
    assert sum(c["unchanged"] for c in second.values()) == 16
    assert state(10) == before
    # And the entities are readable through the store as the service reads them
    assert fleet.get_trackers([501])[501].trip_detection == {"min_idle_duration": 240}
    assert fleet.get_trackers([501])[501].odometer_base_ms == 1_601_758_800_000  # 2020-10-04 00:00 Moscow
    assert [a.employee_id for a in assignments_of(10, 501)] == [1, 2]
    assert assignments_of(10, 502)[0].to_ms is None
    assert {z.kind for z in fleet.get_zones(10)} == {"circle", "sausage"}
    assert [p.name for p in fleet.get_places(10)] == ["Depot"]


def test_passwords_are_hashed_and_kept_while_unchanged(store: Lambdas) -> None:
    # Given an applied manifest with a password
    apply(fleet_doc())
    stored = fleet.get_user(10)
    assert stored is not None
    # Then the store holds a scrypt hash of it, never the clear text, and the login works
    assert stored.password_hash.startswith("scrypt$") and "first-password" not in stored.password_hash
    assert verify_password("first-password", stored.password_hash)
    assert len(auth.login("boss@fleet.example", "first-password")) == 32
    # When it is applied again, Then the hash is not rewritten (salts differ: it would be)
    assert apply(fleet_doc())["users"]["unchanged"] == 2
    assert fleet.get_user(10) == stored
    # When the password changes, Then the user is updated and only the new password logs in
    doc = fleet_doc()
    doc["users"][0]["password"] = "second-password"
    assert apply(doc)["users"]["updated"] == 1
    assert len(auth.login("boss@fleet.example", "second-password")) == 32
    with pytest.raises(ApiError) as caught:
        auth.login("boss@fleet.example", "first-password")
    assert caught.value.code == 102
    # And a manifest without the password keeps the stored one
    doc["users"][0].pop("password")
    assert apply(doc)["users"]["unchanged"] == 2
    assert len(auth.login("boss@fleet.example", "second-password")) == 32


def test_api_keys_authenticate_their_user(store: Lambdas) -> None:
    # Given an applied manifest
    apply(fleet_doc())
    # When its API keys are used, Then each authenticates its own (sub-)user
    boss, sub = auth.authenticate(KEY_BOSS), auth.authenticate(KEY_SUB)
    assert (boss.user.user_id, boss.master_id) == (10, 10)
    assert (sub.user.user_id, sub.master_id, sub.user.trackers) == (11, 10, [501])
    assert sub.has_right("reports") and not sub.has_right("tracking")
    # And the login is stored case-insensitively
    assert fleet.user_id_for_login("boss@fleet.example") == 10


def test_absent_entities_stay_unless_pruned(store: Lambdas) -> None:
    # Given an applied manifest, another user's fleet and a track object of tracker 502
    apply(fleet_doc())
    apply({"version": 1, "users": [{"id": 20, "login": "other"}], "trackers": [{"id": 901, "label": "x", "owner": 20}]})
    s3 = boto3.client("s3")
    bucket, key = os.environ["TRACK_BUCKET"], "tracks/tracker_id=502/date=2020-10-05/day.parquet"
    s3.put_object(Bucket=bucket, Key=key, Body=b"fixes")
    # And a manifest that no longer lists the sub-user, tracker 502, an API key, employee 2, a zone
    doc = fleet_doc()
    doc["users"] = doc["users"][:1]
    doc["users"][0]["api_keys"] = [KEY_BOSS]
    doc["trackers"] = doc["trackers"][:1]
    doc["employees"] = doc["employees"][:1]
    doc["assignments"] = doc["assignments"][:1]
    doc["zones"] = doc["zones"][:1]
    # When it is applied without prune, Then nothing is removed
    counts = apply(copy.deepcopy(doc))
    assert all(c["pruned"] == 0 for c in counts.values())
    assert fleet.get_user(11) is not None and fleet.get_tracker(502) is not None
    # When it is applied with prune, Then exactly the unlisted entities of user 10 go
    counts = apply(copy.deepcopy(doc), prune=True)
    assert {k: c["pruned"] for k, c in counts.items() if c["pruned"]} == {
        "users": 1, "api_keys": 2, "trackers": 1, "employees": 1, "assignments": 2, "zones": 1
    }  # fmt: skip
    assert fleet.get_user(11) is None and fleet.user_id_for_login("sub@fleet.example") is None
    assert fleet.get_tracker(502) is None and fleet.get_tracker(501) is not None
    with pytest.raises(ApiError):
        auth.authenticate(KEY_SUB)
    with pytest.raises(ApiError):
        auth.authenticate(KEY_SPARE)
    assert auth.authenticate(KEY_BOSS).user.user_id == 10
    assert [e.employee_id for e in fleet.get_employees(10)] == [1]
    assert [z.zone_id for z in fleet.get_zones(10)] == [1]
    # And another user's fleet and the track data are untouched
    assert fleet.get_tracker(901) is not None and fleet.get_user(20) is not None
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"fixes"
    # And pruning again changes nothing
    assert not apply_manifest(parse_manifest(doc), prune=True).changed


def test_dry_run_reports_and_writes_nothing(store: Lambdas) -> None:
    # When a manifest is applied as a dry run
    counts = apply(fleet_doc(), dry_run=True)
    # Then it says what it would create, and the store is still empty
    assert counts["trackers"]["created"] == 2 and counts["users"]["created"] == 2
    assert fleet.get_user(10) is None and fleet.get_tracker(501) is None


def test_export_then_apply_changes_nothing(store: Lambdas, tmp_path: Path) -> None:
    # Given an applied manifest
    apply(fleet_doc())
    # When the store is exported to YAML and applied back, even with prune
    path = tmp_path / "export.yaml"
    dump_manifest(export_manifest([10]), path)
    assert "password" not in path.read_text() and KEY_BOSS not in path.read_text()
    summary = apply_manifest(load_manifest(path), prune=True)
    # Then nothing changes (passwords kept, API keys kept by their digests)
    assert not summary.changed, summary.lines()
    assert auth.authenticate(KEY_BOSS).user.user_id == 10
    assert len(auth.login("boss@fleet.example", "first-password")) == 32


def test_references_to_the_store_are_resolved_and_named(store: Lambdas) -> None:
    # Given a store with user 10's fleet and another user 20 with tracker 901 and an API key
    apply(fleet_doc())
    apply({"version": 1, "users": [{"id": 20, "login": "other", "api_keys": [KEY_SPARE.replace("0", "1")]}],
           "trackers": [{"id": 901, "label": "x", "owner": 20}]})  # fmt: skip
    # And a manifest with references that do not resolve there
    doc = {
        "version": 1,
        "users": [
            {"id": 12, "login": "sub2", "parent": 10, "rights": ["reports"], "trackers": [501, 901, 999]},
            {"id": 13, "login": "OTHER", "api_keys": [KEY_SPARE.replace("0", "1")]},
        ],
        "trackers": [{"id": 601, "label": "y", "owner": 77, "tariff": 9}, {"id": 602, "label": "z", "owner": 11}],
        "assignments": [{"employee": 5, "tracker": 501, "from": "2020-10-05 06:00:00"},
                        {"employee": 1, "tracker": 901, "from": "2020-10-05 06:00:00"}],
    }  # fmt: skip
    # When it is applied
    with pytest.raises(ManifestError) as caught:
        apply_manifest(parse_manifest(doc))
    # Then every problem names the entity and the field, and nothing was written
    assert [str(p) for p in caught.value.problems] == [
        "trackers[0] (id 601).owner: user 77 is neither in the manifest nor in the store",
        "trackers[1] (id 602).owner: user 11 is a sub-user (of user 10), not a master user",
        "trackers[0] (id 601).tariff: tariff 9 is neither in the manifest nor in the store",
        "users[0] (id 12).trackers[1]: tracker 901 belongs to user 20, not to the parent 10",
        "users[0] (id 12).trackers[2]: tracker 999 is neither in the manifest nor in the store",
        "users[1] (id 13).login: 'OTHER' is already the login of user 20",
        "users[1] (id 13).api_keys[0]: this API key already belongs to user 20",
        "assignments[0] (tracker 501, employee 5).employee: employee 5 of user 10 is neither in the manifest "
        "nor in the store",
        "assignments[1] (tracker 901, employee 1).employee: employee 1 of user 20 is neither in the manifest "
        "nor in the store",
    ]
    assert fleet.get_user(12) is None and fleet.get_user(13) is None and fleet.get_tracker(601) is None


def test_prune_refuses_references_to_what_it_would_remove(store: Lambdas) -> None:
    # Given an applied manifest
    apply(fleet_doc())
    # And a manifest that drops tracker 502 but still assigns a driver to it
    doc = fleet_doc()
    doc["trackers"] = doc["trackers"][:1]
    # When it is applied with prune
    with pytest.raises(ManifestError) as caught:
        apply(doc, prune=True)
    # Then the reference is named and nothing was removed
    assert [str(p) for p in caught.value.problems] == [
        "assignments[2] (tracker 502, employee 2).tracker: tracker 502 is not in the manifest, so prune would remove it"
    ]
    assert fleet.get_tracker(502) is not None


def test_an_assignment_must_not_overlap_a_stored_one(store: Lambdas) -> None:
    # Given an applied manifest, and the morning shift moved to start an hour later
    apply(fleet_doc())
    doc = fleet_doc()
    doc["assignments"][0]["from"] = "2020-10-05 06:00:00"
    # When it is applied without prune, Then the stale stored shift is named
    with pytest.raises(ManifestError, match=r"assignments\[0\] .*overlaps the stored assignment of employee 1"):
        apply(copy.deepcopy(doc))
    # When it is applied with prune, Then the old shift is replaced
    counts = apply(doc, prune=True)
    assert (counts["assignments"]["created"], counts["assignments"]["pruned"]) == (1, 1)
    assert assignments_of(10, 501)[0].from_ms == 1_601_866_800_000  # 06:00 Moscow


def test_moving_a_tracker_and_a_login(store: Lambdas) -> None:
    # Given an applied manifest and a second master user
    apply(fleet_doc())
    doc = fleet_doc()
    doc["users"].append({"id": 30, "login": "new-owner"})
    doc["trackers"][1]["owner"] = 30
    doc["assignments"] = doc["assignments"][:2]
    doc["users"][0]["login"] = "chief@fleet.example"
    # When the tracker changes owner and the user its login
    apply(doc)
    # Then the tracker is listed under its new owner only, and only the new login works
    assert fleet.list_owned(30).tracker_ids == [502] and 502 not in fleet.list_owned(10).tracker_ids
    assert fleet.user_id_for_login("chief@fleet.example") == 10
    assert fleet.user_id_for_login("boss@fleet.example") is None


def test_the_demo_fleet_is_applied_through_the_manifest(store: Lambdas) -> None:
    from fleet_reports import demo

    # When the demo fleet is loaded twice
    access = demo.load_fleet()
    again = apply_manifest(demo.demo_manifest())
    # Then the second time changes nothing, and the documented hash opens the owner
    assert not again.changed, again.lines()
    assert auth.authenticate(access.owner_hash).user.user_id == demo.OWNER_ID
    assert auth.authenticate(access.demo_mode_hash).demo
    # And the owner has drivers in shifts and zones of every shape
    assert 3 <= len(fleet.get_employees(demo.OWNER_ID)) <= 5
    assert {z.kind for z in fleet.get_zones(demo.OWNER_ID)} == {"circle", "polygon", "sausage"}
    assert len(assignments_of(demo.OWNER_ID, 123456)) >= 2 * 19


def test_the_example_fleet_applies(store: Lambdas) -> None:
    # When examples/fleet.yaml is applied twice
    manifest = load_manifest(ROOT / "examples" / "fleet.yaml")
    apply_manifest(manifest)
    # Then the second time changes nothing
    assert not apply_manifest(manifest).changed
