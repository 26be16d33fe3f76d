"""Rules of the house that a refactoring could silently break."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared" / "fleet_reports"
HEAVY = {"numpy", "pyarrow", "openpyxl", "fpdf", "xlwt"}
API_FUNCTIONS = sorted(p.parent.name for p in ROOT.glob("functions/*/app.py") if p.parent.name != "worker")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_api_handlers_import_nothing_heavy(name: str) -> None:
    # Given an API handler loaded in a fresh interpreter as the Lambda runtime would
    code = (
        "import importlib.util, json, sys;"
        f"s = importlib.util.spec_from_file_location('app', {str(ROOT / 'functions' / name / 'app.py')!r});"
        "m = importlib.util.module_from_spec(s); s.loader.exec_module(m);"
        "print(json.dumps(sorted({k.split('.')[0] for k in sys.modules})))"
    )
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    # Then none of numpy, pyarrow, openpyxl, fpdf2 or xlwt was imported
    assert not HEAVY & set(json.loads(out.stdout))


def test_handlers_engine_and_renderers_never_import_boto3() -> None:
    # Given the handler files, the engine and the renderers
    files = [*ROOT.glob("functions/*/app.py"), *(PACKAGE / "engine").rglob("*.py"), *(PACKAGE / "render").rglob("*.py")]
    # Then none of them imports boto3 or botocore, or the store
    for path in files:
        bad = {m for m in imported_modules(path) if m.split(".")[0] in {"boto3", "botocore"}}
        bad |= {m for m in imported_modules(path) if m.startswith("fleet_reports.store")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_imports_point_one_way() -> None:
    # Given the layers api -> service -> engine/render -> store
    forbidden = {
        "engine": ("fleet_reports.api", "fleet_reports.service", "fleet_reports.store", "fleet_reports.render"),
        "render": ("fleet_reports.api", "fleet_reports.service", "fleet_reports.store", "fleet_reports.engine.plugins"),
        "store": ("fleet_reports.api", "fleet_reports.service", "fleet_reports.render"),
        "service": ("fleet_reports.api", "fleet_reports.local"),
    }
    # Then no module imports upwards
    for folder, banned in forbidden.items():
        for path in (PACKAGE / folder).rglob("*.py"):
            bad = {m for m in imported_modules(path) if m.startswith(banned)}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_the_store_and_local_stack_import_boto3() -> None:
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        if rel[0] in {"store", "local"}:
            continue
        assert not {m for m in imported_modules(path) if m.split(".")[0] == "boto3"}, path
