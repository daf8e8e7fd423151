"""``GetAtt`` of an attribute moto's model does not give is a visibly fake value, announced by an event.

Emulator: ``GetAtt`` of an attribute a model lacks (``TargetGroupName`` of a target group ...) crashes moto
(HTTP 500). AWS: every documented return value exists
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-targetgroup.html#aws-resource-elasticloadbalancingv2-targetgroup-return-values);
the emulator gives ``not-emulated:<Id>.<Attribute>`` (ARN-shaped for an ARN attribute) and says so, as for a whole resource it does not model.
Test: tests/test_local_aws.py::test_a_network_load_balancer_takes_tcp_listeners_and_gives_its_full_names
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import ATTRIBUTE_REASON, announce, placeholder_attribute

TARGETS = (Target("moto.cloudformation.parsing:clean_json", "9fbe5dedab810616"),)


def apply() -> None:
    """clean_json resolves the intrinsic functions and calls itself by its module-level name."""
    from moto.cloudformation import parsing

    setattr(parsing, "clean_json", _attributes_stand_in(parsing.clean_json))


def _attributes_stand_in(clean_json: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def clean(resource_json: Any, resources_map: Any) -> Any:
        get_att = resource_json.get("Fn::GetAtt") if isinstance(resource_json, dict) else None
        if isinstance(get_att, list) and len(get_att) == 2 and all(isinstance(part, str) for part in get_att):
            logical_id, attribute = get_att
            resource = resources_map.get(logical_id)
            if hasattr(resource, "cf_resource_type") and not _gives(resource, attribute):
                reason = ATTRIBUTE_REASON.format(type=resource.cf_resource_type, attribute=attribute)
                announce(
                    resources_map._account_id,
                    resources_map._region_name,
                    resources_map.stack_id,
                    resource,
                    "CREATE_COMPLETE",
                    reason,
                    once=True,
                )
                return placeholder_attribute(
                    logical_id, attribute, resources_map._region_name, resources_map._account_id
                )
        return clean_json(resource_json, resources_map)

    return clean


def _gives(resource: Any, attribute: str) -> bool:
    """False when moto's model of `resource` has no value for `attribute` (other errors are moto's to report)."""
    try:
        resource.get_cfn_attribute(attribute)
    except (AttributeError, NotImplementedError):
        return False
    except Exception:
        return True
    return True
