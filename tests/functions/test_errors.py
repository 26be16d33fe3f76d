"""Every documented error comes back in the envelope, with the right code and HTTP status."""

from __future__ import annotations

from typing import Any

import pytest

from fleet_reports.demo import ACCESS, NO_REPORTS_TRACKER, OTHER_TRACKER

from tests.support.api import HASH, generate
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE


def code_of(demo: Lambdas, function: str, params: dict[str, Any], **kw: Any) -> tuple[int, dict[str, Any]]:
    status, body, headers = demo.api(function, params, **kw)
    assert headers["content-type"].startswith("application/json")
    assert body["success"] is False
    return status, body


@pytest.mark.parametrize(
    ("overrides", "code", "http"),
    [
        ({"from": "2020-01-01 00:00:00", "to": "2020-06-01 00:00:00"}, 211, 400),
        ({"trackers": [OTHER_TRACKER]}, 217, 400),
        ({"trackers": [999999]}, 217, 400),
        ({"plugin": {"plugin_id": 999}}, 222, 400),
        ({"trackers": [NO_REPORTS_TRACKER]}, 236, 402),
        ({"from": "yesterday"}, 7, 400),
        ({"to": "2020-10-01 00:00:00"}, 7, 400),
        ({"trackers": "669673"}, 7, 400),
        ({"time_filter": {"from": "25:00", "to": "23:59", "weekdays": [1]}}, 7, 400),
        (
            {"plugin": {"plugin_id": 9, "details_interval_seconds": 5, "sensors": [{"tracker_id": 1, "sensor_id": 1}]}},
            7,
            400,
        ),
    ],
)
def test_generate_errors(demo: Lambdas, overrides: dict[str, Any], code: int, http: int) -> None:
    # Given a generate request with one thing wrong, When it is sent
    status, body = code_of(demo, "GenerateFunction", {**SEED_GENERATE, **overrides})
    # Then the answer names the error
    assert (body["status"]["code"], status) == (code, http)


def test_span_error_carries_max_time_span(demo: Lambdas) -> None:
    # Given a 1-year period, When generate is called, Then 211 says the limit as the seed shows
    _, body = code_of(demo, "GenerateFunction", {**SEED_GENERATE, "from": "2020-01-01 00:00:00"})
    assert body == {
        "success": False,
        "status": {"code": 211, "description": "Requested time span is too big"},
        "max_time_span": "P90D",
    }


def test_invalid_parameters_name_each_parameter(demo: Lambdas) -> None:
    # Given a request missing 'from' and with a bad plugin object
    params = {k: v for k, v in SEED_GENERATE.items() if k != "from"}
    params["plugin"] = {"plugin_id": 4, "split": "maybe"}
    # When generate is called
    _, body = code_of(demo, "GenerateFunction", params)
    # Then code 7 lists 'from' (the plugin is checked after the parameters)
    assert body["status"]["code"] == 7
    assert [e["parameter"] for e in body["errors"]] == ["from"]
    # And a bad plugin option is named with its path once the rest is right
    _, body = code_of(demo, "GenerateFunction", {**SEED_GENERATE, "plugin": {"plugin_id": 4, "split": "maybe"}})
    assert body["errors"][0]["parameter"] == "plugin.split"


def test_checks_run_in_the_documented_order(demo: Lambdas) -> None:
    # Given requests wrong in two ways, Then the earlier check of docs/api.md answers
    bad_json = demo.api("GenerateFunction", body="{not json", headers={"Content-Type": "application/json"})
    assert bad_json[1]["status"]["code"] == 5
    assert code_of(demo, "GenerateFunction", {**SEED_GENERATE, "hash": "XYZ", "from": None})[1]["status"]["code"] == 3
    no_right = {**SEED_GENERATE, "hash": ACCESS.no_reports_right_hash, "from": None}
    assert code_of(demo, "GenerateFunction", no_right)[1]["status"]["code"] == 13
    assert (
        code_of(demo, "GenerateFunction", {**SEED_GENERATE, "from": None, "plugin": {"plugin_id": 999}})[1]["status"][
            "code"
        ]
        == 7
    )
    too_long_unknown_plugin = {**SEED_GENERATE, "from": "2019-01-01 00:00:00", "plugin": {"plugin_id": 999}}
    assert code_of(demo, "GenerateFunction", too_long_unknown_plugin)[1]["status"]["code"] == 222
    too_long_foreign = {**SEED_GENERATE, "from": "2019-01-01 00:00:00", "trackers": [OTHER_TRACKER]}
    assert code_of(demo, "GenerateFunction", too_long_foreign)[1]["status"]["code"] == 211
    foreign_and_tariff = {**SEED_GENERATE, "trackers": [OTHER_TRACKER, NO_REPORTS_TRACKER]}
    assert code_of(demo, "GenerateFunction", foreign_and_tariff)[1]["status"]["code"] == 217


