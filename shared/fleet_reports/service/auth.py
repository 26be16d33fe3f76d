"""Who is calling: sessions, API keys, sub-users and their rights."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from fleet_reports.errors import ApiError
from fleet_reports.service.passwords import verify_password
from fleet_reports.settings import get_settings
from fleet_reports.store import fleet
from fleet_reports.store.records import CredentialRecord, UserRecord


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
    if not credential:
        raise ApiError(4)
    cred = fleet.get_credential(credential)
    if cred is None:
        raise ApiError(4)
    user = fleet.get_user(cred.user_id)
    if user is None:
        raise ApiError(4)
    master_id = user.parent_id if user.parent_id is not None else user.user_id
    if user.blocked:
        raise ApiError(11, "Access denied: the user is blocked")
    if user.parent_id is not None:
        master = fleet.get_user(user.parent_id)
        if master is None or master.blocked:
            raise ApiError(11, "Access denied: the master user is blocked")
    caller = f"KEY#{fleet.digest(credential)[:32]}" if cred.kind == "api_key" else f"USER#{user.user_id}"
    return Principal(user=user, master_id=master_id, caller=caller)


def require_right(principal: Principal, right: str) -> None:
    if not principal.has_right(right):
        raise ApiError(13, f"Operation not permitted: the sub-user lacks the '{right}' right")


def login(login_name: str, password: str) -> str:
    """A new 30-day session hash; code 102 for a wrong login or password."""
    user_id = fleet.user_id_for_login(login_name)
    user = fleet.get_user(user_id) if user_id is not None else None
    if user is None or not user.password_hash or not verify_password(password, user.password_hash):
        raise ApiError(102)
    if user.blocked:
        raise ApiError(11, "Access denied: the user is blocked")
    secret = secrets.token_hex(16)
    now = int(time.time())
    fleet.put_credential(
        secret,
        CredentialRecord(
            user_id=user.user_id,
            kind="session",
            created=now,
            expires=now + get_settings().session_days * 86400,
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
