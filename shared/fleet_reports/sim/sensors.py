"""The simulated sensors: fuel level, temperature and a generic analog input (e.g. board voltage).

Each sensor is a small frozen description given to :class:`~fleet_reports.sim.drive.Scenario`;
:func:`sensor_values` computes what each one reads at the sampled fixes, from the true motion
(distance driven, idling time, ignition) and the refuels told.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from fleet_reports.sim.motion import EPS_S, Knots
from fleet_reports.sim.sampling import Fixes
from fleet_reports.sim.truth import TruthRefuel

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FuelSensor:
    """Fuel level in litres: burns ``l_per_100km`` while driving and ``idle_l_per_h`` while
    standing with the ignition on; :meth:`Scenario.refuel` fills it during a parking."""

    input_name: str = "fuel"
    start_l: float = 40.0
    capacity_l: float = 60.0
    l_per_100km: float = 7.0
    idle_l_per_h: float = 0.8
    noise_l: float = 0.3  # doubled while moving (sloshing)


@dataclass(frozen=True)
class TemperatureSensor:
    """Temperature in °C: a slow sinusoid over absolute time (continuous across scenarios)."""

    input_name: str = "temp1"
    mean_c: float = 4.0
    amplitude_c: float = 1.5
    period_h: float = 6.0
    phase_rad: float = 0.0
    noise_c: float = 0.1


@dataclass(frozen=True)
class MeteringSensor:
    """A generic analog input, e.g. board voltage: ``off_value`` with the ignition off,
    ``on_value`` with it on (the internal ignition state, reported or not), plus noise."""

    input_name: str = "power"
    off_value: float = 12.4
    on_value: float = 14.1
    noise: float = 0.05
    decimals: int = 2


SensorSim = FuelSensor | TemperatureSensor | MeteringSensor


class Refuel(NamedTuple):
    """A refuel told by :meth:`~fleet_reports.sim.drive.Scenario.refuel` (seconds from the
    scenario start; ``litres=None``: fill up to the capacity)."""

    start: float
    end: float
    litres: float | None
    lat: float
    lng: float


def sensor_values(
    sensors: Sequence[SensorSim],
    refuels_told: Sequence[Refuel],
    fixes: Fixes,
    knots: Knots,
    rng: np.random.Generator,
    *,
    noise: bool,
    start_ms: int,
) -> tuple[dict[str, F64], list[TruthRefuel]]:
    """Each sensor's values at the fixes, and the refuels as the truth tells them (what went
    into the tank)."""
    t_ms, tr = fixes.t_ms, fixes.tr
    out: dict[str, F64] = {}
    refuels: list[TruthRefuel] = []
    n = t_ms.shape[0]
    kt = knots.t
    idle_seg = (knots.v == 0) & (knots.a == 0) & knots.ignition
    idle_cum = np.concatenate(([0.0], np.cumsum(np.diff(kt) * idle_seg[:-1])))

    def ms(seconds: float) -> int:
        return start_ms + round(seconds * 1000.0)

    def idle_s(at: F64) -> F64:
        j = np.clip(np.searchsorted(kt, at + EPS_S, side="right") - 1, 0, kt.shape[0] - 1)
        res: F64 = idle_cum[j] + np.where(idle_seg[j], at - kt[j], 0.0)
        return res

    def dist(at: F64) -> F64:
        return knots.at(at)[1]

    for sensor in sensors:
        if isinstance(sensor, FuelSensor):

            def burnt(at: F64, fs: FuelSensor = sensor) -> F64:
                res: F64 = fs.l_per_100km * dist(at) / 1e5 + fs.idle_l_per_h * idle_s(at) / 3600.0
                return res

            level = sensor.start_l - burnt(tr)
            added = 0.0
            for a, b, litres, lat, lng in sorted(refuels_told):
                before = sensor.start_l + added - float(burnt(np.array([a]))[0])
                room = max(0.0, sensor.capacity_l - before)
                got = room if litres is None else min(litres, room)
                level += got * np.clip((tr - a) / (b - a), 0.0, 1.0)
                added += got
                refuels.append(TruthRefuel(ms(a), ms(b), round(got, 3), lat, lng))
            if noise:
                level += rng.normal(0.0, sensor.noise_l, n) * np.where(fixes.standing, 1.0, 2.0)
            out[sensor.input_name] = np.clip(np.round(level, 1), 0.0, sensor.capacity_l)
        elif isinstance(sensor, TemperatureSensor):
            period_ms = sensor.period_h * 3.6e6
            temp = sensor.mean_c + sensor.amplitude_c * np.sin(2 * math.pi * t_ms / period_ms + sensor.phase_rad)
            if noise:
                temp = temp + rng.normal(0.0, sensor.noise_c, n)
            out[sensor.input_name] = np.round(temp, 1)
        else:
            value = np.where(fixes.ignition, sensor.on_value, sensor.off_value).astype(np.float64)
            if noise:
                value = value + rng.normal(0.0, sensor.noise, n)
            out[sensor.input_name] = np.round(value, sensor.decimals)
    return out, refuels
