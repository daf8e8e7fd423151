"""The load-balancer stack: NLB with a security group, per service listeners and blue/green IP target groups."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cfngen.blueprint import MAX_SERVICES, Blueprint
from cfngen.builders.load_balancer import WORLD, build
from tests.stack_helpers import make_blueprint, resources, the_resource

SERVICES = [
    {"name": "web", "port": 8080, "listener_port": 80, "test_listener_port": 8080,
     "health_check": {"path": "/health"}, "deregistration_delay_s": 15},
    {"name": "orders", "port": 8080, "listener_port": 81, "test_listener_port": 9081},
]


def _blueprint(scheme: str) -> Blueprint:
    return make_blueprint(services=SERVICES, load_balancer={"scheme": scheme})


def _ingress(scheme: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = the_resource(build(_blueprint(scheme)), "AWS::EC2::SecurityGroup")[
        "Properties"]["SecurityGroupIngress"]
    return rules


@pytest.mark.parametrize(("scheme", "subnets"), [("internet-facing", "PublicSubnetIds"),
                                                  ("internal", "PrivateSubnetIds")])
def test_network_load_balancer_has_its_security_group_from_creation(scheme: str, subnets: str) -> None:
    balancer = the_resource(build(_blueprint(scheme)), "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert balancer["Type"] == "network" and balancer["Scheme"] == scheme
    assert balancer["Subnets"] == {"Ref": subnets}
    assert balancer["SecurityGroups"] == [{"Ref": "LoadBalancerSecurityGroup"}]


def test_each_service_gets_a_production_and_a_test_listener_on_its_ports() -> None:
    listeners = resources(build(_blueprint("internet-facing")), "AWS::ElasticLoadBalancingV2::Listener")
    assert {name: (body["Properties"]["Port"], body["Properties"]["DefaultActions"][0]["TargetGroupArn"])
            for name, body in listeners.items()} == {
        "WebProductionListener": (80, {"Ref": "WebBlueTargetGroup"}),
        "WebTestListener": (8080, {"Ref": "WebGreenTargetGroup"}),
        "OrdersProductionListener": (81, {"Ref": "OrdersBlueTargetGroup"}),
        "OrdersTestListener": (9081, {"Ref": "OrdersGreenTargetGroup"}),
    }
    assert all(body["Properties"]["Protocol"] == "TCP" for body in listeners.values())


def test_target_groups_are_ip_on_the_container_port_with_http_or_tcp_health_checks() -> None:
    groups = resources(build(_blueprint("internet-facing")), "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert sorted(groups) == ["OrdersBlueTargetGroup", "OrdersGreenTargetGroup",
                              "WebBlueTargetGroup", "WebGreenTargetGroup"]
    for name, body in groups.items():
        properties = body["Properties"]
        assert properties["TargetType"] == "ip" and properties["Port"] == 8080
        if name.startswith("Web"):
            assert (properties["HealthCheckProtocol"], properties["HealthCheckPath"]) == ("HTTP", "/health")
            delay = "15"
        else:
            assert properties["HealthCheckProtocol"] == "TCP" and "HealthCheckPath" not in properties
            delay = "30"
        assert {"Key": "deregistration_delay.timeout_seconds", "Value": delay} in properties["TargetGroupAttributes"]


def test_internet_facing_opens_only_production_ports_to_the_world() -> None:
    world = sorted(rule["FromPort"] for rule in _ingress("internet-facing") if rule["CidrIp"] == WORLD)
    vpc_only = sorted(rule["FromPort"] for rule in _ingress("internet-facing") if rule["CidrIp"] == {"Ref": "VpcCidr"})
    assert world == [80, 81]
    assert vpc_only == [8080, 9081]


def test_internal_balancer_opens_nothing_to_the_world() -> None:
    rules = _ingress("internal")
    assert {rule["FromPort"] for rule in rules} == {80, 81, 8080, 9081}
    assert all(rule["CidrIp"] == {"Ref": "VpcCidr"} for rule in rules)


def test_every_rule_covers_exactly_one_port() -> None:
    assert all(rule["FromPort"] == rule["ToPort"] and rule["IpProtocol"] == "tcp" for rule in _ingress("internal"))


def test_egress_reaches_only_the_container_ports_inside_the_vpc_once_each() -> None:
    group = the_resource(build(_blueprint("internet-facing")), "AWS::EC2::SecurityGroup")["Properties"]
    assert [(rule["FromPort"], rule["ToPort"], rule["CidrIp"]) for rule in group["SecurityGroupEgress"]] == [
        (8080, 8080, {"Ref": "VpcCidr"})]


def test_world_open_rule_has_a_written_scanner_suppression_only_when_internet_facing() -> None:
    def skipped(scheme: str) -> list[str]:
        group = the_resource(build(_blueprint(scheme)), "AWS::EC2::SecurityGroup")
        return [skip["id"] for skip in group.get("Metadata", {}).get("checkov", {}).get("skip", [])]

    assert skipped("internet-facing") == ["CKV_AWS_260"]
    assert skipped("internal") == []


def test_outputs_follow_the_wiring_contract() -> None:
    outputs = set(build(_blueprint("internal")).to_dict()["Outputs"])
    expected = {"LoadBalancerArn", "LoadBalancerFullName", "LoadBalancerDnsName", "LoadBalancerSecurityGroupId"}
    for prefix in ("Web", "Orders"):
        expected |= {f"{prefix}ProductionListenerArn", f"{prefix}TestListenerArn"}
        for colour in ("Blue", "Green"):
            expected |= {f"{prefix}{colour}TargetGroup{suffix}" for suffix in ("Arn", "Name", "FullName")}
    assert outputs == expected


def test_a_blueprint_holds_at_most_the_services_one_balancer_can_listen_for() -> None:
    services = [{"name": f"s{index}", "port": 8080, "listener_port": 1000 + index,
                 "test_listener_port": 2000 + index} for index in range(MAX_SERVICES + 1)]
    with pytest.raises(ValidationError, match=f"at most {MAX_SERVICES} items"):
        make_blueprint(services=services)
    assert len(make_blueprint(services=services[:MAX_SERVICES]).services) == MAX_SERVICES
