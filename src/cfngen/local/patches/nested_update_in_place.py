"""A nested stack whose TemplateURL or Parameters changed is updated in place.

Emulator: moto deletes the nested stack and creates it again, which collides with the retained, explicitly named
resources of the old copy (an ECR repository "already exists") and gives the child a new id.
AWS: a nested stack is updated, keeping its stack id
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html).
Test: tests/test_local_aws.py::test_a_nested_stack_is_updated_in_place
"""

from __future__ import annotations

from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.models:Stack.update_from_cloudformation_json", "8e22cbcd61b3b9e9"),)


def apply() -> None:
    """Replace moto's delete-and-create of a nested stack."""
    from moto.cloudformation import models

    setattr(models.Stack, "update_from_cloudformation_json", classmethod(_update_nested_stack))


def _update_nested_stack(
    stack_class: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    from moto.cloudformation.utils import get_stack_from_s3_url
    from moto.utilities.utils import get_partition

    properties = cloudformation_json["Properties"]
    template = get_stack_from_s3_url(
        properties["TemplateURL"], account_id=account_id, partition=get_partition(region_name)
    )
    original_resource.update(template, parameters=properties.get("Parameters", {}))
    return original_resource
