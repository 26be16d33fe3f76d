"""The API's OpenAPI 3.1 description, generated from the code.

Nothing here is written by hand twice: the routes come from :data:`fleet_reports.contract.API_ROUTES`,
the request parameters from the pydantic models that validate them (``service/models.py``, and
each plugin's options model of ``engine/catalog.py``), the report document from its types
(``engine/document.py``), the error envelope and its codes from :mod:`fleet_reports.errors`. The
answers of each action are described by the models below, and the tests check them against what
the service answers (``tests/local/test_schemathesis.py``).

The document is served at ``GET /openapi.json`` (:data:`fleet_reports.contract.OPENAPI_ROUTE`,
by the plugin list's function) and kept in the repository as ``docs/openapi.json``;
``python -m fleet_reports.api.openapi docs/openapi.json`` (``make openapi``) writes it again, and
``tests/template/test_openapi.py`` fails while the kept file differs from what the code generates.

Pure data: no AWS, no I/O (but :func:`main`); nothing is built at import, the document is made
once per process at its first use.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from fleet_reports import __version__, contract
from fleet_reports.errors import CODES, ErrorCode

OPENAPI_VERSION = "3.1.0"
_SCHEMAS = "#/components/schemas/"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


# ============================================================================ answers


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class OkAnswer(_Answer):
    """Success, with nothing more to say."""

    success: Literal[True]


class GenerateAnswer(OkAnswer):
    id: int = Field(gt=0, description="the new report's id: unique in the deployment, never reused")


class ReportParameters(_Answer):
    geocoder: str = Field(default="none", description="as the request gave it")
    trackers: list[int] = Field(description="the ids the report covers, in order")
    plugins: list[dict[str, Any]] = Field(
        description="the one plugin object as stored: plugin_id and its options with their defaults filled in"
    )
    locale_info: dict[str, str] = Field(description="locale, time_zone, measurement_system of the user then")


class TimeFilterAnswer(_Answer):
    from_: str = Field(alias="from", description="HH:mm:ss")
    to: str = Field(description="HH:mm:ss")
    weekdays: list[int] = Field(description="1 = Monday .. 7 = Sunday, sorted")


class ReportListItem(_Answer):
    """A report of the caller's, as ``list`` gives it (a null field is left out)."""

    id: int
    title: str
    created: str = Field(description="as the wire writes dates (ISO 8601 in ISO mode)")
    from_: str = Field(alias="from")
    to: str
    time_filter: TimeFilterAnswer
    percent: int = Field(ge=0, le=100)
    type: Literal["user"]
    state: Literal["queued", "running", "done", "failed"] = Field(description="this service's addition")
    parameters: ReportParameters


class ListAnswer(OkAnswer):
    reports: list[ReportListItem] = Field(
        alias="list", description="the caller's reports that have not expired, newest first: one page"
    )
    next_before_id: int = Field(
        default=1,
        ge=1,
        description="present only when older reports may follow: send it as before_id for the next page "
        "(a pool that fits one page is answered whole, without it, as on Navixy)",
    )


class StatusAnswer(OkAnswer):
    percent_ready: int = Field(ge=0, le=100)
    state: Literal["queued", "running", "done", "failed"]
    error: str = Field(default="", description="why, when the state is failed")


class RetrieveAnswer(OkAnswer):
    report: dict[str, Any] = Field(description="the report document (docs/report-model.md)")


class AuthAnswer(OkAnswer):
    type: Literal["authenticated"]
    hash: str = Field(pattern="^[0-9a-f]{32}$", description="the new session's hash")


class PluginFilter(_Answer):
    exclusion: bool
    values: list[str]


class PluginParameter(_Answer):
    """One option of a plugin, as ``/plugin/list`` describes it (no field is ever null)."""

    type: str = Field(description="its JSON type")
    required: bool
    default: Any = Field(default=None, description="when not required")
    description: str = ""
    minimum: float = 0
    maximum: float = 0
    enum: list[Any] = Field(default_factory=list)
    minItems: int = 0  # noqa: N815 - the JSON name
    items: dict[str, Any] | str = Field(default="", description="the fields of an array's objects, or its item type")
    nullable: bool = False


