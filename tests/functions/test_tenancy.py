"""Tenancy and access: nobody sees, polls, fetches, downloads or deletes another's report.

Who asks (the demo fleet, :mod:`tests.support.tenancy`):

==========  ================================================================================
owner       the master user: every right
sub_user    a sub-user of the owner with the ``reports`` right
no_right    a sub-user of the owner without the ``reports`` right
demo_mode   a demo-mode sub-user of the owner: the ``reports`` right, but delete is disabled
other_user  another master user, with a tracker of its own
==========  ================================================================================

Every (sub-)user has its own pool of reports: a report is seen by the (sub-)user that generated
it and by nobody else, not its master, not its master's other sub-users. Asking for anybody
else's report answers 204 exactly as for an id that never existed: the same HTTP status, body and
content type (docs/api.md, "Credentials"). A hash may come in the JSON or form body, the query
string, or ``Authorization: NVX <hash>`` (api/request.py); every place is tried for every action.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from fleet_reports import contract
from fleet_reports.demo import OTHER_TRACKER

from tests.support.invariants import assert_nothing_generating
from tests.support.lambdas import Lambdas
from tests.support.tenancy import (
    DEMO_MODE,
    EVERYONE,
    NO_RIGHT,
    OTHER_USER,
    OWNER,
    REQUEST,
    SUB_USER,
    Answer,
    Place,
    Who,
    ask,
    demo_world,
    generated,
)

NEVER = 987_654_321  # a report id no test ever reaches
UNKNOWN_TRACKER = 999_999

FUNCTION = {
    "generate": "GenerateFunction",
    "list": "ListFunction",
    "status": "StatusFunction",
    "retrieve": "RetrieveFunction",
    "download": "DownloadFunction",
    "delete": "DeleteFunction",
    "plugin list": "PluginsFunction",
}
REPORT_ACTIONS = ("status", "retrieve", "download", "delete")  # the actions that name a report

# What an action does for one who asks (the outcomes of the tables below)
ALLOWED = "allowed"  # done for the caller (a report action: on the caller's own report)
UNLISTED = "not in its list"  # list answers 200 without the report
NOT_FOUND = "204 as if it never existed"
NOT_PERMITTED = "13: no reports right"
DEMO_DISABLED = "101: demo mode"
UNKNOWN_ENTITY = "217 as an unknown tracker"


@dataclass
class World:
    lambdas: Lambdas
    done: dict[str, int]  # each user's finished report (no_right cannot generate)
    states: dict[str, int]  # the owner's reports in every state a report can be in
    nevers: dict[tuple[str, str, Place], Answer] = field(default_factory=dict)

    def never(self, action: str, who: Who, place: Place) -> Answer:
        """The answer to ``who`` asking for ``action`` on a report that never existed (asked once)."""
        key = (action, who.name, place)
        if key not in self.nevers:
            self.nevers[key] = ask(self.lambdas, FUNCTION[action], _params(action, NEVER), who.hash, place)
        return self.nevers[key]


def _store_env(world: Lambdas) -> None:
    """The environment the store's own calls need (a test's set-up, not a request)."""
    world.use_env("WorkerFunction")


def _set_expired(world: Lambdas, pool: int, report_id: int) -> None:
    """Past its retention: DynamoDB's TTL has not swept the item yet, but it counts as gone."""
    from fleet_reports.store import reports as store

    table = boto3.resource("dynamodb").Table(world.resources.names["ReportsTable"])
    table.update_item(
        Key=store.report_key(pool, report_id),
        UpdateExpression="SET #ttl = :t",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":t": int(time.time()) - 60},
    )


@pytest.fixture(scope="module")
def world(template: dict[str, Any]) -> Iterator[World]:
    from fleet_reports.store import reports as store

    with demo_world(template) as lambdas:
        # Given a finished report of each user who may generate (the other user: of its own tracker)
        done = {
            who.name: generated(lambdas, who, trackers=[OTHER_TRACKER] if who is OTHER_USER else REQUEST["trackers"])
            for who in (OWNER, SUB_USER, DEMO_MODE, OTHER_USER)
        }
        expired = generated(lambdas, OWNER)
        lambdas.run_worker()
        # And the owner's reports in every other state
        states = {name: generated(lambdas, OWNER) for name in ("queued", "running", "failed", "deleted")}
        _store_env(lambdas)
        assert store.claim(OWNER.pool, states["running"], "a-worker", 3600)[0] is store.Claim.CLAIMED
        assert store.fail(OWNER.pool, states["failed"], "the tracker's data could not be read")
        assert store.delete_report(OWNER.pool, states["deleted"]) is not None
        _set_expired(lambdas, OWNER.pool, expired)
        states |= {"done": done["owner"], "expired": expired}
        yield World(lambdas, done, states)
        # Finally the reports left unfinished are removed, the queue drained, nothing generates
        _store_env(lambdas)
        for name in ("queued", "running"):
            assert store.delete_report(OWNER.pool, states[name]) is not None
        lambdas.run_worker()
        _store_env(lambdas)
        assert_nothing_generating(lambdas.resources.names["ReportsTable"], pools=(OWNER.pool, SUB_USER.pool))


