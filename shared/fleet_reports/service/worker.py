"""The worker's job: claim the report, compute it, store the JSON, render the files, finish.

Idempotent: a second delivery of a job finds the report claimed, finished or gone and does
nothing. A failed attempt gives the report back to the queue; the last allowed attempt marks
it failed with the reason (and the message then moves to the dead-letter queue).
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from fleet_reports.engine.model import DriverShift, Place, ReportContext, SensorInfo, TrackerInfo, Zone
from fleet_reports.settings import get_settings
from fleet_reports.store import files as report_files
from fleet_reports.store import fleet, tracks
from fleet_reports.store import reports as store
from fleet_reports.store.records import ReportFile, ReportOutput, ReportRecord, TrackerRecord

if TYPE_CHECKING:
    from fleet_reports.render.document import DocumentInfo

logger = Logger(child=True)

FORMATS = ("xlsx", "xls", "pdf")


class Job(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    pool: int
    report_id: int


class RetryLater(Exception):
    """Another worker holds a live claim on this report: try the message again later."""


class ClaimLost(Exception):
    """This attempt no longer holds the report (deleted, or taken over once its lease ran out)."""


class JobOutcome(StrEnum):
    """How a job ended (when it did not raise to be retried)."""

    DONE = "done"  # the report is computed, stored and rendered
    SKIPPED_GONE = "skipped: gone"  # the report was deleted (or expired) before the job ran
    SKIPPED_FINISHED = "skipped: finished"  # a second delivery of a job already done or failed
    LOST = "lost"  # the report was deleted (or taken over) while the job ran: its files removed

    @property
    def metric(self) -> str:
        """The worker's metric counting this outcome: jobs_done, jobs_skipped or jobs_lost."""
        return _METRICS[self]


_METRICS = {
    JobOutcome.DONE: "jobs_done",
    JobOutcome.SKIPPED_GONE: "jobs_skipped",
    JobOutcome.SKIPPED_FINISHED: "jobs_skipped",
    JobOutcome.LOST: "jobs_lost",
}


class _Progress:
    """Writes percent_ready as work advances (at most every 5 points or 2 seconds)."""

    def __init__(self, job: Job, token: str) -> None:
        self.job, self.token = job, token
        self.last_percent, self.last_time = 0, 0.0

    def set(self, percent: int, *, force: bool = False) -> None:
        percent = max(self.last_percent, min(99, percent))
        now = time.monotonic()
        if not force and percent - self.last_percent < 5 and now - self.last_time < 2:
            return
        if percent > self.last_percent or force:
            if not store.set_progress(self.job.pool, self.job.report_id, self.token, percent):
                raise ClaimLost(f"report {self.job.report_id} is no longer this attempt's")
            self.last_percent, self.last_time = percent, now

    def still_ours(self) -> None:
        """Raise ClaimLost unless this attempt still holds the report (called before each write
        to the bucket, so an attempt that was taken over writes nothing over the new one's files)."""
        self.set(self.last_percent, force=True)

    def scaled(self, lo: int, hi: int) -> Callable[[float], None]:
        return lambda fraction: self.set(lo + round((hi - lo) * max(0.0, min(1.0, fraction))))


def _tracker_info(rec: TrackerRecord) -> TrackerInfo:
    return TrackerInfo(
        id=rec.tracker_id,
        label=rec.label,
        sensors=tuple(
            SensorInfo(
                id=s.id,
                name=s.name,
                input_name=s.input_name,
                kind=s.kind,
                sensor_type=s.sensor_type,
                units=s.units,
                divider=s.divider,
            )
            for s in rec.sensors
        ),
        trip_detection=dict(rec.trip_detection),
        odometer_base_km=rec.odometer_base_km,
        odometer_base_ms=rec.odometer_base_ms,
    )


def build_context(report: ReportRecord) -> ReportContext:
    records = fleet.get_trackers(report.trackers)
    trackers = tuple(_tracker_info(records[i]) for i in report.trackers if i in records)
    owner = report.owner_id
    places = tuple(
        Place(name=p.name, address=p.address or p.name, lat=p.lat, lng=p.lng, radius_m=p.radius_m)
        for p in fleet.get_places(owner)
    )
    zones = tuple(
        Zone(
            id=z.zone_id,
            label=z.label,
            kind=z.kind,
            center=z.center,
            radius_m=z.radius_m,
            points=tuple(z.points),
            address=z.address,
        )
        for z in fleet.get_zones(owner)
    )
    info, from_ms, to_ms = report.locale_info, report.from_ms, report.to_ms
    if info is None or from_ms is None or to_ms is None:
        raise RuntimeError(f"report {report.id} lacks its locale or its period's instants")
    return ReportContext(
        report_id=report.id,
        title=report.title,
        created=report.created,
        period_from=report.from_,
        period_to=report.to,
        from_ms=from_ms,
        to_ms=to_ms,
        time_zone=info.time_zone,
        locale=info.locale,
        measurement_system=info.measurement_system,
        time_filter=report.time_filter,
        plugin=report.plugin,
        trackers=trackers,
        places=places,
        include_places_in_address=report.include_places_in_address,
        include_zones_in_address=report.include_zones_in_address,
        zones=zones,
        drivers=_driver_shifts(owner, [t.id for t in trackers], from_ms, to_ms),
    )


