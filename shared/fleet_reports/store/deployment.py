"""Where a deployed stack's resources are: its CloudFormation outputs (the CLI's AWS target)."""

from __future__ import annotations

from fleet_reports.store.aws import store_call

# Stack output -> the environment variable (settings field) it fills.
OUTPUT_ENV: dict[str, str] = {
    "ReportsTableName": "REPORTS_TABLE",
    "FleetTableName": "FLEET_TABLE",
    "ReportsBucketName": "REPORTS_BUCKET",
    "TrackBucketName": "TRACK_BUCKET",
    "ReportJobsQueueUrl": "JOBS_QUEUE_URL",
}


def stack_outputs(stack_name: str, region: str | None = None) -> dict[str, str]:
    """The stack's outputs by key; StoreError when the stack is missing or unreachable."""
    import boto3

    client = boto3.client("cloudformation", region_name=region) if region else boto3.client("cloudformation")
    with store_call(f"describe stack {stack_name}"):
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", []) if "OutputKey" in o}
