"""The CLI's own logic: targets, the progress bar, argument checks (no AWS)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fleet_reports.cli import main
from fleet_reports.cli.progress import Progress
from fleet_reports.cli.target import TargetError, local_target, resolve

STATE = {
    "api_url": "http://127.0.0.1:3000",
    "aws_endpoint_url": "http://127.0.0.1:5000",
    "region": "us-east-1",
    "reports_table": "r-table",
    "fleet_table": "f-table",
    "reports_bucket": "r-bucket",
    "track_bucket": "t-bucket",
    "jobs_queue_url": "http://127.0.0.1:5000/123/jobs",
}


def test_a_local_state_file_gives_the_functions_environment(tmp_path: Path) -> None:
    # Given the state file `make run` writes
    state = tmp_path / "stack.json"
    state.write_text(json.dumps(STATE))
    # When it is read as a target
    target = local_target(state)
    # Then the service code gets the names the template would give a function, and moto's endpoint
    assert target.env["FLEET_TABLE"] == "f-table" and target.env["TRACK_BUCKET"] == "t-bucket"
    assert target.env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert target.api_url == "http://127.0.0.1:3000"


def test_a_stale_state_file_is_explained(tmp_path: Path) -> None:
    # Given a state file from an older stack without the table names
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"api_url": "x"}))
    # Then the error says what is missing and what to do
    with pytest.raises(TargetError, match=r"lacks .*fleet_table.*make run"):
        local_target(state)


def test_no_target_at_all_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLEET_REPORTS_STACK", raising=False)
    with pytest.raises(TargetError, match=r"make run.*--stack"):
        resolve(None, None, None)


def test_progress_in_a_log_prints_every_tenth_and_one_final_line() -> None:
    # Given a progress bar writing to a log (not a terminal)
    out = io.StringIO()
    bar = Progress(1000, "upload x", stream=out)
    # When it advances in 100 small steps and finishes
    for _ in range(100):
        bar.advance(10)
    bar.finish()
    lines = out.getvalue().splitlines()
    # Then there is a first line, one per further 10 %, the last at 100 %, never twice
    assert len(lines) == 11
    assert lines[-1].startswith("upload x [") and "100.0%" in lines[-1]
    assert sum("100.0%" in line for line in lines) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--from", "2021-13-01", "--out", "x"], "--from: '2021-13-01' is not a date"),
        (["simulate", "--from", "2021-06-02", "--to", "2021-06-01", "--out", "x"], "is after --to"),
        (["simulate", "--tracker", "5", "--out", "x"], "--tracker 5 is not a demo tracker"),
        (["convert", "--from", "nope", "a", "b"], "unknown source format"),
        (["validate", "/nonexistent/fleet.yaml"], "is not a valid manifest"),
    ],
)
def test_bad_arguments_are_explained_without_a_traceback(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the CLI gets a bad argument, Then it exits 2 with a message naming it
    assert main(args) == 2
    assert message in capsys.readouterr().err
