"""A small progress bar for long CLI work (uploads, simulations), on stderr.

On a terminal it redraws one line; otherwise (CI logs, pipes) it prints a line every 10 %.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def _human(n: float, unit: str) -> str:
    if unit != "B":
        return f"{n:,.0f} {unit}".rstrip()
    for suffix in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or suffix == "GB":
            return f"{n:.1f} {suffix}" if suffix != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} GB"


class Progress:
    def __init__(self, total: float, label: str, *, unit: str = "B", stream: TextIO | None = None) -> None:
        self.total, self.label, self.unit = max(total, 0.0), label, unit
        self.stream = stream or sys.stderr
        self.done = 0.0
        self.started = time.monotonic()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_step = -1
        self._lock = threading.Lock()  # boto3 calls upload callbacks from several threads

    def advance(self, amount: float) -> None:
        with self._lock:
            self.done += amount
            self._draw()

    def _draw(self, final: bool = False) -> None:
        frac = min(1.0, self.done / self.total) if self.total else 1.0
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        text = (
            f"{self.label} [{'#' * int(frac * 30):<30}] {frac * 100:5.1f}% "
            f"{_human(self.done, self.unit)} / {_human(self.total, self.unit)}, {_human(rate, self.unit)}/s"
        )
        if self._tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
            self.stream.flush()
            return
        step = int(frac * 10)
        if step != self._last_step:
            self._last_step = step
            self.stream.write(text + "\n")
            self.stream.flush()

    def finish(self) -> None:
        with self._lock:
            self.done = max(self.done, self.total)
            if self._tty or self._last_step != 10:  # a log already has its 100 % line
                self._draw(final=True)
