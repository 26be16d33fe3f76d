"""No network for unit tests: opening, connecting or resolving a socket fails loudly.

``tests/unit/conftest.py`` applies :func:`block_sockets` to every unit test. A test that needs a
socket (moto's server, the local stack, a real endpoint) is not a unit test: it belongs in
tests/functions or tests/local. Sockets handed over by the operating system (``socket.socketpair``,
an inherited file descriptor) are left alone.
"""

from __future__ import annotations

import socket
from typing import Any, NoReturn

import pytest


class SocketBlockedError(RuntimeError):
    """A unit test tried to use the network (not an ``OSError``, so no retry loop swallows it)."""


def refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise SocketBlockedError(
        "unit tests run with sockets disabled (tests/unit/conftest.py): "
        "a test that needs the network belongs in tests/functions or tests/local"
    )


def block_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until ``monkeypatch`` undoes it: no new socket, no connection, no name resolution."""
    init = socket.socket.__init__

    def guarded_init(
        self: socket.socket, family: Any = -1, kind: Any = -1, proto: Any = -1, fileno: Any = None
    ) -> None:
        if fileno is None:
            refuse()
        init(self, family, kind, proto, fileno)

    monkeypatch.setattr(socket.socket, "__init__", guarded_init)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    monkeypatch.setattr(socket, "gethostbyname_ex", refuse)