# ----------------------------------------------------------------------------- helpers
def _params(action: str, report_id: int) -> dict[str, Any]:
    if action == "generate":
        return dict(REQUEST)
    if action in ("list", "plugin list"):
        return {}
    if action == "download":
        return {"report_id": report_id, "format": "pdf"}
    return {"report_id": report_id}


def _json(world: World, function: str, who: Who, **params: Any) -> Answer:
    return ask(world.lambdas, function, params, who.hash, Place.JSON_BODY)


def _listed(world: World, who: Who) -> list[int]:
    answer = _json(world, "ListFunction", who)
    assert answer.status == 200, answer.body
    return [int(r["id"]) for r in answer.body["list"]]


def _state_for_owner(world: World, whose: Who, report_id: int) -> str | None:
    """The report's state as its owner sees it (None: it does not exist for them)."""
    answer = _json(world, "StatusFunction", whose, report_id=report_id)
    return str(answer.body["state"]) if answer.status == 200 else None


def _victim(world: World, action: str, whose: Who) -> int:
    """The report acted on: the owner's finished one, or for delete a fresh one (delete may succeed)."""
    if action != "delete":
        return world.done[whose.name]
    trackers = [OTHER_TRACKER] if whose is OTHER_USER else REQUEST["trackers"]
    return generated(world.lambdas, whose, trackers=trackers)


def _clean_up(world: World, action: str, whose: Who, report_id: int) -> None:
    from fleet_reports.store import reports as store

    if action == "delete":
        _store_env(world.lambdas)
        store.delete_report(whose.pool, report_id)


def _check_allowed(world: World, action: str, who: Who, report_id: int, answer: Answer) -> None:
    """The action did its work for the caller, and only in the caller's own pool."""
    assert answer.status == 200, answer.body
    if action == "generate":
        new_id = int(answer.body["id"])
        assert new_id in _listed(world, who)  # the report is the caller's own...
        if who is not OWNER:
            assert new_id not in _listed(world, OWNER)  # ...not its master's
        from fleet_reports.store import reports as store

        _store_env(world.lambdas)
        assert store.delete_report(who.pool, new_id) is not None
    elif action == "list":
        assert report_id in [r["id"] for r in answer.body["list"]]
    elif action == "status":
        assert (answer.body["state"], answer.body["percent_ready"]) == ("done", 100)
    elif action == "retrieve":
        assert answer.body["report"]["id"] == report_id
    elif action == "download":
        assert answer.body[:5] == b"%PDF-"
    elif action == "delete":
        assert answer.body == {"success": True}
        assert _state_for_owner(world, who, report_id) is None
    else:  # the plugin list is not user-scoped: everyone gets the owner's
        assert answer.body["list"] and answer.body == _json(world, "PluginsFunction", OWNER).body


def _check(world: World, action: str, place: Place, who: Who, whose: Who, report_id: int, expected: str) -> None:
    function = FUNCTION[action]
    # When `who` asks for `action` on `whose` report, the hash at `place`
    answer = ask(world.lambdas, function, _params(action, report_id), who.hash, place)
    # Then the answer is the table's
    if expected == ALLOWED:
        _check_allowed(world, action, who, report_id, answer)
        return
    if expected == UNLISTED:
        assert answer.status == 200 and report_id not in [r["id"] for r in answer.body["list"]]
    elif expected == UNKNOWN_ENTITY:
        assert (answer.status, answer.code) == (400, 217)
        unknown = ask(world.lambdas, function, {**REQUEST, "trackers": [UNKNOWN_TRACKER]}, who.hash, place)
        assert answer.comparable() == unknown.comparable()
    else:
        assert (answer.status, answer.code) == {
            NOT_FOUND: (404, 204),
            NOT_PERMITTED: (403, 13),
            DEMO_DISABLED: (403, 101),
        }[expected], answer.body
        # And it is word for word the answer for a report that never existed
        assert answer.comparable() == world.never(action, who, place).comparable()
    # And the report is still there for its owner (the only action that could have changed it)
    if action == "delete":
        assert _state_for_owner(world, whose, report_id) == "queued"


