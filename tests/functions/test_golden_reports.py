"""The demo fleet's reports, byte for byte: a refactoring changes shape, never results.

Every plugin, with the options that change what it computes or shows, in both languages, goes
through the real pipeline on moto (generate, the worker, retrieve); each report's JSON (its
``created`` time aside, which is the clock's) must equal the one kept in ``tests/golden/``.
When a change is *meant* to change a report, regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/functions/test_golden_reports.py
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from fleet_reports.demo import ACCESS

from tests.support.golden import ALL_DAY, CASES, GOLDEN, SEED, canonical
from tests.support.lambdas import Lambdas


def report_of(demo: Lambdas, case: dict[str, Any]) -> dict[str, Any]:
    owner = case.get("hash", ACCESS.owner_hash)
    request = {"hash": owner, "title": "Golden", "time_filter": ALL_DAY, **SEED, **case}
    status, body, _ = demo.api("GenerateFunction", request)
    assert status == 200, body
    demo.run_worker()
    status, body, _ = demo.api("RetrieveFunction", {"hash": owner, "report_id": int(body["id"])})
    assert status == 200, body
    report: dict[str, Any] = body["report"]
    return report


def test_the_demo_reports_are_those_kept(demo: Lambdas) -> None:
    # Given the demo fleet on the documentation's days
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    differ: list[str] = []
    for name, case in CASES.items():
        # When each report is generated through the pipeline
        text = canonical(report_of(demo, case))
        path = GOLDEN / f"{name}.json"
        if update:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            continue
        # Then its JSON is byte for byte the one kept
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            differ.append(name)
    assert not differ, f"reports differ from tests/golden/: {differ} (see this module's docstring)"


def test_every_plugin_has_a_kept_report() -> None:
    # Given the cases, Then each plugin of the catalog is among them
    from fleet_reports.engine.catalog import PLUGINS

    covered = {case["plugin"]["plugin_id"] for case in CASES.values()}
    assert covered == set(PLUGINS), set(PLUGINS) - covered
    if os.environ.get("UPDATE_GOLDEN") != "1":
        kept = {p.stem for p in GOLDEN.glob("*.json")}
        assert kept == set(CASES), kept ^ set(CASES)


@pytest.mark.parametrize("name", ["trips-seed"])
def test_a_kept_report_is_readable_json(name: str) -> None:
    # Given a kept report, Then it is the report document (docs/report-model.md) with its sheets
    report = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert report["title"] == "Golden" and report["sheets"]
