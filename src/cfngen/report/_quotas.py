"""Account and region quotas: how much of AWS's default quotas the generated platform uses.

CloudFormation's per-stack limits are checked at synthesis; these are the
quotas of the account and region the stacks deploy into, which no single
template shows: with 6 IAM roles a service, IAM's 1,000 roles an account run out
at about 165 services; 6 NAT gateways need 6 Elastic IPs against 5 a region. The
counts are of what these templates create; whatever else lives in the account
and region counts against the same quotas, so the report flags a quota at
:data:`NEAR` of its default already (unless the quota is on one resource the
templates create, which nothing else adds to).

Each :class:`Quota` is AWS's documented *default* (accounts may have had
increases); the comment above it names where the figure comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from cfngen.facts.resource_types import NESTED_STACK
from cfngen.report import _exposure as exposure
from cfngen.report._exposure import MAX_LISTENERS
from cfngen.report._model import Names, TemplateSet

NEAR = 0.8  # share of a default quota from which the report warns
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"

Usage = tuple[int, str]  # how many, and where (the fullest resource, for per-resource quotas; else "")


@dataclass(frozen=True)
class Quota:
    """One AWS default quota and how to count what the templates use of it."""

    name: str
    scope: str  # "per account", "per region", or per which resource
    default: int
    adjustable: bool
    count: Callable[[TemplateSet, Names], Usage]
    # False for a quota on one resource these templates create (a balancer's listeners): nothing else adds to
    # it, so only going above matters, not coming near.
    shared: bool = True

    @property
    def label(self) -> str:
        """ "IAM roles"; a per-resource quota with its scope: "Listeners per Network Load Balancer"."""
        return self.name if self.scope in ("per account", "per region") else f"{self.name} {self.scope}"


@dataclass(frozen=True)
class QuotaUse:
    """How much of one quota the templates use; `where` names the fullest resource of a per-resource quota."""

    quota: Quota
    used: int
    where: str

    @property
    def above(self) -> bool:
        """More than the default quota: the deployment fails unless the account's quota was raised."""
        return self.used > self.quota.default

    @property
    def near(self) -> bool:
        """Within a shared default but at NEAR of it or more: anything else in the account may tip it over."""
        return self.quota.shared and not self.above and self.used >= NEAR * self.quota.default

    @property
    def summary(self) -> str:
        """ "IAM roles 1,203 of 1,000"."""
        return f"{self.quota.label} {self.used:,} of {self.quota.default:,}"

    @property
    def headroom(self) -> int:
        """Default minus used (negative when above)."""
        return self.quota.default - self.used


def _resources(*types: str) -> Callable[[TemplateSet, Names], Usage]:
    """Count every resource of `types` in every stack."""

    def count(templates: TemplateSet, names: Names) -> Usage:
        return sum(1 for stack in templates.stacks() for _ in stack.of_type(*types)), ""

    return count


def _stacks(templates: TemplateSet, names: Names) -> Usage:
    """The root stack and every nested stack (nested stacks count against the quota like any other)."""
    return 1 + _resources(NESTED_STACK)(templates, names)[0], ""


def _network_load_balancers(templates: TemplateSet, names: Names) -> Usage:
    return sum(1 for _, _, balancer in _every(templates, LOAD_BALANCER) if _is_network(balancer)), ""


def _listeners_per_balancer(templates: TemplateSet, names: Names) -> Usage:
    networks = {(stack, name) for stack, name, balancer in _every(templates, LOAD_BALANCER) if _is_network(balancer)}
    counted = sorted(
        (balancer.stack, balancer.resource, balancer.listeners)
        for balancer in exposure.balancers(templates, names)
        if (balancer.stack, balancer.resource) in networks
    )
    fullest = max(counted, key=lambda balancer: balancer[2], default=None)
    return (fullest[2], f"{fullest[0]}/{fullest[1]}") if fullest else (0, "")


def _rules_per_event_bus(templates: TemplateSet, names: Names) -> Usage:
    """Rules without an EventBusName go to the account's default bus."""

    def bus(stack: str, rule: dict[str, Any]) -> str:
        name = _properties(rule).get("EventBusName")
        return "default" if name is None else str(names.literal(stack, name) or names.describe(stack, name))

    return _fullest(bus(stack, rule) for stack, _, rule in _every(templates, "AWS::Events::Rule"))


