"""What ``/user/auth`` tells a guesser, and what ``list`` costs for a full page of reports.

Run: .venv/bin/python bench/bench_auth.py [--calls 60] [--reports N]

Starts the local stack in-process (moto server over loopback, the demo fleet, no saved state,
the sign-in attempt limits lifted so that the bench itself is never refused), then:

* calls the auth handler in-process (as the gateway calls it, without HTTP) ``--calls`` times
  each with an unknown login and with the demo owner's login and a wrong password, interleaved,
  each from an address of its own; the first 10% are left out (warm-up). Prints p50 and p99 of
  both and their difference: a guesser must not learn which logins exist from the time;
* stores ``--reports`` reports (default: one more than a page, ``service.models.LIST_PAGE_SIZE``,
  each with ``--trackers`` trackers and a 256-character title) in a fresh pool and times the list
  handler on it (``--list-calls`` calls), with the size of its answer against Lambda's 6 MB
  response limit. On the local stack the time is mostly moto's (it evaluates each item's
  projection in Python); DynamoDB reads a page in a few 1 MB query pages.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support.done_reports

from fleet_reports.local.gateway import LambdaContext, api_event
from fleet_reports.local.stack import start

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
LIFTED = {"LoginAttemptLimit": "1000000", "AddressAttemptLimit": "1000000", "CallerRateLimit": "10000"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--reports", type=int, default=0, help="reports in the listed pool (default: a page and one)")
    parser.add_argument("--trackers", type=int, default=1, help="trackers of each listed report")
    parser.add_argument("--list-calls", type=int, default=5)
    args = parser.parse_args()

    from fleet_reports.demo import ACCESS

    stack = start(port=0, state_dir=None, save_every_s=None, parameter_overrides=LIFTED)
    try:
        auth = stack.handlers["AuthFunction"]
        sequence = iter(range(1, 1_000_000))

        def sign_in(login: str) -> Callable[[], float]:
            def once() -> float:
                address = f"10.{(n := next(sequence)) >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
                body = json.dumps({"login": login, "password": "not-the-password"}).encode()
                event = api_event("POST", "/user/auth", "", {"Content-Type": "application/json"}, body, address)
                t0 = time.perf_counter()
                answer = auth(event, LambdaContext("AuthFunction"))
                elapsed = time.perf_counter() - t0
                assert json.loads(answer["body"])["status"]["code"] == 102, answer
                return elapsed

            return once

        unknown_login, known_login = sign_in("nobody@fleet.example"), sign_in(ACCESS.owner_login)
        unknown: list[float] = []
        known: list[float] = []
        for _ in range(args.calls):
            unknown.append(unknown_login())
            known.append(known_login())
        warm = args.calls // 10
        unknown, known = unknown[warm:], known[warm:]
        print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
        print(f"/user/auth, wrong password, {len(known)} calls each (ms):")
        for name, times in (("unknown login", unknown), ("known login", known)):
            print(f"  {name:<14} p50 {percentile(times, 0.5) * 1e3:7.1f}   p99 {percentile(times, 0.99) * 1e3:7.1f}")
        print(
            f"  p50 difference (known - unknown): {(percentile(known, 0.5) - percentile(unknown, 0.5)) * 1e3:+.1f} ms"
        )

        STACK.update(handlers=stack.handlers, reports_table=stack.resources.names["ReportsTable"])
        list_bench(args.reports, args.trackers, args.list_calls)
    finally:
        stack.stop()
    return 0


def list_bench(reports: int, trackers: int, calls: int) -> None:
    """``reports`` reports in a pool of their own (the user ``LIST_USER``); the list handler's time
    and its answer's size, first page and the page after it."""
    from fleet_reports.service.models import LIST_PAGE_SIZE

    reports = reports or LIST_PAGE_SIZE + 1
    secret = put_pool(reports, trackers)
    handler = STACK["handlers"]["ListFunction"]
    times: list[float] = []
    size = count = 0
    cursor = None
    for _ in range(calls):
        event = api_event("GET", "/report/tracker/list", f"hash={secret}", {}, b"", "127.0.0.1")
        t0 = time.perf_counter()
        answer = handler(event, LambdaContext("ListFunction"))
        times.append(time.perf_counter() - t0)
        assert answer["statusCode"] == 200, answer
        size = len(json.dumps(answer).encode())
        body = json.loads(answer["body"])
        count, cursor = len(body["list"]), body.get("next_before_id")
    print(f"list, a pool of {reports} reports of {trackers} tracker(s) and a 256-character title ({calls} calls):")
    print(f"  p50 {percentile(times, 0.5) * 1e3:.1f} ms   p99 {percentile(times, 0.99) * 1e3:.1f} ms")
    print(
        f"  first page: {count} reports, next_before_id {cursor}, {size:,} bytes as Lambda returns it"
        f" ({size / LAMBDA_RESPONSE_LIMIT:.1%} of the 6 MB response limit)"
    )


LIST_USER = 987_654


def put_pool(count: int, trackers: int) -> str:
    """``count`` done reports in the pool of a new user ``LIST_USER``; a session hash of it."""
    import secrets

    from fleet_reports.store import fleet
    from fleet_reports.store.records import CredentialRecord, UserRecord

    from tests.support.done_reports import put_done_reports

    fleet.put_user(UserRecord(user_id=LIST_USER, login="bench-list@fleet.example"))
    secret = secrets.token_hex(16)
    now = int(time.time())
    fleet.put_credential(secret, CredentialRecord(user_id=LIST_USER, kind="session", created=now, expires=now + 3600))
    put_done_reports(
        STACK["reports_table"], LIST_USER, count, first_tracker=10_000_000, trackers=trackers, title="T" * 256
    )
    return secret


STACK: dict[str, Any] = {}


if __name__ == "__main__":
    sys.exit(main())
