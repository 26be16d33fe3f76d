"""Create the stack's AWS resources on a local endpoint (moto) from ``template.yaml`` itself.

The template is parsed with ``cfnlint.decode`` and every supported resource
(``AWS::DynamoDB::Table``, ``AWS::S3::Bucket``, ``AWS::SQS::Queue``) is created from its own
``Properties``, with the intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::FindInMap``,
``Fn::Join``, ``Fn::Select``) resolved by a small generic resolver, so the local stack and the
deployed one cannot drift. Physical names are deterministic: ``<prefix>-<logical-id-in-kebab-case>``.

The clients come from the given (or default) boto3 session, so the caller points them at moto by
setting ``AWS_ENDPOINT_URL``. boto3 and cfn-lint are imported lazily, inside the functions.

Not reproduced locally, each on purpose and with its reason (:data:`NOT_CREATED_LOCALLY`,
:data:`NOT_REPRODUCED`; :func:`unreproduced` names anything else, and ``tests/template`` keeps
it empty): bucket and queue policies (the TLS-only rule cannot hold on a loopback HTTP endpoint),
IAM roles and policies, log groups, alarms and their topic, the track bucket's versioning (moto
would keep every version in memory), the functions, the API and the layers (the local stack
calls the handlers in-process; see :func:`functions` and :func:`function_environment`).

This module is the entry point; the work is split by responsibility:

- :mod:`~fleet_reports.local.template`: reading the template (``load_template``, ``TemplateError``);
- :mod:`~fleet_reports.local.intrinsics`: resolving intrinsics, parameter values;
- :mod:`~fleet_reports.local.creation`: creating the resources (``create_resources``,
  ``LocalResources``, ``physical_name``, ``resolve``);
- :mod:`~fleet_reports.local.function_specs`: the functions' wiring and environment
  (``functions``, ``FunctionSpec``, ``S3EventSpec``, ``function_environment``).
"""

from __future__ import annotations

from fleet_reports.local.creation import (
    NOT_CREATED_LOCALLY,
    NOT_REPRODUCED,
    LocalResources,
    create_resources,
    physical_name,
    resolve,
    unreproduced,
)
from fleet_reports.local.function_specs import FunctionSpec, S3EventSpec, function_environment, functions
from fleet_reports.local.template import SUPPORTED_TYPES, TemplateError, load_template

__all__ = [
    "NOT_CREATED_LOCALLY",
    "NOT_REPRODUCED",
    "SUPPORTED_TYPES",
    "FunctionSpec",
    "LocalResources",
    "S3EventSpec",
    "TemplateError",
    "create_resources",
    "function_environment",
    "functions",
    "load_template",
    "physical_name",
    "resolve",
    "unreproduced",
]
