"""A stack whose resource failed rolls back: ROLLBACK_COMPLETE after a failed create, UPDATE_ROLLBACK_COMPLETE after
a failed update, and a nested stack's failure fails its resource in the parent, with the child's reason.

Emulator: moto has no rollback ("TODO: handle execution errors and implement rollback"): a failure escaped as an
HTTP 500 and left the stack half updated, so every later deploy failed ("resource LoadBalancer does not support
attribute type Outputs.X in Fn::GetAtt") until a restart.
AWS: a failed create deletes what it created and ends ROLLBACK_COMPLETE; a failed update restores the previous
template and resources and ends UPDATE_ROLLBACK_COMPLETE; a nested stack's failure reads "Embedded stack <arn> was
not successfully created: The following resource(s) failed to create: [X]."
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes).
Test: tests/test_local_aws.py::test_a_resource_that_fails_to_create_rolls_the_stack_back,
tests/test_local_aws.py::test_a_failed_update_rolls_back_and_the_next_update_works
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import ResourceFailed

TARGETS = (
    Target("moto.cloudformation.models:Stack.create_resources", "a5f30450448a1d58"),
    Target("moto.cloudformation.models:Stack.update", "fd488c7f43d4b5c8"),
    Target("moto.cloudformation.models:CloudFormationBackend.execute_change_set", "1090cb5b81abc8ff"),
)


def apply() -> None:
    """Wrap moto's nested create, stack update and change-set execution."""
    from moto.cloudformation import models

    setattr(models.Stack, "create_resources", _nested_create(models.Stack.create_resources))
    setattr(models.Stack, "update", _nested_update(models.Stack.update))
    setattr(
        models.CloudFormationBackend, "execute_change_set", _execution(models.CloudFormationBackend.execute_change_set)
    )


def _nested_create(create: Callable[[Any], None]) -> Callable[[Any], None]:
    def create_resources(stack: Any) -> None:
        try:
            create(stack)
        except ResourceFailed as failure:
            roll_back_create(stack, failure)
            raise ResourceFailed(
                stack.stack_id,
                stack.name,
                (
                    f"Embedded stack {stack.stack_id} was not successfully created: The following resource(s) failed "
                    f"to create: [{failure.logical_id}]. ({failure.logical_id}: {failure.reason})"
                ),
            ) from None

    return create_resources


def _nested_update(update: Callable[..., None]) -> Callable[..., None]:
    def update_stack(
        stack: Any,
        template: str,
        role_arn: str | None = None,
        parameters: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        before = snapshot(stack)
        try:
            update(stack, template, role_arn=role_arn, parameters=parameters, tags=tags)
        except ResourceFailed as failure:
            roll_back_update(stack, before, failure)
            raise ResourceFailed(
                stack.stack_id,
                stack.name,
                (
                    f"Embedded stack {stack.stack_id} was not successfully updated. Currently in "
                    "UPDATE_ROLLBACK_IN_PROGRESS with reason: The following resource(s) failed to update: "
                    f"[{failure.logical_id}]. ({failure.logical_id}: {failure.reason})"
                ),
            ) from None

    return update_stack


def _execution(execute: Callable[..., None]) -> Callable[..., None]:
    def execute_change_set(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = backend.describe_change_set(change_set_name)
        stack = backend.stacks[change_set.stack_id]
        before = snapshot(stack)
        try:
            execute(backend, change_set_name, stack_name)
        except ResourceFailed as failure:
            change_set.execution_status = "EXECUTE_FAILED"
            if change_set.change_set_type == "CREATE":
                roll_back_create(stack, failure)
            else:
                roll_back_update(stack, before, failure)

    return execute_change_set


def snapshot(stack: Any) -> tuple[Any, dict[str, Any]]:
    """What an update rolls back to: the template and the input parameters."""
    return stack.template, dict(stack.resource_map.input_parameters)


def roll_back_create(stack: Any, failure: ResourceFailed) -> None:
    """Delete what the failed create made (retained resources stay, as on AWS); the stack ends ROLLBACK_COMPLETE."""
    from moto.cloudformation.parsing import OutputMap

    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=(
            f"The following resource(s) failed to create: [{failure.logical_id}]. Rollback requested by user."
        ),
    )
    try:
        stack.resource_map.delete()
        stack.resource_map._resource_json_map = {}  # moto's map would create what is gone again when listed
        stack.output_map = OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)  # AWS shows none
    except Exception as exc:  # what AWS reports as ROLLBACK_FAILED: a resource it could not delete
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=f"{type(exc).__name__}: {exc}"[:500])
        return
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def roll_back_update(stack: Any, before: tuple[Any, dict[str, Any]], failure: ResourceFailed) -> None:
    """Bring the previous template's resources back; the stack ends UPDATE_ROLLBACK_COMPLETE."""
    template, parameters = before
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(
        "UPDATE_ROLLBACK_IN_PROGRESS",
        resource_status_reason=(f"The following resource(s) failed to update: [{failure.logical_id}]. "),
    )
    stack.template = template
    stack._parse_template()
    try:
        with warnings.catch_warnings():  # moto warns of the failed update's resources that never were created
            warnings.simplefilter("ignore")
            stack.resource_map.update(stack.template_dict, parameters)
    except Exception as exc:
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=f"{type(exc).__name__}: {exc}"[:500])
        return
    stack.output_map = stack._create_output_map()
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
