"""The fleet manifest: one JSON or YAML file describing users, API keys, tariffs, trackers with
sensors, employees and driver assignments, zones and places (docs/manifest.md).

- ``load_manifest(path)`` / ``parse_manifest(data)``: schema and self-consistency checks, offline;
- ``apply_manifest(manifest, prune=..., dry_run=...)``: into the fleet table, idempotently;
- ``export_manifest(user_ids)``: what the store holds, as a manifest to edit and re-apply.

Modules: ``schema`` (the models, problems), ``checks`` (self-consistency, offline), ``apply``
(the steps of an apply) with ``plan`` (shared state, creates and updates), ``references``
(what the manifest leaves to the store) and ``prune`` (removals), and ``export``.

Every problem names the entity and the field (``trackers[2] (id 669673).sensors[0].kind``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fleet_reports.service.manifest.apply import apply_manifest
from fleet_reports.service.manifest.checks import check_manifest
from fleet_reports.service.manifest.export import export_manifest
from fleet_reports.service.manifest.plan import ApplySummary
from fleet_reports.service.manifest.schema import (
    Assignment,
    CircleZone,
    Employee,
    LatLng,
    Manifest,
    ManifestError,
    OdometerBase,
    Place,
    PolygonZone,
    Problem,
    SausageZone,
    Sensor,
    Tariff,
    Tracker,
    User,
    Zone,
    problems_from,
)

__all__ = [
    "ApplySummary",
    "Assignment",
    "CircleZone",
    "Employee",
    "LatLng",
    "Manifest",
    "ManifestError",
    "OdometerBase",
    "Place",
    "PolygonZone",
    "Problem",
    "SausageZone",
    "Sensor",
    "Tariff",
    "Tracker",
    "User",
    "Zone",
    "apply_manifest",
    "check_manifest",
    "dump_manifest",
    "export_manifest",
    "load_manifest",
    "manifest_document",
    "parse_manifest",
]

SUFFIXES = (".json", ".yaml", ".yml")


def parse_manifest(data: Mapping[str, Any]) -> Manifest:
    """Validate a manifest already read into Python values; ManifestError lists every problem."""
    if not isinstance(data, Mapping):
        raise ManifestError([Problem("manifest", "must be a mapping with 'version: 1' and the entity lists")])
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(problems_from(exc, data)) from None
    problems = check_manifest(manifest)
    if problems:
        raise ManifestError(problems)
    return manifest


def load_manifest(path: Path) -> Manifest:
    """Read and validate a ``.json``, ``.yaml`` or ``.yml`` manifest (YAML with ``yaml.safe_load``)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ManifestError([Problem(str(path), "a manifest is a .json, .yaml or .yml file")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError([Problem(str(path), f"cannot read the file: {exc}")]) from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError([Problem(f"{path} line {exc.lineno} column {exc.colno}", exc.msg)]) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path} line {mark.line + 1} column {mark.column + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None)
            context = getattr(exc, "context", None)
            message = " ".join(str(p) for p in (context, problem) if p) or str(exc)
            raise ManifestError([Problem(where, f"not valid YAML: {message}")]) from None
    if data is None:
        raise ManifestError([Problem(str(path), "the file is empty")])
    return parse_manifest(data)


def manifest_document(manifest: Manifest) -> dict[str, Any]:
    """The manifest as JSON-ready values, without passwords and without empty optional fields."""
    out: dict[str, Any] = manifest.model_dump(mode="json", exclude_none=True)
    return out


def dump_manifest(manifest: Manifest, path: Path) -> None:
    """Write the manifest as JSON (``.json``) or YAML (otherwise); passwords are never written."""
    data = manifest_document(manifest)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