# ================================================================ action x place x who
# On the owner's finished report (for delete, a fresh one of the owner's): what each user gets.
# generate: a report of the owner's tracker 669673; list: is the owner's report in the caller's list?
# fmt: off
#               generate        list           status         retrieve       download       delete         plugin list
BY_WHO = {
    "owner":      (ALLOWED,        ALLOWED,       ALLOWED,       ALLOWED,       ALLOWED,       ALLOWED,       ALLOWED),
    "sub_user":   (ALLOWED,        UNLISTED,      NOT_FOUND,     NOT_FOUND,     NOT_FOUND,     NOT_FOUND,     ALLOWED),
    "no_right":   (NOT_PERMITTED,  NOT_PERMITTED, NOT_PERMITTED, NOT_PERMITTED, NOT_PERMITTED, NOT_PERMITTED, ALLOWED),
    "demo_mode":  (ALLOWED,        UNLISTED,      NOT_FOUND,     NOT_FOUND,     NOT_FOUND,     DEMO_DISABLED, ALLOWED),
    "other_user": (UNKNOWN_ENTITY, UNLISTED,      NOT_FOUND,     NOT_FOUND,     NOT_FOUND,     NOT_FOUND,     ALLOWED),
}
# fmt: on
ACTION_PLACE_WHO = [
    pytest.param(action, place, who, BY_WHO[who.name][i], id=f"{action}-{place.value}-{who.name}")
    for i, action in enumerate(FUNCTION)
    for place in Place
    for who in EVERYONE
]


@pytest.mark.parametrize(("action", "place", "who", "expected"), ACTION_PLACE_WHO)
def test_every_action_from_every_place_for_everyone(
    world: World, action: str, place: Place, who: Who, expected: str
) -> None:
    # Given the owner's report
    report_id = _victim(world, action, OWNER)
    try:
        # When `who` acts on it with its hash at `place`, Then the table's outcome
        _check(world, action, place, who, OWNER, report_id, expected)
    finally:
        _clean_up(world, action, OWNER, report_id)


# ================================================================ whose report x who
# Every pool against every caller (JSON body): a report action is allowed on one's own report
# only. Refusals that come before any report is looked at say nothing about it either: the
# no-right sub-user gets 13 and the demo-mode one 101 for delete, whoever's the report.
def _by_pool(action: str, who: Who, whose: Who) -> str:
    if who is NO_RIGHT:
        return NOT_PERMITTED
    if who is DEMO_MODE and action == "delete":
        return DEMO_DISABLED
    if who is not whose:
        return UNLISTED if action == "list" else NOT_FOUND
    return ALLOWED


POOLS = (OWNER, SUB_USER, DEMO_MODE, OTHER_USER)
WHOSE_X_WHO = [
    pytest.param(action, who, whose, _by_pool(action, who, whose), id=f"{action}-{whose.name}'s-by-{who.name}")
    for action in ("list", *REPORT_ACTIONS)
    for whose in POOLS
    for who in EVERYONE
]


@pytest.mark.parametrize(("action", "who", "whose", "expected"), WHOSE_X_WHO)
def test_each_pool_is_its_users_alone(world: World, action: str, who: Who, whose: Who, expected: str) -> None:
    # Given a report in `whose` pool
    report_id = _victim(world, action, whose)
    try:
        # When `who` acts on it, Then only its own user may
        _check(world, action, Place.JSON_BODY, who, whose, report_id, expected)
    finally:
        _clean_up(world, action, whose, report_id)


def test_each_list_holds_exactly_its_users_reports(world: World) -> None:
    # Given a finished report in each pool (the module's), When each user lists its reports
    lists = {who.name: set(_listed(world, who)) for who in (SUB_USER, DEMO_MODE, OTHER_USER)}
    # Then each list is its user's report and nothing else
    assert lists == {name: {world.done[name]} for name in lists}
    # And the owner's holds its own reports only: none of its sub-users', none of the other user's
    owner = set(_listed(world, OWNER))
    assert world.done["owner"] in owner
    assert owner.isdisjoint({world.done[name] for name in lists})


# ================================================================ every state of a report
OWNER_SEES = {  # the owner's status answer for its report in each state, to show the states are real
    "queued": "queued",
    "running": "running",
    "done": "done",
    "failed": "failed",
    "expired": None,
    "deleted": None,
}


