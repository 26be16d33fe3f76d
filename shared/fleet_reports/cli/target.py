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
    from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

    from fleet_reports.store.deployment import OUTPUT_ENV, stack_outputs
    from fleet_reports.store.errors import StoreError

    try:
        outputs = stack_outputs(stack_name, region)
    except NoRegionError as exc:
        raise TargetError(
            f"cannot read stack {stack_name!r}: no AWS region; pass --region or set AWS_REGION (or a profile's region)"
        ) from exc
    except (StoreError, BotoCoreError, ClientError) as exc:
        raise TargetError(f"cannot read stack {stack_name!r}: {exc}") from exc
    missing = [k for k in OUTPUT_ENV if k not in outputs]
    if missing:
        raise TargetError(f"stack {stack_name!r} has no output {', '.join(missing)}: is it a Fleet Reports stack?")
    env = {var: outputs[key] for key, var in OUTPUT_ENV.items()}
    if region:
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = region
    return Target("aws", stack_name, env, outputs.get("ApiUrl", ""))


LOCAL_ENV_VAR = "FLEET_REPORTS_LOCAL"  # the local stack's state file, or the folder that holds .local/


def resolve(stack: str | None, local: Path | None, region: str | None) -> Target:
    """``--stack`` (or FLEET_REPORTS_STACK) wins, then ``--local`` (or FLEET_REPORTS_LOCAL), then
    the ``.local/stack.json`` of a running ``make run`` in this folder or one above it."""
    stack = stack or os.environ.get("FLEET_REPORTS_STACK")
    if stack:
        return aws_target(stack, region)
    named = local or (Path(os.environ[LOCAL_ENV_VAR]) if os.environ.get(LOCAL_ENV_VAR) else None)
    if named is not None:
        path = named / STATE_FILE if named.is_dir() else named
        if not path.is_file():
            raise TargetError(f"no local stack state at {path} (from --local or {LOCAL_ENV_VAR}): is `make run` up?")
        return local_target(path)
    found = find_state()
    if found is None:
        raise TargetError(
            f"no target: no {STATE_FILE} in {Path.cwd()} or any folder above it, no --local or "
            f"{LOCAL_ENV_VAR}, no --stack or FLEET_REPORTS_STACK; start the local stack with `make run` "
            "(from the repository), or name a deployed stack with --stack NAME"
        )
    return local_target(found)
