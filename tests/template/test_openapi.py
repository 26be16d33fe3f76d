"""The API's OpenAPI document: generated from the code, kept in docs/openapi.json, served at
GET /openapi.json, and true to the code it describes (routes, every request parameter and plugin
option, the error codes). What the running service answers is checked against it by
tests/local/test_schemathesis.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from fleet_reports import contract
from fleet_reports.api.openapi import main, openapi_document, openapi_json
from fleet_reports.engine.catalog import PLUGINS
from fleet_reports.errors import CODES, ErrorCode
from fleet_reports.service import models

from .conftest import ROOT

KEPT = ROOT / "docs" / "openapi.json"
SCHEMAS = "#/components/schemas/"


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].removeprefix(SCHEMAS)]
    return schema


def test_the_kept_document_is_what_the_code_generates() -> None:
    # Given the document the repository keeps, When the code generates it now
    generated = openapi_json()

    # Then they are the same, byte for byte (else: make openapi)
    assert KEPT.read_text(encoding="utf-8") == generated, "docs/openapi.json is stale: run `make openapi`"


def test_the_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate

    # Given the generated document, Then it validates as OpenAPI 3.1, and JSON round-trips it
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert json.loads(openapi_json()) == document


def test_every_route_is_described_with_its_methods() -> None:
    # Given the document's paths
    paths = openapi_document()["paths"]

    # Then each action route has GET and POST, each document route GET only, and nothing else
    assert set(paths) == set(contract.API_ROUTES.values()) | set(contract.DOCUMENT_ROUTES)
    for path in contract.API_ROUTES.values():
        assert set(paths[path]) == {"get", "post"}, path
    for path in contract.DOCUMENT_ROUTES:
        assert set(paths[path]) == {"get"} and paths[path]["get"]["security"] == [], path
    # And operation ids are unique
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/report/tracker/generate", models.GenerateParams),
        ("/report/tracker/status", models.ReportIdParams),
        ("/report/tracker/retrieve", models.ReportIdParams),
        ("/report/tracker/download", models.DownloadParams),
        ("/report/tracker/delete", models.ReportIdParams),
        ("/user/auth", models.AuthParams),
    ],
)
def test_every_parameter_of_the_request_models_is_described(path: str, model: type[Any]) -> None:
    # Given an action's parameters model and its operations in the document
    document = openapi_document()
    get, post = document["paths"][path]["get"], document["paths"][path]["post"]
    names = {field.alias or name for name, field in model.model_fields.items()}
    required = {field.alias or name for name, field in model.model_fields.items() if field.is_required()}

    # Then GET takes each as a query parameter, required as the model requires it
    query = {p["name"]: p for p in get["parameters"] if p["in"] == "query"}
    assert names <= set(query)
    assert {n for n in names if query[n]["required"]} == required
    # And POST takes them as a JSON object and as a form, whose arrays and objects are JSON text
    content = post["requestBody"]["content"]
    body = _resolve(document, content["application/json"]["schema"])
    assert set(body["properties"]) == names and set(body.get("required", [])) == required
    form = content["application/x-www-form-urlencoded"]
    assert _resolve(document, form["schema"]) == body
    structured = {n for n, p in query.items() if "content" in p}
    assert set(form["encoding"]) == structured & names


def test_every_plugin_and_each_of_its_options_is_described() -> None:
    # Given generate's plugin parameter in the document
    document = openapi_document()
    generate = _resolve(
        document,
        document["paths"]["/report/tracker/generate"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    )
    options = [_resolve(document, option) for option in generate["properties"]["plugin"]["oneOf"]]

    # Then it is one of the registry's plugins, each by its id, with every option of its model
    by_id = {option["properties"]["plugin_id"]["const"]: option for option in options}
    assert sorted(by_id) == sorted(PLUGINS)
    for plugin_id, spec in PLUGINS.items():
        assert set(by_id[plugin_id]["properties"]) == set(spec.params.model_fields), plugin_id
        assert by_id[plugin_id]["description"].startswith(f"Plugin {plugin_id}, {spec.name}")


def test_the_error_envelope_lists_every_code_and_each_status_its_codes() -> None:
    # Given the document's error envelope and every operation's answers
    document = openapi_document()
    codes = document["components"]["schemas"]["ErrorCode"]["enum"]

    # Then the envelope's code is any code of the wire
    assert sorted(codes) == sorted(int(code) for code in ErrorCode)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            # And every error status an operation lists is the HTTP status of the codes it names
            for status, response in responses.items():
                if status in ("200", "302", "default"):
                    continue
                named = [int(part.split()[0]) for part in response["description"].split(": ", 1)[1].split("; ")]
                assert {CODES[ErrorCode(code)][1] for code in named} == {int(status)}, (path, method, status)
                assert response["content"]["application/json"]["schema"] == {"$ref": SCHEMAS + "ErrorAnswer"}
            # And whatever the gateway answers in front of it is the envelope too
            assert responses["default"]["content"]["application/json"]["schema"] == {"$ref": SCHEMAS + "ErrorAnswer"}


def test_the_plugin_list_function_serves_the_document_without_a_hash(
    sam_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleet_reports.local.gateway import LambdaContext, api_event
    from fleet_reports.local.resources import functions
    from fleet_reports.local.stack import load_handler

    from tests.support.lambdas import BASE_ENV

    # Given the handler of the function that serves /openapi.json (contract.DOCUMENT_ROUTES), and no
    # AWS resource at all: the document needs none
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    function = contract.DOCUMENT_ROUTES[contract.OPENAPI_ROUTE]
    spec = functions(sam_template)[function]
    assert ("GET", contract.OPENAPI_ROUTE) in spec.api_routes
    handler = load_handler(ROOT, spec.code_uri, spec.handler, function)

    # When API Gateway sends it GET /openapi.json without any credential
    event = api_event("GET", contract.OPENAPI_ROUTE, "", {}, b"", "127.0.0.1")
    result = handler(event, LambdaContext(function))

    # Then it answers the document, as JSON
    body = base64.b64decode(result["body"]) if result.get("isBase64Encoded") else result["body"].encode()
    assert result["statusCode"] == 200
    assert result["multiValueHeaders"]["Content-Type"][0].startswith("application/json")
    assert json.loads(body) == openapi_document()


def test_make_openapi_writes_the_document_and_check_finds_a_stale_one(tmp_path: Path) -> None:
    # Given a place for the document
    target = tmp_path / "openapi.json"

    # When the script writes it, Then it is the generated document, and --check agrees
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == openapi_json()
    assert main([str(target), "--check"]) == 0

    # And a stale document fails the check and is left as it was
    target.write_text("{}\n", encoding="utf-8")
    assert main([str(target), "--check"]) == 1
    assert target.read_text(encoding="utf-8") == "{}\n"
