"""The local stack's worker pool: queue-consuming functions run in processes of their own, as
Lambda runs each concurrent invocation in its own sandbox.

In-process pollers (the default, and what the tests use) share one interpreter with moto's
server and the API gateway: a report being computed holds the GIL that the API's requests need,
and two jobs never use two cores. With ``worker_processes=N`` the stack instead starts, for each
function fed by a queue (the worker: its jobs and their dead-letter queue; the importer: its S3
events), N child processes that each run that function's pollers against the same moto server
(its endpoint and every function's variables are in the environment they inherit). moto's guards
(:mod:`fleet_reports.local.moto_guards`) live in the server, so they hold for every process.

The child is ``python -m fleet_reports.local.procpool <json>``; it stops when its parent goes
away (its stdin closes) or on SIGTERM.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fleet_reports.local import children
from fleet_reports.local.poller import QueuePoller, S3EventPoller

log = logging.getLogger("fleet_reports.local.procpool")

NICENESS = 10  # the pool's CPU priority below the stack's (os.nice)


@dataclass(frozen=True)
class PollerConfig:
    """What a child needs to rebuild one poller of the parent's."""

    kind: str  # "sqs" or "s3"
    queue_url: str
    queue_arn: str
    function_name: str
    batch_size: int
    dead_letter_source_arn: str | None = None
    dead_letter_queue_url: str | None = None

    @staticmethod
    def of(poller: QueuePoller) -> PollerConfig:
        if isinstance(poller, S3EventPoller):
            return PollerConfig(
                "s3",
                poller.queue_url,
                poller.queue_arn,
                poller.function_name,
                poller.batch_size,
                dead_letter_queue_url=poller.dead_letter_queue_url,
            )
        return PollerConfig(
            "sqs",
            poller.queue_url,
            poller.queue_arn,
            poller.function_name,
            poller.batch_size,
            dead_letter_source_arn=poller.dead_letter_source_arn,
        )


@dataclass(frozen=True)
class ChildSpec:
    root: str
    code_uri: str
    handler: str
    pollers: tuple[PollerConfig, ...]


class WorkerPool:
    """The child processes running the queue-consuming functions."""

    def __init__(self, children: list[subprocess.Popen[bytes]]) -> None:
        self.children = children

    def stop(self, timeout_s: float = 10) -> None:
        children.stop(self.children, timeout_s)


def start_pool(root: Path, specs: dict[str, Any], pollers: list[QueuePoller], processes: int) -> WorkerPool:
    """``processes`` children for each function among ``pollers``, each running all of that
    function's pollers (its queue and its dead-letter queue, or its S3 events)."""
    by_function: dict[str, list[PollerConfig]] = {}
    for p in pollers:
        by_function.setdefault(p.function_name, []).append(PollerConfig.of(p))
    children: list[subprocess.Popen[bytes]] = []
    for function, configs in by_function.items():
        spec = specs[function]
        child = ChildSpec(str(root), spec.code_uri, spec.handler, tuple(configs))
        payload = json.dumps(asdict(child))
        for _ in range(processes):
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "fleet_reports.local.procpool", payload],
                    stdin=subprocess.PIPE,
                    env=dict(os.environ),
                )
            )
    return WorkerPool(children)


def _child(payload: str) -> None:
    from fleet_reports.local.stack import load_handler

    # On AWS the API and the workers never share a CPU; here they do: the workers yield to the
    # API (and to moto's server, which serves everyone), so a report being computed slows no answer
    os.nice(NICENESS)
    spec = json.loads(payload)
    configs = [PollerConfig(**c) for c in spec["pollers"]]
    function = configs[0].function_name
    handler = load_handler(Path(spec["root"]), spec["code_uri"], spec["handler"], function)
    running: list[QueuePoller] = []
    for c in configs:
        poller: QueuePoller
        if c.kind == "s3":
            poller = S3EventPoller(
                c.queue_url, c.queue_arn, handler, function_name=function, dead_letter_queue_url=c.dead_letter_queue_url
            )
        else:
            poller = QueuePoller(
                c.queue_url,
                c.queue_arn,
                handler,
                function_name=function,
                batch_size=c.batch_size,
                dead_letter_source_arn=c.dead_letter_source_arn,
            )
        poller.start()
        running.append(poller)
    children.ended_by_parent().wait()
    for poller in running:
        poller.stop()


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    _child(sys.argv[1])
