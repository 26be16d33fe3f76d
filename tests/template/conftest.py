"""Fixtures of the template tests: the template as cfn-lint decodes it, and its paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
API_SPEC = ROOT / "docs" / "api.md"


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    from fleet_reports.local.resources import load_template

    return load_template(TEMPLATE)


@pytest.fixture(scope="session")
def resources_of(sam_template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = sam_template["Resources"]
    return resources
