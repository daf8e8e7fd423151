"""The network stack: subnets per AZ from the blueprint CIDR, NAT per blueprint, endpoint, flow logs."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from cfngen import load_blueprint, synthesize
from cfngen.blueprint import Blueprint
from cfngen.builders.network import INTERFACE_ENDPOINTS, build, subnet_cidrs
from tests.conftest import ROOT


def _blueprint(**network: Any) -> Blueprint:
    return Blueprint.model_validate({"name": "net", "network": network, "services": [{"name": "api", "port": 80}]})


def _resources(blueprint: Blueprint, kind: str) -> dict[str, dict[str, Any]]:
    resources = build(blueprint).to_dict()["Resources"]
    return {name: body for name, body in resources.items() if body["Type"] == kind}


@pytest.mark.parametrize("zones", [2, 3, 6])
def test_one_public_and_one_private_subnet_per_az_inside_the_vpc(zones: int) -> None:
    subnets = _resources(_blueprint(availability_zones=zones, cidr="10.20.0.0/16"), "AWS::EC2::Subnet")
    assert len(subnets) == 2 * zones
    vpc = ipaddress.IPv4Network("10.20.0.0/16")
    cidrs = [ipaddress.IPv4Network(body["Properties"]["CidrBlock"]) for body in subnets.values()]
    assert all(cidr.subnet_of(vpc) for cidr in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])
    assert all(body["Properties"]["MapPublicIpOnLaunch"] is False for body in subnets.values())
    assert all("Fn::GetAZs" in str(body["Properties"]["AvailabilityZone"]) for body in subnets.values())


def test_adding_an_az_keeps_existing_subnet_ranges() -> None:
    two_public, two_private = subnet_cidrs("10.0.0.0/16", 2)
    three_public, three_private = subnet_cidrs("10.0.0.0/16", 3)
    assert three_public[:2] == two_public and three_private[:2] == two_private


@pytest.mark.parametrize(("zones", "gateways"), [(2, 1), (2, 2), (3, 2), (6, 6)])
def test_nat_gateways_and_private_routes(zones: int, gateways: int) -> None:
    blueprint = _blueprint(availability_zones=zones, nat_gateways=gateways)
    assert len(_resources(blueprint, "AWS::EC2::NatGateway")) == gateways
    routes = _resources(blueprint, "AWS::EC2::Route")
    private = [body for name, body in routes.items() if name.startswith("PrivateDefaultRoute")]
    assert len(private) == zones
    assert {route["Properties"]["NatGatewayId"]["Ref"] for route in private} == {
        f"NatGateway{index}" for index in range(1, gateways + 1)
    }


def test_s3_endpoint_serves_every_private_route_table() -> None:
    blueprint = _blueprint(availability_zones=3)
    (endpoint,) = _resources(blueprint, "AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert len(endpoint["Properties"]["RouteTableIds"]) == 3


def test_flow_logs_go_to_an_encrypted_log_group_with_retention_and_a_scoped_role() -> None:
    blueprint = _blueprint()
    (group,) = _resources(blueprint, "AWS::Logs::LogGroup").values()
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["Properties"]["KmsKeyId"] == {"Ref": "LogsKmsKeyArn"}
    (role,) = _resources(blueprint, "AWS::IAM::Role").values()
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["vpc-flow-logs.amazonaws.com"]}


def test_network_is_wired_into_the_root_from_the_keys_stack() -> None:
    stacks = synthesize(load_blueprint(ROOT / "blueprints" / "demo.yaml"))
    root = stacks.root().to_dict()["Resources"]
    assert root["Network"]["Properties"]["Parameters"]["LogsKmsKeyArn"] == {
        "Fn::GetAtt": ["Keys", "Outputs.LogsKmsKeyArn"]
    }


def _tagged(tags: dict[str, str], **network: Any) -> Blueprint:
    return Blueprint.model_validate(
        {"name": "net", "tags": tags, "network": network, "services": [{"name": "api", "port": 80}]}
    )


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"Environment": "prod"}, "interface"),
        ({"env": "Production"}, "interface"),
        ({"STAGE": "PROD"}, "interface"),
        ({"Environment": "dev"}, "gateway-only"),
        ({"Owner": "prod"}, "gateway-only"),  # "prod" on a key that does not name the environment
        ({"Environment": "preprod"}, "gateway-only"),  # the whole value, not a part of it
        ({}, "gateway-only"),
    ],
)
def test_interface_endpoints_are_the_default_of_production_blueprints_only(tags: dict[str, str], expected: str) -> None:
    assert _tagged(tags).vpc_endpoints == expected
    endpoints = _resources(_tagged(tags), "AWS::EC2::VPCEndpoint")
    assert len(endpoints) == (1 + len(INTERFACE_ENDPOINTS) if expected == "interface" else 1)


def test_the_blueprint_key_overrides_the_default_either_way() -> None:
    assert _tagged({"Environment": "prod"}, endpoints="gateway-only").vpc_endpoints == "gateway-only"
    assert _tagged({}, endpoints="interface").vpc_endpoints == "interface"
    with pytest.raises(ValueError, match="endpoints"):
        _tagged({}, endpoints="all")


def test_interface_endpoints_serve_every_private_subnet_and_admit_https_from_the_vpc_only() -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html and
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html: ECR api and dkr (layers through the
    S3 gateway endpoint), logs, secrets, and the ECS agent's ecs, ecs-agent and ecs-telemetry."""
    blueprint = _tagged({}, endpoints="interface", availability_zones=3)
    endpoints = _resources(blueprint, "AWS::EC2::VPCEndpoint")
    interface = {
        name: body["Properties"]
        for name, body in endpoints.items()
        if body["Properties"]["VpcEndpointType"] == "Interface"
    }
    services = sorted(
        properties["ServiceName"]["Fn::Sub"].removeprefix("com.amazonaws.${AWS::Region}.")
        for properties in interface.values()
    )
    assert services == sorted(["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ecs", "ecs-agent", "ecs-telemetry"])
    for properties in interface.values():
        assert properties["PrivateDnsEnabled"] is True
        assert properties["SubnetIds"] == [{"Ref": f"PrivateSubnet{zone}"} for zone in range(1, 4)]
        assert properties["SecurityGroupIds"] == [{"Ref": "InterfaceEndpointSecurityGroup"}]
    group = _resources(blueprint, "AWS::EC2::SecurityGroup")["InterfaceEndpointSecurityGroup"]["Properties"]
    assert [
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["CidrIp"]) for rule in group["SecurityGroupIngress"]
    ] == [("tcp", 443, 443, {"Fn::GetAtt": ["Vpc", "CidrBlock"]})]
    assert [rule["CidrIp"] for rule in group["SecurityGroupEgress"]] == ["127.0.0.1/32"]
