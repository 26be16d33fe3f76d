"""No acknowledged write lost on moto's server: plain writes racing failing transactions.

moto 5's DynamoDB snapshots every table a ``TransactWriteItems`` touches and, when the
transaction is cancelled, puts the snapshot back: whatever other clients wrote to that table in
between is gone, although they were told it was stored. The reports table's transactions (a
report and its user's generating slot) fail by design under load, so the local stack guards
moto (:mod:`fleet_reports.local.moto_guards`). This drives moto's real server over loopback with
real boto3 clients, as the local stack does.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

RACE_SECONDS = 3.0
PREFILL = 50  # a table of some size: moto's snapshot of it takes a while, as the reports table's would


@dataclass
class Race:
    """What the racing clients were told."""

    stored: list[str] = field(default_factory=list)
    increments: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1, guarded as the local stack guards it."""
    from moto.server import ThreadedMotoServer

    from fleet_reports.local.moto_guards import atomic_conditional_writes

    atomic_conditional_writes()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=4),
    )


@pytest.fixture
def table(moto_endpoint: str) -> Iterator[str]:
    """A table of some size with a slot counter already at its cap (dropped afterwards: moto's
    backends outlive its server)."""
    name = f"race-{uuid.uuid4().hex[:8]}"
    make_table(moto_endpoint, name)
    try:
        yield name
    finally:
        client(moto_endpoint).delete_table(TableName=name)


def make_table(endpoint: str, name: str) -> None:
    ddb = client(endpoint)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(PREFILL):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"old#{n}"}, "sk": {"S": "-"}, "pad": {"S": "x" * 200}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "slots"}, "sk": {"S": "ACTIVE"}, "active": {"N": "5"}})


def writer(endpoint: str, table: str, until: float, race: Race) -> None:
    """Plain puts of distinct items, and an atomic counter: every acknowledged one must stay."""
    ddb = client(endpoint)
    n = 0
    while time.monotonic() < until:
        key = f"put#{n:06d}"
        ddb.put_item(TableName=table, Item={"pk": {"S": key}, "sk": {"S": "-"}, "n": {"N": str(n)}})
        race.stored.append(key)
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "counter"}, "sk": {"S": "-"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        race.increments += 1
        n += 1


def failing_transactions(endpoint: str, table: str, until: float, race: Race, name: str) -> None:
    """A report and its slot, as the reports table does, with the slots full: always cancelled."""
    from botocore.exceptions import ClientError

    ddb = client(endpoint)
    n = 0
    while time.monotonic() < until:
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": {"pk": {"S": f"{name}#{n}"}, "sk": {"S": "-"}}}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": "slots"}, "sk": {"S": "ACTIVE"}},
                            "UpdateExpression": "ADD active :one",
                            "ConditionExpression": "active < :cap",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": "5"}},
                        }
                    },
                ]
            )
            race.errors.append(f"{name}: a transaction over the cap succeeded")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                race.errors.append(f"{name}: {exc}")
            race.cancelled += 1
        n += 1


def stored_keys(endpoint: str, table: str) -> set[str]:
    ddb = client(endpoint)
    keys: set[str] = set()
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        keys.update(item["pk"]["S"] for item in page["Items"])
    return keys


