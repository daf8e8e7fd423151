"""``GetAtt <NestedStack>.Outputs.<Name>`` gives the child stack's output.

Emulator: moto's Stack model has no ``get_cfn_attribute``, so the root template's wiring of one child's outputs into
the next child's parameters crashes it (HTTP 500).
AWS: a nested stack returns ``Outputs.NestedStackOutputName``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-stack.html#aws-resource-cloudformation-stack-return-values).
Test: tests/test_local_aws.py::test_one_nested_stack_output_feeds_a_sibling_parameter
"""

from __future__ import annotations

from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.models:Stack.get_cfn_attribute", ""),)


def apply() -> None:
    """Give moto's Stack the attribute lookup its parser calls."""
    from moto.cloudformation import models

    setattr(models.Stack, "get_cfn_attribute", _nested_stack_output)


def _nested_stack_output(stack: Any, attribute: str) -> Any:
    """`GetAtt Child.Outputs.Name` on a nested stack: the child's output value."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    prefix, _, key = attribute.partition(".")
    # Only this output: moto resolves an output (and announces its placeholders) each time it is read.
    declared = prefix == "Outputs" and key in (stack.template_dict.get("Outputs") or {})
    output = stack.output_map[key] if declared else None
    if output is not None:
        return output.value
    raise UnformattedGetAttTemplateException()
