"""moto's server in its own process, as the local stack runs it (fleet_reports.local.motoproc):
connections kept open between requests, every kind of request answered whole, the writes
counted for the state folder, and the process gone with its parent."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from fleet_reports.local.motoproc import MotoProcess

from tests.support.tables import create_table


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoProcess]:
    server = MotoProcess()
    try:
        yield server
    finally:
        server.stop()


def client(moto: MotoProcess, service: str) -> Any:
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )


def test_a_client_keeps_one_connection_for_its_requests(moto: MotoProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a DynamoDB client of moto's process, its new connections counted
    import urllib3.connection

    opened: list[int] = []
    real = urllib3.connection.HTTPConnection._new_conn

    def counted(self: Any) -> Any:
        opened.append(1)
        return real(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn", counted)
    ddb = client(moto, "dynamodb")
    create_table(ddb, "kept", sort_key=False)

    # When it makes 50 requests, one after another, an answer refused among them
    for n in range(50):
        ddb.put_item(TableName="kept", Item={"pk": {"S": f"k{n % 5}"}, "n": {"N": str(n)}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="kept", Item={"pk": {"S": "k0"}}, ConditionExpression="attribute_not_exists(pk)")
    got = ddb.get_item(TableName="kept", Key={"pk": {"S": "k4"}})["Item"]

    # Then every request had its answer over the one connection it opened
    assert got == {"pk": {"S": "k4"}, "n": {"N": "49"}}
    assert len(opened) == 1


def test_objects_of_every_size_and_upload_kind_come_back_whole(moto: MotoProcess) -> None:
    # Given a bucket
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket="kept-objects")
    small, large = os.urandom(1000), os.urandom(9_000_000)

    # When objects are put plainly, in parts (a multipart upload) and read back, listed and asked for
    s3.put_object(Bucket="kept-objects", Key="small", Body=small)
    s3.put_object(Bucket="kept-objects", Key="large", Body=large)
    s3.upload_fileobj(io.BytesIO(large * 2), "kept-objects", "parts")

    # Then each comes back byte for byte, its size told by HEAD without a body, a missing one is 404
    assert s3.get_object(Bucket="kept-objects", Key="small")["Body"].read() == small
    assert s3.get_object(Bucket="kept-objects", Key="large")["Body"].read() == large
    assert s3.get_object(Bucket="kept-objects", Key="parts")["Body"].read() == large * 2
    assert s3.head_object(Bucket="kept-objects", Key="parts")["ContentLength"] == 18_000_000
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="kept-objects")["Contents"]] == ["large", "parts", "small"]
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="kept-objects", Key="missing")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "kept-objects", "Key": "small"})
    with urllib.request.urlopen(url, timeout=10) as answer:  # a presigned URL, as download redirects to
        assert answer.read() == small


def test_the_writes_are_counted_and_reads_are_not(moto: MotoProcess) -> None:
    # Given moto's write count
    ddb, s3 = client(moto, "dynamodb"), client(moto, "s3")
    create_table(ddb, "counted", sort_key=False)
    s3.create_bucket(Bucket="counted-objects")
    before = moto.writes

    # When two writes and three reads are made
    ddb.put_item(TableName="counted", Item={"pk": {"S": "a"}})
    s3.put_object(Bucket="counted-objects", Key="k", Body=b"x")
    ddb.get_item(TableName="counted", Key={"pk": {"S": "a"}})
    ddb.query(TableName="counted", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    s3.get_object(Bucket="counted-objects", Key="k")["Body"].read()

    # Then the count went up by the two writes
    assert moto.writes == before + 2


def test_the_server_ends_with_its_parent() -> None:
    # Given a process that starts moto's server and is then killed outright
    script = textwrap.dedent(
        """
        import os, sys, time
        from fleet_reports.local.motoproc import MotoProcess
        server = MotoProcess()
        print(server.proc.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())

    # When the parent dies without a word
    parent.kill()
    parent.wait()

    # Then moto's server goes too (its stdin closed), within seconds
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    pytest.fail(f"moto's server (pid {child}) outlived its parent")
