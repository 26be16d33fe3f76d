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
from pydantic import BaseModel, ConfigDict, Field

from fleet_reports.engine.model import DriverShift, Place, ReportContext, SensorInfo, TrackerInfo, Zone
from fleet_reports.settings import get_settings
from fleet_reports.store import files as report_files
from fleet_reports.store import fleet, tracks
from fleet_reports.store import reports as store
from fleet_reports.store.records import ReportFile, ReportOutput, ReportRecord, ReportState, TrackerRecord

if TYPE_CHECKING:
    from fleet_reports.engine.document import ReportDocument
    from fleet_reports.render.document import DocumentInfo

logger = Logger(child=True)

FORMATS = ("xlsx", "xls", "pdf")


class Job(BaseModel):
    """A report job: the whole report (``generate``'s), or, for a report split across workers,
    one tracker's ``part`` or the ``assemble`` step, both of the split's ``run``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    pool: int
    report_id: int
    part: int | None = Field(default=None, ge=0)
    assemble: bool = False
    run: str | None = None

    @property
    def step(self) -> str:
        return "part" if self.part is not None else "assembly" if self.assemble else "report"


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
    DEAD_LETTERED = "failed: dead-lettered"  # the job reached the dead-letter queue: its report failed
    SPLIT = "split"  # the report was split across workers: a job per part enqueued
    PART_DONE = "part done"  # one tracker's part computed and kept
    SUPERSEDED = "skipped: superseded"  # a part or assembly of a split the report no longer runs
    SKIPPED_RUNNING = "skipped: running"  # dead-lettered while an attempt still holds a live claim

    @property
    def metric(self) -> str:
        """The worker's metric counting this outcome: jobs_done, jobs_skipped or jobs_lost."""
        return _METRICS[self]


_METRICS = {
    JobOutcome.DONE: "jobs_done",
    JobOutcome.SKIPPED_GONE: "jobs_skipped",
    JobOutcome.SKIPPED_FINISHED: "jobs_skipped",
    JobOutcome.LOST: "jobs_lost",
    JobOutcome.DEAD_LETTERED: "jobs_dead_lettered",
    JobOutcome.SKIPPED_RUNNING: "jobs_skipped",
    JobOutcome.SPLIT: "jobs_split",
    JobOutcome.PART_DONE: "parts_done",
    JobOutcome.SUPERSEDED: "jobs_skipped",
}


class _Progress:
    """Writes percent_ready as work advances (at most every 5 points or 2 seconds)."""

    def __init__(self, job: Job, token: str, *, start: int = 0) -> None:
        self.job, self.token = job, token
        self.last_percent, self.last_time = start, 0.0

    def set(self, percent: int, *, force: bool = False) -> None:
        """Write ``percent`` (throttled); ``force``: write it now, whatever the throttle, which
        also raises ClaimLost unless this attempt still holds the report."""
        percent = max(self.last_percent, min(99, percent))
        now = time.monotonic()
        if not force and percent - self.last_percent < 5 and now - self.last_time < 2:
            return
        if percent > self.last_percent or force:
            if not store.set_progress(self.job.pool, self.job.report_id, self.token, percent):
                raise ClaimLost(f"report {self.job.report_id} is no longer this attempt's")
            self.last_percent, self.last_time = percent, now

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
    """The driver assignments of these trackers that overlap the period, with the drivers' names
    (each tracker's read bounded by the period, not its history: ``fleet.assignments_during``)."""
    employees = fleet.get_employees(owner_id)
    names = {e.employee_id: " ".join(p for p in (e.first_name, e.last_name) if p) for e in employees}
    return tuple(
        DriverShift(a.tracker_id, a.employee_id, names.get(a.employee_id, f"#{a.employee_id}"), a.from_ms, a.to_ms)
        for tracker_id in sorted(set(tracker_ids), key=str)  # the order of the keys (ASSIGN#<tracker>#...)
        for a in fleet.assignments_during(owner_id, tracker_id, from_ms, to_ms)
    )


