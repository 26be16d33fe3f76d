"""The API as the functions tests call it: the demo owner's hash and the seed request through ``GenerateFunction``."""

from __future__ import annotations

from typing import Any

from fleet_reports.demo import ACCESS

from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE

HASH = ACCESS.owner_hash  # the demo fleet's owner, who may see every demo tracker


def generate(demo: Lambdas, **overrides: Any) -> int:
    """Generate the seed request (``overrides`` replace its members); the new report's id."""
    status, body, _ = demo.api("GenerateFunction", {**SEED_GENERATE, **overrides})
    assert status == 200, body
    assert body["success"] is True
    return int(body["id"])
