"""``/user/auth`` against a guesser: it does not tell which logins exist, and it locks.

* An unknown login and a known one with a wrong password do the same work: the same store reads
  and one password derivation each (time is not asserted here; ``bench/bench_auth.py`` measures it).
* Failed sign-ins are counted per login (``LoginAttemptLimit``) and per client address
  (``AddressAttemptLimit``); from the limit on, each failure locks: error 15, HTTP 429 with
  ``Retry-After``, in the envelope, naming the limit. The lock is 1 s and doubles with each further
  failure, at most ``LoginLockoutMaxSeconds``: it always ends, and the right password then signs in.

The lock's clock is frozen (``store.attempts.clock``) so that no lock ends in the middle of a test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from fleet_reports.demo import ACCESS

from tests.support.clock import Clock
from tests.support.lambdas import Lambdas

FROZEN = 1_900_000_000.25
OWNER, PASSWORD = ACCESS.owner_login, ACCESS.owner_password
OTHER_LOGIN, OTHER_PASSWORD = "second@fleet.example", "second-password"
HOME, ELSEWHERE = "198.51.100.7", "203.0.113.9"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from fleet_reports.store import attempts

    frozen = Clock(FROZEN)
    monkeypatch.setattr(attempts, "clock", frozen)
    return frozen


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the password derivations (scrypt) the sign-ins make."""
    from fleet_reports.service import passwords

    calls: list[int] = []
    real = passwords._derive

    def counted(*args: Any) -> bytes:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(passwords, "_derive", counted)
    return calls


