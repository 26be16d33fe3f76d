"""``fleet-reports``: the operator's command line.

It works on the local stack that ``make run`` started (found through ``.local/stack.json``) or
on a deployed stack (``--stack NAME``, through the standard AWS configuration: profile, region,
credentials), and runs the same service code as the Lambdas.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fleet_reports.cli import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet-reports",
        description="Load fleets and tracks into a Fleet Reports deployment, locally or on AWS.",
        epilog="Without --stack, the CLI uses the local stack that `make run` started (.local/stack.json).",
    )
    parser.add_argument("--stack", help="a deployed CloudFormation stack's name (or FLEET_REPORTS_STACK)")
    parser.add_argument("--local", type=Path, metavar="STATE", help="a local stack's state file (.local/stack.json)")
    parser.add_argument("--region", help="AWS region of --stack (default: the AWS configuration's)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("target", help="show which deployment the CLI works on")
    p.set_defaults(func=commands.show_target)

    _manifest_commands(sub)
    fleet = sub.add_parser("fleet", help="the same manifest commands, grouped: fleet apply|validate|export")
    _manifest_commands(fleet.add_subparsers(dest="fleet_command", required=True, metavar="COMMAND"))

    p = sub.add_parser("import", help="upload track files (CSV, NDJSON, GPX, optionally .gz) and wait for the outcome")
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--tracker", type=int, required=True, help="the tracker the fixes belong to")
    p.add_argument("--events", action="store_true", help="the files are device events (NDJSON)")
    p.add_argument("--no-wait", action="store_true", help="upload only; read the outcome later with `imports`")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for each outcome (default 600)")
    p.set_defaults(func=commands.import_files)

    p = sub.add_parser("imports", help="list import outcomes, newest first")
    p.add_argument("--tracker", type=int, help="only this tracker's")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--rejections", action="store_true", help="also print the rejected rows")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=commands.list_imports)

    p = sub.add_parser("simulate", help="simulate the demo fleet's tracks into files or into the stack")
    p.add_argument("--from", dest="first", help="first UTC day (YYYY-MM-DD); default: --days before today")
    p.add_argument("--to", dest="last", help="last UTC day (YYYY-MM-DD); default: today")
    p.add_argument("--days", type=int, default=14, help="how many days up to --to (default 14)")
    p.add_argument("--tracker", type=int, action="append", dest="trackers", help="a demo tracker (default: all)")
    p.add_argument("--seed", type=int, default=1, help="the simulation's seed (same seed, same tracks)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", type=Path, help="write one file per tracker and day into this folder")
    out.add_argument("--into-stack", action="store_true", help="import into the target through incoming/")
    p.add_argument("--format", choices=("csv", "ndjson", "gpx"), default="csv")
    p.add_argument("--gzip", action="store_true", help="gzip the files")
    p.set_defaults(func=commands.simulate)

    p = sub.add_parser("demo-manifest", help="write the demo fleet as a manifest")
    p.add_argument("-o", "--output", type=Path, help="file (.yaml, .yml or .json); default: YAML on stdout")
    p.set_defaults(func=commands.demo_manifest, offline=True)

    p = sub.add_parser("convert", help="convert a third-party track file into the documented import formats")
    p.add_argument("--from", dest="kind", help="the source format (see --list)")
    p.add_argument("file", type=Path, nargs="?")
    p.add_argument("outdir", type=Path, nargs="?")
    p.add_argument("--list", action="store_true", help="list the source formats")
    p.set_defaults(func=commands.convert, offline=True)
    return parser


def _manifest_commands(sub: Any) -> None:
    p = sub.add_parser("validate", help="check a fleet manifest (offline)")
    p.add_argument("file", type=Path)
    p.set_defaults(func=commands.validate, offline=True)

    p = sub.add_parser("apply", help="apply a fleet manifest (JSON or YAML), idempotently")
    p.add_argument("file", type=Path)
    p.add_argument("--prune", action="store_true", help="also remove the manifest users' entities it does not list")
    p.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    p.set_defaults(func=commands.apply)

    p = sub.add_parser("export", help="write what the store holds for some users as a manifest")
    p.add_argument("--user", type=int, action="append", required=True, dest="users", help="a user id (repeatable)")
    p.add_argument("-o", "--output", type=Path, help="file (.yaml, .yml or .json); default: YAML on stdout")
    p.set_defaults(func=commands.export)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except commands.CliError as exc:
        print(f"fleet-reports: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fleet-reports: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback: one line that says what failed
        print(f"fleet-reports: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
