"""The report document's types (engine/document.py) say what the JSON holds: every kept demo
report is a ReportDocument, key for key and in the JSON's key order; a summary duration carries
its exact seconds beside its keys, never among them."""

from __future__ import annotations

import copy
import json
import types
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from fleet_reports.engine import document as doc

from tests.support.golden import GOLDEN

KEPT = sorted(GOLDEN.glob("*.json"))


def problems(value: Any, hint: Any, where: str) -> list[str]:
    """Where ``value`` (parsed JSON) differs from the type ``hint``: a TypedDict's keys must be
    its declared keys, the required ones present, in the declared order; [] when it conforms."""
    origin = get_origin(hint)
    if is_typeddict(hint):
        return typeddict_problems(value, hint, where)
    if origin in (Union, types.UnionType):
        tried = [problems(value, option, where) for option in get_args(hint)]
        return [] if any(not p for p in tried) else min(tried, key=len)
    if origin is Literal:
        return [] if value in get_args(hint) else [f"{where}: {value!r} is not one of {get_args(hint)}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for k, item in enumerate(value) for p in problems(item, get_args(hint)[0], f"{where}[{k}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        return [p for key, item in value.items() for p in problems(item, get_args(hint)[1], f"{where}.{key}")]
    if hint is object:
        return []
    scalars = {str: (str,), bool: (bool,), int: (int,), float: (int, float)}
    if hint in scalars:
        ok = isinstance(value, scalars[hint]) and (hint is bool or not isinstance(value, bool))
        return [] if ok else [f"{where}: {value!r} is not a {hint.__name__}"]
    raise TypeError(f"no check for {hint!r}")


def typeddict_problems(value: Any, hint: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    fields = get_type_hints(hint, include_extras=True)
    declared = list(fields)
    required = [k for k, t in fields.items() if get_origin(t) is not NotRequired]
    found: list[str] = []
    if list(value) != [k for k in declared if k in value]:
        found.append(f"{where}: keys {list(value)}, declared {declared} ({hint.__name__})")
    found += [f"{where}: no {k!r} ({hint.__name__})" for k in required if k not in value]
    for key, item in value.items():
        if key in fields:
            field = fields[key]
            inner = get_args(field)[0] if get_origin(field) is NotRequired else field
            found += problems(item, inner, f"{where}.{key}")
    return found


def sections_in(reports: list[dict[str, Any]]) -> set[str]:
    return {
        f"{section['type']}:{section.get('kind', '')}"
        for report in reports
        for sheet in report["sheets"]
        for section in sheet["sections"]
    }


def test_every_kept_report_is_a_report_document_key_for_key() -> None:
    # Given the demo fleet's kept reports (every plugin, the options that change them, both languages)
    reports = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in KEPT}
    assert len(reports) >= 10
    # When each is checked against the document's types
    found = {name: problems(report, doc.ReportDocument, name) for name, report in reports.items()}
    # Then each conforms: no key the types do not declare, none missing, in the declared order
    assert found == {name: [] for name in reports}
    # And the check saw every kind of section: tables, summaries, notes, line and bar charts
    assert sections_in(list(reports.values())) == {"table:", "map_table:", "text:", "chart:", "chart:bar"}
    # And every total row starts with its text, as the renderers expect
    totals = [
        group["total"]
        for report in reports.values()
        for sheet in report["sheets"]
        for section in sheet["sections"]
        if section["type"] == "table"
        for group in section["data"]
        if "total" in group
    ]
    assert totals and all(next(iter(total)) == "text" for total in totals)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda cell: cell.update(extra=1), "keys"),  # a key the types do not have
        (lambda cell: cell.pop("type"), "no 'type'"),  # a required key missing
        (lambda cell: cell.update(raw=cell.pop("raw")), "keys"),  # the keys in another order
        (lambda cell: cell.update(raw="12"), "is not a float"),  # a value of another type
    ],
)
def test_the_check_finds_a_cell_that_differs_from_its_type(change: Any, complaint: str) -> None:
    # Given a kept report with its first data cell changed
    report = json.loads(KEPT[0].read_text(encoding="utf-8"))
    broken = copy.deepcopy(report)
    table = next(s for sheet in broken["sheets"] for s in sheet["sections"] if s["type"] == "table")
    row = table["data"][0]["rows"][0]
    change(row[next(iter(row))])
    # When both are checked
    # Then only the changed one is found wanting, at that cell
    assert problems(report, doc.ReportDocument, "report") == []
    found = problems(broken, doc.ReportDocument, "report")
    assert found and any(complaint in p and ".rows[0]." in p for p in found), found


def test_a_summary_duration_carries_its_exact_seconds_beside_its_keys() -> None:
    # Given a summary row of 9,622 s (160.37 minutes with the wire's 2 decimals)
    row: doc.MapRow = {"name": "Travel time", "v": "2:40", "raw": 160.37, "highlight": False}
    # When it carries the exact seconds
    timed = doc.with_exact_seconds(row, 9622)
    # Then it is the same row, in JSON and by equality, and knows the seconds
    assert json.dumps(timed) == json.dumps(row) and timed == row
    assert doc.exact_seconds_of(timed) == 9622.0
    assert problems(json.loads(json.dumps(timed)), doc.MapRow, "row") == []
    # And read back from its JSON it has no seconds (the renderers then use raw)
    assert doc.exact_seconds_of(json.loads(json.dumps(timed))) is None
    assert doc.exact_seconds_of(row) is None
