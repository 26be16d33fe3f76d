"""The README's examples are real: its manifest validates and its CSV imports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from fleet_reports.ingest import parse_fixes
from fleet_reports.service.manifest import parse_manifest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _block(lang: str, containing: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", README, re.S)
    return next(b for b in blocks if containing in b)


def test_the_manifest_example_validates() -> None:
    # Given the README's manifest, When it is parsed, Then every kind of entity is there
    manifest = parse_manifest(yaml.safe_load(_block("yaml", "version: 1")))
    assert [len(manifest.users), len(manifest.trackers), len(manifest.zones)] == [2, 1, 3]
    assert {z.kind for z in manifest.zones} == {"circle", "polygon", "sausage"}


def test_the_csv_example_imports_with_its_sensors() -> None:
    # Given the README's CSV, When it is parsed, Then both rows land with the sensor columns
    parsed = parse_fixes(_block("csv", "time,lat,lng").encode(), "example.csv", now_ms=2_000_000_000_000)
    assert parsed.rejected_count == 0 and len(parsed.track) == 2
    assert set(parsed.sensor_columns) == {"fuel", "temp1"}
