"""Seed coverage: every part of the platform the guide builds (shared/seed), and every part issue 17 adds to run it as
AWS does, is in the templates the example blueprints generate.

One row per part: which example shows it and what in the templates proves it. A part a builder stops making (or a
blueprint stops asking for) fails its row by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

import pytest

from cfngen import load_blueprint, synthesize
from cfngen.facts.aws import AURORA_MYSQL_DEFAULT_VERSION
from tests.conftest import ROOT

Resources = list[Mapping[str, Any]]


@cache
def resources(example: str) -> Resources:
    """Every resource of every template of blueprints/<example>.yaml, each with its stack's name under "Stack"."""
    stacks = synthesize(load_blueprint(ROOT / "blueprints" / f"{example}.yaml"))
    return [
        {**resource, "Stack": name}
        for name, template in stacks.templates().items()
        for resource in template.to_dict().get("Resources", {}).values()
    ]


def of_type(example: str, resource_type: str) -> Iterator[Mapping[str, Any]]:
    return (resource for resource in resources(example) if resource["Type"] == resource_type)


def properties(example: str, resource_type: str) -> list[Mapping[str, Any]]:
    return [resource.get("Properties", {}) for resource in of_type(example, resource_type)]


def text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _interface_endpoints(example: str) -> set[str]:
    return {
        text(endpoint["ServiceName"]).rsplit(".", 1)[-1].strip('"}')
        for endpoint in properties(example, "AWS::EC2::VPCEndpoint")
        if endpoint.get("VpcEndpointType") == "Interface"
    }


def _no_master_secret_in_services(example: str) -> bool:
    definitions = [definition for definition in properties(example, "AWS::ECS::TaskDefinition")]
    service_definitions = [d for d in definitions if "database-users" not in text(d.get("Family", ""))]
    return bool(service_definitions) and not any("MasterUserSecret" in text(d) for d in service_definitions)


