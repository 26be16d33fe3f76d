"""`fleet-reports`, the operator's CLI, run as a user runs it: a process against the local stack."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local


def cli(state: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLEET_REPORTS_"))}
    return subprocess.run(
        [sys.executable, "-m", "fleet_reports.cli", "--local", str(state), *args],
        cwd=cwd,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_manifest_applies_once_and_then_changes_nothing(stack_state: Path) -> None:
    # Given the documented example manifest
    example = ROOT / "examples" / "fleet.yaml"
    # When it is validated, then applied twice
    checked = cli(stack_state, "validate", str(example))
    first = cli(stack_state, "apply", str(example))
    second = cli(stack_state, "apply", str(example))
    # Then it is valid, the first apply creates everything and the second finds it unchanged
    assert checked.returncode == 0 and "valid (4 users" in checked.stdout
    assert first.returncode == 0, first.stderr
    assert "trackers     3 created" in first.stdout
    assert second.returncode == 0 and "trackers     0 created, 0 updated, 3 unchanged" in second.stdout
    # And the export gives it back without passwords
    exported = cli(stack_state, "export", "--user", "3001")
    assert exported.returncode == 0 and "ops@northwind.example" in exported.stdout
    assert "change-me" not in exported.stdout


def test_a_bad_manifest_names_entity_and_field(stack_state: Path, tmp_path: Path) -> None:
    # Given a manifest whose tracker sensor has an unknown kind
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "version": 1,
                "users": [{"id": 5001, "login": "x@example.org", "time_zone": "UTC"}],
                "trackers": [
                    {
                        "id": 950001,
                        "label": "Van",
                        "owner": 5001,
                        "sensors": [{"id": 1, "kind": "analog", "name": "T", "input_name": "t1"}],
                    }
                ],
            }
        )
    )
    # When it is applied
    result = cli(stack_state, "apply", str(bad))
    # Then nothing is written and the error says where
    assert result.returncode == 2
    assert "trackers[0] (id 950001).sensors[0].kind" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulated_files_import_with_outcomes(stack_state: Path, tmp_path: Path) -> None:
    # Given two days of the demo reefer simulated into gzipped CSV files
    out = tmp_path / "sim"
    simulated = cli(
        stack_state,
        "simulate",
        "--from",
        "2021-06-01",
        "--to",
        "2021-06-02",
        "--tracker",
        "123456",
        "--out",
        str(out),
        "--gzip",
    )
    assert simulated.returncode == 0, simulated.stderr
    files = sorted((out / "123456").glob("*.csv.gz"))
    assert [f.name for f in files] == ["123456-2021-06-01.csv.gz", "123456-2021-06-02.csv.gz"]
    header = gzip.decompress(files[0].read_bytes()).decode().splitlines()[0]
    assert header.startswith("time,lat,lng") and "temp1" in header

    # When they are imported into the demo tracker, and one of them again
    first = cli(stack_state, "import", *map(str, files), "--tracker", "123456")
    again = cli(stack_state, "import", str(files[0]), "--tracker", "123456")

    # Then every row lands once, the repeat changes nothing, and the progress went to stderr
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(": done:") == 2 and " 0 rejected" in first.stdout
    assert "upload 123456-2021-06-01.csv.gz" in first.stderr and "100.0%" in first.stderr
    assert again.returncode == 0 and "already imported" in again.stdout
    listed = cli(stack_state, "imports", "--tracker", "123456", "--json")
    outcomes: list[dict[str, Any]] = json.loads(listed.stdout)
    assert {o["state"] for o in outcomes} >= {"done", "duplicate"}


def test_import_reports_rejected_rows_and_unknown_trackers(stack_state: Path, tmp_path: Path) -> None:
    # Given a CSV with one good row and two bad ones
    csv = tmp_path / "mixed.csv"
    csv.write_text("time,lat,lng,speed\n2021-07-01T10:00:00Z,91,10,5\nsoon,1,1,1\n2021-07-01T10:00:10Z,55.5,37.5,5\n")
    # When it is imported for a demo tracker, and for a tracker nobody has
    mixed = cli(stack_state, "import", str(csv), "--tracker", "456789")
    unknown = cli(stack_state, "import", str(csv), "--tracker", "999999")
    # Then the good row lands, each bad row is named by line and reason
    assert mixed.returncode == 0, mixed.stderr
    assert "3 rows, 1 accepted, 2 rejected" in mixed.stdout
    assert "line 2: lat: 91 is out of range" in mixed.stdout and "line 3: time:" in mixed.stdout
    # And the unknown tracker is refused before anything is uploaded, in one line saying what to do
    assert unknown.returncode == 2 and "tracker 999999 is not in the fleet" in unknown.stderr
    assert "nothing was uploaded" in unknown.stderr and "upload mixed.csv" not in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_without_a_stack_the_cli_says_what_to_do(tmp_path: Path) -> None:
    # Given no local stack state and no stack name, When a command needs a target
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLEET_REPORTS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "fleet_reports.cli", "imports"],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    # Then it explains how to get one, without a traceback
    assert result.returncode == 2 and "make run" in result.stderr and "--stack" in result.stderr
    assert "Traceback" not in result.stderr


def test_convert_lists_its_source_formats(stack_state: Path) -> None:
    # When the formats are listed, Then each named converter is there with its description
    result = cli(stack_state, "convert", "--list")
    assert result.returncode == 0
    assert {line.split()[0] for line in result.stdout.splitlines()} >= {"envirocar_geojson", "seventymai_txt"}
