"""Every sample event in events/ runs against its function's handler, as `sam local invoke -e` would."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from fleet_reports.store import reports

from tests.support.lambdas import Lambdas
from tests.support.paths import EVENTS, FIXTURES
from tests.support.seed import load_event

ORDER = [
    "generate.json",
    "worker.json",
    "generate-get.json",
    "status.json",
    "list.json",
    "list-get.json",
    "retrieve.json",
    "download.json",
    "download-xlsx-headless.json",
    "plugins.json",
    "auth.json",
    "logout.json",
    "delete.json",
    "import.json",
]


def function_for(template_specs: dict[str, Any], event: dict[str, Any]) -> str:
    if "Records" in event:
        return "ImportFunction" if event["Records"][0].get("eventSource") == "aws:s3" else "WorkerFunction"
    for lid, spec in template_specs.items():
        if any(path == event["resource"] for _, path in spec.api_routes):
            return lid
    raise AssertionError(f"no function serves {event.get('resource')}")


def test_every_event_file_is_exercised() -> None:
    # Given the events folder, Then this test covers every file in it
    assert sorted(p.name for p in Path(EVENTS).glob("*.json")) == sorted(ORDER)


def test_sample_events_run_against_their_handlers(demo: Lambdas) -> None:
    # Given the demo fleet and report ids starting at the documentation's 1234567
    demo.use_env("GenerateFunction")
    reports.ensure_id_floor(1234566)
    for name in ORDER:
        event = load_event(name)
        function = function_for(demo.specs, event)
        if function == "ImportFunction":  # the object the S3 event is about, as it was uploaded
            upload_object(event, FIXTURES / "import-morning-drive.csv")
        # When the event is invoked
        result = demo.invoke(function, event)
        # Then it succeeds in the envelope (or the batch has no failures)
        if function == "WorkerFunction":
            assert result == {"batchItemFailures": []}, name
            continue
        if function == "ImportFunction":
            (done,) = result["imports"]
            assert (done["state"], done["rejected_count"], done["days"]) == ("done", 0, ["2020-10-08"]), name
            continue
        assert result["statusCode"] == 200, (name, result.get("body"))
        if result.get("isBase64Encoded"):
            assert len(base64.b64decode(result["body"])) > 100, name
        else:
            body = json.loads(result["body"])
            assert body["success"] is True, (name, body)
            if name == "generate.json":
                assert body["id"] == 1234567
            if name == "status.json":
                assert body["percent_ready"] == 100


def upload_object(event: dict[str, Any], content: Path) -> None:
    """Put the object of an S3 event's record where the event says, with the bytes it describes."""
    from urllib.parse import unquote_plus

    import boto3

    s3 = event["Records"][0]["s3"]
    data = content.read_bytes()
    assert (len(data), hashlib.md5(data).hexdigest()) == (s3["object"]["size"], s3["object"]["eTag"])
    boto3.client("s3").put_object(Bucket=s3["bucket"]["name"], Key=unquote_plus(s3["object"]["key"]), Body=data)
