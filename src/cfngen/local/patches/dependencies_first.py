"""A resource is created after the resources its ``DependsOn`` names.

Emulator: moto creates a resource when something first refers to it, before what its ``DependsOn`` names (an ECS
service naming its task definition's family was created before that task definition, and failed).
AWS: "the resource is created only after the creation of the resource specified in the DependsOn attribute"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html).
Test: tests/test_local_aws.py::test_depends_on_is_created_first_even_when_a_resource_is_referred_to_earlier
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.parsing:parse_and_create_resource", "ea3c10d68d2c03e6"),)


def apply() -> None:
    """Wrap moto's create step for one resource."""
    from moto.cloudformation import parsing

    parsing.parse_and_create_resource = _dependencies_first(parsing.parse_and_create_resource)


def _dependencies_first(create: Callable[..., Any]) -> Callable[..., Any]:
    """moto's create step for one resource, run after the resources its DependsOn names exist."""

    def create_after_dependencies(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        depends_on = resource_json.get("DependsOn", [])
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            resources_map[dependency]  # ResourceMap creates a resource on first access
        return create(logical_id, resource_json, resources_map, account_id, region_name)

    return create_after_dependencies
