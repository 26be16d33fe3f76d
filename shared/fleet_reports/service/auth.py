"""Who is calling: sessions, API keys, sub-users and their rights."""

from __future__ import annotations

import contextvars
import math
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from aws_lambda_powertools import Logger

from fleet_reports.errors import CODES, ApiError, ErrorCode
from fleet_reports.service.passwords import check_password
from fleet_reports.settings import get_settings
from fleet_reports.store import attempts, fleet
from fleet_reports.store.errors import StoreError
from fleet_reports.store.records import CredentialRecord, UserRecord

logger = Logger(child=True)
R = TypeVar("R")


@dataclass(frozen=True)
class Principal:
    """The authenticated (sub-)user. ``pool`` is its own report pool.

    ``caller`` is whose requests these count as (service.limits): the user, for its sessions
    together, or the API key, which has a count of its own (as on Navixy)."""

    user: UserRecord
    master_id: int
    caller: str = ""

    @property
    def pool(self) -> int:
        return self.user.user_id

    @property
    def is_sub_user(self) -> bool:
        return self.user.parent_id is not None

    @property
    def demo(self) -> bool:
        return self.user.demo

    def has_right(self, right: str) -> bool:
        return not self.is_sub_user or right in self.user.rights

    def can_see(self, tracker_owner: int, tracker_id: int) -> bool:
        if tracker_owner != self.master_id:
            return False
        return not self.is_sub_user or tracker_id in self.user.trackers


def authenticate(credential: str | None) -> Principal:
    """Code 4 for no, unknown or ended credentials; 11 for a blocked user."""
    principal, _ = authenticate_with(credential, None)
    return principal


def authenticate_with(credential: str | None, alongside: Callable[[str], R] | None) -> tuple[Principal, R | None]:
    """:func:`authenticate`, running ``alongside(caller)`` (``Principal.caller``: the request's
    count, :mod:`fleet_reports.service.limits`) while the user is read; its result too.

    Three store reads in two steps: the credential, then the user with its master together (the
    credential names the master it was made for; when the user's own ``parent_id`` says
    otherwise, that master is read too). ``alongside`` runs once the credential is known (a
    request of an unknown credential counts nowhere) and is finished before this returns, also
    when the user turns out blocked.
    """
    if not credential:
        raise ApiError(4)
    cred = fleet.get_credential(credential)
    if cred is None:
        raise ApiError(4)
    caller = f"KEY#{fleet.digest(credential)[:32]}" if cred.kind == "api_key" else f"USER#{cred.user_id}"
    side = _beside(alongside, caller) if alongside is not None else None
    try:
        users = fleet.get_users([cred.user_id, *([cred.master_id] if cred.master_id is not None else [])])
    finally:
        result = side.result() if side is not None else None
    user = users.get(cred.user_id)
    if user is None:
        raise ApiError(4)
    master_id = user.parent_id if user.parent_id is not None else user.user_id
    if user.blocked:
        raise ApiError(11, "Access denied: the user is blocked")
    if user.parent_id is not None:
        master = users[user.parent_id] if user.parent_id in users else fleet.get_user(user.parent_id)
        if master is None or master.blocked:
            raise ApiError(11, "Access denied: the master user is blocked")
    return Principal(user=user, master_id=master_id, caller=caller), result


@cache
def _threads() -> ThreadPoolExecutor:
    """Threads for work beside a request's own reads (made on first use; grown on demand)."""
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="beside")


def _beside(work: Callable[[str], R], arg: str) -> Future[R]:
    """``work(arg)`` started in another thread, with this one's log keys (a context variable)."""
    return _threads().submit(contextvars.copy_context().run, work, arg)


def require_right(principal: Principal, right: str) -> None:
    if not principal.has_right(right):
        raise ApiError(13, f"Operation not permitted: the sub-user lacks the '{right}' right")


NOBODY = 0
"""A user id no user has (ids are positive): what an unknown login reads, so that it makes the same
store calls as a known one."""

MAX_LOCK_DOUBLINGS = 30
"""Bounds the exponent of the back-off (the lock is capped by ``LoginLockoutMaxSeconds`` long before)."""


@dataclass(frozen=True)
class _Counted:
    """Failed sign-ins counted under one key: a login, or a client address."""

    key: str
    allowed: int
    limit: str  # as the error names it (``limit`` in the envelope)
    whose: str


def _counted(login_name: str, address: str | None) -> list[_Counted]:
    settings = get_settings()
    out = [
        _Counted(
            attempts.login_key(login_name), settings.login_attempt_limit, "sign_in_failures_per_login", "for this login"
        )
    ]
    if address:
        out.append(
            _Counted(
                attempts.address_key(address),
                settings.address_attempt_limit,
                "sign_in_failures_per_address",
                "from this address",
            )
        )
    return out