def _inbound_rules_per_group(templates: TemplateSet, names: Names) -> Usage:
    """Inline ingress rules and AWS::EC2::SecurityGroupIngress resources, counted on the group they open.

    AWS counts IPv4 and IPv6 rules separately; counting them together
    overstates a group that has both, never understates.
    """

    def groups() -> Iterator[Hashable]:
        for stack, name, group in _every(templates, SECURITY_GROUP):
            for _ in _properties(group).get("SecurityGroupIngress") or []:
                yield stack, name
        for stack, _, rule in _every(templates, "AWS::EC2::SecurityGroupIngress"):
            yield _located(names, stack, _properties(rule).get("GroupId"))

    return _fullest(groups())


# The defaults, from the AWS documentation pages named above each group; scope as AWS states it.
QUOTAS: tuple[Quota, ...] = (
    # IAM and AWS STS quotas (IAM User Guide, reference_iam-quotas): "Roles in an AWS account", adjustable.
    Quota("IAM roles", "per account", 1_000, True, _resources("AWS::IAM::Role")),
    # Amazon VPC quotas (VPC User Guide, amazon-vpc-limits): Elastic IP addresses per Region (L-0263D0A3),
    # VPC security groups per Region (L-E79EC296), inbound rules per security group (L-0EA8095F).
    Quota("Elastic IP addresses", "per region", 5, True, _resources("AWS::EC2::EIP")),
    Quota("VPC security groups", "per region", 2_500, True, _resources(SECURITY_GROUP)),
    Quota("Inbound rules", "per security group", 60, True, _inbound_rules_per_group, shared=False),
    # Quotas for your Network Load Balancers (ELB, network/load-balancer-limits): Network Load Balancers per
    # Region, listeners per Network Load Balancer (not adjustable), target groups per Region.
    Quota("Network Load Balancers", "per region", 50, True, _network_load_balancers),
    Quota("Listeners", "per Network Load Balancer", MAX_LISTENERS, False, _listeners_per_balancer, shared=False),
    Quota("Target groups", "per region", 3_000, True, _resources("AWS::ElasticLoadBalancingV2::TargetGroup")),
    # Amazon EventBridge quotas (eb-quota): "Rules", per event bus per account; 300 in most regions (100 in
    # af-south-1 and eu-south-1, which this table does not distinguish).
    Quota("EventBridge rules", "per event bus", 300, True, _rules_per_event_bus),
    # Quotas in AWS CodePipeline (codepipeline/latest/userguide/limits): pipelines per Region in an account.
    Quota("CodePipeline pipelines", "per region", 1_000, True, _resources("AWS::CodePipeline::Pipeline")),
    # Quotas for AWS CodeBuild (codebuild/latest/userguide/limits): build projects per Region (L-ACCF6C0D).
    Quota("CodeBuild projects", "per region", 5_000, True, _resources("AWS::CodeBuild::Project")),
    # Understand CloudFormation quotas (cloudformation-limits): stacks an account can create per Region
    # (L-0485CB21); every nested stack is a stack.
    Quota("CloudFormation stacks", "per region", 2_000, True, _stacks),
)


def analyse(templates: TemplateSet) -> tuple[QuotaUse, ...]:
    """What the templates use of each quota in :data:`QUOTAS`, in that order."""
    names = Names(templates)
    return tuple(QuotaUse(quota, *quota.count(templates, names)) for quota in QUOTAS)


def _every(templates: TemplateSet, resource_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stack, logical id, resource) of every resource of one type."""
    for stack in templates.stacks():
        for name, resource in stack.of_type(resource_type):
            yield stack.name, name, resource


def _properties(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties") or {}


def _is_network(balancer: dict[str, Any]) -> bool:
    return str(_properties(balancer).get("Type", "application")) == "network"


def _located(names: Names, stack: str, value: Any) -> tuple[str, str]:
    """(stack, logical id) of the resource a value refers to, followed through the wiring; the value as text else."""
    return names.locate(stack, value) or (stack, names.describe(stack, value))


def _fullest(keys: Iterator[Hashable]) -> Usage:
    """How many times the most frequent key occurs, and that key as "stack/resource" (0, "" when none)."""
    counts: dict[Hashable, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return 0, ""
    key, count = max(sorted(counts.items(), key=lambda item: str(item[0])), key=lambda item: item[1])
    return count, "/".join(key) if isinstance(key, tuple) else str(key)
