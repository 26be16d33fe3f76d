"""The local stack: moto's server, the template's resources, the gateway, the pollers, the demo fleet.

Everything listens on 127.0.0.1 only. moto's server runs in a process of its own
(:mod:`fleet_reports.local.motoproc`), so the store calls of reports being computed never wait
on the API's interpreter lock, nor the API's answers on theirs. Resources are created from template.yaml's own
properties, so local and deployed cannot drift. A function's ``S3`` event (the importer on
``incoming/``) becomes a notification of the bucket to a local-only queue, which a poller feeds
to the function as S3 would invoke it.

Given a state folder, the stack keeps its tables and buckets there across restarts
(:mod:`fleet_reports.local.persist`): restored before the gateway accepts a request, saved
every ``save_every_s`` seconds when something changed, and when it stops.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from fleet_reports.local.gateway import Gateway, Handler
from fleet_reports.local.motoproc import MotoProcess
from fleet_reports.local.persist import Counts, Restored, StateFolder
from fleet_reports.local.poller import QueuePoller, S3EventPoller
from fleet_reports.local.procpool import WorkerPool

REGION = "us-east-1"
IMPORT_PREFIX = "incoming/"
SAVE_EVERY_S = 30.0
RESUMED_REASON = "the local stack stopped while the report was being generated; it is generated again"
log = logging.getLogger("fleet_reports.local")


def find_root(start: Path | None = None) -> Path:
    """The project folder: the nearest parent holding template.yaml."""
    for folder in [(start or Path.cwd()).resolve(), *(start or Path.cwd()).resolve().parents]:
        if (folder / "template.yaml").is_file():
            return folder
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "template.yaml").is_file():
            return folder
    raise FileNotFoundError("template.yaml not found: run from the project folder")


def load_handler(root: Path, code_uri: str, handler: str, logical_id: str) -> Handler:
    module_name, func = handler.rsplit(".", 1)
    path = root / code_uri / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"lambda_{logical_id}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, func)  # type: ignore[no-any-return]


def _load_instance(root: Path, code_uri: str, handler: str, logical_id: str, n: int) -> Handler:
    loaded = load_handler(root, code_uri, handler, f"{logical_id}_{n}")
    freeze_heap()
    return loaded


def freeze_heap() -> None:
    """What the process holds now (modules, clients, the demo fleet) taken out of the garbage
    collector's way (``gc.freeze``): a full collection then walks only what came since, not the
    stack's tens of thousands of long-lived objects (a 70 - 90 ms stop of every API request each
    time, several times a minute under load). Called once started and after each new instance."""
    import gc

    gc.freeze()


@dataclass
class Stack:
    root: Path
    moto: MotoProcess
    gateway: Gateway
    pollers: list[QueuePoller]
    resources: Any
    env: dict[str, str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    demo: dict[str, Any] = field(default_factory=dict)
    """The demo fleet's hashes, trackers and example report (kept in the snapshot)."""
    state: StateFolder | None = None
    restored: Restored | None = None
    resumed_reports: list[int] = field(default_factory=list)
    pool: WorkerPool | None = None
    """The worker and importer processes, when the stack runs them out of process."""
    seed_since: float | None = None
    """When the example report was asked for (``time.monotonic()``), if it is being generated."""
    _saved_mark: int = field(default=-1, init=False)
    _stop_saving: threading.Event = field(default_factory=threading.Event, init=False)
    _saver: threading.Thread | None = field(default=None, init=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"

    def mark_saved(self) -> None:
        """Take the state as it is now for saved (the next save runs only after a change)."""
        self._saved_mark = self.moto.writes

    def save(self, *, force: bool = False) -> Counts | None:
        """Snapshot the state into the state folder if anything changed since the last save (or
        ``force``); what was saved, or None when nothing was (no folder, nothing changed)."""
        if self.state is None:
            return None
        mark = self.moto.writes
        if not force and mark == self._saved_mark:
            return None
        counts = self.state.save({"demo": self.demo})
        self._saved_mark = mark
        return counts

    def autosave(self, every_s: float = SAVE_EVERY_S) -> None:
        """Save every ``every_s`` seconds (when something changed), in a daemon thread."""
        if self.state is None or self._saver is not None:
            return

        def run() -> None:
            while not self._stop_saving.wait(every_s):
                try:
                    self.save()
                except Exception as exc:  # keep serving; the next tick tries again
                    log.warning("could not save the local stack's state to %s: %s", self.state_dir, exc)

        self._saver = threading.Thread(target=run, name="local-state-autosave", daemon=True)
        self._saver.start()

    @property
    def state_dir(self) -> Path | None:
        return self.state.folder if self.state is not None else None

    def stop(self) -> Counts | None:
        """Stop serving, save the state (when kept and changed), stop moto; what was saved."""
        for p in self.pollers:
            p.stop()
        if self.pool is not None:
            self.pool.stop()
        self.gateway.stop()
        try:
            self._stop_saving.set()
            if self._saver is not None:
                self._saver.join(timeout=60)
            return self.save()
        finally:
            if self.state is not None:
                self.state.unlock()
            self.moto.stop()


def aws_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


def start(
    *,
    port: int = 3000,
    moto_port: int = 0,
    root: Path | None = None,
    demo: bool = True,
    parameter_overrides: dict[str, str] | None = None,
    start_pollers: bool = True,
    state_dir: Path | None = None,
    fresh: bool = False,
    save_every_s: float | None = SAVE_EVERY_S,
    worker_processes: int = 0,
    durations: TextIO | None = None,
) -> Stack:
    """Start the stack. With ``state_dir``, the state kept there is restored (unless ``fresh``:
    then it is wiped) and saved again while the stack runs; the demo fleet is loaded on a start
    without a snapshot only. :meth:`Stack.stop` saves a last time.

    ``worker_processes``: 0 runs the queue-fed functions (worker, importer) in this process's
    poller threads; N > 0 runs N processes of each instead (:mod:`fleet_reports.local.procpool`),
    so jobs run side by side on the machine's cores and never hold the API's GIL.

    ``durations``: where the gateway writes each API invocation's duration (see :class:`Gateway`)."""
    from fleet_reports.local import resources as res
    from fleet_reports.store.aws import reset_clients

    root = root or find_root()
    moto = MotoProcess(moto_port)
    endpoint = moto.endpoint
    env = aws_environment(endpoint)
    os.environ.update(env)
    reset_clients()

    try:
        template = res.load_template(root / "template.yaml")
        resources = res.create_resources(template, parameter_overrides=parameter_overrides)
    except BaseException:
        moto.stop()
        raise
    state, restored = _open_state(state_dir, endpoint, resources, moto, fresh=fresh)
    specs = res.functions(template)
    _set_function_environment(env, template, specs, resources, endpoint)

    handlers = {lid: load_handler(root, s.code_uri, s.handler, lid) for lid, s in specs.items()}
    gateway = _start_gateway(root, specs, handlers, port, durations)
    pollers = _pollers(specs, resources, handlers)
    pool = None
    if start_pollers and worker_processes > 0:
        from fleet_reports.local.procpool import start_pool

        pool = start_pool(root, specs, pollers, worker_processes)
    elif start_pollers:
        for poller in pollers:
            poller.start()

    stack = Stack(
        root=root,
        moto=moto,
        gateway=gateway,
        pollers=pollers,
        resources=resources,
        env=env,
        handlers=handlers,
        state=state,
        restored=restored,
        pool=pool,
    )
    stack.info = _stack_info(stack.api_url, endpoint, resources)
    if state is not None:
        stack.info["state_dir"] = str(state.folder)
    if restored is not None and state is not None:
        _resume(stack, state, restored)
    elif demo:
        stack.seed_since = time.monotonic()
        stack.demo = load_demo()
    stack.info.update(stack.demo)
    if save_every_s is not None:
        stack.autosave(save_every_s)
    freeze_heap()
    return stack


def _open_state(
    state_dir: Path | None, endpoint: str, resources: Any, moto: Any, *, fresh: bool
) -> tuple[StateFolder | None, Restored | None]:
    """The state folder locked, and wiped (``fresh``) or restored into moto when it holds a
    snapshot; (None, None) without a folder. On failure the folder is unlocked, moto stopped."""
    if state_dir is None:
        return None, None
    state = StateFolder(state_dir, endpoint, REGION)
    restored: Restored | None = None
    try:
        state.lock()
        if fresh:
            state.wipe()
        elif state.exists():
            restored = state.restore(defer=pending_upload_rule(resources))
    except BaseException:
        state.unlock()
        moto.stop()
        raise
    return state, restored


def _set_function_environment(
    env: dict[str, str], template: Any, specs: dict[str, Any], resources: Any, endpoint: str
) -> None:
    """Every function's environment from the template (the AWS endpoint kept local), into
    ``env`` and this process's environment; the settings are read again."""
    from fleet_reports.local import resources as res
    from fleet_reports.settings import get_settings

    for logical_id in specs:
        env.update(res.function_environment(template, logical_id, resources))
    env.update(aws_environment(endpoint))
    os.environ.update(env)
    get_settings.cache_clear()


API_INSTANCES = 4
"""Warm instances per API function on the local stack: as many invocations of one function at once."""


def _start_gateway(
    root: Path, specs: dict[str, Any], handlers: dict[str, Handler], port: int, durations: TextIO | None = None
) -> Gateway:
    """The API gateway on ``port``, routing each function's API events to its handler; a function
    asked again while busy gets another instance (its handler module loaded afresh), as Lambda
    starts another, up to :data:`API_INSTANCES`."""
    routes: dict[tuple[str, str], tuple[str, Handler]] = {}
    loaders: dict[str, Callable[[int], Handler]] = {}
    for lid, s in specs.items():
        for method, path in s.api_routes:
            routes[(method.upper(), path)] = (lid, handlers[lid])
            loaders[lid] = functools.partial(_load_instance, root, s.code_uri, s.handler, lid)
    gateway = Gateway(routes, port=port, loaders=loaders, instances=API_INSTANCES, durations=durations)
    gateway.start()
    return gateway


def _pollers(specs: dict[str, Any], resources: Any, handlers: dict[str, Handler]) -> list[QueuePoller]:
    """The pollers (unstarted) that feed the functions their S3 and SQS events."""
    pollers: list[QueuePoller] = []
    pollers += connect_s3_events(specs, resources, handlers)
    for lid, s in specs.items():
        for queue, batch_size in s.sqs_events:
            poller = QueuePoller(
                resources.names[queue],
                resources.arns[queue],
                handlers[lid],
                function_name=lid,
                batch_size=batch_size or 5,
                dead_letter_source_arn=dead_letter_source(resources.names[queue]),
            )
            pollers.append(poller)
    return pollers


def dead_letter_source(queue_url: str) -> str | None:
    """The ARN of the queue whose redrive policy sends its failed messages to this one, if any:
    Lambda gives each record of a dead-letter queue that ARN (``DeadLetterQueueSourceArn``)."""
    import boto3

    sqs = boto3.client("sqs")
    sources = sqs.list_dead_letter_source_queues(QueueUrl=queue_url).get("queueUrls", [])
    if not sources:
        return None
    arn = sqs.get_queue_attributes(QueueUrl=sources[0], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(arn)


def _stack_info(api_url: str, endpoint: str, resources: Any) -> dict[str, Any]:
    """Where the stack's API and resources are (written to the state file for tests and tools)."""
    return {
        "api_url": api_url,
        "aws_endpoint_url": endpoint,
        "region": REGION,
        "data_bucket": resources.names["TrackBucket"],
        "track_bucket": resources.names["TrackBucket"],
        "reports_bucket": resources.names["ReportsBucket"],
        "reports_table": resources.names["ReportsTable"],
        "fleet_table": resources.names["FleetTable"],
        "jobs_queue_url": resources.names["ReportJobsQueue"],
        "dlq_url": resources.names["ReportJobsDLQ"],
        "import_prefix": IMPORT_PREFIX,
        "import_dlq_url": resources.names["ImportDLQ"],
    }


def _resume(stack: Stack, state: StateFolder, restored: Restored) -> None:
    """After a restore: unfinished work goes on, pending uploads are put again, and the demo's
    example report is found (or generated again) if the demo owner is still in the fleet."""
    stack.mark_saved()  # what was just restored is what the folder holds
    stack.resumed_reports = resume_unfinished_work(stack.resources)
    state.put_objects(restored.deferred)  # uploads not imported yet: the importer listens now
    stack.demo = dict(restored.notes.get("demo") or {})
    if not stack.demo:
        return
    from fleet_reports.errors import ApiError

    try:
        seed, generated = ensure_seed_report(stack.demo["demo_hash"], stack.demo.get("seed_report_id"))
    except ApiError:  # the demo owner was removed from the fleet: no demo to show
        stack.demo = {}
        return
    stack.demo["seed_report_id"] = seed
    if generated or seed in stack.resumed_reports:
        stack.seed_since = time.monotonic()


def pending_upload_rule(resources: Any) -> Any:
    """Which restored objects wait until the importer listens: uploads without an outcome yet."""
    from fleet_reports.store.imports import outcome_object_key

    bucket = resources.names["TrackBucket"]

    def pending(where: str, key: str, keys: frozenset[str]) -> bool:
        if where != bucket or not key.startswith(IMPORT_PREFIX) or key.endswith("/"):
            return False
        tracker_part, _, name = key.removeprefix(IMPORT_PREFIX).partition("/")
        return outcome_object_key(tracker_part, name or "_") not in keys

    return pending


def resume_unfinished_work(resources: Any) -> list[int]:
    """After a restore, what was in flight when the state was saved goes on; the reports re-queued.

    Reports ``queued`` or ``running`` lost their job message with the old process (SQS is not
    kept): a running one is given back (:func:`fleet_reports.store.reports.release`), and each
    gets its job again, with its id unchanged. Imports that held their ledger entry are
    abandoned (lease over), so their upload, put again, is imported at once.
    """
    import boto3
    from boto3.dynamodb.conditions import Attr

    from fleet_reports.store import queue
    from fleet_reports.store import reports as report_store
    from fleet_reports.store.imports import LEDGER_PREFIX

    dynamodb = boto3.resource("dynamodb")
    unfinished = _scan(
        dynamodb.Table(resources.names["ReportsTable"]),
        Attr("sk").begins_with("REPORT#") & Attr("state").is_in(list(report_store.ACTIVE_STATES)),
    )
    resumed: list[int] = []
    for item in sorted(unfinished, key=lambda i: int(i["id"])):
        pool, report_id = int(item["pool"]), int(item["id"])
        if item.get("state") == "running" and item.get("claim"):
            report_store.release(pool, report_id, str(item["claim"]), RESUMED_REASON)
        queue.send_job(json.dumps({"pool": pool, "report_id": report_id}))
        resumed.append(report_id)
    fleet = dynamodb.Table(resources.names["FleetTable"])
    for item in _scan(fleet, Attr("pk").begins_with(LEDGER_PREFIX) & Attr("state").eq("running")):
        with contextlib.suppress(fleet.meta.client.exceptions.ConditionalCheckFailedException):  # finished
            fleet.update_item(
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET lease_until = :over",
                ConditionExpression="#st = :running",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={":over": 0, ":running": "running"},
            )
    return resumed


def _scan(table: Any, condition: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"FilterExpression": condition, "ConsistentRead": True}
    while True:
        resp = table.scan(**kwargs)
        out.extend(resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def connect_s3_events(specs: dict[str, Any], resources: Any, handlers: dict[str, Handler]) -> list[QueuePoller]:
    """Each function's ``S3`` events: a local queue, the bucket's notification to it, a poller.

    On AWS the bucket invokes the function; moto cannot run a Lambda without Docker, but it does
    send real S3 event notifications to SQS, so the notification goes to a local-only queue and
    :class:`S3EventPoller` invokes the handler with each event (retries, then the function's
    dead-letter queue, as Lambda does). Pollers are returned unstarted.
    """
    import boto3

    from fleet_reports.local.resources import physical_name

    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    configs: dict[str, list[dict[str, Any]]] = {}
    pollers: list[QueuePoller] = []
    for lid, spec in specs.items():
        for n, event in enumerate(spec.s3_events):
            name = physical_name(resources.stack_name, f"{lid}S3Events{n or ''}")
            url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            config: dict[str, Any] = {"Id": f"{lid}-{n}", "QueueArn": arn, "Events": list(event.events)}
            if event.notification_filter():
                config["Filter"] = event.notification_filter()
            configs.setdefault(resources.names[event.bucket], []).append(config)
            dlq = resources.names.get(spec.dead_letter_queue) if spec.dead_letter_queue else None
            pollers.append(S3EventPoller(url, arn, handlers[lid], function_name=lid, dead_letter_queue_url=dlq))
    for bucket, queue_configs in configs.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": queue_configs},  # type: ignore[typeddict-item]
        )
    return pollers


def load_demo() -> dict[str, Any]:
    """Load the demo fleet and generate the documentation's example report (id 1234567)."""
    from fleet_reports import demo
    from fleet_reports.store import reports as report_store

    access = demo.load_fleet()
    fixes = demo.load_tracks(datetime.now(UTC).date())
    report_store.ensure_id_floor(demo.SEED_REPORT_ID - 1)
    seed_id, _ = ensure_seed_report(access.owner_hash, demo.SEED_REPORT_ID)
    return {
        "demo_hash": access.owner_hash,
        "demo_login": access.owner_login,
        "demo_password": access.owner_password,
        "sub_user_without_reports_hash": access.no_reports_right_hash,
        "demo_mode_user_hash": access.demo_mode_hash,
        "other_user_hash": access.other_user_hash,
        "russian_user_hash": access.russian_user_hash,
        "demo_trackers": list(access.tracker_ids),
        "demo_fixes": fixes,
        "seed_report_id": seed_id,
    }


def ensure_seed_report(owner_hash: str, report_id: int | None) -> tuple[int, bool]:
    """The example report: ``report_id`` if the owner still has it, else a new one of the
    documentation's example; (its id, whether it was generated now)."""
    from fleet_reports.service import auth, reports
    from fleet_reports.service.models import GenerateParams
    from fleet_reports.store import reports as report_store

    principal = auth.authenticate(owner_hash)
    if report_id is not None and report_store.get_report(principal.pool, int(report_id)) is not None:
        return int(report_id), False
    return reports.generate(principal, GenerateParams.model_validate(SEED_GENERATE)), True


def report_status(owner_hash: str, report_id: int) -> dict[str, Any] | None:
    """``status`` of a report as its owner sees it (percent_ready, state, error); None if gone."""
    from fleet_reports.errors import ApiError
    from fleet_reports.service import auth, reports

    try:
        return reports.status(auth.authenticate(owner_hash), report_id)
    except ApiError:
        return None


# The documentation's generate example, verbatim.
SEED_GENERATE: dict[str, Any] = {
    "title": "Trip report",
    "trackers": [669673],
    "from": "2020-10-05 00:00:00",
    "to": "2020-10-06 23:59:59",
    "time_filter": {"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
    "plugin": {
        "hide_empty_tabs": True,
        "plugin_id": 4,
        "show_seconds": False,
        "include_summary_sheet_only": False,
        "split": True,
        "show_idle_duration": False,
        "show_coordinates": False,
        "filter": True,
        "group_by_driver": False,
    },
}


def write_state(stack: Stack, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stack.info, indent=2) + "\n")
