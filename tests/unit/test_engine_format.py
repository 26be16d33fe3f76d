"""Units, message catalogs, number/duration formatting, addresses and distances."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fleet_reports.engine.address import AddressBook, format_coordinates
from fleet_reports.engine.geo import EARTH_RADIUS_M, distance_m, haversine_m, leg_lengths_m
from fleet_reports.engine.i18n import format_duration, format_time_of_day, language_of, messages
from fleet_reports.engine.model import Place
from fleet_reports.engine.units import unit_system


def test_haversine_known_distances() -> None:
    # Given a quarter of a meridian and one degree of longitude on the equator
    # Then they are a quarter of the circumference and 1/360 of it
    assert float(haversine_m(0.0, 0.0, 90.0, 0.0)) == pytest.approx(np.pi * EARTH_RADIUS_M / 2)
    assert distance_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(2 * np.pi * EARTH_RADIUS_M / 360)
    legs = leg_lengths_m(np.array([0.0, 0.0, 0.0]), np.array([0.0, 1.0, 3.0]))
    assert legs == pytest.approx([2 * np.pi * EARTH_RADIUS_M / 360 * k for k in (1, 2)])


@pytest.mark.parametrize(
    ("system", "km", "kmh", "dist", "speed"),
    [
        ("metric", 100.0, 100.0, 100.0, 100.0),
        ("imperial", 160.9344, 100.0, 100.0, 62.137),
        ("us", 1.609344, 1.609344, 1.0, 1.0),
        ("nautical", 1.852, 18.52, 1.0, 10.0),
        ("unknown", 5.0, 5.0, 5.0, 5.0),
    ],
)
def test_unit_systems_convert(system: str, km: float, kmh: float, dist: float, speed: float) -> None:
    units = unit_system(system)
    assert units.distance(km) == pytest.approx(dist)
    assert units.speed(kmh) == pytest.approx(speed, rel=1e-4)


def test_catalogs_have_the_same_keys() -> None:
    # Given the shipped catalogs / Then each language translates every English key
    folder = resources.files("fleet_reports").joinpath("i18n")
    en = json.loads(folder.joinpath("en.json").read_text(encoding="utf-8"))
    ru = json.loads(folder.joinpath("ru.json").read_text(encoding="utf-8"))
    assert set(en) == set(ru)


def test_locale_resolution() -> None:
    assert language_of("ru_RU") == "ru"
    assert language_of("ru-RU") == "ru"
    assert language_of("en_US") == "en"
    assert language_of("de_DE") == "en"
    assert language_of("") == "en"


@pytest.mark.parametrize(
    ("locale", "value", "decimals", "text", "raw"),
    [
        ("en_US", 106.289, 2, "106.29", 106.29),
        ("en_US", 523.82, 1, "523.8", 523.8),
        ("en_US", 12.0, 2, "12.00", 12.0),
        ("en_US", 95.8, 2, "95.80", 95.8),
        ("en_US", 515855.4, 0, "515855", 515855.0),
        ("en_US", -0.001, 2, "0.00", 0.0),
        ("ru_RU", 106.289, 2, "106,29", 106.29),
        ("ru_RU", 515855.4, 0, "515\u00a0855", 515855.0),
        ("ru_RU", 1234567.891, 2, "1\u00a0234\u00a0567,89", 1234567.89),
    ],
)
def test_number_formatting(locale: str, value: float, decimals: int, text: str, raw: float) -> None:
    # Given a number and its column's decimals, Then every cell shows them all (one number format
    # per column) and raw is exactly the number shown, with no float noise
    assert messages(locale).number(value, decimals) == (text, raw)


def test_numbers_in_sentences_drop_trailing_zeros() -> None:
    assert messages("en_US").number(1.0, 2, trim=True) == ("1", 1.0)
    assert messages("ru_RU").number(0.5, 2, trim=True) == ("0,5", 0.5)


def test_day_headers() -> None:
    d = date(2020, 10, 6)
    assert messages("en_US").day_header(d, 7) == "Oct 6, 2020 (Tue) : 7"
    assert messages("ru_RU").day_header(d, 7) == "6 окт. 2020 (Вт) : 7"


def test_durations_and_times() -> None:
    assert format_duration(6749) == "01:52"
    assert format_duration(6749, show_seconds=True) == "01:52:29"
    assert format_duration(30 * 3600 + 60) == "30:01"
    assert format_time_of_day(1601934439000, ZoneInfo("Europe/Moscow")) == "00:47"
    assert format_time_of_day(1601934439000, ZoneInfo("Europe/Moscow"), show_seconds=True) == "00:47:19"


def test_address_is_the_nearest_place_within_its_radius() -> None:
    # Given two places 300 m apart with radii of 500 m and 100 m
    book = AddressBook([Place("A", "Address A", 55.0, 37.0, 500.0), Place("B", "Address B", 55.0027, 37.0, 100.0)])
    lat = np.array([55.0025, 55.0001, 56.0])
    lng = np.array([37.0, 37.0, 37.0])
    # When looked up / Then the nearest place containing the point wins, else coordinates
    assert book.lookup(lat, lng) == ["Address B", "Address A", "56.00000, 37.00000"]
    # And with places switched off, coordinates
    off = AddressBook([Place("A", "Address A", 55.0, 37.0)], enabled=False)
    assert off.lookup(np.array([55.0]), np.array([37.0])) == [format_coordinates(55.0, 37.0)]
    assert format_coordinates(55.5311083, 36.96743) == "55.53111, 36.96743"


def test_durations_carry_whole_milliseconds_without_float_noise() -> None:
    # Given durations computed from interpolated instants (float noise in the last digits)
    from zoneinfo import ZoneInfo

    from fleet_reports.engine.plugins.common import Formatter

    fmt = Formatter(messages("en_US"), unit_system("metric"), ZoneInfo("UTC"), False)
    # When they become table cells, Then raw is the duration to the millisecond, as shown
    assert fmt.duration(4309.576999999999) == {"v": "01:11", "raw": 4309.577, "type": "value"}
    assert fmt.duration(64948.57399999999)["raw"] == 64948.574
