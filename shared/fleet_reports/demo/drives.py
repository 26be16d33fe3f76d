"""The demo fleet's tracks: four vehicles around the south-west of Moscow Oblast.

Each tracker lives one *local* day (``DEMO_TIME_ZONE``) at a time: it starts parked where the
day before ended, drives road-like routes between named places (the same road every time it
takes that route), halts at lights, parks with GPS jitter, sometimes loses the signal, and is
back where its next day starts by midnight. A UTC day is cut from the local days that overlap
it, so consecutive ``demo_track`` days join into one continuous track (the device odometer and
the sensors included: the odometer is anchored on a date and advanced by each day's exact
driven distance; fuel is topped up at the end of each working day).

Tracker 669673 on 2020-10-06 (Moscow time) drives the seven trips of the API documentation's
``retrieve`` example (times within seconds, lengths to the metre of true path, max speeds
within a couple of km/h); 2020-10-05 and 2020-10-07 are ordinary days around it.

Everything is deterministic for (tracker, day, seed): day-level choices come from a counter-
based hash of the date, so no day depends on simulating the ones before it.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from fleet_reports.demo.fleet import DEMO_TIME_ZONE
from fleet_reports.demo.routes import SPOTS, crc, route, route_length_m
from fleet_reports.engine.model import Track
from fleet_reports.sim.drive import (
    FuelSensor,
    MeteringSensor,
    Scenario,
    SensorSim,
    TemperatureSensor,
    Truth,
)

F64 = npt.NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# How each tracker's days go
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stop:
    spot: str
    dwell_min: tuple[float, float]
    engine_on: float = 0.0  # probability that the engine keeps running there (reefer)


@dataclass(frozen=True)
class _Profile:
    home: str
    first_departure_h: tuple[float, float]
    cruise_kmh: float
    templates: tuple[tuple[_Stop, ...], ...]
    weekday_weights: tuple[float, ...]
    weekend_weights: tuple[float, ...]
    interval_s: float = 10.0
    park_interval_s: float | None = 60.0
    jitter_s: float = 0.0
    ignition: bool = True
    device_odometer: bool = True
    odometer_anchor_km: float = 100_000.0  # device odometer at the start of _ANCHOR_DAY
    sensors: tuple[SensorSim, ...] = ()
    refuel_daily: bool = False


_ANCHOR_DAY = dt.date(2020, 10, 7)


def _s(spot: str, lo: float, hi: float, engine_on: float = 0.0) -> _Stop:
    return _Stop(spot, (lo, hi), engine_on)


def _shifts(early: tuple[str, ...], late: tuple[str, ...]) -> tuple[_Stop, ...]:
    """A reefer's two shifts: deliveries (engine often left running for the cooling unit),
    then the shift change and loading at the cold store (engine off), then more deliveries."""
    first = tuple(_s(spot, 25, 50, 0.6) for spot in early)
    second = tuple(_s(spot, 25, 50, 0.6) for spot in late)
    return (*first, _s("cold_store", 90, 150), *second)


_PROFILES: dict[int, _Profile] = {
    669673: _Profile(
        home="selyatino",
        first_departure_h=(7.0, 9.5),
        cruise_kmh=92.0,
        templates=(
            (),
            (_s("serpukhov", 45, 120),),
            (_s("rassudovo", 10, 30), _s("troitsk", 60, 150)),
            (_s("naro_fominsk", 30, 90), _s("kubinka", 20, 60)),
            (_s("lesnoe_ozero", 60, 180), _s("serpukhov", 30, 60)),
            (_s("aprelevka", 20, 60), _s("rassudovo", 15, 40)),
        ),
        weekday_weights=(1, 3, 3, 2, 2, 2),
        weekend_weights=(6, 1, 1, 1, 1, 1),
        odometer_anchor_km=515_855.3,  # the seed's "Odometer value" at the end of 2020-10-06
        sensors=(MeteringSensor("power"),),
    ),
    123456: _Profile(
        home="cold_store",
        first_departure_h=(5.5, 6.5),
        cruise_kmh=85.0,
        templates=(
            (),
            _shifts(("vidnoye", "domodedovo", "podolsk", "troitsk"), ("aprelevka", "selyatino", "troitsk")),
            _shifts(("chekhov", "serpukhov", "podolsk"), ("domodedovo", "vidnoye", "podolsk")),
            _shifts(("troitsk", "selyatino", "aprelevka"), ("chekhov", "domodedovo", "vidnoye")),
        ),
        weekday_weights=(0.3, 3, 3, 3),
        weekend_weights=(4, 1, 1, 1),
        odometer_anchor_km=212_406.0,
        sensors=(
            TemperatureSensor("temp1", mean_c=3.0, amplitude_c=1.2, period_h=5.0, phase_rad=0.7),
            FuelSensor("fuel", start_l=80.0, capacity_l=80.0, l_per_100km=11.0, idle_l_per_h=1.6),
        ),
        refuel_daily=True,
    ),
    345678: _Profile(
        home="chekhov_wh",
        first_departure_h=(7.5, 9.0),
        cruise_kmh=80.0,
        templates=(
            (),
            (_s("serpukhov", 30, 75), _s("protvino", 30, 75), _s("obninsk", 45, 90), _s("serpukhov", 20, 45)),
            (_s("podolsk", 40, 90), _s("domodedovo", 40, 90), _s("vidnoye", 30, 60)),
            (_s("lesnoe_ozero", 45, 120), _s("serpukhov", 30, 75)),
        ),
        weekday_weights=(0.5, 3, 3, 2),
        weekend_weights=(5, 1, 1, 1),
        park_interval_s=120.0,
        device_odometer=False,
        sensors=(FuelSensor("fuel", start_l=70.0, capacity_l=70.0, l_per_100km=12.0), MeteringSensor("power")),
        refuel_daily=True,
    ),
    456789: _Profile(
        home="naro_fominsk",
        first_departure_h=(8.5, 10.0),
        cruise_kmh=100.0,
        templates=(
            (),
            (_s("kubinka", 30, 60), _s("aprelevka", 30, 60), _s("selyatino", 20, 45)),
            (_s("obninsk", 60, 120), _s("protvino", 30, 60)),
            (_s("troitsk", 40, 90), _s("rassudovo", 20, 40)),
        ),
        weekday_weights=(0.5, 3, 2, 3),
        weekend_weights=(5, 1, 1, 1),
        interval_s=30.0,
        park_interval_s=None,
        jitter_s=4.0,
        ignition=False,
        odometer_anchor_km=87_342.0,
    ),
}

# --------------------------------------------------------------------------------------------
# Special days of tracker 669673 (local times)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leg:
    """One drive of a day plan; times are local seconds after midnight."""

    route: tuple[str, str, int]
    depart_s: float | None  # None: ``dwell_s`` after the previous arrival
    arrive_s: float | None  # None: as fast as the road goes
    cruise_kmh: float
    halt_s: tuple[float, ...] = ()
    engine_on: bool = False  # at the destination
    loss: tuple[float, float] | None = None  # signal loss (local seconds) during the drive
    dwell_s: float = 0.0  # standing before this leg when ``depart_s`` is None


def _hms(text: str) -> float:
    h, m, s = (int(x) for x in text.split(":"))
    return 3600.0 * h + 60.0 * m + s


def _seed_leg(
    start_ms: int, end_ms: int, a: str, b: str, variant: int, max_kmh: float, halts: tuple[float, ...]
) -> _Leg:
    """A seed trip: departs 5 s before the seed's first fix, arrives 5 s before its last."""
    midnight_ms = 1_601_931_600_000  # 2020-10-06 00:00 Moscow time
    return _Leg(
        (a, b, variant),
        (start_ms - 5000 - midnight_ms) / 1000.0,
        (end_ms - 5000 - midnight_ms) / 1000.0,
        max_kmh - 1.0,
        halts,
    )