@dataclass(frozen=True)
class Delivery:
    """Where the job's message came from, so a failed attempt can be retried after a backoff."""

    queue_arn: str
    receipt_handle: str
    remaining_ms: int | None = None  # the invocation's time left (Lambda's context), when known


RETRY_BASE_SECONDS, RETRY_MAX_SECONDS = 30, 900


def process(job: Job, receive_count: int, delivery: Delivery | None = None) -> JobOutcome:
    """Run one job; how it ended. Raises to have it retried."""
    if job.run is not None:
        return _process_split_step(job, receive_count, delivery)
    settings = get_settings()
    token = uuid.uuid4().hex
    lease = settings.job_lease_seconds
    if delivery is not None and delivery.remaining_ms is not None:  # the run cannot outlast its invocation
        lease = min(lease, delivery.remaining_ms // 1000 + 60)
    final = receive_count >= settings.max_receive_count
    claim, report = store.claim(job.pool, job.report_id, token, lease, final=final)
    if claim is store.Claim.GONE:
        return JobOutcome.SKIPPED_GONE
    if claim is store.Claim.FINISHED:
        return JobOutcome.SKIPPED_FINISHED
    if claim is store.Claim.BUSY:
        raise RetryLater(f"report {job.report_id} is being generated by another worker")
    assert report is not None
    try:
        ctx = build_context(report)
        parts = _parts_to_split(report, ctx)
        if parts:
            return _split(job, token, ctx, parts, lease)
        output = _compute(job, token, ctx)
        finished = store.finish(job.pool, job.report_id, token, output)
    except ClaimLost:
        finished = False
    except Exception as exc:
        _attempt_failed(job, token, exc, receive_count, delivery, release=True)
        raise
    # Not finished: deleted while we worked (leave nothing behind), or taken over when our lease
    # ran out while we still ran (the files are the new attempt's now: leave them)
    return JobOutcome.DONE if finished else _lost(job)


def _attempt_failed(
    job: Job, token: str, exc: Exception, receive_count: int, delivery: Delivery | None, *, release: bool
) -> None:
    """The report failed for good at the last allowed delivery; else (given back to the queue,
    when ``release``) retried after a backoff."""
    reason = public_reason(exc)
    if receive_count >= get_settings().max_receive_count:
        logger.exception("report failed for good", extra={"report_id": job.report_id, "step": job.step})
        store.fail(job.pool, job.report_id, reason, token)
        return
    logger.warning(
        "attempt failed, will retry",
        extra={"report_id": job.report_id, "step": job.step, "error": f"{type(exc).__name__}: {exc}"},
    )
    if release:
        store.release(job.pool, job.report_id, token, reason)
    if delivery is not None:
        _retry_soon(delivery, receive_count)


# ============================================================================ split across workers
# A report of many trackers or a long period is split: one part per tracker, each a job of its own
# on the same queue (so as many workers as Lambda runs compute them at once), each part's result
# kept in the reports bucket (reports/<id>/parts/<run>/<n>.bin) and counted in the report's item
# (a set, so that a part done twice counts once); the worker that counts the last part enqueues
# the assembly (exactly one does: store.take_assembly), which builds the document from the parts,
# stores and renders it as a whole report would be, and deletes the parts. Every step belongs to
# the split's run (the claim token of the report job that split it): a step of a run the report
# no longer holds (deleted, or taken over after its lease ran out) does nothing.
# percent_ready: 5 once split, then 5 + 70 x parts done / parts, then the assembly up to 100.


def _parts_to_split(report: ReportRecord, ctx: ReportContext) -> list[int]:
    """The trackers to compute as separate parts, or [] to compute the report in one go."""
    from fleet_reports.engine.report import report_trackers

    threshold = get_settings().fan_out_tracker_days
    if threshold <= 0:
        return []
    ids = report_trackers(ctx)
    days = max(1, -(-(ctx.to_ms - ctx.from_ms) // 86_400_000))
    return ids if len(ids) >= 2 and len(ids) * days >= threshold else []


def _split(job: Job, token: str, ctx: ReportContext, parts: list[int], lease: int) -> JobOutcome:
    from fleet_reports.engine import parts as part_codec
    from fleet_reports.store import queue

    # the context once for every part and the assembly: one read each instead of the fleet's
    # five, and every part computes with the same fleet data whatever changes meanwhile
    report_files.put(
        report_files.part_key(job.report_id, token, "context"), part_codec.dumps(ctx), "application/octet-stream"
    )
    if not store.start_parts(job.pool, job.report_id, token, len(parts), lease):
        return JobOutcome.LOST
    base = {"pool": job.pool, "report_id": job.report_id, "run": token}
    queue.send_jobs(
        [Job.model_validate({**base, "part": n}).model_dump_json(exclude_defaults=True) for n in range(len(parts))]
    )
    logger.info("report split across workers", extra={"report_id": job.report_id, "parts": len(parts)})
    return JobOutcome.SPLIT


def _process_split_step(job: Job, receive_count: int, delivery: Delivery | None) -> JobOutcome:
    """A part or the assembly of a split report; failures retried like a whole report's, the
    report failed at the last allowed delivery."""
    assert job.run is not None
    report = store.get_report(job.pool, job.report_id)
    if report is None:
        return JobOutcome.SKIPPED_GONE
    if not report.state.active:
        return JobOutcome.SKIPPED_FINISHED
    if report.claim != job.run or report.parts_total is None:
        return JobOutcome.SUPERSEDED
    try:
        if job.assemble:
            return _assemble(job, job.run, report)
        return _compute_part(job, job.run, report)
    except ClaimLost:
        return _lost(job)
    except Exception as exc:
        # the report stays with its run (its other parts go on); only this step is retried
        _attempt_failed(job, job.run, exc, receive_count, delivery, release=False)
        raise


def _lost(job: Job) -> JobOutcome:
    if store.get_report(job.pool, job.report_id) is None:
        report_files.delete_prefix(job.report_id)
    return JobOutcome.LOST


def _compute_part(job: Job, run: str, record: ReportRecord) -> JobOutcome:
    from fleet_reports.engine import parts
    from fleet_reports.engine.report import compute_part, report_trackers
    from fleet_reports.store import odometer, queue

    assert job.part is not None and record.parts_total is not None
    ctx = _split_context(job, run)
    ids = report_trackers(ctx)
    if len(ids) != record.parts_total or job.part >= len(ids):
        raise RuntimeError(
            f"report {job.report_id}: part {job.part} of {record.parts_total} does not match its trackers"
        )
    part = compute_part(ctx, ids[job.part], tracks.load, odometer_history=odometer.history)
    report_files.put(report_files.part_key(job.report_id, run, job.part), parts.dumps(part), "application/octet-stream")
    done = store.part_done(job.pool, job.report_id, run, job.part, get_settings().job_lease_seconds)
    if done is None:
        return _lost(job)
    total = record.parts_total
    start = store.SPLIT_PERCENT
    store.set_progress(job.pool, job.report_id, run, start + ((75 - start) * done) // total)
    if done == total and store.take_assembly(job.pool, job.report_id, run):
        base = {"pool": job.pool, "report_id": job.report_id, "run": run, "assemble": True}
        queue.send_jobs([Job.model_validate(base).model_dump_json(exclude_defaults=True)])
    return JobOutcome.PART_DONE


def _split_context(job: Job, run: str) -> ReportContext:
    from fleet_reports.engine import parts

    data = report_files.get(report_files.part_key(job.report_id, run, "context"))
    if data is None:
        raise RuntimeError(f"report {job.report_id}: the split's context is missing")
    ctx = parts.loads(data)
    if not isinstance(ctx, ReportContext):
        raise RuntimeError(f"report {job.report_id}: the split's context is not one")
    return ctx


def _assemble(job: Job, run: str, record: ReportRecord) -> JobOutcome:
    from fleet_reports.engine import parts
    from fleet_reports.engine.report import TrackerPart, assemble_report

    assert record.parts_total is not None
    progress = _Progress(job, run, start=75)
    ctx = _split_context(job, run)
    loaded: list[TrackerPart] = []
    for n in range(record.parts_total):
        data = report_files.get(report_files.part_key(job.report_id, run, n))
        if data is None:
            raise RuntimeError(f"report {job.report_id}: part {n} of {record.parts_total} is missing")
        loaded.append(parts.loads(data))
    document = assemble_report(ctx, loaded)
    output = _store_and_render(job, progress, ctx, document)
    if not store.finish(job.pool, job.report_id, run, output):
        return _lost(job)
    report_files.delete_parts(job.report_id)
    return JobOutcome.DONE


DEAD_LETTER_REASON = (
    "the report's job failed on every attempt (the worker stopped: time limit, memory or a service "
    "error); it has been logged, please generate the report again"
)


def settle_dead_letter(job: Job) -> JobOutcome:
    """A job the jobs queue moved to its dead-letter queue: no delivery will come for its report
    again, so the report is failed now (and its parallel slot freed) unless it finished, was
    deleted, or an attempt still holds a live claim (that attempt finishes it; if it dies, the
    report is abandoned when its lease ends: ``store.is_stale``)."""
    report = store.get_report(job.pool, job.report_id)
    if report is None:
        return JobOutcome.SKIPPED_GONE
    if not report.state.active:
        return JobOutcome.SKIPPED_FINISHED
    if job.run is not None:  # a part or the assembly of a split: the run cannot complete now
        if report.claim != job.run:
            return JobOutcome.SUPERSEDED
        failed = store.fail(job.pool, job.report_id, DEAD_LETTER_REASON, job.run)
    elif report.state is ReportState.QUEUED:
        failed = store.fail(job.pool, job.report_id, DEAD_LETTER_REASON, only_queued=True)
    elif report.lease_until is not None and report.lease_until < int(time.time()):
        failed = store.fail(job.pool, job.report_id, DEAD_LETTER_REASON, lease_until=report.lease_until)
    else:
        return JobOutcome.SKIPPED_RUNNING
    if not failed:  # it moved on meanwhile: look again
        return settle_dead_letter(job)
    logger.error("job dead-lettered; report failed", extra={"report_id": job.report_id, "pool": job.pool})
    return JobOutcome.DEAD_LETTERED


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


def _compute(job: Job, token: str, ctx: ReportContext) -> ReportOutput:
    from fleet_reports.engine.report import build_report
    from fleet_reports.store import odometer

    progress = _Progress(job, token)
    progress.set(2, force=True)
    report = build_report(ctx, tracks.load, progress.scaled(5, 70), odometer_history=odometer.history)
    return _store_and_render(job, progress, ctx, report)


def _store_and_render(job: Job, progress: _Progress, ctx: ReportContext, report: ReportDocument) -> ReportOutput:
    """The document stored (inline when small) and its files rendered: percent_ready 75 to 99."""
    from fleet_reports.render import CONTENT_TYPES, render_report

    settings = get_settings()
    doc = gzip.compress(json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    inline: bytes | None = doc
    doc_key: str | None = None
    # Before each write to the bucket, one update both proves the claim still ours (an attempt that
    # was taken over writes nothing over the new one's files) and moves percent_ready on.
    if len(doc) > settings.inline_report_max_bytes:
        inline, doc_key = None, f"{report_files.prefix(job.report_id)}report.json.gz"
        progress.set(75, force=True)
        report_files.put(doc_key, doc, "application/gzip")
    else:
        progress.set(75)

    info = document_info(ctx)
    files: dict[str, ReportFile] = {}
    variants = [(fmt, headless) for fmt in FORMATS for headless in (False, True)]
    for n, (fmt, headless) in enumerate(variants):
        data = render_report(report, fmt, headless=headless, info=info)
        name = f"{fmt}-headless" if headless else fmt
        key = f"{report_files.prefix(job.report_id)}report{'-headless' if headless else ''}.{fmt}"
        progress.set(75 + round(24 * (n + 1) / len(variants)), force=True)
        report_files.put(key, data, CONTENT_TYPES[fmt])
        files[name] = ReportFile(key=key, size=len(data))
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
