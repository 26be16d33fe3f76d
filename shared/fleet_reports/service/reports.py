"""The report lifecycle as the API sees it: generate, list, status, retrieve, download, delete."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from fleet_reports.errors import CODES, ApiError, ErrorCode, invalid, validate
from fleet_reports.ids import MAX_ID
from fleet_reports.service import times
from fleet_reports.service.auth import Principal
from fleet_reports.service.models import LIST_PAGE_SIZE, GenerateParams
from fleet_reports.settings import get_settings, parse_iso_duration
from fleet_reports.store import files as report_files
from fleet_reports.store import fleet, queue
from fleet_reports.store import reports as store
from fleet_reports.store.item_size import attribute_sizes
from fleet_reports.store.records import LocaleInfo, ReportRecord, ReportState, TrackerRecord

if TYPE_CHECKING:
    # The catalog (every plugin's model) loads at the first generate, not in every API function's cold start.
    from fleet_reports.engine.catalog import PluginParams, PluginSpec, References
    from fleet_reports.engine.document import ReportDocument

# ============================================================================ generate


def generate(principal: Principal, params: GenerateParams, *, iso: bool = False) -> int:
    """Validate in docs/api.md's order, store the report as queued, send the job; the new id.

    Every plugin is validated from its spec alone (its model, span, single tracker, and the
    entities its options reference): nothing here knows a plugin."""
    start, end = _period(params, principal.user.time_zone, iso)  # 7
    spec, plugin = _check_plugin(params)  # 222, then the plugin's own options (7)
    references = plugin.references()
    tracker_ids = _tracker_ids(params, spec, references)  # 7
    draft = _new_report(principal, params, spec, plugin, tracker_ids, start, end)
    _check_stored_size(draft)  # 7
    _check_span(spec, start, end)  # 211
    trackers = _resolve_entities(principal, tracker_ids, params.employees or [], references)  # 217
    _check_tariffs(trackers)  # 236
    report = draft.model_copy(update={"id": store.next_report_id()})
    _store(report)  # 15
    _enqueue(report)
    return report.id


def _period(params: GenerateParams, tz: str, iso: bool) -> tuple[datetime, datetime]:
    """``from`` and ``to`` as instants, ``to`` after ``from`` (7, naming each bad one)."""
    moments: dict[str, datetime] = {}
    errors: list[dict[str, str]] = []
    for name, text in (("from", params.from_), ("to", params.to)):
        try:
            moments[name] = times.parse_wire(text, tz, iso=iso)
        except ValueError as exc:
            errors.append({"parameter": name, "error": str(exc)})
    if errors:
        raise ApiError(ErrorCode.INVALID_PARAMETERS, errors=errors)
    start, end = moments["from"], moments["to"]
    if end <= start:
        raise invalid("to", "must be after 'from'")
    return start, end


def _check_plugin(params: GenerateParams) -> tuple[PluginSpec, PluginParams]:
    """The plugin's spec (222 when unknown) and its options validated by its model (7)."""
    from fleet_reports.engine.catalog import plugin_spec

    spec = plugin_spec(int(params.plugin["plugin_id"]))
    if spec is None:
        if not params.trackers:  # a parameter error (7) comes before an unknown plugin (222)
            raise invalid("trackers", "at least one tracker id is required")
        raise ApiError(ErrorCode.PLUGIN_NOT_FOUND)
    return spec, validate(spec.params, params.plugin, prefix="plugin")


def _tracker_ids(params: GenerateParams, spec: PluginSpec, references: References) -> list[int]:
    """The request's trackers, then those the plugin's options name, each once (7 beyond the limits)."""
    named = [*references.trackers, *(tracker_id for tracker_id, _ in references.sensors)]
    ids = list(dict.fromkeys([*(params.trackers or []), *named]))
    if not ids:
        raise invalid("trackers", "at least one tracker id is required")
    limit = get_settings().max_trackers_per_report
    if len(ids) > limit:
        raise invalid("trackers", f"at most {limit} trackers per report")
    if spec.single_tracker and len(ids) != 1:
        raise invalid("trackers", "this plugin takes exactly one tracker")
    return ids


