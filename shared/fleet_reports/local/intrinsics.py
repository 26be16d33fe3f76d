"""Resolving CloudFormation intrinsics locally: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``,
``Fn::FindInMap``, ``Fn::Join`` and ``Fn::Select`` against what a :class:`Context` knows
(parameters, mappings, pseudo parameters, and the names and attributes of the resources created
so far), plus the template's parameter values and the references a value makes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet_reports.local.template import TemplateError

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"

SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class Context:
    """What the resolver knows; grows as resources are created."""

    parameters: dict[str, str]
    mappings: Mapping[str, Any]
    names: dict[str, str]
    attributes: dict[str, dict[str, str]]
    region: str
    account_id: str
    stack_name: str

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.names:
            return self.names[name]
        raise TemplateError(f"cannot resolve Ref {name!r} locally")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute} locally") from None


def resolve_value(value: Any, ctx: Context) -> Any:
    """``value`` with every intrinsic in it resolved."""
    if isinstance(value, list):
        return [resolve_value(v, ctx) for v in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        (key, arg), *_ = value.items()
        handler = _INTRINSICS.get(str(key))
        if handler is not None:
            return handler(arg, ctx)
    return {k: resolve_value(v, ctx) for k, v in value.items()}


def scalar(value: Any, ctx: Context) -> str:
    """``value`` resolved to a string (booleans as ``true`` / ``false``)."""
    resolved = resolve_value(value, ctx)
    if isinstance(resolved, bool):
        return "true" if resolved else "false"
    if isinstance(resolved, (str, int, float)):
        return str(resolved)
    raise TemplateError(f"expected a scalar, got {resolved!r}")


def _fn_ref(arg: Any, ctx: Context) -> str:
    return ctx.ref(scalar(arg, ctx))


def _fn_get_att(arg: Any, ctx: Context) -> str:
    if isinstance(arg, str):
        logical_id, _, attribute = arg.partition(".")
    elif isinstance(arg, list) and len(arg) == 2:
        logical_id, attribute = scalar(arg[0], ctx), scalar(arg[1], ctx)
    else:
        raise TemplateError(f"bad Fn::GetAtt {arg!r}")
    return ctx.get_att(logical_id, attribute)


def _fn_sub(arg: Any, ctx: Context) -> str:
    if isinstance(arg, str):
        text, variables = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], Mapping):
        text, variables = scalar(arg[0], ctx), {str(k): scalar(v, ctx) for k, v in arg[1].items()}
    else:
        raise TemplateError(f"bad Fn::Sub {arg!r}")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):  # ${!Literal} -> ${Literal}
            return "${" + name[1:] + "}"
        if name in variables:
            return variables[name]
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return ctx.get_att(logical_id, attribute)
        return ctx.ref(name)

    return SUB_VARIABLE.sub(substitute, text)


def _fn_find_in_map(arg: Any, ctx: Context) -> Any:
    if not isinstance(arg, list) or len(arg) != 3:
        raise TemplateError(f"bad Fn::FindInMap {arg!r}")
    map_name, top, second = (scalar(a, ctx) for a in arg)
    try:
        return resolve_value(ctx.mappings[map_name][top][second], ctx)
    except (KeyError, TypeError):
        raise TemplateError(f"Fn::FindInMap: no {map_name}.{top}.{second} in Mappings") from None


def _fn_join(arg: Any, ctx: Context) -> str:
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError(f"bad Fn::Join {arg!r}")
    items = resolve_value(arg[1], ctx)
    if not isinstance(items, list):
        raise TemplateError(f"Fn::Join needs a list, got {items!r}")
    return scalar(arg[0], ctx).join(scalar(i, ctx) for i in items)


def _fn_select(arg: Any, ctx: Context) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError(f"bad Fn::Select {arg!r}")
    items = resolve_value(arg[1], ctx)
    if not isinstance(items, list):
        raise TemplateError(f"Fn::Select needs a list, got {items!r}")
    return items[int(scalar(arg[0], ctx))]


_INTRINSICS: dict[str, Callable[[Any, Context], Any]] = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
}


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """The template's parameters: defaults as strings, then the overrides (checked)."""
    declared = template.get("Parameters", {})
    declared = declared if isinstance(declared, Mapping) else {}
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if isinstance(spec, Mapping) and "Default" in spec:
            values[str(name)] = literal(spec["Default"])
    for name, value in (overrides or {}).items():
        spec = declared.get(name)
        if not isinstance(spec, Mapping):
            raise TemplateError(f"parameter override {name!r}: the template declares no such parameter")
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and str(value) not in {literal(a) for a in allowed}:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        _check_range(name, str(value), spec)
        values[name] = str(value)
    missing = sorted(str(n) for n in declared if n not in values)
    if missing:
        raise TemplateError(f"parameters without a default need an override: {missing}")
    return values


def _check_range(name: str, value: str, spec: Mapping[str, Any]) -> None:
    """A Number parameter's MinValue and MaxValue, as CloudFormation checks them."""
    if spec.get("Type") != "Number":
        return
    try:
        number = float(value)
    except ValueError:
        raise TemplateError(f"parameter {name}={value!r} is not a number") from None
    low, high = spec.get("MinValue"), spec.get("MaxValue")
    if (low is not None and number < float(low)) or (high is not None and number > float(high)):
        raise TemplateError(f"parameter {name}={value!r} is outside {low} .. {high}")


def literal(value: Any) -> str:
    """A template literal as a parameter string (lists comma-joined)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(literal(v) for v in value)
    return str(value)


def dependencies(value: Any, candidates: frozenset[str]) -> set[str]:
    """Logical ids among ``candidates`` that ``value`` refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= dependencies(v, candidates)
    elif isinstance(value, Mapping):
        for key, arg in value.items():
            if key == "Ref" and arg in candidates:
                found.add(str(arg))
            elif key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                if target in candidates:
                    found.add(str(target))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0] if isinstance(arg, list) else ""
                for name in SUB_VARIABLE.findall(text if isinstance(text, str) else ""):
                    target = name.split(".", 1)[0]
                    if target in candidates:
                        found.add(target)
                if isinstance(arg, list) and len(arg) == 2:
                    found |= dependencies(arg[1], candidates)
            else:
                found |= dependencies(arg, candidates)
    return found
