"""The project's own documentation stays honest: docs/api.md's error table is the code's error
codes, every route of the template and every plugin of the registry is documented, every link
of the docs resolves, and no file of the repository cites a specification outside it or names a
path of one machine."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from fleet_reports.engine.catalog import PLUGINS, PluginParams
from fleet_reports.errors import CODES, ApiError, ErrorCode

from .conftest import API_SPEC, ROOT

DOCS = ROOT / "docs"
REPORT_MODEL = DOCS / "report-model.md"

# A row of docs/api.md's error table: | code | `NAME` | description | HTTP | when |
_ERROR_ROW = re.compile(r"^\| (\d+) \| `(\w+)` \| ([^|]+?) \| (\d{3}) \|", re.MULTILINE)
# A relative link of a markdown file: [text](target)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A citation of a specification page by file name, with whatever path precedes it.
_CITED = re.compile(r"(?<![\w.-])((?:[\w.-]+/)*)(api|report-model|data|analytics)\.md\b")
# Specifications that were never the project's own, and the reference folders beside the repository.
_FOREIGN = ("navixy-reference" + ".md", "architecture" + ".md", "shared/" + "spec", "shared/" + "seeds")
_FOREIGN_PATH_PARTS = re.compile(r"""["']shared["']\s*/\s*["'](?:spec|seeds)["']""")
# Code that joins the path of a page of docs/ (``ROOT / "docs" / "api.md"``, ``DOCS / "data.md"``).
_DOCS_JOIN = re.compile(r"""(?:["']docs["']|DOCS)\s*/\s*["']$""")
_MACHINE_PATHS = tuple("/" + part + "/" for part in ("work", "root", "home"))


def _error_table() -> dict[int, tuple[str, str, int]]:
    return {
        int(code): (name, description.strip(), int(http))
        for code, name, description, http in _ERROR_ROW.findall(API_SPEC.read_text(encoding="utf-8"))
    }


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n") + len(heading) + 1
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", text[start:], re.MULTILINE)]
    return text[start : start + ends[0]] if ends else text[start:]