@pytest.mark.parametrize(
    ("function", "params", "code", "http"),
    [
        ("ListFunction", {}, 4, 400),
        ("ListFunction", {"hash": "0123456789abcdef0123456789abcdef"}, 4, 400),
        ("ListFunction", {"hash": "not-a-hash"}, 3, 400),
        ("ListFunction", {"hash": ACCESS.no_reports_right_hash}, 13, 403),
        ("StatusFunction", {"hash": HASH, "report_id": 424242}, 204, 404),
        ("StatusFunction", {"hash": HASH}, 7, 400),
        ("RetrieveFunction", {"hash": HASH, "report_id": "abc"}, 7, 400),
        ("DownloadFunction", {"hash": HASH, "report_id": 1, "format": "docx"}, 7, 400),
        ("DeleteFunction", {"hash": HASH, "report_id": 424242}, 204, 404),
        ("AuthFunction", {"login": "demo@fleet.example", "password": "wrong"}, 102, 400),
        ("AuthFunction", {"login": "demo@fleet.example"}, 7, 400),
        ("LogoutFunction", {}, 4, 400),
    ],
)
def test_action_errors(demo: Lambdas, function: str, params: dict[str, Any], code: int, http: int) -> None:
    # Given a request with one thing wrong, When it is sent, Then the envelope names the error
    status, body = code_of(demo, function, params)
    assert (body["status"]["code"], status) == (code, http)


def test_another_users_report_is_not_found(demo: Lambdas) -> None:
    # Given a report of the demo owner
    report_id = generate(demo)
    demo.run_worker()
    other = ACCESS.other_user_hash
    # When another user asks for it in any way, Then it does not exist for them (204)
    for function, extra in [
        ("StatusFunction", {}),
        ("RetrieveFunction", {}),
        ("DownloadFunction", {"format": "pdf"}),
        ("DeleteFunction", {}),
    ]:
        status, body = code_of(demo, function, {"hash": other, "report_id": report_id, **extra})
        assert (status, body["status"]["code"]) == (404, 204)
    # And the sub-user's own pool does not hold the master's reports either
    _, body, _ = demo.api("ListFunction", {"hash": ACCESS.demo_mode_hash})
    assert body["list"] == []


def test_demo_mode_user_cannot_delete(demo: Lambdas) -> None:
    # Given a report of the demo-mode user
    report_id = generate(demo, hash=ACCESS.demo_mode_hash)
    # When it deletes it, Then 101
    status, body = code_of(demo, "DeleteFunction", {"hash": ACCESS.demo_mode_hash, "report_id": report_id})
    assert (status, body["status"]["code"]) == (403, 101)


def test_parallel_cap(demo: Lambdas) -> None:
    # Given as many generating reports as the cap allows (5 by default)
    for _ in range(5):
        generate(demo)
    # When one more is asked for, Then 15 (429)
    status, body = code_of(demo, "GenerateFunction", SEED_GENERATE)
    assert (status, body["status"]["code"]) == (429, 15)
    # And its description is Navixy's, our detail after it
    assert body["status"]["description"].startswith("Too many requests (rate limit exceeded): at most 5 reports")
    # And once they are done, generating works again
    demo.run_worker()
    generate(demo)


def test_download_before_ready_is_229(demo: Lambdas) -> None:
    report_id = generate(demo)
    status, body = code_of(demo, "DownloadFunction", {"hash": HASH, "report_id": report_id, "format": "xlsx"})
    assert (status, body["status"]["code"]) == (404, 229)
