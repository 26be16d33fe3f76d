"""`fleet-reports --stack NAME` finds a deployed stack's resources through CloudFormation."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from fleet_reports.cli import main
from fleet_reports.store.deployment import OUTPUT_ENV

from tests.support.lambdas import Lambdas


def _deploy_outputs(lambdas: Lambdas) -> None:
    """A CloudFormation stack whose outputs name the resources moto holds, as `sam deploy` would."""
    names = lambdas.resources.names
    values = {
        "ReportsTableName": names["ReportsTable"],
        "FleetTableName": names["FleetTable"],
        "ReportsBucketName": names["ReportsBucket"],
        "TrackBucketName": names["TrackBucket"],
        "ReportJobsQueueUrl": names["ReportJobsQueue"],
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
    }
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {k: {"Value": v} for k, v in values.items()},
    }
    boto3.client("cloudformation").create_stack(StackName="fleet-reports", TemplateBody=json.dumps(template))


def test_a_stack_name_is_enough_to_apply_a_manifest(
    lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed stack, and a shell that knows nothing but the stack's name
    _deploy_outputs(lambdas)
    for var in OUTPUT_ENV.values():
        monkeypatch.delenv(var, raising=False)

    # When the operator names it
    status = main(["--stack", "fleet-reports", "apply", "examples/fleet.yaml"])

    # Then the manifest lands in that stack's fleet table
    assert status == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "AWS stack fleet-reports" in out and "trackers     3 created" in out
    assert os.environ["FLEET_TABLE"] == lambdas.resources.names["FleetTable"]
    from fleet_reports.store import fleet

    tracker = fleet.get_tracker(910001)
    assert tracker is not None and tracker.owner_id == 3001


def test_an_unknown_stack_is_explained(lambdas: Lambdas, capsys: pytest.CaptureFixture[str]) -> None:
    # When the named stack does not exist, Then the CLI says so and exits 2
    assert main(["--stack", "no-such-stack", "imports"]) == 2
    assert "cannot read stack 'no-such-stack'" in capsys.readouterr().err