class PluginObject(_Answer):
    """Navixy's plugin object with this service's description beside it."""

    id: int = Field(description="the plugin_id")
    type: Literal["tracker_report"]
    module: str
    ui_module: str
    filter: PluginFilter
    name: str
    title: str = Field(description="the default report title")
    max_time_span: str = Field(default="P90D", description="the deployment's span limit, ISO 8601")
    single_tracker: bool
    parameters: dict[str, PluginParameter] = Field(description="keyed by option name")


class PluginListAnswer(OkAnswer):
    plugins: list[PluginObject] = Field(alias="list", description="in id order")


class ErrorStatus(_Answer):
    code: ErrorCode = Field(description="the error code (docs/api.md, 'Error codes')")
    description: str = Field(description="the code's description, or a more precise one starting the same way")


class ParameterError(_Answer):
    parameter: str = Field(description="the parameter's path: from, trackers[0], plugin.split; body for the whole")
    error: str


class ErrorAnswer(_Answer):
    """The envelope of every failure: no error is ever a stack trace or an HTML page."""

    success: Literal[False]
    status: ErrorStatus
    errors: list[ParameterError] = Field(default_factory=list, description="code 7: every bad parameter")
    max_time_span: str = Field(default="P90D", description="code 211: the limit exceeded, ISO 8601")
    correlation_id: str = Field(default="", description="code 6: the id under which the failure was logged")


# ============================================================================ the actions


@dataclass(frozen=True)
class _Action:
    summary: str
    params: str | None  # a model of fleet_reports.service.models, by name
    answer: type[BaseModel]
    codes: tuple[ErrorCode, ...]  # besides the common ones (_PARSE, _AUTH)
    auth: bool = True
    iso: bool = False
    example: Mapping[str, Any] | None = None  # a request (the documentation's example report and tracker)


E = ErrorCode
_PARSE = (E.WRONG_REQUEST_FORMAT, E.TOO_LARGE_REQUEST, E.TOO_MANY_REQUESTS, E.DATABASE_ERROR, E.UNEXPECTED)
_AUTH = (E.WRONG_HASH, E.NOT_AUTHENTICATED, E.ACCESS_DENIED)
_REPORT = (*_AUTH, E.NOT_PERMITTED)

_REPORT_ID = {"report_id": 1234567}  # the documentation's example report

_ACTIONS: dict[str, _Action] = {
    contract.GENERATE: _Action(
        "Validate a report request, store the report as queued and queue its job",
        "GenerateParams",
        GenerateAnswer,
        (*_REPORT, E.INVALID_PARAMETERS, E.PLUGIN_NOT_FOUND, E.TIME_SPAN_TOO_BIG, E.ENTITY_NOT_FOUND),
        iso=True,
        example={
            "title": "Trip report",
            "trackers": [669673],
            "from": "2020-10-06 00:00:00",
            "to": "2020-10-06 23:59:59",
            "plugin": {"plugin_id": 4, "show_seconds": False, "split": True},
        },
    ),
    contract.LIST: _Action(
        "The caller's reports, newest first, a page at a time",
        "ListParams",
        ListAnswer,
        (*_REPORT, E.INVALID_PARAMETERS),
        iso=True,
    ),
    contract.STATUS: _Action(
        "A report's progress",
        "ReportIdParams",
        StatusAnswer,
        (*_REPORT, E.INVALID_PARAMETERS, E.NOT_FOUND),
        example=_REPORT_ID,
    ),
    contract.RETRIEVE: _Action(
        "A done report's document",
        "ReportIdParams",
        RetrieveAnswer,
        (*_REPORT, E.INVALID_PARAMETERS, E.NOT_FOUND, E.NOT_READY),
        iso=True,
        example=_REPORT_ID,
    ),
    contract.DOWNLOAD: _Action(
        "A done report's file (PDF, XLSX or XLS): inline, or a 302 to a presigned URL",
        "DownloadParams",
        OkAnswer,
        (*_REPORT, E.INVALID_PARAMETERS, E.NOT_FOUND, E.NOT_READY),
        example={**_REPORT_ID, "format": "pdf"},
    ),
    contract.DELETE: _Action(
        "Remove a report and its files",
        "ReportIdParams",
        OkAnswer,
        (*_REPORT, E.DEMO_MODE, E.INVALID_PARAMETERS, E.NOT_FOUND),
        example=_REPORT_ID,
    ),
    contract.AUTH: _Action(
        "Open a session: its hash",
        "AuthParams",
        AuthAnswer,
        (E.INVALID_PARAMETERS, E.WRONG_LOGIN, E.ACCESS_DENIED),
        auth=False,
    ),
    contract.LOGOUT: _Action("End the session given as the hash", None, OkAnswer, _AUTH),
    contract.PLUGINS: _Action("The report plugins this deployment serves", None, PluginListAnswer, _AUTH),
}
"""Each API function's operation: what it does, its parameters model, its answer, its error codes."""

