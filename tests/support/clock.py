"""A clock the test moves by hand, to put in place of a module's time function."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
