"""`make run` keeps its state across restarts (``.local/state``), and `--fresh` starts over.

Each stack here is a process started as `make run` starts it, on a state folder of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.support.tables import create_table

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local
SEED_ID = 1234567
NORTHWIND_KEY = "fd9f908e164fbcd7b7c2545329fbbcb6"  # user 3001 of examples/fleet.yaml
IMPORTED_DAY, PENDING_DAY = date(2021, 4, 14), date(2021, 5, 19)


class LocalStack:
    """One `python -m fleet_reports.local` process on ``folder`` (stack.json, state/, its log)."""

    def __init__(self, folder: Path, *flags: str) -> None:
        self.folder, self.state_file, self.log_file = folder, folder / "stack.json", folder / "stack.log"
        self.state_file.unlink(missing_ok=True)  # left behind by a killed stack
        self.log_file.write_text("")
        with self.log_file.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fleet_reports.local", "--port", "0", "--state", str(self.state_file), *flags],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            )
        deadline = time.monotonic() + 120
        while not self.state_file.exists() or "Ctrl-C stops the stack" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"local stack did not start:\n{self.log()}")
            time.sleep(0.1)
        self.info: dict[str, Any] = json.loads(self.state_file.read_text())
        self.url, self.hash = self.info["api_url"], self.info.get("demo_hash")

    def log(self) -> str:
        return self.log_file.read_text()

    def stop(self) -> str:
        """Ctrl-C (SIGINT), as a user stops `make run`; the whole log."""
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=60) == 0, self.log()
        return self.log()

    def kill(self) -> None:
        """A crash: nothing is saved on the way out."""
        self.proc.kill()
        self.proc.wait(timeout=30)

    # ------------------------------------------------------------------ the API over loopback
    def get(self, action: str, **params: Any) -> Any:
        query = "&".join(f"{k}={v}" for k, v in {"hash": self.hash, **params}.items())
        try:
            with urllib.request.urlopen(f"{self.url}/report/tracker/{action}?{query}", timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return json.loads(err.read())

    def generate(self, day: date, title: str) -> int:
        body = json.dumps(
            {
                "hash": self.hash,
                "title": title,
                "trackers": [669673],
                "from": f"{day} 00:00:00",
                "to": f"{day} 23:59:59",
                "plugin": {"plugin_id": 4, "split": True, "filter": True, "hide_empty_tabs": False},
            }
        ).encode()
        req = urllib.request.Request(
            f"{self.url}/report/tracker/generate", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        assert answer["success"] is True, answer
        return int(answer["id"])

    def wait_done(self, report_id: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while (status := self.get("status", report_id=report_id)).get("state") != "done":
            assert status.get("success") and status.get("state") != "failed", status
            assert time.monotonic() < deadline, f"report {report_id} not done: {status}"
            time.sleep(0.1)

    def trip_count(self, report_id: int) -> int:
        report = self.get("retrieve", report_id=report_id)["report"]
        trips = report["sheets"][0]["sections"][0]
        return sum(len(group.get("rows", [])) for group in trips.get("data", []))

    # ------------------------------------------------------------------ S3 and the CLI
    def s3(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.info["aws_endpoint_url"],
            region_name=self.info["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def upload_day(self, day: date, name: str) -> str:
        """A CSV of the demo car's drives on ``day`` (and the UTC day before), to incoming/669673/."""
        from datetime import timedelta

        from fleet_reports.demo import demo_track
        from fleet_reports.engine.model import Track
        from fleet_reports.ingest import format_csv

        track = Track.concat([demo_track(669673, day - timedelta(days=1)), demo_track(669673, day)])
        key = f"{self.info['import_prefix']}669673/{name}"
        self.s3().put_object(Bucket=self.info["data_bucket"], Key=key, Body=format_csv(track))
        return name

    def outcome(self, name: str, timeout: float = 120) -> dict[str, Any]:
        s3 = self.s3()
        deadline = time.monotonic() + timeout
        while True:
            try:
                body = s3.get_object(Bucket=self.info["data_bucket"], Key=f"outcomes/669673/{name}.json")["Body"]
                outcome: dict[str, Any] = json.loads(body.read())
                return outcome
            except s3.exceptions.NoSuchKey:
                assert time.monotonic() < deadline, f"no outcome of {name}"
                time.sleep(0.2)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLEET_REPORTS_"))}
        return subprocess.run(
            [sys.executable, "-m", "fleet_reports.cli", "--local", str(self.state_file), *args],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )


