"""Parsing of the three request shapes, the hash's three places and the envelope."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from fleet_reports.api.request import parse_request
from fleet_reports.errors import ApiError, validate
from fleet_reports.service.models import GenerateParams, TimeFilter
from fleet_reports.settings import parse_iso_duration

H = "a6aa75587e5c59c32d347da438505fc3"


def event(
    body: str | None = None, *, ctype: str = "application/json", query: dict[str, str] | None = None, **headers: str
) -> dict[str, Any]:
    return {
        "httpMethod": "POST" if body is not None else "GET",
        "headers": {"Content-Type": ctype, **headers},
        "queryStringParameters": query,
        "body": body,
        "isBase64Encoded": False,
    }


def test_json_body_wins_over_query() -> None:
    req = parse_request(event(json.dumps({"hash": H, "report_id": 5}), query={"report_id": "7"}), max_body_bytes=1000)
    assert req.params["report_id"] == 5 and req.hash == H


def test_form_and_query_decode_json_text() -> None:
    req = parse_request(
        event(
            "trackers=%5B669673%5D&title=x&time_filter=%7B%22from%22%3A%2200%3A00%22%7D",
            ctype="application/x-www-form-urlencoded",
        ),
        max_body_bytes=1000,
    )
    assert req.params["trackers"] == [669673] and req.params["time_filter"] == {"from": "00:00"}
    req = parse_request(event(query={"trackers": "[1,2]", "hash": H}), max_body_bytes=1000)
    assert req.params["trackers"] == [1, 2] and req.hash == H


def test_a_json_body_sent_as_curl_s_default_form_is_json() -> None:
    # Given `curl -d '{"hash": ..., "report_id": 5}'`: a JSON object under the form content type
    body = json.dumps({"hash": H, "report_id": 5})
    # When it is parsed
    req = parse_request(event(body, ctype="application/x-www-form-urlencoded"), max_body_bytes=1000)
    # Then it is read as the JSON it is
    assert req.params["report_id"] == 5 and req.hash == H
    # And a broken one is still a clear error 5
    with pytest.raises(ApiError) as err:
        parse_request(event("{broken", ctype="application/x-www-form-urlencoded"), max_body_bytes=1000)
    assert err.value.code == 5


def test_base64_body() -> None:
    e = event(base64.b64encode(json.dumps({"hash": H}).encode()).decode())
    e["isBase64Encoded"] = True
    assert parse_request(e, max_body_bytes=1000).hash == H


@pytest.mark.parametrize(
    ("ev", "code"),
    [
        (event("{broken"), 5),
        (event("[1, 2]"), 5),
        (event("x" * 2000, ctype="text/plain"), 9),
        (event(json.dumps({"hash": "ABC"})), 3),
        (event(json.dumps({"hash": H.upper()})), 3),
        (event(None, query={"hash": "123"}), 3),
    ],
)
def test_bad_requests(ev: dict[str, Any], code: int) -> None:
    with pytest.raises(ApiError) as err:
        parse_request(ev, max_body_bytes=1000)
    assert err.value.code == code


def test_hash_precedence_body_then_query_then_header() -> None:
    other = "0" * 32
    assert parse_request(event(json.dumps({"hash": H}), query={"hash": other}), max_body_bytes=999).hash == H
    assert parse_request(event("{}", query={"hash": H}, Authorization=f"NVX {other}"), max_body_bytes=999).hash == H
    assert parse_request(event("{}", Authorization=f"NVX {H}"), max_body_bytes=999).hash == H
    assert parse_request(event("{}"), max_body_bytes=999).hash is None


def test_iso_mode_flag() -> None:
    assert parse_request(event("{}", **{"NVX-ISO-DateTime": "true"}), max_body_bytes=99).iso
    assert parse_request(event(json.dumps({"iso_datetime": True})), max_body_bytes=99).iso
    assert not parse_request(event("{}"), max_body_bytes=99).iso


def test_validation_names_parameters() -> None:
    with pytest.raises(ApiError) as err:
        validate(GenerateParams, {"to": "x", "plugin": {"plugin_id": "four"}, "trackers": ["a"]})
    names = [e["parameter"] for e in err.value.errors or []]
    assert err.value.code == 7 and set(names) == {"from", "plugin.plugin_id", "trackers[0]"}


def test_time_filter_defaults_and_normalises() -> None:
    assert TimeFilter().wire() == {"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]}
    tf = TimeFilter.model_validate({"from": "12:00", "to": "18:00", "weekdays": [5, 1, 1]})
    assert tf.wire() == {"from": "12:00:00", "to": "18:00:00", "weekdays": [1, 5]}


def test_an_overnight_time_filter_is_accepted_and_an_empty_one_refused() -> None:
    # Given a night shift window that ends the next morning (the engine cuts it as one window
    # opening on its weekday, docs/analytics.md)
    tf = TimeFilter.model_validate({"from": "22:00", "to": "06:00", "weekdays": [2]})
    # Then it is kept as sent
    assert tf.wire() == {"from": "22:00:00", "to": "06:00:00", "weekdays": [2]}
    # Given a window that starts and ends at the same time, Then it is refused with the reason
    with pytest.raises(ApiError) as err:
        validate(
            GenerateParams,
            {
                "from": "2020-10-04 00:00:00",
                "to": "2020-10-05 00:00:00",
                "trackers": [1],
                "plugin": {"plugin_id": 4},
                "time_filter": {"from": "08:00", "to": "08:00:00"},
            },
        )
    assert err.value.code == 7
    assert [e["parameter"] for e in err.value.errors or []] == ["time_filter"]


def test_envelope_extras() -> None:
    err = ApiError(211, extra={"max_time_span": "P90D"})
    assert err.http_status == 400
    assert err.body() == {
        "success": False,
        "status": {"code": 211, "description": "Requested time span is too big"},
        "max_time_span": "P90D",
    }


@pytest.mark.parametrize(
    ("text", "seconds"), [("P90D", 90 * 86400), ("P1D", 86400), ("PT12H", 43200), ("P1DT1M", 86460)]
)
def test_iso_durations(text: str, seconds: int) -> None:
    assert parse_iso_duration(text).total_seconds() == seconds


def test_passwords_round_trip() -> None:
    from fleet_reports.service.passwords import hash_password, verify_password

    stored = hash_password("s3cret")
    assert "s3cret" not in stored and verify_password("s3cret", stored) and not verify_password("nope", stored)