_GENERATE_ONLY = (E.TARIFF_RESTRICTED,)  # generate: the trackers' tariffs, after the entities


# ============================================================================ the document


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API (made once per process; do not modify it)."""
    schemas = _component_schemas()
    paths: dict[str, Any] = {}
    for function, path in contract.API_ROUTES.items():
        action = _ACTIONS[function]
        operations = {method: _operation(function, path, method, action, schemas) for method in ("get", "post")}
        paths[path] = operations
    for path in contract.DOCUMENT_ROUTES:
        paths[path] = {"get": _openapi_operation()}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Fleet Reports API",
            "version": __version__,
            "description": (
                "GPS fleet reports, wire-compatible with Navixy's /report/tracker/* API. Paths are relative "
                "to the API's base URL (the v1 stage of the deployed API, or http://127.0.0.1:3000 for the "
                "local stack). Every action answers GET (parameters in the query string, arrays and objects "
                "as JSON text) and POST (a JSON object, or a form whose arrays and objects are JSON text). "
                "Every answer is JSON in the envelope: {success: true, ...} or {success: false, status: "
                "{code, description}}. The reference: docs/api.md. Generated from the code "
                "(fleet_reports.api.openapi)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "nvx": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "'NVX <hash>': a session's hash (/user/auth) or an API key, 32 lowercase hex",
                },
                "hash": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "hash",
                    "description": "the hash as a parameter: the body's hash wins over the query string's, which "
                    "wins over the Authorization header",
                },
            },
        },
    }


def openapi_json() -> str:
    """The document as the repository keeps it (docs/openapi.json) and the API serves it."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def _operation(function: str, path: str, method: str, action: _Action, schemas: Mapping[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": path.strip("/").replace("/", "_") + "_" + method,
        "summary": action.summary,
        "tags": [path.rsplit("/", 1)[0].strip("/") or "api"],
        "security": [{"nvx": []}, {"hash": []}] if action.auth else [],
    }
    parameters: list[dict[str, Any]] = []
    if method == "get":
        parameters += _query_parameters(schemas[action.params], action.example or {}) if action.params else []
    elif action.params:
        body = {"$ref": _SCHEMAS + action.params}
        example = {"example": dict(action.example)} if action.example else {}
        operation["requestBody"] = {
            "required": bool(schemas[action.params].get("required")),  # list's parameters are all optional
            "content": {
                JSON: {"schema": body, **example},
                FORM: {"schema": body, "encoding": _form_encoding(schemas[action.params])},
            },
        }
    else:
        body = {"type": "object", "description": "no parameters (the hash may be given here)"}
        operation["requestBody"] = {"required": False, "content": {JSON: {"schema": body}, FORM: {"schema": body}}}
    if action.iso:
        parameters += _iso_parameters()
    if parameters:
        operation["parameters"] = parameters
    operation["responses"] = _responses(function, action)
    return operation


