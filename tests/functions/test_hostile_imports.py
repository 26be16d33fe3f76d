"""Hostile uploads through the real import handler, on moto (issue #18, imports).

Each upload is refused with a clear, permanent outcome (the handler returns: Lambda does not
retry it into the dead-letter queue) or bounded, and a good file imported after it still lands.
A transient failure is raised (Lambda retries) and its outcome says so, in plain words. Time and
memory are measured by bench/bench_hostile_imports.py.
"""

from __future__ import annotations

import threading
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import boto3
import numpy as np
import pytest

from fleet_reports.engine.model import Track
from fleet_reports.ingest.fixes import MAX_SENSOR_COLUMNS
from fleet_reports.store import tracks

from tests.support.lambdas import Lambdas
from tests.support.moto_server import moto_server_with_resources

TRACKER = 669673
DAY = date(2021, 3, 10)
T0 = int(datetime(2021, 3, 10, 6, tzinfo=UTC).timestamp())
PYTHON_TEXT = ("Traceback", 'File "', "Error", "Exception", "errno")


def good_csv(start_s: int = T0, n: int = 3) -> bytes:
    rows = "".join(f"{start_s + 60 * i},{55.5 + i / 1000:.4f},37.1,10\n" for i in range(n))
    return f"time,lat,lng,speed\n{rows}".encode()


class Imports:
    """Files put in the track bucket's incoming/ and the import function invoked as S3 invokes it."""

    def __init__(self, lambdas: Lambdas) -> None:
        self.lambdas = lambdas
        self.bucket = lambdas.resources.names["TrackBucket"]

    def run(self, name: str, data: bytes, **env: str) -> dict[str, Any]:
        """The outcome of importing ``data`` (the handler returned: nothing for Lambda to retry)."""
        key = f"incoming/{TRACKER}/{name}"
        boto3.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        record = {"s3": {"bucket": {"name": self.bucket}, "object": {"key": key, "size": len(data)}}}
        result = self.lambdas.invoke("ImportFunction", {"Records": [record]}, **env)
        (summary,) = result["imports"]
        return self.outcome(name) | {"summary": summary}

    def outcome(self, name: str) -> dict[str, Any]:
        import json

        body = boto3.client("s3").get_object(Bucket=self.bucket, Key=f"outcomes/{TRACKER}/{name}.json")["Body"]
        found: dict[str, Any] = json.loads(body.read())
        return found

    def day(self) -> Track | None:
        return tracks.read_day(TRACKER, DAY, bucket=self.bucket)

    def good_file_lands(self) -> None:
        """A good file imported now is done, and its fixes are in the day."""
        outcome = self.run(f"good-{datetime.now(UTC).timestamp()}.csv", good_csv(T0 + 7200))
        assert outcome["state"] == "done", outcome
        day = self.day()
        assert day is not None and {(T0 + 7200 + 60 * i) * 1000 for i in range(3)} <= set(day.t.tolist())


@pytest.fixture
def imports(lambdas: Lambdas) -> Imports:
    from fleet_reports import demo as demo_fleet

    lambdas.use_env("WorkerFunction")
    demo_fleet.load_fleet()
    return Imports(lambdas)


def plain_words(text: str) -> bool:
    return not any(mark in text for mark in PYTHON_TEXT)


# ----------------------------------------------------------------------------- 1. nesting
@pytest.mark.parametrize("depth", [1_000, 20_000])
def test_a_deeply_nested_ndjson_line_is_one_rejected_row(imports: Imports, depth: int) -> None:
    # Given NDJSON whose second line nests a field `depth` levels deep (20,000 crashed the process)
    line = '{"time": %d, "lat": 55.5, "lng": 37.1%s}\n'
    data = (line % (T0, "") + line % (T0 + 60, ', "x": ' + "[" * depth + "]" * depth) + line % (T0 + 120, "")).encode()

    # When S3 invokes the import for it
    outcome = imports.run("deep.ndjson", data)

    # Then it is done: line 2 rejected, unread, saying why; the two good lines are stored
    assert outcome["state"] == "done" and outcome["accepted"] == 2, outcome
    assert outcome["rejections"] == [{"line": 2, "reason": "the line is nested more than 32 levels deep"}]
    day = imports.day()
    assert day is not None and day.t.tolist() == [T0 * 1000, (T0 + 120) * 1000]


# ----------------------------------------------------------------------------- 2. gzip bombs
def test_a_gzip_bomb_is_refused_for_good_and_a_good_file_lands_after_it(imports: Imports) -> None:
    # Given a .csv.gz of about 1 MiB that inflates to 1 GiB of zeros (16 members of 64 MiB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = (deflater.compress(b"\0" * (64 << 20)) + deflater.flush()) * 16

    # When S3 invokes the import for it
    outcome = imports.run("bomb.csv.gz", bomb)

    # Then it failed for good (the handler returned), saying it is too large once decompressed
    assert outcome["state"] == "failed" and "when decompressed" in outcome["error"], outcome
    assert plain_words(outcome["error"])
    assert imports.day() is None
    # And a good file imported next lands
    imports.good_file_lands()


