"""The report lifecycle as the API sees it: generate, list, status, retrieve, download, delete."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any

from fleet_reports.engine.catalog import GeofenceParams, PluginSpec, SensorsParams, plugin_spec
from fleet_reports.errors import CODES, ApiError, invalid, validate
from fleet_reports.service import times
from fleet_reports.service.auth import Principal
from fleet_reports.service.models import GenerateParams
from fleet_reports.settings import get_settings, parse_iso_duration
from fleet_reports.store import files as report_files
from fleet_reports.store import fleet, queue
from fleet_reports.store import reports as store


def _locale_info(principal: Principal) -> dict[str, str]:
    u = principal.user
    return {"locale": u.locale, "time_zone": u.time_zone, "measurement_system": u.measurement_system}


def _check_plugin(params: GenerateParams) -> tuple[PluginSpec, dict[str, Any]]:
    spec = plugin_spec(int(params.plugin["plugin_id"]))
    if spec is None:
        if not params.trackers:  # a parameter error (7) comes before an unknown plugin (222)
            raise invalid("trackers", "at least one tracker id is required")
        raise ApiError(222)
    plugin = validate(spec.params, params.plugin, prefix="plugin")
    # Options the plugin does not know are ignored, not stored (api.md): only its own fields.
    # Null fields are left out, as Navixy leaves them out when it echoes the parameters.
    return spec, plugin.model_dump(mode="json", include=set(type(plugin).model_fields), exclude_none=True)


def _tracker_ids(params: GenerateParams, plugin: dict[str, Any], spec: PluginSpec) -> list[int]:
    ids = list(dict.fromkeys(params.trackers or []))
    if spec.params is SensorsParams:
        ids = list(dict.fromkeys(ids + [int(s["tracker_id"]) for s in plugin["sensors"]]))
    if not ids:
        raise invalid("trackers", "at least one tracker id is required")
    limit = get_settings().max_trackers_per_report
    if len(ids) > limit:
        raise invalid("trackers", f"at most {limit} trackers per report")
    if spec.single_tracker and len(ids) != 1:
        raise invalid("trackers", "this plugin takes exactly one tracker")
    return ids


def generate(principal: Principal, params: GenerateParams, *, iso: bool = False) -> int:
    """Validate in api.md's order, store the report as queued, send the job; the new id."""
    settings = get_settings()
    tz = principal.user.time_zone
    try:
        start = times.parse_wire(params.from_, tz, iso=iso)
    except ValueError as exc:
        raise invalid("from", str(exc)) from exc
    try:
        end = times.parse_wire(params.to, tz, iso=iso)
    except ValueError as exc:
        raise invalid("to", str(exc)) from exc
    if end <= start:
        raise invalid("to", "must be after 'from'")

    spec, plugin = _check_plugin(params)  # 222, then the plugin's own options (7)
    tracker_ids = _tracker_ids(params, plugin, spec)

    max_span = getattr(settings, spec.span_setting)
    if end - start > parse_iso_duration(max_span):
        raise ApiError(211, extra={"max_time_span": max_span})

    trackers = fleet.get_trackers(tracker_ids)
    visible = {i: t for i, t in trackers.items() if principal.can_see(t.owner_id, i)}
    if len(visible) != len(tracker_ids):
        raise ApiError(217)
    if spec.params is SensorsParams:
        for ref in plugin["sensors"]:
            sensors = {s.id for s in visible[int(ref["tracker_id"])].sensors}
            if int(ref["sensor_id"]) not in sensors:
                raise ApiError(217)
    for employee_id in params.employees or []:
        if fleet.get_employee(principal.master_id, employee_id) is None:
            raise ApiError(217)
    if spec.params is GeofenceParams and plugin.get("zone_ids") is not None:
        owned = {z.zone_id for z in fleet.get_zones(principal.master_id)}
        if any(int(i) not in owned for i in plugin["zone_ids"]):
            raise ApiError(217)

    tariffs = {t.tariff_id for t in visible.values() if t.tariff_id is not None}
    for tariff_id in sorted(tariffs):
        tariff = fleet.get_tariff(tariff_id)
        if tariff is not None and not tariff.has_reports:
            raise ApiError(236)

    report_id = store.next_report_id()
    created = times.now()
    item = {
        "id": report_id,
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
        "plugin": plugin,
        "trackers": tracker_ids,
        "employees": params.employees or [],
        "geocoder": params.geocoder or "none",
        "include_places_in_address": params.include_places_in_address,
        "include_zones_in_address": params.include_zones_in_address,
        "locale_info": _locale_info(principal),
        "state": "queued",
        "percent": 0,
        "ttl": int(created.timestamp()) + settings.retention_days * 86400,
    }
    try:
        store.create_report(item, settings.max_parallel_reports)
    except store.TooManyActive as exc:
        raise ApiError(
            15,
            f"{CODES[15][0]}: at most {settings.max_parallel_reports} reports may generate at once",
        ) from exc
    try:
        queue.send_job(json.dumps({"pool": principal.pool, "report_id": report_id}))
    except Exception:
        store.fail(principal.pool, report_id, "the job could not be queued")
        raise
    return report_id


