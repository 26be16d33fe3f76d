"""The local stack: moto's server, the template's resources, the gateway, the poller, the demo fleet.

Everything listens on 127.0.0.1 only. Resources are created from template.yaml's own
properties, so local and deployed cannot drift.
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
from fleet_reports.local.poller import QueuePoller

REGION = "us-east-1"


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

    pollers = []
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
    }
    if demo:
        stack.info.update(load_demo())
    return stack


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
