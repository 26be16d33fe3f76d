"""moto's server on 127.0.0.1 with the template's resources, as the local stack runs it (its
guards applied), for the tests that race real HTTP clients against it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.lambdas import BASE_ENV


@contextmanager
def moto_server_with_resources(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *, prefix: str, function: str = "ImportFunction"
) -> Iterator[Any]:
    """The server started, the template's resources created under ``prefix`` (moto's state is the
    process's: a prefix of its own keeps earlier tests' objects out of sight), and this process's
    environment that of ``function`` pointed at it; everything undone on exit."""
    from moto.server import ThreadedMotoServer

    from fleet_reports.local.moto_guards import atomic_conditional_writes
    from fleet_reports.local.resources import create_resources, function_environment
    from fleet_reports.settings import get_settings
    from fleet_reports.store.aws import reset_clients

    atomic_conditional_writes()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for k, v in BASE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    reset_clients()
    resources = create_resources(template, prefix=prefix)
    for k, v in function_environment(template, function, resources).items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        yield resources
    finally:
        server.stop()
        reset_clients()
        get_settings.cache_clear()
