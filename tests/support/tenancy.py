"""Who asks, and how: the demo fleet's users and every place a request may carry its hash.

The tenancy and log tests ask hundreds of questions of the same few reports; building the demo
fleet and rendering its reports costs seconds, so :func:`demo_world` builds it once for a whole
test module (the ``aws``, ``lambdas`` and ``demo`` fixtures of ``tests/conftest.py``, in one
module-scoped context).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlencode

import pytest

from fleet_reports.demo import ACCESS, DEMO_MODE_ID, NO_RIGHTS_ID, OTHER_ID, OWNER_ID, RUSSIAN_ID

from tests.support.lambdas import BASE_ENV, Lambdas
from tests.support.seed import SEED_DAYS, SEED_GENERATE


@dataclass(frozen=True)
class Who:
    """One user of the demo fleet: its hash and its own pool of reports (its user id)."""

    name: str
    hash: str
    pool: int


OWNER = Who("owner", ACCESS.owner_hash, OWNER_ID)  # the master user: every right
SUB_USER = Who("sub_user", ACCESS.russian_user_hash, RUSSIAN_ID)  # the owner's sub-user with `reports`
NO_RIGHT = Who("no_right", ACCESS.no_reports_right_hash, NO_RIGHTS_ID)  # the owner's sub-user without it
DEMO_MODE = Who("demo_mode", ACCESS.demo_mode_hash, DEMO_MODE_ID)  # the owner's demo-mode sub-user
OTHER_USER = Who("other_user", ACCESS.other_user_hash, OTHER_ID)  # another master user
EVERYONE = (OWNER, SUB_USER, NO_RIGHT, DEMO_MODE, OTHER_USER)

# The seed request (the owner's tracker 669673, two days) without its hash: each test says whose.
REQUEST: dict[str, Any] = {k: v for k, v in SEED_GENERATE.items() if k != "hash"}


class Place(Enum):
    """Where a request carries its hash (request.py looks in this order: the body's ``hash``,
    the query string's, then ``Authorization: NVX <hash>``)."""

    JSON_BODY = "JSON body"
    FORM_BODY = "form body"
    GET_QUERY = "GET query string"
    POST_QUERY = "POST query string"
    HEADER_POST = "Authorization header, POST"
    HEADER_GET = "Authorization header, GET"


def _form_value(value: Any) -> str:
    """A form or query value: arrays and objects as JSON text, booleans as true/false."""
    if isinstance(value, dict | list | bool):
        return json.dumps(value)
    return str(value)


def _encoded(params: dict[str, Any]) -> str:
    return urlencode({k: _form_value(v) for k, v in params.items()})


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the JSON envelope, or the file's bytes
    headers: dict[str, str]

    @property
    def code(self) -> int | None:
        """The envelope's error code (None for a success or a file)."""
        if isinstance(self.body, dict) and self.body.get("success") is False:
            return int(self.body["status"]["code"])
        return None

    def comparable(self) -> tuple[int, Any, str | None]:
        """What a caller can tell two answers apart by: status, body and content type."""
        return self.status, self.body, self.headers.get("content-type")


def ask(world: Lambdas, function: str, params: dict[str, Any], hash_: str, place: Place, **extra_env: str) -> Answer:
    """Call ``function`` with ``params``, the hash carried at ``place``."""
    headers: dict[str, str] = {}
    body: str | None = None
    query = ""
    method = "GET" if place in (Place.GET_QUERY, Place.HEADER_GET) else "POST"
    if place is Place.JSON_BODY:
        body = json.dumps({**params, "hash": hash_})
    elif place is Place.FORM_BODY:
        body = _encoded({**params, "hash": hash_})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif place is Place.GET_QUERY:
        query = _encoded({**params, "hash": hash_})
    elif place is Place.POST_QUERY:
        body, query = json.dumps(params), _encoded({"hash": hash_})
    elif place is Place.HEADER_POST:
        body, headers["Authorization"] = json.dumps(params), f"NVX {hash_}"
    else:
        query, headers["Authorization"] = _encoded(params), f"NVX {hash_}"
    env: dict[str, Any] = dict(extra_env)  # the function's environment on top of the template's
    status, payload, out = world.api(function, method=method, body=body, headers=headers, query=query, **env)
    return Answer(status, payload, out)


@contextmanager
def demo_world(template: dict[str, Any]) -> Iterator[Lambdas]:
    """The ``demo`` fixture's world (moto from template.yaml, the demo fleet, its tracks on the
    seed's days), for as long as the context lasts."""
    from moto import mock_aws

    from fleet_reports import demo as demo_fleet
    from fleet_reports.demo import DEMO_TRACKERS, demo_track
    from fleet_reports.local.moto_guards import atomic_conditional_writes
    from fleet_reports.local.resources import create_resources
    from fleet_reports.settings import get_settings
    from fleet_reports.store import tracks
    from fleet_reports.store.aws import reset_clients

    atomic_conditional_writes()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        for key, value in BASE_ENV.items():
            monkeypatch.setenv(key, value)
        reset_clients()
        get_settings.cache_clear()
        try:
            with mock_aws():
                world = Lambdas(template, create_resources(template), monkeypatch)
                world.use_env("WorkerFunction")
                demo_fleet.load_fleet()
                for tracker in DEMO_TRACKERS:
                    for day in SEED_DAYS:
                        tracks.write_day(tracker.id, day, demo_track(tracker.id, day))
                yield world
        finally:
            reset_clients()
            get_settings.cache_clear()


def generated(world: Lambdas, who: Who, **overrides: Any) -> int:
    """A new report of ``who`` (the seed request, ``overrides`` replacing its members), queued."""
    status, body, _ = world.api("GenerateFunction", {**REQUEST, **overrides, "hash": who.hash})
    assert status == 200, body
    return int(body["id"])