def _repository_files() -> list[Path]:
    """The files of the repository: tracked, or new and not ignored (git), else every file outside
    hidden folders."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        names = [name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") or part == "__pycache__" for part in p.parts[len(ROOT.parts) :])
        ]
    return [ROOT / name for name in sorted(names) if (ROOT / name).is_file()]


def _texts() -> Iterator[tuple[Path, str]]:
    for path in _repository_files():
        try:
            yield path, path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # a binary file: images, PDFs, workbooks


# ============================================================================ error codes


def test_the_error_table_is_every_error_code_as_the_code_answers_it() -> None:
    # Given the error table of docs/api.md
    table = _error_table()

    # When each error code of the code is raised
    answers = {int(code): ApiError(code) for code in ErrorCode}

    # Then the table has one row per code, no other, each with its name, description and HTTP status
    assert sorted(table) == sorted(answers)
    for number, err in answers.items():
        name, description, http = table[number]
        assert name == err.code.name, number
        assert description == err.body()["status"]["description"] == CODES[err.code][0], number
        assert http == err.http_status, number


def test_the_routes_of_the_template_are_documented_one_by_one(resources_of: dict[str, Any]) -> None:
    # Given docs/api.md and the API paths of the template
    text = API_SPEC.read_text(encoding="utf-8")
    paths = {
        event["Properties"]["Path"]
        for resource in resources_of.values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    }

    # Then each path has its own section, and the transport's "Routes" bullet is there to list them
    assert len(paths) == 10
    assert [p for p in sorted(paths) if f"### `{p}`\n" not in text] == []
    assert "\n- Routes, " in text


def test_the_template_parameters_the_limits_name_exist(sam_template: dict[str, Any]) -> None:
    # Given the limits of docs/api.md
    limits = _section(API_SPEC.read_text(encoding="utf-8"), "## Limits")

    # When the template parameters they name are collected (backquoted CamelCase names)
    named = set(re.findall(r"`([A-Z][a-z]+(?:[A-Z][a-z]+)+)`", limits))

    # Then each one is a parameter of the template
    assert named
    assert sorted(named - set(sam_template["Parameters"])) == []


# ============================================================================ the report model


@pytest.mark.parametrize("plugin_id", sorted(PLUGINS))
def test_every_plugin_of_the_registry_has_its_sheets_documented(plugin_id: int) -> None:
    # Given a plugin of the registry and docs/report-model.md
    spec = PLUGINS[plugin_id]
    text = REPORT_MODEL.read_text(encoding="utf-8")

    # When its section is looked up by its id and name
    section = _section(text, f"### Plugin {spec.id}: {spec.name}")

    # Then each option of its own is named there, and the options every plugin takes are named on the page
    own = set(spec.params.model_fields) - set(PluginParams.model_fields)
    assert [name for name in sorted(own) if f"`{name}`" not in section] == []
    common = set(PluginParams.model_fields) - {"plugin_id"}
    assert [name for name in sorted(common) if f"`{name}`" not in text] == []


def test_every_section_type_and_cell_key_of_the_engine_is_documented() -> None:
    # Given the building blocks of the engine's documents
    from fleet_reports.engine.plugins import common

    blocks: list[Mapping[str, Any]] = [
        common.cell("08:06", 1.0, (55.0, 37.0)),
        common.column("from", "Movement start"),
        common.group("Oct 6, 2020 (Tue) : 1", [], {"text": "In total:"}),
        common.table("Trips", [], []),
        common.map_table("Summary", []),
        common.map_row("Trips", common.cell("1", 1.0)),
        common.text("note", "small_print"),
        common.sheet("Samantha (Ford Focus)", [669673], []),
    ]
    text = REPORT_MODEL.read_text(encoding="utf-8")

    # Then every key they write, and every section type, is named in docs/report-model.md
    keys = sorted({key for block in blocks for key in block})
    assert [key for key in keys if f'"{key}"' not in text and f"`{key}`" not in text] == []
    assert [t for t in ("table", "map_table", "text", "chart") if f"### `{t}`" not in text] == []


# ============================================================================ the repository


def test_every_relative_link_of_the_docs_resolves() -> None:
    # Given the README and the pages of docs/
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

    # When their relative links are followed
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages
        for target in _LINK.findall(page.read_text(encoding="utf-8"))
        if not target.startswith(("http://", "https://", "mailto:", "#"))
        and not (page.parent / target.split("#", 1)[0]).exists()
    ]

    # Then each one reaches a file of the repository
    assert broken == []


def test_no_file_cites_a_specification_outside_the_docs() -> None:
    # Given every file of the repository (text files)
    found: list[str] = []
    for path, text in _texts():
        name = str(path.relative_to(ROOT))
        in_docs = path.parent == DOCS

        # When the specifications and reference folders it cites are collected
        found += [f"{name}: {foreign}" for foreign in _FOREIGN if foreign in text]
        if path.suffix == ".py":
            found += [f"{name}: {m.group(0)}" for m in _FOREIGN_PATH_PARTS.finditer(text)]
        for m in _CITED.finditer(text):
            prefix = m.group(1)
            if prefix.endswith("docs/") or (in_docs and not prefix):
                continue  # the project's own page (a sibling, inside docs/)
            if not prefix and _DOCS_JOIN.search(text[max(0, m.start() - 24) : m.start()]):
                continue  # a path joined in code to a page of docs/
            found.append(f"{name}: {m.group(0)}")

    # Then none cites anything but the project's own pages in docs/
    assert found == []
    assert all((DOCS / f"{page}.md").is_file() for page in ("api", "report-model", "data", "analytics"))


def test_no_file_names_a_path_of_one_machine() -> None:
    # Given every file of the repository (text files)
    files = list(_texts())

    # When absolute home and work paths are looked for
    found = [f"{path.relative_to(ROOT)}: {p}" for path, text in files for p in _MACHINE_PATHS if p in text]

    # Then there are none (and the files were read: the repository is not empty)
    assert len(files) > 100
    assert found == []