def _check_span(spec: PluginSpec, start: datetime, end: datetime) -> None:
    """211 (with the limit) when the period is longer than the plugin's span setting."""
    max_span = str(getattr(get_settings(), spec.span_setting))
    if end - start > parse_iso_duration(max_span):
        raise ApiError(ErrorCode.TIME_SPAN_TOO_BIG, extra={"max_time_span": max_span})


def _resolve_entities(
    principal: Principal, tracker_ids: list[int], employee_ids: list[int], references: References
) -> dict[int, TrackerRecord]:
    """The trackers, each visible to the caller, and every sensor, employee and zone referenced
    known to its owner; 217 otherwise. Checked in this order: trackers, sensors, employees, zones.

    Each kind is read in batches (BatchGetItem, 100 keys a call), each id once: the lists are
    bounded and folded by the parameter models, so a request costs a few reads, never one a name."""
    not_found = ApiError(ErrorCode.ENTITY_NOT_FOUND)
    found = fleet.get_trackers(tracker_ids)
    visible = {i: t for i, t in found.items() if principal.can_see(t.owner_id, i)}
    if len(visible) != len(tracker_ids):
        raise not_found
    sensors = {i: {s.id for s in t.sensors} for i, t in visible.items()}
    if any(sensor_id not in sensors[tracker_id] for tracker_id, sensor_id in references.sensors):
        raise not_found
    employees = list(dict.fromkeys([*employee_ids, *references.employees]))
    if employees and len(fleet.known_employee_ids(principal.master_id, employees)) != len(employees):
        raise not_found
    zones = list(dict.fromkeys(references.zones))
    if zones and len(fleet.known_zone_ids(principal.master_id, zones)) != len(zones):
        raise not_found
    return visible


def _check_tariffs(trackers: dict[int, TrackerRecord]) -> None:
    """236 when a tracker's tariff has no reports."""
    tariff_ids = sorted({t.tariff_id for t in trackers.values() if t.tariff_id is not None})
    if any(not tariff.has_reports for tariff in fleet.get_tariffs(tariff_ids).values()):
        raise ApiError(ErrorCode.TARIFF_RESTRICTED)


STORED_REQUEST_MAX_BYTES = 96 * 1024
"""The most a new report's record may hold (its request: title, trackers, employees, the plugin's
options...), as DynamoDB counts an item. The record must stay under DynamoDB's 400 KB item limit
(``store.item_size.ITEM_LIMIT``) once the worker adds the document inline (up to
``inline_report_max_bytes``, 300,000 bytes), its files and its state; beyond, generate answers 7
before anything is stored, never a 500 from the write. The lists' own limits keep a request far
under it (``MaxTrackersPerReport`` raised very high could reach it)."""

_STORED_PARAMETERS = ("plugin", "trackers", "employees", "title", "geocoder", "time_filter")
"""The record's attributes that hold request content, named as the request names them."""


def _check_stored_size(report: ReportRecord) -> None:
    """7, naming the parameter that takes the most room, when the record would be too large to store."""
    sizes = attribute_sizes({**store.report_key(report.pool, report.id), **report.to_item()})
    total = sum(sizes.values())
    if total > STORED_REQUEST_MAX_BYTES:
        largest = max(_STORED_PARAMETERS, key=lambda name: sizes.get(name, 0))
        raise invalid(
            largest,
            f"the report would hold {total} bytes of its request, over the {STORED_REQUEST_MAX_BYTES} "
            f"a report may store; send fewer or shorter values",
        )


def _new_report(
    principal: Principal,
    params: GenerateParams,
    spec: PluginSpec,
    plugin: PluginParams,
    tracker_ids: list[int],
    start: datetime,
    end: datetime,
) -> ReportRecord:
    """The queued report, with the largest id (``generate`` gives it its own once every check passed)."""
    user, created = principal.user, times.now()
    tz = user.time_zone
    # Options the plugin does not know are ignored, not stored (docs/api.md): only its own fields.
    # Null fields are left out, as Navixy leaves them out when it echoes the parameters.
    options = plugin.model_dump(mode="json", include=set(type(plugin).model_fields), exclude_none=True)
    return ReportRecord.model_validate(
        {
            "id": MAX_ID,
            "pool": principal.pool,
            "owner_id": principal.master_id,
            "type": "user",
            "title": params.title or spec.default_title,
            "created": times.format_wire(created, tz),
            "created_ms": times.to_ms(created),
            "from": times.format_wire(start, tz),
            "to": times.format_wire(end, tz),
            "from_ms": times.to_ms(start),
            "to_ms": times.to_ms(end),
            "time_filter": params.time_filter.wire(),
            "plugin": options,
            "trackers": tracker_ids,
            "employees": params.employees or [],
            "geocoder": params.geocoder or "none",
            "include_places_in_address": params.include_places_in_address,
            "include_zones_in_address": params.include_zones_in_address,
            "locale_info": LocaleInfo(
                locale=user.locale, time_zone=tz, measurement_system=user.measurement_system
            ).model_dump(),
            "state": ReportState.QUEUED,
            "percent": 0,
            "ttl": int(created.timestamp()) + get_settings().retention_days * 86400,
        }
    )