@pytest.mark.parametrize("action", REPORT_ACTIONS)
@pytest.mark.parametrize("state", list(OWNER_SEES))
def test_another_users_report_in_any_state_is_as_if_it_never_existed(world: World, state: str, action: str) -> None:
    # Given the owner's report in `state`
    report_id = world.states[state]
    assert _state_for_owner(world, OWNER, report_id) == OWNER_SEES[state]
    # When the other user and the owner's sub-user ask for it
    for who in (OTHER_USER, SUB_USER):
        answer = _json(world, FUNCTION[action], who, **_params(action, report_id))
        never = world.never(action, who, Place.JSON_BODY)
        # Then the answer says nothing about it: the same as for an id that never existed
        assert (answer.status, answer.code) == (404, 204)
        assert answer.comparable() == never.comparable()
    # And nothing changed for the owner
    assert _state_for_owner(world, OWNER, report_id) == OWNER_SEES[state]


# ================================================================ which hash counts
PRECEDENCE = [
    # (the request's hashes, as place -> who), whose identity it is
    pytest.param({"body": OTHER_USER, "query": OWNER}, OTHER_USER, id="body before query"),
    pytest.param({"body": OWNER, "query": OTHER_USER}, OWNER, id="body before query, reversed"),
    pytest.param({"body": OTHER_USER, "header": OWNER}, OTHER_USER, id="body before header"),
    pytest.param({"query": OTHER_USER, "header": OWNER}, OTHER_USER, id="query before header"),
    pytest.param({"query": OWNER, "header": OTHER_USER}, OWNER, id="query before header, reversed"),
    pytest.param({"query": [OWNER, OTHER_USER]}, OTHER_USER, id="a repeated query hash: the last"),
    pytest.param({"query": [OTHER_USER, OWNER]}, OWNER, id="a repeated query hash: the last, reversed"),
]


def _request(params: dict[str, Any], hashes: dict[str, Any]) -> dict[str, Any]:
    """The ``Lambdas.api`` arguments for a POST of ``params`` with ``hashes`` at their places."""
    import json
    from urllib.parse import urlencode

    body = {**params, **({"hash": hashes["body"].hash} if "body" in hashes else {})}
    query = hashes.get("query", [])
    pairs = [("hash", w.hash) for w in (query if isinstance(query, list) else [query])]
    headers = {"Authorization": f"NVX {hashes['header'].hash}"} if "header" in hashes else {}
    return {"body": json.dumps(body), "query": urlencode(pairs), "headers": headers}


@pytest.mark.parametrize(("hashes", "caller"), PRECEDENCE)
def test_one_request_is_one_caller_whatever_hashes_it_carries(
    world: World, hashes: dict[str, Any], caller: Who
) -> None:
    # Given a request for the owner's report carrying two users' hashes
    report_id = world.done["owner"]
    # When it asks for the report's status
    status, body, _ = world.lambdas.api("StatusFunction", **_request({"report_id": report_id}, hashes))
    # Then it is served as the one caller the documented order picks, never as a union of both
    if caller is OWNER:
        assert (status, body["state"]) == (200, "done")
    else:
        assert (status, body["status"]["code"]) == (404, 204)
    _, listed, _ = world.lambdas.api("ListFunction", **_request({}, hashes))
    assert {r["id"] for r in listed["list"]} == set(_listed(world, caller))


NOT_A_CREDENTIAL = [  # places and shapes the API never takes a hash from: 4 (none given) or 3 (malformed)
    pytest.param({"headers": {"Cookie": f"hash={OWNER.hash}"}}, 4, id="cookie"),
    pytest.param({"headers": {"Authorization": f"Bearer {OWNER.hash}"}}, 4, id="bearer scheme"),
    pytest.param({"headers": {"Authorization": OWNER.hash}}, 4, id="bare authorization"),
    pytest.param({"headers": {"X-Api-Key": OWNER.hash}}, 4, id="x-api-key"),
    pytest.param({"headers": {"Hash": OWNER.hash}}, 4, id="hash header"),
    pytest.param({"extra": {"session": OWNER.hash}}, 4, id="another body member"),
    pytest.param({"extra": {"hash": OWNER.hash.upper()}}, 3, id="upper case body"),
    pytest.param({"query": f"hash={OWNER.hash.upper()}"}, 3, id="upper case query"),
    pytest.param({"headers": {"Authorization": f"NVX {OWNER.hash.upper()}"}}, 3, id="upper case header"),
    pytest.param({"extra": {"hash": [OWNER.hash]}}, 3, id="a list"),
    pytest.param({"extra": {"hash": {"hash": OWNER.hash}}}, 3, id="an object"),
    pytest.param({"extra": {"hash": f" {OWNER.hash}"}}, 3, id="padded"),
    pytest.param({"extra": {"hash": OWNER.hash[:31]}}, 3, id="one short"),
]