def _iso_parameters() -> list[dict[str, Any]]:
    """ISO mode: ``iso_datetime`` (in the query string, or the body) or the header ``NVX-ISO-DateTime``."""
    what = "ISO mode: from and to read, and created, from and to written, as ISO 8601"
    return [
        {
            "name": "iso_datetime",
            "in": "query",
            "required": False,
            "description": f"{what} when true, 1, yes or on, in any case (also accepted as a member of the body)",
            "schema": {"type": "string"},
        },
        {
            "name": "NVX-ISO-DateTime",
            "in": "header",
            "required": False,
            "description": f"{what} when true, 1, yes or on (as iso_datetime)",
            "schema": {"type": "string"},
        },
    ]


def _is_structured(prop: Mapping[str, Any]) -> bool:
    """Whether a value travels as JSON text in a query string or a form: arrays, objects, references."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    return any("$ref" in o or "oneOf" in o or o.get("type") in ("array", "object") for o in options)


def _without_null(prop: Mapping[str, Any]) -> dict[str, Any]:
    """A property as a query parameter has it: absent rather than null."""
    if "anyOf" not in prop:
        return dict(prop)
    options = [o for o in prop["anyOf"] if o.get("type") != "null"]
    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**rest, **options[0]} if len(options) == 1 else {**rest, "anyOf": options}


def _query_parameters(request: Mapping[str, Any], example: Mapping[str, Any]) -> list[dict[str, Any]]:
    required = set(request.get("required", []))
    out: list[dict[str, Any]] = []
    for name, prop in request.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop["description"]
        schema = _without_null(prop)
        given = {"example": example[name]} if name in example else {}
        if _is_structured(prop):
            parameter["content"] = {JSON: {"schema": schema, **given}}  # JSON text: trackers=[669673]
        else:
            parameter.update(schema=schema, **given)
        out.append(parameter)
    return out


def _form_encoding(request: Mapping[str, Any]) -> dict[str, Any]:
    return {name: {"contentType": JSON} for name, prop in request.get("properties", {}).items() if _is_structured(prop)}


def _error_response(codes: Sequence[ErrorCode], http: int) -> dict[str, Any]:
    listed = "; ".join(f"{int(c)} {CODES[c][0]}" for c in codes)
    return {"description": f"HTTP {http}: {listed}", "content": {JSON: {"schema": {"$ref": _SCHEMAS + "ErrorAnswer"}}}}


def _responses(function: str, action: _Action) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if function == contract.DOWNLOAD:
        binary = {"schema": {"type": "string", "format": "binary"}}
        responses["200"] = {
            "description": "the file, with Content-Disposition: attachment",
            "content": {
                "application/pdf": binary,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": binary,
                "application/vnd.ms-excel": binary,
            },
        }
        responses["302"] = {
            "description": "a file too large to answer inline: Location is a presigned URL, valid minutes",
            "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
        }
    else:
        responses["200"] = {
            "description": "success",
            "content": {JSON: {"schema": {"$ref": _SCHEMAS + action.answer.__name__}}},
        }
    if function == contract.GENERATE:
        responses["200"]["links"] = {
            name: {
                "operationId": contract.API_ROUTES[target].strip("/").replace("/", "_") + "_get",
                "parameters": {"report_id": "$response.body#/id"},
                "description": f"the new report's {name}",
            }
            for name, target in (
                ("status", contract.STATUS),
                ("retrieve", contract.RETRIEVE),
                ("download", contract.DOWNLOAD),
                ("delete", contract.DELETE),
            )
        }
    codes = (*action.codes, *(_GENERATE_ONLY if function == contract.GENERATE else ()), *_PARSE)
    by_status: dict[int, list[ErrorCode]] = {}
    for code in sorted(set(codes)):
        by_status.setdefault(CODES[code][1], []).append(code)
    for http, listed in sorted(by_status.items()):
        responses[str(http)] = _error_response(listed, http)
    responses["default"] = {
        "description": "an answer of the gateway in front of the function, in the same envelope: 111 for an "
        "unknown path, 5 for a method the path lacks, 9 for a body over its payload limit, 15 when "
        "throttled, 6 for a function that crashed or timed out",
        "content": {JSON: {"schema": {"$ref": _SCHEMAS + "ErrorAnswer"}}},
    }
    return responses


def _openapi_operation() -> dict[str, Any]:
    return {
        "operationId": "openapi_get",
        "summary": "This document (no hash needed)",
        "tags": ["api"],
        "security": [],
        "responses": {
            "200": {"description": "the OpenAPI document", "content": {JSON: {"schema": {"type": "object"}}}},
            "default": {
                "description": "an answer of the gateway, in the envelope",
                "content": {JSON: {"schema": {"$ref": _SCHEMAS + "ErrorAnswer"}}},
            },
        },
    }


# ============================================================================ component schemas


def _component_schemas() -> dict[str, Any]:
    """Every schema the document refers to: the request models, each plugin's options, the answers,
    the error envelope and the report document."""
    from fleet_reports.engine import catalog
    from fleet_reports.engine.document import ReportDocument
    from fleet_reports.service import models

    requests = [getattr(models, name) for name in dict.fromkeys(a.params for a in _ACTIONS.values() if a.params)]
    plugins = [spec for _, spec in sorted(catalog.PLUGINS.items())]
    answers = [*dict.fromkeys(a.answer for a in _ACTIONS.values()), ErrorAnswer]
    pairs = [(m, "validation") for m in [*requests, *(p.params for p in plugins), *answers]]
    _, top = models_json_schema(pairs, ref_template=_SCHEMAS + "{model}")  # type: ignore[arg-type]
    schemas: dict[str, Any] = dict(top["$defs"])
    for name, schema in schemas.items():
        _tidy(schema, answer=name.endswith("Answer") or name in _ANSWER_PARTS)
    for spec in plugins:
        schema = schemas[spec.params.__name__]
        what = str(schema.get("description", "")).split(": ", 1)[-1]
        schema["description"] = f"Plugin {spec.id}, {spec.name} (default title {spec.default_title!r}): {what}"
        schema["properties"]["plugin_id"] = {"type": "integer", "const": spec.id, "description": "the plugin"}
    _refine_generate(schemas["GenerateParams"], [p.params.__name__ for p in plugins], catalog.PLUGINS)
    _refine_time_filter(schemas["TimeFilter"])
    document: dict[str, Any] = {}
    schemas["ReportDocument"] = _typed_schema(ReportDocument, document)
    schemas.update(document)
    schemas["RetrieveAnswer"]["properties"]["report"] = {"$ref": _SCHEMAS + "ReportDocument"}
    return dict(sorted(schemas.items()))


_ANSWER_PARTS = frozenset(
    {"ErrorStatus", "ParameterError", "ReportListItem", "ReportParameters", "TimeFilterAnswer"}
    | {"PluginFilter", "PluginParameter", "PluginObject"}
)
_SUBSCHEMAS = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


def _tidy(schema: Any, *, answer: bool) -> None:
    """Without pydantic's generated titles ("Include Places In Address"), and, in an answer, without
    the defaults that only make a field optional (an answer leaves such a field out)."""
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("title"), str):
        del schema["title"]
    if answer:
        schema.pop("default", None)
    for prop in schema.get("properties", {}).values():
        _tidy(prop, answer=answer)
    for key in _SUBSCHEMAS:
        _tidy(schema.get(key), answer=answer)
    for key in _SCHEMA_LISTS:
        for sub in schema.get(key, []):
            _tidy(sub, answer=answer)


def _refine_generate(schema: dict[str, Any], plugin_models: list[str], plugins: Mapping[int, Any]) -> None:
    """What the model's validators check beyond its types, as JSON Schema can say it."""
    from fleet_reports.ids import MAX_ID
    from fleet_reports.service.models import MAX_EMPLOYEES_PER_REPORT
    from fleet_reports.settings import Settings

    props = schema["properties"]
    props["plugin"] = {
        "description": "plugin_id (an integer, or a string of digits) and the plugin's options: unknown options "
        "are ignored; /plugin/list describes them. One of: " + ", ".join(f"{i}" for i in sorted(plugins)),
        "oneOf": [{"$ref": _SCHEMAS + name} for name in plugin_models],
    }
    wire = (
        "yyyy-MM-dd HH:mm:ss in the user's time zone (in ISO mode ISO 8601 with an offset: 2020-10-06T00:00:00+03:00"
        " or Z); digits 0-9 only; the years 1970 to 2199"
    )
    props["from"]["description"] = "the period's start: " + wire
    props["to"]["description"] = "the period's end, after from: " + wire
    limit = Settings.model_fields["max_trackers_per_report"].default
    for name, what in (("trackers", "tracker"), ("employees", "employee")):
        array = next(o for o in props[name]["anyOf"] if o.get("type") == "array")
        array["items"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        props[name]["description"] = f"{what} ids, 1 to {MAX_ID}; duplicates count once"
    props["employees"]["description"] += f"; at most {MAX_EMPLOYEES_PER_REPORT} distinct ones"
    props["trackers"]["description"] += (
        f"; at most MaxTrackersPerReport ({limit} by default); required unless the plugin's options name trackers"
    )
    props["title"]["description"] = "the report's title (default: the plugin's)"
    props["geocoder"]["description"] = "kept and echoed by list (default none)"
    props["include_places_in_address"]["description"] = "an address names the place holding the point"
    props["include_zones_in_address"]["description"] = "an address starts with the label of the zone holding it"


def _refine_time_filter(schema: dict[str, Any]) -> None:
    from fleet_reports.service.models import TIME_PATTERN

    props = schema["properties"]
    for name in ("from", "to"):
        props[name]["pattern"] = TIME_PATTERN
        props[name]["description"] = "HH:mm or HH:mm:ss; to before from is an overnight window; to differs from from"
    props["weekdays"]["items"] = {"type": "integer", "minimum": 1, "maximum": 7}
    props["weekdays"]["description"] = "1 = Monday .. 7 = Sunday"
    schema["description"] = "The hours and weekdays the report counts (default: the whole day, every day)."


# ---------------------------------------------------------------- TypedDicts (engine/document.py)
# pydantic reads a typing.TypedDict only on Python 3.12+; the document's types are simple enough to
# turn into JSON Schema here, on every version.

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    object: {},
    typing.Any: {},
}


