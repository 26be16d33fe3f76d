"""Shared fixtures: AWS on moto built from template.yaml, the demo fleet, the local stack in its own process.

The helpers behind them live in :mod:`tests.support` (``Lambdas`` in :mod:`tests.support.lambdas`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.lambdas import BASE_ENV, Lambdas
from tests.support.paths import ROOT
from tests.support.seed import SEED_DAYS


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    from fleet_reports.local.resources import load_template

    return load_template(ROOT / "template.yaml")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    from fleet_reports.local.moto_guards import atomic_conditional_writes
    from fleet_reports.settings import get_settings
    from fleet_reports.store.aws import reset_clients

    atomic_conditional_writes()  # moto with AWS's atomicity, as the local stack runs it
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in BASE_ENV.items():
        monkeypatch.setenv(k, v)
    reset_clients()
    get_settings.cache_clear()
    with mock_aws():
        yield
    reset_clients()
    get_settings.cache_clear()


@pytest.fixture
def lambdas(aws: None, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Lambdas:
    from fleet_reports.local.resources import create_resources

    return Lambdas(template, create_resources(template), monkeypatch)


@pytest.fixture
def demo(lambdas: Lambdas) -> Lambdas:
    """The demo fleet with tracks for the documentation's example days."""
    from fleet_reports import demo as demo_fleet
    from fleet_reports.demo import DEMO_TRACKERS, demo_track
    from fleet_reports.store import tracks

    lambdas.use_env("WorkerFunction")
    for key in ("FLEET_TABLE", "TRACK_BUCKET", "REPORTS_TABLE"):
        assert os.environ.get(key)
    demo_fleet.load_fleet()
    for tracker in DEMO_TRACKERS:
        for day in SEED_DAYS:
            tracks.write_day(tracker.id, day, demo_track(tracker.id, day))
    return lambdas


# ----------------------------------------------------------------------------- the local stack
@pytest.fixture(scope="session")
def stack_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The state file of a local stack running in its own process (its output in stack.log beside it)."""
    folder = tmp_path_factory.mktemp("stack")
    state = folder / "stack.json"
    with (folder / "stack.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fleet_reports.local", "--port", "0", "--state", str(state)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        deadline = time.monotonic() + 120
        while not state.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"local stack did not start:\n{(folder / 'stack.log').read_text()}")
            time.sleep(0.2)
        yield state
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def stack(stack_state: Path) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(stack_state.read_text())
    return info
