"""Unit tests run without a network (:mod:`tests.support.network`): a socket fails loudly.

A test that needs one (moto's server, the local stack, a real endpoint) belongs in tests/functions
or tests/local; tests/unit/test_house_rules.py proves the block holds.
"""

from __future__ import annotations

import pytest

from tests.support.network import block_sockets


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unit test: no new socket, no connection, no name resolution."""
    block_sockets(monkeypatch)
