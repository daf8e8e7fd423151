"""A stack's parameters are recorded as AWS records them: lists comma-joined, SSM parameter types with the key as
ParameterValue and the parameter store's value as ResolvedValue.

Emulator: moto records a list parameter as a Python list printout (``['a', 'b']``) and an SSM parameter type as its
resolved value only.
AWS: ``ParameterValue`` is the value given (a list as comma-separated values); "ResolvedValue: the value that
corresponds to a Systems Manager parameter key. This field is returned only for Systems Manager parameter types"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html).
Test: tests/test_local_aws.py::test_parameters_are_recorded_as_aws_records_them
"""

from __future__ import annotations

from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.models:Stack.parameter_list", "4bb8aef4838b85e2"),)
SSM_TYPE = "AWS::SSM::Parameter::"


def apply() -> None:
    """Replace moto's Stack.parameter_list (what DescribeStacks serializes as Parameters)."""
    from moto.cloudformation import models

    setattr(models.Stack, "parameter_list", property(_parameter_list))


def _parameter_list(stack: Any) -> list[dict[str, Any]]:
    resources = stack.resource_map
    slots = stack.template_dict.get("Parameters") or {}
    given = resources.input_parameters
    recorded = []
    for key, value in resources.resolved_parameters.items():
        kind = str(slots.get(key, {}).get("Type", ""))
        entry: dict[str, Any] = {"ParameterKey": key, "ParameterValue": _text(value)}
        if kind.startswith(SSM_TYPE) and kind != SSM_TYPE + "Name":
            entry = {
                **entry,
                "ParameterValue": _text(given.get(key, slots[key].get("Default"))),
                "ResolvedValue": _text(value),
            }
        if key in resources.no_echo_parameter_keys:
            entry = {"ParameterKey": key, "ParameterValue": "****"}
        recorded.append(entry)
    return recorded


def _text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