def _seen(counted: list[_Counted], now: float) -> dict[str, attempts.Attempts]:
    """Each key's failures so far; none when they cannot be read (logged: the limit must not
    become the outage, as for service.limits)."""
    out: dict[str, attempts.Attempts] = {}
    for c in counted:
        try:
            out[c.key] = attempts.read(c.key, now)
        except StoreError:
            logger.warning("sign-in attempts could not be read; not limited", extra={"limit": c.limit})
            out[c.key] = attempts.Attempts()
    return out


def _refuse_if_locked(counted: list[_Counted], seen: dict[str, attempts.Attempts], now: float) -> None:
    """Error 15 (HTTP 429, ``Retry-After``) while a login or address is locked: the password is not
    even checked, so a locked guesser learns nothing, whether the login exists or not."""
    locked = [(seen[c.key].locked_for(now), c) for c in counted if seen[c.key].locked_for(now) > 0]
    if not locked:
        return
    wait, c = max(locked, key=lambda pair: pair[0])
    retry_after = max(1, math.ceil(wait))
    logger.info("sign-in refused: locked", extra={"limit": c.limit, "retry_after": retry_after})
    raise ApiError(
        ErrorCode.TOO_MANY_REQUESTS,
        f"{CODES[ErrorCode.TOO_MANY_REQUESTS][0]}: {seen[c.key].n} failed sign-ins in a row {c.whose}; "
        f"try again in {retry_after} s",
        extra={"limit": c.limit, "retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def lock_seconds(failures: int, allowed: int, longest: int) -> int:
    """The lock after ``failures`` in a row: none below ``allowed``, then 1 s, doubling with each
    further failure, never longer than ``longest``."""
    if failures < allowed:
        return 0
    return int(min(2 ** min(failures - allowed, MAX_LOCK_DOUBLINGS), longest))


def _failed(counted: list[_Counted], now: float) -> None:
    """Count the failure under every key; lock those now at or over their limit."""
    longest = get_settings().login_lockout_max_seconds
    for c in counted:
        try:
            n = attempts.fail(c.key, now, forget_s=longest).n
            seconds = lock_seconds(n, c.allowed, longest)
            if seconds:
                attempts.lock(c.key, math.ceil((now + seconds) * 1000), forget_s=longest)
                logger.info("sign-in locked", extra={"limit": c.limit, "failures": n, "seconds": seconds})
        except StoreError:
            logger.warning("a failed sign-in could not be counted", extra={"limit": c.limit})


def login(login_name: str, password: str, address: str | None = None) -> str:
    """A new 30-day session hash; code 102 for a wrong login or password, 15 while locked.

    An unknown login costs what a wrong password costs (the same store reads, one password
    derivation: service.passwords.check_password). Failed sign-ins are counted per login and per
    client ``address`` (store.attempts); from ``LoginAttemptLimit`` (per login) or
    ``AddressAttemptLimit`` (per address) failures in a row on, each failure locks the login or
    address: 1 s, doubling with each further failure, at most ``LoginLockoutMaxSeconds``. So a
    lock always ends, and the right password then signs in and clears the login's count (not the
    address's: a guesser must not clear it with an account of its own)."""
    now = attempts.clock()
    counted = _counted(login_name, address)
    seen = _seen(counted, now)
    _refuse_if_locked(counted, seen, now)
    user_id = fleet.user_id_for_login(login_name)
    user = fleet.get_user(user_id if user_id is not None else NOBODY)
    if user_id is None:
        user = None
    if not check_password(password, user.password_hash if user is not None else None) or user is None:
        _failed(counted, now)
        raise ApiError(102)
    login_count = counted[0]
    if seen[login_count.key].n:
        try:
            attempts.clear(login_count.key, now)
        except StoreError:
            logger.warning("a login's failed sign-ins could not be cleared", extra={"limit": login_count.limit})
    if user.blocked:
        raise ApiError(11, "Access denied: the user is blocked")
    secret = secrets.token_hex(16)
    now_s = int(time.time())
    fleet.put_credential(
        secret,
        CredentialRecord(
            user_id=user.user_id,
            kind="session",
            created=now_s,
            expires=now_s + get_settings().session_days * 86400,
            master_id=user.parent_id,
        ),
    )
    return secret


def logout(credential: str | None) -> None:
    """End the session; API keys are not ended by logout (code 4 if there is no session)."""
    if not credential:
        raise ApiError(4)
    cred = fleet.get_credential(credential)
    if cred is None:
        raise ApiError(4)
    if cred.kind == "session":
        fleet.delete_credential(credential)
