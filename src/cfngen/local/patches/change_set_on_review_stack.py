"""A CREATE change set for a stack that waits in REVIEW_IN_PROGRESS goes on that stack.

Emulator: moto makes a second stack of the same name for every CREATE change set, and DescribeStacks then returns the
first (the one never executed): after a plan, an interrupted first create or two concurrent first creates, the stack
looks empty and a re-plan wants to add everything.
AWS: CreateChangeSet with ChangeSetType CREATE "for a stack that doesn't exist or an existing stack that has the
REVIEW_IN_PROGRESS stack status"; for any other existing stack it is refused
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
Test: tests/test_local_aws.py::test_a_create_change_set_goes_on_the_stack_waiting_in_review
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.models:CloudFormationBackend.create_change_set", "4668670ac84b203d"),)
REVIEW = "REVIEW_IN_PROGRESS"


def apply() -> None:
    """Wrap moto's CreateChangeSet."""
    from moto.cloudformation import models

    setattr(
        models.CloudFormationBackend,
        "create_change_set",
        _on_waiting_stack(models.CloudFormationBackend.create_change_set),
    )


def _on_waiting_stack(create_change_set: Callable[..., tuple[str, str]]) -> Callable[..., tuple[str, str]]:
    def create_on_waiting_stack(
        backend: Any,
        stack_name: str,
        change_set_name: str,
        template: str,
        parameters: dict[str, str],
        description: str,
        change_set_type: str,
        **kwargs: Any,
    ) -> tuple[str, str]:
        from moto.cloudformation.exceptions import ValidationError

        existing = next((stack for stack in backend.stacks.values() if stack.name == stack_name), None)
        if change_set_type != "CREATE" or existing is None:
            return create_change_set(
                backend, stack_name, change_set_name, template, parameters, description, change_set_type, **kwargs
            )
        if existing.status != REVIEW:
            raise ValidationError(
                message=f"Stack [{stack_name}] already exists and cannot be created again with "
                f"the changeSet [{change_set_name}]."
            )
        # moto's UPDATE path puts a change set on the existing stack; it stays a CREATE change set. That path
        # compares templates, and a stack in review has none yet (moto's empty dict would not parse).
        existing.template = "{}"
        change_set_id, stack_id = create_change_set(
            backend, stack_name, change_set_name, template, parameters, description, "UPDATE", **kwargs
        )
        change_set = backend.change_sets[change_set_id]
        change_set.change_set_type = "CREATE"
        change_set.status, change_set.execution_status, change_set.status_reason = "CREATE_COMPLETE", "AVAILABLE", None
        return change_set_id, stack_id

    return create_on_waiting_stack