def _store(report: ReportRecord) -> None:
    """Store the queued report, taking one of its pool's parallel slots (15 when none is free)."""
    cap = get_settings().max_parallel_reports
    try:
        store.create_report(report, cap)
    except store.TooManyActive as exc:
        raise ApiError(
            ErrorCode.TOO_MANY_REQUESTS,
            f"{CODES[ErrorCode.TOO_MANY_REQUESTS][0]}: at most {cap} reports may generate at once",
            extra={"limit": "parallel_reports"},
        ) from exc


def _enqueue(report: ReportRecord) -> None:
    """Send the worker its job; a report whose job could not be sent is failed at once."""
    try:
        queue.send_job(json.dumps({"pool": report.pool, "report_id": report.id}))
    except Exception:
        store.fail(report.pool, report.id, "the job could not be queued")
        raise


# ============================================================================ the other actions


def _wire_time(report: ReportRecord, name: str, tz: str, iso: bool) -> str:
    """A stored time as the wire wants it: the stored string, or ISO 8601 from the exact instant."""
    text: str = getattr(report, _WIRE_FIELDS[name])
    if not iso:
        return text
    ms: int | None = getattr(report, f"{name}_ms")
    if ms is not None:
        return times.format_wire(times.from_ms(ms), tz, iso=True)
    return times.format_wire(times.parse_wire(text, tz), tz, iso=True)


_WIRE_FIELDS = {"created": "created", "from": "from_", "to": "to"}


LIST_PAGE_MAX_BYTES = 4_000_000
"""The most bytes of reports one ``list`` answers: far under Lambda's 6 MB response (6,291,456
bytes, the envelope and headers included), whatever the reports hold. A page this full ends early,
with ``next_before_id``, even before :data:`~fleet_reports.service.models.LIST_PAGE_SIZE` reports."""


@dataclass(frozen=True)
class ReportList:
    """One page of ``list``: its reports, and where the next page starts (None: no more)."""

    reports: list[dict[str, Any]]
    next_before_id: int | None


