"""Account and region quotas in the review report, counted on real synthesized blueprints."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from cfngen import Blueprint, StackSet, review, synthesize
from cfngen.report import TemplateSet, assemble
from cfngen.report import _quotas as quotas
from tests.review_goldens import edited, fixture_templates


@pytest.fixture(scope="module")
def large() -> tuple[Blueprint, dict[str, str], TemplateSet]:
    """200 services over six availability zones, each with its NAT gateway: the blueprint, its files, its templates."""
    services = [
        {
            "name": f"svc-{index:04d}",
            "port": 3000 + index,
            "listener_port": 10000 + index,
            "test_listener_port": 30000 + index,
        }
        for index in range(200)
    ]
    blueprint = Blueprint.model_validate(
        {"name": "scale", "services": services, "network": {"availability_zones": 6, "nat_gateways": 6}}
    )
    files = synthesize(blueprint).render("yaml")
    return blueprint, files, TemplateSet.from_texts(blueprint.name, files)


def _declared(files: Mapping[str, str], resource_type: str) -> int:
    """Resources of one type in the rendered YAML, counted in the text (not through the report's parser)."""
    line = re.compile(rf"^\s+Type: {re.escape(resource_type)}$", re.MULTILINE)
    return sum(len(line.findall(text)) for text in files.values())


def _uses(templates: TemplateSet) -> dict[str, quotas.QuotaUse]:
    return {use.quota.label: use for use in quotas.analyse(templates)}


def test_200_services_count_what_the_templates_declare(large: tuple[Blueprint, dict[str, str], TemplateSet]) -> None:
    blueprint, files, templates = large
    uses = _uses(templates)
    for label, resource_type in (
        ("IAM roles", "AWS::IAM::Role"),
        ("Elastic IP addresses", "AWS::EC2::EIP"),
        ("VPC security groups", "AWS::EC2::SecurityGroup"),
        ("Target groups", "AWS::ElasticLoadBalancingV2::TargetGroup"),
        ("CodePipeline pipelines", "AWS::CodePipeline::Pipeline"),
        ("CodeBuild projects", "AWS::CodeBuild::Project"),
    ):
        assert uses[label].used == _declared(files, resource_type), label
    assert uses["Elastic IP addresses"].used == blueprint.network.nat_gateways
    assert uses["CloudFormation stacks"].used == len(files)  # the root, the group stacks and every child
    assert uses["Network Load Balancers"].used == len([name for name in files if name.startswith("load-balancer")])
    assert uses["EventBridge rules per event bus"].used == _declared(files, "AWS::Events::Rule")
    assert uses["EventBridge rules per event bus"].where == "default"
    full = uses["Listeners per Network Load Balancer"]
    assert full.used == 2 * blueprint.load_balancer.services_per_load_balancer
    assert full.where == "load-balancer/LoadBalancer"


def test_200_services_go_above_the_iam_and_elastic_ip_defaults(
    large: tuple[Blueprint, dict[str, str], TemplateSet],
) -> None:
    _, files, templates = large
    above = [use.quota.label for use in quotas.analyse(templates) if use.above]
    assert above == ["IAM roles", "Elastic IP addresses"]
    # a balancer full by design is no warning: nothing outside these templates adds listeners to it
    uses = _uses(templates)
    assert uses["Listeners per Network Load Balancer"].used >= quotas.NEAR * 50
    assert not uses["Listeners per Network Load Balancer"].near
    report = assemble(templates, region="eu-west-1")
    roles = _declared(files, "AWS::IAM::Role")
    summary = (
        f"- **Quotas**: **2 above AWS's default quotas** ⚠️: IAM roles {roles:,} of 1,000, "
        f"Elastic IP addresses 6 of 5 — request an increase before deploying"
    )
    markdown = report.markdown()
    assert summary in markdown
    assert f"| IAM roles | per account | {roles:,} | 1,000 | yes | ⚠️ {roles - 1000:,} over |" in markdown
    html = report.html()
    assert "<strong>2 above AWS's default quotas</strong> ⚠️" in html
    assert f'<td>IAM roles</td>\n<td>per account</td>\n<td style="text-align:right">{roles:,}</td>' in html


def test_the_demo_blueprint_is_within_every_default(demo_stacks: StackSet) -> None:
    uses = quotas.analyse(TemplateSet.from_stack_set(demo_stacks))
    assert [use.quota for use in uses] == list(quotas.QUOTAS)
    assert not [use for use in uses if use.above or use.near]
    markdown = review(demo_stacks, findings=[]).markdown()
    assert "- **Quotas**: within AWS's defaults\n" in markdown
    assert "## 7. Account and region quotas" in markdown


def test_a_shared_quota_at_80_percent_is_flagged() -> None:
    fixture = fixture_templates()
    addresses = _uses(fixture)["Elastic IP addresses"].used
    extra = int(quotas.NEAR * 5) - addresses

    def allocate(template: dict[str, Any]) -> None:
        for index in range(extra):
            template["Resources"][f"ExtraEip{index}"] = {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}}

    near = edited(fixture, "network", allocate)
    use = _uses(near)["Elastic IP addresses"]
    assert (use.used, use.near, use.above, use.headroom) == (4, True, False, 1)
    markdown = assemble(near, region="us-east-1").markdown()
    assert "- **Quotas**: within AWS's defaults; 1 at 80 % or more ⚠️: Elastic IP addresses 4 of 5\n" in markdown
    assert "| Elastic IP addresses | per region | 4 | 5 | yes | ⚠️ 1 |" in markdown


def test_per_resource_quotas_name_the_fullest_resource() -> None:
    fixture = fixture_templates()

    def open_ports(template: dict[str, Any]) -> None:
        group = template["Resources"]["LoadBalancerSecurityGroup"]["Properties"]
        group["SecurityGroupIngress"] = [
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "10.0.0.0/8"}
            for port in range(1000, 1061)
        ]

    use = _uses(edited(fixture, "load-balancer", open_ports))["Inbound rules per security group"]
    assert (use.used, use.where, use.above) == (61, "load-balancer/LoadBalancerSecurityGroup", True)


def test_rules_count_per_event_bus(demo_stacks: StackSet) -> None:
    demo = TemplateSet.from_stack_set(demo_stacks)
    rules = [(stack.name, name) for stack in demo.children for name, _ in stack.of_type("AWS::Events::Rule")]
    assert len(rules) >= 3, "the demo needs three rules to split them unevenly over two buses"
    stack, rule = rules[0]

    def elsewhere(template: dict[str, Any]) -> None:
        template["Resources"][rule]["Properties"]["EventBusName"] = "team-bus"

    use = _uses(edited(demo, stack, elsewhere))["EventBridge rules per event bus"]
    assert (use.used, use.where) == (len(rules) - 1, "default")
