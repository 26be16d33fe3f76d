"""Bad input, tried wholesale: schemathesis drives the local stack from the API's own OpenAPI document.

The document is the one the stack serves (``GET /openapi.json``), which must be the repository's
``docs/openapi.json``. Every generated request, valid or not, must be answered without a 5xx and in
the envelope: ``{"success": true, ...}`` or ``{"success": false, "status": {"code", "description"}}``
with the HTTP status of its code, and as the document describes it (status, content type, schema).

Bounded: a seed of its own, few examples per operation, no stateful phase; the whole module runs in
well under two minutes. It starts a stack of its own (``--no-persist``) with the callers' rate limits
and the sign-in attempt limits lifted, so that the generated requests reach validation instead of
error 15, and so that what it generates, deletes and floods never touches the stack the other local
tests share.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from fleet_reports.errors import CODES, ErrorCode

from tests.support.paths import ROOT
from tests.support.raw_http import exchange

pytestmark = pytest.mark.local

SEED = 20261206  # the same cases on every run: a failure is reproducible
MAX_EXAMPLES = 10  # per operation, in the fuzzing phase
_LOCAL = (sys.executable, "-m", "fleet_reports.local")
LIFTED = (
    "CallerRateLimit=10000",
    "CallerGenerateLimit=10000",
    "LoginAttemptLimit=1000000",  # the fuzzed sign-ins all fail, from one address
    "AddressAttemptLimit=1000000",
)
# Answers of the local gateway itself, before a function runs (docs/api.md, "The envelope").
GATEWAY = {(400, 111), (400, 5), (411, 5), (412, 9), (502, 6)}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A local stack of this module's own: in memory, the callers' rate limits lifted."""
    folder = tmp_path_factory.mktemp("fuzz-stack")
    state = folder / "stack.json"
    with (folder / "stack.log").open("w") as log:
        proc = subprocess.Popen(
            [*_LOCAL, "--port", "0", "--state", str(state), "--no-persist", "--parameter-overrides", *LIFTED],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        try:
            deadline = time.monotonic() + 120
            while not state.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"local stack did not start:\n{(folder / 'stack.log').read_text()}")
                time.sleep(0.2)
            info: dict[str, Any] = json.loads(state.read_text())
            yield info
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _validator(document: dict[str, Any], name: str) -> Any:
    """A JSON Schema validator of one component of the document, its references resolved in it."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


def test_the_stack_serves_the_document_the_repository_keeps(fuzz_stack: dict[str, Any]) -> None:
    # Given the document kept in the repository
    kept = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))

    # When the stack's gateway is asked for /openapi.json, without a hash
    with urllib.request.urlopen(f"{fuzz_stack['api_url']}/openapi.json", timeout=30) as resp:
        served, content_type = json.loads(resp.read()), resp.headers["Content-Type"]

    # Then it serves exactly that document, as JSON
    assert content_type.startswith("application/json")
    assert served == kept


def test_the_documented_answers_are_the_answers(fuzz_stack: dict[str, Any]) -> None:
    # Given the document and the stack's example report, done
    document = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    base, owner, report_id = fuzz_stack["api_url"], fuzz_stack["demo_hash"], fuzz_stack["seed_report_id"]
    deadline = time.monotonic() + 120
    while _get(f"{base}/report/tracker/status?hash={owner}&report_id={report_id}")[1].get("percent_ready") != 100:
        assert time.monotonic() < deadline, "the example report never got done"
        time.sleep(0.2)

    # When each read action answers it
    answers = {
        "StatusAnswer": _get(f"{base}/report/tracker/status?hash={owner}&report_id={report_id}"),
        "ListAnswer": _get(f"{base}/report/tracker/list?hash={owner}"),
        "RetrieveAnswer": _get(f"{base}/report/tracker/retrieve?hash={owner}&report_id={report_id}"),
        "PluginListAnswer": _get(f"{base}/plugin/list?hash={owner}"),
        "ErrorAnswer": _get(f"{base}/report/tracker/retrieve?hash={owner}&report_id=abc"),
    }

    # Then each answer is what the document says it is, deep down (the report document included)
    for name, (status, body) in answers.items():
        assert status == (400 if name == "ErrorAnswer" else 200), (name, body)
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(document, name).iter_errors(body)
        ]
        assert errors == [], name
    assert answers["RetrieveAnswer"][1]["report"]["sheets"], "the report document is not empty"
    assert answers["ErrorAnswer"][1]["errors"][0]["parameter"] == "report_id"


def _raw(stack: dict[str, Any], request: bytes) -> tuple[int, dict[str, Any]]:
    """Send bytes as they are to the stack's gateway; the status and the JSON body of its answer."""
    status, headers, body = exchange(stack["api_url"], request, timeout=10)
    assert headers.get("content-type", "").startswith("application/json"), (status, headers, body[:300])
    return status, json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"TRACE /plugin/list HTTP/1.1\r\nHost: x\r\n\r\n", 400, 111),
        (b"OPTIONS /report/tracker/list HTTP/1.1\r\nHost: x\r\n\r\n", 400, 111),
        (b"BREW /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 400, 111),
        (b"NOT AN HTTP REQUEST LINE\r\n\r\n", 400, 5),
        (b"POST /user/auth HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}", 400, 5),
        (b"POST /user/auth HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 412, 9),
        (b"POST /user/auth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, 5),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 412, 9),
    ],
    ids=["trace", "options", "unknown-method", "garbage", "negative-length", "huge-length", "bad-chunk", "long-uri"],
)
def test_the_gateway_answers_broken_http_in_the_envelope(
    fuzz_stack: dict[str, Any], request_bytes: bytes, status: int, code: int
) -> None:
    # Given a request that is not what an API client sends (a method no route has, a broken request
    # line or length, a body announced far over the limit and never sent)
    # When it reaches the local gateway
    answer = _raw(fuzz_stack, request_bytes)
    # Then the gateway answers at once, in the envelope, never with an HTML page or a hang
    assert answer == (
        status,
        {"success": False, "status": {"code": code, "description": answer[1]["status"]["description"]}},
    )


def test_a_chunked_body_is_read_like_any_other(fuzz_stack: dict[str, Any]) -> None:
    # Given a JSON body sent in chunks (no Content-Length), as HTTP/1.1 allows
    body = json.dumps({"login": "nobody@fleet.example", "password": "x"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    head = b"POST /user/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    # When it is posted, Then the function reads it whole: an unknown login (102), not a format error
    assert _raw(fuzz_stack, head + b"\r\n" + chunks) == (
        400,
        {"success": False, "status": {"code": 102, "description": "Wrong login or password"}},
    )


# ---------------------------------------------------------------------------------- schemathesis


@schemathesis.check
def envelope(ctx: Any, response: Any, case: Any) -> bool:
    """Every answer but the document itself and a download's file is JSON in the envelope, with the
    HTTP status its code answers with (or the gateway's own)."""
    if case.operation.path == "/openapi.json" and response.status_code == 200:
        return True
    if case.operation.path == "/report/tracker/download" and response.status_code in (200, 302):
        return True
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/json"), f"not JSON: {content_type} {response.content[:200]!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("success"), bool), body
    if body["success"]:
        assert response.status_code == 200, body
        return True
    status = body["status"]
    assert set(status) == {"code", "description"} and isinstance(status["description"], str), body
    code = ErrorCode(status["code"])
    assert status["description"].startswith(CODES[code][0]), body
    assert response.status_code == CODES[code][1] or (response.status_code, int(code)) in GATEWAY, body
    return True


# Run: no 5xx, the envelope (above), and the answers as documented (status, content type, schema,
# headers); a request that breaks the document must be refused. Left out: positive_data_acceptance
# (a valid request is still refused when its tracker or report does not exist) and ignored_auth
# (the wire answers a missing hash with code 4 and HTTP 400, as Navixy does, not with 401).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "envelope",
)


def _config(stack: dict[str, Any]) -> Any:
    from schemathesis.config import SchemathesisConfig

    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "base-url": stack["api_url"],
            "request-timeout": 20,
            # The demo owner (the stack is this module's own): the example report is read, then deleted.
            "headers": {"Authorization": f"NVX {stack['demo_hash']}"},
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "with-security-parameters": False},
            "phases": {
                "examples": {"enabled": True},
                # Every documented boundary (lengths, ranges, enums, each plugin's options), valid values
                "coverage": {"enabled": True, "generation": {"mode": "positive"}},
                # Random requests, valid and invalid (types, missing members, garbage)
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            # GET generate takes the parameters POST generate takes, whose boundaries are covered already
            "operations": [
                {"include-operation-id": "report_tracker_generate_get", "phases": {"coverage": {"enabled": False}}}
            ],
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


def test_no_answer_is_a_5xx_or_outside_the_envelope(fuzz_stack: dict[str, Any]) -> None:
    from schemathesis.engine import Status, events, from_schema

    # Given schemathesis and the document the stack serves
    api = schemathesis.openapi.from_url(f"{fuzz_stack['api_url']}/openapi.json", config=_config(fuzz_stack))

    # When it runs its phases against the stack
    started = time.monotonic()
    cases: dict[str, int] = {}
    failures: list[str] = []
    errors: list[str] = []
    for event in from_schema(api).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            cases[str(event.phase)] = cases.get(str(event.phase), 0) + len(recorder.cases)
            for case_id, checks in recorder.checks.items():
                case = recorder.cases[case_id].value
                failures += [
                    f"{recorder.label} {check.name}: {check.failure_info.failure.title if check.failure_info else ''}"
                    f" (query {case.query}, body {str(case.body)[:300]})"
                    for check in checks
                    if check.status == Status.FAILURE
                ]
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            errors.append(repr(event)[:500])
    elapsed = time.monotonic() - started
    print(f"schemathesis: {sum(cases.values())} requests {cases} in {elapsed:.1f} s")

    # Then every phase ran, and no answer failed a check
    assert errors == []
    assert set(cases) >= {"examples", "coverage", "fuzzing"} and sum(cases.values()) > 300, cases
    assert sorted(set(failures)) == []
