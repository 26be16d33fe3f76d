"""The versions tested are the versions shipped, and every runtime dependency is shipped.

The functions run with what the layers install (``layers/api/requirements.txt``,
``layers/compute/requirements.txt``: exact pins) and what the Lambda runtime brings. The Makefile
installs the dev virtualenv with those pins as constraints; these tests prove that it held, and
that no dependency of ``pyproject.toml`` is left to chance on AWS.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import ROOT

LAYERS = {name: ROOT / "layers" / name / "requirements.txt" for name in ("api", "compute")}

# Runtime dependencies that no layer installs, and why that is right.
NOT_IN_A_LAYER = {
    "boto3": "comes with the Lambda runtime (the API layer prunes the SDK family so as not to shadow it)",
    "pyyaml": "only the command line reads and writes YAML (manifest files on disk: load_manifest, "
    "dump_manifest); no function imports it",
}


def layer_requirements() -> list[tuple[str, Requirement]]:
    """(layer, requirement) of every line of the layers' requirement files."""
    out: list[tuple[str, Requirement]] = []
    for layer, path in LAYERS.items():
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.split("#", 1)[0].strip()
            if text:
                out.append((layer, Requirement(text)))
    return out


def pinned_version(req: Requirement) -> str:
    (spec,) = req.specifier
    return spec.version


def project_dependencies() -> list[Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return [Requirement(d) for d in tomllib.load(f)["project"]["dependencies"]]


PINS = layer_requirements()


def test_every_layer_requirement_is_one_exact_version() -> None:
    # Given the layers' requirement files
    assert PINS
    # Then each line pins one exact version (a range would ship whatever is newest on build day)
    for layer, req in PINS:
        assert [s.operator for s in req.specifier] == ["=="], f"layers/{layer}: {req} is not pinned exactly"
    # And no package is pinned twice (in both layers, or twice in one)
    names = [canonicalize_name(req.name) for _, req in PINS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("layer", "req"), PINS, ids=[f"{layer}:{req.name}" for layer, req in PINS])
def test_the_dev_environment_runs_the_shipped_version(layer: str, req: Requirement) -> None:
    # Given a package the layer ships at a pinned version
    pinned = pinned_version(req)
    # When the version installed where the tests run is read
    installed = importlib.metadata.version(req.name)
    # Then it is the pinned one (make venv installs with the pins as constraints)
    assert installed == pinned, f"{req.name} {installed} is installed, layers/{layer} ships {pinned}: run make venv"


def test_every_runtime_dependency_is_in_a_layer_or_provided() -> None:
    # Given the project's runtime dependencies and what the layers pin
    pinned = {canonicalize_name(req.name): req for _, req in PINS}
    for dep in project_dependencies():
        name = canonicalize_name(dep.name)
        # Then each is either in a layer or said to come from elsewhere, not both
        assert (name in pinned) != (name in NOT_IN_A_LAYER), f"{dep.name}: in a layer, or in NOT_IN_A_LAYER with why"
        if name in pinned:
            # And the pinned version is one the project accepts, with the extras it asks for
            assert dep.specifier.contains(pinned_version(pinned[name])), f"{pinned[name]} does not satisfy {dep}"
            assert dep.extras <= pinned[name].extras, f"the layer ships {pinned[name]}, the project needs {dep}"
    # And every reason given names a runtime dependency still there
    assert set(NOT_IN_A_LAYER) <= {canonicalize_name(d.name) for d in project_dependencies()}


def test_no_function_imports_yaml() -> None:
    # Given every function's handler loaded in a fresh interpreter, as the Lambda runtime would
    handlers = sorted(str(p) for p in ROOT.glob("functions/*/app.py"))
    assert handlers
    code = (
        "import importlib.util, json, sys\n"
        f"for i, path in enumerate({handlers!r}):\n"
        "    s = importlib.util.spec_from_file_location(f'app{i}', path)\n"
        "    m = importlib.util.module_from_spec(s); s.loader.exec_module(m)\n"
        "print(json.dumps(sorted({k.split('.')[0] for k in sys.modules})))\n"
    )
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    # Then none of them imported yaml, which no layer ships (NOT_IN_A_LAYER)
    assert "yaml" not in json.loads(out.stdout)
