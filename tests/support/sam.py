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