_SEED_TRIPS: tuple[_Leg, ...] = (
    _seed_leg(1_601_934_439_000, 1_601_941_188_000, "selyatino", "serpukhov", 0, 94, (45, 70, 35)),
    _seed_leg(1_601_943_083_000, 1_601_950_218_000, "serpukhov", "selyatino", 0, 94, (60, 40, 90, 55)),
    _seed_leg(1_601_959_081_000, 1_601_960_075_000, "selyatino", "rassudovo", 0, 85, (40, 65)),
    _seed_leg(1_601_960_315_000, 1_601_966_165_000, "rassudovo", "serpukhov_north", 0, 91, (50, 35, 80)),
    _seed_leg(1_601_966_585_000, 1_601_967_190_000, "serpukhov_north", "serpukhov", 0, 13, (120, 90)),
    replace(
        _seed_leg(1_601_969_226_000, 1_601_977_017_000, "serpukhov", "selyatino", 1, 89, (70, 45, 120, 60, 90)),
        loss=(_hms("11:20:00"), _hms("11:23:30")),
    ),
    _seed_leg(1_601_980_444_000, 1_601_989_300_000, "selyatino", "lesnoe_ozero", 0, 88, (90, 150, 60, 200, 120, 75)),
)

_SPECIAL: dict[tuple[int, dt.date], tuple[str, tuple[_Leg, ...]]] = {
    (669673, dt.date(2020, 10, 5)): (
        "selyatino",
        (
            _Leg(("selyatino", "troitsk", 0), _hms("08:06:40"), None, 90.0, (40, 55, 30)),
            _Leg(("troitsk", "aprelevka", 0), _hms("10:31:10"), None, 85.0, (35, 60)),
            _Leg(("aprelevka", "selyatino", 0), _hms("11:24:50"), None, 80.0, (45,)),
            _Leg(("selyatino", "rassudovo", 0), _hms("17:42:00"), None, 85.0, (40,)),
            _Leg(("rassudovo", "selyatino", 0), _hms("18:15:30"), None, 85.0, (30, 50)),
        ),
    ),
    (669673, dt.date(2020, 10, 6)): ("selyatino", _SEED_TRIPS),
    (669673, dt.date(2020, 10, 7)): (
        "lesnoe_ozero",
        (
            _Leg(("lesnoe_ozero", "serpukhov", 0), _hms("09:21:20"), None, 80.0, (40, 30)),
            _Leg(("serpukhov", "selyatino", 0), _hms("11:02:40"), None, 93.0, (55, 35, 80, 45)),
        ),
    ),
}

