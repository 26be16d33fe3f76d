"""moto's DynamoDB answers written by the local stack's fast path are the ones moto's own
serialiser writes (:func:`fleet_reports.local.moto_guards.fast_dynamodb_answers`).

Every test and the local stack run on the fast path; here each item operation's answer is
written both ways and compared, on items holding every attribute type DynamoDB has.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.tables import create_table

ITEM: dict[str, Any] = {
    "pk": {"S": "user#1"},
    "sk": {"S": "report#0001"},
    "binary": {"B": b"\x00\x01\xff gzip \x8b"},
    "binaries": {"BS": [b"\x01", b"\x02\xfe"]},
    "number": {"N": "1.50"},
    "numbers": {"NS": ["1", "2.25", "-3"]},
    "strings": {"SS": ["a", "é"]},
    "nothing": {"NULL": True},
    "flag": {"BOOL": False},
    "list": {"L": [{"S": "ünï😀"}, {"N": "3"}, {"M": {"inner": {"B": b"zz"}}}, {"L": []}]},
    "map": {"M": {"quote": {"S": 'line\u2028sep "q" \\ /'}, "empty": {"M": {}}}},
}
KEY = {"pk": ITEM["pk"], "sk": ITEM["sk"]}


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A table with :data:`ITEM` and a second item, on moto with the local stack's guards."""
    from fleet_reports.local.moto_guards import atomic_conditional_writes

    atomic_conditional_writes()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "t")
        client.put_item(TableName="t", Item=ITEM)
        client.put_item(TableName="t", Item={"pk": ITEM["pk"], "sk": {"S": "report#0002"}, "n": {"N": "7"}})
        yield client


@pytest.fixture
def both_ways(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, Any]]:
    """Each DynamoDB answer as (action, fast path's (status, headers, body), moto's serialiser's)."""
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler

    answers: list[tuple[str, Any, Any]] = []
    fast = DynamoHandler.serialized

    def spy(self: Any, action_result: Any) -> Any:
        out = fast(self, action_result)
        answers.append((self._get_action(), out, BaseResponse.serialized(self, action_result)))
        return out

    monkeypatch.setattr(DynamoHandler, "serialized", spy)
    return answers


def test_every_item_operation_answers_as_motos_serialiser_does(
    dynamodb: Any, both_ways: list[tuple[str, Any, Any]]
) -> None:
    # Given items of every attribute type
    # When each item operation runs, with and without answers of its own
    dynamodb.get_item(TableName="t", Key=KEY)
    dynamodb.get_item(
        TableName="t",
        Key=KEY,
        ProjectionExpression="#b, #m.quote",
        ExpressionAttributeNames={"#b": "binary", "#m": "map"},
    )
    dynamodb.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"S": "none"}})
    dynamodb.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": ITEM["pk"]},
        ReturnConsumedCapacity="TOTAL",
        Limit=1,
    )
    dynamodb.scan(TableName="t", ReturnConsumedCapacity="INDEXES")
    dynamodb.batch_get_item(RequestItems={"t": {"Keys": [KEY, {"pk": ITEM["pk"], "sk": {"S": "report#0002"}}]}})
    dynamodb.update_item(
        TableName="t",
        Key=KEY,
        UpdateExpression="SET #n = #n + :one ADD numbers :more",
        ExpressionAttributeNames={"#n": "number"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":more": {"NS": ["9"]}},
        ReturnValues="ALL_NEW",
    )
    dynamodb.put_item(TableName="t", Item={**ITEM, "sk": {"S": "report#0003"}}, ReturnValues="ALL_OLD")
    dynamodb.delete_item(TableName="t", Key={"pk": ITEM["pk"], "sk": {"S": "report#0003"}}, ReturnValues="ALL_OLD")
    dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": KEY}}])
    dynamodb.transact_write_items(
        TransactItems=[{"Update": {"TableName": "t", "Key": KEY, "UpdateExpression": "REMOVE nothing"}}]
    )
    dynamodb.batch_write_item(RequestItems={"t": [{"DeleteRequest": {"Key": KEY}}]})

    # Then each answer is moto's own: the same status, headers and JSON
    actions = {action for action, _, _ in both_ways}
    assert actions >= {
        "GetItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "UpdateItem",
        "PutItem",
        "DeleteItem",
        "TransactGetItems",
        "TransactWriteItems",
        "BatchWriteItem",
    }
    for action, (status, headers, body), (want_status, want_headers, want_body) in both_ways:
        assert status == want_status, action
        assert {k: v for k, v in headers.items() if k != "date"} == {
            k: v for k, v in want_headers.items() if k != "date"
        }, action
        assert json.loads(body) == json.loads(want_body), (action, body, want_body)


def test_an_item_of_every_type_reads_back_as_it_was_written(dynamodb: Any) -> None:
    # Given the item of every attribute type
    # When it is read through the fast path
    got = dynamodb.get_item(TableName="t", Key=KEY)["Item"]
    (batch,) = [
        i
        for i in dynamodb.batch_get_item(RequestItems={"t": {"Keys": [KEY]}})["Responses"]["t"]
        if i["sk"] == ITEM["sk"]
    ]

    # Then it is the item, binaries and sets included
    def canonical(item: dict[str, Any]) -> dict[str, Any]:
        return {k: {t: sorted(v) if t in ("SS", "NS", "BS") else v for t, v in a.items()} for k, a in item.items()}

    assert canonical(got) == canonical(ITEM)
    assert canonical(batch) == canonical(ITEM)