def list_reports(
    principal: Principal, *, iso: bool = False, limit: int = LIST_PAGE_SIZE, before_id: int | None = None
) -> ReportList:
    """The caller's reports, newest first: at most ``limit`` (and :data:`LIST_PAGE_MAX_BYTES`) of
    them, older than ``before_id`` when given. A pool that fits is answered whole, as on Navixy."""
    records, next_before_id = store.list_reports(principal.pool, limit, before_id)
    out: list[dict[str, Any]] = []
    size = 0
    for report in map(_settle, records):
        entry = _list_entry(report, principal, iso)
        size += len(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        if size > LIST_PAGE_MAX_BYTES and out:
            return ReportList(out, out[-1]["id"])
        out.append(entry)
    return ReportList(out, next_before_id)


def _list_entry(report: ReportRecord, principal: Principal, iso: bool) -> dict[str, Any]:
    tz = report.time_zone(principal.user.time_zone)
    entry: dict[str, Any] = _without_nulls(
        {
            "id": report.id,
            "title": report.title,
            "created": _wire_time(report, "created", tz, iso),
            "from": _wire_time(report, "from", tz, iso),
            "to": _wire_time(report, "to", tz, iso),
            "time_filter": report.time_filter,
            "percent": report.percent,
            "type": report.type,
            "state": report.state.value,
            "parameters": {
                "geocoder": report.geocoder,
                "trackers": report.trackers,
                "plugins": [report.plugin],
                "locale_info": report.locale_info.model_dump() if report.locale_info is not None else {},
            },
        }
    )
    return entry


def _without_nulls(value: Any) -> Any:
    """``value`` with every null field left out, at any depth (Navixy omits null fields)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


STALE_REASON = "the report's computation stopped without finishing (time limit or crash); please generate it again"
LOST_JOB_REASON = "the report's job was lost before it could run; please generate it again"


def _settle(report: ReportRecord) -> ReportRecord:
    """A report no job will finish (its worker died on the last attempt, or its job message is
    gone) is failed now, so nobody waits forever and its slot comes back."""
    if not store.is_stale(report):
        return report
    if report.state is ReportState.QUEUED:
        reason = LOST_JOB_REASON
        store.fail(report.pool, report.id, reason, only_queued=True)
    else:
        reason = STALE_REASON
        store.fail(report.pool, report.id, reason, lease_until=report.lease_until)
    return report.model_copy(update={"state": ReportState.FAILED, "error": reason})


def _owned(principal: Principal, report_id: int) -> ReportRecord:
    report = store.get_report(principal.pool, report_id)
    if report is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    return _settle(report)


def status(principal: Principal, report_id: int) -> dict[str, Any]:
    report = _owned(principal, report_id)
    out: dict[str, Any] = {"percent_ready": report.percent, "state": report.state.value}
    if report.state is ReportState.FAILED:
        out["error"] = report.error if report.error is not None else "failed"
    return out


def _done(report: ReportRecord) -> None:
    if report.state is ReportState.FAILED:
        reason = report.error if report.error is not None else "unknown reason"
        raise ApiError(ErrorCode.UNEXPECTED, f"Report generation failed: {reason}")
    if report.state is not ReportState.DONE:
        raise ApiError(ErrorCode.NOT_READY)


def retrieve(principal: Principal, report_id: int, *, iso: bool = False) -> ReportDocument:
    report = _owned(principal, report_id)
    _done(report)
    data = store.read_document(report) if not report.doc_key else report_files.get(report.doc_key)
    if data is None:
        raise ApiError(ErrorCode.UNEXPECTED, "Report document is missing")
    # The document the worker stored (engine.document.ReportDocument): read back, not checked again.
    doc = cast("ReportDocument", json.loads(gzip.decompress(data)))
    if iso:
        tz = report.time_zone(principal.user.time_zone)
        names: tuple[Literal["created", "from", "to"], ...] = ("created", "from", "to")
        for name in names:
            if name in doc:
                doc[name] = _wire_time(report, name, tz, iso=True)
    return doc


@dataclass(frozen=True)
class FileAnswer:
    """Either the file's bytes or a presigned URL to it."""

    content_type: str
    content_disposition: str
    data: bytes | None = None
    url: str | None = None


def download(principal: Principal, report_id: int, fmt: str, headless: bool) -> FileAnswer:
    from fleet_reports.render import CONTENT_TYPES, content_disposition

    report = _owned(principal, report_id)
    _done(report)
    entry = report.files.get(f"{fmt}-headless" if headless else fmt)
    if entry is None:
        raise ApiError(ErrorCode.UNEXPECTED, f"The {fmt} file of this report is missing")
    disposition = content_disposition(report.title, report_id, fmt)
    ctype = CONTENT_TYPES[fmt]
    if entry.size > get_settings().download_inline_max_bytes:
        url = report_files.presigned_url(entry.key, content_type=ctype, content_disposition=disposition)
        return FileAnswer(ctype, disposition, url=url)
    data = report_files.get(entry.key)
    if data is None:
        raise ApiError(ErrorCode.UNEXPECTED, f"The {fmt} file of this report is missing")
    return FileAnswer(ctype, disposition, data=data)


def delete(principal: Principal, report_id: int) -> None:
    """Remove the report and its files.

    The files go first (after the ownership check), so a failure leaves a report the client can
    delete again rather than files nobody can reach; a worker still rendering when the record
    goes finds its claim lost and removes what it wrote, and the second sweep catches the rest.
    """
    if principal.demo:
        raise ApiError(ErrorCode.DEMO_MODE)
    _owned(principal, report_id)
    report_files.delete_prefix(report_id)
    if store.delete_report(principal.pool, report_id) is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    report_files.delete_prefix(report_id)