def test_state_survives_restarts_and_a_crash(tmp_path: Path) -> None:
    # Given `make run` started on an empty state folder
    first = LocalStack(tmp_path)
    try:
        # Then its banner says so, and that the example report is being generated, progress below
        assert "fresh start (nothing saved yet in" in first.log(), first.log()
        assert f"example report {SEED_ID} is being generated now: progress below" in first.log()
        # And a line follows when it is ready, with how long it took and how to fetch it
        first.wait_done(SEED_ID)
        deadline = time.monotonic() + 30
        while f"The example report {SEED_ID} is ready (" not in first.log():
            assert time.monotonic() < deadline, first.log()
            time.sleep(0.1)
        assert f"retrieve?hash={first.hash}&report_id={SEED_ID}" in first.log().split("is ready (")[1]

        # Given a manifest applied, a track file imported and a report generated
        applied = first.cli("apply", str(ROOT / "examples" / "fleet.yaml"))
        assert applied.returncode == 0, applied.stderr
        imported = first.upload_day(IMPORTED_DAY, "kept.csv")
        assert first.outcome(imported)["state"] == "done"
        report_a = first.generate(IMPORTED_DAY, "Kept")
        first.wait_done(report_a)
        trips_a = first.trip_count(report_a)
        assert trips_a >= 2
    except BaseException:
        first.kill()
        raise

    # When it is stopped (it says where it saved the state), and started again without its
    # workers (reports stay queued) and with a save every second
    assert "State saved to" in first.stop()
    second = LocalStack(tmp_path, "--no-workers", "--save-every", "1")
    try:
        # Then the state is back: the report (same id, same content), the manifest, the import,
        # and the demo fleet with its example report, not generated again
        log = second.log()
        assert "restored from" in log and "items" in log and "objects" in log, log
        assert f"example report {SEED_ID} is ready." in log and "progress below" not in log
        assert {r["id"] for r in second.get("list")["list"]} == {SEED_ID, report_a}
        assert second.trip_count(report_a) == trips_a
        assert second.get("list", hash=NORTHWIND_KEY)["success"] is True
        assert second.outcome(imported, timeout=0)["state"] == "done"
        # And another stack cannot take the same folder meanwhile
        from fleet_reports.local.persist import StateError, StateFolder

        with pytest.raises(StateError, match="another local stack uses"):
            StateFolder(tmp_path / "state", second.info["aws_endpoint_url"]).lock()

        # When a report is generated (it stays queued) and a track file uploaded (not imported),
        # and the stack crashes after its next periodic save
        report_b = second.generate(PENDING_DAY, "Queued at the crash")
        assert report_b > report_a
        assert second.get("status", report_id=report_b)["state"] == "queued"
        pending = second.upload_day(PENDING_DAY, "pending.csv")
        snapshot = tmp_path / "state" / "snapshot.json"
        deadline = time.monotonic() + 60
        while f"REPORT#{report_b:012d}" not in snapshot.read_text() or pending not in snapshot.read_text():
            assert time.monotonic() < deadline, f"no periodic save:\n{second.log()}"
            time.sleep(0.2)
    finally:
        second.kill()

    # Then after a restart the queued report is generated and the upload imported
    third = LocalStack(tmp_path)
    try:
        assert f"re-queued unfinished report(s) {report_b}" in third.log(), third.log()
        assert "1 upload(s) not imported yet: importing them now" in third.log(), third.log()
        third.wait_done(report_b)
        assert third.outcome(pending)["state"] == "done"
        # And new reports continue the ids, and cover the imported day
        report_c = third.generate(PENDING_DAY, "After the restart")
        assert report_c > report_b
        third.wait_done(report_c)
        assert third.trip_count(report_c) >= 2
    finally:
        third.stop()

    # When the stack starts with --fresh
    fresh = LocalStack(tmp_path, "--fresh")
    try:
        # Then everything is gone but the demo fleet and its example report, generated again
        assert "fresh start (--fresh)" in fresh.log(), fresh.log()
        assert f"example report {SEED_ID} is being generated now" in fresh.log()
        assert fresh.hash == first.hash
        assert {r["id"] for r in fresh.get("list")["list"]} == {SEED_ID}
        assert fresh.get("status", report_id=report_a)["status"]["code"] == 204
        assert fresh.get("list", hash=NORTHWIND_KEY)["success"] is False
        fresh.wait_done(SEED_ID)
        # And the first new report gets the id after the example report's
        assert fresh.generate(IMPORTED_DAY, "First after fresh") == SEED_ID + 1
    finally:
        fresh.stop()


# ----------------------------------------------------------------------------- the state folder itself
@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A moto server, as the stack runs one."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"))
    server.stop()


