"""moto's server in a process of its own: the local stack's AWS.

moto serves every request in Python. In the stack's process it shared one interpreter lock with
the gateway and the API handlers, so every store call of the workers and the importers (their
reads of track days, their writes of parts and files) delayed the API's answers: under load a
``status`` waited hundreds of milliseconds for the lock, not for its own work. In a process of its
own, moto's work runs beside the API's, on another core when there is one, as the real services
do.

Connections are kept open between requests (HTTP/1.1 keep-alive). moto's own server closes
each one after its answer, so every store call paid a new connection and a new server thread,
and the thread then lingered 10 ms to drain the socket: :class:`KeepAliveHandler` reads each
request's body whole before moto sees it and answers with its length, so the next request of
the connection can follow.

moto keeps every item and object as Python objects, so its heap grows with the data, and each of
Python's full garbage collections (every few seconds under load) stopped every request for 50 to
150 ms, the data's length. :func:`keep_collections_short` moves what has lived a few seconds out
of their way (``gc.freeze``), so a collection walks only what is new; a full one runs every ten
minutes to take back any cycle that was frozen alive and died since.

The child is ``python -m fleet_reports.local.motoproc --port N``. It applies moto's guards
(:mod:`fleet_reports.local.moto_guards`: they patch moto's classes, so they must live where moto
serves), counts the requests that change state (:class:`fleet_reports.local.persist.WriteCounter`,
read back over ``GET /_fleet_reports/writes``), prints ``<host> <port>`` once it listens, and stops
when its parent goes away (its stdin closes, however the parent ended) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from fleet_reports.local import children

WRITES_PATH = "/_fleet_reports/writes"
START_TIMEOUT_S = 60.0
SWITCH_INTERVAL_S = 0.001
"""The child's thread switch interval (Python's default is 5 ms): a small request (a status's
GetItem) waits less behind a large one (a worker's read of a track day) for the interpreter lock."""


class MotoProcess:
    """The child process serving moto on 127.0.0.1, as the stack sees it: where it listens, how
    many state-changing requests it has served, and how to stop it."""

    def __init__(self, port: int = 0, *, stderr: Any = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet_reports.local.motoproc", "--port", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")},
        )
        assert self.proc.stdout is not None
        line = _read_line(self.proc.stdout, START_TIMEOUT_S)
        if not line:
            self.stop()
            raise RuntimeError(f"moto's server did not start (exit code {self.proc.poll()})")
        host, _, port_text = line.strip().partition(" ")
        self.host, self.port = host, int(port_text)

    def get_host_and_port(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def writes(self) -> int:
        """How many requests that may change a table or a bucket the server has served."""
        with urllib.request.urlopen(self.endpoint + WRITES_PATH, timeout=10) as resp:
            return int(json.loads(resp.read())["writes"])

    def stop(self, timeout_s: float = 10) -> None:
        children.stop([self.proc], timeout_s)


def _read_line(stream: Any, timeout_s: float) -> str:
    """The child's first line, or "" if it printed none within ``timeout_s`` (or exited)."""
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return out[0].decode() if out else ""


class Control:
    """WSGI middleware: the write count at :data:`WRITES_PATH`, every other request to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]], counter: Any) -> None:
        self.app, self.counter = app, counter

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == WRITES_PATH and environ.get("REQUEST_METHOD") == "GET":
            body = json.dumps({"writes": self.counter.writes}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.counter(environ, start_response)  # type: ignore[no-any-return]


def keep_alive_handler() -> type[Any]:
    """moto's request handler (werkzeug's, keeping headers with underscores), answering each
    request in full and leaving the connection open (see the module)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        disable_nagle_algorithm = True  # an answer's head and body are two writes: no 40 ms wait for an ACK

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.environ = environ = self.make_environ()
            if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's reader takes the chunks off
                body = environ["wsgi.input"].read()
            else:
                body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            answer: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer[:] = [status, headers]
                return lambda data: None  # no application here writes directly

            try:
                parts = self.server.app(environ, start_response)
                try:
                    data = b"".join(parts)
                finally:
                    if hasattr(parts, "close"):
                        parts.close()
            except Exception:
                self.close_connection = True
                self.send_error(500)
                return
            status, headers = answer
            code_text, _, reason = status.partition(" ")
            code = int(code_text)
            bodiless = self.command == "HEAD" or code < 200 or code in (204, 304)
            self.send_response(code, reason)
            for key, value in headers:
                lower = key.lower()
                if lower in ("connection", "transfer-encoding") or (lower == "content-length" and not bodiless):
                    continue
                self.send_header(key, value)
            if not bodiless:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not bodiless:
                self.wfile.write(data)
            self.wfile.flush()

    return KeepAliveHandler


FREEZE_EVERY_S = 5.0
FULL_COLLECTION_EVERY_S = 600.0


def keep_collections_short(stop: threading.Event) -> None:
    """Freeze the heap every :data:`FREEZE_EVERY_S` (young cycles collected first); unfreeze and
    collect it whole every :data:`FULL_COLLECTION_EVERY_S` (see the module). Until ``stop``."""
    import gc

    last_full = time.monotonic()
    while not stop.wait(FREEZE_EVERY_S):
        if time.monotonic() - last_full >= FULL_COLLECTION_EVERY_S:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        else:
            gc.collect(1)
        gc.freeze()


def serve(port: int) -> None:
    """Serve moto on 127.0.0.1:``port`` (0: any free port) until stdin closes or SIGTERM."""
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from fleet_reports.local.moto_guards import atomic_conditional_writes
    from fleet_reports.local.persist import WriteCounter

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    atomic_conditional_writes()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", port, Control(app, WriteCounter(app)), threaded=True, request_handler=keep_alive_handler()
    )
    server.daemon_threads = True  # type: ignore[attr-defined]
    host, bound = str(server.server_address[0]), int(server.server_address[1])
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    done = children.ended_by_parent()
    threading.Thread(target=keep_collections_short, args=(done,), name="gc", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it saves, then stops us
    sys.stdout.write(f"{host} {bound}\n")
    sys.stdout.flush()
    done.wait()
    server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="moto's server for the local stack")
    parser.add_argument("--port", type=int, default=0)
    serve(parser.parse_args().port)
