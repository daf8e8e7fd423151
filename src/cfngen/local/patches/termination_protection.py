"""``UpdateTerminationProtection`` records the flag, and ``DeleteStack`` on a protected stack is refused.

Emulator: moto does not implement UpdateTerminationProtection (HTTP 500) and deletes a protected stack.
AWS: "If a user attempts to delete a stack with termination protection enabled, the operation fails and the stack
remains unchanged" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html);
the error is a ValidationError "Stack [<name>] cannot be deleted while TerminationProtection is enabled".
Test: tests/test_local_aws.py::test_termination_protection_can_be_turned_on_and_refuses_deletion
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import live_stack

TARGETS = (
    Target("moto.cloudformation.responses:CloudFormationResponse.update_termination_protection", ""),
    Target("moto.cloudformation.responses:CloudFormationResponse.delete_stack", "4444140dae503ee6"),
)


def apply() -> None:
    """Add the action; guard DeleteStack."""
    from moto.cloudformation import responses

    setattr(responses.CloudFormationResponse, "update_termination_protection", _update_termination_protection)
    setattr(
        responses.CloudFormationResponse,
        "delete_stack",
        _refused_when_protected(responses.CloudFormationResponse.delete_stack),
    )


def _update_termination_protection(response: Any) -> Any:
    """The UpdateTerminationProtection action: store the flag on the stack."""
    from moto.core.responses import ActionResult

    stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
    stack.enable_termination_protection = response._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def _refused_when_protected(delete_stack: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def delete_unless_protected(response: Any) -> Any:
        from moto.cloudformation.exceptions import ValidationError

        stack = live_stack(response.cloudformation_backend, response._get_param("StackName"))
        if stack is not None and stack.enable_termination_protection:
            raise ValidationError(
                message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
            )
        return delete_stack(response)

    return delete_unless_protected
