"""``python -m fleet_reports.local``: run the local stack until Ctrl-C (``make run``).

The stack's tables and buckets are kept in a state folder (``.local/state/`` beside
``.local/stack.json``) and restored at the next start; ``--fresh`` wipes them first.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from fleet_reports.local.persist import StateError
from fleet_reports.local.stack import SAVE_EVERY_S, SEED_GENERATE, Stack, find_root, report_status, start, write_state
from fleet_reports.local.template import TemplateError

PROGRESS_EVERY_S = 1.0


def shown(path: Path | str) -> str:
    """A path relative to the current folder when it is below it (as the user typed it)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def seed_line(rid: object, status: dict[str, Any] | None, resumed: bool) -> str:
    """What the banner says of the documentation's example report."""
    if status is None:
        return f"  the documentation's example report {rid} was deleted: generate it again (below)."
    if status.get("state") == "done":
        return f"  the documentation's example report {rid} is ready."
    if status.get("state") == "failed":
        return f"  the documentation's example report {rid} failed: {status.get('error', 'unknown reason')}"
    again = " again (it was unfinished when the stack stopped)" if resumed else " now"
    return f"  the documentation's example report {rid} is being generated{again}: progress below."


def banner(info: dict[str, Any], *, state_note: str | None = None, seed: str | None = None) -> str:
    url, h, rid = info["api_url"], info.get("demo_hash"), info.get("seed_report_id")
    gen = json.dumps({"hash": h, **SEED_GENERATE}, separators=(", ", ": "))
    lines = [
        "",
        "Fleet Reports local stack is up.",
        f"  API base URL      {url}",
        f"  AWS endpoint      {info['aws_endpoint_url']}  (moto; region {info['region']})",
        f"  track bucket      {info['data_bucket']}  (upload track files to "
        f"{info.get('import_prefix', 'incoming/')}<tracker_id>/ to import them)",
        f"  reports bucket    {info['reports_bucket']}",
    ]
    if state_note:
        lines.append(f"  state             {state_note}")
    if h:
        lines += [
            f"  demo hash         {h}  (owner of trackers {info.get('demo_trackers')})",
            f"  demo login        {info.get('demo_login')} / {info.get('demo_password')}",
            f"  sub-user without 'reports' right: {info.get('sub_user_without_reports_hash')}  (error 13)",
            f"  demo-mode user:   {info.get('demo_mode_user_hash')}  (delete answers 101)",
            f"  another user:     {info.get('other_user_hash')}  (its reports are not yours: 204)",
            f"  Russian user:     {info.get('russian_user_hash')}  (ru_RU, Asia/Yekaterinburg: reports in Russian)",
            seed or f"  the documentation's example report {rid} is being generated now: progress below.",
            "",
            "Try it:",
            f"  curl -X POST '{url}/report/tracker/generate' -H 'Content-Type: application/json' -d '{gen}'",
            f"  curl '{url}/report/tracker/status?hash={h}&report_id={rid}'",
            f"  curl '{url}/report/tracker/list?hash={h}'",
            f"  curl '{url}/report/tracker/retrieve?hash={h}&report_id={rid}'",
            f"  curl -o report.pdf '{url}/report/tracker/download?hash={h}&report_id={rid}&format=pdf'",
            f"  curl -o report.xlsx '{url}/report/tracker/download?hash={h}&report_id={rid}&format=xlsx&headless=true'",
            f"  curl -X POST '{url}/report/tracker/delete' -H 'Content-Type: application/json' "
            f'-d \'{{"hash": "{h}", "report_id": {rid}}}\'',
        ]
    lines += ["", f"State written to {shown(info.get('state_file', '.local/stack.json'))}."]
    if info.get("state_dir"):
        lines.append(
            f"Tables and buckets are kept in {shown(info['state_dir'])} (saved every "
            f"{info.get('save_every_s', SAVE_EVERY_S):g} s and at Ctrl-C); `make run FRESH=1` starts over."
        )
    lines += ["Ctrl-C stops the stack.", ""]
    return "\n".join(lines)


def state_note(stack: Stack, fresh: bool) -> str | None:
    """The banner's line on the kept state: restored (what, how fast), or why it starts empty."""
    folder = stack.state_dir
    if folder is None:
        return "not kept (--no-persist): everything is gone when the stack stops"
    restored = stack.restored
    if restored is not None:
        note = (
            f"restored from {shown(folder)} ({restored.counts.describe()}, saved {restored.taken}) "
            f"in {restored.counts.seconds:.2f} s"
        )
        if stack.resumed_reports:
            note += f"; re-queued unfinished report(s) {', '.join(map(str, stack.resumed_reports))}"
        if restored.deferred:
            note += f"; {len(restored.deferred)} upload(s) not imported yet: importing them now"
        if restored.skipped:
            note += f"; not in the template any more, skipped: {', '.join(restored.skipped)}"
        return note
    if fresh:
        return f"fresh start (--fresh): {shown(folder)} wiped"
    return f"fresh start (nothing saved yet in {shown(folder)})"


