"""Rules of the house that a refactoring could silently break."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.support.network import SocketBlockedError

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared" / "fleet_reports"
TESTS = ROOT / "tests"
HEAVY = {"numpy", "pyarrow", "openpyxl", "fpdf", "xlwt"}
API_FUNCTIONS = sorted(p.parent.name for p in ROOT.glob("functions/*/app.py") if p.parent.name != "worker")


@cache
def parsed(path: Path) -> ast.Module:
    """A module's syntax tree (each file is parsed once for all the rules)."""
    return ast.parse(path.read_text())


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


# One interpreter loads what the API handlers import (fleet_reports.entry, fleet_reports.api.actions),
# then forks a child per handler that loads it as the Lambda runtime would. A child holds no more than
# its handler's cold start would, bar what the shared part loads, and a heavy module loaded there
# would show in every handler: the check is the same as one fresh interpreter per handler, at a
# tenth of the time.
LOAD_EACH = """
import importlib.util, json, os, sys, traceback
import fleet_reports.api.actions, fleet_reports.entry
loaded = {}
for path in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            spec = importlib.util.spec_from_file_location("app", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            with os.fdopen(write, "w") as pipe:
                pipe.write(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    loaded[path] = json.loads(text) if status == 0 else None
print(json.dumps(loaded))
"""


@cache
def cold_loads() -> dict[str, list[str] | None]:
    """Each API handler's file -> the top-level modules loaded once it is (None: it failed to load)."""
    files = [str(ROOT / "functions" / name / "app.py") for name in API_FUNCTIONS]
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", LOAD_EACH, *files], check=False, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    loads: dict[str, list[str] | None] = json.loads(out.stdout)
    assert all(loads.values()), out.stderr
    return loads


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_api_handlers_import_nothing_heavy(name: str) -> None:
    # Given an API handler loaded in a fresh interpreter as the Lambda runtime would
    loaded = cold_loads()[str(ROOT / "functions" / name / "app.py")]
    # Then none of numpy, pyarrow, openpyxl, fpdf2 or xlwt was imported
    assert loaded and "fleet_reports" in loaded
    assert not HEAVY & set(loaded)


def test_handlers_engine_and_renderers_never_import_boto3() -> None:
    # Given the handler files, the engine and the renderers
    files = [*ROOT.glob("functions/*/app.py"), *(PACKAGE / "engine").rglob("*.py"), *(PACKAGE / "render").rglob("*.py")]
    # Then none of them imports boto3 or botocore, or the store
    for path in files:
        bad = {m for m in imported_modules(path) if m.split(".")[0] in {"boto3", "botocore"}}
        bad |= {m for m in imported_modules(path) if m.startswith("fleet_reports.store")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_imports_point_one_way() -> None:
    # Given the layers api -> service -> engine/render -> store
    forbidden = {
        "engine": ("fleet_reports.api", "fleet_reports.service", "fleet_reports.store", "fleet_reports.render"),
        "render": ("fleet_reports.api", "fleet_reports.service", "fleet_reports.store", "fleet_reports.engine.plugins"),
        "store": ("fleet_reports.api", "fleet_reports.service", "fleet_reports.render"),
        "service": ("fleet_reports.api", "fleet_reports.local"),
    }
    # Then no module imports upwards
    for folder, banned in forbidden.items():
        for path in (PACKAGE / folder).rglob("*.py"):
            bad = {m for m in imported_modules(path) if m.startswith(banned)}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_the_store_and_local_stack_import_boto3() -> None:
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        if rel[0] in {"store", "local"}:
            continue
        assert not {m for m in imported_modules(path) if m.split(".")[0] == "boto3"}, path


def test_only_the_demo_local_stack_and_cli_import_the_demo_fleet() -> None:
    # Given every module of the package, and who may import the demo fleet (it uses sim and service)
    allowed = {"demo", "local", "cli"}
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in allowed:
            continue
        imported: set[str] = set()
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                if node.module == "fleet_reports":
                    imported.update(f"fleet_reports.{a.name}" for a in node.names)
        # Then no other layer (sim, service, store, api, engine, render, ingest) imports it
        bad = {m for m in imported if m == "fleet_reports.demo" or m.startswith("fleet_reports.demo.")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_tests_share_helpers_through_tests_support_never_by_importing_each_other() -> None:
    # Given every Python file under tests/, and every name by which one could import another
    files = sorted(TESTS.rglob("*.py"))
    local = {p.stem for p in files if p.stem != "__init__"} | {p.parent.name for p in TESTS.rglob("__init__.py")}
    seen_support = 0
    for path in files:
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                names = ["." * node.level + (node.module or "")]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"tests.{a.name}" for a in node.names if node.module == "tests")]
            else:
                continue
            for name in names:
                # Then it imports from tests.support (or its own folder's conftest) and no other module of tests/
                if name.startswith("."):
                    allowed = name == ".conftest"
                elif name.split(".")[0] == "tests":
                    allowed = name == "tests.support" or name.startswith("tests.support.")
                    seen_support += allowed
                else:
                    allowed = name.split(".")[0] not in local
                assert allowed, f"{path.relative_to(ROOT)} imports {name}: move what it needs to tests/support"
    assert seen_support > 20  # the rule looked at the real imports


def test_a_unit_test_cannot_open_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a unit test (tests/unit/conftest.py blocks the network for every one) and AWS credentials
    import socket
    import urllib.request

    import boto3
    from botocore.exceptions import HTTPClientError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # When it opens a socket, connects, resolves a name or makes an HTTP request, Then each fails loudly
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(SocketBlockedError):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(SocketBlockedError):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
    # And so does a real AWS call that forgot moto (the SDK wraps the error, keeping its message)
    with pytest.raises(HTTPClientError, match="sockets disabled"):
        boto3.client("s3").list_buckets()
    # And a socket pair the operating system hands over still works (asyncio's self-pipe needs one)
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
