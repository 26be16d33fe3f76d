"""The fleet manifest offline: schema, self-consistency checks and how problems are named."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet_reports.service.manifest import (
    Manifest,
    ManifestError,
    load_manifest,
    manifest_document,
    parse_manifest,
)

ROOT = Path(__file__).resolve().parents[2]
KEY_A = "0123456789abcdef0123456789abcdef"
KEY_B = "fedcba9876543210fedcba9876543210"


def fleet() -> dict[str, Any]:
    """A small valid manifest: a master, a sub-user, one tracker with two sensors, a driver."""
    return {
        "version": 1,
        "users": [
            {"id": 1, "login": "boss@x.example", "password": "secret-1", "time_zone": "Europe/Moscow",
             "api_keys": [KEY_A]},
            {"id": 2, "login": "sub@x.example", "parent": 1, "rights": ["reports"], "trackers": [669673]},
        ],
        "tariffs": [{"id": 1, "name": "Pro"}],
        "trackers": [
            {"id": 669673, "label": "Van", "owner": 1, "tariff": 1, "sensors": [
                {"id": 1, "kind": "discrete", "sensor_type": "ignition", "name": "Ignition", "input_name": "ign"},
                {"id": 2, "kind": "metering", "sensor_type": "fuel", "name": "Fuel", "input_name": "fuel"},
            ]},
        ],
        "employees": [{"id": 7, "owner": 1, "first_name": "Ivan", "hardware_key": "01AB"}],
        "assignments": [{"employee": 7, "tracker": 669673, "from": "2020-10-05 08:00:00", "to": "2020-10-05 17:00:00"}],
        "zones": [{"id": 1, "owner": 1, "kind": "circle", "label": "Depot", "center": {"lat": 55.5, "lng": 37.5},
                   "radius": 300}],
        "places": [{"id": 1, "owner": 1, "name": "Depot", "lat": 55.5, "lng": 37.5}],
    }  # fmt: skip


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    assert caught.value.problems, "a ManifestError always lists its problems"
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


def test_a_valid_manifest_parses_with_its_entities() -> None:
    # Given a consistent manifest, When it is parsed
    manifest = parse_manifest(fleet())
    # Then every entity is there, the place's "name" read as its label
    assert [u.id for u in manifest.users] == [1, 2]
    assert manifest.trackers[0].sensors[1].sensor_type == "fuel"
    assert manifest.places[0].label == "Depot"
    assert manifest.assignments[0].end is not None


def test_a_bad_sensor_kind_names_the_tracker_by_id_and_the_field() -> None:
    # Given a third tracker whose first sensor has an unknown kind
    data = fleet()
    data["trackers"] = [
        {"id": 1, "label": "a", "owner": 1},
        {"id": 2, "label": "b", "owner": 1},
        {
            "id": 669673,
            "label": "c",
            "owner": 1,
            "sensors": [{"id": 1, "kind": "analog", "name": "n", "input_name": "i"}],
        },
    ]
    data["users"][1]["trackers"] = []
    data["assignments"] = []
    # When it is parsed, Then the problem reads exactly as documented
    assert problems_of(data) == [
        "trackers[2] (id 669673).sensors[0].kind: Input should be 'metering', 'discrete' or 'virtual'"
    ]


def test_every_schema_problem_is_reported_at_once() -> None:
    # Given several bad fields in several entities
    data = fleet()
    data["users"][0] |= {"time_zone": "Mars/Olympus", "locale": "english", "measurement_system": "furlongs"}
    data["users"][0]["api_keys"] = ["ABC"]
    data["users"][1]["colour"] = "red"
    data["zones"][0]["radius"] = -5
    # When it is parsed
    found = problems_of(data)
    # Then each is named by entity and field
    assert "users[0] (id 1).time_zone: unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Moscow)" in found
    assert "users[0] (id 1).locale: 'english' is not a locale such as en_US or ru_RU" in found
    assert any(p.startswith("users[0] (id 1).measurement_system: Input should be 'metric'") for p in found)
    assert any(p.startswith("users[0] (id 1).api_keys[0]: an API key is 32 lowercase hexadecimal") for p in found)
    assert "users[1] (id 2).colour: unknown field (not part of the manifest schema)" in found
    assert "zones[0] (id 1).radius: Input should be greater than 0" in found
    assert len(found) == 6


def test_zone_shapes_are_checked_by_kind() -> None:
    # Given a polygon with two points, a zone of an unknown kind and one without a kind
    data = fleet()
    data["zones"] = [
        {"id": 1, "owner": 1, "kind": "polygon", "label": "p", "points": [{"lat": 1, "lng": 1}, {"lat": 2, "lng": 2}]},
        {"id": 2, "owner": 1, "kind": "blob", "label": "b"},
        {"id": 3, "owner": 1, "label": "c"},
        {"id": 4, "owner": 1, "kind": "sausage", "label": "s", "points": [{"lat": 1, "lng": 1}, {"lat": 2, "lng": 2}]},
    ]
    # When it is parsed, Then the union's branch names never show in the paths
    assert problems_of(data) == [
        "zones[0] (id 1).points: List should have at least 3 items after validation, not 2",
        "zones[1] (id 2).kind: Input should be 'circle', 'polygon' or 'sausage'",
        "zones[2] (id 3).kind: Field required: 'circle', 'polygon' or 'sausage'",
        "zones[3] (id 4).radius: Field required",
    ]


def test_duplicates_are_named_with_the_first_occurrence() -> None:
    # Given duplicate ids, logins (case-insensitive), API keys, sensor ids and hardware keys
    data = fleet()
    data["users"].append({"id": 1, "login": "BOSS@x.example", "api_keys": [KEY_A]})
    data["trackers"][0]["sensors"][1]["id"] = 1
    data["employees"].append({"id": 8, "owner": 1, "first_name": "Olga", "hardware_key": "01AB"})
    # When it is parsed
    found = problems_of(data)
    # Then each duplicate names where it was seen first
    assert "users[2] (id 1).id: duplicate id 1 (also users[0] (id 1))" in found
    assert "users[2] (id 1).login: duplicate login boss@x.example (also users[0] (id 1))" in found
    assert "users[2] (id 1).api_keys[0]: duplicate API key (also users[0] (id 1).api_keys[0])" in found
    assert "trackers[0] (id 669673).sensors[1].id: duplicate sensor id 1 (also sensors[0])" in found
    assert "employees[1] (id 8).hardware_key: duplicate hardware key 01AB (also employees[0] (id 7))" in found


def test_an_api_key_given_by_its_digest_collides_with_the_same_key_in_clear() -> None:
    # Given one key in clear for one user and as "sha256:<digest>" for another
    import hashlib

    data = fleet()
    data["users"][1]["api_keys"] = ["sha256:" + hashlib.sha256(KEY_A.encode()).hexdigest(), KEY_B]
    # When it is parsed, Then it is the same key twice
    assert problems_of(data) == ["users[1] (id 2).api_keys[0]: duplicate API key (also users[0] (id 1).api_keys[0])"]


def test_users_rights_and_bindings_are_consistent() -> None:
    # Given a master with rights, a sub-user of a sub-user, and a sub-user bound to a tracker of another user
    data = fleet()
    data["users"][0]["rights"] = ["reports"]
    data["users"] += [
        {"id": 3, "login": "c", "parent": 2},
        {"id": 4, "login": "d"},
        {"id": 5, "login": "e", "parent": 1, "trackers": [5005, 5005]},
    ]
    data["trackers"].append({"id": 5005, "label": "Other", "owner": 4})
    # When it is parsed
    found = problems_of(data)
    # Then each rule names the user and the field
    assert found == [
        "users[0] (id 1).rights: only a sub-user (a user with a parent) has rights; a master has all",
        "users[2] (id 3).parent: user 2 is a sub-user; a parent is a master user",
        "users[4] (id 5).trackers[0]: tracker 5005 belongs to user 4, not to the parent 1",
        "users[4] (id 5).trackers[1]: tracker 5005 is listed twice",
        "users[4] (id 5).trackers[1]: tracker 5005 belongs to user 4, not to the parent 1",
    ]


def test_entities_belong_to_master_users() -> None:
    # Given a zone and a tracker owned by the sub-user
    data = fleet()
    data["zones"][0]["owner"] = 2
    data["trackers"].append({"id": 9, "label": "x", "owner": 2})
    # When it is parsed, Then both owners are rejected
    assert problems_of(data) == [
        "trackers[1] (id 9).owner: user 2 is a sub-user; trackers belong to master users",
        "zones[0] (id 1).owner: user 2 is a sub-user; zones belong to master users",
    ]


def test_assignments_one_driver_per_tracker_at_a_time() -> None:
    # Given an overlapping shift, one that ends before it starts, and a driver of another owner
    data = fleet()
    data["users"].append({"id": 4, "login": "d"})
    data["employees"].append({"id": 9, "owner": 4, "first_name": "Anna"})
    data["assignments"] += [
        {"employee": 7, "tracker": 669673, "from": "2020-10-05 16:00:00"},
        {"employee": 7, "tracker": 669673, "from": "2020-10-06 10:00:00+03:00", "to": "2020-10-06 09:00:00+03:00"},
        {"employee": 9, "tracker": 669673, "from": "2020-10-07 10:00:00"},
    ]
    # When it is parsed
    found = problems_of(data)
    # Then each is named by tracker and employee
    assert "assignments[2] (tracker 669673, employee 7).to: must be after 'from'" in found
    assert (
        "assignments[3] (tracker 669673, employee 9).employee: "
        "employee 9 belongs to user 4, the tracker 669673 to user 1"
    ) in found
    assert (
        "assignments[1] (tracker 669673, employee 7).from: overlaps assignments[0] (tracker 669673, employee 7) "
        "(a tracker has one driver at a time)"
    ) in found
    assert (
        "assignments[3] (tracker 669673, employee 9).from: overlaps assignments[1] (tracker 669673, employee 7) "
        "(a tracker has one driver at a time)"
    ) in found  # the open assignment[1] never ends


def test_trip_detection_settings_are_known_and_in_range() -> None:
    # Given a typo and a negative threshold
    data = fleet()
    data["trackers"][0]["trip_detection"] = {"min_idle_duraton": 60, "min_idle_duration": -1}
    # When it is parsed
    found = problems_of(data)
    # Then both name the setting
    assert found[0].startswith("trackers[0] (id 669673).trip_detection.min_idle_duraton: unknown setting (one of ")
    assert (
        found[1]
        == "trackers[0] (id 669673).trip_detection.min_idle_duration: Input should be greater than or equal to 0"
    )


def test_password_is_never_written_out() -> None:
    # Given a manifest with a password
    manifest = parse_manifest(fleet())
    # When it is shown or dumped as JSON
    doc = manifest_document(manifest)
    # Then the clear text appears nowhere, not even masked
    assert "secret-1" not in repr(manifest)
    assert "password" not in doc["users"][0]
    assert "secret-1" not in json.dumps(doc)
    # And the dump parses back into the same manifest, less the password
    again = parse_manifest(yaml.safe_load(yaml.safe_dump(doc)))
    assert again.users[0].password is None
    assert manifest_document(again) == doc


def test_load_manifest_reads_yaml_and_json(tmp_path: Path) -> None:
    # Given the same manifest as YAML and as JSON
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(fleet()))
    (tmp_path / "f.json").write_text(json.dumps(fleet()))
    # When both are loaded, Then they are equal
    from_yaml, from_json = load_manifest(tmp_path / "f.yaml"), load_manifest(tmp_path / "f.json")
    assert manifest_document(from_yaml) == manifest_document(from_json)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "version: 1\nusers:\n  - id: 1\n   login: x\n", r"bad\.yaml line 4 column 4: not valid YAML: "),
        ("bad.json", '{"version": 1,\n "users": [}', r"bad\.json line 2 column 12: "),
        ("empty.yml", "", r"empty\.yml: the file is empty"),
        ("list.yaml", "- 1\n- 2\n", r"^manifest: must be a mapping"),
        ("fleet.toml", "version = 1", r"fleet\.toml: a manifest is a \.json, \.yaml or \.yml file"),
        ("old.yaml", "version: 2\n", r"^version: Input should be 1$"),
    ],
)
def test_load_manifest_reports_unreadable_files_with_the_line(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    # Given a file that is not a manifest
    path = tmp_path / name
    path.write_text(text)
    # When it is loaded, Then ManifestError says where
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert re.search(expected, str(caught.value)), str(caught.value)


def test_a_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    # When a missing file is loaded, Then it is a ManifestError naming the file
    with pytest.raises(ManifestError, match="cannot read the file"):
        load_manifest(tmp_path / "nope.yaml")


def test_the_example_fleet_validates() -> None:
    # When examples/fleet.yaml is loaded
    manifest = load_manifest(ROOT / "examples" / "fleet.yaml")
    # Then it has every kind of entity, zones of every shape and an open assignment
    assert all(getattr(manifest, k) for k in ("users", "tariffs", "trackers", "employees", "assignments", "places"))
    assert {z.kind for z in manifest.zones} == {"circle", "polygon", "sausage"}
    assert any(a.end is None for a in manifest.assignments)


def test_the_documented_example_validates_and_the_schema_is_documented() -> None:
    # Given docs/manifest.md
    text = (ROOT / "docs" / "manifest.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    # When its full YAML example is parsed, Then it is a valid manifest
    full = max(blocks, key=len)
    assert parse_manifest(yaml.safe_load(full)).users
    # And every field of every entity of the JSON Schema is documented
    schema = Manifest.model_json_schema()
    for name, definition in schema["$defs"].items():
        for field in definition.get("properties", {}):
            assert f"`{field}`" in text, f"{name}.{field} is not documented"


def test_the_json_schema_describes_the_top_level_keys() -> None:
    # When the JSON Schema is generated
    schema = Manifest.model_json_schema()
    # Then it lists the manifest's keys, forbids others and knows the zone shapes
    assert set(schema["properties"]) == {
        "version", "users", "tariffs", "trackers", "employees", "assignments", "zones", "places"
    }  # fmt: skip
    assert schema["additionalProperties"] is False
    assert {"CircleZone", "PolygonZone", "SausageZone"} <= set(schema["$defs"])
    assert "password" in json.dumps(schema["$defs"]["User"])


def test_the_demo_fleet_is_a_valid_manifest_with_drivers_and_zones() -> None:
    from datetime import date

    from fleet_reports.demo import SEED_HASH, demo_manifest

    # Given the demo fleet built as a manifest for a given day
    manifest = demo_manifest(date(2024, 5, 20))
    # When it is checked offline (dumped and parsed again)
    again = parse_manifest(copy.deepcopy(manifest_document(manifest)))
    # Then it is consistent, with the documented hash, 3-5 drivers and zones of every shape
    assert again.users[0].api_keys == [SEED_HASH]
    assert 3 <= len(manifest.employees) <= 5
    assert {z.kind for z in manifest.zones} == {"circle", "polygon", "sausage"}
    # And the drivers cover the documentation's days and the recent days, in shifts
    days = {a.start.date() for a in manifest.assignments if a.tracker == 669673}
    assert {date(2020, 10, d) for d in range(4, 8)} <= days
    assert date(2024, 5, 20) in days and date(2024, 5, 6) in days
    reefer = [a for a in manifest.assignments if a.tracker == 123456 and a.start.date() == date(2020, 10, 6)]
    assert len(reefer) == 2 and reefer[0].employee != reefer[1].employee


def test_offline_validate_names_every_reference_it_cannot_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest whose second tracker belongs to a user and a tariff the file does not hold
    from fleet_reports.cli import main

    data = fleet()
    data["trackers"].append({"id": 5, "label": "Truck", "owner": 42, "tariff": 9})
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(data))
    # When it is validated offline
    code = main(["validate", str(path)])
    out = capsys.readouterr().out
    # Then it is valid as a file, and the two references it cannot check are named, with how to
    assert code == 0 and "valid" in out
    assert "2 reference(s) to entities not in the file" in out
    assert "user 42 (trackers[1].owner)" in out and "tariff 9 (trackers[1].tariff)" in out
    assert "apply --dry-run" in out
    # And a self-contained manifest has none to name
    path.write_text(json.dumps(fleet()))
    assert main(["validate", str(path)]) == 0
    assert "reference(s)" not in capsys.readouterr().out