def follow_report(
    owner_hash: str, report_id: int, api_url: str, since: float, stop: threading.Event, out: TextIO
) -> None:
    """Print the example report's progress (at most a line a second), then one line when it is
    ready or failed, with how to fetch it."""
    last: int | None = None
    printed = 0.0
    while not stop.is_set():
        try:
            status = report_status(owner_hash, report_id)
        except Exception:  # a hiccup of the store: look again
            stop.wait(1.0)
            continue
        elapsed = time.monotonic() - since
        if status is None:
            print(f"The example report {report_id} was deleted before it was ready.", file=out, flush=True)
            return
        if status.get("state") == "done":
            print(
                f"The example report {report_id} is ready ({elapsed:.1f} s): "
                f"curl '{api_url}/report/tracker/retrieve?hash={owner_hash}&report_id={report_id}'",
                file=out,
                flush=True,
            )
            return
        if status.get("state") == "failed":
            print(f"The example report {report_id} failed: {status.get('error')}", file=out, flush=True)
            return
        percent = int(status.get("percent_ready", 0))
        if percent != last and time.monotonic() - printed >= PROGRESS_EVERY_S:
            print(f"  example report {report_id}: {percent}% ({status.get('state')})", file=out, flush=True)
            last, printed = percent, time.monotonic()
        stop.wait(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet_reports.local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="API port (PORT)")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "0")))
    parser.add_argument(
        "--no-demo", action="store_true", help="start empty, without the demo fleet (on a start without saved state)"
    )
    parser.add_argument("--state", type=Path, default=None, help="where to write stack.json")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the tables and buckets are kept across restarts (default: state/ beside stack.json)",
    )
    parser.add_argument("--fresh", action="store_true", help="wipe the kept state and start with the demo fleet")
    parser.add_argument("--no-persist", action="store_true", help="keep nothing: the state lives in memory only")
    parser.add_argument(
        "--save-every", type=float, default=SAVE_EVERY_S, metavar="SECONDS", help="how often to save (when changed)"
    )
    parser.add_argument(
        "--no-workers", action="store_true", help="do not run the worker and importer (reports stay queued)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WORKERS", str(min(2, os.cpu_count() or 1)))),
        metavar="N",
        help="processes running the worker (and as many the importer), as Lambda runs concurrent "
        "invocations; 0 runs them in this process (WORKERS; default: 2, or 1 on one CPU)",
    )
    parser.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="template parameters, as sam deploy takes them (CallerRateLimit=500 MaxParallelReports=10)",
    )
    parser.add_argument(
        "--durations",
        type=Path,
        default=None,
        metavar="FILE",
        help="write each API invocation's duration there (a line '<function> <ms>'; bench/load.py reads it)",
    )
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    if args.save_every <= 0:
        parser.error("--save-every must be a number of seconds above 0")
    overrides = dict(item.partition("=")[::2] for item in args.parameter_overrides)
    if any("=" not in item for item in args.parameter_overrides):
        parser.error("--parameter-overrides takes NAME=VALUE pairs")

    root = find_root()
    state = args.state or root / ".local" / "stack.json"
    state_dir = None if args.no_persist else (args.state_dir or state.parent / "state")
    t0 = time.monotonic()
    durations = args.durations.open("a", encoding="utf-8") if args.durations else None
    try:
        stack = start(
            port=args.port,
            moto_port=args.moto_port,
            root=root,
            demo=not args.no_demo,
            start_pollers=not args.no_workers,
            state_dir=state_dir,
            fresh=args.fresh,
            save_every_s=args.save_every,
            parameter_overrides=overrides or None,
            worker_processes=args.workers,
            durations=durations,
        )
    except (StateError, TemplateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()  # Ctrl-C from here on stops the stack cleanly (and saves its state)
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    stack.info["started_in_s"] = round(time.monotonic() - t0, 2)
    stack.info["state_file"] = str(state)
    stack.info["save_every_s"] = args.save_every
    write_state(stack, state)

    h, rid = stack.info.get("demo_hash"), stack.info.get("seed_report_id")
    status = report_status(str(h), int(rid)) if h and rid else None
    print(
        banner(
            stack.info,
            state_note=state_note(stack, args.fresh),
            seed=seed_line(rid, status, rid in stack.resumed_reports) if h and rid else None,
        ),
        flush=True,
    )

    if h and rid and status is not None and status.get("state") not in ("done", "failed"):
        since = stack.seed_since if stack.seed_since is not None else time.monotonic()
        args_ = (str(h), int(rid), stack.api_url, since, done, sys.stdout)
        threading.Thread(target=follow_report, args=args_, name="follow-example-report", daemon=True).start()

    done.wait()
    print("Stopping the local stack...", flush=True)
    try:
        saved = stack.stop()
    except Exception as exc:
        print(f"error: could not save the state to {shown(state_dir or '')}: {exc}", file=sys.stderr)
        state.unlink(missing_ok=True)
        return 1
    if saved is not None:
        print(f"State saved to {shown(state_dir or '')} ({saved.describe()}) in {saved.seconds:.2f} s.", flush=True)
    elif state_dir is not None:
        print(f"State in {shown(state_dir)} is up to date.", flush=True)
    state.unlink(missing_ok=True)
    if durations is not None:
        durations.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
