"""A tracker's part of a split report, kept as bytes between workers: it comes back equal, and
bytes that hold anything but the engine's own data are refused without running anything."""

from __future__ import annotations

import os
import pickle
import zlib

import numpy as np
import pytest

from fleet_reports.engine import parts
from fleet_reports.engine.model import TrackerInfo
from fleet_reports.engine.motion import TripSettings
from fleet_reports.engine.report import TrackerPart


def test_a_part_comes_back_equal() -> None:
    # Given a part holding engine dataclasses, a pydantic model, numpy arrays and a document's dicts
    info = TrackerInfo(id=7, label="Van", trip_detection={"min_trip_distance_m": 50.0})
    result = {
        "info": info,
        "settings": TripSettings(),
        "t": np.arange(5, dtype=np.int64) * 10_000,
        "lat": np.linspace(55.0, 55.1, 5),
        "sheet": {"header": "Van", "sections": [{"type": "text", "text": "hello"}]},
    }
    part = TrackerPart(7, {"duplicates": 2}, result)

    # When it is written and read back
    back = parts.loads(parts.dumps(part))

    # Then it is the same part
    assert back.tracker_id == 7 and back.drops == {"duplicates": 2}
    assert back.result["info"] == info and back.result["settings"] == TripSettings()
    assert np.array_equal(back.result["t"], result["t"]) and back.result["t"].dtype == np.int64
    assert np.array_equal(back.result["lat"], result["lat"])
    assert back.result["sheet"] == result["sheet"]


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    "payload",
    [
        _Payload(),  # a function call (os.system)
        pickle.loads(pickle.dumps(ValueError("not engine data"))),  # a class outside the engine
    ],
)
def test_bytes_holding_anything_else_are_refused(payload: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given bytes in the part format whose pickle names a global the engine never writes
    data = parts.FORMAT + zlib.compress(pickle.dumps(payload, protocol=5))
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda command: calls.append(command) or 0)

    # When they are read, Then they are refused, and nothing ran
    with pytest.raises(parts.PartError, match="may not hold"):
        parts.loads(data)
    assert calls == []


@pytest.mark.parametrize("data", [b"", b"not a part", parts.FORMAT + b"garbage"])
def test_bytes_that_are_not_a_part_are_refused(data: bytes) -> None:
    with pytest.raises(parts.PartError):
        parts.loads(data)
