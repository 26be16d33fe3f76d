"""Hashes, passwords and session tokens never reach the logs.

Every log line a function can write is caught (the ``net`` fixture): each logger of the process
at DEBUG (ours, Powertools', botocore's, moto's), what the Powertools handler writes as JSON (what
CloudWatch gets), and whatever reaches stdout and stderr. Then every action is run, from every
place a hash can come, succeeding and failing (bad credentials, bad requests, a store that fails,
a misconfigured function, a crash, a report that fails in the worker), and no secret may be in
the catch: neither as it is nor base64-encoded, as API Gateway hands the body over.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fleet_reports import contract
from fleet_reports.demo import ACCESS, OTHER_TRACKER
from fleet_reports.observability import logger as powertools  # made at collection, on its usual stream

from tests.support.lambdas import Lambdas
from tests.support.tenancy import EVERYONE, NO_RIGHT, OWNER, REQUEST, Answer, Place, ask, demo_world, generated

PASSWORD = ACCESS.owner_password
LOGIN = ACCESS.owner_login
SECRETS = (*(who.hash for who in EVERYONE), PASSWORD)  # the demo fleet's; tests add those they make


def secret_forms(secret: str) -> set[str]:
    """The secret as a log could hold it: as it is, and the part of its base64 encoding that is
    the same wherever it starts in the encoded bytes (an API Gateway body is base64)."""
    data, forms = secret.encode(), {secret}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        first = 1 if offset else 0  # 4-character groups made of the secret's bytes alone
        last = (offset + len(data)) // 3
        forms.add(encoded[4 * first : 4 * last])
    return forms


_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LogNet(logging.Handler):
    """Everything logged while it is up: each record's logger, message, extra fields, exception
    (with its causes) and stack; the Powertools handler's own output; stdout and stderr."""

    def __init__(self, powertools: io.StringIO, capfd: pytest.CaptureFixture[str]) -> None:
        super().__init__(logging.DEBUG)
        self.parts: list[str] = []
        self.powertools, self.capfd = powertools, capfd

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format: keep its pieces
            message = f"{record.msg!r} {record.args!r}"
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}
        self.parts.append(f"{record.name} {record.levelname} {message} {extras!r}")
        if record.exc_info and record.exc_info[1] is not None:
            self.parts.append("".join(traceback.format_exception(record.exc_info[1])))
        if record.stack_info:
            self.parts.append(record.stack_info)

    def text(self) -> str:
        out, err = self.capfd.readouterr()
        self.parts.extend([out, err])
        return "\n".join([*self.parts, self.powertools.getvalue()])

    def leaks(self, secrets: tuple[str, ...] | list[str]) -> list[str]:
        """The secrets found in the catch (none, or the test fails)."""
        text = self.text()
        return [s for s in secrets if any(form in text for form in secret_forms(s))]


