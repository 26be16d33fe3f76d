"""Ids as a request names them: whole numbers from 1 to :data:`MAX_ID`, bounded where the request
enters, before any of them becomes part of a DynamoDB key (issue #18: a report id of 4,300 digits
became a sort key, which AWS refuses over 1,024 bytes, answered as a 500).

The request models (``service/models.py``) and the plugins' models (``engine/catalog.py``) share
these types; pure pydantic, nothing else.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

MAX_ID: Final = 2**53 - 1
"""The largest id of every entity (report, tracker, employee, zone, sensor): 9,007,199,254,740,991,
the largest integer JSON carries exactly, and the bound the fleet manifest puts on the ids it stores
(``service/manifest/schema.py``), so every stored entity can be named. 16 digits at most: a key built
of it stays far under DynamoDB's 1,024 bytes."""

MAX_PLUGIN_ID: Final = 2**31 - 1
"""The largest plugin id: Navixy's ``int`` (32 bits); its plugins are numbered in the tens."""

_DIGITS = re.compile(r"[0-9]{1,16}")


def whole_number(value: Any) -> Any:
    """An id as sent: a number, or a string of the ASCII digits 0-9 (GET and form requests send
    text). Never a boolean (pydantic's lax mode would read true as 1), never other scripts' digits
    (``"٤"``, ``"４"``: Python's ``int()`` reads them), signs, spaces or underscores."""
    if isinstance(value, bool):
        raise PydanticCustomError("id_type", "an id is a number, not true or false")
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError("id_type", "an id is a whole number written with the digits 0-9 (16 at most)")
    return value


WholeNumber = Annotated[int, BeforeValidator(whole_number)]
"""An element of an id list: its range is checked by :func:`distinct_ids`, which names the list."""

Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(whole_number)]
"""One id: 1 to :data:`MAX_ID`."""

PluginId = Annotated[int, Field(ge=1, le=MAX_PLUGIN_ID), BeforeValidator(whole_number)]
"""A plugin's id: 1 to :data:`MAX_PLUGIN_ID`."""


def distinct_ids(ids: list[int], limit: int | None = None) -> list[int]:
    """``ids`` each once, in the order given (10,000 copies of an id are that id), every one from 1
    to :data:`MAX_ID`, and no more than ``limit`` distinct ones; a validation error otherwise."""
    out = list(dict.fromkeys(ids))
    if any(not 1 <= i <= MAX_ID for i in out):
        raise PydanticCustomError("id_range", "ids are whole numbers from 1 to {max_id}", {"max_id": MAX_ID})
    if limit is not None and len(out) > limit:
        raise PydanticCustomError(
            "too_many_ids",
            "at most {limit} distinct ids (copies count once), {count} given",
            {"limit": limit, "count": len(out)},
        )
    return out