def restart(endpoint: str) -> str:
    """Empty the moto server, as a new stack's (moto's own reset API); the endpoint."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    return endpoint


def make_empty(folder: Any) -> None:
    """A table and a bucket, as the stack creates them from the template (empty)."""
    ddb, s3 = folder.clients()
    create_table(ddb, "t")
    s3.create_bucket(Bucket="bucket")


def test_a_snapshot_round_trips_items_and_objects(tmp_path: Path, moto_endpoint: str) -> None:
    from fleet_reports.local.persist import StateFolder

    # Given a table with every kind of attribute (binary, sets, nested) and a bucket with objects
    # that have headers and metadata
    before = StateFolder(tmp_path / "state", moto_endpoint)
    make_empty(before)
    ddb, s3 = before.clients()
    item = {
        "pk": {"S": "POOL#1"},
        "sk": {"S": "REPORT#000001234567"},
        "doc": {"B": b"\x1f\x8b\x00binary"},
        "n": {"N": "1234567"},
        "tags": {"SS": ["a", "b"]},
        "blobs": {"BS": [b"\x00", b"\xff"]},
        "nested": {"M": {"list": {"L": [{"N": "1.5"}, {"NULL": True}, {"BOOL": False}, {"B": b"\x01"}]}}},
    }
    ddb.put_item(TableName="t", Item=item)
    for n in range(30):
        ddb.put_item(TableName="t", Item={"pk": {"S": "P"}, "sk": {"S": f"{n:03d}"}})
    s3.put_object(
        Bucket="bucket", Key="reports/1/r.pdf", Body=b"%PDF-1", ContentType="application/pdf", Metadata={"who": "me"}
    )
    s3.put_object(Bucket="bucket", Key="same/1", Body=b"same bytes")
    s3.put_object(Bucket="bucket", Key="same/2", Body=b"same bytes")

    # When it is saved, and restored into a new, empty endpoint
    saved = before.save({"demo": {"demo_hash": "h"}})
    after = StateFolder(tmp_path / "state", restart(moto_endpoint))
    make_empty(after)
    restored = after.restore()

    # Then every item and object is back, byte for byte, with its headers and metadata
    assert (saved.items, saved.objects) == (31, 3) and (restored.counts.items, restored.counts.objects) == (31, 3)
    assert restored.notes == {"demo": {"demo_hash": "h"}}
    ddb2, s3_2 = after.clients()
    got = ddb2.get_item(TableName="t", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    assert got == item
    pdf = s3_2.get_object(Bucket="bucket", Key="reports/1/r.pdf")
    assert (pdf["Body"].read(), pdf["ContentType"], pdf["Metadata"]) == (b"%PDF-1", "application/pdf", {"who": "me"})
    # And the same content is kept once
    assert len(list((tmp_path / "state" / "blobs").iterdir())) == 2

    # When an object changes and another is deleted, and the state is saved again
    s3_2.put_object(Bucket="bucket", Key="same/2", Body=b"new bytes")
    s3_2.delete_object(Bucket="bucket", Key="reports/1/r.pdf")
    after.save()
    # Then the snapshot has the new content, and the blob nobody names any more is gone
    third = StateFolder(tmp_path / "state", restart(moto_endpoint))
    make_empty(third)
    third.restore()
    _, s3_3 = third.clients()
    assert s3_3.get_object(Bucket="bucket", Key="same/2")["Body"].read() == b"new bytes"
    assert [o["Key"] for o in s3_3.list_objects_v2(Bucket="bucket")["Contents"]] == ["same/1", "same/2"]
    assert len(list((tmp_path / "state" / "blobs").iterdir())) == 2

    # When the folder is wiped (--fresh), Then there is nothing to restore
    third.wipe()
    assert not third.exists() and not (tmp_path / "state" / "blobs").exists()


def test_only_changes_to_tables_and_buckets_count_as_writes() -> None:
    from fleet_reports.local.persist import changes_state

    def signed(service: str) -> str:
        return f"AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host"

    # Given requests as boto3 sends them to moto, Then only those that may change state count
    dynamodb = {"REQUEST_METHOD": "POST", "HTTP_AUTHORIZATION": signed("dynamodb")}
    assert changes_state({**dynamodb, "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.UpdateItem"})
    assert changes_state({**dynamodb, "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems"})
    assert not changes_state({**dynamodb, "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"})
    assert not changes_state({**dynamodb, "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Scan"})
    assert changes_state({"REQUEST_METHOD": "PUT", "HTTP_AUTHORIZATION": signed("s3")})
    assert changes_state({"REQUEST_METHOD": "DELETE", "HTTP_AUTHORIZATION": signed("s3")})
    assert not changes_state({"REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": signed("s3")})
    assert not changes_state({"REQUEST_METHOD": "POST", "HTTP_AUTHORIZATION": signed("sqs")})
    presigned_put = "X-Amz-Credential=local%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=x"
    assert changes_state({"REQUEST_METHOD": "PUT", "QUERY_STRING": presigned_put})
