"""A small HTTP gateway on 127.0.0.1 that turns requests into API Gateway (REST) events
and calls the functions' own handlers in-process, as API Gateway would call the Lambdas."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit

# The gateway's own answers, as template.yaml's GatewayResponses shape API Gateway's: a method and path
# that are no route (MISSING_AUTHENTICATION_TOKEN: API Gateway answers it for a method the resource
# lacks as well) and a request too large (REQUEST_TOO_LARGE: the body, and locally the URI or headers).
NOT_A_ROUTE = (400, 111, "Wrong handler")
TOO_LARGE = (412, 9, "Too large request")


class LambdaContext:
    """What the Lambda runtime hands a handler, enough for Powertools."""

    def __init__(self, function_name: str, timeout_s: int = 29, memory_mb: int = 512) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def api_event(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The REST (v1) proxy event API Gateway sends; bodies arrive base64 (BinaryMediaTypes */*)."""
    multi_q = {k: v for k, v in parse_qs(query, keep_blank_values=True).items()}
    request_id = str(uuid.uuid4())
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/local{path}",
            "stage": "local",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


_FORMAT = "Wrong request format"


def _gateway_error(code: int, description: str) -> bytes:
    return json.dumps({"success": False, "status": {"code": code, "description": description}}).encode()


class Instances:
    """A function's warm instances, as Lambda keeps them: each runs one invocation at a time
    (a handler module has per-invocation state: its resolver's current event), and a request
    that finds them all busy gets a new one, up to ``limit``, else waits for one to be free.
    ``load`` makes an instance: the function's handler module loaded afresh."""

    def __init__(self, first: Handler, load: Callable[[int], Handler] | None, limit: int) -> None:
        self.idle: list[Handler] = [first]
        self.count, self.load, self.limit = 1, load, limit if load is not None else 1
        self.ready = threading.Condition()

    def take(self) -> Handler:
        with self.ready:
            while not self.idle and self.count >= self.limit:
                self.ready.wait()
            if self.idle:
                return self.idle.pop()
            self.count += 1
            n = self.count
        assert self.load is not None
        try:
            return self.load(n)
        except BaseException:
            with self.ready:
                self.count -= 1
                self.ready.notify()
            raise

    def give_back(self, handler: Handler) -> None:
        with self.ready:
            self.idle.append(handler)
            self.ready.notify()


class Gateway:
    def __init__(
        self,
        routes: dict[tuple[str, str], tuple[str, Handler]],
        host: str = "127.0.0.1",
        port: int = 3000,
        *,
        loaders: dict[str, Callable[[int], Handler]] | None = None,
        instances: int = 4,
        durations: TextIO | None = None,
    ):
        """``routes``: (method, path) -> (function, handler). With ``loaders`` (function -> how to
        load another instance of its handler), each function runs up to ``instances`` invocations
        at once, each in an instance of its own; without, one at a time. With ``durations``, a line
        ``<function> <milliseconds>`` is written there for each invocation: the time its handler
        ran, as Lambda reports an invocation's Duration (the HTTP exchange and the wait for a free
        instance not counted)."""
        self.routes = routes
        self.durations = durations
        self._durations_lock = threading.Lock()
        self.instances: dict[str, Instances] = {}
        for name, handler in routes.values():
            if name not in self.instances:
                load = (loaders or {}).get(name)
                self.instances[name] = Instances(handler, load, instances)
        gateway = self

        class _Req(BaseHTTPRequestHandler):
            server_version = "FleetReportsLocalGateway/1"
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                gateway.serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815

            def __getattr__(self, name: str) -> Any:
                # Any other method (OPTIONS, TRACE, ...) is routed too, to 111 unless a route has it,
                # never http.server's HTML 501.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                # http.server's own refusals (a malformed request line, a URI or headers too long): the
                # envelope, not an HTML page.
                gateway.refuse(self, code)

        self.server = ThreadingHTTPServer((host, port), _Req)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @classmethod
    def refuse(cls, req: BaseHTTPRequestHandler, status: int) -> None:
        """An answer of the gateway itself, before any routing, and the connection closed."""
        req.close_connection = True
        if req.request_version == "HTTP/0.9":  # a request line http.server could not read: answer with headers
            req.request_version = "HTTP/1.1"
        if status in (413, 414, 431):  # a body, URI or headers too large: REQUEST_TOO_LARGE
            what = f"the body is over {MAX_BODY} bytes" if status == 413 else "the URI or headers are too long"
            status, code, description = TOO_LARGE
            error = _gateway_error(code, f"{description}: {what}")
        else:
            error = _gateway_error(5, _FORMAT)
        with contextlib.suppress(OSError):  # the client went away
            cls._send(req, status, {"Content-Type": "application/json"}, error)

    def serve(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        body = self._body(req)
        if body is None:
            return
        route = self.routes.get((req.command, url.path.rstrip("/") or "/"))
        if route is None:
            # An unknown action, or a method its resource lacks (OPTIONS, HEAD, TRACE, ...): API Gateway's
            # MISSING_AUTHENTICATION_TOKEN response (template.yaml). A HEAD answer has its headers only.
            status, code, description = NOT_A_ROUTE
            self._send(req, status, {"Content-Type": "application/json"}, _gateway_error(code, description))
            return
        name, _ = route
        headers = {k: v for k, v in req.headers.items()}
        event = api_event(req.command, url.path, url.query, headers, body, req.client_address[0])
        pool = self.instances[name]
        try:
            handler = pool.take()
            began = time.perf_counter()
            try:
                result = handler(event, LambdaContext(name))
            finally:
                pool.give_back(handler)
                self._record(name, time.perf_counter() - began)
        except Exception:  # a crashed Lambda: API Gateway answers 502 with its own (JSON) body
            self._send(req, 502, {"Content-Type": "application/json"}, _gateway_error(6, "Unexpected error"))
            return
        out_headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[str(k)] = str(values[-1])
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        self._send(req, int(result.get("statusCode", 200)), out_headers, data)

    def _record(self, function: str, seconds: float) -> None:
        if self.durations is None:
            return
        with self._durations_lock:
            self.durations.write(f"{function} {seconds * 1000:.2f}\n")
            self.durations.flush()

    def _body(self, req: BaseHTTPRequestHandler) -> bytes | None:
        """The request's body (by its Content-Length, or chunked), or None once refused: a garbled
        length (a negative one would make the read hang), a body over :data:`MAX_BODY` (never read:
        the connection is closed instead: 9, HTTP 412)."""
        if "chunked" in req.headers.get("Transfer-Encoding", "").lower():
            return self._chunked(req)
        declared = (req.headers.get("Content-Length") or "0").strip()
        if not declared.isdigit():
            self.refuse(req, 400)
            return None
        length = int(declared)
        if length > MAX_BODY:
            self.refuse(req, 413)
            return None
        return req.rfile.read(length) if length else b""

    def _chunked(self, req: BaseHTTPRequestHandler) -> bytes | None:
        body = bytearray()
        while True:
            line = req.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.refuse(req, 400)
                return None
            if size < 0 or len(body) + size > MAX_BODY:
                self.refuse(req, 413 if size > 0 else 400)
                return None
            if size == 0:
                while req.rfile.readline(1024).strip():
                    pass  # trailers, up to the empty line
                return bytes(body)
            body += req.rfile.read(size)
            req.rfile.readline(1024)  # the CRLF after the chunk

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes) -> None:
        req.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection"):
                req.send_header(k, v)
        req.send_header("Content-Length", str(len(data)))
        if req.close_connection:  # a refusal (the body left unread), or the client asked for it
            req.send_header("Connection", "close")
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(data)
