"""A tracker's part of a report as bytes, and back: what one worker computed for the assembly.

A part (:class:`fleet_reports.engine.report.TrackerPart`) holds whatever the plugin's ``compute``
made: dataclasses of the engine, numpy arrays, the report document's dicts. It is pickled and
compressed; it is unpickled by a restricted unpickler that builds only the engine's own classes
(dataclasses, pydantic models, enums of ``fleet_reports.engine``), numpy's arrays and dtypes and
a few plain builtins, and refuses anything else (any function, any other module's class). So even
a part written by someone else into the reports bucket cannot run code in the worker that
assembles it; it can at worst fail the report.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import pickle
import zlib
from typing import Any

from pydantic import BaseModel

FORMAT = b"FRP1"  # a part's first bytes: this format, version 1

_NUMPY = {
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}
_BUILTINS = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("datetime", "timedelta"),
    ("zoneinfo", "ZoneInfo"),
}
_ENGINE = "fleet_reports.engine."


class PartError(ValueError):
    """The bytes are not a report part this code can read."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY or (module, name) in _BUILTINS:
            return super().find_class(module, name)
        if module.startswith(_ENGINE) or module == "fleet_reports.engine":
            found = super().find_class(module, name)
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found) or issubclass(found, BaseModel | enum.Enum)
            ):
                return found
        raise PartError(f"a report part may not hold {module}.{name}")


def dumps(part: Any) -> bytes:
    """The part as bytes (pickle protocol 5, zlib level 1: fast, and arrays of fixes shrink)."""
    return FORMAT + zlib.compress(pickle.dumps(part, protocol=5), 1)


def loads(data: bytes) -> Any:
    """The part back; PartError when the bytes are not one (or hold anything not allowed)."""
    if not data.startswith(FORMAT):
        raise PartError("not a report part")
    try:
        raw = zlib.decompress(data[len(FORMAT) :])
        return _Unpickler(io.BytesIO(raw)).load()
    except PartError:
        raise
    except Exception as exc:
        raise PartError(f"unreadable report part: {type(exc).__name__}") from exc
