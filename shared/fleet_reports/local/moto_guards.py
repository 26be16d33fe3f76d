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

:func:`fast_dispatch` is not about atomicity but time: moto's server finds the service of each
request by listing its own package's folders on disk (``os.listdir`` and an ``isdir`` per
folder, about 150) while holding a lock every request takes; under load that was the largest
single cost of the local stack's process. The list never changes while the process runs: it is
read once.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_MARK = "_fleet_reports_atomic"


def atomic_conditional_writes() -> None:
    """Give moto the atomicity of real S3 conditional puts and of DynamoDB (see the module)."""
    serialise_s3_puts()
    serialise_dynamodb()
    fast_dispatch()


def fast_dispatch() -> None:
    """moto's list of its service modules read once, not from disk at every request (see the module)."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, _MARK, False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def listed() -> tuple[str, ...]:
        return modules

    setattr(listed, _MARK, True)
    backends.list_of_moto_modules = listed


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
