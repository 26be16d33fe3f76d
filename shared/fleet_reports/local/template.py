"""Reading ``template.yaml``: parsed with ``cfnlint.decode`` (imported lazily), short-form tags
as ``Fn::`` maps, and the few look-ups the local stack needs (resources, properties, Globals)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
SUPPORTED_TYPES = frozenset({TABLE, BUCKET, QUEUE})
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class TemplateError(ValueError):
    """The template cannot be read, or uses something this builder cannot resolve."""


def load_template(path: Path) -> dict[str, Any]:
    """Parse ``template.yaml`` with ``cfnlint.decode`` (short-form tags become ``Fn::`` maps)."""
    import cfnlint.decode

    template, matches = cfnlint.decode.decode(str(path))
    if template is None or matches:
        problems = "; ".join(str(m) for m in matches) or "empty template"
        raise TemplateError(f"cannot read {path}: {problems}")
    plain = _plain(template)
    if not isinstance(plain, dict):
        raise TemplateError(f"{path} is not a mapping")
    return plain


def _plain(node: Any) -> Any:
    """cfn-lint's node subclasses (with line marks) -> plain dict / list / str."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def resources_of(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The template's resources by logical id."""
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        raise TemplateError("the template has no Resources")
    return {str(k): v for k, v in resources.items() if isinstance(v, Mapping)}


def properties_of(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """A resource's ``Properties`` (empty when it has none)."""
    props = resource.get("Properties", {})
    return props if isinstance(props, Mapping) else {}


def global_function(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """``Globals.Function`` (empty when the template has none)."""
    globals_ = template.get("Globals", {})
    function = globals_.get("Function", {}) if isinstance(globals_, Mapping) else {}
    return function if isinstance(function, Mapping) else {}
