"""The functions invoked as Lambda invokes them: each handler with exactly the environment the template gives it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.paths import ROOT

# What every function gets besides its template environment: moto's fake credentials and region,
# Powertools quiet, and the per-caller request rates at their parameters' maximum: a test calls
# far faster than a client may (tests/functions/test_limits.py sets them low where it tests them).
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "CALLER_RATE_LIMIT": "10000",
    "CALLER_GENERATE_LIMIT": "10000",
}


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

    def run_worker(self, max_batches: int = 20, **extra_env: str) -> int:
        """Drain the jobs queue through the worker handler, as Lambda's poller would (the
        worker's environment plus ``extra_env``)."""
        import boto3

        from fleet_reports.local.poller import QueuePoller

        spec = self.specs["WorkerFunction"]
        assert spec.sqs_queue
        self.use_env("WorkerFunction")
        poller = QueuePoller(
            self.resources.names[spec.sqs_queue],
            self.resources.arns[spec.sqs_queue],
            lambda event, ctx: self.invoke("WorkerFunction", event, **extra_env),
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
