"""Lazily created boto3 clients (nothing at import time).

``AWS_ENDPOINT_URL`` (honoured by boto3 itself) points them at moto's server locally. Clients are
made once per process under a lock: boto3's default session is not thread-safe, and threads that
race to the first call each built a client (the 32 threads of ``tracks.load`` took the worker's
peak memory to 498 - 608 MB in ``bench/bench_report_90d.py``; 414 MB with the lock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from fleet_reports.store.errors import StoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


def _config() -> Any:
    from botocore.config import Config

    return Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)


_LOCK = threading.RLock()


def table(name: str) -> Table:
    with _LOCK:
        return _table(name)


def s3() -> S3Client:
    with _LOCK:
        return _s3()


def sqs() -> SQSClient:
    with _LOCK:
        return _sqs()


@cache
def _table(name: str) -> Table:
    import boto3

    return boto3.resource("dynamodb", config=_config()).Table(name)


@lru_cache(maxsize=1)
def _s3() -> S3Client:
    import boto3
    from botocore.config import Config

    cfg = _config().merge(Config(max_pool_connections=32, signature_version="s3v4"))
    return boto3.client("s3", config=cfg)


@lru_cache(maxsize=1)
def _sqs() -> SQSClient:
    import boto3

    return boto3.client("sqs", config=_config())


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints or credentials)."""
    with _LOCK:
        _table.cache_clear()
        _s3.cache_clear()
        _sqs.cache_clear()


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


@contextmanager
def store_call(what: str) -> Iterator[None]:
    """Turn client failures (after the client's own retries) into StoreError."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise StoreError(f"{what}: {exc}") from exc


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if hasattr(value, "value") and type(value).__name__ == "Binary":
        return bytes(value.value)
    return value


def dynamo(value: Any) -> Any:
    """Python values to what the DynamoDB resource accepts (floats as Decimal)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dynamo(v) for v in value]
    return value