PARTS: dict[str, tuple[str, Callable[[str], bool]]] = {
    # The guide's platform.
    "VPC over two Availability Zones, public and private subnets, NAT": (
        "demo",
        lambda ex: len(properties(ex, "AWS::EC2::Subnet")) >= 4 and bool(properties(ex, "AWS::EC2::NatGateway")),
    ),
    "ECS cluster on EC2 with an Auto Scaling group and a managed capacity provider": (
        "demo",
        lambda ex: (
            bool(properties(ex, "AWS::ECS::Cluster"))
            and bool(properties(ex, "AWS::AutoScaling::AutoScalingGroup"))
            and any(
                provider["AutoScalingGroupProvider"]["ManagedScaling"]["Status"] == "ENABLED"
                for provider in properties(ex, "AWS::ECS::CapacityProvider")
            )
        ),
    ),
    "Network Load Balancer": (
        "demo",
        lambda ex: any(
            lb.get("Type") == "network" for lb in properties(ex, "AWS::ElasticLoadBalancingV2::LoadBalancer")
        ),
    ),
    "Aurora MySQL writer and reader": (
        "demo",
        lambda ex: (
            any(c["Engine"] == "aurora-mysql" for c in properties(ex, "AWS::RDS::DBCluster"))
            and len(properties(ex, "AWS::RDS::DBInstance")) >= 2
        ),
    ),
    "CodeCommit source repositories": ("demo", lambda ex: bool(properties(ex, "AWS::CodeCommit::Repository"))),
    "CodeBuild projects": ("demo", lambda ex: bool(properties(ex, "AWS::CodeBuild::Project"))),
    "ECR image repositories": ("demo", lambda ex: bool(properties(ex, "AWS::ECR::Repository"))),
    "CodeDeploy blue/green for ECS": (
        "demo",
        lambda ex: any(
            group.get("DeploymentStyle", {}).get("DeploymentType") == "BLUE_GREEN"
            for group in properties(ex, "AWS::CodeDeploy::DeploymentGroup")
        ),
    ),
    "ECS blue/green deployments (the modern option)": (
        "delivery",
        lambda ex: any(
            service.get("DeploymentConfiguration", {}).get("Strategy") == "BLUE_GREEN"
            for service in properties(ex, "AWS::ECS::Service")
        ),
    ),
    "CodePipeline per service": ("demo", lambda ex: bool(properties(ex, "AWS::CodePipeline::Pipeline"))),
    "CloudWatch alarms and dashboard": (
        "demo",
        lambda ex: (
            bool(properties(ex, "AWS::CloudWatch::Alarm")) and bool(properties(ex, "AWS::CloudWatch::Dashboard"))
        ),
    ),
    "Service auto scaling": (
        "demo",
        lambda ex: (
            bool(properties(ex, "AWS::ApplicationAutoScaling::ScalableTarget"))
            and bool(properties(ex, "AWS::ApplicationAutoScaling::ScalingPolicy"))
        ),
    ),
    # Issue 17: the platform as AWS runs it.
    "A database user per service, with IAM database authentication": (
        "demo",
        lambda ex: (
            bool(properties(ex, "Custom::DatabaseUser"))
            and all(c.get("EnableIAMDatabaseAuthentication") is True for c in properties(ex, "AWS::RDS::DBCluster"))
        ),
    ),
    "The master secret reaches no service task": ("demo", _no_master_secret_in_services),
    "RDS Proxy in front of the cluster, IAM to the proxy, a secret per service (database.access: proxy)": (
        "prod",
        lambda ex: any(
            {auth.get("IAMAuth") for auth in proxy.get("Auth", [])} == {"REQUIRED"}
            and len(proxy.get("Auth", [])) == len(properties(ex, "Custom::DatabaseUser"))
            for proxy in properties(ex, "AWS::RDS::DBProxy")
        ),
    ),
    "The services' database secrets are rotated": (
        "prod",
        lambda ex: (
            bool(properties(ex, "AWS::SecretsManager::RotationSchedule"))
            and len(properties(ex, "AWS::SecretsManager::RotationSchedule"))
            == len(properties(ex, "AWS::SecretsManager::Secret"))
        ),
    ),
    "A current Aurora MySQL engine version (the dated table's default)": (
        "demo",
        lambda ex: all(
            c.get("EngineVersion") == AURORA_MYSQL_DEFAULT_VERSION for c in properties(ex, "AWS::RDS::DBCluster")
        ),
    ),
    "The writer first: PromotionTier 0, readers ordered": (
        "prod",
        lambda ex: (
            sorted(i.get("PromotionTier") for i in properties(ex, "AWS::RDS::DBInstance"))
            == list(range(len(properties(ex, "AWS::RDS::DBInstance"))))
        ),
    ),
    "Session Manager on the instances, no SSH key": (
        "demo",
        lambda ex: (
            "ssmmessages:OpenDataChannel" in text(properties(ex, "AWS::IAM::Role"))
            and all("KeyName" not in text(t) for t in properties(ex, "AWS::EC2::LaunchTemplate"))
        ),
    ),
    "ECS Exec where a service asks for it": (
        "dev",
        lambda ex: any(s.get("EnableExecuteCommand") is True for s in properties(ex, "AWS::ECS::Service")),
    ),
    "A new AMI rolls the instances (instance refresh)": (
        "demo",
        lambda ex: all(
            "AutoScalingInstanceRefresh" in text(group) for group in of_type(ex, "AWS::AutoScaling::AutoScalingGroup")
        ),
    ),
    "Interface VPC endpoints for ECR, logs, Secrets Manager and ECS": (
        "demo",
        lambda ex: {"api", "dkr", "logs", "secretsmanager", "ecs"} <= _interface_endpoints(ex),
    ),
    "An ECR pull-through cache for public base images": (
        "demo",
        lambda ex: bool(properties(ex, "AWS::ECR::PullThroughCacheRule")),
    ),
    "A Docker layer cache on the build": (
        "demo",
        lambda ex: any(
            "LOCAL_DOCKER_LAYER_CACHE" in text(p.get("Cache", {})) for p in properties(ex, "AWS::CodeBuild::Project")
        ),
    ),
    "TLS listeners with a current security policy": (
        "prod",
        lambda ex: any(
            listener.get("Protocol") == "TLS"
            and str(listener.get("SslPolicy", "")).startswith("ELBSecurityPolicy-TLS13")
            for listener in properties(ex, "AWS::ElasticLoadBalancingV2::Listener")
        ),
    ),
    "NLB access logs to an encrypted bucket": (
        "prod",
        lambda ex: any(
            "access_logs.s3.enabled" in text(lb.get("LoadBalancerAttributes", []))
            for lb in properties(ex, "AWS::ElasticLoadBalancingV2::LoadBalancer")
        ),
    ),
}


@pytest.mark.parametrize("part", sorted(PARTS))
def test_the_examples_build_every_part_of_the_platform(part: str) -> None:
    example, present = PARTS[part]
    assert present(example), f"{part}: not in the templates of blueprints/{example}.yaml"
