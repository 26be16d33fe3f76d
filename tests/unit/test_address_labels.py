"""Zone labels in addresses (docs/analytics.md, "Addresses and zone labels", issue #10): a point inside
several zones shows only the most specific one, and the label is never followed by text that
repeats it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleet_reports.demo import demo_manifest
from fleet_reports.engine.address import AddressBook, format_coordinates, repeats
from fleet_reports.engine.model import Place, Zone
from fleet_reports.engine.zones import area_m2, inside, most_specific, shape
from fleet_reports.sim import geo

A = (55.0, 37.0)


def offset(north_m: float, east_m: float, origin: tuple[float, float] = A) -> tuple[float, float]:
    lat, lng = geo.destination(origin[0], origin[1], 0.0, north_m)
    lat, lng = geo.destination(float(lat), float(lng), 90.0, east_m)
    return float(lat), float(lng)


def square(half_m: float, zone_id: int, label: str, centre: tuple[float, float] = A) -> Zone:
    corners = ((-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m))
    return Zone(zone_id, label, "polygon", points=tuple(offset(n, e, centre) for n, e in corners))


def points(*pts: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


def test_a_circle_inside_a_corridor_names_the_point_not_the_road() -> None:
    # Given a 10 km "Main road" corridor 3 km wide and a 500 m depot circle on it
    road = Zone(1, "Main road", "sausage", radius_m=1500.0, points=(offset(-5000.0, 0.0), offset(5000.0, 0.0)))
    depot = Zone(2, "Depot", "circle", A, 500.0)
    book = AddressBook([Place("Office", "Lenina 1, Moscow", *A, 500.0)], zones=[road, depot])
    # When the depot's centre and a point on the road away from it are looked up
    got = book.lookup(*points(A, offset(3000.0, 0.0)))
    # Then the depot reads "[Depot]" alone, and the road only where no place holds the point
    assert got[0] == "[Depot] Lenina 1, Moscow"
    assert got[1] == f"[Main road] {format_coordinates(*offset(3000.0, 0.0))}"


def test_a_place_beats_a_corridor_whatever_their_areas() -> None:
    # Given a loading lane (a 100 m corridor, 20 m wide: 0.002 km2) across a 1 km depot circle (3.1 km2)
    lane = Zone(1, "Loading lane", "sausage", radius_m=10.0, points=(offset(0.0, -50.0), offset(0.0, 50.0)))
    depot = Zone(2, "Depot", "circle", A, 1000.0)
    assert area_m2(shape(lane)) < area_m2(shape(depot))
    # When a point in the lane is looked up
    got = AddressBook([], zones=[lane, depot]).lookup(*points(A))
    # Then the depot names it: a corridor is a way between places, named only off them
    assert got == [f"[Depot] {format_coordinates(*A)}"]


def test_nested_polygons_name_the_inner_one() -> None:
    # Given a 4 km site polygon and a 200 m yard polygon inside it (the yard has the higher id)
    site = square(2000.0, 1, "Industrial park")
    yard = square(100.0, 9, "Yard 3")
    book = AddressBook([Place("Park", "Promzona 5, Moscow", *A, 3000.0)], zones=[site, yard])
    # When a point in the yard and a point in the site outside the yard are looked up
    got = book.lookup(*points(A, offset(1000.0, 1000.0)))
    # Then the yard names the first, the site the second, one label each
    assert got == ["[Yard 3] Promzona 5, Moscow", "[Industrial park] Promzona 5, Moscow"]


def test_equal_zones_are_told_apart_by_their_ids() -> None:
    # Given two circles of the same size round the same point, the higher id listed first
    late = Zone(5, "Gate B", "circle", A, 300.0)
    early = Zone(4, "Gate A", "circle", A, 300.0)
    # When the point is looked up
    got = AddressBook([], zones=[late, early]).lookup(*points(A))
    # Then the lower id names it
    assert got == [f"[Gate A] {format_coordinates(*A)}"]


def test_one_zone_shows_its_label_and_the_address_once() -> None:
    # Given the demo fleet's depot at the Naro-Fominsk office, which the Main road corridor also holds
    m = demo_manifest()
    zones = [
        Zone(
            z.id,
            z.label,
            z.kind,
            center=(z.center.lat, z.center.lng) if z.kind == "circle" else None,
            radius_m=None if z.kind == "polygon" else z.radius,
            points=() if z.kind == "circle" else tuple((p.lat, p.lng) for p in z.points),
            address=z.address,
        )
        for z in m.zones
    ]
    places = [Place(p.label, p.address or p.label, p.lat, p.lng, p.radius) for p in m.places]
    office = next(p for p in places if p.name == "Naro-Fominsk office")
    held_by = [z.label for z in zones if inside(shape(z), *points((office.lat, office.lng)))[0]]
    assert held_by == ["Depot: Naro-Fominsk office", "Main road Selyatino - Serpukhov"]
    # When the office is looked up
    got = AddressBook(places, zones=zones).lookup(*points((office.lat, office.lng)))
    # Then it reads the depot's label and the street address, not the road's label too
    assert got == ["[Depot: Naro-Fominsk office] Naro-Fominsk, Moscow Oblast, Russia, 143300"]
    # And a place whose address only repeats the label (a place without an address reads its
    # name) reads the label alone
    bare = Place("Naro-Fominsk office", "Naro-Fominsk office", office.lat, office.lng, office.radius_m)
    assert AddressBook([bare], zones=zones).lookup(*points((office.lat, office.lng))) == [
        "[Depot: Naro-Fominsk office]"
    ]


@pytest.mark.parametrize(
    ("label", "text", "repeated"),
    [
        ("Depot: Naro-Fominsk office", "Naro-Fominsk office", True),
        ("Depot: Naro-Fominsk office", "naro-fominsk  OFFICE", True),
        ("Depot", "Depot", True),
        ("Depot", "", True),
        ("Склад: Подольск", "подольск", True),
        ("Depot: Naro-Fominsk office", "Naro-Fominsk, Moscow Oblast, Russia, 143300", False),
        ("Troitsk", "Troitsk, Moscow, Russia, 108840", False),  # says more than the label
        ("Depot 12", "Depot 1", False),  # whole words only
    ],
)
def test_what_repeats_a_label(label: str, text: str, repeated: bool) -> None:
    # Given a label and a place's text; When compared; Then only a text adding nothing repeats it
    assert repeats(label, text) is repeated


def test_a_point_in_no_zone_keeps_its_address() -> None:
    # Given a place, a circle zone 5 km away, and a place-less point
    place = Place("Office", "Lenina 1, Moscow", *A, 500.0)
    far = Zone(1, "Depot", "circle", offset(5000.0, 0.0), 300.0)
    lat, lng = points(A, offset(0.0, 2000.0))
    # When both points are looked up with and without the zones
    with_zones = AddressBook([place], zones=[far]).lookup(lat, lng)
    without = AddressBook([place]).lookup(lat, lng)
    # Then the addresses are the plain ones, unchanged
    assert with_zones == without == ["Lenina 1, Moscow", format_coordinates(*offset(0.0, 2000.0))]


def test_zone_areas() -> None:
    # Given a circle, a 2 km square and a 10 km corridor 200 m wide
    circle = shape(Zone(1, "c", "circle", A, 500.0))
    poly = shape(square(1000.0, 2, "p"))
    road = shape(Zone(3, "r", "sausage", radius_m=100.0, points=(A, offset(10_000.0, 0.0))))
    # When their areas are taken; Then pi r^2, the polygon's, and length x width plus the round ends
    assert area_m2(circle) == pytest.approx(math.pi * 500.0**2)
    assert area_m2(poly) == pytest.approx(4.0e6, rel=2e-3)
    assert area_m2(road) == pytest.approx(10_000.0 * 200.0 + math.pi * 100.0**2, rel=2e-3)


def test_most_specific_over_many_points() -> None:
    # Given a corridor, a circle on it and a point outside both
    road = shape(Zone(1, "r", "sausage", radius_m=200.0, points=(A, offset(5000.0, 0.0))))
    stop = shape(Zone(2, "s", "circle", offset(2500.0, 0.0), 100.0))
    lat, lng = points(offset(2500.0, 0.0), offset(1000.0, 0.0), offset(0.0, 3000.0))
    # When the most specific zone of each is found; Then the circle, the road, none
    assert most_specific([road, stop], lat, lng).tolist() == [1, 0, -1]
