"""Every command the README and `make run`'s banner give a newcomer runs verbatim.

A fresh local stack of its own (as `make run FRESH=1` starts it: the demo fleet, the
documentation's example report 1234567), then the README's API walk with real curl and bash, each
command exactly as printed but for the port of ``B=``; then every curl line of the banner. Each
command's answer is checked: JSON with ``"success": true`` (and the value the README's ``# ->``
comment shows, where it shows one), or a downloaded file of the right kind. The README commands
not run here are named in ``NOT_RUN`` with the reason (they need AWS, or are what CI itself runs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
pytestmark = [
    pytest.mark.local,
    pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash"),
]

# README commands that no test runs verbatim, and why (each is checked to still be in the README).
NOT_RUN = {
    "make run": "the stack this test starts is `make run`'s own process (python -m fleet_reports.local)",
    "make test": "what CI runs: this test is part of it",
    "make check": "the fast tier of make test (lint, types, the unit tests not marked slow), which CI runs",
    "make build": "needs the SAM CLI and downloads; a deployment step",
    "sam deploy": "needs an AWS account",
    "--stack fleet-reports": "the CLI on a deployed stack needs AWS credentials",
}
FILE_MAGIC = {".pdf": b"%PDF-", ".xlsx": b"PK\x03\x04", ".xls": b"\xd0\xcf\x11\xe0"}


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, re.S)


def split_comment(text: str) -> tuple[str, str] | None:
    """The command and its trailing comment (a ``#`` outside quotes after a blank), or None while a
    quote is still open."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip(), text[i + 1 :].strip()
    return None if quote else (text.rstrip(), "")


def commands(block: str) -> list[tuple[str, str]]:
    """The block's commands (a command spans lines while a quote is open) with the comment on its
    line, or on the next line when that line is a ``# ->`` comment."""
    out: list[tuple[str, str]] = []
    pending: list[str] = []
    for line in block.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            if stripped.startswith("# ->") and out:
                out[-1] = (out[-1][0], stripped[4:].strip())
            continue
        pending.append(line)
        split = split_comment("\n".join(pending))
        if split is not None:
            out.append(split)
            pending = []
    assert not pending, pending
    return out


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A stack as a newcomer's first `make run` starts it, in its own process; its output in stack.log."""
    folder = tmp_path_factory.mktemp("readme-stack")
    state = folder / "stack.json"
    log_path = folder / "stack.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fleet_reports.local", "--port", "0", "--state", str(state), "--no-persist"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        try:
            deadline = time.monotonic() + 120
            while not state.exists():
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            info: dict[str, Any] = json.loads(state.read_text())
            info["log"] = log_path
            info["cwd"] = folder
            wait_done(info, int(info["seed_report_id"]))
            yield info
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def status(stack: dict[str, Any], report_id: int) -> dict[str, Any]:
    url = f"{stack['api_url']}/report/tracker/status?hash={stack['demo_hash']}&report_id={report_id}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


def wait_done(stack: dict[str, Any], report_id: int) -> None:
    deadline = time.monotonic() + 180
    while (body := status(stack, report_id)).get("state") != "done":
        assert body.get("state") != "failed" and time.monotonic() < deadline, body
        time.sleep(0.1)


def run(command: str, cwd: Path, prelude: str = "") -> str:
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{prelude}\n{command}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


def check_answer(command: str, stdout: str, cwd: Path, comment: str = "") -> Any:
    """A download wrote a file of its kind; anything else answered JSON with success (and equal to
    the comment's JSON where the comment is JSON)."""
    target = re.search(r"-o\s+(\S+)", command)
    if target:
        path = cwd / target.group(1).strip("'\"")
        magic = FILE_MAGIC[path.suffix]
        assert path.read_bytes()[: len(magic)] == magic, (command, path.read_bytes()[:200])
        return None
    body = json.loads(stdout)
    assert body.get("success") is True, (command, body)
    if comment.startswith("{"):
        assert body == json.loads(comment), (command, body, comment)
    return body


def test_every_readme_command_is_run_here_or_named_as_not_run() -> None:
    # Given the README's bash blocks, Then each command is the API walk's or named in NOT_RUN
    walk, others = walk_block(), [b for b in bash_blocks() if b != walk_block()]
    assert walk
    for block in others:
        for command, _ in commands(block):
            assert any(key in command for key in NOT_RUN), f"README command not tested: {command}"
    for key in NOT_RUN:
        assert key in README, f"NOT_RUN names {key!r}, which the README no longer has"


def walk_block() -> str:
    return next(b for b in bash_blocks() if b.lstrip().startswith("B=http://127.0.0.1:3000"))


def test_the_readme_api_walk_runs_verbatim(fresh_stack: dict[str, Any]) -> None:
    # Given a fresh stack and the README's walk, whose only change is the port of B=
    steps = commands(walk_block())
    assignments = [c for c, _ in steps if re.match(r"^[A-Z]+=", c)]
    assert assignments[0] == "B=http://127.0.0.1:3000"
    assert assignments[1] == f"H={fresh_stack['demo_hash']}"
    prelude = f"B={fresh_stack['api_url']}\n" + "\n".join(assignments[1:])
    cwd: Path = fresh_stack["cwd"]
    ran: list[str] = []
    # When each command runs in bash exactly as printed
    for command, comment in steps:
        if command in assignments:
            continue
        stdout = run(command, cwd, prelude)
        # Then each answers as the README says
        body = check_answer(command, stdout, cwd, comment)
        if "/generate" in command:
            assert body == {"success": True, "id": 1234568}
            wait_done(fresh_stack, 1234568)  # a reader polls status until it is done
        if "/user/auth" in command:
            assert body["type"] == "authenticated" and len(body["hash"]) == 32
        ran.append(command.split("?")[0].split('"$B')[-1].split(" ")[0])
    # And the walk went through every action
    for action in ("generate", "status", "list", "retrieve", "download", "delete", "/user/auth", "/plugin/list"):
        assert any(action in c for c, _ in steps), action
    assert len(ran) >= 10


def test_the_banners_curl_commands_run_verbatim(fresh_stack: dict[str, Any]) -> None:
    # Given the `make run` banner's "Try it" lines
    lines = fresh_stack["log"].read_text().splitlines()
    tries = [line.strip() for line in lines if line.startswith("  curl ")]
    assert len(tries) >= 7, lines
    cwd: Path = fresh_stack["cwd"]
    # When each runs in bash as printed (the generate first, the delete of the example last)
    for command in tries:
        stdout = run(command, cwd)
        # Then each answers with success, or writes a file of its kind
        body = check_answer(command, stdout, cwd)
        if "/generate" in command:
            wait_done(fresh_stack, int(body["id"]))
    assert "/delete" in tries[-1]