# --------------------------------------------------------------------------------------------
# Day plans
# --------------------------------------------------------------------------------------------


def _mix(ordinals: npt.NDArray[np.int64], *keys: int) -> F64:
    """Uniform [0, 1) per ordinal from a splitmix64 hash of (ordinal, keys): vectorised and
    independent of any other day."""
    x = ordinals.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for i, key in enumerate(keys):
        x ^= np.uint64((key * 0xBF58476D1CE4E5B9 + i * 0x94D049BB133111EB + 0x632BE59BD9B4E019) % 2**64)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    out: F64 = (x >> np.uint64(11)).astype(np.float64) / float(2**53)
    return out


def _templates_of(tracker_id: int, ordinals: npt.NDArray[np.int64], seed: int) -> npt.NDArray[np.int64]:
    prof = _PROFILES[tracker_id]
    u = _mix(ordinals, tracker_id, seed, 1)
    weekend = (ordinals - 1) % 7 >= 5  # date.fromordinal(1) is a Monday
    out = np.empty(ordinals.shape[0], np.int64)
    for mask, weights in ((~weekend, prof.weekday_weights), (weekend, prof.weekend_weights)):
        cw = np.cumsum(np.asarray(weights, np.float64))
        out[mask] = np.minimum(np.searchsorted(cw / cw[-1], u[mask], side="right"), len(weights) - 1)
    return out


def _template_legs(stops: tuple[_Stop, ...], home: str) -> list[tuple[str, str]]:
    spots = [home, *(s.spot for s in stops), home] if stops else [home]
    return list(itertools.pairwise(spots))


@functools.cache
def _template_distances(tracker_id: int) -> F64:
    prof = _PROFILES[tracker_id]
    return np.array(
        [sum(route_length_m(a, b) for a, b in _template_legs(t, prof.home)) for t in prof.templates], np.float64
    )