def _driver_shifts(owner_id: int, tracker_ids: list[int], from_ms: int, to_ms: int) -> tuple[DriverShift, ...]:
    """The driver assignments of these trackers that overlap the period, with the drivers' names."""
    wanted = set(tracker_ids)
    employees = fleet.get_employees(owner_id)
    names = {e.employee_id: " ".join(p for p in (e.first_name, e.last_name) if p) for e in employees}
    return tuple(
        DriverShift(a.tracker_id, a.employee_id, names.get(a.employee_id, f"#{a.employee_id}"), a.from_ms, a.to_ms)
        for a in fleet.get_assignments(owner_id)
        if a.tracker_id in wanted and a.from_ms <= to_ms and (a.to_ms is None or a.to_ms > from_ms)
    )


@dataclass(frozen=True)
class Delivery:
    """Where the job's message came from, so a failed attempt can be retried after a backoff."""

    queue_arn: str
    receipt_handle: str


RETRY_BASE_SECONDS, RETRY_MAX_SECONDS = 30, 900


def process(job: Job, receive_count: int, delivery: Delivery | None = None) -> JobOutcome:
    """Run one job; how it ended. Raises to have it retried."""
    settings = get_settings()
    token = uuid.uuid4().hex
    claim, report = store.claim(job.pool, job.report_id, token, settings.job_lease_seconds)
    if claim is store.Claim.GONE:
        return JobOutcome.SKIPPED_GONE
    if claim is store.Claim.FINISHED:
        return JobOutcome.SKIPPED_FINISHED
    if claim is store.Claim.BUSY:
        raise RetryLater(f"report {job.report_id} is being generated by another worker")
    assert report is not None
    try:
        output = _compute(job, token, report)
        finished = store.finish(job.pool, job.report_id, token, output)
    except ClaimLost:
        finished = False
    except Exception as exc:
        reason = public_reason(exc)
        if receive_count >= settings.max_receive_count:
            logger.exception("report failed for good", extra={"report_id": job.report_id, "reason": reason})
            store.fail(job.pool, job.report_id, reason, token)
        else:
            logger.warning(
                "attempt failed, will retry",
                extra={"report_id": job.report_id, "error": f"{type(exc).__name__}: {exc}"},
            )
            store.release(job.pool, job.report_id, token, reason)
            if delivery is not None:
                _retry_soon(delivery, receive_count)
        raise
    if not finished:
        # Deleted while we worked: leave nothing behind. Taken over (our lease ran out while we
        # still ran): the files are the new attempt's now, leave them.
        if store.get_report(job.pool, job.report_id) is None:
            report_files.delete_prefix(job.report_id)
        return JobOutcome.LOST
    return JobOutcome.DONE


def _retry_soon(delivery: Delivery, receive_count: int) -> None:
    """30 s, 60 s, 120 s ... (at most 15 min) instead of the queue's whole visibility timeout."""
    from fleet_reports.store import queue
    from fleet_reports.store.errors import StoreError

    delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, receive_count - 1))
    try:
        queue.retry_in(delivery.queue_arn, delivery.receipt_handle, delay)
    except StoreError:
        logger.warning("could not shorten the retry delay; the queue's visibility timeout applies")


def public_reason(exc: BaseException) -> str:
    """What the report's owner may read about a failure (status, retrieve): never store or
    cloud internals (resource names, account ids, botocore text); those go to the log."""
    from fleet_reports.settings import ConfigError
    from fleet_reports.store.errors import StoreError

    if isinstance(exc, ConfigError):
        return "the service is misconfigured; it has been logged, please generate the report again later"
    if isinstance(exc, StoreError):
        return "the service's storage was unavailable; please generate the report again"
    if isinstance(exc, MemoryError):
        return "the report is too large to compute; try a shorter period or fewer trackers"
    if isinstance(exc, ValueError):
        return f"the report's parameters could not be applied: {str(exc)[:300]}"
    return "an internal error stopped the computation; it has been logged"


def _compute(job: Job, token: str, record: ReportRecord) -> ReportOutput:
    from fleet_reports.engine.report import build_report
    from fleet_reports.render import CONTENT_TYPES, render_report
    from fleet_reports.store import odometer

    progress = _Progress(job, token)
    progress.set(2, force=True)
    ctx = build_context(record)
    report = build_report(ctx, tracks.load, progress.scaled(5, 70), odometer_history=odometer.history)

    settings = get_settings()
    doc = gzip.compress(json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    inline: bytes | None = doc
    doc_key: str | None = None
    if len(doc) > settings.inline_report_max_bytes:
        inline, doc_key = None, f"{report_files.prefix(job.report_id)}report.json.gz"
        progress.still_ours()
        report_files.put(doc_key, doc, "application/gzip")
    progress.set(75)

    info = document_info(ctx)
    files: dict[str, ReportFile] = {}
    variants = [(fmt, headless) for fmt in FORMATS for headless in (False, True)]
    for n, (fmt, headless) in enumerate(variants):
        data = render_report(report, fmt, headless=headless, info=info)
        name = f"{fmt}-headless" if headless else fmt
        key = f"{report_files.prefix(job.report_id)}report{'-headless' if headless else ''}.{fmt}"
        progress.still_ours()
        report_files.put(key, data, CONTENT_TYPES[fmt])
        files[name] = ReportFile(key=key, size=len(data))
        progress.set(75 + round(24 * (n + 1) / len(variants)))
    return ReportOutput(doc=inline, doc_key=doc_key, files=files)


def document_info(ctx: ReportContext) -> DocumentInfo:
    """What a report's files say about it on their title page."""
    from fleet_reports.render.document import DocumentInfo

    return DocumentInfo(
        title=ctx.title,
        period_from=ctx.period_from,
        period_to=ctx.period_to,
        time_zone=ctx.time_zone,
        locale=ctx.locale,
        measurement_system=ctx.measurement_system,
        trackers=tuple(t.label for t in ctx.trackers),
        generated_at=ctx.created,
    )
