"""A load balancer from a template keeps the template's ``Type`` (network, gateway).

Emulator: moto ignores ``Type``, so a Network Load Balancer became an application one that refuses TCP listeners.
AWS: ``Type`` selects the kind of load balancer
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html#cfn-elasticloadbalancingv2-loadbalancer-type).
Test: tests/test_local_aws.py::test_a_network_load_balancer_takes_tcp_listeners_and_gives_its_full_names
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.elbv2.models:FakeLoadBalancer.create_from_cloudformation_json", "397dadc0d46c1ae4"),)


def apply() -> None:
    """Wrap moto's load balancer handler."""
    from moto.elbv2.models import FakeLoadBalancer

    setattr(
        FakeLoadBalancer,
        "create_from_cloudformation_json",
        classmethod(_typed_load_balancer(FakeLoadBalancer.create_from_cloudformation_json)),
    )


def _typed_load_balancer(create: Callable[..., Any]) -> Callable[..., Any]:
    def create_typed(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        balancer = create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        balancer.type = cloudformation_json["Properties"].get("Type", balancer.type)
        return balancer

    return create_typed
