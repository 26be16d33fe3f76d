"""Building a report document from in-memory tracks, as the worker does from the track store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_reports.engine.model import ReportContext, Track
from fleet_reports.engine.report import build_report

Loader = Callable[[int, int, int], Track]


def loader(tracks: dict[int, Track], calls: list[tuple[int, int, int]] | None = None) -> Loader:
    """Loads a tracker's fixes in ``[from_ms, to_ms]`` from ``tracks`` (none for a tracker not there);
    each call is appended to ``calls`` when given."""

    def load(tracker_id: int, from_ms: int, to_ms: int) -> Track:
        if calls is not None:
            calls.append((tracker_id, from_ms, to_ms))
        track = tracks.get(tracker_id, Track.empty())
        return track.take((track.t >= from_ms) & (track.t <= to_ms))

    return load


def run(ctx: ReportContext, tracks: dict[int, Track]) -> dict[str, Any]:
    """The report document of ``ctx`` over ``tracks`` (tracker id -> its fixes)."""
    return build_report(ctx, loader(tracks), lambda _: None)
