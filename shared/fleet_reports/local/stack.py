"""The local stack: moto's server, the template's resources, the gateway, the pollers, the demo fleet.

Everything listens on 127.0.0.1 only. Resources are created from template.yaml's own
properties, so local and deployed cannot drift. A function's ``S3`` event (the importer on
``incoming/``) becomes a notification of the bucket to a local-only queue, which a poller feeds
to the function as S3 would invoke it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from fleet_reports.local.gateway import Gateway, Handler
from fleet_reports.local.poller import QueuePoller, S3EventPoller

REGION = "us-east-1"
IMPORT_PREFIX = "incoming/"


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


@dataclass
class Stack:
    root: Path
    moto: Any
    gateway: Gateway
    pollers: list[QueuePoller]
    resources: Any
    env: dict[str, str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"

    def stop(self) -> None:
        for p in self.pollers:
            p.stop()
        self.gateway.stop()
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
) -> Stack:
    import logging

    from moto.server import ThreadedMotoServer

    from fleet_reports.local import resources as res
    from fleet_reports.settings import get_settings
    from fleet_reports.store.aws import reset_clients

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    root = root or find_root()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    host, mport = moto.get_host_and_port()
    endpoint = f"http://{host}:{mport}"
    env = aws_environment(endpoint)
    os.environ.update(env)
    reset_clients()

    template = res.load_template(root / "template.yaml")
    resources = res.create_resources(template, parameter_overrides=parameter_overrides)
    specs = res.functions(template)
    for logical_id in specs:
        env.update(res.function_environment(template, logical_id, resources))
    env.update(aws_environment(endpoint))
    os.environ.update(env)
    get_settings.cache_clear()

    handlers = {lid: load_handler(root, s.code_uri, s.handler, lid) for lid, s in specs.items()}
    routes: dict[tuple[str, str], tuple[str, Handler]] = {}
    for lid, s in specs.items():
        for method, path in s.api_routes:
            routes[(method.upper(), path)] = (lid, handlers[lid])
    gateway = Gateway(routes, port=port)
    gateway.start()

    atomic_conditional_writes()
    pollers: list[QueuePoller] = []
    pollers += connect_s3_events(specs, resources, handlers)
    for lid, s in specs.items():
        if s.sqs_queue:
            poller = QueuePoller(
                resources.names[s.sqs_queue],
                resources.arns[s.sqs_queue],
                handlers[lid],
                function_name=lid,
                batch_size=s.batch_size or 5,
            )
            pollers.append(poller)
    if start_pollers:
        for poller in pollers:
            poller.start()

    stack = Stack(
        root=root, moto=moto, gateway=gateway, pollers=pollers, resources=resources, env=env, handlers=handlers
    )
    stack.info = {
        "api_url": stack.api_url,
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
    if demo:
        stack.info.update(load_demo())
    return stack


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


def atomic_conditional_writes() -> None:
    """Give moto's S3 PutObject the atomicity of real S3's conditional writes.

    Real S3 checks ``If-Match`` / ``If-None-Match`` and stores the object as one atomic step
    (a concurrent writer gets 412 PreconditionFailed or 409 ConditionalRequestConflict). moto 5
    checks, then writes, with no lock between: two threads that read the same ETag can both
    "succeed", and the store's optimistic concurrency (fleet_reports.store.tracks) would lose
    the first write - locally only. Serialising moto's PutObject handler restores S3's
    semantics; it changes nothing else. Idempotent; for the local stack, tests and benchmarks.
    """
    import threading

    from moto.s3.responses import S3Response

    if getattr(S3Response.put_object, "_fleet_reports_atomic", False):
        return
    original = S3Response.put_object
    lock = threading.Lock()

    def put_object(self: Any) -> Any:
        with lock:
            return original(self)

    put_object._fleet_reports_atomic = True  # type: ignore[attr-defined]
    S3Response.put_object = put_object  # type: ignore[method-assign]


def load_demo() -> dict[str, Any]:
    """Load the demo fleet and generate the documentation's example report (id 1234567)."""
    from fleet_reports.service import auth, demo, reports
    from fleet_reports.service.models import GenerateParams
    from fleet_reports.store import reports as report_store

    access = demo.load_fleet()
    fixes = demo.load_tracks(datetime.now(UTC).date())
    report_store.ensure_id_floor(demo.SEED_REPORT_ID - 1)
    principal = auth.authenticate(access.owner_hash)
    seed_id = None
    if not any(r["id"] == demo.SEED_REPORT_ID for r in report_store.list_reports(principal.pool)):
        params = GenerateParams.model_validate(SEED_GENERATE)
        seed_id = reports.generate(principal, params)
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
        "seed_report_id": seed_id or demo.SEED_REPORT_ID,
    }


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
