"""Shared fixtures: AWS on moto built from template.yaml, handlers invoked as Lambda would."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
SHARED = ROOT.parent / "shared"
SEED_DAYS = (date(2020, 10, 4), date(2020, 10, 5), date(2020, 10, 6), date(2020, 10, 7))

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    from fleet_reports.local.resources import load_template

    return load_template(ROOT / "template.yaml")


class Lambdas:
    """Invokes each function's own handler with exactly the environment the template gives it."""

    def __init__(self, template: dict[str, Any], resources: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        from fleet_reports.local.resources import function_environment, functions

        self.template, self.resources, self.monkeypatch = template, resources, monkeypatch
        self.specs = functions(template)
        self.envs = {lid: function_environment(template, lid, resources) for lid in self.specs}
        self._handlers: dict[str, Any] = {}

    def use_env(self, logical_id: str, **extra: str) -> None:
        from fleet_reports.settings import get_settings

        for key in {k for env in self.envs.values() for k in env}:
            self.monkeypatch.delenv(key, raising=False)
        for key, value in {**self.envs[logical_id], **BASE_ENV, **extra}.items():
            self.monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    def handler(self, logical_id: str) -> Any:
        if logical_id not in self._handlers:
            from fleet_reports.local.stack import load_handler

            spec = self.specs[logical_id]
            self._handlers[logical_id] = load_handler(ROOT, spec.code_uri, spec.handler, logical_id)
        return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any], **extra_env: str) -> dict[str, Any]:
        from fleet_reports.local.gateway import LambdaContext

        self.use_env(logical_id, **extra_env)
        result: dict[str, Any] = self.handler(logical_id)(event, LambdaContext(logical_id))
        return result

    def api(
        self,
        logical_id: str,
        params: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        body: str | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        **extra_env: str,
    ) -> tuple[int, Any, dict[str, str]]:
        """Call an API function; (HTTP status, JSON body or raw bytes, headers)."""
        from fleet_reports.local.gateway import api_event

        path = self.specs[logical_id].api_routes[0][1]
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        data = (body if body is not None else json.dumps(params or {})).encode() if method == "POST" else b""
        result = self.invoke(logical_id, api_event(method, path, query, hdrs, data, "127.0.0.1"), **extra_env)
        raw = result.get("body") or ""
        payload: Any = base64.b64decode(raw) if result.get("isBase64Encoded") else raw
        out_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        # The REST resolver answers in multiValueHeaders; the last value wins, as API Gateway does.
        for k, values in (result.get("multiValueHeaders") or {}).items():
            if values:
                out_headers[k.lower()] = values[-1]
        if "json" in out_headers.get("content-type", ""):
            payload = json.loads(payload)
        return int(result["statusCode"]), payload, out_headers

    def run_worker(self, max_batches: int = 20) -> int:
        """Drain the jobs queue through the worker handler, as Lambda's poller would."""
        import boto3

        from fleet_reports.local.poller import QueuePoller

        spec = self.specs["WorkerFunction"]
        assert spec.sqs_queue
        self.use_env("WorkerFunction")
        poller = QueuePoller(
            self.resources.names[spec.sqs_queue],
            self.resources.arns[spec.sqs_queue],
            lambda event, ctx: self.invoke("WorkerFunction", event),
            function_name="WorkerFunction",
            retry_delay_s=0,
        )
        sqs = boto3.client("sqs")
        done = 0
        for _ in range(max_batches):
            n = poller.poll_once(sqs)
            if not n:
                break
            done += n
        return done


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    from fleet_reports.settings import get_settings
    from fleet_reports.store.aws import reset_clients

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


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


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