def _day_distance_m(tracker_id: int, ordinals: npt.NDArray[np.int64], seed: int) -> F64:
    dist = _template_distances(tracker_id)[_templates_of(tracker_id, ordinals, seed)]
    for (tid, day), (_, legs) in _SPECIAL.items():
        if tid == tracker_id:
            dist[ordinals == day.toordinal()] = sum(route_length_m(*leg.route) for leg in legs)
    return dist


def _odometer_at(tracker_id: int, day: dt.date, seed: int) -> float:
    """The device odometer (km) at the start of the local ``day``."""
    anchor = _PROFILES[tracker_id].odometer_anchor_km
    a, d = _ANCHOR_DAY.toordinal(), day.toordinal()
    lo, hi = min(a, d), max(a, d)
    total = float(_day_distance_m(tracker_id, np.arange(lo, hi, dtype=np.int64), seed).sum()) / 1000.0
    return anchor + total if d >= a else anchor - total


def _generic_plan(tracker_id: int, day: dt.date, seed: int, rng: np.random.Generator) -> list[_Leg]:
    prof = _PROFILES[tracker_id]
    ordinal = np.array([day.toordinal()], np.int64)
    stops = prof.templates[int(_templates_of(tracker_id, ordinal, seed)[0])]
    if not stops:
        return []
    legs: list[_Leg] = []
    spots = [prof.home, *(s.spot for s in stops), prof.home]
    dwell = [3600.0 * float(rng.uniform(*prof.first_departure_h))]
    dwell += [float(rng.uniform(*s.dwell_min)) * 60.0 for s in stops]
    engine = [*(bool(rng.random() < s.engine_on) for s in stops), False]
    for i in range(len(spots) - 1):
        length = route_length_m(spots[i], spots[i + 1])
        n_halts = min(8, int(rng.poisson(length / 15_000.0)))
        halts = tuple(float(h) for h in np.round(rng.uniform(20.0, 110.0, n_halts)))
        legs.append(
            _Leg(
                (spots[i], spots[i + 1], 0),
                dwell[0] if i == 0 else None,
                None,
                prof.cruise_kmh * float(rng.uniform(0.95, 1.03)),
                halts,
                engine[i],
                dwell_s=dwell[i],
            )
        )
    return legs


def _estimate_s(legs: list[_Leg]) -> float:
    """A generous time for the given legs at 45 km/h door to door, plus the halts."""
    return sum(route_length_m(*leg.route) / 12.5 + sum(leg.halt_s) for leg in legs)


# --------------------------------------------------------------------------------------------
# Simulation of a local day
# --------------------------------------------------------------------------------------------


def _tz() -> ZoneInfo:
    return ZoneInfo(DEMO_TIME_ZONE)


def _local_midnight_ms(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=_tz()).timestamp() * 1000)


def _profile(tracker_id: int) -> _Profile:
    try:
        return _PROFILES[tracker_id]
    except KeyError:
        raise ValueError(f"{tracker_id} is not a demo tracker") from None


