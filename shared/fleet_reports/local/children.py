"""The local stack's child processes (moto's server, the worker pool): how the parent stops them,
and how a child ends with its parent, however the parent ended (``kill -9`` included)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterable
from typing import Any


def stop(children: Iterable[subprocess.Popen[Any]], timeout_s: float = 10) -> None:
    """SIGTERM to every child still running, then each waited for (killed after ``timeout_s``)
    and its pipes closed."""
    children = list(children)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()


def ended_by_parent() -> threading.Event:
    """In a child started with a pipe as its stdin: an event set when the parent goes away (the
    pipe closes when the parent exits, however it exits) or on SIGTERM. Call from the main thread."""
    done = threading.Event()

    def parent_gone() -> None:
        while os.read(0, 4096):  # the raw descriptor: no buffer lock held at interpreter exit
            pass
        done.set()

    threading.Thread(target=parent_gone, name="parent-gone", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    return done
