"""Password hashing with the standard library's scrypt (never stored in clear).

Every check costs one scrypt derivation (:func:`_derive`), whether or not there is a hash to
check against: :func:`check_password` derives against :data:`DUMMY_HASH` when the login is
unknown or the user has no password, so that ``/user/auth`` answers a wrong login as slowly as a
wrong password and its time does not tell which logins exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_N, _R, _P = 2**14, 8, 1

DUMMY_HASH = f"scrypt${_N}${_R}${_P}$CZ6RzmEF3nIvIrr2KWxZbg==$+IXTCMTsL3XqRYKZD47hT2/aFttUHoq43JFAzo3dMGA="
"""A hash of the current cost made from random bytes (no password is known to give its key): what
an unknown login's password is checked against. A literal, so nothing is derived at import."""


def _derive(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """The one costly step of hashing and checking (tests count its calls)."""
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    key = _derive(password, salt, _N, _R, _P, 32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, key_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
        probe = _derive(password, salt, int(n), int(r), int(p), len(key))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(probe, key)


def check_password(password: str, stored: str | None) -> bool:
    """``password`` against ``stored``; with no hash (an unknown login, a user without a password)
    the same work against :data:`DUMMY_HASH`, and False."""
    if not stored:
        verify_password(password, DUMMY_HASH)
        return False
    return verify_password(password, stored)
