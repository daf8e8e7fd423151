"""A resource removed by an update is forgotten, so adding it back later creates it anew.

Emulator: moto deletes a removed resource but keeps its model in the stack's resource map, so a resource (or nested
stack) of the same logical id added back later is the deleted one: removing a service and adding it back left the
root pointing at the deleted nested stacks ("Stack: ...-PipelineApi-... does not exist").
AWS: a resource removed from the template is deleted; one added later with the same logical id is a new resource
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html).
Test: tests/test_local_aws.py::test_a_resource_removed_and_added_back_is_created_anew
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.parsing:ResourceMap.update", "e34b0c357f3c8e35"),)


def apply() -> None:
    """Wrap moto's ResourceMap.update."""
    from moto.cloudformation import parsing

    setattr(parsing.ResourceMap, "update", _forgetting(parsing.ResourceMap.update))


def _forgetting(update: Callable[..., None]) -> Callable[..., None]:
    def update_and_forget(
        resource_map: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> None:
        removed = [name for name in resource_map._resource_json_map if name not in template.get("Resources", {})]
        update(resource_map, template, parameters)
        for name in removed:
            resource_map._parsed_resources.pop(name, None)

    return update_and_forget
