"""DeletionPolicy RetainExceptOnCreate keeps a resource when its stack is deleted, and not when its create rolls back.

Emulator: moto keeps only resources whose DeletionPolicy is exactly ``Retain``, so a stack deletion deleted the
RetainExceptOnCreate repositories and log groups (with their images and logs) that AWS keeps.
AWS: "RetainExceptOnCreate behaves like Retain for stack operations, except for the stack operation that initially
created the resource. If the stack operation that created the resource is rolled back, CloudFormation deletes the
resource. For all other stack operations, such as stack deletion, CloudFormation retains the resource and its
contents." (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
This module keeps such resources, except while their stack, or a stack it is nested in, rolls back its create
(ROLLBACK_IN_PROGRESS, which only a failed create passes through).
Test: tests/test_retain_except_on_create.py::test_the_emulator_keeps_them_on_deletion_and_not_on_a_failed_create
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.parsing:ResourceMap.delete", "4faca03385e54f63"),)
POLICY = "RetainExceptOnCreate"


def apply() -> None:
    """Wrap moto's ResourceMap.delete."""
    from moto.cloudformation import parsing

    setattr(parsing.ResourceMap, "delete", _keeping(parsing.ResourceMap.delete))


def _keeping(delete: Callable[[Any], None]) -> Callable[[Any], None]:
    def delete_keeping(resource_map: Any) -> None:
        policies = resource_map._resource_json_map
        kept = [name for name, resource in policies.items() if resource.get("DeletionPolicy") == POLICY]
        if not kept or _create_rolls_back(resource_map):
            delete(resource_map)
            return
        for name in kept:  # moto's delete keeps what says Retain; the policy is the template's again afterwards
            policies[name] = {**policies[name], "DeletionPolicy": "Retain"}
        try:
            delete(resource_map)
        finally:
            for name in kept:
                policies[name] = {**policies[name], "DeletionPolicy": POLICY}

    return delete_keeping


def _create_rolls_back(resource_map: Any) -> bool:
    """Whether the stack of `resource_map`, or a stack it is nested in, rolls back its create."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[resource_map._account_id][resource_map._region_name]
    rolling_back = [stack for stack in backend.stacks.values() if stack.status == "ROLLBACK_IN_PROGRESS"]
    return any(resource_map is nested.resource_map for stack in rolling_back for nested in _tree(stack))


def _tree(stack: Any) -> Iterator[Any]:
    """The stack and every stack nested in it (moto keeps a nested stack's model among its parent's resources)."""
    from moto.cloudformation.models import Stack

    yield stack
    for resource in list(stack.resource_map._parsed_resources.values()):
        if isinstance(resource, Stack):
            yield from _tree(resource)
