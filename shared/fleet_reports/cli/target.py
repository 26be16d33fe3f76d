"""Which deployment the CLI works on: the local stack (``.local/stack.json``) or an AWS stack.

The CLI runs the same service code as the Lambdas; a target only fills the environment that
the functions get from the template (table, bucket and queue names, and for the local stack
the moto endpoint and dummy credentials).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

STATE_FILE = Path(".local") / "stack.json"

# stack.json key -> environment variable
_LOCAL_ENV = {
    "reports_table": "REPORTS_TABLE",
    "fleet_table": "FLEET_TABLE",
    "reports_bucket": "REPORTS_BUCKET",
    "track_bucket": "TRACK_BUCKET",
    "jobs_queue_url": "JOBS_QUEUE_URL",
}


class TargetError(RuntimeError):
    """No usable target: the message says what to do."""


@dataclass(frozen=True)
class Target:
    kind: str  # "local" | "aws"
    name: str  # the state file or the stack name
    env: dict[str, str] = field(default_factory=dict)
    api_url: str = ""

    def describe(self) -> str:
        where = f"local stack ({self.name})" if self.kind == "local" else f"AWS stack {self.name}"
        return f"{where}: fleet table {self.env.get('FLEET_TABLE')}, track bucket {self.env.get('TRACK_BUCKET')}"

    def activate(self) -> None:
        """Point the service code (settings, boto3 clients) at this target."""
        from fleet_reports.settings import get_settings
        from fleet_reports.store.aws import reset_clients

        os.environ.update(self.env)
        get_settings.cache_clear()
        reset_clients()


def find_state(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STATE_FILE).is_file():
            return folder / STATE_FILE
    return None


def local_target(path: Path) -> Target:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TargetError(f"cannot read the local stack's state {path}: {exc}") from exc
    missing = [k for k in (*_LOCAL_ENV, "aws_endpoint_url", "region") if not info.get(k)]
    if missing:
        raise TargetError(f"{path} lacks {', '.join(missing)}: restart the local stack (make run)")
    env = {var: str(info[key]) for key, var in _LOCAL_ENV.items()}
    env.update(
        {
            "AWS_ENDPOINT_URL": str(info["aws_endpoint_url"]),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": str(info["region"]),
            "AWS_REGION": str(info["region"]),
        }
    )
    return Target("local", str(path), env, str(info.get("api_url", "")))


def aws_target(stack_name: str, region: str | None = None) -> Target:
    from fleet_reports.store.deployment import OUTPUT_ENV, stack_outputs
    from fleet_reports.store.errors import StoreError

    try:
        outputs = stack_outputs(stack_name, region)
    except StoreError as exc:
        raise TargetError(f"cannot read stack {stack_name!r}: {exc}") from exc
    missing = [k for k in OUTPUT_ENV if k not in outputs]
    if missing:
        raise TargetError(f"stack {stack_name!r} has no output {', '.join(missing)}: is it a Fleet Reports stack?")
    env = {var: outputs[key] for key, var in OUTPUT_ENV.items()}
    if region:
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = region
    return Target("aws", stack_name, env, outputs.get("ApiUrl", ""))


def resolve(stack: str | None, local: Path | None, region: str | None) -> Target:
    """``--stack`` (or FLEET_REPORTS_STACK) wins, then ``--local``, then a running ``make run``."""
    stack = stack or os.environ.get("FLEET_REPORTS_STACK")
    if stack:
        return aws_target(stack, region)
    path = local or find_state()
    if path is None:
        raise TargetError(
            "no target: start the local stack with `make run`, or name a deployed stack with "
            "--stack NAME (or FLEET_REPORTS_STACK)"
        )
    return local_target(path)