def sign_in(
    demo: Lambdas, login: str, password: str, address: str = HOME, **env: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """``POST /user/auth`` from ``address``: (HTTP status, body, headers)."""
    from fleet_reports.local.gateway import api_event

    body = json.dumps({"login": login, "password": password}).encode()
    event = api_event("POST", "/user/auth", "", {"Content-Type": "application/json"}, body, address)
    result = demo.invoke("AuthFunction", event, **env)
    headers = {k.lower(): v[-1] for k, v in (result.get("multiValueHeaders") or {}).items() if v}
    return int(result["statusCode"]), json.loads(result["body"]), headers


def code(answer: tuple[int, dict[str, Any], dict[str, str]]) -> tuple[int, int]:
    status, body, _ = answer
    return status, 0 if body["success"] else int(body["status"]["code"])


def add_second_user(demo: Lambdas) -> None:
    from fleet_reports.service.passwords import hash_password
    from fleet_reports.store import fleet
    from fleet_reports.store.records import UserRecord

    demo.use_env("AuthFunction")
    fleet.put_user(UserRecord(user_id=424_242, login=OTHER_LOGIN, password_hash=hash_password(OTHER_PASSWORD)))


# ============================================================================ the same work


def test_an_unknown_login_does_the_work_of_a_wrong_password(
    demo: Lambdas, clock: Clock, derivations: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the store's fleet reads counted
    from fleet_reports.store import fleet

    reads: list[str] = []
    real_get = fleet._get

    def counted_get(pk: str, sk: str) -> dict[str, Any] | None:
        reads.append(pk.split("#", 1)[0])
        return real_get(pk, sk)

    monkeypatch.setattr(fleet, "_get", counted_get)

    # When a known login signs in with a wrong password, and then an unknown login
    known = sign_in(demo, OWNER, "not-the-password")
    known_work = (len(derivations), list(reads))
    derivations.clear()
    reads.clear()
    unknown = sign_in(demo, "nobody@fleet.example", "not-the-password", address=ELSEWHERE)
    unknown_work = (len(derivations), list(reads))

    # Then both answer the same 102, in the same words
    assert (
        known[:2]
        == unknown[:2]
        == (400, {"success": False, "status": {"code": 102, "description": "Wrong login or password"}})
    )
    # And both derived the password once and read the same kinds of items (the login, then a user)
    assert known_work == unknown_work == (1, ["LOGIN", "USER"])


def test_a_user_without_a_password_costs_one_derivation_too(
    demo: Lambdas, clock: Clock, derivations: list[int]
) -> None:
    # Given a user whose password was never set
    from fleet_reports.store import fleet
    from fleet_reports.store.records import UserRecord

    demo.use_env("AuthFunction")
    fleet.put_user(UserRecord(user_id=515_151, login="unset@fleet.example"))

    # When someone signs in as it with any password
    answer = sign_in(demo, "unset@fleet.example", "anything")

    # Then it is a wrong login (102), after one derivation against the dummy hash
    assert code(answer) == (400, 102)
    assert len(derivations) == 1


def test_the_dummy_hash_has_the_cost_of_a_real_one() -> None:
    # Given a freshly made hash and the dummy one
    from fleet_reports.service.passwords import DUMMY_HASH, check_password, hash_password

    real = hash_password("whatever")

    # Then the dummy names the same scheme and cost (only salt and key differ), and matches nothing
    assert DUMMY_HASH.split("$")[:4] == real.split("$")[:4]
    assert not check_password("", None) and not check_password("whatever", "")


# ============================================================================ per login


def test_a_login_is_locked_after_the_limit_and_the_lock_refuses_even_the_right_password(
    demo: Lambdas, clock: Clock, derivations: list[int]
) -> None:
    # Given 3 failed sign-ins allowed per login
    env = {"LOGIN_ATTEMPT_LIMIT": "3"}

    # When the owner's login gets 3 wrong passwords
    wrong = [code(sign_in(demo, OWNER, f"guess-{n}", **env)) for n in range(3)]
    derivations.clear()

    # And then the right one, within the lock
    status, body, headers = sign_in(demo, OWNER, PASSWORD, **env)

    # Then the guesses were each a 102, and the next attempt is refused in the envelope: 15 naming
    # the limit, HTTP 429 with Retry-After, without checking the password at all
    assert wrong == [(400, 102)] * 3
    assert (status, body["status"]["code"], body["limit"], body["retry_after"]) == (
        429,
        15,
        "sign_in_failures_per_login",
        1,
    )
    assert body["status"]["description"].startswith("Too many requests (rate limit exceeded): 3 failed sign-ins")
    assert headers["retry-after"] == "1"
    assert derivations == []


def test_an_unknown_login_is_locked_exactly_like_a_known_one(demo: Lambdas, clock: Clock) -> None:
    # Given 3 failed sign-ins allowed per login
    env = {"LOGIN_ATTEMPT_LIMIT": "3"}

    # When an unknown login and the owner's each get 4 wrong passwords (from addresses of their own)
    unknown = [sign_in(demo, "nobody@fleet.example", f"guess-{n}", address=ELSEWHERE, **env) for n in range(4)]
    known = [sign_in(demo, OWNER, f"guess-{n}", **env) for n in range(4)]

    # Then the answers are the same, one by one: the lock does not tell which login exists
    assert [(s, b) for s, b, _ in unknown] == [(s, b) for s, b, _ in known]
    assert [code(a) for a in known] == [(400, 102)] * 3 + [(429, 15)]


def test_the_right_password_signs_in_once_the_lock_ends_and_clears_the_count(demo: Lambdas, clock: Clock) -> None:
    # Given the owner's login locked by 3 wrong passwords (limit 3), and another user beside it
    env = {"LOGIN_ATTEMPT_LIMIT": "3"}
    add_second_user(demo)
    for n in range(3):
        sign_in(demo, OWNER, f"guess-{n}", **env)
    _, body, _ = sign_in(demo, OWNER, PASSWORD, **env)
    assert body["status"]["code"] == 15

    # When the other user signs in meanwhile, from the same address
    other = sign_in(demo, OTHER_LOGIN, OTHER_PASSWORD, **env)

    # And the owner tries again once Retry-After has passed
    clock.advance(body["retry_after"])
    status, owner, _ = sign_in(demo, OWNER, PASSWORD, **env)

    # Then the other user was never held up, and the owner signs in with a working session
    assert code(other) == (200, 0)
    assert (status, owner["success"], owner["type"]) == (200, True, "authenticated")
    listed, _, _ = demo.api("ListFunction", {"hash": owner["hash"]})
    assert listed == 200

    # And its count starts again: 2 more wrong passwords are plain 102s, not a lock
    assert [code(sign_in(demo, OWNER, f"again-{n}", **env)) for n in range(2)] == [(400, 102)] * 2
    assert code(sign_in(demo, OWNER, PASSWORD, **env)) == (200, 0)


def test_the_back_off_doubles_and_is_bounded(demo: Lambdas, clock: Clock) -> None:
    # Given 2 failed sign-ins allowed per login and locks of at most 4 s
    env = {"LOGIN_ATTEMPT_LIMIT": "2", "LOGIN_LOCKOUT_MAX_SECONDS": "4"}
    for n in range(2):
        sign_in(demo, OWNER, f"guess-{n}", **env)

    # When a guesser tries again each time its lock ends, 4 times over
    waits: list[int] = []
    for n in range(4):
        _, body, headers = sign_in(demo, OWNER, f"more-{n}", **env)
        assert body["status"]["code"] == 15, body
        waits.append(int(headers["retry-after"]))
        clock.advance(waits[-1])
        assert code(sign_in(demo, OWNER, f"more-{n}", **env)) == (400, 102)

    # Then each lock doubled the last, up to the bound, and no further
    assert waits == [1, 2, 4, 4]

    # And the owner, arriving when the last lock ends, signs in
    clock.advance(4)
    assert code(sign_in(demo, OWNER, PASSWORD, **env)) == (200, 0)


def test_a_count_is_forgotten_after_a_quiet_while(demo: Lambdas, clock: Clock) -> None:
    # Given 2 wrong passwords for the owner's login (limit 3, counts kept 60 s)
    env = {"LOGIN_ATTEMPT_LIMIT": "3", "LOGIN_LOCKOUT_MAX_SECONDS": "60"}
    for n in range(2):
        sign_in(demo, OWNER, f"guess-{n}", **env)

    # When nothing happens for 60 s and 2 more wrong passwords follow
    clock.advance(60)
    later = [code(sign_in(demo, OWNER, f"later-{n}", **env)) for n in range(2)]

    # Then they count from zero: no lock
    assert later == [(400, 102)] * 2
    assert code(sign_in(demo, OWNER, PASSWORD, **env)) == (200, 0)


# ============================================================================ per address


def test_an_address_spraying_many_logins_is_locked_and_others_are_not(demo: Lambdas, clock: Clock) -> None:
    # Given 3 failed sign-ins allowed per address (and many per login)
    env = {"ADDRESS_ATTEMPT_LIMIT": "3", "LOGIN_ATTEMPT_LIMIT": "100"}

    # When one address tries 3 different logins, then the owner's with the right password
    sprayed = [code(sign_in(demo, f"user{n}@fleet.example", "guess", **env)) for n in range(3)]
    status, body, headers = sign_in(demo, OWNER, PASSWORD, **env)

    # Then the address is locked (15, naming the per-address limit), whatever login it names
    assert sprayed == [(400, 102)] * 3
    assert (status, body["status"]["code"], body["limit"], headers["retry-after"]) == (
        429,
        15,
        "sign_in_failures_per_address",
        "1",
    )
    # And the owner signs in from elsewhere meanwhile
    assert code(sign_in(demo, OWNER, PASSWORD, address=ELSEWHERE, **env)) == (200, 0)


def test_a_success_does_not_clear_its_address_count(demo: Lambdas, clock: Clock) -> None:
    # Given an address with 2 failed sign-ins (limit 3) that also owns an account
    env = {"ADDRESS_ATTEMPT_LIMIT": "3", "LOGIN_ATTEMPT_LIMIT": "100"}
    add_second_user(demo)
    for n in range(2):
        sign_in(demo, f"user{n}@fleet.example", "guess", **env)

    # When it signs in to its own account, then guesses once more
    own = code(sign_in(demo, OTHER_LOGIN, OTHER_PASSWORD, **env))
    guess = code(sign_in(demo, "user9@fleet.example", "guess", **env))

    # Then its own sign-in worked, but did not wipe its count: the address is now locked
    assert (own, guess) == ((200, 0), (400, 102))
    assert code(sign_in(demo, OTHER_LOGIN, OTHER_PASSWORD, **env)) == (429, 15)


def test_an_ipv6_client_is_counted_by_its_network() -> None:
    # Given two addresses of one IPv6 /64, one of another, and two IPv4 addresses
    from fleet_reports.store.attempts import address_key

    key: Callable[[str], str] = address_key

    # Then the /64 is one count, the other network another; IPv4 addresses count one by one
    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9") != key("2001:db8:1:3::1")
    assert key("192.0.2.1") != key("192.0.2.2")
    # And no key holds the address itself
    assert "192.0.2.1" not in key("192.0.2.1")


# ============================================================================ the back-off itself


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (9, 0), (10, 1), (11, 2), (12, 4), (19, 512), (20, 900), (10_000, 900)],
)
def test_lock_seconds(failures: int, seconds: int) -> None:
    # Given 10 failures allowed and locks of at most 900 s
    from fleet_reports.service.auth import lock_seconds

    # Then no lock below the limit, 1 s at it, doubling after, bounded
    assert lock_seconds(failures, 10, 900) == seconds
