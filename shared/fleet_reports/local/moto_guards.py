"""Guards that give moto's server the atomicity of the real services (local stack, tests, benchmarks).

moto serves each request in its own thread and its models take no locks, so writes that AWS
makes atomic race each other locally:

- S3 ``PutObject`` checks ``If-Match`` / ``If-None-Match``, then writes: two writers that read the
  same ETag can both "succeed" (the track store's optimistic concurrency would lose one).
- DynamoDB checks a condition, then writes; ``ADD`` reads, then sets; an update changes the item
  in place while another thread serialises it. And ``TransactWriteItems`` copies every table it
  touches and, when it is cancelled, puts the copies back: whatever other clients wrote to those
  tables meanwhile is erased although they were told it was stored (one writer and two failing
  transactions on one table for 10 s lost 12 of 426 acknowledged puts). The reports table's
  transactions (a report and its user's generating slot) fail by design under load.

:func:`atomic_conditional_writes` serialises S3's PutObject and every DynamoDB request, and
makes a cancelled transaction undo only its own writes (which also makes a transaction cost its
items, not a copy of the whole table). Nothing else changes: same answers, same errors.
Idempotent; applied by the local stack, the tests' moto servers and the benchmarks.

:func:`fast_dispatch` and :func:`fast_dynamodb_answers` are not about atomicity but time, with
the same answers byte for byte:

- moto's server finds the service of each request by listing its own package's folders on disk
  (``os.listdir`` and an ``isdir`` per folder, about 150) while holding a lock every request
  takes; and the methods of a service's handler class by introspecting the class at every
  request. Neither changes while the process runs: each is read once.
- moto writes every DynamoDB answer through a generic serialiser that walks botocore's shapes
  value by value, about half of the time a GetItem or a Query holds the DynamoDB lock (above),
  so every other DynamoDB request waited for it. An item operation's answer is already in
  DynamoDB's wire form (attribute values typed ``{"S": ...}``, binaries base64): it is written
  with ``json.dumps``, binaries base64-encoded as the serialiser does. Other operations (tables,
  errors) keep the serialiser.
- moto projects an item (``ProjectionExpression``) by converting the whole item, every
  attribute of it, once for each projected path: a status read of 17 attributes of a report
  holding its 200 KB document converted the document 17 times (9.5 ms a GetItem; a list's Query
  did it for every report). :func:`fast_projection` converts, for each path, only the attribute
  it starts from, as DynamoDB reads only what it returns.
- moto answers a Query by sorting every item of the table and keeping those of the partition
  asked for: a query's cost grew with the whole table (every report, every rate-count window of
  every caller), not with its partition. :func:`fast_partition_query` hands moto's own query the
  partition's items only (a query of a table's key, not of an index).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import threading
from typing import Any, cast

_MARK = "_fleet_reports_atomic"


def atomic_conditional_writes() -> None:
    """Give moto the atomicity of real S3 conditional puts and of DynamoDB (see the module)."""
    serialise_s3_puts()
    serialise_dynamodb()
    fast_dispatch()
    fast_dynamodb_answers()
    fast_projection()
    fast_partition_query()


def fast_dispatch() -> None:
    """moto's list of its service modules read once, not from disk at every request, and each
    handler class's method names once, not at every request (see the module)."""
    from moto import backends
    from moto.core import responses

    introspect = responses.__dict__["method_names_from_class"]
    if not getattr(introspect, _MARK, False):
        names = functools.cache(introspect)
        setattr(names, _MARK, True)
        setattr(responses, "method_names_from_class", names)  # noqa: B010 - not exported by moto
    if getattr(backends.list_of_moto_modules, _MARK, False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def listed() -> tuple[str, ...]:
        return modules

    setattr(listed, _MARK, True)
    backends.list_of_moto_modules = listed


ITEM_ACTIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
"""The DynamoDB operations whose answers :func:`fast_dynamodb_answers` writes itself."""
JSON_1_0 = "application/x-amz-json-1.0"


def _wire(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself: binaries, base64-encoded as on the wire."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not an attribute value")


@functools.cache
def _answer_members(action: str) -> frozenset[str]:
    """The members of ``action``'s answer in DynamoDB's model: the serialiser writes those only
    (moto's DeleteItem adds a ConsumedCapacityUnits of its own, which no answer carries)."""
    from moto.core.utils import get_service_model

    shape = get_service_model("dynamodb").operation_model(action).output_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def fast_dynamodb_answers() -> None:
    """moto's answers to DynamoDB item operations written with ``json.dumps`` (see the module)."""
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    if getattr(DynamoHandler.serialized, _MARK, False):
        return
    generic = DynamoHandler.serialized

    def serialized(self: Any, action_result: Any) -> Any:
        action = self._get_action()
        if type(action_result) is not DynamoResult or action not in ITEM_ACTIONS:
            return generic(self, action_result)
        result = cast("dict[str, Any]", action_result.result)
        members = _answer_members(action)
        answer = {k: v for k, v in result.items() if k in members and v is not None}
        body = json.dumps(answer, default=_wire)
        headers: dict[str, Any] = {"Content-Type": JSON_1_0, **self.response_headers, "status": 200}
        return 200, headers, body

    setattr(serialized, _MARK, True)
    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


_LIST_ITEM = re.compile(r"(.+)\[(\d+)\]$")
"""A path element naming a list's item (``a[3]``), as moto reads it."""


def fast_projection() -> None:
    """moto's ``Item.project`` converting only the attributes each path starts from (see the module)."""
    from botocore.utils import merge_dicts
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import find_nested_key

    if getattr(dynamo_type.Item.project, _MARK, False):
        return

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        result: dict[str, Any] = {}
        for path in projection_expressions:
            # moto's own steps on the one attribute the path can reach: a fresh copy of it per path
            listed = _LIST_ITEM.match(path[0])
            name = listed.group(1) if listed else path[0]
            attribute = self.attrs.get(name)
            reachable = (
                {} if attribute is None else {name: dynamo_type.deserializer.deserialize(attribute.to_regular_json())}
            )
            merge_dicts(result, find_nested_key(path, reachable))
        return dynamo_type.Item(
            hash_key=self.hash_key, range_key=self.range_key, attrs=dict(dynamo_type.serializer.serialize(result)["M"])
        )

    setattr(project, _MARK, True)
    dynamo_type.Item.project = project  # type: ignore[method-assign]


_INDEX_NAME = 6
"""Where ``Table.query`` takes ``index_name`` among its positional arguments (after ``hash_key``)."""


def fast_partition_query() -> None:
    """moto's ``Table.query`` of a table's key reading the one partition (see the module).

    moto's query takes its candidates from ``Table.all_items()`` (the whole table, sorted); for
    the call, the table's ``all_items`` is the partition's items meeting the range condition
    instead, and moto's own code does the rest (the range condition again, order, pages, filter,
    projection). Safe because
    :func:`serialise_dynamodb` runs one DynamoDB request at a time: nothing else reads the table
    meanwhile."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, _MARK, False):
        return
    full_scan = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = (
            kwargs["index_name"] if "index_name" in kwargs else (args[_INDEX_NAME] if len(args) > _INDEX_NAME else None)
        )
        if index_name is not None or hash_key is None:
            return full_scan(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)  # .get: the table's defaultdict gains no empty partition
        if partition is None:
            candidates: list[Any] = []
        elif self.range_key_attr:
            candidates = list(partition.values())
            comparison = args[0] if args else kwargs.get("range_comparison")
            if comparison:  # moto measures every candidate's size before its range test: test first
                bounds = args[1] if len(args) > 1 else kwargs.get("range_objs")
                candidates = [i for i in candidates if i.range_key.compare(comparison, bounds)]
        else:
            candidates = [partition]
        self.all_items = lambda: candidates
        try:
            return full_scan(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    setattr(query, _MARK, True)
    Table.query = query  # type: ignore[method-assign]


def serialise_s3_puts() -> None:
    """Give moto's S3 PutObject the atomicity of real S3's conditional writes.

    Real S3 checks ``If-Match`` / ``If-None-Match`` and stores the object as one atomic step
    (a concurrent writer gets 412 PreconditionFailed or 409 ConditionalRequestConflict). moto 5
    checks, then writes, with no lock between. Serialising moto's PutObject handler restores S3's
    semantics; it changes nothing else.
    """
    from moto.s3.responses import S3Response

    if getattr(S3Response.put_object, _MARK, False):
        return
    original = S3Response.put_object
    lock = threading.Lock()

    def put_object(self: Any) -> Any:
        with lock:
            return original(self)

    setattr(put_object, _MARK, True)
    S3Response.put_object = put_object  # type: ignore[method-assign]


def serialise_dynamodb() -> None:
    """Run moto's DynamoDB requests one at a time, and undo a cancelled transaction item by item.

    DynamoDB makes each request atomic and isolated (a transaction too); moto's requests,
    reads included, touch shared dicts without a lock (an update mutates the item another
    thread is serialising; a read can insert an empty partition while a scan iterates).
    One re-entrant lock around the whole request (parse, model, serialisation) restores that.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    if not getattr(DynamoHandler.call_action, _MARK, False):
        call_action = DynamoHandler.call_action
        lock = threading.RLock()

        def serialised(self: Any) -> Any:
            with lock:
                return call_action(self)

        setattr(serialised, _MARK, True)
        DynamoHandler.call_action = serialised  # type: ignore[method-assign]
    if not getattr(DynamoDBBackend.transact_write_items, _MARK, False):
        setattr(transact_write_items, _MARK, True)
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign, assignment]


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5's ``DynamoDBBackend.transact_write_items``, with an item-level rollback.

    The same checks, in the same order, with the same errors and cancellation reasons; but
    instead of copying whole tables up front and putting the copies back, each write first
    remembers the one item it is about to change, and a cancelled transaction puts back exactly
    those items. (Run under :func:`serialise_dynamodb`'s lock, nobody else writes meanwhile.)
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo(backend)
    target_items: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            undo.rollback()  # (moto keeps the writes made so far; DynamoDB rejects the whole request)
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            target = (str(table_name), str(dict(sorted(key.items()))))
            if target in target_items:
                raise MultipleTransactionsException()
            target_items.add(target)

            current = backend.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                undo.remember(table_name, key)
            if op_type == "Put":
                backend.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # as moto: any other error cancels the transaction with its reason
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        undo.rollback()
        raise TransactionCanceledException(errors)


class _Undo:
    """The items a transaction is about to change, as they were, to put back on cancellation."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.saved: list[tuple[Any, Any, Any, Any]] = []

    def remember(self, table_name: str, key: dict[str, Any]) -> None:
        table = self.backend.get_table(table_name)
        hash_value, range_value = self.backend.get_keys_value(table, key)
        before = table.get_item(hash_value, range_value)
        self.saved.append((table, hash_value, range_value, copy.deepcopy(before)))

    def rollback(self) -> None:
        for table, hash_value, range_value, before in reversed(self.saved):
            if range_value is not None:
                partition = table.items[hash_value]
                if before is None:
                    partition.pop(range_value, None)
                else:
                    partition[range_value] = before
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before
        self.saved.clear()
