"""Who is calling: a credential, its user and the user's master, read in two store steps.

The credential names the master it was made for (a sign-in and the fleet manifest's API keys
write it), so that the user and its master are read in one batch request, while the request is
counted (the caller is known from the credential). The name is a hint: the user's own
``parent_id`` decides whose block applies, and a credential that names none (or another) still
gets the user's real master checked.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fleet_reports.demo import ACCESS, OTHER_ID, OWNER_ID, RUSSIAN_ID

from tests.support.clock import Clock
from tests.support.lambdas import Lambdas

BLOCKED = "Access denied: the user is blocked"
MASTER_BLOCKED = "Access denied: the master user is blocked"


def session(demo: Lambdas, user_id: int, master_id: int | None) -> str:
    """A session of ``user_id`` whose credential names ``master_id``."""
    from fleet_reports.store import fleet
    from fleet_reports.store.records import CredentialRecord

    demo.use_env("AuthFunction")
    secret = secrets.token_hex(16)
    now = int(time.time())
    record = CredentialRecord(user_id=user_id, kind="session", created=now, expires=now + 3600, master_id=master_id)
    fleet.put_credential(secret, record)
    return secret


def block(demo: Lambdas, user_id: int, blocked: bool = True) -> None:
    from fleet_reports.store import fleet

    demo.use_env("AuthFunction")
    user = fleet.get_user(user_id)
    assert user is not None
    fleet.put_user(user.model_copy(update={"blocked": blocked}), previous=user)


def listing(demo: Lambdas, hash_: str) -> tuple[int, int | None, str | None]:
    """(HTTP status, error code or None, error description or None) of /report/tracker/list."""
    status, body, _ = demo.api("ListFunction", {"hash": hash_})
    error = body.get("status") or {}
    return status, error.get("code"), error.get("description")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, list[str]]]]:
    """Every read of the fleet table: ("get", [its partition]) or ("batch", [each key's partition])."""
    from fleet_reports.store import fleet

    seen: list[tuple[str, list[str]]] = []
    get, batch = fleet._get, fleet._batch_get

    def one(pk: str, sk: str) -> dict[str, Any] | None:
        seen.append(("get", [pk]))
        return get(pk, sk)

    def many(keys: list[tuple[str, str]], *args: Any) -> list[dict[str, Any]]:
        seen.append(("batch", [pk for pk, _ in keys]))
        return batch(keys, *args)

    monkeypatch.setattr(fleet, "_get", one)
    monkeypatch.setattr(fleet, "_batch_get", many)
    yield seen


def test_a_sub_users_key_reads_the_user_and_its_master_in_one_request(
    demo: Lambdas, reads: list[tuple[str, list[str]]]
) -> None:
    # Given a sub-user's API key, as the fleet manifest stored it
    # When it lists its reports
    status, code, _ = listing(demo, ACCESS.russian_user_hash)

    # Then it is answered, after two fleet reads: the credential, then the user and its master together
    assert (status, code) == (200, None)
    assert reads[0][0] == "get" and reads[0][1][0].startswith("CRED#")
    assert reads[1] == ("batch", [f"USER#{RUSSIAN_ID}", f"USER#{OWNER_ID}"])
    assert len(reads) == 2


def test_a_sign_in_names_the_sub_users_master_on_its_session(demo: Lambdas) -> None:
    # Given a sub-user with a password
    from fleet_reports.service.passwords import hash_password
    from fleet_reports.store import fleet

    demo.use_env("AuthFunction")
    user = fleet.get_user(RUSSIAN_ID)
    assert user is not None
    fleet.put_user(user.model_copy(update={"password_hash": hash_password("s3cret-words")}), previous=user)

    # When it signs in
    status, body, _ = demo.api("AuthFunction", {"login": user.login, "password": "s3cret-words"})
    assert (status, body["success"]) == (200, True), body

    # Then its session names its master
    credential = fleet.get_credential(body["hash"])
    assert credential is not None
    assert (credential.user_id, credential.master_id) == (RUSSIAN_ID, OWNER_ID)


def test_a_blocked_user_is_refused_with_11(demo: Lambdas) -> None:
    # Given a sub-user that is blocked
    block(demo, RUSSIAN_ID)

    # When it calls, Then 11 says it is blocked
    assert listing(demo, ACCESS.russian_user_hash) == (403, 11, BLOCKED)


def test_a_sub_user_whose_master_is_blocked_is_refused_with_11(demo: Lambdas) -> None:
    # Given the sub-user's master blocked
    block(demo, OWNER_ID)

    # When the sub-user calls, Then 11 says its master is blocked
    assert listing(demo, ACCESS.russian_user_hash)[1:] == (11, MASTER_BLOCKED)

    # And once unblocked, it is answered again
    block(demo, OWNER_ID, blocked=False)
    assert listing(demo, ACCESS.russian_user_hash)[:2] == (200, None)


def test_the_users_own_master_decides_not_the_one_its_credential_names(demo: Lambdas) -> None:
    # Given a session of the sub-user naming another master (one it had before), that one blocked
    stale = session(demo, RUSSIAN_ID, master_id=OTHER_ID)
    block(demo, OTHER_ID)

    # When it calls, Then it is answered: its master is not blocked
    assert listing(demo, stale)[:2] == (200, None)

    # And when its own master is blocked and the named one is not, Then 11
    block(demo, OTHER_ID, blocked=False)
    block(demo, OWNER_ID)
    assert listing(demo, stale)[1:] == (11, MASTER_BLOCKED)


def test_a_credential_naming_no_master_still_has_the_sub_users_master_checked(
    demo: Lambdas, reads: list[tuple[str, list[str]]]
) -> None:
    # Given a sub-user's session that names no master (made before credentials named one)
    older = session(demo, RUSSIAN_ID, master_id=None)

    # When it calls with its master blocked, Then 11; unblocked, it is answered
    block(demo, OWNER_ID)
    assert listing(demo, older)[1:] == (11, MASTER_BLOCKED)
    block(demo, OWNER_ID, blocked=False)
    reads.clear()
    assert listing(demo, older)[:2] == (200, None)

    # And its master was read on its own, after the user
    assert ("get", [f"USER#{OWNER_ID}"]) in reads


def test_a_blocked_user_over_its_rate_is_told_it_is_blocked(demo: Lambdas, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a sub-user's key at a limit of one request a second, its one request used, and the user then blocked
    from fleet_reports.store import ratelimit

    monkeypatch.setattr(ratelimit, "_clock", Clock(1_900_000_000.25))  # one second throughout
    assert demo.api("ListFunction", {"hash": ACCESS.russian_user_hash}, CALLER_RATE_LIMIT="1")[0] == 200
    block(demo, RUSSIAN_ID)

    # When it calls again within the second
    status, body, _ = demo.api("ListFunction", {"hash": ACCESS.russian_user_hash}, CALLER_RATE_LIMIT="1")

    # Then who it is comes first: 11, not 15
    assert (status, body["status"]["code"]) == (403, 11), body

    # And unblocked, it is over its rate for the rest of the second: 15
    block(demo, RUSSIAN_ID, blocked=False)
    status, body, _ = demo.api("ListFunction", {"hash": ACCESS.russian_user_hash}, CALLER_RATE_LIMIT="1")
    assert (status, body["status"]["code"]) == (429, 15), body
