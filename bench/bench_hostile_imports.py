"""Hostile track uploads against the importer (issue #18, imports): time to the outcome and memory.

Run: .venv/bin/python bench/bench_hostile_imports.py [--skip-2gb] [--contenders 48]

Each hostile upload of the issue is put in the track bucket's ``incoming/`` on a moto server (a
process of its own, with the local stack's atomic conditional writes) and imported in this
process with ``service.imports.import_object``, as the import function does for its S3 event.
Per upload: the outcome (state, and the error or what was rejected or left out), the wall time
to it, and the rise of this process's peak resident memory (VmHWM, reset before each import) over
its resident memory just before: the function's baseline, its libraries loaded by a warm-up
import. Then a good file is imported into the same tracker-day and must be ``done``. The target
of the issue: every hostile upload refused or bounded within 1 s and 100 MB over the baseline.

Last, ``--contenders`` imports of different files into one tracker-day run at once, in as many
threads: all must be done and every fix stored (10 attempts of at most 1 s each once left some
behind). Their time is printed; their memory is that of as many concurrent imports, not a bound.

The limits are the template's memory (1769 MB: AWS_LAMBDA_FUNCTION_MEMORY_SIZE unset):
``ingest.source.max_text_bytes``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import_store import MOTO  # moto's server in its own process, with the local stack's guards

ROOT = Path(__file__).resolve().parents[1]
TRACKER = 669673
DAY = date(2021, 3, 10)
T0 = int(datetime(2021, 3, 10, 6, tzinfo=UTC).timestamp())
TARGET_S, TARGET_MB = 1.0, 100.0


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current RSS (Linux)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- the uploads
def good_csv(start_s: int, n: int = 60) -> bytes:
    rows = "".join(f"{start_s + 60 * i},{55.5 + i / 10_000:.5f},37.1,20\n" for i in range(n))
    return f"time,lat,lng,speed\n{rows}".encode()


def gz_stream(chunk: bytes, total: int) -> bytes:
    """``total`` bytes of ``chunk`` repeated, gzip'd as it is made (never held inflated)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    block = chunk * max(1, (8 << 20) // len(chunk))
    made = 0
    while made < total:
        piece = block[: total - made]
        out.append(deflater.compress(piece))
        made += len(piece)
    out.append(deflater.flush())
    return b"".join(out)


def deep_ndjson(depth: int) -> bytes:
    line = '{"time": %d, "lat": 55.5, "lng": 37.1%s}\n'
    nested = ', "x": ' + "[" * depth + "]" * depth
    return (line % (T0 - 600, "") + line % (T0 - 540, nested) + line % (T0 - 480, "")).encode()


def wide_csv(columns: int, short: bool) -> bytes:
    names = [f"{i:x}" if short else f"sensor{i}" for i in range(columns)]
    return ("time,lat,lng," + ",".join(names) + f"\n{T0 - 300},55.5,37.1," + ",".join(["1"] * columns) + "\n").encode()


def many_keys_ndjson(keys: int) -> bytes:
    return "".join(f'{{"time":{T0 - 3600 + i // 10},"lat":55.5,"lng":37.1,"k{i}":1}}\n' for i in range(keys)).encode()


def big_field_csv() -> bytes:
    return (
        b'time,lat,lng,\n%d,55.5,37.1,"two\nlines"\n%d,55.5,37.1,"' % (T0 - 900, T0 - 840)
        + b"x" * 200_000
        + b'"\n%d,55.6,37.1,\n' % (T0 - 780)
    )


