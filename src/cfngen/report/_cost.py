"""Estimated monthly cost, per stack and in total, from the price table shipped in ``assets/prices.json``.

Quantities are read from the templates (how many instances an Auto Scaling
group starts with, which Aurora instance classes, how many NAT gateways, load
balancers, pipelines, keys, secrets and alarms), so the estimate prices exactly
what would be deployed. A type or class missing from the table is reported as
"unknown price", never guessed; usage-based charges (data, storage, build
minutes) are named but not estimated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from cfngen.report._model import Names, Stack, TemplateSet

# Resource types whose cost depends on use, not on their existence: named in the report, not estimated.
USAGE_BASED = {
    "AWS::S3::Bucket": "S3 storage and requests",
    "AWS::ECR::Repository": "ECR image storage",
    "AWS::Logs::LogGroup": "CloudWatch Logs ingestion and storage",
    "AWS::CodeBuild::Project": "CodeBuild build minutes",
    "AWS::RDS::DBCluster": "Aurora storage and I/O",
    "AWS::EC2::NatGateway": "NAT gateway data processing",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer capacity units above the baseline, and data transfer",
    "AWS::DynamoDB::Table": "DynamoDB requests and storage",
    "AWS::EC2::FlowLog": "VPC flow log delivery",
    "AWS::Lambda::Function": "Lambda invocations (and the Fargate tasks they start)",
}


@dataclass(frozen=True)
class PriceTable:
    """The shipped prices, with the date and region they were taken for."""

    date: str
    region: str
    currency: str
    hours_per_month: int
    prices: Mapping[str, Any]

    def hourly(self, table: str, key: str) -> float | None:
        """Price per hour of `key` in the named sub-table, or None when the table does not list it."""
        value = (self.prices.get(table) or {}).get(key)
        return float(value) if value is not None else None

    def flat(self, key: str) -> float:
        """A single price (per hour or per month, as its name says)."""
        return float(self.prices[key])


@lru_cache(maxsize=1)
def price_table() -> PriceTable:
    """The price table shipped with cfngen."""
    data = json.loads(resources.files("cfngen.report").joinpath("assets/prices.json").read_text(encoding="utf-8"))
    return PriceTable(
        date=data["date"],
        region=data["region"],
        currency=data["currency"],
        hours_per_month=int(data["hours_per_month"]),
        prices=data,
    )


@dataclass(frozen=True)
class CostLine:
    """One priced item: `monthly` is None when the price is unknown or depends on use."""

    stack: str
    item: str
    quantity: float
    unit_price: float | None
    unit: str
    monthly: float | None
    note: str = ""


@dataclass(frozen=True)
class Estimate:
    """Every cost line, the table it was priced from, and the usage-based charges left out."""

    lines: tuple[CostLine, ...]
    table: PriceTable
    usage_based: tuple[str, ...]

    def per_stack(self) -> dict[str, float]:
        """Stack -> known monthly total, in stack order."""
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.stack] = totals.get(line.stack, 0.0) + (line.monthly or 0.0)
        return totals

    @property
    def total(self) -> float:
        """The known monthly total."""
        return sum(line.monthly or 0.0 for line in self.lines)

    @property
    def unknown(self) -> tuple[CostLine, ...]:
        """Lines whose price the table does not know."""
        return tuple(line for line in self.lines if line.monthly is None and line.unit_price is None)


def estimate(templates: TemplateSet, table: PriceTable | None = None) -> Estimate:
    """Price every resource of `templates` that has a fixed monthly cost."""
    table = table or price_table()
    names = Names(templates)
    lines: list[CostLine] = []
    usage: set[str] = set()
    for stack in templates.children:
        lines += _stack_lines(names, table, stack)
        usage |= {
            USAGE_BASED[resource["Type"]]
            for resource in stack.resources.values()
            if resource.get("Type") in USAGE_BASED
        }
        usage |= {
            "CodePipeline V2 action minutes"
            for _, pipeline in stack.of_type("AWS::CodePipeline::Pipeline")
            if _pipeline_type(pipeline) == "V2"
        }
        usage |= {
            "interface VPC endpoint data processing"
            for _, endpoint in stack.of_type("AWS::EC2::VPCEndpoint")
            if _interface_endpoint(endpoint)
        }
    return Estimate(lines=tuple(lines), table=table, usage_based=tuple(sorted(usage)))


def _stack_lines(names: Names, table: PriceTable, stack: Stack) -> Iterator[CostLine]:
    hours = table.hours_per_month
    for name, group in stack.of_type("AWS::AutoScaling::AutoScalingGroup"):
        properties = group.get("Properties") or {}
        count = _number(names.literal(stack.name, properties.get("DesiredCapacity", properties.get("MinSize"))))
        instance_type = _instance_type(names, stack, properties)
        yield _hourly(
            stack.name,
            f"EC2 {instance_type or 'instance of unknown type'} (Auto Scaling group {name}, instances at creation)",
            count,
            table.hourly("ec2_instance_hour", instance_type or ""),
            "instance-hour",
            hours,
        )
    for name, instance in stack.of_type("AWS::EC2::Instance"):
        instance_type = str(names.literal(stack.name, (instance.get("Properties") or {}).get("InstanceType")))
        yield _hourly(
            stack.name,
            f"EC2 {instance_type} ({name})",
            1,
            table.hourly("ec2_instance_hour", instance_type),
            "instance-hour",
            hours,
        )
    for name, instance in stack.of_type("AWS::RDS::DBInstance"):
        properties = instance.get("Properties") or {}
        instance_class = str(names.literal(stack.name, properties.get("DBInstanceClass")))
        engine = str(names.literal(stack.name, properties.get("Engine")))
        price = table.hourly("aurora_mysql_instance_hour", instance_class) if engine == "aurora-mysql" else None
        yield _hourly(stack.name, f"{engine} {instance_class} ({name})", 1, price, "instance-hour", hours)
    for name, balancer in stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        yield from _load_balancer(names, table, stack, name, balancer)
    for name, _ in stack.of_type("AWS::EC2::NatGateway"):
        yield _hourly(stack.name, f"NAT gateway {name}", 1, table.flat("nat_gateway_hour"), "hour", hours)
    for name, endpoint in stack.of_type("AWS::EC2::VPCEndpoint"):
        # An interface endpoint is billed per hour in each AZ it has a network interface in (one per subnet),
        # https://aws.amazon.com/privatelink/pricing/ ($0.01 per AZ-hour in us-east-1, plus $0.01 per GB);
        # a gateway endpoint (S3, DynamoDB) costs nothing.
        if _interface_endpoint(endpoint):
            subnets = (endpoint.get("Properties") or {}).get("SubnetIds")
            zones = len(subnets) if isinstance(subnets, list) else None
            yield _hourly(
                stack.name,
                f"interface VPC endpoint {name} (per AZ)",
                zones or 0,
                table.flat("vpc_interface_endpoint_az_hour") if zones else None,
                "AZ-hour",
                hours,
            )
    for name, _ in stack.of_type("AWS::EC2::EIP"):
        yield _hourly(
            stack.name, f"public IPv4 address {name}", 1, table.flat("public_ipv4_address_hour"), "hour", hours
        )
    for name, pipeline in stack.of_type("AWS::CodePipeline::Pipeline"):
        if _pipeline_type(pipeline) == "V2":
            yield CostLine(
                stack.name,
                f"CodePipeline V2 {name}",
                1,
                table.flat("codepipeline_v2_action_minute"),
                "action-minute",
                None,
                "usage-based: billed per action execution minute",
            )
        else:
            yield _monthly(
                stack.name,
                f"CodePipeline V1 {name} (active pipeline)",
                1,
                table.flat("codepipeline_v1_active_pipeline_month"),
            )
    for name, cluster in stack.of_type("AWS::RDS::DBCluster"):
        if _true(names.literal(stack.name, (cluster.get("Properties") or {}).get("ManageMasterUserPassword"))):
            yield _monthly(
                stack.name,
                f"Secrets Manager secret (master password of {name}, managed by RDS)",
                1,
                table.flat("secrets_manager_secret_month"),
            )
    monthly = (
        ("AWS::SecretsManager::Secret", "Secrets Manager secret", "secrets_manager_secret_month"),
        ("AWS::KMS::Key", "KMS key", "kms_key_month"),
        ("AWS::CloudWatch::Alarm", "CloudWatch alarm", "cloudwatch_alarm_month"),
        ("AWS::CloudWatch::Dashboard", "CloudWatch dashboard", "cloudwatch_dashboard_month"),
    )
    for resource_type, label, key in monthly:
        found = [name for name, _ in stack.of_type(resource_type)]
        if found:
            plural = "s" if len(found) != 1 else ""
            yield _monthly(stack.name, f"{len(found)} {label}{plural}", len(found), table.flat(key))


def _load_balancer(
    names: Names, table: PriceTable, stack: Stack, name: str, balancer: dict[str, Any]
) -> Iterator[CostLine]:
    properties = balancer.get("Properties") or {}
    kind = str(names.literal(stack.name, properties.get("Type", "application")))
    hours = table.hours_per_month
    if kind != "network":
        yield CostLine(stack.name, f"{kind} load balancer {name}", 1, None, "hour", None)
        return
    yield _hourly(stack.name, f"Network Load Balancer {name}", 1, table.flat("nlb_hour"), "hour", hours)
    yield _hourly(
        stack.name,
        f"NLB capacity units of {name} (baseline of 1 LCU)",
        1,
        table.flat("nlb_lcu_hour"),
        "LCU-hour",
        hours,
    )
    if str(names.literal(stack.name, properties.get("Scheme", "internet-facing"))) == "internet-facing":
        zones = names.count(stack.name, properties.get("Subnets")) or len(properties.get("SubnetMappings") or [])
        if zones:
            yield _hourly(
                stack.name,
                f"public IPv4 addresses of {name} (one per subnet)",
                zones,
                table.flat("public_ipv4_address_hour"),
                "address-hour",
                hours,
            )
        else:
            yield CostLine(
                stack.name,
                f"public IPv4 addresses of {name}",
                0,
                table.flat("public_ipv4_address_hour"),
                "address-hour",
                None,
                "subnet count unknown",
            )


def _instance_type(names: Names, stack: Stack, group: dict[str, Any]) -> str | None:
    """The instance type of an Auto Scaling group's launch template (or launch configuration)."""
    reference = (group.get("LaunchTemplate") or {}).get("LaunchTemplateId") or group.get("LaunchConfigurationName")
    origin = names.origin(stack.name, reference)
    located = origin.resource(names.templates)
    if located is None:
        return None
    properties = located[1].get("Properties") or {}
    data = properties.get("LaunchTemplateData", properties)
    value = names.literal(origin.stack, data.get("InstanceType"))
    return str(value) if value is not None else None


def _pipeline_type(pipeline: dict[str, Any]) -> str:
    return str((pipeline.get("Properties") or {}).get("PipelineType", "V1"))


def _interface_endpoint(endpoint: dict[str, Any]) -> bool:
    return bool((endpoint.get("Properties") or {}).get("VpcEndpointType", "Gateway") == "Interface")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _hourly(stack: str, item: str, quantity: float, price: float | None, unit: str, hours: int) -> CostLine:
    monthly = None if price is None else quantity * price * hours
    return CostLine(stack, item, quantity, price, unit, monthly, "" if price is not None else "unknown price")


def _monthly(stack: str, item: str, quantity: float, price: float) -> CostLine:
    return CostLine(stack, item, quantity, price, "month", quantity * price)
