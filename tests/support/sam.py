"""The template as CloudFormation sees it once SAM has transformed it (roles, event source
mappings, permissions), for the template tests; and the account limits they check against."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

ACCOUNT_DEFAULT_LIMIT = 1000  # concurrent executions per region, the default of an account
UNRESERVED_MINIMUM = 100  # Lambda refuses a reservation that leaves fewer unreserved


def sam_transform(template: Mapping[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template names no managed policy; SAM's own are plain ARNs
        def load(self) -> dict[str, str]:
            return {}

    source = copy.deepcopy(dict(template))
    for resource in source["Resources"].values():
        props = resource.get("Properties", {})
        for uri in ("CodeUri", "ContentUri"):
            if uri in props:
                props[uri] = "s3://bucket/code.zip"  # sam build's job; IAM does not depend on it
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        out: dict[str, Any] = transform(source, {}, NoManagedPolicies())
    return out


def of_type(resources: Mapping[str, Any], kind: str) -> dict[str, Mapping[str, Any]]:
    """The resources of one CloudFormation type, by logical id."""
    return {lid: r for lid, r in resources.items() if r["Type"] == kind}


def fires_on_any(alarm: Mapping[str, Any]) -> bool:
    """An alarm's properties say: above 0 within one period; no data (an idle queue or function)
    is not an alarm."""
    return bool(
        alarm["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Threshold"] == 0
        and alarm["EvaluationPeriods"] == 1
        and alarm["TreatMissingData"] == "notBreaching"
    )
