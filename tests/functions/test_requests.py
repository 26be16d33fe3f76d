"""The three request shapes, the three places of the hash, sessions and plugin list."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fleet_reports.demo import ACCESS

from tests.support.api import HASH
from tests.support.lambdas import Lambdas
from tests.support.seed import SEED_GENERATE


def test_generate_by_get_with_json_text_arrays(demo: Lambdas) -> None:
    # Given the seed's parameters as a GET query string (arrays and objects as JSON text)
    query = urlencode({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in SEED_GENERATE.items()})
    # When generate is called by GET, Then it is accepted
    status, body, _ = demo.api("GenerateFunction", method="GET", query=query)
    assert status == 200 and body["id"] > 0


def test_generate_by_form_with_hash_in_header(demo: Lambdas) -> None:
    # Given a form body and the hash in the Authorization header
    form = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in SEED_GENERATE.items() if k != "hash"}
    status, body, _ = demo.api(
        "GenerateFunction",
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"NVX {HASH}"},
    )
    # Then it is accepted
    assert status == 200, body
    # And the hash in the query string works for a POST as well
    status, body, _ = demo.api("ListFunction", {}, query=f"hash={HASH}")
    assert status == 200 and len(body["list"]) == 1


def test_login_session_and_logout(demo: Lambdas) -> None:
    # Given the demo owner's login
    status, body, _ = demo.api("AuthFunction", {"login": ACCESS.owner_login, "password": ACCESS.owner_password})
    assert status == 200 and len(body["hash"]) == 32
    # Then the answer is Navixy's: success, type "authenticated" and the session hash
    assert set(body) == {"success", "type", "hash"} and body["type"] == "authenticated"
    session = body["hash"]
    # When the session lists reports, Then it acts as the owner
    assert demo.api("ListFunction", {"hash": session})[0] == 200
    # When it logs out, Then the session is ended (4) but the API key still works
    assert demo.api("LogoutFunction", {"hash": session})[1] == {"success": True}
    assert demo.api("ListFunction", {"hash": session})[1]["status"]["code"] == 4
    assert demo.api("ListFunction", {"hash": HASH})[0] == 200


def test_plugin_list(demo: Lambdas) -> None:
    # When the plugins are listed
    status, body, _ = demo.api("PluginsFunction", {"hash": HASH})
    # Then every implemented plugin is there, in id order, with its span limit
    assert status == 200
    plugins = {p["id"]: p for p in body["list"]}
    assert [p["id"] for p in body["list"]] == [4, 6, 7, 8, 9, 27, 91]
    assert plugins[4]["max_time_span"] == "P90D" and plugins[91]["max_time_span"] == "P1D"
    assert plugins[91]["single_tracker"] and not plugins[4]["single_tracker"]
    # And each is Navixy's plugin object (plugin 4 as its documentation's example), our fields extra
    trip = plugins[4]
    assert {k: trip[k] for k in ("id", "type", "module", "ui_module", "filter")} == {
        "id": 4,
        "type": "tracker_report",
        "module": "com.navixy.plugin.tracker.report.trip",
        "ui_module": "Trip",
        "filter": {"exclusion": True, "values": []},
    }
    for plugin in body["list"]:
        assert plugin["type"] == "tracker_report" and plugin["module"].startswith("com.navixy.plugin.tracker.report.")
        assert isinstance(plugin["parameters"], dict)
    # And each parameter, keyed by its name, says its type, default, what it does and its limits
    trips = plugins[4]["parameters"]
    assert trips["split"] == {
        "type": "boolean",
        "required": False,
        "default": True,
        "description": trips["split"]["description"],
    }
    assert trips["split"]["description"] and "plugin_id" not in trips
    sensors = plugins[9]["parameters"]
    assert sensors["sensors"]["required"] and sensors["sensors"]["items"] == {
        "tracker_id": "integer",
        "sensor_id": "integer",
    }
    assert (sensors["details_interval_seconds"]["minimum"], sensors["details_interval_seconds"]["maximum"]) == (
        30,
        21600,
    )
    assert sensors["graph_type"]["enum"] == ["time", "mileage"]
    # And no field is null: a parameter without a default has no "default" (Navixy omits nulls)
    zones = plugins[8]["parameters"]["zone_ids"]
    assert zones["type"] == "array" and zones["nullable"] and "default" not in zones
    assert ": null" not in json.dumps(body)