class Stream:
    """A file-like of ``size`` bytes of CSV rows, made as it is read (a 2 GB upload never in memory)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0
        self.block = b"time,lat,lng\n" + b"2021-03-10T06:00:00Z,55.5,37.1\n" * 32_768

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.sent if n < 0 else min(n, self.size - self.sent)
        out = (self.block * (n // len(self.block) + 1))[:n]
        self.sent += n
        return out


# ----------------------------------------------------------------------------- the bench
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-2gb", action="store_true", help="leave out the 2 GB plain upload (slow to upload)")
    ap.add_argument("--contenders", type=int, default=48)
    args = ap.parse_args()
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-c", MOTO, str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert moto.stdout is not None and moto.stdout.readline().strip() == "ready"
    try:
        return run(args, port)
    finally:
        moto.terminate()
        moto.wait(timeout=10)


ROWS_1GB = (b"2021-03-10T06:00:00Z,55.5,37.1\n", 1_070_000_000)
CASES: list[tuple[str, str, Callable[[], Any]]] = [
    ("nested NDJSON line, depth 1,000", "deep-1000.ndjson", lambda: deep_ndjson(1_000)),
    ("nested NDJSON line, depth 20,000 (40 KB)", "deep-20000.ndjson", lambda: deep_ndjson(20_000)),
    ("gzip: 1.07 GB of valid rows", "rows-1gb.csv.gz", lambda: gz_stream(*ROWS_1GB)),
    ("gzip: 3 GiB of zeros", "zeros-3gib.csv.gz", lambda: gz_stream(b"\0" * 4096, 3 << 30)),
    ("gzip: 1.1 GB of zeros", "zeros-1gb.csv.gz", lambda: gz_stream(b"\0" * 4096, 1_100_000_000)),
    ("CSV, 20,000 sensor columns (140 KB header)", "columns-20000.csv", lambda: wide_csv(20_000, short=False)),
    ("CSV, 12,000 sensor columns (short names)", "columns-12000.csv", lambda: wide_csv(12_000, short=True)),
    ("NDJSON, 20,000 distinct keys (1 MB)", "keys-20000.ndjson", lambda: many_keys_ndjson(20_000)),
    ("CSV, a 200,000-character field", "field.csv", big_field_csv),
]
PLAIN_2GB = ("plain CSV of 2 GB", "plain-2gb.csv", lambda: Stream(2_000_000_000))


class Bench:
    """The bucket, the importer, and the measurements."""

    def __init__(self, bucket: str) -> None:
        import boto3

        self.bucket = bucket
        self.s3 = boto3.client("s3")
        self.goods = 0

    def put(self, name: str, body: Any) -> str:
        key = f"incoming/{TRACKER}/{name}"
        if isinstance(body, bytes):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        else:
            self.s3.upload_fileobj(body, self.bucket, key)
        return key

    def timed(self, key: str) -> tuple[Any, float, float]:
        """(outcome, seconds, peak RSS rise in MB) of importing ``key``."""
        from fleet_reports.service import imports

        gc.collect()
        base = status_mb("VmRSS")
        reset_peak()
        t = time.perf_counter()
        outcome = imports.import_object(self.bucket, key)
        return outcome, time.perf_counter() - t, status_mb("VmHWM") - base

    def good_after(self) -> tuple[str, float]:
        """A good file imported into the day: its state and time."""
        self.goods += 1
        outcome, seconds, _ = self.timed(self.put(f"good-{self.goods}.csv", good_csv(T0 + 3600 * (self.goods % 12))))
        return outcome.state, seconds

    def hostile(self, label: str, name: str, make: Callable[[], Any]) -> bool:
        body = make()
        size = len(body) if isinstance(body, bytes) else body.size
        key = self.put(name, body)
        del body
        outcome, seconds, rise = self.timed(key)
        state, good_s = self.good_after()
        within = seconds <= TARGET_S and rise <= TARGET_MB and state == "done"
        print(
            f"{label:46} {size / 1e6:>8.2f}MB {outcome.state:>8} {seconds:>7.2f} {rise:>8.1f}  "
            f"{state} {good_s:5.2f} s  {'OK' if within else 'MISSED'}  {detail(outcome)[:160]}"
        )
        return within

    def contention(self, n: int) -> bool:
        """``n`` imports of different parts of one day at once: all done, every fix stored."""
        import numpy as np

        from fleet_reports.demo import demo_track
        from fleet_reports.ingest import format_csv
        from fleet_reports.service import imports
        from fleet_reports.store import tracks

        whole = demo_track(TRACKER, DAY)
        keys = [self.put(f"part-{i}.csv", format_csv(whole.take(np.arange(i, len(whole), n)))) for i in range(n)]
        start = threading.Barrier(n)
        outcomes: dict[int, Any] = {}
        failures: list[str] = []

        def one(i: int) -> None:
            start.wait()
            try:
                outcomes[i] = imports.import_object(self.bucket, keys[i])
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        gc.collect()
        base = status_mb("VmRSS")
        reset_peak()
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        seconds, rise = time.perf_counter() - t, status_mb("VmHWM") - base
        stored = tracks.read_day(TRACKER, DAY, bucket=self.bucket)
        missing = len(set(whole.t.tolist()) - set(stored.t.tolist() if stored is not None else []))
        done = sum(o.state == "done" for o in outcomes.values())
        landed = done == n and not failures and missing == 0
        print(
            f"{n} concurrent imports into one day ({len(whole):,} fixes, about {len(whole) // n} each): {done} done,"
            f" {len(failures)} raised, {missing} fixes missing,"
            f" {sum(o.conflicts for o in outcomes.values())} merges retried; all outcomes in {seconds:.1f} s,"
            f" RSS +{rise:.0f} MB (all {n} at once)  {'OK' if landed else 'MISSED'}"
        )
        for f in failures[:3]:
            print(f"    {f[:200]}")
        return landed


def detail(outcome: Any) -> str:
    if outcome.state == "failed":
        return str(outcome.error or "")
    text = f"{outcome.accepted} rows in, {outcome.rejected_count} rejected"
    if outcome.notes:
        text += f"; {outcome.notes[0]}"
    if outcome.rejections:
        text += f"; line {outcome.rejections[0].line}: {outcome.rejections[0].reason}"
    return text


def run(args: argparse.Namespace, port: int) -> int:
    from fleet_reports.local.resources import create_resources, function_environment, load_template
    from fleet_reports.local.stack import aws_environment

    os.environ.update(aws_environment(f"http://127.0.0.1:{port}"))
    os.environ.pop("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", None)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"  # the merges' warnings would fill the output
    template = load_template(ROOT / "template.yaml")
    resources = create_resources(template, prefix="hostile")
    os.environ.update(function_environment(template, "WorkerFunction", resources))

    from fleet_reports import demo as demo_fleet
    from fleet_reports.ingest.source import MAX_DECOMPRESSED

    demo_fleet.load_fleet()
    bench = Bench(resources.names["TrackBucket"])
    print(f"limit: {MAX_DECOMPRESSED / (1 << 20):.1f} MiB of text (the template's 1769 MB)")
    bench.good_after()  # warm-up: the libraries loaded, as in a warm function
    bench.good_after()
    print(f"{'upload':46} {'sent':>10} {'outcome':>8} {'time s':>7} {'RSS +MB':>8}  then good file   detail")
    ok = True
    for case in [*CASES, *([] if args.skip_2gb else [PLAIN_2GB])]:
        ok &= bench.hostile(*case)
    ok &= bench.contention(args.contenders)
    print("all within the target" if ok else "some MISSED the target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
