"""Runs, ranges and intervals: the primitives the engine's rules are written with.

Two kinds of interval appear everywhere in the engine:

- **Index ranges** ``[first_idx, last_idx]`` (both inclusive) over the fixes of a track: a run of
  standing fixes, the fixes of a trip, the fixes of a visit inside a zone. :func:`runs` finds
  them in a mask (broken where a data gap or a jump says so), :func:`key_runs` finds the runs of
  equal keys (a day, a session), :func:`cover` marks the fixes any of them holds,
  :func:`expand_ranges` lists those fixes and :func:`range_reduce` reduces a column over each.
- **Time intervals** ``[start_ms, end_ms]`` (UTC ms): trips, parkings, speed violations, zone
  visits, ignition-on intervals. :class:`Intervals` is the table they all extend (length,
  durations, ``take``, ``empty``); :func:`time_on_function` and :func:`overlap_s` tell how much of
  a set of sorted, disjoint intervals lies inside other spans.

Everything here is vectorised with numpy: no Python loop per fix or per interval.
"""

from __future__ import annotations

import typing
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any, Generic, Self, TypeVar

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

MS_PER_S = 1000.0

# --------------------------------------------------------------------------------------------
# Index ranges over fixes
# --------------------------------------------------------------------------------------------


def runs(mask: Bool, breaks: Bool | None = None) -> tuple[I64, I64]:
    """First and last index (inclusive) of each run of consecutive True values in ``mask``.

    ``breaks`` (one value per pair of neighbours, ``len(mask) - 1``) cuts the runs: where
    ``breaks[i]`` is True, elements ``i`` and ``i + 1`` never belong to the same run (a data gap
    between two fixes, a jump beyond the parking radius, a change of key). A run can be a
    single element: then its first and last index are equal.

    >>> runs(np.array([True, True, False, True, True]), np.array([False, False, False, True]))
    (array([0, 3, 4]), array([1, 3, 4]))
    """
    starts = mask.copy()
    ends = mask.copy()
    if breaks is None:
        starts[1:] &= ~mask[:-1]
        ends[:-1] &= ~mask[1:]
    else:
        starts[1:] &= ~mask[:-1] | breaks
        ends[:-1] &= ~mask[1:] | breaks
    first_idx: I64 = np.flatnonzero(starts)
    last_idx: I64 = np.flatnonzero(ends)
    return first_idx, last_idx


def key_runs(keys: npt.NDArray[Any]) -> tuple[I64, I64]:
    """First and last index (inclusive) of each run of equal consecutive ``keys``: the rows of
    each local day when the rows are in time order."""
    return runs(np.ones(keys.shape[0], np.bool_), np.diff(keys) != 0)


def cover(n: int, first_idx: I64, last_idx: I64) -> Bool:
    """Which of ``n`` elements lie in at least one of the inclusive ranges
    ``[first_idx, last_idx]``: the union of the ranges, as a mask (ranges may overlap)."""
    mark = np.zeros(n + 1, np.int32)
    np.add.at(mark, first_idx, 1)
    np.add.at(mark, last_idx + 1, -1)
    out: Bool = np.cumsum(mark[:-1]) > 0
    return out


