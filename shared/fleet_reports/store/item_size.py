"""An item's size as DynamoDB counts it against its 400 KB item limit, computed before the write.

AWS's rules ("Item sizes and formats", DynamoDB developer guide): an attribute costs its name's
UTF-8 bytes plus its value; a string its UTF-8 bytes, a binary its bytes, a number about one
byte per two significant digits plus one, a boolean or null one byte, a list or map 3 bytes plus
each element and one byte per element (a map's keys counted as names). The estimate here rounds
every number up (a sign and all its digits), so it is never below what DynamoDB counts.

Plain Python only (no boto3): the service asks it of a record before storing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

ITEM_LIMIT: Final = 400 * 1024
"""DynamoDB's largest item, 409,600 bytes (names and values together)."""


def value_size(value: Any) -> int:
    """The bytes DynamoDB counts for one attribute value (rounded up)."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, (int, float, Decimal)):
        digits = sum(ch.isdigit() for ch in str(value))
        return (digits + 1) // 2 + 2
    if isinstance(value, Mapping):
        return 3 + sum(len(str(k).encode("utf-8", "surrogatepass")) + value_size(v) + 1 for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 3 + sum(value_size(v) + 1 for v in value)
    raise TypeError(f"not a DynamoDB value: {type(value).__name__}")


def attribute_sizes(item: Mapping[str, Any]) -> dict[str, int]:
    """Each attribute's bytes, its name included."""
    return {name: len(name.encode("utf-8")) + value_size(value) for name, value in item.items()}


def item_size(item: Mapping[str, Any]) -> int:
    """The item's bytes as DynamoDB counts them (rounded up)."""
    return sum(attribute_sizes(item).values())
