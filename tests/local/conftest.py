"""The running local stack, started once for every test of this folder (as `make run` would)."""

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

ROOT = Path(__file__).resolve().parents[2]


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