@functools.lru_cache(maxsize=256)
def _local_day(tracker_id: int, day: dt.date, seed: int) -> tuple[Track, Truth]:
    prof = _profile(tracker_id)
    t0 = _local_midnight_ms(day)
    t1 = _local_midnight_ms(day + dt.timedelta(days=1))
    rng = np.random.default_rng([tracker_id, day.toordinal(), seed, 7])
    special = _SPECIAL.get((tracker_id, day))
    if special is not None:
        start_spot, legs = special[0], list(special[1])
    else:
        start_spot, legs = prof.home, _generic_plan(tracker_id, day, seed, rng)
    lat, lng = SPOTS[start_spot]
    sc = Scenario(
        t0,
        lat,
        lng,
        interval_s=prof.interval_s,
        seed=crc("day", tracker_id, day.toordinal(), seed),
        sensors=prof.sensors,
        ignition=prof.ignition,
        odometer_km=_odometer_at(tracker_id, day, seed) if prof.device_odometer else None,
        jitter_s=prof.jitter_s,
        park_interval_s=prof.park_interval_s,
    )
    random_day = special is None
    if random_day and rng.random() < 0.12:  # the device sleeps through part of the night
        a = t0 + int(rng.uniform(0.5, 2.0) * 3.6e6)
        sc.signal_loss(a, a + int(rng.uniform(1.2, 3.0) * 3.6e6))
    engine_on = False
    lossy = int(rng.integers(len(legs))) if legs and random_day and rng.random() < 0.35 else -1
    wild = int(rng.integers(len(legs))) if legs and random_day and rng.random() < 0.15 else -1
    wild = -1 if wild == lossy else wild  # an outlier is a fix: not inside a signal loss
    for i, leg in enumerate(legs):
        if leg.depart_s is not None:
            depart = t0 + round(leg.depart_s * 1000)
        else:  # keep the rest of the day inside the day
            latest = t1 - 1_800_000 - _estimate_s(legs[i:]) * 1000 - sc.now_ms
            depart = sc.now_ms + round(max(300_000.0, min(leg.dwell_s * 1000, latest)))
        depart = max(depart, sc.now_ms + 60_000)
        sc.park(until_ms=depart, ignition=engine_on, jitter_m=4.0 if engine_on else 6.0)
        road = route(*leg.route)
        duration = None if leg.arrive_s is None else (t0 + leg.arrive_s * 1000 - depart) / 1000.0
        variation = 0.35 if leg.arrive_s is not None else float(rng.uniform(0.2, 0.5))
        sc.drive(
            road,
            road=False,
            cruise_kmh=leg.cruise_kmh,
            halts=len(leg.halt_s),
            halt_s=leg.halt_s,
            duration_s=duration,
            variation=variation,
        )
        span = sc.now_ms - depart
        if leg.loss is not None:
            sc.signal_loss(t0 + round(leg.loss[0] * 1000), t0 + round(leg.loss[1] * 1000))
        elif i == lossy and span > 900_000:
            a = depart + int(rng.uniform(0.2, 0.7) * span)
            sc.signal_loss(a, a + int(rng.uniform(90.0, 480.0) * 1000))
        if i == wild and span > 600_000:
            sc.outlier(float(rng.uniform(3.0, 40.0)), at_ms=depart + int(rng.uniform(0.3, 0.6) * span))
        engine_on = leg.engine_on
    if sc.now_ms > t1 - 600_000:
        raise RuntimeError(f"demo plan of {tracker_id} on {day} overruns the day")
    sc.park(until_ms=t1, ignition=False)
    if prof.refuel_daily and legs:
        sc.refuel(None, minutes=4.0)
    return sc.build()


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def demo_local_day(tracker_id: int, day: dt.date, *, seed: int = 1) -> tuple[Track, Truth]:
    """The fixes of one *local* day (``DEMO_TIME_ZONE``) of a demo tracker, with the truth."""
    track, truth = _local_day(tracker_id, day, seed)
    return track.take(np.arange(len(track))), replace(
        truth,
        trips=list(truth.trips),
        parkings=list(truth.parkings),
        gaps=list(truth.gaps),
        halts=list(truth.halts),
        outliers=list(truth.outliers),
        refuels=list(truth.refuels),
    )


def demo_track(tracker_id: int, day: dt.date, *, seed: int = 1) -> Track:
    """The fixes of a demo tracker during the UTC ``day`` (deterministic for the arguments)."""
    prof = _profile(tracker_id)
    u0 = int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
    u1 = u0 + 86_400_000
    first = dt.datetime.fromtimestamp(u0 / 1000, _tz()).date()
    last = dt.datetime.fromtimestamp((u1 - 1) / 1000, _tz()).date()
    parts: list[Track] = []
    d = first
    while d <= last:
        track = _local_day(tracker_id, d, seed)[0]
        parts.append(track.take((track.t >= u0) & (track.t < u1)))
        d += dt.timedelta(days=1)
    if not parts:
        return Track.empty(tuple(s.input_name for s in prof.sensors))
    return Track.concat(parts)
