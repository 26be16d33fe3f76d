"""The result types of the ingest package."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleet_reports.engine.model import F64, I64, Track

MAX_REJECTIONS = 1000  # rejections kept with their reasons; all are counted


class IngestError(ValueError):
    """The whole file is unusable (unknown format, no header, a required column missing, not UTF-8,
    bad gzip, bad XML, ...). The message says what is wrong and where."""


@dataclass(frozen=True)
class Rejection:
    """One row that was not imported.

    ``line`` is the 1-based line number in the (decompressed) file, or for GPX the 1-based
    ordinal of the ``trkpt``.
    """

    line: int
    reason: str


@dataclass(frozen=True)
class ParsedFixes:
    """What a track file held: the accepted fixes and what was left out, and why."""

    track: Track  # accepted fixes, ordered by time, one per time (the last row in file order wins)
    rows: int  # data rows read
    rejected: tuple[Rejection, ...]  # the first MAX_REJECTIONS rejections, by line
    rejected_count: int  # all rejections
    duplicates: int  # rows replaced by a later row with the same time
    sensor_columns: tuple[str, ...]  # the extra columns taken as sensor inputs, in file order
    ignored_columns: tuple[str, ...] = ()  # sensor columns beyond fixes.MAX_SENSOR_COLUMNS, unread


@dataclass(frozen=True)
class Events:
    """Device events, columnar. ``lat``/``lng`` are NaN where the event has no position;
    ``message`` and ``extra`` are "" where absent; ``extra`` is compact JSON text."""

    t: I64
    event: list[str]
    lat: F64
    lng: F64
    message: list[str]
    extra: list[str]

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @staticmethod
    def empty() -> Events:
        return Events(np.empty(0, np.int64), [], np.empty(0, np.float64), np.empty(0, np.float64), [], [])

    def take(self, index: I64) -> Events:
        """A new Events with the rows at ``index`` (an integer index array)."""
        rows = index.tolist()
        return Events(
            t=self.t[index],
            event=[self.event[i] for i in rows],
            lat=self.lat[index],
            lng=self.lng[index],
            message=[self.message[i] for i in rows],
            extra=[self.extra[i] for i in rows],
        )


@dataclass(frozen=True)
class ParsedEvents:
    events: Events  # accepted events ordered by (time, event), one per (time, event): the last wins
    rows: int
    rejected: tuple[Rejection, ...]
    rejected_count: int
    duplicates: int