def expand_ranges(first_idx: I64, last_idx: I64) -> tuple[I64, I64, I64]:
    """Element indices of the inclusive ranges ``[first_idx, last_idx]``, one range after the
    other, with each range's offset in that list and its length (for ``ufunc.reduceat``)."""
    lengths = last_idx - first_idx + 1
    offsets = np.zeros(lengths.shape[0], np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    idx = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(first_idx - offsets, lengths)
    return idx, offsets, lengths


def range_reduce(ufunc: np.ufunc, values: F64, first_idx: I64, last_idx: I64) -> F64:
    """``ufunc`` reduced over each inclusive, increasing, disjoint range ``[first_idx, last_idx]``
    of ``values`` (the maximum speed of each trip, the bounding box of each run)."""
    padded = np.append(values, values[-1])
    bounds = np.empty(2 * first_idx.shape[0], np.int64)
    bounds[0::2] = first_idx
    bounds[1::2] = last_idx + 1
    out: F64 = ufunc.reduceat(padded, bounds)[0::2]
    return out


# --------------------------------------------------------------------------------------------
# Time intervals
# --------------------------------------------------------------------------------------------


def time_on_function(start_ms: I64, end_ms: I64) -> tuple[F64, F64]:
    """Breakpoints of F(t) = time (s) spent inside the sorted, disjoint intervals
    ``[start_ms, end_ms]`` up to t; evaluate with ``np.interp(t, *fn)`` or :func:`overlap_s`."""
    if start_ms.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 0.0])
    x = np.column_stack((start_ms, end_ms)).ravel().astype(np.float64)
    d = (end_ms - start_ms).astype(np.float64) / MS_PER_S
    y = np.column_stack((np.cumsum(d) - d, np.cumsum(d))).ravel()
    return x, y


def overlap_s(fn: tuple[F64, F64], a_ms: I64, b_ms: I64) -> F64:
    """Seconds of the intervals of ``fn`` (a :func:`time_on_function`) inside each ``[a, b]``."""
    out: F64 = np.interp(b_ms.astype(np.float64), *fn) - np.interp(a_ms.astype(np.float64), *fn)
    return out


TimeT = TypeVar("TimeT", np.int64, np.float64)


@dataclass(frozen=True, kw_only=True)
class Intervals(Generic[TimeT]):
    """A table of time intervals ``[start_ms, end_ms]`` (UTC ms) as parallel arrays, one row per
    interval, in time order.

    Each kind of interval extends it with its own columns (a trip's distance, a visit's zone)
    and may carry scalars (the tracker it belongs to); every array column has one value per
    interval. ``Intervals[np.int64]`` holds whole milliseconds, ``Intervals[np.float64]``
    instants interpolated between fixes. Construct with keywords.
    """

    start_ms: npt.NDArray[TimeT]
    end_ms: npt.NDArray[TimeT]

    def __len__(self) -> int:
        return int(self.start_ms.shape[0])

    @property
    def is_empty(self) -> bool:
        return len(self) == 0

    @property
    def duration_s(self) -> F64:
        """Each interval's duration in seconds."""
        out: F64 = (self.end_ms - self.start_ms).astype(np.float64) / MS_PER_S
        return out

    @property
    def total_s(self) -> float:
        """The durations summed, in seconds."""
        return float(self.duration_s.sum())

    def take(self, index: npt.NDArray[Any]) -> Self:
        """The intervals at ``index`` (indices or a mask), every array column alike; scalars kept."""
        taken = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: v[index] for k, v in taken.items() if isinstance(v, np.ndarray)})

    @classmethod
    def empty(cls, **scalars: Any) -> Self:
        """No intervals: every array column zero-length of its own dtype; ``scalars`` gives the
        columns that are not arrays and have no default (the tracker of a per-tracker table)."""
        columns: dict[str, Any] = {}
        for name, dtype in _column_dtypes(cls).items():
            if name not in scalars and dtype is not None:
                columns[name] = np.empty(0, dtype)
        return cls(**columns, **scalars)


_DTYPES: dict[type, dict[str, type[np.generic] | None]] = {}


def _column_dtypes(cls: type) -> dict[str, type[np.generic] | None]:
    """The numpy dtype of each array column of an interval table (None: not an array, or an
    array with a default), read from the class's annotations once."""
    known = _DTYPES.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    time_dtype: Any = np.int64
    for base in getattr(cls, "__orig_bases__", ()):
        if typing.get_origin(base) is Intervals:
            (time_dtype,) = typing.get_args(base)
    out: dict[str, type[np.generic] | None] = {}
    for f in fields(cls):
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        hint = hints[f.name]
        if typing.get_origin(hint) is not np.ndarray or has_default:
            out[f.name] = None
            continue
        (dtype,) = typing.get_args(typing.get_args(hint)[1])
        out[f.name] = time_dtype if isinstance(dtype, TypeVar) else dtype
    _DTYPES[cls] = out
    return out
