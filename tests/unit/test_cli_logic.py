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


def test_no_target_at_all_says_what_it_tried_and_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLEET_REPORTS_STACK", raising=False)
    monkeypatch.delenv("FLEET_REPORTS_LOCAL", raising=False)
    with pytest.raises(
        TargetError,
        match=r"no \.local/stack\.json in .* or any folder above it.*FLEET_REPORTS_LOCAL.*make run.*--stack",
    ):
        resolve(None, None, None)


def test_the_local_stack_is_found_from_a_subfolder_or_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a repository whose local stack is up (its .local/stack.json)
    repo = tmp_path / "repo"
    (repo / ".local").mkdir(parents=True)
    (repo / ".local" / "stack.json").write_text(json.dumps(STATE))
    (repo / "docs" / "samples").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.delenv("FLEET_REPORTS_STACK", raising=False)
    monkeypatch.delenv("FLEET_REPORTS_LOCAL", raising=False)
    # When the CLI runs in a folder below it, Then it finds the stack by looking upward
    monkeypatch.chdir(repo / "docs" / "samples")
    assert resolve(None, None, None).env["FLEET_TABLE"] == "f-table"
    # When it runs elsewhere with FLEET_REPORTS_LOCAL naming the repository (or the file), Then too
    monkeypatch.chdir(elsewhere)
    for named in (repo, repo / ".local" / "stack.json"):
        monkeypatch.setenv("FLEET_REPORTS_LOCAL", str(named))
        assert resolve(None, None, None).env["FLEET_TABLE"] == "f-table"
    # And a wrong one names the path it tried
    monkeypatch.setenv("FLEET_REPORTS_LOCAL", str(elsewhere))
    with pytest.raises(TargetError, match=r"no local stack state at .*elsewhere.*FLEET_REPORTS_LOCAL"):
        resolve(None, None, None)


def test_a_deployed_stack_without_a_region_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given no AWS region anywhere (no variables, no profile, no instance metadata to ask)
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    # When a command names a deployed stack
    code = main(["--stack", "fleet-prod", "target"])
    # Then it fails with one line that says what to do, and no traceback
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no AWS region" in err and "--region" in err


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
