"""A custom resource (``Custom::*``, ``AWS::CloudFormation::CustomResource``) is a listed placeholder.

Emulator: moto invokes the ServiceToken's function for a custom resource, which needs Docker; without it the
invocation fails (errors on the console), the stack still ends CREATE_COMPLETE, and every ``Fn::GetAtt`` of the
resource's attributes silently drops the output that reads it.
AWS: CloudFormation sends the request to the ServiceToken (a Lambda function or SNS topic), waits for the function's
response, and ``Fn::GetAtt`` answers the Data keys of that response
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/crpg-ref-responses.html). The emulator runs no
function code: the function itself is created (AWS::Lambda::Function, with its inline code), and the custom resource
is a placeholder whose event says that its code did not run and whose attributes are visibly fake
(``not-emulated:<LogicalId>.<Attribute>``), so ``stand_ins()`` and the deploy output list it.
Test: tests/test_local_aws.py::test_a_custom_resource_is_a_listed_placeholder_and_its_function_is_created
"""

from __future__ import annotations

from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import NOT_RUN_REASON, NotEmulated

TARGETS = (Target("moto.cloudformation.parsing:resource_class_from_type", "ca766bc34c1950ae"),)
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"


class NotRun(NotEmulated):
    """Placeholder for a custom resource: its function exists, its code does not run."""

    REASON = NOT_RUN_REASON


def apply() -> None:
    """moto's type lookup, answering the placeholder for custom resource types."""
    from moto.cloudformation import parsing

    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        custom = resource_type.startswith("Custom::") or resource_type == CUSTOM_RESOURCE
        return NotRun if custom else original(resource_type)

    parsing.resource_class_from_type = resource_class_from_type