@pytest.fixture
def net(capfd: pytest.CaptureFixture[str]) -> Iterator[LogNet]:
    loggers = [
        logging.getLogger(),
        *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    levels = [(lg, lg.level) for lg in loggers]
    stream = io.StringIO()
    handler = LogNet(stream, capfd)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    previous = powertools.logger_handler.setStream(stream)  # type: ignore[attr-defined]
    capfd.readouterr()
    try:
        yield handler
    finally:
        powertools.logger_handler.setStream(previous)  # type: ignore[attr-defined]
        logging.getLogger().removeHandler(handler)
        for lg, level in levels:
            lg.setLevel(level)


@dataclass
class World:
    lambdas: Lambdas
    report_id: int  # the owner's finished report


@pytest.fixture(scope="module")
def world(template: dict[str, Any]) -> Iterator[World]:
    with demo_world(template) as lambdas:
        report_id = generated(lambdas, OWNER)
        lambdas.run_worker()
        yield World(lambdas, report_id)


# ================================================================ the net itself
def test_the_net_catches_a_secret_logged_as_it_is_or_base64_encoded(net: LogNet) -> None:
    # Given a secret nobody logged, Then the net finds nothing
    assert net.leaks(SECRETS) == []
    # When a line carries a hash in an extra field, and another a password inside a base64 body
    powertools.debug("a request", extra={"who": ACCESS.other_user_hash})
    body = base64.b64encode(json.dumps({"login": LOGIN, "password": PASSWORD}).encode()).decode()
    logging.getLogger("botocore.endpoint").debug("sent %s", body)
    # Then the net finds both
    assert net.leaks(SECRETS) == [ACCESS.other_user_hash, PASSWORD]


def test_base64_forms_are_found_at_every_alignment() -> None:
    # Given a hash base64-encoded after 0 to 5 other bytes, Then one of its forms is in each encoding
    for prefix in range(6):
        encoded = base64.b64encode(b"x" * prefix + OWNER.hash.encode() + b'"}').decode()
        assert any(form in encoded for form in secret_forms(OWNER.hash))


# ================================================================ every action, every place
def _fresh_report(world: World) -> int:
    return generated(world.lambdas, OWNER)


def _remove(world: World, report_id: int) -> None:
    from fleet_reports.store import reports as store

    world.lambdas.use_env(contract.WORKER)
    assert store.delete_report(OWNER.pool, report_id) is not None


ACTIONS: dict[str, Callable[[World], tuple[str, dict[str, Any]]]] = {
    "generate": lambda w: ("GenerateFunction", dict(REQUEST)),
    "list": lambda w: ("ListFunction", {}),
    "status": lambda w: ("StatusFunction", {"report_id": w.report_id}),
    "retrieve": lambda w: ("RetrieveFunction", {"report_id": w.report_id}),
    "download": lambda w: ("DownloadFunction", {"report_id": w.report_id, "format": "xlsx"}),
    "delete": lambda w: ("DeleteFunction", {"report_id": _fresh_report(w)}),
    "plugin list": lambda w: ("PluginsFunction", {}),
}


@pytest.mark.parametrize("place", list(Place), ids=lambda p: p.value)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_no_action_logs_the_hash_from_any_place(world: World, net: LogNet, action: str, place: Place) -> None:
    # Given the owner's hash at `place`
    function, params = ACTIONS[action](world)
    # When the action succeeds
    answer = ask(world.lambdas, function, params, OWNER.hash, place)
    assert answer.status == 200, answer.body
    if action == "generate":  # the new report makes way (the owner may have 5 generating at once)
        _remove(world, int(answer.body["id"]))
    # Then the logs (which saw the store calls) hold no secret
    assert "DynamoDB" in net.text()
    assert net.leaks(SECRETS) == []


def test_a_large_download_logs_no_secret(world: World, net: LogNet) -> None:
    # Given a file over the inline limit, When the owner downloads it with its hash in the query string
    params = {"report_id": world.report_id, "format": "pdf"}
    answer = ask(
        world.lambdas, "DownloadFunction", params, OWNER.hash, Place.GET_QUERY, DOWNLOAD_INLINE_MAX_BYTES="100"
    )
    # Then it is a presigned URL, and the hash is not logged
    assert answer.status == 302 and "X-Amz-Signature=" in answer.headers["location"]
    assert "X-Amz-Expires" in net.text()  # the net saw the URL signed
    assert net.leaks(SECRETS) == []


AUTH_PLACES = [Place.JSON_BODY, Place.FORM_BODY, Place.GET_QUERY]


def _login(world: World, place: Place, password: str = PASSWORD) -> Answer:
    """/user/auth with the owner's login and ``password`` in a JSON or form body or a GET query string."""
    body = {"login": LOGIN, "password": password}
    if place is Place.JSON_BODY:
        status, payload, headers = world.lambdas.api("AuthFunction", body)
    elif place is Place.FORM_BODY:
        form = "&".join(f"{k}={v}" for k, v in body.items())
        status, payload, headers = world.lambdas.api(
            "AuthFunction", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    else:
        status, payload, headers = world.lambdas.api(
            "AuthFunction", method="GET", query="&".join(f"{k}={v}" for k, v in body.items())
        )
    return Answer(status, payload, headers)


@pytest.mark.parametrize("place", AUTH_PLACES, ids=lambda p: p.value)
def test_signing_in_and_out_logs_neither_password_nor_session(world: World, net: LogNet, place: Place) -> None:
    # Given the owner's login and password at `place`, When it signs in
    answer = _login(world, place)
    session = answer.body["hash"]
    # And uses the session, then signs out with it, from every place a hash can come
    for where in Place:
        assert ask(world.lambdas, "ListFunction", {}, session, where).status == 200
    assert ask(world.lambdas, "LogoutFunction", {}, session, place).body == {"success": True}
    # And tries the ended session again
    assert ask(world.lambdas, "StatusFunction", {"report_id": world.report_id}, session, place).code == 4
    # Then neither the password nor the session is in the logs
    assert "DynamoDB" in net.text()
    assert net.leaks([*SECRETS, session]) == []


# ================================================================ failures
WRONG_PASSWORD = "hunter2-not-the-password"
UNKNOWN_HASH = "0123456789abcdef0123456789abcdef"
MISTYPED_HASH = OWNER.hash.upper()  # a real credential mistyped is still a secret
FAILURES: dict[str, tuple[str, dict[str, Any] | None, str | None, int]] = {
    # name: (function, JSON body, or raw body text, the code answered)
    "unknown hash": ("StatusFunction", {"hash": UNKNOWN_HASH, "report_id": 1}, None, 4),
    "mistyped hash": ("StatusFunction", {"hash": MISTYPED_HASH, "report_id": 1}, None, 3),
    "hash with a space": ("ListFunction", {"hash": f"{OWNER.hash} "}, None, 3),
    "no reports right": ("RetrieveFunction", {"hash": NO_RIGHT.hash, "report_id": 1}, None, 13),
    "another user's report": ("DeleteFunction", {"hash": ACCESS.other_user_hash, "report_id": 1}, None, 204),
    "wrong password": ("AuthFunction", {"login": LOGIN, "password": WRONG_PASSWORD}, None, 102),
    "unknown login": ("AuthFunction", {"login": "nobody@fleet.example", "password": PASSWORD}, None, 102),
    "password too long": ("AuthFunction", {"login": LOGIN, "password": PASSWORD * 100}, None, 7),
    "password not a string": ("AuthFunction", {"login": LOGIN, "password": [PASSWORD]}, None, 7),
    "logout with an unknown hash": ("LogoutFunction", {"hash": UNKNOWN_HASH}, None, 4),
    "bad JSON": ("StatusFunction", None, f'{{"hash": "{OWNER.hash}", "report_id": ', 5),
    "bad JSON at auth": ("AuthFunction", None, f'{{"login": "{LOGIN}", "password": "{PASSWORD}"', 5),
    "JSON not an object": ("ListFunction", None, f'["{OWNER.hash}"]', 5),
    "NaN": ("StatusFunction", None, f'{{"hash": "{OWNER.hash}", "report_id": NaN}}', 5),
    "too large": ("GenerateFunction", {**REQUEST, "hash": OWNER.hash, "title": "x" * 1_100_000}, None, 9),
    "invalid parameters": ("GenerateFunction", {**REQUEST, "hash": OWNER.hash, "from": "yesterday"}, None, 7),
    "bad report id": ("DownloadFunction", {"hash": OWNER.hash, "report_id": "abc", "format": "doc"}, None, 7),
    "unknown plugin": ("GenerateFunction", {**REQUEST, "hash": OWNER.hash, "plugin": {"plugin_id": 999}}, None, 222),
    "span too big": ("GenerateFunction", {**REQUEST, "hash": OWNER.hash, "from": "2019-01-01 00:00:00"}, None, 211),
    "foreign tracker": ("GenerateFunction", {**REQUEST, "hash": OWNER.hash, "trackers": [OTHER_TRACKER]}, None, 217),
    "negative report id": ("RetrieveFunction", {"hash": OWNER.hash, "report_id": -1}, None, 7),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_refused_request_logs_no_secret(world: World, net: LogNet, name: str) -> None:
    function, params, raw, code = FAILURES[name]
    # Given a request that fails (`name`), When it is sent
    _, body, _ = world.lambdas.api(function, params, body=raw)
    # Then it is refused with its code, and no secret it carried is logged
    assert body["status"]["code"] == code, body
    assert net.leaks([*SECRETS, WRONG_PASSWORD, UNKNOWN_HASH, MISTYPED_HASH]) == []


def test_a_non_utf8_or_broken_body_logs_no_secret(world: World, net: LogNet) -> None:
    from fleet_reports.local.gateway import api_event

    # Given bodies that carry the hash but are not UTF-8, and base64 that does not decode
    path = contract.API_ROUTES[contract.STATUS]
    latin1 = json.dumps({"hash": OWNER.hash, "title": "caf\u00e9"}, ensure_ascii=False).encode("latin-1")
    broken = {**api_event("POST", path, "", {"Content-Type": "application/json"}, b"", "127.0.0.1")}
    broken |= {"body": f"{OWNER.hash}!!", "isBase64Encoded": True}
    events = [api_event("POST", path, "", {"Content-Type": "application/json"}, latin1, "127.0.0.1"), broken]
    # When they are sent
    for event in events:
        result = world.lambdas.invoke(contract.STATUS, event)
        assert json.loads(result["body"])["status"]["code"] == 5
    # Then nothing of them is logged
    assert net.leaks(SECRETS) == []


def test_a_store_failure_logs_no_secret(world: World, net: LogNet) -> None:
    # Given the fleet table unreachable (a name that does not exist)
    # When the owner asks for its report with its hash in the header
    answer = ask(world.lambdas, "StatusFunction", {"report_id": world.report_id}, OWNER.hash, Place.HEADER_POST,
                 FLEET_TABLE="no-such-table")  # fmt: skip
    # Then 1 (database error), the failure is logged with its traceback, and no secret is
    assert answer.code == 1
    assert "store call failed" in net.text()
    assert net.leaks(SECRETS) == []


def test_a_misconfigured_function_logs_no_secret(world: World, net: LogNet) -> None:
    # Given the download function deployed without its bucket's name
    # When the owner downloads with its hash in the query string
    answer = ask(world.lambdas, "DownloadFunction", {"report_id": world.report_id, "format": "pdf"},
                 OWNER.hash, Place.GET_QUERY, REPORTS_BUCKET="")  # fmt: skip
    # Then 6, the variable is named in the log, and no secret is
    assert answer.code == 6
    assert "REPORTS_BUCKET" in net.text()
    assert net.leaks(SECRETS) == []


def test_a_crash_logs_its_traceback_but_no_secret(world: World, net: LogNet, monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet_reports.store import fleet

    # Given a bug met while the caller is looked up (its hash in hand)
    def broken(user_id: int) -> Any:
        raise RuntimeError("the user record could not be read")

    def broken_batch(user_ids: Any) -> Any:
        raise RuntimeError("the user record could not be read")

    monkeypatch.setattr(fleet, "get_user", broken)
    monkeypatch.setattr(fleet, "get_users", broken_batch)
    # When the sign-in and a report action run into it
    assert _login(world, Place.FORM_BODY).code == 6
    answer = ask(world.lambdas, "RetrieveFunction", {"report_id": world.report_id}, OWNER.hash, Place.FORM_BODY)
    # Then 6; the traceback is logged (source lines, no values), and no secret with it
    assert answer.code == 6
    text = net.text()
    assert "unexpected error" in text and "the user record could not be read" in text
    assert "auth.authenticate_with(request.hash, _count_request)" in text  # the frame's source line: names, not values
    assert net.leaks(SECRETS) == []


def test_a_report_that_fails_in_the_worker_logs_no_secret(
    world: World, net: LogNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleet_reports.engine.plugins import trips

    # Given a report whose plugin raises on every attempt
    report_id = generated(world.lambdas, OWNER)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the plugin broke")

    monkeypatch.setattr(trips, "compute", broken)
    # When the worker tries it until it gives up
    world.lambdas.run_worker()
    status = ask(world.lambdas, "StatusFunction", {"report_id": report_id}, OWNER.hash, Place.JSON_BODY)
    assert status.body["state"] == "failed"
    # Then each attempt and the failure are logged, and no secret
    text = net.text()
    assert "attempt failed, will retry" in text and "report failed for good" in text
    assert net.leaks(SECRETS) == []


# ================================================================ logging the event is never on
@pytest.mark.parametrize("function", sorted(contract.API_FUNCTIONS))
def test_an_api_function_never_logs_its_event(world: World, net: LogNet, function: str) -> None:
    # Given every API function deployed with Powertools' event logging switched on (fresh handlers)
    lambdas = Lambdas(world.lambdas.template, world.lambdas.resources, world.lambdas.monkeypatch)
    # When a request carrying the hash (and, for sign-in, the password) reaches it
    if function == contract.AUTH:
        lambdas.api(function, {"login": LOGIN, "password": PASSWORD}, POWERTOOLS_LOGGER_LOG_EVENT="true")
    else:
        params = {"report_id": world.report_id, "format": "pdf"} if function == contract.DOWNLOAD else {}
        headers = {"Authorization": f"NVX {OWNER.hash}"}
        body = {**params, "hash": ACCESS.demo_mode_hash}
        lambdas.api(function, body, headers=headers, POWERTOOLS_LOGGER_LOG_EVENT="true")
    # Then the event is not in the logs (which saw the function's store calls), nor any secret
    assert "DynamoDB" in net.text() and '"httpMethod"' not in net.text()
    assert net.leaks(SECRETS) == []


def test_the_template_turns_on_no_request_logging(template: dict[str, Any]) -> None:
    # Given the template's API stage and functions
    resources = template["Resources"]
    api = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::Serverless::Api")
    # Then API Gateway logs no request data (DataTraceEnabled would log whole requests)
    assert not any(setting.get("DataTraceEnabled") for setting in api.get("MethodSettings", []))
    access_format = str(api.get("AccessLogSetting", {}).get("Format", ""))
    assert "$input" not in access_format and "querystring" not in access_format.lower()
    # And no function switches Powertools' event logging on
    env = json.dumps([r.get("Properties", {}).get("Environment") for r in resources.values()])
    env += json.dumps(template.get("Globals", {}))
    assert "POWERTOOLS_LOGGER_LOG_EVENT" not in env
