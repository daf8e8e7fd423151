"""In an update, a resource is updated before an added resource that refers to it is created.

Emulator: moto creates every added resource first and updates the modified ones afterwards, so an added nested
stack that reads a new output of a modified sibling failed ("resource LoadBalancer does not support attribute type
Outputs.ApiBlueTargetGroupName in Fn::GetAtt"): adding a service back, or any change that adds a consumer and its
producer's output together.
AWS: CloudFormation orders the update by the template's dependencies: what a resource refers to is created or
updated first (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html).
Test: tests/test_local_aws.py::test_an_added_resource_reads_the_updated_output_of_a_modified_one
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.cloudformation.parsing:ResourceMap.update", "e34b0c357f3c8e35"),
    Target("moto.cloudformation.parsing:ResourceMap.__getitem__", "bfa3c026d08de520"),
    Target("moto.cloudformation.parsing:parse_and_update_resource", "2ef032cfb9ed3c9b"),
)
PENDING = "_cfngen_pending_updates"  # names moto will update after the additions: updated on first reference
DONE = "_cfngen_updated_early"  # names updated early: moto's own update of them is skipped


def apply() -> None:
    """Wrap ResourceMap.update and __getitem__, and the update step for one resource."""
    from moto.cloudformation import parsing

    setattr(parsing.ResourceMap, "update", _tracking(parsing.ResourceMap.update))
    setattr(parsing.ResourceMap, "__getitem__", _updating_first(parsing.ResourceMap.__getitem__))
    parsing.parse_and_update_resource = _once(parsing.parse_and_update_resource)


def _tracking(update: Callable[..., None]) -> Callable[..., None]:
    def update_in_order(resource_map: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        modified = resource_map.build_resource_diff(template, parameters)["Modify"]
        setattr(resource_map, PENDING, (template.get("Resources"), set(modified)))
        setattr(resource_map, DONE, set())
        try:
            update(resource_map, template, parameters)
        finally:
            setattr(resource_map, PENDING, (None, set()))
            setattr(resource_map, DONE, set())

    return update_in_order


def _updating_first(getitem: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def get_updated(resource_map: Any, key: str) -> Any:
        from moto.cloudformation import parsing

        resources, pending = getattr(resource_map, PENDING, (None, set()))
        # Only once moto switched to the new template (its additions run then), for a name still to update.
        if key in pending and resource_map._resource_json_map is resources:
            pending.discard(key)
            updated = parsing.parse_and_update_resource(
                key, resources[key], resource_map, resource_map._account_id, resource_map._region_name
            )
            resource_map._parsed_resources[key] = updated
            getattr(resource_map, DONE).add(key)
        return getitem(resource_map, key)

    return get_updated


def _once(update_resource: Callable[..., Any]) -> Callable[..., Any]:
    def update_unless_done(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        done: set[str] = getattr(resources_map, DONE, set())
        if logical_id in done:
            done.discard(logical_id)
            return resources_map._parsed_resources[logical_id]
        return update_resource(logical_id, resource_json, resources_map, account_id, region_name)

    return update_unless_done
