"""The load-balancer stack: NLB with a security group, per service listeners and blue/green IP target groups."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from pydantic import ValidationError

from cfngen import BlueprintError, Deployer, load_blueprint, synthesize
from cfngen.blueprint import MAX_SERVICES, MAX_SERVICES_PER_LOAD_BALANCER, Blueprint
from cfngen.builders.load_balancer import WORLD, build
from cfngen.linting import lint, lint_texts
from cfngen.local import LocalAws
from cfngen.report import review
from tests.conftest import checkov_failures
from tests.stack_helpers import make_blueprint, resources, the_resource

SERVICES = [
    {
        "name": "web",
        "port": 8080,
        "listener_port": 80,
        "test_listener_port": 8080,
        "health_check": {"path": "/health"},
        "deregistration_delay_s": 15,
    },
    {"name": "orders", "port": 8080, "listener_port": 81, "test_listener_port": 9081},
]


def _blueprint(scheme: str) -> Blueprint:
    return make_blueprint(services=SERVICES, load_balancer={"scheme": scheme})


def _ingress(scheme: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = the_resource(build(_blueprint(scheme)), "AWS::EC2::SecurityGroup")["Properties"][
        "SecurityGroupIngress"
    ]
    return rules


@pytest.mark.parametrize(
    ("scheme", "subnets"), [("internet-facing", "PublicSubnetIds"), ("internal", "PrivateSubnetIds")]
)
def test_network_load_balancer_has_its_security_group_from_creation(scheme: str, subnets: str) -> None:
    balancer = the_resource(build(_blueprint(scheme)), "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert balancer["Type"] == "network" and balancer["Scheme"] == scheme
    assert balancer["Subnets"] == {"Ref": subnets}
    assert balancer["SecurityGroups"] == [{"Ref": "LoadBalancerSecurityGroup"}]


def test_each_service_gets_a_production_and_a_test_listener_on_its_ports() -> None:
    listeners = resources(build(_blueprint("internet-facing")), "AWS::ElasticLoadBalancingV2::Listener")
    assert {
        name: (body["Properties"]["Port"], body["Properties"]["DefaultActions"][0]["TargetGroupArn"])
        for name, body in listeners.items()
    } == {
        "WebProductionListener": (80, {"Ref": "WebBlueTargetGroup"}),
        "WebTestListener": (8080, {"Ref": "WebGreenTargetGroup"}),
        "OrdersProductionListener": (81, {"Ref": "OrdersBlueTargetGroup"}),
        "OrdersTestListener": (9081, {"Ref": "OrdersGreenTargetGroup"}),
    }
    assert all(body["Properties"]["Protocol"] == "TCP" for body in listeners.values())


def test_target_groups_are_ip_on_the_container_port_with_http_or_tcp_health_checks() -> None:
    groups = resources(build(_blueprint("internet-facing")), "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert sorted(groups) == [
        "OrdersBlueTargetGroup",
        "OrdersGreenTargetGroup",
        "WebBlueTargetGroup",
        "WebGreenTargetGroup",
    ]
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
        (8080, 8080, {"Ref": "VpcCidr"})
    ]


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
        expected.add(f"{prefix}BlueTargetGroupArn")
        for colour in ("Blue", "Green"):
            expected |= {f"{prefix}{colour}TargetGroup{suffix}" for suffix in ("Name", "FullName")}
    assert outputs == expected


def _services(count: int, **pins: int) -> list[dict[str, Any]]:
    """`count` services s0, s1, ... with ports of their own; pins: service name -> load balancer number."""
    services: list[dict[str, Any]] = [
        {"name": f"s{index}", "port": 8080, "listener_port": 1000 + index, "test_listener_port": 2000 + index}
        for index in range(count)
    ]
    for service in services:
        if service["name"] in pins:
            service["load_balancer"] = pins[service["name"]]
    return services


def _served(blueprint: Blueprint) -> list[list[str]]:
    return [[service.name for service in services] for services in blueprint.load_balancers]


def test_services_fill_load_balancers_in_blueprint_order() -> None:
    blueprint = make_blueprint(services=_services(MAX_SERVICES_PER_LOAD_BALANCER + 1))
    assert [len(services) for services in _served(blueprint)] == [MAX_SERVICES_PER_LOAD_BALANCER, 1]
    assert _served(make_blueprint(services=_services(5), load_balancer={"services_per_load_balancer": 2})) == [
        ["s0", "s1"],
        ["s2", "s3"],
        ["s4"],
    ]


def test_pinned_services_keep_their_load_balancer_and_the_others_fill_the_room_left() -> None:
    blueprint = make_blueprint(services=_services(5, s0=2, s3=1), load_balancer={"services_per_load_balancer": 2})
    assert _served(blueprint) == [["s1", "s3"], ["s0", "s2"], ["s4"]]
    assert blueprint.load_balancer_of(blueprint.service("s0")) == 2


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ({"s0": 1, "s1": 1, "s2": 1}, "load balancer 1 would serve 3 services; it holds 2"),
        ({"s2": 3}, "load balancer 3 needs load balancer 2 to serve a service first"),
    ],
)
def test_pins_that_overfill_or_skip_a_load_balancer_are_refused_at_the_pin(pins: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_blueprint(services=_services(3, **pins), load_balancer={"services_per_load_balancer": 2})


def test_the_assignment_follows_the_services_of_a_copy() -> None:
    blueprint = make_blueprint(services=_services(3), load_balancer={"services_per_load_balancer": 2})
    assert len(blueprint.load_balancers) == 2
    fewer = blueprint.model_copy(update={"services": blueprint.services[:2]})
    assert _served(fewer) == [["s0", "s1"]]


def test_listener_ports_must_differ_on_one_load_balancer_only() -> None:
    services = _services(2)
    services[1]["listener_port"] = services[0]["listener_port"]
    with pytest.raises(ValidationError, match="here load balancer 1"):
        make_blueprint(services=services)
    services[1]["load_balancer"] = 2
    apart = make_blueprint(services=services, load_balancer={"services_per_load_balancer": 1})
    assert _served(apart) == [["s0"], ["s1"]]


def test_a_blueprint_holds_at_most_the_services_synthesis_is_tested_for() -> None:
    services = _services(MAX_SERVICES + 1)
    with pytest.raises(ValidationError, match=f"at most {MAX_SERVICES} items"):
        make_blueprint(services=services)
    assert len(make_blueprint(services=services[:MAX_SERVICES]).services) == MAX_SERVICES


def test_further_load_balancers_get_stacks_of_their_own_with_numbered_outputs(tmp_path: Path) -> None:
    blueprint = make_blueprint(services=_services(5), load_balancer={"services_per_load_balancer": 2})
    stack_set = synthesize(blueprint)
    balancers = {
        child.name: child.template.to_dict() for child in stack_set.children if child.name.startswith("load-balancer")
    }
    assert list(balancers) == ["load-balancer", "load-balancer-2", "load-balancer-3"]
    third = balancers["load-balancer-3"]
    assert {
        "LoadBalancer3Arn",
        "LoadBalancer3FullName",
        "LoadBalancer3DnsName",
        "LoadBalancer3SecurityGroupId",
        "S4ProductionListenerArn",
    } <= set(third["Outputs"])
    assert [
        rule["FromPort"]
        for rule in the_resource(build(blueprint, 3), "AWS::EC2::SecurityGroup")["Properties"]["SecurityGroupIngress"]
    ] == [1004, 2004]
    # Each service's tasks admit traffic from their own load balancer only.
    assert stack_set.wiring["service-s4"]["LoadBalancer3SecurityGroupId"] == "load-balancer-3"
    assert stack_set.wiring["service-s0"]["LoadBalancerSecurityGroupId"] == "load-balancer"
    root_outputs = stack_set.root().to_dict()["Outputs"]
    assert {name: output["Value"] for name, output in root_outputs.items() if "DnsName" in name} == {
        "LoadBalancerDnsName": {"Fn::GetAtt": ["LoadBalancer", "Outputs.LoadBalancerDnsName"]},
        "LoadBalancer2DnsName": {"Fn::GetAtt": ["LoadBalancer2", "Outputs.LoadBalancer2DnsName"]},
        "LoadBalancer3DnsName": {"Fn::GetAtt": ["LoadBalancer3", "Outputs.LoadBalancer3DnsName"]},
    }
    assert "s2, s3" in root_outputs["LoadBalancer2DnsName"]["Description"]
    assert [str(finding) for finding in lint(stack_set, cache=False)] == []
    stack_set.write(tmp_path)
    assert checkov_failures(tmp_path) == []


def test_a_full_load_balancer_stays_within_the_listener_rule_and_output_quotas() -> None:
    template = build(make_blueprint(services=_services(MAX_SERVICES_PER_LOAD_BALANCER))).to_dict()
    assert (
        len(
            [body for body in template["Resources"].values() if body["Type"] == "AWS::ElasticLoadBalancingV2::Listener"]
        )
        <= 50
    )
    group = the_resource(
        build(make_blueprint(services=_services(MAX_SERVICES_PER_LOAD_BALANCER))), "AWS::EC2::SecurityGroup"
    )["Properties"]
    assert len(group["SecurityGroupIngress"]) <= 60 and len(group["SecurityGroupEgress"]) <= 60
    assert len(template["Outputs"]) <= 200
    # Not even cfn-lint's note that a stack approaches a quota.
    assert [str(finding) for finding in lint_texts({"full": yaml.safe_dump(template)}, cache=False)] == []


def test_a_new_load_balancer_leaves_the_full_ones_unchanged() -> None:
    def rendered(count: int) -> dict[str, str]:
        return synthesize(
            make_blueprint(services=_services(count), load_balancer={"services_per_load_balancer": 2})
        ).render()

    before, after = rendered(4), rendered(5)
    assert "load-balancer-3.yaml" in after and "load-balancer-3.yaml" not in before
    assert after["load-balancer.yaml"] == before["load-balancer.yaml"]
    assert after["load-balancer-2.yaml"] == before["load-balancer-2.yaml"]
    assert after["monitoring-2.yaml"] == before["monitoring-2.yaml"]


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b5e5f3a-6c1d-4f0e-9a57-3c2d8e1f4b6a"
WEB_CERTIFICATE = CERTIFICATE.replace("0b5e5f3a", "1c6f6a4b")


def _tls(**overrides: Any) -> Blueprint:
    services = [{**SERVICES[0], "certificate_arn": WEB_CERTIFICATE}, SERVICES[1]]
    return make_blueprint(
        services=services, load_balancer={"listener_protocol": "tls", "certificate_arn": CERTIFICATE, **overrides}
    )


def test_tls_listeners_terminate_with_the_services_certificate_under_a_tls13_policy() -> None:
    """Both listeners of a service (production and test) serve its certificate, else the balancer's; the policy is
    the one the console gives a new TLS listener (CloudFormation's own default is ELBSecurityPolicy-2016-08).
    https://docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html"""
    listeners = resources(build(_tls()), "AWS::ElasticLoadBalancingV2::Listener")
    assert len(listeners) == 4
    for name, listener in listeners.items():
        properties = listener["Properties"]
        assert properties["Protocol"] == "TLS"
        assert properties["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
        expected = WEB_CERTIFICATE if name.startswith("Web") else CERTIFICATE
        assert properties["Certificates"] == [{"CertificateArn": expected}]
    # TLS ends at the balancer: the targets still take TCP.
    groups = resources(build(_tls()), "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert {group["Properties"]["Protocol"] for group in groups} == {"TCP"}


def test_a_tls_balancer_logs_to_an_encrypted_bucket_only_aws_log_delivery_for_this_account_writes() -> None:
    """https://docs.aws.amazon.com/elasticloadbalancing/latest/network/enable-access-logs.html (bucket policy:
    delivery.logs.amazonaws.com, aws:SourceAccount and aws:SourceArn arn:aws:logs:<region>:<account>:*);
    encryption SSE-S3 or a customer managed key (load-balancer-access-logs.html)."""
    template = build(_tls()).to_dict()["Resources"]
    balancer = template["LoadBalancer"]
    attributes = {item["Key"]: item["Value"] for item in balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}
    assert balancer["DependsOn"] == ["AccessLogBucketPolicy"], "ELB checks its write access when logging starts"
    bucket = template["AccessLogBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    policy = template["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    delivery = [statement for statement in policy if statement["Effect"] == "Allow"]
    assert {tuple(s["Action"]) for s in delivery} == {("s3:GetBucketAcl",), ("s3:PutObject",)}
    for statement in delivery:
        assert statement["Principal"] == {"Service": ["delivery.logs.amazonaws.com"]}
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"
        }
    (write,) = [s for s in delivery if s["Action"] == ["s3:PutObject"]]
    assert write["Resource"] == [{"Fn::Sub": "${AccessLogBucket.Arn}/AWSLogs/${AWS::AccountId}/*"}]


def test_a_tcp_balancer_has_no_log_bucket_and_plain_listeners() -> None:
    """AWS writes NLB access logs for TLS listeners only: a bucket for a TCP balancer would stay empty."""
    template = build(_blueprint("internet-facing"))
    assert not resources(template, "AWS::S3::Bucket")
    for listener in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values():
        assert listener["Properties"]["Protocol"] == "TCP"
        assert "Certificates" not in listener["Properties"]


@pytest.mark.parametrize(
    ("load_balancer", "service", "loc", "message"),
    [
        ({"listener_protocol": "tls"}, {}, ("services", 0, "certificate_arn"), "is needed"),
        ({}, {"certificate_arn": CERTIFICATE}, ("services", 0, "certificate_arn"), "needs load_balancer.listener"),
        ({"certificate_arn": CERTIFICATE}, {}, ("load_balancer", "certificate_arn"), "needs load_balancer.listener"),
        (
            {"listener_protocol": "tls", "certificate_arn": CERTIFICATE.replace("us-east-1", "eu-west-1")},
            {},
            ("load_balancer", "certificate_arn"),
            "is in eu-west-1, but the blueprint's region is us-east-1",
        ),
        (
            {"listener_protocol": "tls"},
            {"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/not-an-id"},
            ("services", 0, "certificate_arn"),
            "is not an ACM certificate ARN",
        ),
        (
            {"listener_protocol": "tls"},
            {"certificate_arn": "arn:aws:iam::123456789012:server-certificate/web"},
            ("services", 0, "certificate_arn"),
            "is not an ACM certificate ARN",
        ),
    ],
)
def test_tls_certificates_are_checked_at_load(
    tmp_path: Path, load_balancer: dict[str, Any], service: dict[str, Any], loc: tuple[Any, ...], message: str
) -> None:
    path = tmp_path / "bp.yaml"
    data = {"name": "tls", "load_balancer": load_balancer, "services": [{"name": "web", "port": 80, **service}]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    field = ".".join(map(str, loc))
    with pytest.raises(BlueprintError, match=rf"bp\.yaml:\d+:\d+: {re.escape(field)}: .*{re.escape(message)}"):
        load_blueprint(path)


def test_a_tls_bad_certificate_names_its_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(
        "name: tls\nload_balancer:\n  listener_protocol: tls\n"
        f"  certificate_arn: {CERTIFICATE.replace('us-east-1', 'eu-west-1')}\n"
        "services:\n  - name: web\n    port: 80\n",
        encoding="utf-8",
    )
    with pytest.raises(BlueprintError, match=r"bp\.yaml:4:20: load_balancer\.certificate_arn: is in eu-west-1"):
        load_blueprint(path)


def test_tls_templates_lint_clean_and_pass_checkov(tmp_path: Path) -> None:
    stack_set = synthesize(_tls())
    assert [str(finding) for finding in lint(stack_set, cache=False)] == []
    stack_set.write(tmp_path)
    assert checkov_failures(tmp_path) == []


def test_the_review_shows_tls_listeners_and_the_log_bucket() -> None:
    report = review(synthesize(_tls()), findings=[])
    assert {path.port for path in report.exposure.paths if path.kind == "listener"} == {"tls 80", "tls 81"}
    (bucket,) = [item for item in report.safety if (item.stack, item.resource) == ("load-balancer", "AccessLogBucket")]
    assert not bucket.warnings


def test_a_tls_balancer_deploys_with_its_certificate_policy_and_access_logs(aws: LocalAws) -> None:
    """On the emulator, which refuses a listener whose certificate ACM does not hold, as AWS does."""
    region = "us-east-1"
    certificate = boto3.client("acm", region_name=region).request_certificate(DomainName="shop.example.com")
    blueprint = make_blueprint(
        services=SERVICES, load_balancer={"listener_protocol": "tls", "certificate_arn": certificate["CertificateArn"]}
    )
    # Generous: the emulator creates the whole tree within ExecuteChangeSet, slowly on a loaded machine.
    deployer = Deployer(region=region, poll_s=0.05, timeout_s=600)
    deployer.bootstrap()
    outcome = deployer.apply(deployer.plan(deployer.package(synthesize(blueprint))))
    assert outcome.stack_status == "CREATE_COMPLETE"
    elbv2 = boto3.client("elbv2", region_name=region)
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert {(item["Protocol"], item["SslPolicy"]) for item in listeners} == {
        ("TLS", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09")
    }
    assert {item["Certificates"][0]["CertificateArn"] for item in listeners} == {certificate["CertificateArn"]}
    # The emulator does not apply LoadBalancerAttributes from a template (the access-log attributes are asserted on
    # the template above); the bucket they name is created and encrypted.
    cloudformation = boto3.client("cloudformation", region_name=region)
    nested = cloudformation.describe_stack_resource(StackName="unit", LogicalResourceId="LoadBalancer")
    bucket = cloudformation.describe_stack_resource(
        StackName=nested["StackResourceDetail"]["PhysicalResourceId"], LogicalResourceId="AccessLogBucket"
    )["StackResourceDetail"]["PhysicalResourceId"]
    encryption = boto3.client("s3", region_name=region).get_bucket_encryption(Bucket=bucket)
    assert encryption["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