def test_table_operations_and_errors_keep_motos_serialiser(
    dynamodb: Any, both_ways: list[tuple[str, Any, Any]]
) -> None:
    # Given the fast path
    # When a table is described and a condition fails
    dynamodb.describe_table(TableName="t")
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName="t", Item=ITEM, ConditionExpression="attribute_not_exists(pk)")

    # Then both answers are moto's serialiser's (the error as DynamoDB words it)
    described = [(out, want) for action, out, want in both_ways if action == "DescribeTable"]
    assert described and all(out == want for out, want in described)


@pytest.mark.parametrize(
    "paths",
    [
        [["number"]],
        [["binary"], ["map", "quote"], ["list[2]", "inner"], ["missing"], ["map", "missing"]],
        [["map"], ["map", "quote"]],
        [["map", "quote"], ["map"]],
        [["list[0]"], ["list[9]"], ["strings"], ["numbers"], ["binaries"], ["nothing"], ["flag"]],
        [["list[2]", "inner"], ["list[2]"]],
    ],
)
def test_a_projection_reads_as_motos_whole_item_conversion(paths: list[list[str]]) -> None:
    # Given an item of every attribute type, as moto holds it
    from botocore.utils import merge_dicts
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, serializer
    from moto.dynamodb.models.utilities import find_nested_key

    from fleet_reports.local.moto_guards import fast_projection

    fast_projection()
    attrs = {k: v for k, v in ITEM.items() if k not in ("pk", "sk")}
    item = Item(hash_key=DynamoType(ITEM["pk"]), range_key=DynamoType(ITEM["sk"]), attrs=attrs)

    # When it is projected on these paths
    got = item.project(paths)

    # Then the attributes are those moto's own way gives (the whole item converted for each path)
    expected: dict[str, Any] = {}
    for path in paths:
        merge_dicts(expected, find_nested_key(path, item.to_regular_json()))
    assert got.to_json()["Attributes"] == {k: v for k, v in serializer.serialize(expected)["M"].items()}
    assert got.to_json()["Attributes"]  # every case reaches something


@pytest.fixture
def partitions() -> Iterator[Any]:
    """A table of three partitions (a, b, c: 30 items each, sk 000..029, n = the item's number)
    and a table keyed by its hash alone, on moto with the local stack's guards."""
    from fleet_reports.local.moto_guards import atomic_conditional_writes

    atomic_conditional_writes()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "p")
        create_table(client, "h", sort_key=False)
        for pk in "cab":
            for n in range(30):
                item = {"pk": {"S": pk}, "sk": {"S": f"{'odd' if n % 2 else 'even'}#{n:03d}"}, "n": {"N": str(n)}}
                client.put_item(TableName="p", Item=item)
        for pk in ("x", "y"):
            client.put_item(TableName="h", Item={"pk": {"S": pk}, "v": {"S": pk * 3}})
        yield client


def numbers(items: list[dict[str, Any]]) -> list[int]:
    return [int(i["n"]["N"]) for i in items]


def test_a_query_reads_its_partition_as_the_table_holds_it(partitions: Any) -> None:
    # Given three partitions of 30 items each (even and odd sort keys)
    q = partitions.query
    ab = {":p": {"S": "a"}}
    evens = list(range(0, 30, 2))

    # When queried by partition, sort key prefix, range, order, page, filter, count and projection
    # Then each answer is the partition's items as they were written, in sort key order
    assert numbers(q(TableName="p", KeyConditionExpression="pk = :p", ExpressionAttributeValues=ab)["Items"]) == [
        *evens,
        *range(1, 30, 2),
    ]
    prefix = {**ab, ":s": {"S": "even#"}}
    assert (
        numbers(
            q(
                TableName="p",
                KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                ExpressionAttributeValues=prefix,
            )["Items"]
        )
        == evens
    )
    between = {**ab, ":lo": {"S": "even#004"}, ":hi": {"S": "even#010"}}
    backwards = q(
        TableName="p",
        KeyConditionExpression="pk = :p AND sk BETWEEN :lo AND :hi",
        ExpressionAttributeValues=between,
        ScanIndexForward=False,
    )
    assert numbers(backwards["Items"]) == [10, 8, 6, 4]
    pages, start = [], None
    while True:
        page = q(
            TableName="p",
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues=prefix,
            Limit=4,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        pages.append(numbers(page["Items"]))
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert [n for p in pages for n in p] == evens and max(len(p) for p in pages) == 4
    filtered = q(
        TableName="p",
        KeyConditionExpression="pk = :p",
        FilterExpression="n >= :ten",
        ExpressionAttributeValues={**ab, ":ten": {"N": "10"}},
        Select="COUNT",
    )
    assert (filtered["Count"], filtered["ScannedCount"]) == (20, 30)
    projected = q(
        TableName="p",
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": "b"}, ":s": {"S": "odd#02"}},
        ProjectionExpression="n",
    )
    assert projected["Items"] == [{"n": {"N": str(n)}} for n in range(21, 30, 2)]
    assert (
        q(TableName="p", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "z"}})["Items"] == []
    )
    assert q(TableName="h", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "y"}})[
        "Items"
    ] == [{"pk": {"S": "y"}, "v": {"S": "yyy"}}]
    assert (
        q(TableName="h", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "q"}})["Items"] == []
    )

    # And the table still holds every item (a query of a missing partition added nothing)
    assert partitions.scan(TableName="p", Select="COUNT")["Count"] == 90
