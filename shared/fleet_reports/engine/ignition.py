"""The ignition of a tracker: which sensor tells it, its on/off series, and ignition-on intervals
(docs/analytics.md, "Plugins", 6 and 7; the Stops, Engine hours and Trips reports share them).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.intervals import runs
from fleet_reports.engine.model import Track, TrackerInfo

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

IGNITION_GAP_MS = 15 * 60 * 1000  # an ignition-on interval spanning a longer data gap is cut there


def has_ignition_sensor(info: TrackerInfo) -> bool:
    """Whether the tracker has a discrete sensor of type ``ignition``."""
    return any(s.sensor_type == "ignition" for s in info.sensors)


def ignition_series(info: TrackerInfo, track: Track) -> tuple[I64, Bool] | None:
    """Times and on/off state of the fixes with a known ignition, or ``None`` when the tracker has
    no ignition sensor (a discrete sensor of type ``ignition``). The sensor's input column in
    ``track.sensors`` wins (on = value > 0); without it, ``track.ignition``."""
    sensor = next((s for s in info.sensors if s.sensor_type == "ignition"), None)
    if sensor is None:
        return None
    column_values = track.sensors.get(sensor.input_name)
    if column_values is not None and bool(np.isfinite(column_values).any()):
        known = np.isfinite(column_values)
        return track.t[known], column_values[known] > 0
    known = track.ignition >= 0
    return track.t[known], track.ignition[known] == 1


def on_intervals(t: I64, on: Bool, max_gap_ms: int = IGNITION_GAP_MS) -> tuple[I64, I64]:
    """Ignition-on intervals ``[start, end]`` (UTC ms): from the first fix of a run of ``on``
    fixes to the first fix after it (when the ignition went off), or to the run's last fix when
    the data ends or a gap longer than ``max_gap_ms`` follows; a run is cut at such gaps."""
    n = t.shape[0]
    if n == 0 or not bool(on.any()):
        e = np.empty(0, np.int64)
        return e, e
    gap = np.diff(t) > max_gap_ms
    first, last = runs(on, gap)
    after = np.minimum(last + 1, n - 1)
    stop_at_next = (last < n - 1) & ~np.concatenate((gap, [True]))[last]
    return t[first], np.where(stop_at_next, t[after], t[last])
