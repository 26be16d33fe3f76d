"""``python -m fleet_reports.local``: run the local stack until Ctrl-C (``make run``)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from fleet_reports.local.stack import SEED_GENERATE, find_root, start, write_state


def banner(info: dict[str, object]) -> str:
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
    if h:
        lines += [
            f"  demo hash         {h}  (owner of trackers {info.get('demo_trackers')})",
            f"  demo login        {info.get('demo_login')} / {info.get('demo_password')}",
            f"  sub-user without 'reports' right: {info.get('sub_user_without_reports_hash')}  (error 13)",
            f"  demo-mode user:   {info.get('demo_mode_user_hash')}  (delete answers 101)",
            f"  another user:     {info.get('other_user_hash')}  (its reports are not yours: 204)",
            f"  Russian user:     {info.get('russian_user_hash')}  (ru_RU, Asia/Yekaterinburg: reports in Russian)",
            f"  the documentation's example report {rid} is being generated now.",
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
    lines += ["", f"State written to {info.get('state_file', '.local/stack.json')}. Ctrl-C stops the stack.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet_reports.local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="API port (PORT)")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "0")))
    parser.add_argument("--no-demo", action="store_true", help="start empty, without the demo fleet")
    parser.add_argument("--state", type=Path, default=None, help="where to write stack.json")
    args = parser.parse_args(argv)

    root = find_root()
    t0 = time.monotonic()
    stack = start(port=args.port, moto_port=args.moto_port, root=root, demo=not args.no_demo)
    state = args.state or root / ".local" / "stack.json"
    stack.info["started_in_s"] = round(time.monotonic() - t0, 2)
    stack.info["state_file"] = str(state)
    write_state(stack, state)
    print(banner(stack.info), flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    stack.stop()
    state.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