@pytest.mark.parametrize(("how", "code"), NOT_A_CREDENTIAL)
def test_no_other_place_or_shape_opens_a_report(world: World, how: dict[str, Any], code: int) -> None:
    import json

    # Given the owner's hash somewhere the API does not read it, or in a shape it refuses
    params = {"report_id": world.done["owner"], **how.get("extra", {})}
    # When the owner's report is asked for
    status, body, _ = world.lambdas.api(
        "StatusFunction", body=json.dumps(params), headers=how.get("headers"), query=how.get("query", "")
    )
    # Then nobody is authenticated
    assert (status, body["status"]["code"]) == (400, code)


# ================================================================ presigned download URLs
def _redirect(world: World, who: Who, report_id: int, **env: str) -> Answer:
    params = {"report_id": report_id, "format": "pdf"}
    return ask(
        world.lambdas, "DownloadFunction", params, who.hash, Place.JSON_BODY, DOWNLOAD_INLINE_MAX_BYTES="100", **env
    )


def test_a_large_file_is_a_presigned_url_that_expires_within_minutes(world: World) -> None:
    from fleet_reports.settings import Settings

    # Given the owner's finished report whose PDF is over the inline limit
    report_id = world.done["owner"]
    # When the owner downloads it
    started = time.time()
    answer = _redirect(world, OWNER, report_id)
    # Then the answer is a redirect nobody caches
    assert answer.status == 302 and answer.headers["cache-control"] == "no-store"
    url = urlsplit(answer.headers["location"])
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    # And the URL is signed for this report's own file alone
    assert f"/reports/{report_id}/" in url.path and url.path.endswith(".pdf")
    assert "X-Amz-Signature" in query and "X-Amz-Credential" in query
    # And it expires after the deployment's setting: 5 minutes, at most 15
    expires = int(query["X-Amz-Expires"])
    assert expires == Settings().presign_seconds == 300
    signed = calendar.timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    assert abs(signed - started) < 60


def test_no_function_is_deployed_with_long_lived_download_urls(world: World) -> None:
    # Given the template's environment of the download function (the only one that signs URLs)
    env = world.lambdas.envs[contract.DOWNLOAD]
    # Then it leaves the expiry to the setting's default (5 minutes), or keeps it within 15
    assert int(env.get("PRESIGN_SECONDS", "300")) <= 900


def test_a_download_url_valid_for_more_than_15_minutes_is_refused(world: World) -> None:
    # Given a download function misconfigured to sign URLs for a day
    report_id = world.done["owner"]
    # When the owner downloads a large file
    answer = _redirect(world, OWNER, report_id, PRESIGN_SECONDS="86400")
    # Then no URL is handed out: the misconfiguration answers 6 with its correlation id
    assert "location" not in answer.headers
    assert (answer.status, answer.code) == (500, 6) and "correlation_id" in answer.body
    # And with the setting at 15 minutes the URL says so
    answer = _redirect(world, OWNER, report_id, PRESIGN_SECONDS="900")
    assert parse_qs(urlsplit(answer.headers["location"]).query)["X-Amz-Expires"] == ["900"]


@pytest.mark.parametrize("who", [SUB_USER, DEMO_MODE, OTHER_USER], ids=lambda w: w.name)
def test_nobody_else_gets_a_download_url(world: World, who: Who) -> None:
    # Given the owner's report whose PDF would be a presigned URL
    report_id = world.done["owner"]
    # When another user downloads it
    answer = _redirect(world, who, report_id)
    # Then there is no URL, only the answer for a report that never existed
    assert "location" not in answer.headers
    assert answer.comparable() == _redirect(world, who, NEVER).comparable()
    assert (answer.status, answer.code) == (404, 204)


# ================================================================ the import path
def test_track_imports_take_no_hash_and_have_no_api_route(world: World) -> None:
    # Given the functions of the template
    specs = world.lambdas.specs
    # Then the importer is started by the track bucket alone (uploads with AWS credentials, the
    # operator's), never by an API route that would take a user's hash
    assert specs[contract.IMPORT].api_routes == []
    assert contract.S3_EVENTS[contract.IMPORT] == (contract.TRACK_BUCKET, contract.IMPORT_PREFIX)
    routed = {path for spec in specs.values() for _, path in spec.api_routes}
    assert routed == set(contract.API_ROUTES.values()) | set(contract.DOCUMENT_ROUTES)