def _wire_time(item: dict[str, Any], name: str, tz: str, iso: bool) -> str:
    """A stored time as the wire wants it: the stored string, or ISO 8601 from the exact instant."""
    ms = item.get(f"{name}_ms")
    if not iso:
        return str(item[name])
    if ms is not None:
        return times.format_wire(times.from_ms(int(ms)), tz, iso=True)
    return times.format_wire(times.parse_wire(str(item[name]), tz), tz, iso=True)


def list_reports(principal: Principal, *, iso: bool = False) -> list[dict[str, Any]]:
    out = []
    for item in map(_settle, store.list_reports(principal.pool)):
        tz = item.get("locale_info", {}).get("time_zone", principal.user.time_zone)
        out.append(
            _without_nulls(
                {
                    "id": item["id"],
                    "title": item["title"],
                    "created": _wire_time(item, "created", tz, iso),
                    "from": _wire_time(item, "from", tz, iso),
                    "to": _wire_time(item, "to", tz, iso),
                    "time_filter": item["time_filter"],
                    "percent": int(item.get("percent", 0)),
                    "type": item.get("type", "user"),
                    "state": item.get("state"),
                    "parameters": {
                        "geocoder": item.get("geocoder"),
                        "trackers": item.get("trackers", []),
                        "plugins": [item["plugin"]],
                        "locale_info": item.get("locale_info", {}),
                    },
                }
            )
        )
    return out


def _without_nulls(value: Any) -> Any:
    """``value`` with every null field left out, at any depth (Navixy omits null fields)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


STALE_REASON = "the report's computation stopped without finishing (time limit or crash); please generate it again"


def _settle(item: dict[str, Any]) -> dict[str, Any]:
    """A report whose worker died on its last attempt is failed now, so nobody waits forever."""
    if store.is_stale(item):
        store.fail(int(item["pool"]), int(item["id"]), STALE_REASON, lease_until=int(item["lease_until"]))
        return {**item, "state": "failed", "error": STALE_REASON}
    return item


def _owned(principal: Principal, report_id: int) -> dict[str, Any]:
    item = store.get_report(principal.pool, report_id)
    if item is None:
        raise ApiError(204)
    return _settle(item)


def status(principal: Principal, report_id: int) -> dict[str, Any]:
    item = _owned(principal, report_id)
    out: dict[str, Any] = {"percent_ready": int(item.get("percent", 0)), "state": item.get("state")}
    if item.get("state") == "failed":
        out["error"] = item.get("error", "failed")
    return out


def _done(item: dict[str, Any]) -> None:
    state = item.get("state")
    if state == "failed":
        raise ApiError(6, f"Report generation failed: {item.get('error', 'unknown reason')}")
    if state != "done":
        raise ApiError(229)


def retrieve(principal: Principal, report_id: int, *, iso: bool = False) -> dict[str, Any]:
    item = _owned(principal, report_id)
    _done(item)
    data = store.read_document(item) if not item.get("doc_key") else report_files.get(str(item["doc_key"]))
    if data is None:
        raise ApiError(6, "Report document is missing")
    doc: dict[str, Any] = json.loads(gzip.decompress(data))
    if iso:
        tz = item.get("locale_info", {}).get("time_zone", principal.user.time_zone)
        for name in ("created", "from", "to"):
            if name in doc and (name in item or f"{name}_ms" in item):
                doc[name] = _wire_time(item, name, tz, iso=True)
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

    item = _owned(principal, report_id)
    _done(item)
    entry = (item.get("files") or {}).get(f"{fmt}-headless" if headless else fmt)
    if not entry:
        raise ApiError(6, f"The {fmt} file of this report is missing")
    disposition = content_disposition(str(item["title"]), report_id, fmt)
    ctype = CONTENT_TYPES[fmt]
    if int(entry["size"]) > get_settings().download_inline_max_bytes:
        url = report_files.presigned_url(str(entry["key"]), content_type=ctype, content_disposition=disposition)
        return FileAnswer(ctype, disposition, url=url)
    data = report_files.get(str(entry["key"]))
    if data is None:
        raise ApiError(6, f"The {fmt} file of this report is missing")
    return FileAnswer(ctype, disposition, data=data)


def delete(principal: Principal, report_id: int) -> None:
    """Remove the report and its files.

    The files go first (after the ownership check), so a failure leaves a report the client can
    delete again rather than files nobody can reach; a worker still rendering when the record
    goes finds its claim lost and removes what it wrote, and the second sweep catches the rest.
    """
    if principal.demo:
        raise ApiError(101)
    _owned(principal, report_id)
    report_files.delete_prefix(report_id)
    if store.delete_report(principal.pool, report_id) is None:
        raise ApiError(204)
    report_files.delete_prefix(report_id)