def _typed_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of a type built from TypedDicts, Literals, lists, dicts, unions and scalars;
    each TypedDict becomes one entry of ``defs`` and a reference to it."""
    if typing.is_typeddict(tp):
        return _typed_dict_schema(tp, defs)
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _typed_schema(args[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _typed_schema(args[1], defs)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_typed_schema(a, defs) for a in args]}
    if origin in (typing.NotRequired, typing.Required):
        return _typed_schema(args[0], defs)
    raise TypeError(f"no JSON Schema for {tp!r}")


def _typed_dict_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    name = tp.__name__
    if name not in defs:
        defs[name] = {}  # a placeholder while its fields are made (a type that refers to itself)
        hints = typing.get_type_hints(tp, include_extras=True)
        required = [
            key
            for key, hint in hints.items()
            if typing.get_origin(hint) is typing.Required
            or (tp.__total__ and typing.get_origin(hint) is not typing.NotRequired)
        ]
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {key: _typed_schema(hint, defs) for key, hint in hints.items()},
        }
        if required:
            schema["required"] = required
        if tp.__doc__ and not tp.__doc__.startswith(f"{name}("):
            schema["description"] = " ".join(tp.__doc__.split())
        defs[name] = schema
    return {"$ref": _SCHEMAS + name}


# ============================================================================ the kept file


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fleet_reports.api.openapi [PATH] [--check]``: write the document to PATH (standard
    output without one); with ``--check``, write nothing and exit 1 when PATH differs from it."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    text = openapi_json()
    if not paths:
        sys.stdout.write(text)
        return 0
    from pathlib import Path

    target = Path(paths[0])
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is not what the code generates: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
