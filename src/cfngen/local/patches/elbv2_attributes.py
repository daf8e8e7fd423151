"""A load balancer gives ``LoadBalancerFullName``, a target group ``TargetGroupName`` and ``TargetGroupFullName``.

Emulator: moto's models lack these return values (its load balancer raises NotImplementedError, its target group has
no attribute lookup), so the monitoring stack's alarm dimensions and the deployment groups got placeholder values.
AWS: both are documented return values, the full names being the ARN's part after ``loadbalancer/`` and the
``targetgroup/...`` part of the ARN
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html#aws-resource-elasticloadbalancingv2-loadbalancer-return-values,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-targetgroup.html#aws-resource-elasticloadbalancingv2-targetgroup-return-values).
Test: tests/test_local_aws.py::test_a_network_load_balancer_takes_tcp_listeners_and_gives_its_full_names
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.elbv2.models:FakeLoadBalancer.get_cfn_attribute", "36fd43f94a494b1f"),
    Target("moto.elbv2.models:FakeTargetGroup.get_cfn_attribute", ""),
)


def apply() -> None:
    """Wrap the load balancer's lookup; give the target group one."""
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

    setattr(FakeLoadBalancer, "get_cfn_attribute", _full_name(FakeLoadBalancer.get_cfn_attribute))
    setattr(FakeTargetGroup, "get_cfn_attribute", _target_group_attribute)


def _full_name(lookup: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def get_cfn_attribute(balancer: Any, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return str(balancer.arn).split(":loadbalancer/", 1)[1]
        return lookup(balancer, attribute_name)

    return get_cfn_attribute


def _target_group_attribute(group: Any, attribute_name: str) -> Any:
    values = {
        "TargetGroupName": group.name,
        "TargetGroupArn": group.arn,
        "TargetGroupFullName": "targetgroup/" + str(group.arn).split(":targetgroup/", 1)[1],
        "LoadBalancerArns": list(group.load_balancer_arns),
    }
    if attribute_name not in values:
        raise AttributeError(attribute_name)
    return values[attribute_name]
