"""The local gateway answers what API Gateway (with template.yaml's GatewayResponses) answers, in the
envelope: a method no route has (``OPTIONS``, ``HEAD``, ``TRACE``, ``PUT``) is 111 with HTTP 400, as
API Gateway's MISSING_AUTHENTICATION_TOKEN; a body over API Gateway's 10 MiB is 9 with HTTP 412, as
its REQUEST_TOO_LARGE; a body over ``MaxBodyBytes`` reaches the function, which answers 9 with HTTP
412 naming the limit. The stack keeps answering good requests beside them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fleet_reports.local.gateway import MAX_BODY

from tests.support.raw_http import exchange

pytestmark = pytest.mark.local

WRONG_HANDLER = {"success": False, "status": {"code": 111, "description": "Wrong handler"}}


def _exchange(stack: dict[str, Any], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are to the stack's gateway: the answer's status, headers and body."""
    return exchange(stack["api_url"], request)


def _plugins(stack: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A good request: the demo user's plugin list."""
    body = json.dumps({"hash": stack["demo_hash"]}).encode()
    status, _, data = _exchange(
        stack,
        b"POST /plugin/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body),
    )
    return status, json.loads(data)


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"])
def test_a_method_no_route_has_is_wrong_handler(stack: dict[str, Any], method: str) -> None:
    # Given a route that takes GET and POST only
    # When another method asks for it (a browser's CORS preflight, a TRACE, a PUT)
    status, headers, body = _exchange(stack, f"{method} /plugin/list HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    # Then the gateway answers as API Gateway does: 111 in the envelope, HTTP 400, never an HTML 501
    assert (status, headers["content-type"], json.loads(body)) == (400, "application/json", WRONG_HANDLER)
    # And the route still answers its own methods
    assert _plugins(stack)[0] == 200


def test_head_is_wrong_handler_with_headers_only(stack: dict[str, Any]) -> None:
    # Given a route that takes GET and POST only
    # When HEAD asks for it
    status, headers, body = _exchange(stack, b"HEAD /plugin/list HTTP/1.1\r\nHost: x\r\n\r\n")
    # Then the status and headers are those of the 111 envelope (HTTP 400, JSON, the envelope's
    # length), and, as HTTP wants for HEAD, no body follows
    envelope = json.dumps(WRONG_HANDLER).encode()
    assert (status, headers["content-type"], int(headers["content-length"]), body) == (
        400,
        "application/json",
        len(envelope),
        b"",
    )


@pytest.mark.parametrize(
    "framing",
    [f"Content-Length: {MAX_BODY + 1}\r\n\r\n", f"Transfer-Encoding: chunked\r\n\r\n{MAX_BODY + 1:x}\r\n"],
    ids=["content-length", "chunked"],
)
def test_a_body_over_the_gateways_limit_is_9_with_412(stack: dict[str, Any], framing: str) -> None:
    # Given a body announced one byte over API Gateway's 10 MiB (by its length, or as one chunk)
    request = f"POST /plugin/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{framing}".encode()
    # When it reaches the gateway
    status, headers, body = _exchange(stack, request)
    # Then the gateway refuses it unread: 9 in the envelope with HTTP 412 (REQUEST_TOO_LARGE, as the
    # README's table of codes says), the limit named, the connection closed
    assert (status, headers["content-type"], headers.get("connection")) == (412, "application/json", "close")
    assert json.loads(body) == {
        "success": False,
        "status": {"code": 9, "description": f"Too large request: the body is over {MAX_BODY} bytes"},
    }
    # And a good request beside it is answered
    status, plugins = _plugins(stack)
    assert status == 200 and plugins["success"] and plugins["list"], plugins


def test_a_body_over_max_body_bytes_is_refused_by_the_function(stack: dict[str, Any]) -> None:
    # Given a body under the gateway's 10 MiB but over MaxBodyBytes (its default, 1 MiB)
    payload = json.dumps({"hash": stack["demo_hash"], "pad": "x" * (1 << 20)}).encode()
    request = b"POST /plugin/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    # When it is posted
    status, headers, body = _exchange(stack, request % len(payload) + payload)
    # Then the function answers 9 with HTTP 412 in the envelope, naming the limit
    assert (status, headers["content-type"].split(";")[0], json.loads(body)) == (
        412,
        "application/json",
        {"success": False, "status": {"code": 9, "description": "Too large request: the body is over 1048576 bytes"}},
    )
    # And a good request beside it is answered
    assert _plugins(stack)[0] == 200


def test_each_invocation_s_duration_is_written_where_asked() -> None:
    # Given a gateway whose one route's handler takes 30 ms, its durations written to a buffer
    import io
    import time
    import urllib.request

    from fleet_reports.local.gateway import Gateway

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(0.03)
        return {"statusCode": 200, "body": "{}", "headers": {"Content-Type": "application/json"}}

    out = io.StringIO()
    gateway = Gateway({("GET", "/slow"): ("SlowFunction", slow)}, port=0, durations=out)
    gateway.start()
    try:
        # When it is asked three times
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{gateway.port}/slow", timeout=10) as answer:
                assert answer.status == 200
    finally:
        gateway.stop()

    # Then three lines name the function and the handler's time, at least its 30 ms
    lines = [line.split() for line in out.getvalue().splitlines()]
    assert [name for name, _ in lines] == ["SlowFunction"] * 3
    assert all(30.0 <= float(ms) < 1000 for _, ms in lines)