# ----------------------------------------------------------------------------- 6. too large to read
def test_an_upload_over_the_limit_is_refused_from_its_size_unread(imports: Imports) -> None:
    # Given a function of 256 MB (so the import reads 16 MiB at most) and a plain CSV of 17 MiB
    rows = good_csv(n=1).split(b"\n", 1)[1]
    big = b"time,lat,lng,speed\n" + rows * ((17 << 20) // len(rows))

    # When S3 invokes the import for it
    outcome = imports.run("big.csv", big, AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256")

    # Then it failed for good naming the limit, from the object's size: the body was never read
    assert outcome["state"] == "failed", outcome
    assert "at most 16.0 MiB" in outcome["error"] and "split it" in outcome["error"], outcome
    assert outcome["size"] == len(big) and outcome["sha256"] == ""
    assert imports.day() is None
    # And a good file imported next lands
    imports.good_file_lands()


# ----------------------------------------------------------------------------- 3. columns
def test_a_csv_with_thousands_of_columns_is_capped_and_the_day_stays_usable(imports: Imports) -> None:
    # Given a CSV with 12,000 sensor columns, the tracker's declared `power` the last of them
    names = [f"{i:x}" for i in range(11_999)] + ["power"]
    header = "time,lat,lng," + ",".join(names)
    data = "".join(
        [header + "\n", *(f"{T0 + 60 * i},55.5,37.1," + ",".join(["1"] * 12_000) + "\n" for i in range(2))]
    ).encode()

    # When S3 invokes the import for it
    outcome = imports.run("wide.csv", data)

    # Then its rows land with at most MAX_SENSOR_COLUMNS sensor columns, the declared one among them
    assert outcome["state"] == "done" and outcome["accepted"] == 2, outcome
    day = imports.day()
    assert day is not None and len(day.sensors) <= MAX_SENSOR_COLUMNS and "power" in day.sensors
    # And the outcome names what was left out (the first 100, in file order) and says why
    kept = len(day.sensors)
    assert outcome["ignored_columns"] == [f"{i:x}" for i in range(kept - 1, kept + 99)]
    assert outcome["notes"] == [
        f"{12_000 - kept:,} sensor columns were not imported: a file brings at most"
        f" {MAX_SENSOR_COLUMNS} (the tracker's declared sensors first, then in file order)"
    ]
    # And a good file imported into the same day next lands
    imports.good_file_lands()


# ----------------------------------------------------------------------------- 4. permanent is permanent
@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (RecursionError("maximum recursion depth exceeded while decoding a JSON array"), "nested too deeply"),
        (MemoryError(), "too large to read"),
        (ValueError("could not convert string to float: 'x'"), "could not be read"),
    ],
)
def test_whatever_the_parser_raises_is_a_permanent_outcome_in_plain_words(
    imports: Imports, monkeypatch: pytest.MonkeyPatch, raised: Exception, words: str
) -> None:
    # Given a parser that fails on a file in a way it did not foresee
    from fleet_reports import ingest

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise raised

    monkeypatch.setattr(ingest, "parse_fixes", failing)

    # When S3 invokes the import of a file
    outcome = imports.run("odd.csv", good_csv())

    # Then it failed for good (the handler returned: no retry, no dead-letter queue), in plain words
    assert outcome["state"] == "failed" and words in outcome["error"], outcome
    assert plain_words(outcome["error"]), outcome["error"]
    # And a good file, once the parser reads it, lands
    monkeypatch.undo()
    imports.good_file_lands()


def test_a_transient_failure_is_retried_and_its_outcome_says_so_in_plain_words(
    imports: Imports, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a track store that fails every merge
    from fleet_reports.entry import ImportFailed
    from fleet_reports.store.errors import StoreError

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("track put tracks/...: An error occurred (InternalError) when calling the PutObject")

    monkeypatch.setattr(tracks, "merge_day", failing)

    # When S3 invokes the import of a good file
    # Then the invocation raises, so that Lambda retries it
    with pytest.raises(ImportFailed):
        imports.run("later.csv", good_csv())

    # And the outcome says the import will be retried, without the store's exception text
    outcome = imports.outcome("later.csv")
    assert outcome["state"] == "failed" and "will be retried" in outcome["error"], outcome
    assert "the track store did not answer" in outcome["error"] and plain_words(outcome["error"])


# ----------------------------------------------------------------------------- 5. contention, on moto's server
@pytest.fixture
def moto_server(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's server on 127.0.0.1 with the template's resources, as the local stack runs it."""
    with moto_server_with_resources(template, monkeypatch, prefix=f"contention-{uuid.uuid4().hex[:8]}") as resources:
        yield resources


@pytest.mark.parametrize("take_turns", [False, True], ids=["as-processes", "in-one-process"])
def test_48_concurrent_merges_into_one_day_all_land(
    moto_server: Any, monkeypatch: pytest.MonkeyPatch, take_turns: bool
) -> None:
    # Given 48 parts of one day, every part a different set of times; the merging threads racing
    # as separate processes (Lambda instances) would, or taking turns as threads of one process do
    from fleet_reports.demo import demo_track

    monkeypatch.setattr(tracks, "TAKE_TURNS", take_turns)

    bucket = moto_server.names["TrackBucket"]
    whole = demo_track(TRACKER, DAY)
    whole = whole.take(np.arange(min(len(whole), 48 * 250)))
    parts = [whole.take(np.arange(n, len(whole), 48)) for n in range(48)]

    # When the 48 merges start at the same moment, in 48 threads
    start = threading.Barrier(len(parts))
    results: dict[int, tracks.MergeResult] = {}
    errors: list[BaseException] = []

    def merge(n: int) -> None:
        start.wait()
        try:
            results[n] = tracks.merge_day(TRACKER, DAY, parts[n], bucket=bucket)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(n,)) for n in range(len(parts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then none gave up, and the day holds every fix of every part exactly once
    assert errors == [] and len(results) == 48
    stored = tracks.read_day(TRACKER, DAY, bucket=bucket)
    assert stored is not None and np.array_equal(stored.t, whole.t)
    assert sum(r.added for r in results.values()) == len(whole)
    # And racing, they did contend (conditional writes turned losers away and they merged again);
    # taking turns, none lost a race
    retried = sum(r.attempts - 1 for r in results.values())
    assert retried >= 1 if not take_turns else retried == 0
