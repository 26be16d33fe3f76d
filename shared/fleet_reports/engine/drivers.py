"""Which driver drove a tracker at a given instant (``group_by_driver`` of the Trips, Stops and
Speed violation reports; docs/analytics.md, "Plugins", 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.model import DriverShift

I64 = npt.NDArray[np.int64]

_OPEN_END_MS = int(np.iinfo(np.int64).max)  # a shift with no end runs to the end of time


@overload
def drivers_at(tracker_id: int, at_ms: I64, shifts: Sequence[DriverShift]) -> list[str | None]: ...


@overload
def drivers_at(tracker_id: int, at_ms: I64, shifts: Sequence[DriverShift], unidentified: str) -> list[str]: ...


def drivers_at(
    tracker_id: int, at_ms: I64, shifts: Sequence[DriverShift], unidentified: str | None = None
) -> list[str | None] | list[str]:
    """The driver of ``tracker_id`` at each instant of ``at_ms``: the name of the shift holding
    it (from inclusive, to exclusive, no end: still driving). Of overlapping shifts, the one that
    started last wins (equal starts: the later in ``shifts``). Where nobody drove: ``unidentified``
    (the plugin's "Unidentified driver" label), or None without one."""
    mine = sorted((s for s in shifts if s.tracker_id == tracker_id), key=lambda s: s.from_ms)
    which = np.full(at_ms.shape[0], -1, np.int64)
    for k, shift in enumerate(mine):  # per shift (few), vectorised over the instants
        to_ms = _OPEN_END_MS if shift.to_ms is None else shift.to_ms
        which[(at_ms >= shift.from_ms) & (at_ms < to_ms)] = k
    names = [s.driver_name for s in mine]
    return [unidentified if k < 0 else names[k] for k in which.tolist()]
