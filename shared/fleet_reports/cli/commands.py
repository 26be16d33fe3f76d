"""The CLI's commands: argument handling and printing around the service code."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleet_reports.cli.progress import Progress
from fleet_reports.cli.target import Target, TargetError, resolve

if TYPE_CHECKING:
    from fleet_reports.service.imports import ImportOutcome
    from fleet_reports.service.manifest import Manifest


class CliError(RuntimeError):
    """A problem the user can fix; printed without a traceback."""


def _target(args: argparse.Namespace) -> Target:
    try:
        target = resolve(args.stack, args.local, args.region)
    except TargetError as exc:
        raise CliError(str(exc)) from exc
    target.activate()
    return target


def _store_errors() -> tuple[type[BaseException], ...]:
    from fleet_reports.settings import ConfigError
    from fleet_reports.store.errors import StoreError

    return (StoreError, ConfigError)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


# ---------------------------------------------------------------------------------- target


def show_target(args: argparse.Namespace) -> int:
    target = _target(args)
    _out(target.describe())
    if target.api_url:
        _out(f"API base URL: {target.api_url}")
    return 0


# -------------------------------------------------------------------------------- manifest


def _load_manifest(path: Path) -> Manifest:
    from fleet_reports.service.manifest import ManifestError, load_manifest

    try:
        return load_manifest(path)
    except ManifestError as exc:
        raise CliError(f"{path} is not a valid manifest:\n{exc}") from exc


def validate(args: argparse.Namespace) -> int:
    from fleet_reports.service.manifest.checks import external_references

    manifest = _load_manifest(args.file)
    counts = {k: len(v) for k, v in manifest.model_dump().items() if isinstance(v, list) and v}
    _out(f"{args.file}: valid ({', '.join(f'{n} {k}' for k, n in counts.items()) or 'empty'})")
    outside = external_references(manifest)
    if outside:
        # Offline, nothing can tell whether these exist: say so, rather than pass them silently.
        _out(
            f"  {len(outside)} reference(s) to entities not in the file, which must exist in the target "
            "(`fleet-reports apply --dry-run FILE` checks them there):"
        )
        for ref in outside:
            _out(f"    {ref}")
    return 0


def apply(args: argparse.Namespace) -> int:
    from fleet_reports.service.manifest import ManifestError, apply_manifest

    manifest = _load_manifest(args.file)
    target = _target(args)
    try:
        summary = apply_manifest(manifest, prune=args.prune, dry_run=args.dry_run)
    except ManifestError as exc:
        raise CliError(f"{args.file} does not fit the data on {target.describe()}:\n{exc}") from exc
    except _store_errors() as exc:
        raise CliError(f"cannot apply to {target.describe()}: {exc}") from exc
    _out(("Would apply" if args.dry_run else "Applied") + f" {args.file} to {target.describe()}")
    for line in summary.lines():
        _out("  " + line)
    return 0


def _write_manifest(manifest: Manifest, output: Path | None) -> None:
    data = manifest.model_dump(mode="json", exclude_none=True)
    if output is not None and output.suffix == ".json":
        output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    import yaml

    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def export(args: argparse.Namespace) -> int:
    from fleet_reports.service.manifest import export_manifest

    target = _target(args)
    try:
        manifest = export_manifest(args.users)
    except _store_errors() as exc:
        raise CliError(f"cannot export from {target.describe()}: {exc}") from exc
    _write_manifest(manifest, args.output)
    return 0


def demo_manifest(args: argparse.Namespace) -> int:
    from fleet_reports.demo import demo_manifest as build

    _write_manifest(build(), args.output)
    return 0


# --------------------------------------------------------------------------------- imports


def _outcome_line(o: ImportOutcome) -> str:
    days = sorted(o.days)
    span = ""
    if days:
        span = f", 1 day ({days[0]})" if len(days) == 1 else f", {len(days)} days ({days[0]}..{days[-1]})"
    if o.state == "failed":
        return f"{o.key}: FAILED: {o.error}"
    if o.state == "duplicate":
        return f"{o.key}: already imported ({o.error or 'same content'}), nothing changed"
    return (
        f"{o.key}: {o.state}: {o.rows:,} rows, {o.accepted:,} accepted, {o.rejected_count:,} rejected, "
        f"{o.duplicates:,} duplicate times{span}"
    )


def _print_rejections(o: ImportOutcome, limit: int) -> None:
    for r in o.rejections[:limit]:
        _out(f"    line {r.line}: {r.reason}")
    if o.rejected_count > min(limit, len(o.rejections)):
        _out(f"    ... {o.rejected_count - min(limit, len(o.rejections)):,} more rejected rows")


def import_files(args: argparse.Namespace) -> int:
    from fleet_reports.service import imports

    target = _target(args)
    for f in args.files:
        if not f.is_file():
            raise CliError(f"{f}: no such file")
    try:  # before any byte is sent: an upload for an unknown tracker would only fail later
        known = imports.tracker_known(args.tracker)
    except _store_errors() as exc:
        raise CliError(f"cannot read the fleet of {target.describe()}: {exc}") from exc
    if not known:
        raise CliError(
            f"tracker {args.tracker} is not in the fleet of {target.describe()}: add it with "
            "`fleet-reports apply MANIFEST` first (nothing was uploaded)"
        )
    keys: list[tuple[Path, str]] = []
    for f in args.files:
        size = f.stat().st_size
        bar = Progress(size, f"upload {f.name}")
        name = f"events/{f.name}" if args.events else f.name
        try:
            with f.open("rb") as fileobj:
                key = imports.upload(args.tracker, name, fileobj, size, progress=bar.advance)
        except _store_errors() as exc:
            raise CliError(f"cannot upload {f} to {target.describe()}: {exc}") from exc
        bar.finish()
        keys.append((f, key))
    if args.no_wait:
        for f, key in keys:
            _out(f"{f}: uploaded as {key}; `fleet-reports imports --tracker {args.tracker}` shows the outcome")
        return 0
    failed = 0
    for f, key in keys:
        _err(f"importing {f.name} ...")
        outcome = imports.wait_outcome(key, args.timeout)
        if outcome is None:
            raise CliError(f"{f}: no outcome after {args.timeout:.0f} s (is the import function running?)")
        _out(_outcome_line(outcome))
        _print_rejections(outcome, 10)
        failed += outcome.state == "failed"
    return 1 if failed else 0


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def list_imports(args: argparse.Namespace) -> int:
    from fleet_reports.service import imports

    target = _target(args)
    try:
        outcomes = imports.list_outcomes(args.tracker, args.limit)
    except _store_errors() as exc:
        raise CliError(f"cannot read import outcomes on {target.describe()}: {exc}") from exc
    if args.json:
        _out(json.dumps([o.model_dump(mode="json") for o in outcomes], indent=2))
        return 0
    if not outcomes:
        _out("no imports yet")
    for o in outcomes:
        _out(_outcome_line(o))
        if args.rejections:
            _print_rejections(o, 1000)
    return 0


# -------------------------------------------------------------------------------- simulate


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"{what}: {text!r} is not a date (YYYY-MM-DD)") from exc


def _days(args: argparse.Namespace) -> list[date]:
    last = _day(args.last, "--to") if args.last else datetime.now(UTC).date()
    if args.first:
        first = _day(args.first, "--from")
    else:
        if args.days < 1:
            raise CliError("--days must be at least 1")
        first = last - timedelta(days=args.days - 1)
    if first > last:
        raise CliError(f"--from {first} is after --to {last}")
    if (last - first).days >= 366:
        raise CliError("at most 366 days at once")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _render(track: Any, fmt: str) -> bytes:
    from fleet_reports import ingest

    writers = {"csv": ingest.format_csv, "ndjson": ingest.format_ndjson, "gpx": ingest.format_gpx}
    return writers[fmt](track)


def simulate(args: argparse.Namespace) -> int:
    from fleet_reports.demo import DEMO_TRACKERS, demo_track

    known = {t.id for t in DEMO_TRACKERS}
    trackers = args.trackers or sorted(known)
    unknown = sorted(set(trackers) - known)
    if unknown:
        raise CliError(f"--tracker {unknown[0]} is not a demo tracker ({', '.join(map(str, sorted(known)))})")
    days = _days(args)
    target = None if args.out else _target(args)
    bar = Progress(len(trackers) * len(days), "simulate", unit="tracker-days")
    written: list[tuple[int, str, int]] = []
    fixes = 0
    for tracker_id in trackers:
        for day in days:
            track = demo_track(tracker_id, day, seed=args.seed)
            fixes += len(track)
            if len(track):
                data = _render(track, args.format)
                name = f"{tracker_id}-{day.isoformat()}.{args.format}" + (".gz" if args.gzip else "")
                if args.gzip:
                    data = gzip.compress(data, 6, mtime=0)
                written.append((tracker_id, name, len(data)))
                _deliver(args, target, tracker_id, name, data)
            bar.advance(1)
    bar.finish()
    where = str(args.out) if args.out else target.describe() if target else ""
    _out(f"simulated {fixes:,} fixes in {len(written)} files for {len(trackers)} trackers, {days[0]}..{days[-1]}")
    _out(f"  -> {where}")
    if target is not None:
        return _await_simulated(args, written)
    return 0


def _deliver(args: argparse.Namespace, target: Target | None, tracker_id: int, name: str, data: bytes) -> None:
    import io

    if args.out:
        folder = args.out / str(tracker_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        return
    from fleet_reports.service import imports

    try:
        imports.upload(tracker_id, name, io.BytesIO(data), len(data))
    except _store_errors() as exc:
        raise CliError(f"cannot upload to {target.describe() if target else 'the target'}: {exc}") from exc


def _await_simulated(args: argparse.Namespace, written: list[tuple[int, str, int]]) -> int:
    from fleet_reports.service import imports

    bar = Progress(len(written), "import", unit="files")
    failed = []
    for tracker_id, name, _ in written:
        outcome = imports.wait_outcome(f"incoming/{tracker_id}/{name}", 600.0)
        if outcome is None or outcome.state == "failed":
            failed.append((name, outcome.error if outcome else "no outcome after 600 s"))
        bar.advance(1)
    bar.finish()
    for name, error in failed:
        _out(f"  {name}: FAILED: {error}")
    return 1 if failed else 0


# --------------------------------------------------------------------------------- convert


def convert(args: argparse.Namespace) -> int:
    from fleet_reports import convert as conv

    if args.list or args.kind == "list":
        for kind, text in conv.KINDS.items():
            _out(f"{kind:24} {text}")
        return 0
    if not args.kind:
        raise CliError("convert needs --from KIND (see `fleet-reports convert --list`)")
    if args.kind not in conv.KINDS:
        raise CliError(f"--from {args.kind!r}: unknown source format; one of {', '.join(conv.KINDS)}")
    if args.file is None or args.outdir is None:
        raise CliError("convert needs FILE and OUTDIR")
    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    try:
        files = conv.convert(args.kind, args.file.read_bytes())
    except ValueError as exc:
        raise CliError(f"{args.file} is not a {args.kind} file: {exc}") from exc
    args.outdir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.outdir / name).write_bytes(data)
        _out(f"{args.outdir / name}  ({len(data):,} bytes)")
    return 0