def test_no_acknowledged_write_is_lost_while_transactions_fail(moto_endpoint: str, table: str) -> None:
    # Given a table on moto's server, with a slot counter already at its cap
    race = Race()
    until = time.monotonic() + RACE_SECONDS

    # When one client writes distinct items and counts while two others run transactions that fail
    threads = [
        threading.Thread(target=writer, args=(moto_endpoint, table, until, race)),
        threading.Thread(target=failing_transactions, args=(moto_endpoint, table, until, race, "tx-a")),
        threading.Thread(target=failing_transactions, args=(moto_endpoint, table, until, race, "tx-b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=RACE_SECONDS + 60)

    # Then every acknowledged put is there
    keys = stored_keys(moto_endpoint, table)
    lost = [k for k in race.stored if k not in keys]
    assert not lost, f"{len(lost)} of {len(race.stored)} acknowledged puts lost: {lost[:5]}"

    # And the race did happen: many writes and many cancelled transactions overlapped, none erred
    assert not race.errors, race.errors[:5]
    assert len(race.stored) > 20 and race.cancelled > 20, (len(race.stored), race.cancelled)

    # And every increment counted, and no cancelled transaction left anything behind
    ddb = client(moto_endpoint)
    counter = ddb.get_item(TableName=table, Key={"pk": {"S": "counter"}, "sk": {"S": "-"}}, ConsistentRead=True)
    assert int(counter["Item"]["n"]["N"]) == race.increments
    assert not {k for k in keys if k.startswith("tx-")}
    slots = ddb.get_item(TableName=table, Key={"pk": {"S": "slots"}, "sk": {"S": "ACTIVE"}}, ConsistentRead=True)
    assert slots["Item"]["active"]["N"] == "5"
    assert len({k for k in keys if k.startswith("old#")}) == PREFILL


def test_a_cancelled_transaction_undoes_exactly_its_own_writes(moto_endpoint: str, table: str) -> None:
    # Given a counter, an item to delete and a report item, on the guarded server
    from botocore.exceptions import ClientError

    ddb = client(moto_endpoint)
    ddb.put_item(TableName=table, Item={"pk": {"S": "counter"}, "sk": {"S": "-"}, "n": {"N": "7"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "doomed"}, "sk": {"S": "-"}, "v": {"S": "kept"}})
    before = stored_keys(moto_endpoint, table)

    writes: list[Any] = [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "counter"}, "sk": {"S": "-"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "doomed"}, "sk": {"S": "-"}}}},
        {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}, "sk": {"S": "-"}}}},
    ]

    # When a transaction updates, deletes and puts, then fails its last condition
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(
            TransactItems=[
                *writes,
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "slots"}, "sk": {"S": "ACTIVE"}},
                        "ConditionExpression": "active < :cap",
                        "ExpressionAttributeValues": {":cap": {"N": "5"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )

    # Then it is cancelled with moto's reasons, item by item, and the failing item's old value
    reasons: list[Any] = list(raised.value.response["CancellationReasons"])
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"]["active"] == {"N": "5"}
    # And none of its writes is left: the counter, the deleted item and the table are as before
    counter = ddb.get_item(TableName=table, Key={"pk": {"S": "counter"}, "sk": {"S": "-"}}, ConsistentRead=True)
    assert counter["Item"]["n"] == {"N": "7"}
    doomed = ddb.get_item(TableName=table, Key={"pk": {"S": "doomed"}, "sk": {"S": "-"}}, ConsistentRead=True)
    assert doomed["Item"]["v"] == {"S": "kept"}
    assert stored_keys(moto_endpoint, table) == before

    # When the same transaction runs with room under the cap, Then all of it lands
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "slots"}, "sk": {"S": "ACTIVE"}},
        UpdateExpression="SET active = :four",
        ExpressionAttributeValues={":four": {"N": "4"}},
    )
    ddb.transact_write_items(TransactItems=writes)
    counter = ddb.get_item(TableName=table, Key={"pk": {"S": "counter"}, "sk": {"S": "-"}}, ConsistentRead=True)
    assert counter["Item"]["n"] == {"N": "8"}
    assert stored_keys(moto_endpoint, table) == (before - {"doomed"}) | {"new"}


def test_a_transaction_naming_one_item_twice_is_rejected_whole(moto_endpoint: str, table: str) -> None:
    # Given a table on the guarded server
    from botocore.exceptions import ClientError

    ddb = client(moto_endpoint)
    before = stored_keys(moto_endpoint, table)
    # When a transaction puts an item and then names it again
    item = {"pk": {"S": "twice"}, "sk": {"S": "-"}}
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "first"}, "sk": {"S": "-"}}}},
                {"Put": {"TableName": table, "Item": item}},
                {"Delete": {"TableName": table, "Key": item}},
            ]
        )
    # Then it is refused as DynamoDB refuses it, and nothing of it landed
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert stored_keys(moto_endpoint, table) == before
