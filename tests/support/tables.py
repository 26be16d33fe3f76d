"""DynamoDB tables for tests of moto itself: the key shapes the service's tables use."""

from __future__ import annotations

from typing import Any


def create_table(ddb: Any, name: str, *, sort_key: bool = True) -> None:
    """An on-demand table keyed by string ``pk`` (and string ``sk``, with ``sort_key``), as the
    reports and fleet tables are."""
    keys = [("pk", "HASH"), ("sk", "RANGE")] if sort_key else [("pk", "HASH")]
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
        BillingMode="PAY_PER_REQUEST",
    )
