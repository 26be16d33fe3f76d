"""Measurement systems: distances and speeds in the user's units (docs/report-model.md, "Cells")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnitSystem:
    """``distance_unit``/``speed_unit``/``altitude_unit`` are message keys (``unit.<key>`` in the
    catalogs)."""

    name: str
    distance_unit: str
    speed_unit: str
    km_per_unit: float
    altitude_unit: str = "m"
    m_per_altitude_unit: float = 1.0

    def distance(self, km: float) -> float:
        """Kilometres -> the system's distance unit."""
        return km / self.km_per_unit

    def speed(self, kmh: float) -> float:
        """km/h -> the system's speed unit (same ratio as distance, per hour)."""
        return kmh / self.km_per_unit

    def altitude(self, metres: float) -> float:
        """Metres -> the system's altitude unit (feet in the imperial and US systems)."""
        return metres / self.m_per_altitude_unit


KM_PER_MILE = 1.609344
KM_PER_NAUTICAL_MILE = 1.852
M_PER_FOOT = 0.3048

UNIT_SYSTEMS: dict[str, UnitSystem] = {
    "metric": UnitSystem("metric", "km", "km/h", 1.0),
    "imperial": UnitSystem("imperial", "mi", "mph", KM_PER_MILE, "ft", M_PER_FOOT),
    "us": UnitSystem("us", "mi", "mph", KM_PER_MILE, "ft", M_PER_FOOT),
    "nautical": UnitSystem("nautical", "nmi", "kn", KM_PER_NAUTICAL_MILE),
}


def unit_system(name: str) -> UnitSystem:
    """The named system; an unknown name falls back to metric."""
    return UNIT_SYSTEMS.get(name.strip().lower(), UNIT_SYSTEMS["metric"])
